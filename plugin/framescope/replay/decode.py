"""Decoding frames from exported spans (replay): the reading half of the codec.

Reads back what :mod:`framescope.telemetry.encode` wrote (the keys are in
:mod:`framescope.telemetry.wire`) from :class:`~framescope.replay.records.SpanRecord` s,
whatever backend they came through.  Order is rebuilt from ``framescope.seq``, never from
event order or timestamps (Jaeger and Tempo reorder events); every derivable field is derived
the way the emit path makes it; ordinals missing from the trace are reported as gaps.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

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
    by_id = {span.span_id: span for span in spans}
    openers: dict[str, str] = {}
    for span in spans:
        for event in span.events:
            attrs = event.attributes
            if _truthy(attrs.get(wire.OPEN)):
                ordinal = _int(attrs.get(wire.SEQ), span, event)
                explicit = attrs.get(wire.FRAME_ID)
                openers[span.span_id] = explicit if isinstance(explicit, str) else prefix + str(ordinal)
                break
    decoded: dict[int, StreamFrame] = {}
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
        ctx = _SpanContext(prefix, namespace, openers.get(span.span_id), parent_opener, span, decoded)
        for event in span.events:
            attrs = event.attributes
            if wire.SEQ in attrs:
                _decode_event(ctx, event.name, event.time_unix_nano, attrs, event)
            elif event.name == wire.BATCH_EVENT and wire.FRAMES in attrs:
                for name, time_ns, packed in _json(attrs[wire.FRAMES], span, event):
                    _decode_event(ctx, name, int(time_ns), packed, event)
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
    """What every event of one span decodes against, and where its frames go."""

    prefix: str
    namespace: list[str]
    opener: str | None
    parent_opener: str | None
    span: SpanRecord
    out: dict[int, StreamFrame]


_DERIVED_ONLY = frozenset((wire.SEQ, wire.DATA))


def _decode_event(ctx: _SpanContext, name: str, time_ns: int, attrs: Mapping[str, Any], event: EventRecord) -> None:
    """One span event (or one packed entry of a batch event) into its frame(s).

    The encoder writes three shapes, told apart by their keys: a token run (``wire.COUNT``), an
    event whose envelope is all derived (only ``wire.SEQ`` and maybe ``wire.DATA``, the common case),
    or a frame that spells out what differs from the derived envelope.
    """
    if wire.COUNT in attrs:
        _decode_token_run(ctx, name, time_ns, attrs, event)
    elif _DERIVED_ONLY.issuperset(attrs):
        _decode_derived_frame(ctx, name, time_ns, attrs, event)
    else:
        _decode_explicit_frame(ctx, name, time_ns, attrs, event)


def _decode_derived_frame(
    ctx: _SpanContext, name: str, time_ns: int, attrs: Mapping[str, Any], event: EventRecord
) -> None:
    """A frame whose id, previous id, parent, channel and namespace are all the derived ones."""
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
        ctx.opener,
        prefix + str(ordinal - 1) if ordinal else None,
        _json(data_json, ctx.span, event) if data_json else {},
    )


def _decode_token_run(ctx: _SpanContext, name: str, time_ns: int, attrs: Mapping[str, Any], event: EventRecord) -> None:
    """Up to 512 token frames packed as a JSON array of chunks and microsecond deltas."""
    span = ctx.span
    prefix = ctx.prefix
    first = _int(attrs.get(wire.SEQ), span, event)
    frame_type = _json(attrs[wire.TYPE], span, event) if wire.TYPE in attrs else name
    count = _int(attrs[wire.COUNT], span, event)
    chunks = _json(attrs.get(wire.CHUNKS, "[]"), span, event)
    deltas = _json(attrs[wire.DELTAS_US], span, event) if wire.DELTAS_US in attrs else []
    if len(chunks) != count or len(deltas) != max(0, count - 1):
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
    us = time_ns // 1000
    if wire.PREVIOUS_ID in attrs:
        previous = _json(attrs[wire.PREVIOUS_ID], span, event)
    else:
        previous = prefix + str(first - 1) if first else None
    ids = _json(attrs[wire.IDS], span, event) if wire.IDS in attrs else None
    if ids is not None and (not isinstance(ids, list) or len(ids) != count):
        raise FrameDecodeError(
            f"span {span.span_id} event {name!r} at seq {first}: token run says {count} tokens "
            "but its ids do not match; the trace was truncated or edited"
        )
    seq_base = _int(_json(attrs[wire.SEQ_VALUE], span, event), span, event) if wire.SEQ_VALUE in attrs else first
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
            current,
            seq_base + index,
            frame_type,
            channel,
            namespace,
            wire.EPOCH + timedelta(microseconds=us),
            opener_id,
            previous,
            data,
        )
        previous = current
        ordinal += 1


def _decode_explicit_frame(
    ctx: _SpanContext, name: str, time_ns: int, attrs: Mapping[str, Any], event: EventRecord
) -> None:
    """A frame that carries every envelope field differing from the derived one."""
    span = ctx.span
    prefix = ctx.prefix
    ordinal = _int(attrs.get(wire.SEQ), span, event)
    frame_type = _json(attrs[wire.TYPE], span, event) if wire.TYPE in attrs else name
    opener = _truthy(attrs.get(wire.OPEN))
    data_json = attrs.get(wire.DATA)
    ctx.out[ordinal] = make_frame(
        attrs[wire.FRAME_ID] if wire.FRAME_ID in attrs else prefix + str(ordinal),
        _json(attrs[wire.SEQ_VALUE], span, event) if wire.SEQ_VALUE in attrs else ordinal,
        frame_type,
        attrs[wire.CHANNEL] if wire.CHANNEL in attrs else channel_for(frame_type),
        _json(attrs[wire.NAMESPACE], span, event) if wire.NAMESPACE in attrs else ctx.namespace,
        wire.from_unix_us(time_ns // 1000, _int(attrs.get(wire.TZ_OFFSET_US, 0), span, event)),
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
        raise _bad(
            span, event, f"invalid JSON ({exc}); the value may have been truncated by an attribute length limit"
        ) from None


def _bad(span: SpanRecord, event: EventRecord | None, what: str) -> FrameDecodeError:
    where = f"span {span.span_id} ({span.name!r})"
    if event is not None:
        where += f", event {event.name!r}"
    return FrameDecodeError(f"cannot decode the framescope frame in {where}: {what}")
