"""The one mapping between frames and OpenTelemetry, both ways (ARCHITECTURE properties 2–4).

Encoding (live): a lifecycle becomes a span, every frame becomes a span event on the span of
the lifecycle it belongs to, ``parent_id`` follows the span tree and a ``previous_id`` that
crosses to another span becomes a span link.  Decoding (replay) reads the same attributes
back from :class:`~framescope.telemetry.records.SpanRecord` s, whatever backend they came
through.

What makes it lossless and small (docs/codec.md has the full table):

* Every frame event carries its run-local ordinal in ``framescope.seq``; order is rebuilt
  from it, never from event order or timestamps (Jaeger and Tempo reorder events).
* Whatever can be derived is not written: a frame's id is ``{run_id}-{ordinal}``, its
  ``previous_id`` the id of the frame before, its ``parent_id`` the opener of its span, its
  channel the routing table's, its namespace the span's.  Only a frame that differs carries
  the field explicitly, so arbitrary frames still round-trip exactly.
* Runs of token frames (``llm_stream_chunk``/``llm_thinking_chunk``) on one span become one
  event per up to 512 tokens: the chunks as a JSON array plus microsecond time deltas.  A
  10,000-token answer is 20 events, about 12 bytes a token, far from the SDK's 128-event cap.
* When a span's event budget is nearly spent, further frames are packed into one
  ``framescope.batch`` event at span end instead of being dropped by the SDK.
* Every value is a string, bool or int (no arrays), because Jaeger v1 turns arrays into
  strings and Tempo int64 into strings; timestamps are whole microseconds, which is all a
  ``datetime`` holds and all Jaeger v1 keeps.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from framescope.events.routing import TOKEN_TYPES, channel_for
from framescope.telemetry import semconv
from framescope.telemetry.jsonsafe import dumps
from framescope.telemetry.records import EventRecord, SpanRecord
from framescope.types.streaming import StreamFrame, make_frame

logger = logging.getLogger("framescope.codec")

# -- attribute keys (the wire format; changing one is a format change) ----------------------
RUN_ID = "framescope.run.id"
SPAN_NAMESPACE = "framescope.namespace"
CANCELLED = "framescope.cancelled"
SEQ = "framescope.seq"
OPEN = "framescope.open"
FRAME_ID = "framescope.id"
SEQ_VALUE = "framescope.seq_value"
PREVIOUS_ID = "framescope.previous_id"
PARENT_ID = "framescope.parent_id"
CHANNEL = "framescope.channel"
NAMESPACE = "framescope.frame.namespace"
TZ_OFFSET_US = "framescope.tz_offset_us"
DATA = "framescope.data"
TYPE = "framescope.type"
COUNT = "framescope.count"
CHUNKS = "framescope.chunks"
DELTAS_US = "framescope.dt_us"
IDS = "framescope.ids"
FRAMES = "framescope.frames"
BATCH_EVENT = "framescope.batch"
LINK_RELATION = "framescope.link.relation"
LINK_PREVIOUS = "previous_frame"
FORMAT_VERSION = "framescope.format"
FORMAT = 1

TOKEN_RUN_MAX = 512
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def to_unix_us(timestamp: datetime) -> int:
    """Exact integer microseconds since the epoch (no float rounding)."""
    return (timestamp - _EPOCH) // _US


def from_unix_us(us: int, offset_us: int = 0) -> datetime:
    value = _EPOCH + timedelta(microseconds=us)
    if offset_us:
        return value.astimezone(timezone(timedelta(microseconds=offset_us)))
    return value


def frame_id(run_id: str, ordinal: int) -> str:
    """The id the emit path gives frame ``ordinal`` of run ``run_id`` (derived, never stored)."""
    return f"{run_id}-{ordinal}"


# =========================================================================================
# Encoding
# =========================================================================================


class Scope:
    """An open lifecycle of a run: its opener frame, namespace and (when recording) span."""

    __slots__ = (
        "opener_id",
        "namespace",
        "parent",
        "span",
        "otel_parent",
        "events",
        "max_events",
        "links",
        "max_links",
        "overflow",
        "ended",
    )

    def __init__(self, opener_id: str | None, namespace: list[str], parent: Scope | None) -> None:
        self.opener_id = opener_id
        self.namespace = namespace
        self.parent = parent
        self.span: trace.Span | None = None
        self.otel_parent: Scope | None = None
        self.events = 0
        self.max_events: float = math.inf
        self.links = 0
        self.max_links: float = math.inf
        self.overflow: list[list[Any]] | None = None
        self.ended = False


class _TokenRun:
    __slots__ = (
        "scope", "type", "rest", "rest_json", "first", "chunks", "times_us",
        "ids", "first_seq", "first_previous", "next_seq", "last_id",
    )

    def __init__(self, scope: Scope, type_: str, rest: dict[str, Any], rest_json: str, first: int):
        self.scope = scope
        self.type = type_
        self.rest = rest
        self.rest_json = rest_json
        self.first = first
        self.chunks: list[str] = []
        self.times_us: list[int] = []
        # Frames whose envelope is not derivable (another runtime's ids, e.g. CrewAI's) still
        # form a run when their ids chain and their seq counts up: the ids are then stored.
        self.ids: list[str] | None = None
        self.first_seq: int = first
        self.first_previous: str | None = None
        self.next_seq: int = first
        self.last_id: str | None = None


class RunRecorder:
    """Writes one run's frames into OpenTelemetry spans and events, in emit order.

    The run calls it under its own lock, so the recorder itself is not thread-safe.
    """

    def __init__(
        self,
        run_id: str,
        tracer: trace.Tracer,
        parent_context: otel_context.Context | None = None,
        span_attributes: Mapping[str, Any] | None = None,
        links: list[Link] | None = None,
    ) -> None:
        self.run_id = run_id
        self._run_links = list(links or [])
        self._prefix = run_id + "-"
        self._tracer = tracer
        self._parent_context = parent_context
        self._extra_span_attributes = dict(span_attributes or {})
        self._count = 0
        self._root: Scope | None = None  # the run's first top-level span: keeps one run one trace
        self._lazy_root: Scope | None = None
        self._last_scope: Scope | None = None
        self._tokens: _TokenRun | None = None

    # -- public operations -----------------------------------------------------------
    def open(self, frame: StreamFrame, scope: Scope) -> None:
        """Start ``scope``'s span with ``frame`` (its opener) as the first event."""
        self._flush_tokens()
        ordinal = self._next()
        otel_parent = scope.parent if scope.parent is not None else self._root
        scope.otel_parent = otel_parent
        if otel_parent is not None and otel_parent.span is not None:
            parent_ctx = trace.set_span_in_context(otel_parent.span)
        else:
            parent_ctx = self._parent_context
        attributes = semconv.opener_attributes(frame.type, frame.data)
        attributes[RUN_ID] = self.run_id
        attributes[FORMAT_VERSION] = FORMAT
        if scope.namespace:
            attributes[SPAN_NAMESPACE] = dumps(scope.namespace)
        attributes.update(self._extra_span_attributes)
        links: list[Link] = []
        if self._root is None and self._run_links:
            links.extend(self._run_links)  # e.g. a resumed run pointing at the run it resumes
        last = self._last_scope
        if last is not None and last is not otel_parent and last.span is not None:
            links.append(Link(last.span.get_span_context(), {LINK_RELATION: LINK_PREVIOUS}))
        span = self._tracer.start_span(
            semconv.span_name(frame.type, frame.data),
            context=parent_ctx,
            kind=semconv.SPAN_KINDS.get(frame.type, SpanKind.INTERNAL),
            attributes=attributes,
            links=links or None,
            start_time=to_unix_us(frame.timestamp) * 1000,
        )
        scope.span = span
        limits = getattr(span, "_limits", None)
        if limits is not None:
            scope.max_events = _limit(limits.max_events)
            scope.max_links = _limit(limits.max_links)
        scope.links = len(links)
        if self._root is None and scope.parent is None:
            self._root = scope
        expected_parent = otel_parent.opener_id if otel_parent is not None else None
        self._add(scope, frame.type, frame, ordinal, expected_parent, opener=True)
        self._last_scope = scope

    def event(self, frame: StreamFrame, scope: Scope | None) -> None:
        """Record a frame inside ``scope`` (or on the run's own span when outside any)."""
        if scope is None:
            scope = self._run_span_scope(frame)
        if frame.type in TOKEN_TYPES and self._try_token(frame, scope):
            return
        self._flush_tokens()
        ordinal = self._next()
        self._link_if_crossing(scope)
        self._add(scope, frame.type, frame, ordinal, scope.opener_id, opener=False)
        self._last_scope = scope

    def close(
        self, frame: StreamFrame, scope: Scope, error: BaseException | None = None
    ) -> None:
        """Record the closing frame of ``scope`` and end its span."""
        self.event(frame, scope)
        self._flush_tokens()
        span = scope.span
        if span is None:
            return
        span.set_attributes(semconv.closer_attributes(frame.type, frame.data))
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            span.record_exception(error)
        self._end(scope, to_unix_us(frame.timestamp) * 1000)

    def abandon(self, scope: Scope, reason: str) -> None:
        """End ``scope``'s span without a closing frame (the consumer closed the stream)."""
        self._flush_tokens()
        span = scope.span
        if span is None or scope.ended:
            return
        span.set_attribute(CANCELLED, True)
        span.set_status(Status(StatusCode.ERROR, reason))
        self._end(scope, None)

    def finish(self) -> None:
        """The run is over: flush buffered tokens and end the run's own span if it has one."""
        self._flush_tokens()
        if self._lazy_root is not None and not self._lazy_root.ended:
            self._end(self._lazy_root, None)

    @property
    def trace_id(self) -> str | None:
        root = self._root or self._lazy_root
        if root is None or root.span is None:
            return None
        return format(root.span.get_span_context().trace_id, "032x")

    # -- internals -------------------------------------------------------------------
    def _next(self) -> int:
        ordinal = self._count
        self._count = ordinal + 1
        return ordinal

    def _run_span_scope(self, frame: StreamFrame) -> Scope:
        """Frames emitted outside any lifecycle live on one lazily created run span."""
        scope = self._lazy_root
        if scope is None or scope.ended:
            scope = Scope(None, [], None)
            parent = self._root
            ctx = trace.set_span_in_context(parent.span) if parent and parent.span else self._parent_context
            attributes: dict[str, Any] = {RUN_ID: self.run_id, FORMAT_VERSION: FORMAT}
            attributes.update(self._extra_span_attributes)
            run_links = self._run_links if parent is None else []
            scope.span = self._tracer.start_span(
                "framescope.run",
                context=ctx,
                attributes=attributes,
                links=run_links or None,
                start_time=to_unix_us(frame.timestamp) * 1000,
            )
            scope.otel_parent = parent
            limits = getattr(scope.span, "_limits", None)
            if limits is not None:
                scope.max_events = _limit(limits.max_events)
                scope.max_links = _limit(limits.max_links)
            self._lazy_root = scope
            if self._root is None:
                self._root = scope
        return scope

    def _link_if_crossing(self, scope: Scope) -> None:
        last = self._last_scope
        if last is None or last is scope or last.span is None or scope.span is None:
            return
        if scope.links >= scope.max_links - 1:
            return
        add_link = getattr(scope.span, "add_link", None)
        if add_link is not None:
            add_link(last.span.get_span_context(), {LINK_RELATION: LINK_PREVIOUS})
            scope.links += 1

    def _add(
        self,
        scope: Scope,
        name: str,
        frame: StreamFrame,
        ordinal: int,
        expected_parent: str | None,
        *,
        opener: bool,
    ) -> None:
        attributes: dict[str, Any] = {SEQ: ordinal}
        if opener:
            attributes[OPEN] = True
        if frame.seq != ordinal:
            attributes[SEQ_VALUE] = dumps(frame.seq)
        if frame.id != self._prefix + str(ordinal):
            attributes[FRAME_ID] = frame.id
        expected_previous = self._prefix + str(ordinal - 1) if ordinal else None
        if frame.previous_id != expected_previous:
            attributes[PREVIOUS_ID] = dumps(frame.previous_id)
        if frame.parent_id != expected_parent:
            attributes[PARENT_ID] = dumps(frame.parent_id)
        if frame.channel != channel_for(frame.type):
            attributes[CHANNEL] = frame.channel
        if frame.namespace != scope.namespace:
            attributes[NAMESPACE] = dumps(frame.namespace)
        offset = frame.timestamp.utcoffset()
        if offset:
            attributes[TZ_OFFSET_US] = offset // _US
        if frame.data:
            attributes[DATA] = dumps(frame.data)
        if not name.isascii() and not _utf8_clean(name):
            attributes[TYPE] = dumps(name)
            name = "framescope.frame"
        self._write_event(scope, name, to_unix_us(frame.timestamp) * 1000, attributes)

    def _write_event(self, scope: Scope, name: str, time_ns: int, attributes: dict[str, Any]) -> None:
        span = scope.span
        if span is None:
            return
        # Two slots stay free: one for the batch event, one for a recorded exception.
        if scope.overflow is not None or scope.events >= scope.max_events - 2:
            if scope.overflow is None:
                scope.overflow = []
            scope.overflow.append([name, time_ns, attributes])
            return
        span.add_event(name, attributes, timestamp=time_ns)
        scope.events += 1

    def _end(self, scope: Scope, end_ns: int | None) -> None:
        span = scope.span
        if span is None or scope.ended:
            return
        if scope.overflow:
            packed = scope.overflow
            scope.overflow = None
            span.add_event(BATCH_EVENT, {FRAMES: dumps(packed)}, timestamp=packed[0][1])
            scope.events += 1
        scope.ended = True
        span.end(end_time=end_ns)

    # -- token runs ------------------------------------------------------------------
    def _try_token(self, frame: StreamFrame, scope: Scope) -> bool:
        data = frame.data
        chunk = data.get("chunk")
        if not isinstance(chunk, str):
            return False
        if (
            frame.parent_id != scope.opener_id
            or frame.namespace != scope.namespace
            or frame.channel != channel_for(frame.type)
            or frame.timestamp.utcoffset()
        ):
            return False
        ordinal = self._count
        prefix = self._prefix
        seq = frame.seq
        derived = (
            seq == ordinal
            and frame.id == prefix + str(ordinal)
            and frame.previous_id == (prefix + str(ordinal - 1) if ordinal else None)
        )
        if not derived and (not isinstance(seq, int) or isinstance(seq, bool)):
            return False
        run = self._tokens
        if len(data) == 1:
            rest: dict[str, Any] = {}
        else:
            rest = {k: v for k, v in data.items() if k != "chunk"}
        if (
            run is None
            or run.scope is not scope
            or run.type != frame.type
            or run.rest != rest
            or len(run.chunks) >= TOKEN_RUN_MAX
            or (run.ids is None) != derived
            or (run.ids is not None and (seq != run.next_seq or frame.previous_id != run.last_id))
        ):
            self._flush_tokens()
            self._link_if_crossing(scope)
            run = self._tokens = _TokenRun(scope, frame.type, rest, dumps(rest) if rest else "", ordinal)
            if not derived:
                assert isinstance(seq, int)
                run.ids = []
                run.first_seq = seq
                run.first_previous = frame.previous_id
            self._last_scope = scope
        run.chunks.append(chunk)
        run.times_us.append(to_unix_us(frame.timestamp))
        if run.ids is not None:
            assert isinstance(seq, int)
            run.ids.append(frame.id)
            run.next_seq = seq + 1
            run.last_id = frame.id
        self._count = ordinal + 1
        return True

    def _flush_tokens(self) -> None:
        run = self._tokens
        if run is None:
            return
        self._tokens = None
        times = run.times_us
        attributes: dict[str, Any] = {SEQ: run.first, COUNT: len(run.chunks), CHUNKS: dumps(run.chunks)}
        if len(times) > 1:
            attributes[DELTAS_US] = dumps([b - a for a, b in pairwise(times)])
        if run.rest_json:
            attributes[DATA] = run.rest_json
        if run.ids is not None:
            attributes[IDS] = dumps(run.ids)
            if run.first_seq != run.first:
                attributes[SEQ_VALUE] = dumps(run.first_seq)
            expected_previous = self._prefix + str(run.first - 1) if run.first else None
            if run.first_previous != expected_previous:
                attributes[PREVIOUS_ID] = dumps(run.first_previous)
        self._write_event(run.scope, run.type, times[0] * 1000, attributes)


def _limit(value: int | None) -> float:
    return math.inf if value is None else float(value)


def _utf8_clean(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# =========================================================================================
# Decoding
# =========================================================================================


@dataclass
class DecodedRun:
    """One run's frames as rebuilt from its spans, with what could not be rebuilt."""

    run_id: str
    trace_ids: list[str]
    frames: list[StreamFrame]
    #: ``(first, last)`` inclusive ranges of ordinals missing from the trace.
    gaps: list[tuple[int, int]] = field(default_factory=list)
    #: spans that ended without a closing frame because the consumer closed the stream.
    cancelled: bool = False
    failed: bool = False

    @property
    def complete(self) -> bool:
        return not self.gaps

    @property
    def started_at(self) -> datetime | None:
        return self.frames[0].timestamp if self.frames else None

    @property
    def result(self) -> Any:
        """The run's result as its last frame carries it (closing frames hold ``result``)."""
        if not self.frames:
            return None
        return self.frames[-1].data.get("result")


class FrameDecodeError(ValueError):
    """A span event claims to be a framescope frame but cannot be read as one."""


def decode_runs(spans: Iterable[SpanRecord]) -> list[DecodedRun]:
    """Every framescope run found in ``spans``, oldest first; non-framescope spans are ignored."""
    by_run: dict[str, list[SpanRecord]] = {}
    for span in spans:
        run_id = span.attributes.get(RUN_ID)
        if isinstance(run_id, str):
            by_run.setdefault(run_id, []).append(span)
    runs = [_decode_run(run_id, run_spans) for run_id, run_spans in by_run.items()]
    runs.sort(key=lambda run: (run.started_at is None, run.started_at or _EPOCH))
    return runs


def _decode_run(run_id: str, spans: list[SpanRecord]) -> DecodedRun:
    prefix = run_id + "-"
    by_id = {span.span_id: span for span in spans}
    openers: dict[str, str] = {}
    for span in spans:
        for event in span.events:
            attrs = event.attributes
            if _truthy(attrs.get(OPEN)):
                ordinal = _int(attrs.get(SEQ), span, event)
                explicit = attrs.get(FRAME_ID)
                openers[span.span_id] = explicit if isinstance(explicit, str) else prefix + str(ordinal)
                break
    decoded: dict[int, StreamFrame] = {}
    cancelled = failed = False
    for span in spans:
        if _truthy(span.attributes.get(CANCELLED)):
            cancelled = True
        elif span.status_code == "ERROR":
            failed = True
        namespace = _json(span.attributes.get(SPAN_NAMESPACE), span, None) if SPAN_NAMESPACE in span.attributes else []
        opener = openers.get(span.span_id)
        parent_span = by_id.get(span.parent_span_id) if span.parent_span_id else None
        parent_opener = openers.get(parent_span.span_id) if parent_span is not None else None
        context = _SpanContext(prefix, namespace, opener, parent_opener)
        for event in span.events:
            attrs = event.attributes
            if SEQ in attrs:
                _decode_event(context, event.name, event.time_unix_nano, attrs, decoded, span, event)
            elif event.name == BATCH_EVENT and FRAMES in attrs:
                for name, time_ns, packed in _json(attrs[FRAMES], span, event):
                    _decode_event(context, name, int(time_ns), packed, decoded, span, event)
    ordered = [decoded[key] for key in sorted(decoded)]
    gaps: list[tuple[int, int]] = []
    expected = 0
    for ordinal in sorted(decoded):
        if ordinal > expected:
            gaps.append((expected, ordinal - 1))
        expected = ordinal + 1
    trace_ids = sorted({span.trace_id for span in spans})
    return DecodedRun(run_id, trace_ids, ordered, gaps, cancelled=cancelled, failed=failed)


@dataclass(slots=True)
class _SpanContext:
    prefix: str
    namespace: list[str]
    opener: str | None
    parent_opener: str | None


def _decode_event(
    ctx: _SpanContext,
    name: str,
    time_ns: int,
    attrs: Mapping[str, Any],
    out: dict[int, StreamFrame],
    span: SpanRecord,
    event: EventRecord,
) -> None:
    prefix = ctx.prefix
    first = _int(attrs.get(SEQ), span, event)
    data_json = attrs.get(DATA)
    if len(attrs) == (2 if data_json is not None else 1):
        # The common case: an event frame whose envelope is all derived (seq, maybe data).
        out[first] = make_frame(
            prefix + str(first), first, name, channel_for(name), ctx.namespace,
            _EPOCH + timedelta(microseconds=time_ns // 1000), ctx.opener,
            prefix + str(first - 1) if first else None,
            _json(data_json, span, event) if data_json else {},
        )
        return
    frame_type = _json(attrs[TYPE], span, event) if TYPE in attrs else name
    if COUNT in attrs:
        count = _int(attrs[COUNT], span, event)
        chunks = _json(attrs.get(CHUNKS, "[]"), span, event)
        deltas = _json(attrs[DELTAS_US], span, event) if DELTAS_US in attrs else []
        if len(chunks) != count or len(deltas) != max(0, count - 1):
            raise FrameDecodeError(
                f"span {span.span_id} event {name!r} at seq {first}: token run says "
                f"{count} tokens but holds {len(chunks)} chunks and {len(deltas)} time deltas; "
                "the trace was truncated or edited"
            )
        rest = _json(data_json, span, event) if data_json else None
        channel = channel_for(frame_type)
        namespace = ctx.namespace
        opener_id = ctx.opener
        us = time_ns // 1000
        previous = _json(attrs[PREVIOUS_ID], span, event) if PREVIOUS_ID in attrs else (
            prefix + str(first - 1) if first else None
        )
        ids = _json(attrs[IDS], span, event) if IDS in attrs else None
        if ids is not None and (not isinstance(ids, list) or len(ids) != count):
            raise FrameDecodeError(
                f"span {span.span_id} event {name!r} at seq {first}: token run says {count} tokens "
                "but its ids do not match; the trace was truncated or edited"
            )
        seq_base = _int(_json(attrs[SEQ_VALUE], span, event), span, event) if SEQ_VALUE in attrs else first
        ordinal = first
        for index, chunk in enumerate(chunks):
            if index:
                us += deltas[index - 1]
            current = ids[index] if ids is not None else prefix + str(ordinal)
            if rest is None:
                data = {"chunk": chunk}
            else:
                data = dict(rest)
                data["chunk"] = chunk
            out[ordinal] = make_frame(
                current, seq_base + index, frame_type, channel, namespace, _EPOCH + timedelta(microseconds=us),
                opener_id, previous, data,
            )
            previous = current
            ordinal += 1
        return
    opener = _truthy(attrs.get(OPEN))
    ordinal = first
    out[ordinal] = make_frame(
        attrs[FRAME_ID] if FRAME_ID in attrs else prefix + str(ordinal),
        _json(attrs[SEQ_VALUE], span, event) if SEQ_VALUE in attrs else ordinal,
        frame_type,
        attrs[CHANNEL] if CHANNEL in attrs else channel_for(frame_type),
        _json(attrs[NAMESPACE], span, event) if NAMESPACE in attrs else ctx.namespace,
        from_unix_us(time_ns // 1000, _int(attrs.get(TZ_OFFSET_US, 0), span, event)),
        _json(attrs[PARENT_ID], span, event)
        if PARENT_ID in attrs
        else (ctx.parent_opener if opener else ctx.opener),
        _json(attrs[PREVIOUS_ID], span, event)
        if PREVIOUS_ID in attrs
        else (prefix + str(ordinal - 1) if ordinal else None),
        _json(data_json, span, event) if data_json else {},
    )


def _truthy(value: Any) -> bool:
    return value is True or value == "true" or value == 1


def _int(value: Any, span: SpanRecord, event: EventRecord | None) -> int:
    if isinstance(value, bool):
        raise _bad(span, event, f"expected an integer, found {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _bad(span, event, f"expected an integer, found {value!r}")


_raw_decode = json.JSONDecoder().raw_decode


def _json(value: Any, span: SpanRecord, event: EventRecord | None) -> Any:
    if not isinstance(value, str):
        raise _bad(span, event, f"expected a JSON string, found {type(value).__name__}")
    try:
        # raw_decode skips json.loads' two whitespace scans: the codec writes compact JSON.
        decoded, end = _raw_decode(value)
        if end != len(value):
            raise ValueError(f"extra data at character {end}")
        return decoded
    except ValueError as exc:
        raise _bad(span, event, f"invalid JSON ({exc}); the value may have been truncated "
                   "by an attribute length limit") from None


def _bad(span: SpanRecord, event: EventRecord | None, what: str) -> FrameDecodeError:
    where = f"span {span.span_id} ({span.name!r})"
    if event is not None:
        where += f", event {event.name!r}"
    return FrameDecodeError(f"cannot decode the framescope frame in {where}: {what}")
