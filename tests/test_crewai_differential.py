"""CrewAI 1.15.30 as the reference: the same scenarios on CrewAI and on framescope's runtime
yield the same sequence of (frame type, channel, parent's type), and the same LLM text.

Ids and timestamps are left out.  The only normalisations are the differences documented,
with their reasons, in docs/crewai.md ("Where framescope differs from CrewAI"):

* CREWAI_ONLY / FRAMESCOPE_ONLY: event types one side streams and the other has no
  equivalent for (CrewAI's ``default_env``; framescope's ``flow_routed``);
* a closing frame's parent: CrewAI points it at the enclosing lifecycle (the pairing is in
  ``data.started_event_id``), framescope at the lifecycle's opener; compared here as the
  enclosing lifecycle on both sides.
"""

from __future__ import annotations

from typing import Any

import pytest

from support import crewai_scenarios as crewai
from support import framescope_scenarios as fs

pytestmark = [pytest.mark.crewai, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(autouse=True)
def _isolated(memory_traces: Any) -> None:
    """framescope's runs here record into memory, never into a trace file in the working folder."""


CREWAI_ONLY = frozenset({"default_env"})
FRAMESCOPE_ONLY = frozenset({"flow_routed"})
CLOSING_SUFFIXES = ("_finished", "_completed", "_failed", "_error")


def shape(frames: list[Any], dropped: frozenset[str], closers_point_at_opener: bool) -> list[tuple[Any, ...]]:
    by_id = {frame.id: frame for frame in frames}
    out = []
    for frame in frames:
        if frame.type in dropped:
            continue
        parent = by_id.get(frame.parent_id) if frame.parent_id else None
        if closers_point_at_opener and frame.type.endswith(CLOSING_SUFFIXES) and parent is not None:
            parent = by_id.get(parent.parent_id) if parent.parent_id else None
        out.append((frame.type, frame.channel, parent.type if parent is not None else None))
    return out


@pytest.mark.parametrize("mode", ["stream", "astream"])
@pytest.mark.parametrize("scenario", sorted(fs.FLOW_BUILDERS))
def test_framescope_streams_what_crewai_streams(server: Any, scenario: str, mode: str) -> None:
    reference = crewai.run_flow(scenario, mode, server)
    ours = fs.run_flow(scenario, mode, server)
    assert shape(ours.frames, FRAMESCOPE_ONLY, True) == shape(reference.frames, CREWAI_ONLY, False)
    assert fs.text_of(ours.frames) == fs.text_of(reference.frames)
    assert type(ours.error) is type(reference.error)
    if reference.error is None:
        assert ours.result == reference.result
    else:
        assert str(ours.error) == str(reference.error)


def test_a_nested_session_is_a_view_of_the_enclosing_run(server: Any) -> None:
    """framescope as CrewAI: the outer session sees the nested call's frames, in one run with
    one contiguous seq, and the nested session sees its own."""
    server.set(reply=crewai.ANSWER)
    llm = fs.server_llm(server)
    inner_frames: list[Any] = []

    class Outer(fs.Flow):  # type: ignore[type-arg]
        @fs.start()
        def ask(self) -> str:
            with llm.stream_events(messages=[{"role": "user", "content": "Weather?"}]) as inner:
                inner_frames.extend(inner)
                assert inner.run_id == outer.run_id
            return fs.text_of(inner_frames)

    outer = Outer().stream_events()
    frames = list(outer)
    assert outer.result == crewai.ANSWER
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert {f.id for f in inner_frames} <= {f.id for f in frames}
    assert [f.type for f in inner_frames][0] == "llm_call_started" and inner_frames[-1].type == "llm_call_completed"
    method = next(f for f in frames if f.type == "method_execution_started")
    assert inner_frames[0].parent_id == method.id


def test_replay_by_trace_id_defaults_to_the_root_run(server: Any, trace_file: Any) -> None:
    import framescope
    from framescope import replay

    tracer = framescope.configure().tracer
    assert tracer is not None
    with tracer.start_as_current_span("request") as request:
        first = list(fs.run_flow("custom_events", "stream", server).frames)
        second = list(fs.run_flow("branching", "stream", server).frames)
    framescope.flush()
    trace_id = format(request.get_span_context().trace_id, "032x")
    assert [f.id for f in replay.from_file(trace_file, trace_id)] == [f.id for f in first]
    assert [f.id for f in replay.from_file(trace_file)] == [f.id for f in second]  # no trace id: the newest
    whole = replay.from_file(trace_file, trace_id, all_runs=True)
    assert [f.id for f in whole] == [f.id for f in first + second]


def test_conversation_turns_stream_what_crewai_streams(server: Any) -> None:
    """A turn, compared on what both runtimes have: the turn's own lifecycle, the transcript and
    the LLM call (CrewAI also runs a flow inside each turn, and routes it: see docs/crewai.md)."""
    kept_channels = {"llm", "messages"}
    turn_types = {"conversation_turn_started", "conversation_turn_completed", "conversation_turn_failed"}

    def projection(frames: list[Any]) -> list[tuple[str, str]]:
        return [(f.type, f.channel) for f in frames if f.channel in kept_channels or f.type in turn_types]

    reference = crewai.run_turns(server, ["Hello", "And tomorrow?"])
    ours = fs.run_turns(server, ["Hello", "And tomorrow?"])
    ours_async = fs.run_turns(server, ["Hello"], asynchronous=True)
    for mine, theirs in zip([*ours, *ours_async], [*reference, reference[0]]):
        assert projection(mine.frames) == projection(theirs.frames)
        assert fs.text_of(mine.frames) == fs.text_of(theirs.frames)
        assert mine.result == theirs.result == crewai.ANSWER


def test_a_tool_round_inside_an_llm_call_streams_what_crewai_streams(server: Any) -> None:
    """The tool's lifecycle inside the LLM call, compared on the tools channel (CrewAI streams the
    tool call's argument pieces as ``llm_stream_chunk``, framescope as ``llm_tool_call_delta``,
    and stops after the tool where framescope asks the model again: see docs/crewai.md)."""
    reference = crewai.run_tool_call(server)
    ours = fs.run_tool_call(server)

    def tools(frames: list[Any], closers_point_at_opener: bool) -> list[tuple[Any, ...]]:
        return [entry for entry in shape(frames, frozenset(), closers_point_at_opener) if entry[1] == "tools"]

    assert tools(ours.frames, True) == tools(reference.frames, False)
    names = [[f.data.get("tool_name") for f in o.frames if f.channel == "tools"] for o in (ours, reference)]
    assert names[0] == names[1] == ["lookup_weather", "lookup_weather"]
    assert reference.result == "sunny in Paris" and ours.result == crewai.ANSWER
