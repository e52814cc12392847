"""Benchmark (not a test): what CrewAIInstrumentor adds per frame to a token-heavy CrewAI flow.

A CrewAI 1.15.30 flow whose ``@start`` method emits an LLM call of N ``LLMStreamChunkEvent``
through the LLM's own event helpers (what CrewAI's providers do while streaming; no model is
called), run with and without the instrumentor, alternately, in one process: streamed
(``stream_events()``, CrewAI makes every frame itself) and unstreamed (``kickoff()``, CrewAI
makes no frame).  Process CPU time per frame, best of the rounds (the machine is shared);
framescope records into its default trace file (OTLP JSON lines), export included.

    PYTHONPATH=plugin python bench/crewai_overhead.py [--tokens 2000] [--rounds 6]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any

for _name, _value in (
    ("CREWAI_DISABLE_TELEMETRY", "true"),
    ("CREWAI_DISABLE_TRACKING", "true"),
    ("CREWAI_TRACING_ENABLED", "false"),
):
    os.environ[_name] = _value


def build(tokens: int) -> Any:
    from crewai import LLM
    from crewai.events.types.llm_events import LLMCallType
    from crewai.flow.flow import Flow, start
    from crewai.llms.base_llm import llm_call_context

    llm = LLM(model="openai/gpt-4o-mini", api_key="sk-bench-not-used", stream=True)  # never called
    messages = [{"role": "user", "content": "Count."}]

    class TokenFlow(Flow):  # type: ignore[type-arg]
        @start()
        def generate(self) -> int:
            with llm_call_context():
                llm._emit_call_started_event(messages=messages)
                for index in range(tokens):
                    llm._emit_stream_chunk_event(
                        chunk=f"tok{index} ", call_type=LLMCallType.LLM_CALL, response_id="resp-bench"
                    )
                llm._emit_call_completed_event(
                    response="done", call_type=LLMCallType.LLM_CALL, messages=messages, response_id="resp-bench"
                )
            return tokens

    return TokenFlow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    os.environ["FRAMESCOPE_TRACE_FILE"] = os.path.join(tempfile.mkdtemp(), "traces.jsonl")

    import framescope
    from framescope.integrations.crewai import CrewAIInstrumentor

    flow_class = build(args.tokens)
    frames = args.tokens + 2

    def once(streamed: bool) -> float:
        started = time.process_time()
        if streamed:
            for _ in flow_class().stream_events():
                pass
        else:
            flow_class().kickoff()
        return time.process_time() - started

    instrumentor = CrewAIInstrumentor()
    best: dict[tuple[bool, bool], float] = {}
    for _ in range(args.rounds):
        for recorded in (False, True):
            if recorded:
                instrumentor.instrument()
            for streamed in (True, False):
                spent = once(streamed)
                if recorded:
                    started = time.process_time()
                    framescope.flush()  # the export of what was recorded counts too
                    spent += time.process_time() - started
                key = (streamed, recorded)
                best[key] = min(best.get(key, spent), spent)
            if recorded:
                instrumentor.uninstrument()
    load = os.getloadavg()
    print(f"{args.tokens} tokens, best of {args.rounds}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for streamed in (True, False):
        bare = best[(streamed, False)] / frames * 1e6
        added = best[(streamed, True)] / frames * 1e6 - bare
        mode = "stream_events()" if streamed else "kickoff()      "
        print(
            f"{mode}  CrewAI {bare:6.1f} us/frame  framescope adds {added:5.1f} us/frame "
            f"({added / bare * 100:4.1f} %; {added / 200 * 100:4.1f} % of the 200 us/frame reference)"
        )
    print(f"recording failures: {instrumentor.recording_failures}")


if __name__ == "__main__":
    main()
