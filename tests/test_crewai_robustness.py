"""CrewAIInstrumentor under bad conditions: instrumenting twice, uninstrumenting mid-run,
CrewAI missing, events it cannot convert, a broken tracer, and following a run live."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from importlib import metadata
from typing import Any

import pytest
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

import framescope
from framescope.errors import IntegrationNotInstalledError
from framescope.integrations.crewai import CrewAIInstrumentor, follow
from framescope.integrations.crewai.frames import without_secrets
from framescope.replay.decode import decode_runs

from support.crewai_scenarios import (
    ANSWER,
    BaseEvent,
    CustomEventFlow,
    Flow,
    ProgressEvent,
    crewai_event_bus,
    run_flow,
    start,
)

pytestmark = [pytest.mark.crewai, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture
def instrumentor(memory_traces: Any) -> Iterator[CrewAIInstrumentor]:
    instance = CrewAIInstrumentor()
    yield instance
    if instance.is_instrumented_by_opentelemetry:
        instance.uninstrument()


def test_instrumenting_twice_is_a_logged_no_op(
    instrumentor: CrewAIInstrumentor, memory_traces: Any, server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    instrumentor.instrument()
    with caplog.at_level(logging.WARNING):
        CrewAIInstrumentor().instrument()
    assert "already instrumented" in caplog.text
    outcome = run_flow("custom_events", "stream", server)
    runs = [run for run in memory_traces.runs() if run.frames and run.frames[0].id == outcome.frames[0].id]
    assert len(runs) == 1 and len(runs[0].frames) == len(outcome.frames)  # recorded once, not twice


class StopRecordingFlow(Flow):  # type: ignore[type-arg]
    @start()
    def work(self) -> str:
        crewai_event_bus.emit(self, ProgressEvent(step=1))
        CrewAIInstrumentor().uninstrument()
        crewai_event_bus.emit(self, ProgressEvent(step=2))
        return "done"


def test_uninstrumenting_mid_run_ends_its_spans_and_leaves_crewai_alone(
    instrumentor: CrewAIInstrumentor, memory_traces: Any
) -> None:
    instrumentor.instrument()
    session = StopRecordingFlow().stream_events()
    frames = list(session)
    assert session.result == "done"
    assert [f.data.get("step") for f in frames if f.type == "report_progress"] == [1, 2]
    records = memory_traces.records()
    assert all(record.end_time_unix_nano for record in records)
    run = next(run for run in decode_runs(records) if run.frames[0].id == frames[0].id)
    # everything up to the uninstrument call is there, in order; the spans say they were cut short
    assert [f.id for f in run.frames] == [f.id for f in frames[: len(run.frames)]]
    assert run.frames[-1].type == "report_progress" and run.frames[-1].data["step"] == 1
    assert run.cancelled


@pytest.mark.parametrize("installed", [None, "0.80.0", "2.1.0"])
def test_missing_or_unsupported_crewai_is_a_clear_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, installed: str | None
) -> None:
    from framescope.integrations.crewai import _dependency

    def version(name: str) -> str:
        if installed is None:
            raise metadata.PackageNotFoundError(name)
        return installed

    monkeypatch.setattr(_dependency.metadata, "version", version)
    with pytest.raises(IntegrationNotInstalledError, match=r"pip install 'framescope\[crewai\]'"):
        CrewAIInstrumentor().instrument()
    assert not CrewAIInstrumentor().is_instrumented_by_opentelemetry


class UnconvertibleEvent(BaseEvent):
    type: str = "strange_thing"

    def to_json(self, exclude: set[str] | None = None) -> Any:
        raise RuntimeError("cannot serialise this one")


class StrangeFlow(Flow):  # type: ignore[type-arg]
    @start()
    def work(self) -> str:
        crewai_event_bus.emit(self, ProgressEvent(step=7))
        try:
            crewai_event_bus.emit(self, UnconvertibleEvent())
        except RuntimeError:
            pass  # CrewAI's own sinks cannot convert it either when a session is open
        return "still fine"


def test_unknown_and_unconvertible_events_are_recorded_on_custom(
    instrumentor: CrewAIInstrumentor, memory_traces: Any
) -> None:
    instrumentor.instrument()
    before = instrumentor.recording_failures
    assert StrangeFlow().kickoff() == "still fine"
    assert instrumentor.recording_failures == before + 1
    run = next(run for run in memory_traces.runs() if run.frames[0].type == "flow_started")
    by_type = {frame.type: frame for frame in run.frames}
    assert by_type["report_progress"].channel == "custom" and by_type["report_progress"].data["step"] == 7
    strange = by_type["strange_thing"]
    assert strange.channel == "custom" and "cannot serialise" in strange.data["conversion_error"]


class ExplodingProcessor(SpanProcessor):
    def on_start(self, span: Any, parent_context: Any = None) -> None:
        raise RuntimeError("the tracing backend is broken")


def test_a_broken_tracer_never_breaks_the_run(
    memory_traces: Any, server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    provider = TracerProvider()
    provider.add_span_processor(ExplodingProcessor())
    instrumentor = CrewAIInstrumentor()
    before = instrumentor.recording_failures
    instrumentor.instrument(tracer_provider=provider)
    try:
        with caplog.at_level(logging.WARNING, logger="framescope.integrations.crewai"):
            outcome = run_flow("llm_chunks", "stream", server)
    finally:
        instrumentor.uninstrument()
    assert outcome.error is None and outcome.result == ANSWER.upper()
    assert instrumentor.recording_failures > before
    assert caplog.text.count("could not record a CrewAI event") <= 1


def test_a_write_that_fails_among_the_kept_ones_is_counted_and_the_next_go_on(
    instrumentor: CrewAIInstrumentor, memory_traces: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recorder's writes for a run's events are kept and done a batch at a time
    (``CrewAIRun._write``): one failing there is counted as if it had failed right away, and
    the writes after it are still done."""
    from framescope.telemetry.encode import RunRecorder

    event = RunRecorder.event

    def failing_for_progress(recorder: RunRecorder, frame: Any, scope: Any, **kwargs: Any) -> None:  # kept writes
        if frame.type == "report_progress":
            raise RuntimeError("this write fails")
        event(recorder, frame, scope, **kwargs)

    monkeypatch.setattr(RunRecorder, "event", failing_for_progress)
    instrumentor.instrument()
    before = instrumentor.recording_failures
    assert CustomEventFlow().kickoff() == "worked"
    assert instrumentor.recording_failures == before + 3
    run = next(run for run in memory_traces.runs() if run.frames[0].type == "flow_started")
    types = [frame.type for frame in run.frames]
    assert "report_progress" not in types
    assert types[-2:] == ["method_execution_finished", "flow_finished"]  # written after the failed ones


def test_a_quiet_run_does_not_keep_its_writes_for_long(
    instrumentor: CrewAIInstrumentor, memory_traces: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run keeps the recorder's writes until its next event; when it goes quiet (a long LLM
    call, a person to wait for), the settler thread does them: a tool span that ended is
    exported while the run still waits."""
    from framescope.integrations.crewai import settler
    from framescope.integrations.crewai.runs import current_run

    monkeypatch.setattr(settler, "KEEP_MAX_S", 0.05)
    seen: list[bool] = []

    class QuietFlow(Flow):  # type: ignore[type-arg]
        @start()
        def work(self) -> str:
            crewai_event_bus.emit(self, ProgressEvent(step=1))
            run = current_run()
            assert run is not None and run.kept_since is not None  # the event's write is kept
            done = threading.Event()
            for _ in range(200):  # the run says nothing more until the settler has done it
                if run.kept_since is None:
                    done.set()
                    break
                done.wait(0.05)
            seen.append(done.is_set())
            return "quiet"

    instrumentor.instrument()
    assert QuietFlow().kickoff() == "quiet"
    assert seen == [True]
    run = next(run for run in memory_traces.runs() if run.frames[0].type == "flow_started")
    assert "report_progress" in [frame.type for frame in run.frames]


def test_a_service_thread_follows_a_crewai_run_by_trace_id(
    instrumentor: CrewAIInstrumentor, memory_traces: Any, server: Any
) -> None:
    instrumentor.instrument()
    tracer = framescope.configure().tracer
    assert tracer is not None
    followed: list[Any] = []
    with tracer.start_as_current_span("request") as request:
        trace_id = format(request.get_span_context().trace_id, "032x")
        follower = follow(trace_id=trace_id, timeout=30)
        reader = threading.Thread(target=lambda: followed.extend(follower))
        reader.start()
        outcome = run_flow("llm_chunks", "kickoff", server)
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert [f.model_dump() for f in followed] == [
        {**f.model_dump(), "data": without_secrets(f.model_dump()["data"])} for f in outcome.frames
    ]
    assert follower.trace_id == trace_id and follower.result == ANSWER.upper()


def test_following_a_run_that_never_comes_times_out_clearly() -> None:
    from framescope.errors import FollowTimeoutError

    session = follow(run_id="0000000000000000", timeout=0.05)
    with pytest.raises(FollowTimeoutError, match="no live run with run 0000000000000000"):
        list(session)


def test_with_content_capture_off_no_prompt_or_answer_reaches_the_trace(server: Any) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from framescope.integrations.crewai.frames import without_content
    from framescope.replay.records import from_readable_span

    exporter = InMemorySpanExporter()
    framescope.configure(exporter=exporter, capture_message_content=False, replace=True)
    instrumentor = CrewAIInstrumentor()
    instrumentor.instrument()
    try:
        outcome = run_flow("llm_chunks", "stream", server)
    finally:
        instrumentor.uninstrument()
        framescope.flush()
    assert outcome.result == ANSWER.upper()  # CrewAI's own session still has the content
    records = [from_readable_span(span) for span in exporter.get_finished_spans()]
    framescope.shutdown()
    text = repr([(r.attributes, [e.attributes for e in r.events]) for r in records])
    assert "sunny" not in text.lower() and "Weather in Paris" not in text
    run = next(run for run in decode_runs(records) if run.frames[0].id == outcome.frames[0].id)
    want = [without_content(frame_of(f)).model_dump() for f in outcome.frames]
    assert [f.model_dump() for f in run.frames] == want


def frame_of(crew_frame: Any) -> Any:
    from framescope.integrations.crewai.frames import frame_from_crewai_frame

    return frame_from_crewai_frame(crew_frame)


def test_opentelemetry_instrument_finds_the_instrumentor_by_its_entry_point() -> None:
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "framescope_crewai"]
    assert entry.load() is CrewAIInstrumentor
    assert CrewAIInstrumentor().instrumentation_dependencies() == ("crewai >= 1.15.30, < 2",)
