"""``CrewAIInstrumentor``: every CrewAI run recorded as framescope frames, spans and links.

Where it hooks: CrewAI's event bus prepares every event (id, emission sequence, parent and
previous ids) and then hands it to ``publish_stream_event``, the one function that feeds
CrewAI's own stream sessions.  The instrumentor wraps that function: it converts the event
with CrewAI's own ``stream_frame_from_event`` and records the frame through framescope's codec,
under the run's lock together with CrewAI's own delivery, so the order recorded is the order
CrewAI's sessions see.  Runs that nobody streams are recorded the same way.  The chunks of an
answer are kept and recorded a batch at a time, before anything else of their run
(``CrewAIRun.defer`` says why): the trace is the same.

It never raises into the application: a frame that cannot be recorded is counted
(``recording_failures``), logged once as a warning, and the run goes on untouched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from framescope.integrations.crewai._dependency import REQUIREMENT, require_crewai
from framescope.integrations.crewai.frames import (
    converted_crewai_frame,
    converted_event,
    fallback_frame,
    learn_chunk_rule,
    without_content,
)
from framescope.integrations.crewai.runs import CURRENT_RUN, CrewAIRun, RunTracker
from framescope.types.routing import TOKEN_TYPES
from framescope.types.streaming import StreamFrame

logger = logging.getLogger("framescope.integrations.crewai")


class CrewAIInstrumentor(BaseInstrumentor):
    """Records CrewAI flows, crews, agents, tasks, LLM calls, tools and turns through framescope.

    ``CrewAIInstrumentor().instrument()`` (optionally ``tracer_provider=...``) starts recording;
    ``uninstrument()`` stops it, ending the spans of runs still going.  Like every OpenTelemetry
    instrumentor it is a singleton, and instrumenting twice is a logged no-op.
    """

    _tracker: RunTracker | None = None
    _original: Callable[[Any, Any], None] | None = None
    _original_convert: Callable[[Any], Any] | None = None
    _failures = 0
    _warned = False
    _failure_lock = threading.Lock()

    def instrumentation_dependencies(self) -> Collection[str]:
        return (REQUIREMENT,)

    def instrument(self, **kwargs: Any) -> Any:
        # The auto-instrumentation loader asks for a DependencyConflictError it handles itself;
        # a direct call gets a clear error naming the extra instead of a logged no-op.
        if not kwargs.get("raise_exception_on_conflict"):
            require_crewai()
        return super().instrument(**kwargs)

    @property
    def recording_failures(self) -> int:
        """How many events could not be recorded since the process started (0 when all is well)."""
        return type(self)._failures

    def _instrument(self, **kwargs: Any) -> None:
        import crewai.events.event_bus as bus_module
        import crewai.utilities.streaming as streaming_module
        from crewai.events.event_context import SCOPE_STARTING_EVENTS
        from crewai.events.stream_context import _stream_sinks

        original: Callable[[Any, Any], None] = bus_module.publish_stream_event
        original_convert: Callable[[Any], Any] = streaming_module.stream_frame_from_event
        cls = type(self)
        cls._original = original
        cls._original_convert = original_convert
        record_failure = self._record_failure
        converted = threading.local()  # the event being published and CrewAI's frame for it
        current = CURRENT_RUN
        fast = _has_conversion_pieces(streaming_module)

        def shared_convert(event: Any) -> Any:
            """CrewAI's sinks get the frame already made for this event instead of a second conversion."""
            if getattr(converted, "event", None) is event:
                return converted.frame
            return original_convert(event)

        def convert(event: Any, shared: bool) -> tuple[StreamFrame, bool]:
            """The event's frame, and whether its data holds NaN or ±Infinity."""
            try:
                if shared:  # a CrewAI session will want CrewAI's own frame object: made once, for both
                    crew_frame = original_convert(event)
                    converted.event, converted.frame = event, crew_frame
                    return converted_crewai_frame(crew_frame)
                return converted_event(streaming_module, event)
            except Exception as error:
                record_failure(error)
                return fallback_frame(event, error), False

        def record(run: CrewAIRun, event: Any, frame: StreamFrame, nonfinite: bool, learn: bool) -> None:
            """Record ``event``'s frame into ``run`` (under its lock); ``learn``: CrewAI made the frame."""
            if run.finished:
                return
            try:
                if run.record(frame, getattr(event, "started_event_id", None), nonfinite):
                    tracker.completed(run)
                elif frame.type in TOKEN_TYPES:
                    if learn:
                        learn_chunk_rule(streaming_module, event)
                    run.remember_chunk(event, frame)
            except Exception as error:
                record_failure(error)

        def record_deferred(run: CrewAIRun, events: list[Any]) -> None:
            """The chunk events ``run`` kept (``CrewAIRun.defer``), in order: each the short way
            when it continues the last chunk (no frame made), else converted and recorded."""
            for event in events:
                tail = run.tail
                try:
                    if tail is not None and run.extend_chunks(event):
                        run.processor.on_frame(run, tail.frame)  # sessions: none; metrics count it
                        continue
                except Exception as error:  # nothing was recorded: the usual way records it
                    record_failure(error)
                frame, nonfinite = convert(event, False)  # CrewAI's sinks had theirs when it was published
                try:
                    if not run.capture_content:
                        frame = without_content(frame)
                except Exception as error:
                    record_failure(error)
                    continue
                record(run, event, frame, nonfinite, False)

        tracker = RunTracker(
            frozenset(SCOPE_STARTING_EVENTS), kwargs.get("tracer_provider"), record_deferred, record_failure
        )
        cls._tracker = tracker

        def publish_and_record(source: Any, event: Any) -> None:
            run = current.get()
            if run is not None and run.tail is not None and run.defers(event):
                with run.lock:
                    try:
                        original(source, event)  # CrewAI's own sessions first, in the same order
                    finally:
                        run.defer(event)
                return
            shared = not fast or bool(_stream_sinks.get())
            try:
                frame, nonfinite = convert(event, shared)
                run = tracker.run_for(frame)
                if not run.capture_content:
                    frame = without_content(frame)
            except Exception as error:
                record_failure(error)
                original(source, event)
                return
            with run.lock:
                try:
                    original(source, event)  # CrewAI's own sessions first, in the same order
                finally:
                    if shared:
                        converted.event = converted.frame = None
                    try:
                        if run.keeps_chunks:
                            run.settle()  # the chunks kept before this event are recorded before it
                    except Exception as error:
                        record_failure(error)
                    record(run, event, frame, nonfinite, shared and fast)

        publish_and_record.__wrapped__ = original  # type: ignore[attr-defined]
        shared_convert.__wrapped__ = original_convert  # type: ignore[attr-defined]
        bus_module.publish_stream_event = publish_and_record
        streaming_module.stream_frame_from_event = shared_convert

    def _uninstrument(self, **kwargs: Any) -> None:
        import crewai.events.event_bus as bus_module
        import crewai.utilities.streaming as streaming_module

        cls = type(self)
        if cls._original is not None:
            bus_module.publish_stream_event = cls._original  # type: ignore[assignment]
        if cls._original_convert is not None:
            streaming_module.stream_frame_from_event = cls._original_convert  # type: ignore[assignment]
        cls._original_convert = None
        tracker = cls._tracker
        cls._tracker = None
        cls._original = None
        if tracker is not None:
            tracker.stop_all()

    @classmethod
    def _record_failure(cls, error: BaseException) -> None:
        with cls._failure_lock:
            cls._failures += 1
            first = not cls._warned
            cls._warned = True
        if first:
            logger.warning(
                "framescope could not record a CrewAI event (%s: %s); the run goes on unrecorded for that "
                "event. Further failures are counted in CrewAIInstrumentor().recording_failures, not logged.",
                type(error).__name__,
                error,
                exc_info=error,
            )


def _has_conversion_pieces(streaming_module: Any) -> bool:
    """Whether this CrewAI still builds its frames from the pieces :func:`frame_from_parts` uses."""
    return all(
        hasattr(streaming_module, name)
        for name in ("_stream_channel", "_stream_namespace", "_FRAME_DATA_EXCLUDE", "BaseEvent")
    )


__all__ = ["CrewAIInstrumentor"]
