"""framescope's side of ``bench/compare_crewai.py`` (run with framescope's venv python).

The flow's ``@start`` method does what framescope's LLM does while streaming: it opens an
``llm_call_started`` lifecycle and calls ``emit_token("llm_stream_chunk", ...)`` per token;
frames are read through ``flow.stream_events()``.  OTel recording is on and spans are
exported: ``--variant file`` to the default embedded OTLP-JSON file (a temp file),
``--variant otlp`` over OTLP/HTTP to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (set by the driver).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "plugin"))

from _compare_common import Producer, main  # noqa: E402

_producer: Producer | None = None
_flow_class: Any = None


class FramescopeSide:
    name = "framescope"
    trace_file: Path | None = None

    def versions(self) -> dict[str, str]:
        import platform
        from importlib import metadata

        import framescope

        out = {"python": platform.python_version(), "framescope": framescope.__version__}
        for dist in ("pydantic", "opentelemetry-sdk"):
            out[dist] = metadata.version(dist)
        return out

    def configure(self, variant: str) -> None:
        global _flow_class
        import framescope
        from framescope.flow import Flow, start
        from framescope.telemetry.run import emit_token, lifecycle

        if variant == "file":
            self.trace_file = Path(tempfile.mkdtemp(prefix="framescope-bench-")) / "traces.jsonl"
            os.environ["FRAMESCOPE_TRACE_FILE"] = str(self.trace_file)
        elif variant == "otlp":
            if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
                raise SystemExit("--variant otlp needs OTEL_EXPORTER_OTLP_ENDPOINT")
        elif variant != "live":
            raise SystemExit(f"unknown variant {variant!r}")
        runtime = framescope.configure()
        if variant != "live" and (runtime.tracer is None or not runtime.exporters):
            raise SystemExit(f"framescope is not recording and exporting: {runtime.describe()}")
        started = {
            "model": "gpt-4o-mini",
            "provider": "openai",
            "stream": True,
            "messages": [{"role": "user", "content": "Count."}],
            "content_redacted": False,
        }

        class BenchFlow(Flow):
            @start()
            def generate(self) -> Any:
                assert _producer is not None
                with lifecycle(
                    "llm_call_started", started, finished="llm_call_completed", failed="llm_call_failed"
                ) as call:

                    def token(text: str) -> None:
                        emit_token("llm_stream_chunk", text)

                    result = _producer(token)
                    call.data["result"] = str(result)
                return result

        _flow_class = BenchFlow

    def flush(self) -> None:
        import framescope

        framescope.flush()

    def stream(self, producer: Producer) -> Any:
        global _producer
        _producer = producer
        return _flow_class().stream_events()

    def queue_len(self, session: Any) -> int:
        return len(session._state.feed._items)

    def kept_frames(self, session: Any) -> int:
        return len(session.frames)

    def describe(self) -> dict[str, Any]:
        from framescope.telemetry.config import get_telemetry_setup

        self.flush()
        out = get_telemetry_setup().describe()
        trace_file = getattr(self, "trace_file", None)
        if trace_file is not None:
            out["trace_file_bytes"] = trace_file.stat().st_size if trace_file.exists() else 0
        return out


if __name__ == "__main__":
    main(FramescopeSide())
