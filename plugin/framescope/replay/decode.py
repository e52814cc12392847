"""Decoding frames from exported spans (replay): the reading half of the codec.

Reads back what :mod:`framescope.telemetry.encode` wrote (the keys are in
:mod:`framescope.telemetry.wire`) from :class:`~framescope.replay.records.SpanRecord` s,
whatever backend they came through.  Order is rebuilt from ``framescope.seq``, never from
event order or timestamps (Jaeger and Tempo reorder events); every derivable field is derived
the way the emit path makes it; ordinals missing from the trace are reported as gaps.

Every format this module ever wrote stays readable: format 1 (one event per frame, token runs,
the overflow batch) and format 2 (adds frame packs, ``framescope.pack``).  A span written by a
newer format is refused with a clear error rather than read with frames missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from framescope.errors import FrameDecodeError
from framescope.replay.records import EventRecord, SpanRecord
from framescope.telemetry import wire
from framescope.types.routing import channel_for
from framescope.types.streaming import StreamFrame, make_frame


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


def decode_runs(spans: Iterable[SpanRecord]) -> list[DecodedRun]:
    """Every framescope run found in ``spans``, oldest first; non-framescope spans are ignored."""
    by_run: dict[str, list[SpanRecord]] = {}
    for span in spans:
        run_id = span.attributes.get(wire.RUN_ID)
        if isinstance(run_id, str):
            by_run.setdefault(run_id, []).append(span)
    runs = [_decode_run(run_id, run_spans) for run_id, run_spans in by_run.items()]
    runs.sort(key=lambda run: (run.started_at is None, run.started_at or wire.EPOCH))
    return runs


def _decode_run(run_id: str, spans: list[SpanRecord]) -> DecodedRun:
    prefix = run_id + "-"
    newest = wire.FORMAT
    for span in spans:
        version = span.attributes.get(wire.FORMAT_VERSION)
        if version is not None and (type(version) is not int or version > newest):
            _check_format(span)
    by_id = {span.span_id: span for span in spans}
    openers: dict[str, str] = {}
    open_key = wire.OPEN
    for span in spans:
        for event in span.events:
            attrs = event.attributes
            if open_key in attrs and _truthy(attrs[open_key]):
                ordinal = _int(attrs.get(wire.SEQ), span, event)
                explicit = attrs.get(wire.FRAME_ID)
                openers[span.span_id] = explicit if isinstance(explicit, str) else prefix + str(ordinal)
                break
    decoded: dict[int, StreamFrame] = {}
    steps: dict[int, timedelta] = {}
    cancelled = failed = False
    for span in spans:
        if _truthy(span.attributes.get(wire.CANCELLED)):
            cancelled = True
        elif span.status_code == "ERROR":
            failed = True
        namespace = (
            _json(span.attributes.get(wire.SPAN_NAMESPACE), span, None)
            if wire.SPAN_NAMESPACE in span.attributes
            else []
        )
        parent_span = by_id.get(span.parent_span_id) if span.parent_span_id else None
        parent_opener = openers.get(parent_span.span_id) if parent_span is not None else None
        ctx = _SpanContext(prefix, namespace, openers.get(span.span_id), parent_opener, span, decoded, steps)
        for event in span.events:
            _decode_event(ctx, event.name, event.time_unix_nano, event.attributes, event)
    ordinals = sorted(decoded)
    ordered = [decoded[key] for key in ordinals]
    gaps: list[tuple[int, int]] = []
    if ordinals and (ordinals[0] != 0 or ordinals[-1] != len(ordinals) - 1):
        expected = 0
        for ordinal in ordinals:
            if ordinal > expected:
                gaps.append((expected, ordinal - 1))
            expected = ordinal + 1
    trace_ids = sorted({span.trace_id for span in spans})
    return DecodedRun(run_id, trace_ids, ordered, gaps, cancelled=cancelled, failed=failed)


@dataclass(slots=True)
class _SpanContext:
    """What every event of one span decodes against, and where its frames go."""

    prefix: str
    namespace: list[str]
    opener: str | None
    parent_opener: str | None
    span: SpanRecord
    out: dict[int, StreamFrame]
    #: ``timedelta`` objects by microseconds, shared by the run: building one costs ten times
    #: adding it, and the gaps between frames repeat.
    steps: dict[int, timedelta]


_DERIVED_ONLY = frozenset((wire.SEQ, wire.DATA, wire.PACK, wire.OPEN))


def _decode_event(ctx: _SpanContext, name: str, time_ns: int, attrs: Mapping[str, Any], event: EventRecord) -> None:
    """One span event (or one entry of a batch event) into its frame(s).

    The encoder writes these shapes, told apart by their keys: a frame pack (``wire.PACK``,
    alone or on a span's closing frame), a token run (``wire.COUNT``), an event whose envelope
    is all derived (only ``wire.SEQ`` and maybe ``wire.DATA``, the common case), a frame that
    spells out what differs from the derived envelope, and the overflow batch
    (``wire.BATCH_EVENT``) holding any of these.
    """
    if wire.PACK in attrs:
        _decode_pack(ctx, time_ns, attrs[wire.PACK], event)
    if wire.SEQ not in attrs:
        if name == wire.BATCH_EVENT and wire.FRAMES in attrs:
            for entry_name, entry_time, entry_attrs in _json_no_bigint(attrs[wire.FRAMES], ctx.span, event):
                _decode_event(ctx, entry_name, int(entry_time), entry_attrs, event)
    elif wire.COUNT in attrs:
        _decode_token_run(ctx, name, time_ns, attrs, event)
    elif _DERIVED_ONLY.issuperset(attrs):
        _decode_derived_frame(ctx, name, time_ns, attrs, event)
    else:
        _decode_explicit_frame(ctx, name, time_ns, attrs, event)


def _decode_pack(ctx: _SpanContext, time_ns: int, value: Any, event: EventRecord) -> None:
    """A frame pack: ``[[ordinal, dt_us, type, data(, overrides)], [step, dt_us, ...], ...]``.

    The first entry's ordinal is absolute and its time counts from the event's; every later
    entry counts from the one before (docs/codec.md).  The hot path of replay: one
    ``make_frame`` per entry and nothing else for a frame with a derived envelope.
    """
    span = ctx.span
    entries = _json(value, span, event)
    if type(entries) is not list:
        raise _bad(span, event, f"a frame pack must be a JSON array, found {type(entries).__name__}")
    prefix = ctx.prefix
    namespace = ctx.namespace
    opener = ctx.opener
    out = ctx.out
    steps = ctx.steps
    step_of = steps.get
    us = time_ns // 1000
    timestamp = wire.EPOCH + timedelta(microseconds=us)
    ordinal = 0
    index = 0
    try:
        for index, entry in enumerate(entries):
            if len(entry) == 4:
                step, dt, frame_type, data = entry
                overrides = None
            else:
                step, dt, frame_type, data, overrides = entry
            if type(step) is not int or type(dt) is not int or type(frame_type) is not str or type(data) is not dict:
                raise TypeError("expected [integer, integer, string, object(, object)]")
            ordinal = ordinal + step if index else step
            us += dt
            delta = step_of(dt)
            if delta is None:
                delta = steps[dt] = timedelta(microseconds=dt)
            timestamp += delta
            if overrides is None:
                out[ordinal] = make_frame(
                    prefix + str(ordinal),
                    ordinal,
                    frame_type,
                    channel_for(frame_type),
                    namespace,
                    timestamp,
                    opener,
                    prefix + str(ordinal - 1) if ordinal else None,
                    data,
                )
            else:
                out[ordinal] = _packed_frame_with_overrides(ctx, ordinal, us, frame_type, data, overrides)
    except (TypeError, ValueError) as exc:
        raise _bad(
            span, event, f"malformed frame pack entry {index} ({exc}); the trace was truncated or edited"
        ) from None


def _packed_frame_with_overrides(
    ctx: _SpanContext, ordinal: int, us: int, frame_type: str, data: dict[str, Any], overrides: Any
) -> StreamFrame:
    """A packed frame whose envelope differs from the derived one in the fields ``overrides`` names."""
    if type(overrides) is not dict:
        raise TypeError(f"overrides must be an object, found {type(overrides).__name__}")
    prefix = ctx.prefix
    get = overrides.get
    return make_frame(
        get(wire.PACKED_ID, prefix + str(ordinal)),
        get(wire.PACKED_SEQ, ordinal),
        frame_type,
        get(wire.PACKED_CHANNEL, channel_for(frame_type)),
        get(wire.PACKED_NAMESPACE, ctx.namespace),
        wire.from_unix_us(us, get(wire.PACKED_TZ_OFFSET_US, 0)),
        get(wire.PACKED_PARENT_ID, ctx.opener),
        get(wire.PACKED_PREVIOUS_ID, prefix + str(ordinal - 1) if ordinal else None),
        data,
    )


def _check_format(span: SpanRecord) -> None:
    """Refuse a span written by a newer framescope: read with today's rules, frames would be lost."""
    version = span.attributes.get(wire.FORMAT_VERSION)
    if version is None:
        return
    number = _int(version, span, None)
    if number > wire.FORMAT:
        raise FrameDecodeError(
            f"span {span.span_id} ({span.name!r}) was written in framescope trace format {number}, "
            f"newer than this framescope reads (up to {wire.FORMAT}); upgrade framescope to replay it"
        )


def _decode_derived_frame(
    ctx: _SpanContext, name: str, time_ns: int, attrs: Mapping[str, Any], event: EventRecord
) -> None:
    """A frame whose id, previous id, parent, channel and namespace are all the derived ones
    (an opener's parent is the parent span's opener)."""
    prefix = ctx.prefix
    ordinal = _int(attrs.get(wire.SEQ), ctx.span, event)
    data_json = attrs.get(wire.DATA)
    ctx.out[ordinal] = make_frame(
        prefix + str(ordinal),
        ordinal,
        name,
        channel_for(name),
        ctx.namespace,
        wire.EPOCH + timedelta(microseconds=time_ns // 1000),
        ctx.parent_opener if wire.OPEN in attrs and _truthy(attrs[wire.OPEN]) else ctx.opener,
        prefix + str(ordinal - 1) if ordinal else None,
        _json(data_json, ctx.span, event) if data_json else {},
    )


def _decode_token_run(ctx: _SpanContext, name: str, time_ns: int, attrs: Mapping[str, Any], event: EventRecord) -> None:
    """Up to 512 token frames packed as a JSON array of chunks and microsecond deltas."""
    span = ctx.span
    prefix = ctx.prefix
    first = attrs[wire.SEQ]
    if type(first) is not int:
        first = _int(first, span, event)
    frame_type = _json(attrs[wire.TYPE], span, event) if wire.TYPE in attrs else name
    count = attrs[wire.COUNT]
    if type(count) is not int:
        count = _int(count, span, event)
    chunks = _json_no_bigint(attrs.get(wire.CHUNKS, "[]"), span, event)
    deltas_json = attrs.get(wire.DELTAS_US)
    deltas = _json_no_bigint(deltas_json, span, event) if deltas_json is not None else []
    if type(chunks) is not list or type(deltas) is not list or len(chunks) != count or len(deltas) != max(0, count - 1):
        raise FrameDecodeError(
            f"span {span.span_id} event {name!r} at seq {first}: token run says "
            f"{count} tokens but holds {len(chunks)} chunks and {len(deltas)} time deltas; "
            "the trace was truncated or edited"
        )
    data_json = attrs.get(wire.DATA)
    rest = _json(data_json, span, event) if data_json else None
    channel = channel_for(frame_type)
    namespace = ctx.namespace
    opener_id = ctx.opener
    out = ctx.out
    steps = ctx.steps
    step_of = steps.get
    timestamp = wire.EPOCH + timedelta(microseconds=time_ns // 1000)
    if wire.PREVIOUS_ID in attrs:
        previous = _json(attrs[wire.PREVIOUS_ID], span, event)
    else:
        previous = prefix + str(first - 1) if first else None
    # a run of another runtime's frames (CrewAI's) stores its ids and first seq (docs/codec.md)
    ids = _json(attrs[wire.IDS], span, event) if wire.IDS in attrs else None
    if ids is not None and (not isinstance(ids, list) or len(ids) != count):
        raise FrameDecodeError(
            f"span {span.span_id} event {name!r} at seq {first}: token run says {count} tokens "
            "but its ids do not match; the trace was truncated or edited"
        )
    seq_offset = _int(_json(attrs[wire.SEQ_VALUE], span, event), span, event) - first if wire.SEQ_VALUE in attrs else 0
    ordinal = first
    try:
        if ids is None and rest is None and not seq_offset:
            # the common run (framescope's own tokens): ids derived, "chunk" the only data key
            for index, chunk in enumerate(chunks):
                if index:
                    delta = deltas[index - 1]
                    if delta:
                        step = step_of(delta)
                        if step is None:
                            step = steps[delta] = timedelta(microseconds=delta)
                        timestamp += step
                current = prefix + str(ordinal)
                out[ordinal] = make_frame(
                    current, ordinal, frame_type, channel, namespace, timestamp, opener_id, previous, {"chunk": chunk}
                )
                previous = current
                ordinal += 1
            return
        for chunk, delta in zip(chunks, [0, *deltas], strict=True):
            if delta:
                step = step_of(delta)
                if step is None:
                    step = steps[delta] = timedelta(microseconds=delta)
                timestamp += step
            current = prefix + str(ordinal) if ids is None else ids[ordinal - first]
            # "chunk" first, as emit_token builds it (the encoder packs only such frames)
            if rest is None:
                data = {"chunk": chunk}
            elif "chunk" in rest:  # the chunk's place among the other keys is kept (docs/codec.md)
                data = dict(rest)
                data["chunk"] = chunk
            else:
                data = {"chunk": chunk, **rest}
            out[ordinal] = make_frame(
                current, ordinal + seq_offset, frame_type, channel, namespace, timestamp, opener_id, previous, data
            )
            previous = current
            ordinal += 1
    except TypeError as exc:
        raise _bad(span, event, f"malformed token run ({exc}); the trace was truncated or edited") from None


def _decode_explicit_frame(
    ctx: _SpanContext, name: str, time_ns: int, attrs: Mapping[str, Any], event: EventRecord
) -> None:
    """A frame that carries every envelope field differing from the derived one."""
    span = ctx.span
    prefix = ctx.prefix
    ordinal = attrs.get(wire.SEQ)
    if type(ordinal) is not int:
        ordinal = _int(ordinal, span, event)
    frame_type = _json(attrs[wire.TYPE], span, event) if wire.TYPE in attrs else name
    opener = wire.OPEN in attrs and _truthy(attrs[wire.OPEN])
    data_json = attrs.get(wire.DATA)
    if wire.TZ_OFFSET_US in attrs:
        timestamp = wire.from_unix_us(time_ns // 1000, _int(attrs[wire.TZ_OFFSET_US], span, event))
    else:
        timestamp = wire.EPOCH + timedelta(microseconds=time_ns // 1000)
    ctx.out[ordinal] = make_frame(
        attrs[wire.FRAME_ID] if wire.FRAME_ID in attrs else prefix + str(ordinal),
        _json(attrs[wire.SEQ_VALUE], span, event) if wire.SEQ_VALUE in attrs else ordinal,
        frame_type,
        attrs[wire.CHANNEL] if wire.CHANNEL in attrs else channel_for(frame_type),
        _json(attrs[wire.NAMESPACE], span, event) if wire.NAMESPACE in attrs else ctx.namespace,
        timestamp,
        _json(attrs[wire.PARENT_ID], span, event)
        if wire.PARENT_ID in attrs
        else (ctx.parent_opener if opener else ctx.opener),
        _json(attrs[wire.PREVIOUS_ID], span, event)
        if wire.PREVIOUS_ID in attrs
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
_orjson_loads = orjson.loads


def _json(value: Any, span: SpanRecord, event: EventRecord | None) -> Any:
    if value == "null":  # an explicit "no parent" or "no previous frame", the commonest override
        return None
    if not isinstance(value, str):
        raise _bad(span, event, f"expected a JSON string, found {type(value).__name__}")
    try:
        # raw_decode skips json.loads' two whitespace scans: the codec writes compact JSON.
        decoded, end = _raw_decode(value)
        if end != len(value):
            raise ValueError(f"extra data at character {end}")
        return decoded
    except ValueError as exc:
        raise _bad(
            span, event, f"invalid JSON ({exc}); the value may have been truncated by an attribute length limit"
        ) from None


def _json_no_bigint(value: Any, span: SpanRecord, event: EventRecord | None) -> Any:
    """:func:`_json` by orjson, for values the codec writes without integers beyond 64 bits
    (token chunks and time deltas, the overflow batch, whose frame data is JSON text inside):
    orjson would read such an integer as a float, the standard library exactly."""
    if type(value) is str:
        try:
            return _orjson_loads(value)
        except orjson.JSONDecodeError:
            pass  # lone-surrogate escapes, or not JSON: the standard library reads or reports it
    return _json(value, span, event)


def _bad(span: SpanRecord, event: EventRecord | None, what: str) -> FrameDecodeError:
    where = f"span {span.span_id} ({span.name!r})"
    if event is not None:
        where += f", event {event.name!r}"
    return FrameDecodeError(f"cannot decode the framescope frame in {where}: {what}")
