"""Encoding frames into OpenTelemetry (live): the writing half of the codec.

A lifecycle becomes a span, every frame becomes a span event on the span of
the lifecycle it belongs to, ``parent_id`` follows the span tree and a ``previous_id`` that
crosses to another span becomes a span link.  Decoding (replay) reads the same attributes
back from :class:`~framescope.replay.records.SpanRecord` s, whatever backend they came
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
* Every other frame after a span's opener joins the span's *frame pack*
  (:mod:`framescope.telemetry.frame_pack`): the pack rides on the span's closing event, or is
  its own event when full (64 frames or 2,000 bytes) or when the span ends without a closing
  frame.  A frame as its own SDK event cost 7-20 us; a packed frame costs about 2.  Openers and
  closers stay readable events of their own, so a span in Jaeger still shows how its lifecycle
  started and ended.
* When a span's event budget is nearly spent, further frames are packed into one
  ``framescope.batch`` event at span end instead of being dropped by the SDK.
* Every value is a string, bool or int (no arrays), because Jaeger v1 turns arrays into
  strings and Tempo int64 into strings; timestamps are whole microseconds, which is all a
  ``datetime`` holds and all Jaeger v1 keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from itertools import pairwise
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from framescope.telemetry import semconv
from framescope.telemetry.errors_recording import record_error
from framescope.telemetry.frame_pack import FramePack, entry_tail, json_text
from framescope.telemetry.spans import LifecycleSpan, TokenRun, span_limits
from framescope.telemetry.wire import (
    BATCH_EVENT,
    CANCELLED,
    CHANNEL,
    CHUNKS,
    COUNT,
    DATA,
    DELTAS_US,
    FORMAT,
    FORMAT_VERSION,
    FRAME_ID,
    FRAMES,
    IDS,
    LINK_PREVIOUS,
    LINK_RELATION,
    NAMESPACE,
    ONE_US,
    OPEN,
    PACK,
    PACK_EVENT,
    PARENT_ID,
    PREVIOUS_ID,
    RUN_ID,
    SEQ,
    SEQ_VALUE,
    SPAN_NAMESPACE,
    TOKEN_RUN_MAX,
    TYPE,
    TZ_OFFSET_US,
    to_unix_us,
    utf8_clean,
)
from framescope.types.payload import dumps
from framescope.types.routing import TOKEN_TYPES, channel_for
from framescope.types.streaming import StreamFrame


class RunRecorder:
    """Writes one run's frames into OpenTelemetry spans and events, in emit order.

    The run calls it under its own lock, so the recorder itself is not thread-safe.  Writing a
    frame, ``nonfinite=True`` says its data may hold NaN or ±Infinity, which framescope's own
    frames never do (the emit rule) but another runtime's may: the standard library writes
    that data (it keeps them), orjson the rest.
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
        self._root: LifecycleSpan | None = None  # the run's first top-level span: keeps one run one trace
        self._lazy_root: LifecycleSpan | None = None
        self._last_scope: LifecycleSpan | None = None
        self._tokens: TokenRun | None = None
        #: False with content capture off: exceptions are recorded by type only.
        self.capture_content = True

    # -- public operations -----------------------------------------------------------
    def open(self, frame: StreamFrame, scope: LifecycleSpan, *, nonfinite: bool = False) -> None:
        """Start ``scope``'s span with ``frame`` (its opener) as the first event."""
        self._flush_tokens()
        ordinal = self._next()
        otel_parent = scope.parent if scope.parent is not None else self._root
        previous_link: list[Link] = []
        last = self._last_scope
        if last is not None and last is not otel_parent and last.span is not None:
            previous_link.append(Link(last.span.get_span_context(), {LINK_RELATION: LINK_PREVIOUS}))
        self._start_span(
            scope,
            otel_parent,
            semconv.span_name(frame.type, frame.data),
            semconv.SPAN_KINDS.get(frame.type, SpanKind.INTERNAL),
            semconv.opener_attributes(frame.type, frame.data),
            previous_link,
            frame.timestamp,
        )
        expected_parent = otel_parent.opener_id if otel_parent is not None else None
        self._add(scope, frame.type, frame, ordinal, expected_parent, opener=True, nonfinite=nonfinite)
        self._last_scope = scope

    def event(self, frame: StreamFrame, scope: LifecycleSpan | None, *, nonfinite: bool = False) -> None:
        """Record a frame inside ``scope`` (or on the run's own span when outside any)."""
        if scope is None:
            scope = self._run_span_scope(frame)
        if frame.type in TOKEN_TYPES and self._try_token(frame, scope):
            return
        self._flush_tokens()
        ordinal = self._next()
        self._link_if_crossing(scope)
        if scope.ended or scope.span is None:
            self._add(scope, frame.type, frame, ordinal, scope.opener_id, opener=False, nonfinite=nonfinite)
        else:
            self._pack(scope, frame, ordinal, nonfinite)
        self._last_scope = scope

    def placeholder(self, frame: StreamFrame, scope: LifecycleSpan | None, reason: str) -> None:
        """Record ``frame`` with ``{"$unencodable": reason}`` as its data, if it is not recorded yet."""
        if self._count == frame.seq:
            self.event(frame.model_copy(update={"data": {"$unencodable": reason}}), scope)

    def token(self, frame: StreamFrame, scope: LifecycleSpan | None) -> None:
        """Record a token frame the run made itself (``Run.token``): its envelope is derivable
        by construction, so continuing the open token run needs no field-by-field check."""
        run = self._tokens
        if (
            run is not None
            and run.scope is scope
            and run.type == frame.type
            and not run.rest_json
            and run.ids is None  # a run of foreign (CrewAI) ids never takes the run's own frames
            and len(run.chunks) < TOKEN_RUN_MAX
            and frame.seq == self._count
        ):
            run.chunks.append(frame.data["chunk"])
            run.times_us.append(to_unix_us(frame.timestamp))
            self._count += 1
        else:
            self.event(frame, scope)

    @property
    def open_tokens(self) -> TokenRun | None:
        """The token run still being buffered (integrations continue it with :meth:`extend_tokens`)."""
        return self._tokens

    def extend_tokens(self, tokens: TokenRun, chunk: str, time_us: int, frame_id: str, seq: int) -> bool:
        """Append a foreign-id token frame to ``tokens`` if it continues that open run exactly.

        The caller has checked the rest (type, span, namespace, channel, data but the chunk, and
        previous id = ``tokens.last_id``); :meth:`event` would only check those again.
        """
        if (
            self._tokens is not tokens
            or tokens.ids is None
            or len(tokens.chunks) >= TOKEN_RUN_MAX
            or seq != tokens.next_seq
            or frame_id.startswith(self._prefix)
        ):
            return False
        tokens.chunks.append(chunk)
        tokens.times_us.append(time_us)
        tokens.ids.append(frame_id)
        tokens.next_seq = seq + 1
        tokens.last_id = frame_id
        self._count += 1
        return True

    def close(
        self, frame: StreamFrame, scope: LifecycleSpan, error: BaseException | None = None, *, nonfinite: bool = False
    ) -> None:
        """Record the closing frame of ``scope`` (carrying the span's pending pack) and end its span."""
        if frame.type in TOKEN_TYPES and self._try_token(frame, scope):
            pass  # an odd closing frame, but a token one: its run is flushed below
        else:
            self._flush_tokens()
            ordinal = self._next()
            self._link_if_crossing(scope)
            self._add(scope, frame.type, frame, ordinal, scope.opener_id, opener=False, nonfinite=nonfinite)
            self._last_scope = scope
        self._flush_tokens()
        span = scope.span
        if span is None:
            return
        span.set_attributes(semconv.closer_attributes(frame.type, frame.data))
        if error is not None:
            record_error(span, error, frame.data.get("error"), self.capture_content)
        self._end(scope, to_unix_us(frame.timestamp) * 1000)

    def abandon(self, scope: LifecycleSpan, reason: str) -> None:
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

    # -- internals -------------------------------------------------------------------
    def _next(self) -> int:
        ordinal = self._count
        self._count = ordinal + 1
        return ordinal

    def _start_span(
        self,
        scope: LifecycleSpan,
        otel_parent: LifecycleSpan | None,
        name: str,
        kind: SpanKind,
        attributes: dict[str, Any],
        links: list[Link],
        start: datetime,
    ) -> None:
        """Start ``scope``'s span under ``otel_parent`` (or the run's parent context).

        The one place spans start: every span carries the run id, the format version and the
        caller's extra attributes; the run's own links go on its first span only.
        """
        parent_ctx: otel_context.Context | None
        if otel_parent is not None and otel_parent.span is not None:
            parent_ctx = trace.set_span_in_context(otel_parent.span)
        else:
            parent_ctx = self._parent_context
        attributes[RUN_ID] = self.run_id
        attributes[FORMAT_VERSION] = FORMAT
        if scope.namespace:
            attributes[SPAN_NAMESPACE] = json_text(scope.namespace)[0]
        attributes.update(self._extra_span_attributes)
        if self._root is None and self._run_links:
            links = [*self._run_links, *links]  # e.g. a resumed run pointing at the run it resumes
        span = self._tracer.start_span(
            name,
            context=parent_ctx,
            kind=kind,
            attributes=attributes,
            links=links or None,
            start_time=to_unix_us(start) * 1000,
        )
        scope.span = span
        scope.otel_parent = otel_parent
        scope.max_events, scope.max_links = span_limits(span)
        scope.links = len(links)
        if self._root is None:
            self._root = scope  # the run's first span: keeps one run one trace

    def _run_span_scope(self, frame: StreamFrame) -> LifecycleSpan:
        """Frames emitted outside any lifecycle live on one lazily created run span."""
        scope = self._lazy_root
        if scope is None or scope.ended:
            scope = LifecycleSpan(None, [], None)
            self._start_span(scope, self._root, "framescope.run", SpanKind.INTERNAL, {}, [], frame.timestamp)
            self._lazy_root = scope
        return scope

    def _link_if_crossing(self, scope: LifecycleSpan) -> None:
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
        scope: LifecycleSpan,
        name: str,
        frame: StreamFrame,
        ordinal: int,
        expected_parent: str | None,
        *,
        opener: bool,
        nonfinite: bool = False,
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
            attributes[NAMESPACE] = json_text(frame.namespace)[0]
        offset = frame.timestamp.utcoffset()
        if offset:
            attributes[TZ_OFFSET_US] = offset // ONE_US
        if frame.data:
            attributes[DATA] = json_text(frame.data, nonfinite)[0]
        if not name.isascii() and not utf8_clean(name):
            attributes[TYPE] = dumps(name)
            name = "framescope.frame"
        time_us = to_unix_us(frame.timestamp)
        pack = scope.pack
        if pack is not None and not opener:
            scope.pack = None
            attributes[PACK] = pack.text(time_us)
        self._write_event(scope, name, time_us * 1000, attributes)

    # -- frame packs -----------------------------------------------------------------
    def _pack(self, scope: LifecycleSpan, frame: StreamFrame, ordinal: int, nonfinite: bool = False) -> None:
        """Add a frame to ``scope``'s pending pack (the hot path for non-token frames)."""
        tail, size = entry_tail(frame, ordinal, self._prefix, scope.opener_id, scope.namespace, nonfinite)
        time_us = to_unix_us(frame.timestamp)
        pack = scope.pack
        if pack is not None and not pack.fits(size):
            self._write_pack(scope)
            pack = None
        if pack is None:
            scope.pack = FramePack(ordinal, time_us, frame.type, tail, size)
        elif pack.add(ordinal, time_us, frame.type, tail, size):
            self._write_pack(scope)

    def _write_pack(self, scope: LifecycleSpan) -> None:
        """Write ``scope``'s pending pack as an event of its own, named after its frames' type."""
        pack = scope.pack
        if pack is None:
            return
        scope.pack = None
        name = pack.type
        if name is None or (not name.isascii() and not utf8_clean(name)):
            name = PACK_EVENT
        self._write_event(scope, name, pack.first_us * 1000, {PACK: pack.text(pack.first_us)})

    def _write_event(self, scope: LifecycleSpan, name: str, time_ns: int, attributes: dict[str, Any]) -> None:
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

    @property
    def trace_id(self) -> str | None:
        """The trace the run's spans landed in, once its first span started (integrations ask)."""
        root = self._root or self._lazy_root
        if root is None or root.span is None:
            return None
        return format(root.span.get_span_context().trace_id, "032x")

    def end(self, scope: LifecycleSpan) -> None:
        """End ``scope``'s span now, without a closing frame (a runtime that leaves a lifecycle
        open, like CrewAI's conversation turns, ends it when its run ends)."""
        self._end(scope, None)

    def _end(self, scope: LifecycleSpan, end_ns: int | None) -> None:
        span = scope.span
        if span is None or scope.ended:
            return
        self._write_pack(scope)
        if scope.overflow:
            packed = scope.overflow
            scope.overflow = None
            span.add_event(BATCH_EVENT, {FRAMES: dumps(packed)}, timestamp=packed[0][1])
            scope.events += 1
        scope.ended = True
        span.end(end_time=end_ns)

    # -- token runs ------------------------------------------------------------------
    def _try_token(self, frame: StreamFrame, scope: LifecycleSpan) -> bool:
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
        frame_id = frame.id
        derived = (
            seq == ordinal
            and frame_id.startswith(prefix)  # foreign ids (CrewAI's uuids) stop here, cheaply
            and frame_id == prefix + str(ordinal)
            and frame.previous_id == (prefix + str(ordinal - 1) if ordinal else None)
        )
        if not derived and (not isinstance(seq, int) or isinstance(seq, bool)):
            return False
        run = self._tokens
        if len(data) == 1:
            rest: dict[str, Any] = {}
        else:
            rest = dict(data)  # a C-level copy: cheaper than a comprehension on every token
            if next(iter(data)) == "chunk":
                del rest["chunk"]
            else:
                # "chunk" not first (CrewAI's chunk frames): the rest keeps its place as a null,
                # so replay rebuilds the same key order (docs/codec.md)
                rest["chunk"] = None
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
            run = self._tokens = TokenRun(scope, frame.type, rest, dumps(rest) if rest else "", ordinal)
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
        attributes: dict[str, Any] = {SEQ: run.first, COUNT: len(run.chunks), CHUNKS: json_text(run.chunks)[0]}
        if len(times) > 1:
            attributes[DELTAS_US] = json_text([b - a for a, b in pairwise(times)])[0]
        if run.rest_json:
            attributes[DATA] = run.rest_json
        if run.ids is not None:
            attributes[IDS] = json_text(run.ids)[0]
            if run.first_seq != run.first:
                attributes[SEQ_VALUE] = dumps(run.first_seq)
            expected_previous = self._prefix + str(run.first - 1) if run.first else None
            if run.first_previous != expected_previous:
                attributes[PREVIOUS_ID] = dumps(run.first_previous)
        self._write_event(run.scope, run.type, times[0] * 1000, attributes)
