"""CrewAIInstrumentor against real CrewAI 1.15.30 and the loopback OpenAI server.

The central property: for every scenario, the frames CrewAI itself yields for a run (from
its ``stream_events()``/``astream()``, or from its own scoped stream sink for runs nobody
streamed) equal, field for field, the frames replayed from framescope's trace of that run,
through the trace file and through Jaeger's and Tempo's answer formats.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from framescope.integrations.crewai.frames import without_secrets
from framescope.replay.decode import DecodedRun, decode_runs

from support.crewai_scenarios import FLOW_BUILDERS, MODES, Outcome, run_flow, run_llm, run_turns
from support.trace_formats import BACKENDS, through

pytestmark = [pytest.mark.crewai, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture
def instrumented(memory_traces: Any) -> Iterator[Any]:
    from framescope.integrations.crewai import CrewAIInstrumentor

    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument()
    failures = instrumentor.recording_failures
    yield memory_traces
    instrumentor.uninstrument()
    assert instrumentor.recording_failures == failures, "a frame could not be recorded"


def expected(outcome: Outcome) -> list[dict[str, Any]]:
    """CrewAI's frames as framescope records them (secret-looking values redacted)."""
    frames = []
    for frame in outcome.frames:
        dumped = frame.model_dump()
        dumped["data"] = without_secrets(dumped["data"])
        frames.append(dumped)
    return frames


def exact(frames: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(f, default=lambda t: (t.isoformat(), str(t.tzinfo)), sort_keys=True) for f in frames]


def run_of(runs: list[DecodedRun], first_id: str) -> DecodedRun:
    chosen = [run for run in runs if run.frames and run.frames[0].id == first_id]
    assert len(chosen) == 1, f"expected one recorded run starting with frame {first_id}, found {len(chosen)}"
    return chosen[0]


def assert_round_trip(traces: Any, outcome: Outcome) -> None:
    assert outcome.frames, "CrewAI streamed nothing"
    want = exact(expected(outcome))
    records = traces.records()
    run = run_of(decode_runs(records), outcome.frames[0].id)
    assert run.complete
    assert exact([f.model_dump() for f in run.frames]) == want
    for backend in BACKENDS:
        again = run_of(decode_runs(through(backend, records)), outcome.frames[0].id)
        assert exact([f.model_dump() for f in again.frames]) == want, f"differs after {backend}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("scenario", sorted(FLOW_BUILDERS))
def test_flow_runs_replay_exactly_as_crewai_streams_them(
    instrumented: Any, server: Any, scenario: str, mode: str
) -> None:
    outcome = run_flow(scenario, mode, server)
    if scenario == "failure":
        assert isinstance(outcome.error, ValueError)  # CrewAI's own failure, untouched
    else:
        assert outcome.error is None
    assert_round_trip(instrumented, outcome)


@pytest.mark.parametrize("mode", ["stream", "call"])
def test_llm_calls_replay_exactly(instrumented: Any, server: Any, mode: str) -> None:
    outcome = run_llm(mode, server)
    assert outcome.result == "Paris is sunny and warm today"
    assert_round_trip(instrumented, outcome)


def test_conversation_turns_replay_and_carry_the_conversation_id(instrumented: Any, server: Any) -> None:
    turns = run_turns(server, ["Hello", "And tomorrow?"])
    for turn in turns:
        assert turn.error is None and turn.result == "Paris is sunny and warm today"
        assert_round_trip(instrumented, turn)
    records = instrumented.records()
    turn_spans = [r for r in records if r.name == "conversation_turn"]
    assert len(turn_spans) == 2
    assert {span.attributes.get("gen_ai.conversation.id") for span in turn_spans} == {"session-1"}


@pytest.mark.parametrize("scenario", ["llm_chunks", "crew_with_tool", "custom_events"])
def test_runs_nobody_streams_are_recorded_as_crewai_would_stream_them(
    instrumented: Any, server: Any, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No CrewAI session is open, so the instrumentor converts on its own: its frames still
    equal CrewAI's conversion of every event the run emitted (taken after the run)."""
    from crewai.events.event_bus import crewai_event_bus
    from crewai.utilities.streaming import stream_frame_from_event

    emitted: list[Any] = []
    record_event = crewai_event_bus._record_event

    def convert_as_emitted(event: Any) -> None:  # right after publishing, as a CrewAI session would
        emitted.append(stream_frame_from_event(event))
        record_event(event)

    monkeypatch.setattr(crewai_event_bus, "_record_event", convert_as_emitted)
    server.set(reply="Paris is sunny and warm today")
    flow = FLOW_BUILDERS[scenario](server)
    emitted.clear()  # the flow_created event of the construction is a run of its own
    flow.kickoff()
    assert_round_trip(instrumented, Outcome(emitted))


@pytest.mark.parametrize("streamed", [False, True], ids=["unstreamed", "streamed"])
def test_nan_and_infinity_in_crewai_data_replay_as_they_were(
    instrumented: Any, streamed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CrewAI's frames skip framescope's emit rule: where pydantic cannot dump an event (a
    function in it), CrewAI walks its fields and keeps a float NaN or ±Infinity as it is. The
    recorder writes most data with orjson, which would turn them into null, so the conversion
    says when a frame holds one: for frames packed on their span (the custom event) and for
    closers written as their own events (the method's and the flow's result)."""
    import math

    from crewai.events.base_events import BaseEvent
    from crewai.events.event_bus import crewai_event_bus
    from crewai.flow.flow import Flow, start
    from crewai.utilities.streaming import stream_frame_from_event

    class MeasuredEvent(BaseEvent):
        type: str = "measured"
        ratio: float = 0.0
        limits: list[float] = []
        then: Any = None

    class MeasuringFlow(Flow):  # type: ignore[type-arg]
        @start()
        def measure(self) -> dict[str, Any]:
            crewai_event_bus.emit(self, MeasuredEvent(ratio=math.nan, limits=[math.inf, -math.inf, 0.5], then=print))
            crewai_event_bus.emit(self, MeasuredEvent(ratio=0.25))
            return {"ratio": -math.inf, "then": print}

    flow = MeasuringFlow()
    if streamed:
        with flow.stream_events() as session:
            frames = list(session)
    else:  # no CrewAI session open: the instrumentor converts on its own
        frames = []
        record_event = crewai_event_bus._record_event

        def convert_as_emitted(event: Any) -> None:
            frames.append(stream_frame_from_event(event))
            record_event(event)

        monkeypatch.setattr(crewai_event_bus, "_record_event", convert_as_emitted)
        flow.kickoff()
    measured = [frame.data for frame in frames if frame.type == "measured"]
    assert math.isnan(measured[0]["ratio"]) and measured[0]["limits"][:2] == [math.inf, -math.inf]
    finished = [frame.data for frame in frames if frame.type == "method_execution_finished"]
    assert finished[0]["result"]["ratio"] == -math.inf
    assert_round_trip(instrumented, Outcome(frames))  # compared as JSON text: NaN is written "NaN"
