"""CrewAI runs as framescope runs: which frames belong together, and their lifecycles as spans.

A *run* is what one top-level CrewAI session streams: everything emitted from the first
event in an execution context (a flow's ``flow_started``, a crew's ``crew_kickoff_started``,
a bare ``llm_call_started``, a turn's ``conversation_turn_started``) until the lifecycle that
event opened ends.  The current run rides in a context variable set in the emitting context,
the same way CrewAI carries its own event scope stack, so the run reaches exactly the code
CrewAI's own context-scoped stream sinks reach: a nested ``llm.stream_events`` inside a flow
method is part of the flow's run, and concurrent runs never mix.

Lifecycles pair the way CrewAI pairs its events: a scope-starting event opens a span, and the
ending event whose ``started_event_id`` names it closes that span.  Conversation turns, which
CrewAI does not scope, pair by type (``conversation_turn_started`` with the next
``conversation_turn_completed``/``_failed``).  Every other frame goes on the span of its
``parent_id``; frames whose parent is not in the run go on the run's first span.
"""

from __future__ import annotations

import contextvars
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from opentelemetry import trace

from framescope.errors import CrewAIReportedFailure
from framescope.integrations.crewai.chunks import CHUNK, ChunkTail, chunk_tail
from framescope.integrations.crewai.frames import namespace_from_fields
from framescope.integrations.crewai.settler import Settler
from framescope.telemetry import follow
from framescope.telemetry.config import get_telemetry_setup
from framescope.telemetry.encode import RunRecorder
from framescope.telemetry.spans import LifecycleSpan
from framescope.telemetry.wire import EPOCH, ONE_US
from framescope.types._feed import FrameQueue
from framescope.types.redaction import is_secret_key, may_hold_secret, redact_text
from framescope.types.routing import TOKEN_TYPES
from framescope.types.streaming import StreamFrame

TURN_STARTED = "conversation_turn_started"
TURN_ENDED = frozenset({"conversation_turn_completed", "conversation_turn_failed"})
_FAILED_SUFFIXES = ("_failed", "_error", "_canceled", "_cancelled")
UNINSTRUMENTED = "recording stopped: CrewAIInstrumentor.uninstrument() was called while the run was going"

#: chunk events, and recorder writes, a run keeps before doing them (see :meth:`CrewAIRun.defer`)
PENDING_MAX = 64

#: the run events emitted in this context belong to (finished runs are left here until replaced)
CURRENT_RUN: contextvars.ContextVar[CrewAIRun | None] = contextvars.ContextVar("framescope_crewai_run", default=None)


class CrewAIRun:
    """One CrewAI run: its recorder, its open lifecycles and its live sessions (followers)."""

    def __init__(
        self,
        tracer: trace.Tracer | None,
        processor: Any,
        starting: frozenset[str],
        span_attributes: dict[str, Any],
        record_deferred: Callable[[CrewAIRun, list[Any]], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.run_id = secrets.token_hex(8)
        self.lock = threading.RLock()
        self.sinks: list[FrameQueue] = []
        self.trace_id: str | None = None
        self.processor = processor
        self.finished = False
        self.capture_content = True
        self._starting = starting
        self._scopes: dict[str, LifecycleSpan] = {}
        self._turns: list[LifecycleSpan] = []
        self._root: LifecycleSpan | None = None
        self._last: StreamFrame | None = None
        self.tail: ChunkTail | None = None  # the last chunk frame, while more can follow it
        self._pending: list[Any] = []  # chunk events published but not recorded yet (defer)
        self._writes: list[tuple[Callable[..., None], tuple[Any, ...], bool]] = []  # the recorder's, kept
        self._record_deferred = record_deferred
        self._on_failure = on_failure
        self.kept_since: float | None = None  # when the oldest kept item was kept (time.monotonic)
        self.recorder = RunRecorder(self.run_id, tracer, None, span_attributes) if tracer is not None else None

    # the FrameSpanProcessor calls this when the run's first span starts
    def set_trace_id(self, trace_id: str) -> None:
        if self.trace_id is None:
            self.trace_id = trace_id
            for sink in self.sinks:
                sink.trace_id = trace_id
            if self._root is not None:  # a lone event (e.g. flow_created) is not what a trace's follower wants
                follow.trace_known(self)

    def record(self, frame: StreamFrame, started_event_id: str | None, nonfinite: bool = False) -> bool:
        """Record ``frame`` and deliver it to the run's sessions; True once the run is complete.

        ``nonfinite``: the frame's data holds NaN or ±Infinity (``frames.clean_data`` says so).
        """
        kind = frame.type
        recorder = self.recorder
        # The recorder's writes are kept and done a batch at a time (see defer), but for the run's
        # first span (its trace id) and a token frame (the chunks that follow extend its run).
        now = self.trace_id is None or kind in TOKEN_TYPES
        if kind in self._starting or kind == TURN_STARTED:
            parent = self._scopes.get(frame.parent_id) if frame.parent_id else None
            scope = LifecycleSpan(frame.id, frame.namespace, parent)
            self._scopes[frame.id] = scope
            if kind == TURN_STARTED:
                self._turns.append(scope)
            if self._root is None:
                self._root = scope
            if recorder is not None:
                self._write(now, recorder.open, (frame, scope), nonfinite)
                if self.trace_id is None and recorder.trace_id is not None:
                    self.set_trace_id(recorder.trace_id)
            done = False
        else:
            closing = self._closing_scope(kind, started_event_id)
            if closing is not None:
                if recorder is not None:
                    self._write(now, recorder.close, (frame, closing, _failure(kind, frame.data)), nonfinite)
                done = closing is self._root
            else:
                owner = self._scopes.get(frame.parent_id) if frame.parent_id else None
                if owner is None and self._root is not None and not _ended(self._root):
                    owner = self._root
                if recorder is not None:
                    self._write(now, recorder.event, (frame, owner), nonfinite)
                    if self.trace_id is None and recorder.trace_id is not None:
                        self.set_trace_id(recorder.trace_id)
                done = self._root is None  # a lone event outside any lifecycle is a run of its own
        self._last = frame
        self.processor.on_frame(self, frame)
        return done

    def _write(self, now: bool, write: Callable[..., None], args: tuple[Any, ...], nonfinite: bool) -> None:
        """Have the recorder ``write(*args)`` now, after the writes kept, or keep it with them.

        The recorder then gets the same calls in the same order, so the trace is the same: every
        other use of the recorder (the chunks' short way, the run's end) comes after
        :meth:`settle`.
        """
        if now:
            self._do_writes()
            write(*args, nonfinite=nonfinite)
            return
        if self.kept_since is None:
            self.kept_since = time.monotonic()
        self._writes.append((write, args, nonfinite))
        if len(self._writes) >= PENDING_MAX:
            self._do_writes()

    def _do_writes(self) -> None:
        writes, self._writes = self._writes, []
        if not self._pending:
            self.kept_since = None
        for write, args, nonfinite in writes:
            try:
                write(*args, nonfinite=nonfinite)
            except Exception as error:  # as when it fails right away: counted, and the next go on
                if self._on_failure is None:
                    raise
                self._on_failure(error)

    # -- the next chunks of an answer, without making their frames -----------------------
    @property
    def keeps_chunks(self) -> bool:
        """Whether chunk events wait to be recorded (:meth:`defer`)."""
        return bool(self._pending)

    def defers(self, event: Any) -> bool:
        """Whether ``event`` may be recorded later (:meth:`defer`): it is of the class of the last
        chunk, and nobody is delivered the run's frames as they come."""
        tail = self.tail
        return tail is not None and type(event) is tail.cls and not self.sinks and not self.finished

    def defer(self, event: Any) -> None:
        """Keep chunk ``event`` (published by CrewAI) to record with the next ones (under ``lock``).

        Recording a chunk right away costs two to three times what the same work costs on a
        batch of them (measured in a real run: 8.5 against 3.2 µs; bench/RESULTS.md), most
        likely because CrewAI's own work between two events leaves the recorder's code and
        state cold.  So the chunks of an answer are kept, up to :data:`PENDING_MAX`, and
        recorded in order (:meth:`settle`) before anything else of the run is: the run's next
        other event, a follower attaching, the run's end.  The recorder's writes for the other
        events (span starts, events, span ends) are kept the same way (:meth:`_write`).  The
        trace, the metrics and what any session sees are the same; the trace's token runs and
        frame packs were buffered already.
        """
        if self.kept_since is None:
            self.kept_since = time.monotonic()
        self._pending.append(event)
        if len(self._pending) >= PENDING_MAX:
            self.settle()

    def settle(self) -> None:
        """Do what :meth:`defer` and :meth:`_write` kept, in order: the recorder is then up to date."""
        with self.lock:
            self._do_writes()
            if self._pending and self._record_deferred is not None:
                pending, self._pending = self._pending, []
                self._record_deferred(self, pending)
                self._do_writes()
            self.kept_since = None

    def remember_chunk(self, event: Any, frame: StreamFrame) -> None:
        """After ``frame`` (``event``'s, a token chunk) was recorded: let the chunks that follow
        it in the same token run take :meth:`extend_chunks`."""
        self.tail = None
        tokens = self.recorder.open_tokens if self.recorder is not None else None
        if tokens is None or tokens.ids is None or tokens.last_id != frame.id:
            return  # not in a run of CrewAI-id tokens (a lone chunk, or content redacted)
        if event.__dict__.get("started_event_id") is None and namespace_from_fields(type(event)):
            self.tail = chunk_tail(event, frame, tokens)

    def extend_chunks(self, event: Any) -> bool:
        """Record ``event`` as the next chunk of the last one, if it is exactly that; else False
        (and nothing recorded: the caller takes the usual way).

        Its frame would be the tail frame's with the event's id, seq, timestamp and chunk (the
        reuse rule of ``chunks.py``); what :meth:`record` would then check and do for it is
        checked here on the event's fields, and done by appending to the open token run.  Only
        while the run has no session of its own (a session is delivered frames).
        """
        tail = self.tail
        if (
            tail is None
            or self.finished
            or self.sinks
            or self._writes  # the recorder is behind: the token run may be written already
            or not self.capture_content
            or type(event) is not tail.cls
        ):
            return False
        recorder = self.recorder
        fields = event.__dict__
        frame = tail.frame
        chunk = fields.get(CHUNK)
        frame_id = fields.get("event_id")
        seq = fields.get("emission_sequence")
        timestamp = fields.get("timestamp")
        if (
            recorder is None
            or type(chunk) is not str
            or type(frame_id) is not str
            or type(seq) is not int
            or not isinstance(timestamp, datetime)
            or timestamp.utcoffset()
            or fields.get("type") != frame.type
            or fields.get("parent_event_id") != frame.parent_id
            or fields.get("previous_event_id") != tail.tokens.last_id
            or fields.get("started_event_id") is not None  # a closing event (a field compared below too)
            or is_secret_key(CHUNK)
        ):
            return False
        values = tail.getter(fields)  # the other fields: equal, type for type (chunks.py's rule)
        if values != tail.values or tuple(map(type, values)) != tail.types:
            return False
        if may_hold_secret(chunk):
            chunk = redact_text(chunk)
        if not recorder.extend_tokens(tail.tokens, chunk, (timestamp - EPOCH) // ONE_US, frame_id, seq):
            return False
        self._last = frame  # stands in for this chunk's frame: equal data but the chunk
        return True

    def _closing_scope(self, kind: str, started_event_id: str | None) -> LifecycleSpan | None:
        if kind in TURN_ENDED:
            if self._turns:
                scope = self._turns.pop()
                self._scopes.pop(scope.opener_id or "", None)
                return scope
            return None
        if started_event_id is not None:
            return self._scopes.pop(started_event_id, None)
        return None

    def finish(self, reason: str | None = None) -> None:
        """End the run: spans still open end too (cancelled with ``reason`` when given)."""
        if self.finished:
            return
        self.settle()
        if self.finished:  # a kept event ended the run
            return
        self.finished = True
        self.tail = None
        recorder = self.recorder
        if recorder is not None:
            for scope in reversed(list(self._scopes.values())):
                if reason is not None:
                    recorder.abandon(scope, reason)
                elif scope.span is not None and not scope.ended:
                    # CrewAI left it open on purpose (a conversation's deferred flow scope)
                    recorder.end(scope)
            recorder.finish()
        self._scopes.clear()
        last = self._last
        follow.run_ended(self, last.data.get("result") if last is not None else None)
        self.processor.unregister(self)


def _ended(scope: LifecycleSpan) -> bool:
    return scope.ended


def _failure(kind: str, data: dict[str, Any]) -> BaseException | None:
    if not kind.endswith(_FAILED_SUFFIXES):
        return None
    message = data.get("error")
    return CrewAIReportedFailure(f"{kind}: {message}" if message else kind)


def current_run() -> CrewAIRun | None:
    """The run events emitted in this context belong to, while it goes on."""
    run = CURRENT_RUN.get()
    return run if run is not None and not run.finished else None


class RunTracker:
    """Finds the run an event belongs to (starting one when needed) and records into it."""

    def __init__(
        self,
        starting: frozenset[str],
        tracer_provider: Any = None,
        record_deferred: Callable[[CrewAIRun, list[Any]], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._starting = starting
        self._tracer_provider = tracer_provider
        self._record_deferred = record_deferred
        self._on_failure = on_failure
        self._active: set[CrewAIRun] = set()
        self._lock = threading.Lock()
        self._settler = Settler(self._going, on_failure)

    def run_for(self, frame: StreamFrame) -> CrewAIRun:
        """The current context's run, or a new one that ``frame`` starts."""
        run = current_run()
        if run is not None:
            return run
        runtime = get_telemetry_setup()
        if self._tracer_provider is not None:
            from framescope.integrations.crewai import __version__

            tracer: trace.Tracer | None = self._tracer_provider.get_tracer(
                "framescope.integrations.crewai", __version__
            )
        else:
            tracer = runtime.tracer
        attributes: dict[str, Any] = {"framescope.source": "crewai"}
        session_id = frame.data.get("session_id") if frame.type == TURN_STARTED else None
        if isinstance(session_id, str) and session_id:
            attributes["gen_ai.conversation.id"] = session_id
        run = CrewAIRun(tracer, runtime.processor, self._starting, attributes, self._record_deferred, self._on_failure)
        run.capture_content = runtime.capture_message_content
        runtime.processor.register(run)  # type: ignore[arg-type]  # a Run in all the processor uses
        follow.run_started(run)
        with self._lock:
            self._active.add(run)
        self._settler.start()
        CURRENT_RUN.set(run)
        return run

    def _going(self) -> list[CrewAIRun]:
        with self._lock:
            return list(self._active)

    def completed(self, run: CrewAIRun) -> None:
        run.finish()
        with self._lock:
            self._active.discard(run)
        if CURRENT_RUN.get() is run:
            CURRENT_RUN.set(None)

    def stop_all(self) -> None:
        """Uninstrumenting: every run still going ends now, its open spans marked as cut short."""
        self._settler.stop()
        with self._lock:
            runs, self._active = list(self._active), set()
        for run in runs:
            with run.lock:
                run.finish(UNINSTRUMENTED)
