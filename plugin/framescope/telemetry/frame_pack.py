"""Frame packs: consecutive non-token frames of one span written as one span event.

An SDK span event costs 15-22 us to record (the event object, its bounded attribute copy,
the span's lock), far more than the frame it carries.  So the recorder
(:mod:`framescope.telemetry.encode`) keeps, per span, a pending pack of the frames recorded
on it since its opener, each already serialized (so a consumer that mutates a delivered
frame's ``data`` cannot change what the trace says), and writes the pack as one event: on
the span's closing frame (as an attribute of that readable closing event), when the pack is
full (``PACK_MAX_FRAMES`` frames or ``PACK_MAX_CHARS`` characters), or when the span ends
without a closing frame.  docs/codec.md has the wire format:

    framescope.pack = [[ordinal, dt_us, type, data], [step, dt_us, type, data, overrides], ...]

The first entry's ``ordinal`` is absolute and its ``dt_us`` counts from the event's time;
every later entry counts ``step`` and ``dt_us`` from the entry before it.  ``overrides`` is
present only for a frame whose envelope differs from the derived one.
"""

from __future__ import annotations

from typing import Any

import orjson

from framescope.telemetry.wire import (
    ONE_US,
    PACK_MAX_CHARS,
    PACK_MAX_FRAMES,
    PACKED_CHANNEL,
    PACKED_ID,
    PACKED_NAMESPACE,
    PACKED_PARENT_ID,
    PACKED_PREVIOUS_ID,
    PACKED_SEQ,
    PACKED_TZ_OFFSET_US,
)
from framescope.types.payload import dumps
from framescope.types.routing import channel_for
from framescope.types.streaming import StreamFrame

__all__ = ["FramePack", "entry_tail", "json_text", "type_json"]

# Types and subclasses orjson would write differently from the standard library (datetimes as
# ISO text, dataclasses as objects) are handed back, so they take the ``dumps`` path below.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
_orjson_dumps = orjson.dumps
_TYPE_JSON: dict[str, str] = {}
_TYPE_JSON_MAX = 4096


def json_text(value: Any) -> str:
    """Compact JSON of a frame's (JSON-safe) value, as :func:`~framescope.types.payload.dumps`
    writes it.

    orjson writes the common case twenty times faster than the standard library.  What it
    cannot write exactly goes to ``dumps``: integers beyond 64 bits, strings with lone
    surrogates (``dumps`` escapes them), non-string keys.  Frame data never holds NaN or
    Infinity (the emit rule turns them into strings, docs/frames.md), which orjson would
    write as ``null``.
    """
    try:
        return _orjson_dumps(value, option=_ORJSON_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return dumps(value)


def type_json(frame_type: str) -> str:
    """A frame type as a JSON string, cached: a run uses few types, each many times."""
    text = _TYPE_JSON.get(frame_type)
    if text is None:
        text = dumps(frame_type)
        if len(_TYPE_JSON) >= _TYPE_JSON_MAX:
            _TYPE_JSON.clear()
        _TYPE_JSON[frame_type] = text
    return text


def entry_tail(frame: StreamFrame, ordinal: int, prefix: str, opener_id: str | None, namespace: list[str]) -> str:
    """A packed frame's entry after its two numbers: ``type,data`` and, only when the frame's
    envelope differs from the one derived for ``ordinal`` on a span with this opener and
    namespace, ``,overrides``."""
    frame_type = frame.type
    data = frame.data
    tail = type_json(frame_type) + ("," + json_text(data) if data else ",{}")
    if (
        frame.seq != ordinal
        or frame.id != prefix + str(ordinal)
        or frame.previous_id != (prefix + str(ordinal - 1) if ordinal else None)
        or frame.parent_id != opener_id
        or frame.channel != channel_for(frame_type)
        or frame.namespace != namespace
        or frame.timestamp.utcoffset()
    ):
        tail += "," + json_text(_overrides(frame, ordinal, prefix, opener_id, namespace))
    return tail


def _overrides(
    frame: StreamFrame, ordinal: int, prefix: str, opener_id: str | None, namespace: list[str]
) -> dict[str, Any]:
    """The envelope fields of a packed frame that differ from the derived ones."""
    out: dict[str, Any] = {}
    if frame.id != prefix + str(ordinal):
        out[PACKED_ID] = frame.id
    if frame.seq != ordinal:
        out[PACKED_SEQ] = frame.seq
    if frame.previous_id != (prefix + str(ordinal - 1) if ordinal else None):
        out[PACKED_PREVIOUS_ID] = frame.previous_id
    if frame.parent_id != opener_id:
        out[PACKED_PARENT_ID] = frame.parent_id
    if frame.channel != channel_for(frame.type):
        out[PACKED_CHANNEL] = frame.channel
    if frame.namespace != namespace:
        out[PACKED_NAMESPACE] = frame.namespace
    offset = frame.timestamp.utcoffset()
    if offset:
        out[PACKED_TZ_OFFSET_US] = offset // ONE_US
    return out


class FramePack:
    """The pending pack of one span: its frames as JSON entries, first one kept apart.

    The first entry's time offset depends on the event the pack is finally written on (its
    own, or the span's closing frame), so it is completed by :meth:`text`.
    """

    __slots__ = ("first_ordinal", "first_us", "last_ordinal", "last_us", "head", "entries", "chars", "type")

    def __init__(self, ordinal: int, time_us: int, frame_type: str, tail: str) -> None:
        self.first_ordinal = self.last_ordinal = ordinal
        self.first_us = self.last_us = time_us
        self.head = tail
        self.entries: list[str] = []
        self.chars = len(tail)
        #: the type every frame of the pack has, or ``None`` when they differ
        self.type: str | None = frame_type

    def add(self, ordinal: int, time_us: int, frame_type: str, tail: str) -> bool:
        """Append a frame; ``True`` when the pack is now full and must be written."""
        entry = f"[{ordinal - self.last_ordinal},{time_us - self.last_us},{tail}]"
        self.entries.append(entry)
        self.last_ordinal = ordinal
        self.last_us = time_us
        self.chars += len(entry)
        if frame_type != self.type:
            self.type = None
        return len(self.entries) + 1 >= PACK_MAX_FRAMES or self.chars >= PACK_MAX_CHARS

    def __len__(self) -> int:
        return len(self.entries) + 1

    def text(self, event_us: int) -> str:
        """The ``framescope.pack`` value for an event at ``event_us``."""
        head = f"[{self.first_ordinal},{self.first_us - event_us},{self.head}]"
        if not self.entries:
            return f"[{head}]"
        return f"[{head},{','.join(self.entries)}]"
