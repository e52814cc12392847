"""The short way for the chunks of an answer nobody streams (``CrewAIRun.extend_chunks``).

A chunk event whose fields equal the previous chunk's but for the chunk is appended to the
open token run without making its frame.  Whatever breaks that equality (another call's
chunks in between, another event, a secret-shaped chunk, a live session attaching, content
capture off) must send the event the usual way: the trace replays CrewAI's own frames, field
for field, and every frame is counted once.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import pytest

import framescope
from framescope.integrations.crewai import CrewAIInstrumentor
from framescope.integrations.crewai.frames import without_secrets
from framescope.replay.decode import decode_runs
from framescope.telemetry.config import get_telemetry_setup

from support.crewai_scenarios import Flow, ProgressEvent, crewai_event_bus, start

pytestmark = [pytest.mark.crewai, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SECRET = "sk-" + "a1B2c3D4e5F6g7H8i9J0"


def chunk(text: str, call_id: str = "call-1", **fields: Any) -> Any:
    from crewai.events.types.llm_events import LLMStreamChunkEvent

    return LLMStreamChunkEvent(chunk=text, call_id=call_id, **{"model": "gpt-test", "response_id": "r-1", **fields})


def llm_call(flow: Any, chunks: list[Any], call_id: str = "call-1") -> None:
    """An LLM call's events: CrewAI records chunks as one token run inside the call's span."""
    from crewai.events.types.llm_events import LLMCallCompletedEvent, LLMCallStartedEvent, LLMCallType

    crewai_event_bus.emit(flow, LLMCallStartedEvent(call_id=call_id, model="gpt-test", messages="Weather?"))
    for event in chunks:
        if callable(event):  # a step to take between two events
            event()
        else:
            crewai_event_bus.emit(flow, event)
    completed = LLMCallCompletedEvent(call_id=call_id, model="gpt-test", response="...", call_type=LLMCallType.LLM_CALL)
    crewai_event_bus.emit(flow, completed)


class ChunkyFlow(Flow):  # type: ignore[type-arg]
    """Chunks in every arrangement the short way must notice."""

    @start()
    def answer(self) -> str:
        llm_call(
            self,
            [
                *(chunk(f"tok{index} ") for index in range(5)),  # plain: all but the first go the short way
                chunk(f"key {SECRET} "),  # a secret-shaped chunk: redacted either way
                chunk("after "),
                chunk("other call ", call_id="call-2"),  # another call's chunk in between
                chunk("back "),
                chunk("model changed ", model="gpt-other"),  # a field but the chunk differs
                chunk("1 ", model="gpt-other"),
                ProgressEvent(step=1),  # another event ends the token run
                chunk("resumed "),
                chunk("again ", agent_role="Weatherman"),  # a namespace field changes
                chunk("and again ", agent_role="Weatherman"),
            ],
        )
        llm_call(self, [chunk(f"second{index} ", call_id="call-3") for index in range(3)], call_id="call-3")
        return "done"


@pytest.fixture
def instrumented(memory_traces: Any) -> Iterator[Any]:
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument()
    failures = instrumentor.recording_failures  # counted process-wide: other tests' count too
    yield memory_traces
    instrumentor.uninstrument()
    assert instrumentor.recording_failures == failures


def kickoff_recording_crewai_frames(flow_class: type, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Make and kick off a ``flow_class`` flow with no session open; CrewAI's own conversion of
    each event, as emitted (the flow's creation is a run of its own: left out)."""
    from crewai.utilities.streaming import stream_frame_from_event

    emitted: list[Any] = []
    record_event = crewai_event_bus._record_event

    def convert_as_emitted(event: Any) -> None:
        emitted.append(stream_frame_from_event(event))
        record_event(event)

    flow = flow_class()
    monkeypatch.setattr(crewai_event_bus, "_record_event", convert_as_emitted)
    flow.kickoff()
    return emitted


def expected(frames: list[Any]) -> list[dict[str, Any]]:
    return [{**f.model_dump(), "data": without_secrets(f.model_dump()["data"])} for f in frames]


def recorded(traces: Any, first_id: str) -> list[dict[str, Any]]:
    runs = [run for run in decode_runs(traces.records()) if run.frames and run.frames[0].id == first_id]
    assert len(runs) == 1
    return [f.model_dump() for f in runs[0].frames]


@pytest.mark.parametrize("mode", ["kickoff", "stream"])
def test_chunks_taking_the_short_way_replay_as_crewai_frames(
    instrumented: Any, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """``kickoff``: nobody streams; ``stream``: a CrewAI session is open and gets every frame
    from CrewAI's own conversion while the recording takes the short way."""
    taken = []
    from framescope.integrations.crewai.runs import CrewAIRun

    extend = CrewAIRun.extend_chunks

    def counting(run: CrewAIRun, event: Any) -> bool:
        done = extend(run, event)
        taken.append(done)
        return done

    monkeypatch.setattr(CrewAIRun, "extend_chunks", counting)
    from framescope.integrations.crewai import chunks
    from framescope.integrations.crewai import frames as conversion

    monkeypatch.setattr(chunks, "_MEMOS", {})  # as in a new process: nothing learnt yet
    monkeypatch.setattr(conversion, "_NAMESPACE_PLANS", {})
    monkeypatch.setattr(conversion, "_LEARNING", {})
    if mode == "stream":
        with ChunkyFlow().stream_events() as session:
            frames = list(session)
        assert sum(f.type == "llm_stream_chunk" for f in frames) == 17  # CrewAI's session misses none
    else:
        frames = kickoff_recording_crewai_frames(ChunkyFlow, monkeypatch)
    want = expected(frames)
    assert recorded(instrumented, frames[0].id) == want
    assert SECRET not in repr(want) and SECRET in repr([f.data for f in frames])
    assert taken.count(True) >= 7  # the short way was taken where it could be


def test_every_frame_is_counted_once_in_the_metrics(instrumented: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    counted: collections.Counter[tuple[str, str]] = collections.Counter()

    class CountingMetrics:
        def frame(self, channel: str, frame_type: str) -> None:
            counted[(channel, frame_type)] += 1

        def session_opened(self) -> None:
            pass

        def session_closed(self) -> None:
            pass

    monkeypatch.setattr(get_telemetry_setup().processor, "metrics", CountingMetrics())
    frames = kickoff_recording_crewai_frames(ChunkyFlow, monkeypatch)
    creation = collections.Counter({("flow", "flow_created"): 1})  # the flow's creation: a run of its own
    assert counted == collections.Counter((f.channel, f.type) for f in frames) + creation


def test_a_live_session_attaching_mid_answer_gets_every_chunk_after_it(
    instrumented: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from framescope.integrations.crewai import follow
    from framescope.integrations.crewai.runs import current_run

    sessions: list[Any] = []

    class AttachingFlow(Flow):  # type: ignore[type-arg]
        @start()
        def answer(self) -> str:
            def attach() -> None:  # in the middle of the answer, once the short way is on
                run = current_run()
                assert run is not None and run.tail is not None
                sessions.append(follow(run_id=run.run_id, timeout=5))  # attaches now: the run is going

            events = [chunk(f"early{index} ") for index in range(3)] + [chunk(f"late{index} ") for index in range(3)]
            llm_call(self, [*events[:3], attach, *events[3:]])
            return "done"

    frames = kickoff_recording_crewai_frames(AttachingFlow, monkeypatch)
    followed = [f.model_dump() for f in sessions[0]]  # delivered while the run went on, then its end
    want = expected(frames)
    first_late = next(i for i, f in enumerate(want) if f["data"].get("chunk") == "late0 ")
    assert followed == want[first_late:]
    assert recorded(instrumented, frames[0].id) == want


def test_with_content_capture_off_chunks_are_redacted_not_shortened(monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from framescope.replay.records import from_readable_span

    exporter = InMemorySpanExporter()
    framescope.configure(exporter=exporter, capture_message_content=False, replace=True)
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument()
    try:
        frames = kickoff_recording_crewai_frames(ChunkyFlow, monkeypatch)
    finally:
        instrumentor.uninstrument()
        framescope.flush()
    records = [from_readable_span(span) for span in exporter.get_finished_spans()]
    framescope.shutdown()
    run = next(run for run in decode_runs(records) if run.frames[0].id == frames[0].id)
    chunks = [f for f in run.frames if f.type == "llm_stream_chunk"]
    assert len(chunks) == sum(f.type == "llm_stream_chunk" for f in frames)
    assert {f.data["chunk"] for f in chunks} == {"[REDACTED]"}
    assert "tok1" not in repr([(r.attributes, [e.attributes for e in r.events]) for r in records])


def test_each_difference_from_the_last_chunk_sends_the_event_the_usual_way(instrumented: Any) -> None:
    """The guards one at a time: an event that continues the token run in every way but one is
    not taken, and leaves the run as it was; the event that continues it in every way is."""
    from datetime import UTC, datetime, timedelta, timezone

    from framescope.integrations.crewai.runs import current_run

    outcomes: dict[str, bool] = {}

    def probe() -> None:
        run = current_run()
        assert run is not None and run.tail is not None and run.recorder is not None
        run.settle()  # the chunks kept so far are recorded: the tail is the last one
        tokens = run.tail.tokens
        follows = chunk(
            "next ",
            event_id="next-id",
            emission_sequence=tokens.next_seq,
            previous_event_id=tokens.last_id,
            parent_event_id=run.tail.frame.parent_id,
            timestamp=datetime.now(UTC),
        )
        variants = {
            "parent": {"parent_event_id": "elsewhere"},
            "previous id": {"previous_event_id": "not-the-last"},
            "seq": {"emission_sequence": tokens.next_seq + 1},
            "type": {"type": "llm_thinking_chunk"},
            "started id": {"started_event_id": "a-start"},
            "time zone": {"timestamp": datetime.now(timezone(timedelta(hours=2)))},
            "field": {"model": "gpt-other"},
            "chunk type": {"chunk": 5},
        }
        before = list(tokens.chunks)
        for name, update in variants.items():
            outcomes[name] = run.extend_chunks(follows.model_copy(update=update))
        assert tokens.chunks == before
        outcomes["continues"] = run.extend_chunks(follows)
        run.recorder._flush_tokens()  # the token run written out: nothing continues it any more
        after = follows.model_copy(
            update={"event_id": "after", "emission_sequence": tokens.next_seq, "previous_event_id": "next-id"}
        )
        outcomes["closed run"] = run.extend_chunks(after)

    class ProbingFlow(Flow):  # type: ignore[type-arg]
        @start()
        def answer(self) -> str:
            llm_call(self, [chunk("a "), chunk("b "), probe])
            return "done"

    ProbingFlow().kickoff()
    assert outcomes.pop("continues") is True
    assert outcomes == dict.fromkeys(outcomes, False)
    assert len(outcomes) == 9


def test_a_long_answer_is_recorded_in_batches_of_kept_chunks(
    instrumented: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks are kept (``CrewAIRun.defer``) and recorded a batch at a time: never more than
    ``PENDING_MAX`` wait, and the trace is CrewAI's frames, in order, all of them."""
    from framescope.integrations.crewai.runs import PENDING_MAX, current_run

    waiting: list[int] = []

    def look() -> None:
        run = current_run()
        assert run is not None
        waiting.append(len(run._pending))

    class LongAnswerFlow(Flow):  # type: ignore[type-arg]
        @start()
        def answer(self) -> str:
            steps: list[Any] = []
            for index in range(PENDING_MAX * 2 + 22):
                steps += [chunk(f"w{index} "), look]
            llm_call(self, steps)
            return "done"

    frames = kickoff_recording_crewai_frames(LongAnswerFlow, monkeypatch)
    assert sum(f.type == "llm_stream_chunk" for f in frames) == PENDING_MAX * 2 + 22
    assert recorded(instrumented, frames[0].id) == expected(frames)
    assert max(waiting) == PENDING_MAX - 1 and waiting.count(0) >= 2  # kept, then recorded in batches


def test_chunks_kept_when_the_instrumentor_stops_are_recorded_before_the_run_is_cut(
    memory_traces: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from framescope.integrations.crewai.runs import current_run

    instrumentor = CrewAIInstrumentor()
    kept: list[int] = []

    def stop() -> None:
        run = current_run()
        assert run is not None
        kept.append(len(run._pending))
        instrumentor.uninstrument()

    class StoppingFlow(Flow):  # type: ignore[type-arg]
        @start()
        def answer(self) -> str:
            llm_call(self, [*(chunk(f"w{index} ") for index in range(6)), stop, chunk("unrecorded ")])
            return "done"

    instrumentor.instrument()
    try:
        frames = kickoff_recording_crewai_frames(StoppingFlow, monkeypatch)
    finally:
        instrumentor.uninstrument()
    assert kept == [5]  # the first chunk made the tail; the next five waited
    runs = [run for run in decode_runs(memory_traces.records()) if run.frames and run.frames[0].id == frames[0].id]
    assert len(runs) == 1
    until_stop = next(i for i, f in enumerate(frames) if f.data.get("chunk") == "unrecorded ")
    assert [f.model_dump() for f in runs[0].frames] == expected(frames[:until_stop])
