"""Real framescope runs for the replay tests: each returns the frames a live client saw.

They run through the real runtime (Flow, LLM with the scripted provider, @tool, the emit
path), so a replay test compares against what framescope really streams, not against
hand-made frames.
"""

from __future__ import annotations

from datetime import datetime

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from framescope import emit, lifecycle, stream_call
from framescope.flow import Flow, listen, start
from framescope.llm import LLM
from framescope.llm.providers import ScriptedToolCall, register_script, unregister_script
from framescope.telemetry import run as run_module
from framescope.telemetry.wire import PACK_MAX_FRAMES
from framescope.tools import tool
from framescope.types.streaming import StreamFrame

LONG_TOKENS = 10_000


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


class ToolFlow(Flow):
    """A flow whose first step is a streamed LLM call that uses two tools."""

    @start()
    def ask(self) -> str:
        return LLM("scripted/replay-tools", stream=True).call("2+3, then shout it", tools=[add, shout])

    @listen(ask)
    def finish(self, answer: str) -> str:
        emit("checked", {"answer": answer, "big": 2**63 - 1, "text": "héllo ✓ \ud800"})
        return answer.upper()


def flow_with_tools() -> tuple[str, list[StreamFrame]]:
    register_script(
        "replay-tools",
        [ScriptedToolCall("add", {"a": 2, "b": 3}), ScriptedToolCall("shout", {"text": "five"}), "the sum is 5, FIVE"],
        thinking="let me use the tools",
    )
    try:
        with ToolFlow().stream_events() as stream:
            frames = list(stream)
    finally:
        unregister_script("replay-tools")
    assert stream.run_id is not None
    return stream.run_id, frames


def long_llm_call(tokens: int = LONG_TOKENS) -> tuple[str, list[StreamFrame]]:
    register_script("replay-long", ["".join(f" w{i}" for i in range(tokens))])
    try:
        with LLM("scripted/replay-long").stream_events("write a lot") as stream:
            frames = list(stream)
    finally:
        unregister_script("replay-long")
    assert sum(frame.type == "llm_stream_chunk" for frame in frames) == tokens
    assert stream.run_id is not None
    return stream.run_id, frames


def many_events(count: int = 130 * PACK_MAX_FRAMES) -> None:
    """More frame packs on one span than the SDK keeps events (128): exercises the batch event."""
    with lifecycle("flow_started", {"flow_name": "Busy"}, finished="flow_finished", failed="flow_failed") as flow:
        for i in range(count):
            emit("tick", {"i": i})
        flow.data["result"] = count


def turn(n: int) -> str:
    with lifecycle(
        "conversation_turn_started",
        {"turn": n},
        finished="conversation_turn_completed",
        failed="conversation_turn_failed",
    ) as call:
        emit("conversation_message_added", {"role": "user", "content": f"question {n}"})
        for word in (f"answer {n}", " done"):
            emit("llm_stream_chunk", {"chunk": word})
        call.data["result"] = f"answer {n} done"
    return f"answer {n} done"


SHARED_TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
SHARED_PARENT = NonRecordingSpan(
    SpanContext(SHARED_TRACE_ID, 0x00F067AA0BA902B7, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
)


def runs_in_one_trace(count: int = 3, session_id: str = "session-1") -> list[tuple[str, list[StreamFrame]]]:
    """``count`` conversation turns, each its own run, all in one trace (as turns share one)."""
    context = trace.set_span_in_context(SHARED_PARENT)
    out = []
    for n in range(count):
        with stream_call(
            turn, n, parent_context=context, span_attributes={"gen_ai.conversation.id": session_id}
        ) as stream:
            frames = list(stream)
        assert stream.run_id is not None
        out.append((stream.run_id, frames))
    return out


def _millisecond_clock(tz=None):
    now = datetime.now(tz)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def busy_run() -> tuple[str, list[StreamFrame]]:
    """A span past the event cap whose frames share timestamps (a coarse clock, as on
    Windows), so backends that sort events by time have ties to reorder."""
    original = run_module._now
    run_module._now = _millisecond_clock
    try:
        with stream_call(many_events) as stream:
            frames = list(stream)
    finally:
        run_module._now = original
    assert stream.run_id is not None
    return stream.run_id, frames


def named_run(name: str) -> str:
    """A one-lifecycle flow run named ``name`` whose result is its name."""
    with lifecycle("flow_started", {"flow_name": name}, finished="flow_finished", failed="flow_failed") as flow:
        emit("step", {"name": name})
        flow.data["result"] = name
    return name


def stream_named_runs(*names: str) -> list[str]:
    """Stream one :func:`named_run` per name, each to its end; their trace ids, in order."""
    ids = []
    for name in names:
        with stream_call(named_run, name) as stream:
            list(stream)
        ids.append(stream.trace_id)
    return ids
