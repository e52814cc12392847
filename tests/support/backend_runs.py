"""The run the real-backend tests send: a flow with tools, a 10,000-token streamed answer
and a stream session opened inside the flow (a nested session).

Issue 11 changes what a nested session is (a view of the enclosing run instead of a run of
its own); the tests compare the outer session's live frames with the replay of the outer
run id, which is the trace's root run either way, so only this module may need to adapt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from framescope.flow import Flow, listen, start
from framescope.llm import LLM
from framescope.llm.providers import ScriptedToolCall, register_script, unregister_script
from framescope.tools import tool
from framescope.types.streaming import StreamFrame

LONG_ANSWER_TOKENS = 10_000


@tool
def count_errors(service: str) -> int:
    """Count a service's recent errors."""
    return len(service) * 7


@tool
def page_oncall(team: str, summary: str) -> str:
    """Page a team's on-call engineer."""
    return f"paged {team}: {summary}"


class IncidentFlow(Flow):
    """The demo-sized run the backend tests send: tools, a long streamed answer, a nested session."""

    @start()
    def investigate(self) -> str:
        return LLM("scripted/backends-tools", stream=True).call(
            "checkout is failing; look at it", tools=[count_errors, page_oncall]
        )

    @listen(investigate)
    def write_report(self, findings: str) -> str:
        return LLM("scripted/backends-report", stream=True).call(f"write the incident report: {findings}")

    @listen(write_report)
    def summarize(self, report: str) -> str:
        # A stream session opened inside a running flow (a nested session).
        with LLM("scripted/backends-summary").stream_events("one line summary") as nested:
            return "".join(frame.content for frame in nested if frame.type == "llm_stream_chunk")


def register_incident_scripts(tokens: int = LONG_ANSWER_TOKENS) -> None:
    register_script(
        "backends-tools",
        [
            ScriptedToolCall("count_errors", {"service": "checkout"}),
            ScriptedToolCall("page_oncall", {"team": "payments", "summary": "checkout errors"}),
            "checkout has 56 errors; payments is paged",
        ],
        thinking="errors first, then page",
    )
    register_script("backends-report", ["".join(f" r{i}" for i in range(tokens))])
    register_script("backends-summary", ["checkout degraded, payments paged"])


def unregister_incident_scripts() -> None:
    for name in ("backends-tools", "backends-report", "backends-summary"):
        unregister_script(name)


@dataclass
class LiveRun:
    trace_id: str
    run_id: str
    frames: list[StreamFrame]
    result: Any

    def frame_lines(self) -> list[str]:
        return [frame.model_dump_json() for frame in self.frames]


def run_incident_flow(tokens: int = LONG_ANSWER_TOKENS) -> LiveRun:
    """Run IncidentFlow through a stream session; the frames the outer session saw."""
    register_incident_scripts(tokens)
    try:
        with IncidentFlow().stream_events() as stream:
            frames = list(stream)
        result = stream.result
    finally:
        unregister_incident_scripts()
    assert stream.run_id is not None and stream.trace_id is not None
    assert sum(frame.type == "llm_stream_chunk" for frame in frames) >= tokens
    return LiveRun(stream.trace_id, stream.run_id, frames, result)
