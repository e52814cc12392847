"""CrewAI 1.15.30's side of ``bench/compare_crewai.py`` (run with CrewAI's venv python).

The flow's ``@start`` method does what CrewAI's native LLM providers do while streaming:
inside ``llm_call_context()`` it emits ``LLMCallStartedEvent``, one ``LLMStreamChunkEvent``
per token and ``LLMCallCompletedEvent`` through the LLM's own ``_emit_*`` helpers (which call
``crewai_event_bus.emit(llm, ...)``), and the frames are read through ``flow.stream_events()``.
No model is called: what is measured is CrewAI's event -> frame -> session pipeline.
"""

from __future__ import annotations

import os
import sys
from typing import Any

os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("CREWAI_TRACING_ENABLED", "false")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _compare_common import Producer, main

_producer: Producer | None = None
_llm: Any = None
_flow_class: Any = None


def _build() -> Any:
    global _llm, _flow_class
    from crewai import LLM
    from crewai.events.types.llm_events import LLMCallType
    from crewai.flow.flow import Flow, start
    from crewai.llms.base_llm import llm_call_context

    # Constructing the LLM makes no request; only its event helpers are used.
    _llm = LLM(model="openai/gpt-4o-mini", api_key="sk-bench-not-used", stream=True)
    messages = [{"role": "user", "content": "Count."}]

    class BenchFlow(Flow):
        @start()
        def generate(self) -> Any:
            assert _producer is not None
            llm = _llm
            with llm_call_context():
                llm._emit_call_started_event(messages=messages)
                emit = llm._emit_stream_chunk_event
                call_type = LLMCallType.LLM_CALL

                def token(text: str) -> None:
                    emit(chunk=text, call_type=call_type, response_id="resp-bench")

                result = _producer(token)
                llm._emit_call_completed_event(
                    response=str(result), call_type=call_type, messages=messages, response_id="resp-bench"
                )
            return result

    _flow_class = BenchFlow


class CrewAISide:
    name = "crewai"

    def versions(self) -> dict[str, str]:
        import platform
        from importlib import metadata

        out = {"python": platform.python_version()}
        for dist in ("crewai", "pydantic", "opentelemetry-sdk"):
            try:
                out[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                out[dist] = "-"
        return out

    def configure(self, variant: str) -> None:
        _build()

    def flush(self) -> None:
        pass  # nothing leaves the process

    def stream(self, producer: Producer) -> Any:
        global _producer
        _producer = producer
        return _flow_class().stream_events()

    def queue_len(self, session: Any) -> int:
        # The session's generator holds the run's queue.Queue (unbounded) in its frame.
        frame = session._sync_iterator.gi_frame
        if frame is None:
            return 0
        return frame.f_locals["state"].sync_queue.qsize()

    def kept_frames(self, session: Any) -> int:
        return len(session.frames)

    def describe(self) -> dict[str, Any]:
        return {"export": "none (CrewAI's frames do not leave the process)"}


if __name__ == "__main__":
    main(CrewAISide())
