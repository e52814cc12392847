"""The one emission path (ARCHITECTURE property 1): runs, ``emit`` and lifecycles.

Launching a run in its own thread with a session reading it is :mod:`framescope.telemetry.launch`.

Runtime code (flows, LLM calls, tools, conversation turns) creates frames only through
:func:`emit`, :func:`emit_token` and :func:`lifecycle`.  Each frame gets its envelope here,
in one place: id, contiguous ``seq``, ``previous_id``, ``parent_id``, channel (from the
routing table), namespace and timestamp.  It is then written into OpenTelemetry by the codec
and handed to the run's sessions by the ``FrameSpanProcessor``, in that order, under the
run's lock, so ``seq`` order, span-event order and delivery order are the same.

A *run* is the unit a session streams.  The current run and the current lifecycle live in
context variables, so concurrent runs in threads or tasks never see each other's frames.
"""

from __future__ import annotations

import contextvars
import logging
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from framescope.telemetry.config import TelemetrySetup, get_telemetry_setup
from framescope.telemetry.encode import RunRecorder
from framescope.telemetry.spans import LifecycleSpan
from framescope.types._feed import FrameQueue, FrameSink, StreamClosed
from framescope.types.content import strip_content
from framescope.types.payload import clean_text, json_safe_data
from framescope.types.redaction import redact_text
from framescope.types.routing import TOKEN_TYPES, channel_for
from framescope.types.streaming import StreamFrame, make_frame

_current_run: contextvars.ContextVar[Run | None] = contextvars.ContextVar("framescope_run", default=None)
_current_lifecycle: contextvars.ContextVar[LifecycleSpan | None] = contextvars.ContextVar(
    "framescope_lifecycle", default=None
)
#: Sessions opened inside a run (a nested ``stream_call``): views of the enclosing run that
#: also get the frames emitted in their own context, like CrewAI's context-scoped stream sinks.
_nested_sinks: contextvars.ContextVar[tuple[FrameQueue, ...]] = contextvars.ContextVar(
    "framescope_nested_sinks", default=()
)

_utc = UTC
_now = datetime.now
logger = logging.getLogger("framescope")

CANCELLED_REASON = "cancelled: the stream was closed by its consumer"


class Run:
    """One run: its frame counter, its recorder (when recording) and its sessions."""

    __slots__ = (
        "run_id",
        "_prefix",
        "_seq",
        "_last_id",
        "_lock",
        "sinks",
        "processor",
        "recorder",
        "trace_id",
        "capture",
        "__weakref__",
    )

    def __init__(
        self,
        runtime: TelemetrySetup,
        sinks: list[FrameSink] | None = None,
        *,
        parent_context: otel_context.Context | None = None,
        span_attributes: Mapping[str, Any] | None = None,
        links: list[trace.Link] | None = None,
    ) -> None:
        self.run_id = secrets.token_hex(8)
        self._prefix = self.run_id + "-"
        self._seq = 0
        self._last_id: str | None = None
        self._lock = threading.Lock()
        self.sinks = sinks or []
        self.processor = runtime.processor
        self.trace_id: str | None = None
        #: False with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=false (telemetry.content)
        self.capture = runtime.capture_message_content
        self.recorder: RunRecorder | None = None
        if runtime.tracer is not None:
            self.recorder = RunRecorder(
                self.run_id,
                runtime.tracer,
                parent_context if parent_context is not None else otel_context.get_current(),
                span_attributes,
                links,
            )
            self.recorder.capture_content = self.capture
        for sink in self.sinks:
            sink.run_id = self.run_id

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` when a consumer closes this run's session before the end.

        For code blocked outside any emit point (a network read) that must be interrupted from
        the consumer's side; it runs in the consumer's thread.  Returns an unregister function.
        """
        removers = [sink.add_close_callback(callback) for sink in self.sinks]

        def remove() -> None:
            for remover in removers:
                remover()

        return remove

    def set_trace_id(self, trace_id: str) -> None:
        self.trace_id = trace_id
        for sink in self.sinks:
            sink.trace_id = trace_id

    # -- the single place frames are made ----------------------------------------------
    def _make(self, type_: str, data: dict[str, Any], namespace: list[str], parent_id: str | None) -> StreamFrame:
        seq = self._seq
        self._seq = seq + 1
        frame_id = self._prefix + str(seq)
        frame = make_frame(
            frame_id,
            seq,
            type_,
            channel_for(type_),
            namespace,
            _now(_utc),
            parent_id,
            self._last_id,
            data,
        )
        self._last_id = frame_id
        return frame

    def emit(self, type_: str, data: dict[str, Any], scope: LifecycleSpan | None, namespace: list[str]) -> StreamFrame:
        if not self.capture and type_ not in TOKEN_TYPES:
            data = strip_content(data)
        with self._lock:
            frame = self._make(type_, data, namespace, scope.opener_id if scope else None)
            if self.recorder is not None:
                self._record(self.recorder.event, frame, scope)
            self._deliver(frame)
        return frame

    def token(self, type_: str, chunk: str, scope: LifecycleSpan | None) -> StreamFrame:
        """:meth:`emit` for a token frame (``data`` is ``{"chunk": chunk}``), the hot path."""
        with self._lock:
            if scope is None:
                frame = self._make(type_, {"chunk": chunk}, [], None)
            else:
                frame = self._make(type_, {"chunk": chunk}, scope.namespace, scope.opener_id)
            if self.recorder is not None:
                self._record(self.recorder.token, frame, scope)
            self._deliver(frame)
        return frame

    def open(self, type_: str, data: dict[str, Any], scope: LifecycleSpan) -> StreamFrame:
        if not self.capture:
            data = strip_content(data)
        parent = scope.parent
        with self._lock:
            frame = self._make(type_, data, scope.namespace, parent.opener_id if parent else None)
            scope.opener_id = frame.id
            if self.recorder is not None:
                self._record(self.recorder.open, frame, scope)
            self._deliver(frame)
        return frame

    def close(
        self, type_: str, data: dict[str, Any], scope: LifecycleSpan, error: BaseException | None = None
    ) -> StreamFrame:
        if not self.capture:
            data = strip_content(data)
        with self._lock:
            frame = self._make(type_, data, scope.namespace, scope.opener_id)
            if self.recorder is not None:
                self._record(self.recorder.close, frame, scope, error)
            self._deliver(frame)
        return frame

    def _deliver(self, frame: StreamFrame) -> None:
        """Hand a made (and recorded) frame to the live sessions: this run's own, through the
        processor, then those of enclosing runs a nested call streams into."""
        self.processor.on_frame(self, frame)
        for sink in _nested_sinks.get():
            sink.put(frame)

    def _record(self, write: Callable[..., None], frame: StreamFrame, *args: Any) -> None:
        """Write ``frame`` into the trace; a failure there never fails the run or costs the frame.

        The frame still reaches every live session (its ``seq`` is used, so there is no hole
        in the stream); the trace gets it with ``{"$unencodable": "<why>"}`` as its data (or,
        if even that fails, replay reports it missing), and the cause is logged.
        """
        try:
            write(frame, *args)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {redact_text(str(exc))}"[:300]
            logger.warning(
                "framescope could not record frame %s (%s) of run %s in the trace (%s); the live "
                "stream has it, the trace holds a placeholder",
                frame.seq,
                frame.type,
                self.run_id,
                reason,
            )
            if self.recorder is not None and write == self.recorder.event:
                try:
                    self.recorder.placeholder(frame, args[0], reason)
                except Exception:  # nothing more to do: replay reports the gap
                    pass

    def abandon(self, scope: LifecycleSpan, reason: str) -> None:
        if self.recorder is not None:
            with self._lock:
                self.recorder.abandon(scope, reason)

    def finish(self) -> None:
        if self.recorder is not None:
            with self._lock:
                self.recorder.finish()


# =========================================================================================
# Emitting
# =========================================================================================


def current_run() -> Run | None:
    """The run this context is inside, if any (a session opened here becomes a view of it)."""
    return _current_run.get()


def add_nested_sink(queue: FrameQueue) -> None:
    """From now on in this context, every frame of the current run is also put on ``queue``.

    For a session opened inside a run (:mod:`framescope.telemetry.launch`): it sees the frames
    its own call emits, while the enclosing sessions keep seeing them too.
    """
    _nested_sinks.set((*_nested_sinks.get(), queue))


def enter_run(run: Run) -> None:
    """Make ``run`` the current run, outside any lifecycle, in this (fresh) context.

    For the thread a launched run executes in (:mod:`framescope.telemetry.launch`); nothing
    resets it because the context dies with the thread.
    """
    _current_run.set(run)
    _current_lifecycle.set(None)


def emit(event_type: str, data: Mapping[str, Any] | Any = None, *, namespace: list[str] | None = None) -> StreamFrame:
    """Emit one event of the current run (outside any run it is recorded as its own run).

    ``data`` is made JSON-safe by the documented rule (docs/frames.md); the event's channel
    comes from the routing table, so unknown types are ``custom`` user events.
    """
    if not isinstance(event_type, str) or not event_type:
        raise ValueError(f"an event type must be a non-empty string, got {event_type!r}")
    event_type = clean_text(event_type)
    safe = json_safe_data(data)
    run = _current_run.get()
    if run is None:
        with current_or_new_run() as run:
            return _emit_in(run, event_type, safe, namespace)
    return _emit_in(run, event_type, safe, namespace)


def _emit_in(run: Run, event_type: str, data: dict[str, Any], namespace: list[str] | None) -> StreamFrame:
    scope = _current_lifecycle.get()
    if namespace is None:
        namespace = scope.namespace if scope is not None else []
    else:
        namespace = _check_namespace(namespace)
    return run.emit(event_type, data, scope, namespace)


def emit_token(event_type: str, chunk: str, extra: Mapping[str, Any] | None = None) -> StreamFrame:
    """The hot path for token frames: ``data`` is ``{"chunk": chunk, **extra}``.

    ``extra`` must already be JSON-safe (runtime code builds it from plain values).
    """
    if type(chunk) is not str and not isinstance(chunk, str):
        raise TypeError(f"a token chunk must be a str, got {type(chunk).__name__}")
    if not chunk.isascii():
        chunk = clean_text(chunk)
    run = _current_run.get()
    if run is None:
        return emit(event_type, {"chunk": chunk, **(extra or {})})
    scope = _current_lifecycle.get()
    if not extra:
        return run.token(event_type, chunk, scope)
    data = {"chunk": chunk}
    data.update(extra)
    return run.emit(event_type, data, scope, scope.namespace if scope is not None else [])


def token_emitter() -> Callable[[str, str], StreamFrame]:
    """:func:`emit_token` for a hot loop inside one lifecycle (an LLM round's deltas).

    The current run and lifecycle are looked up once, here, instead of at every token; the
    returned function takes ``(event_type, chunk)``.  Use it only while that lifecycle is open.
    """
    run = _current_run.get()
    if run is None:
        return emit_token
    scope = _current_lifecycle.get()
    make = run.token

    def emit_bound(event_type: str, chunk: str) -> StreamFrame:
        if type(chunk) is not str and not isinstance(chunk, str):
            raise TypeError(f"a token chunk must be a str, got {type(chunk).__name__}")
        if not chunk.isascii():
            chunk = clean_text(chunk)
        return make(event_type, chunk, scope)

    return emit_bound


def _check_namespace(namespace: Any) -> list[str]:
    if not isinstance(namespace, (list, tuple)) or not all(isinstance(p, str) for p in namespace):
        raise ValueError(f"a namespace must be a list of strings, got {namespace!r}")
    return [clean_text(part) for part in namespace]


class Lifecycle:
    """An open lifecycle (started → finished/failed); fill ``data`` for the closing frame."""

    __slots__ = ("run", "scope", "frame", "data", "closing_type")

    def __init__(self, run: Run, scope: LifecycleSpan, frame: StreamFrame) -> None:
        self.run = run
        self.scope = scope
        self.frame = frame
        self.data: dict[str, Any] = {}
        self.closing_type: str | None = None

    def close_as(self, event_type: str) -> None:
        """End this lifecycle with ``event_type`` instead of its ``finished`` type.

        For outcomes that are neither a success nor a failure, such as a flow pausing for
        human input (``flow_paused``).  The type must route to the same channel as the opener,
        so a lifecycle never closes on another channel than it opened.
        """
        if channel_for(event_type) != self.frame.channel:
            raise ValueError(
                f"a {self.frame.type!r} lifecycle opened on the {self.frame.channel!r} channel cannot close as "
                f"{event_type!r}, which routes to {channel_for(event_type)!r}"
            )
        self.closing_type = event_type

    @property
    def id(self) -> str:
        return self.frame.id

    @property
    def span(self) -> trace.Span | None:
        return self.scope.span


@contextmanager
def lifecycle(
    started: str,
    data: Mapping[str, Any] | None = None,
    *,
    finished: str,
    failed: str,
    namespace: list[str] | None = None,
) -> Iterator[Lifecycle]:
    """Open a lifecycle: a ``started`` frame now, ``finished`` or ``failed`` at the end.

    The lifecycle is a span; frames emitted inside have its opener as ``parent_id``.  On an
    exception the ``failed`` frame carries ``error``/``error_type`` and the span is marked as
    an error; if the consumer closed the stream, the span ends as cancelled and no more
    frames are emitted.  The body may put the closing frame's payload into ``handle.data``.
    """
    run = _current_run.get()
    if run is None:
        with (
            current_or_new_run(),
            lifecycle(started, data, finished=finished, failed=failed, namespace=namespace) as handle,
        ):
            yield handle
        return
    parent = _current_lifecycle.get()
    if namespace is None:
        namespace = parent.namespace if parent is not None else []
    else:
        namespace = _check_namespace(namespace)
    scope = LifecycleSpan(None, namespace, parent)
    frame = run.open(started, json_safe_data(data), scope)
    scope_token = _current_lifecycle.set(scope)
    otel_token = otel_context.attach(trace.set_span_in_context(scope.span)) if scope.span else None
    handle = Lifecycle(run, scope, frame)
    try:
        yield handle
    except StreamClosed:
        run.abandon(scope, CANCELLED_REASON)
        raise
    except BaseException as exc:
        payload = json_safe_data(handle.data)
        payload["error"] = _error_text(exc)
        payload["error_type"] = type(exc).__name__
        try:
            run.close(failed, payload, scope, exc)
        except StreamClosed:
            run.abandon(scope, CANCELLED_REASON)
        raise
    else:
        try:
            run.close(handle.closing_type or finished, json_safe_data(handle.data), scope)
        except StreamClosed:
            run.abandon(scope, CANCELLED_REASON)
            raise
    finally:
        if otel_token is not None:
            otel_context.detach(otel_token)
        _current_lifecycle.reset(scope_token)


def _error_text(exc: BaseException) -> str:
    """The message of ``exc`` as a frame records it: secrets redacted, never raising."""
    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not replace the real failure
        text = ""
    return redact_text(clean_text(text)) or type(exc).__name__


@contextmanager
def current_or_new_run(
    *,
    parent_context: otel_context.Context | None = None,
    span_attributes: Mapping[str, Any] | None = None,
    links: list[trace.Link] | None = None,
) -> Iterator[Run]:
    """The current run, or a new run (with no live session) for the duration of the block.

    ``links`` go on the run's first span (for instance a resumed run linking to the run it
    resumes); ``span_attributes`` on every span of the run.
    """
    existing = _current_run.get()
    if existing is not None:
        yield existing
        return
    runtime = get_telemetry_setup()
    run = Run(runtime, parent_context=parent_context, span_attributes=span_attributes, links=links)
    runtime.processor.register(run)
    token = _current_run.set(run)
    scope_token = _current_lifecycle.set(None)
    try:
        yield run
    finally:
        _current_lifecycle.reset(scope_token)
        _current_run.reset(token)
        run.finish()
        runtime.processor.unregister(run)
