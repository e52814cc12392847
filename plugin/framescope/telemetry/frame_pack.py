"""Frame packs: consecutive non-token frames of one span written as one span event.

A frame recorded as its own SDK span event cost 7-20 us (bench/record_frames.py: the event,
its bounded attribute copy with a lock of its own, the data's JSON, the garbage they make),
far more than the frame it carries.  So the recorder
(:mod:`framescope.telemetry.encode`) keeps, per span, a pending pack of the frames recorded
on it since its opener, each already serialized (so a consumer that mutates a delivered
frame's ``data`` cannot change what the trace says), and writes the pack as one event: on
the span's closing frame (as an attribute of that readable closing event), when the pack is
full (``PACK_MAX_FRAMES`` frames, or ``PACK_MAX_BYTES`` bytes of JSON), or when the span ends
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
    PACK_MAX_BYTES,
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
_TYPE_JSON: dict[str, tuple[str, int]] = {}
_TYPE_JSON_MAX = 4096
# Room for an entry's brackets, commas and two int64 numbers (ordinal and time offset).
_ENTRY_NUMBERS = 44


def json_text(value: Any, nonfinite: bool = False) -> tuple[str, int]:
    """Compact JSON of a frame's (JSON-safe) value, as :func:`~framescope.types.payload.dumps`
    writes it, and its size in UTF-8 bytes (what backends limit), counted for free.

    orjson writes the common case twenty times faster than the standard library.  What it
    cannot write exactly goes to ``dumps``: integers beyond 64 bits, strings with lone
    surrogates (``dumps`` escapes them), non-string keys.  framescope's frame data never holds
    NaN or Infinity (the emit rule turns them into strings, docs/frames.md), which orjson would
    write as ``null``; ``nonfinite=True`` says another runtime's value may hold them, and
    ``dumps`` writes it.
    """
    if not nonfinite:
        try:
            raw = _orjson_dumps(value, option=_ORJSON_OPTIONS)
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            pass
        else:
            return raw.decode(), len(raw)
    text = dumps(value)  # valid UTF-8: lone surrogates are escaped
    return text, len(text.encode())


def type_json(frame_type: str) -> tuple[str, int]:
    """A frame type as a JSON string and its size in bytes, cached: a run uses few types."""
    cached = _TYPE_JSON.get(frame_type)
    if cached is None:
        text = dumps(frame_type)
        cached = (text, len(text.encode()))
        if len(_TYPE_JSON) >= _TYPE_JSON_MAX:
            _TYPE_JSON.clear()
        _TYPE_JSON[frame_type] = cached
    return cached


def entry_tail(
    frame: StreamFrame,
    ordinal: int,
    prefix: str,
    opener_id: str | None,
    namespace: list[str],
    nonfinite: bool = False,
) -> tuple[str, int]:
    """A packed frame's entry after its two numbers, and its size in bytes: ``type,data`` and,
    only when the frame's envelope differs from the one derived for ``ordinal`` on a span with
    this opener and namespace, ``,overrides``.  ``nonfinite``: the data may hold NaN or
    ±Infinity (another runtime's frame), written as the standard library writes them."""
    frame_type = frame.type
    data = frame.data
    type_text, size = type_json(frame_type)
    if data:
        data_text, data_size = json_text(data, nonfinite)
        tail = f"{type_text},{data_text}"
        size += data_size + 1
    else:
        tail = type_text + ",{}"
        size += 3
    if (
        frame.seq != ordinal
        or frame.id != prefix + str(ordinal)
        or frame.previous_id != (prefix + str(ordinal - 1) if ordinal else None)
        or frame.parent_id != opener_id
        or frame.channel != channel_for(frame_type)
        or frame.namespace != namespace
        or frame.timestamp.utcoffset()
    ):
        overrides, overrides_size = json_text(_overrides(frame, ordinal, prefix, opener_id, namespace))
        tail = f"{tail},{overrides}"
        size += overrides_size + 1
    return tail, size


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

    __slots__ = ("first_ordinal", "first_us", "last_ordinal", "last_us", "head", "entries", "size", "type")

    def __init__(self, ordinal: int, time_us: int, frame_type: str, tail: str, size: int) -> None:
        self.first_ordinal = self.last_ordinal = ordinal
        self.first_us = self.last_us = time_us
        self.head = tail
        self.entries: list[str] = []
        #: an upper bound of the pack's JSON size in UTF-8 bytes
        self.size = size + _ENTRY_NUMBERS
        #: the type every frame of the pack has, or ``None`` when they differ
        self.type: str | None = frame_type

    def fits(self, size: int) -> bool:
        """Whether an entry of ``size`` bytes (numbers aside) keeps the pack within ``PACK_MAX_BYTES``."""
        return self.size + size + _ENTRY_NUMBERS <= PACK_MAX_BYTES

    def add(self, ordinal: int, time_us: int, frame_type: str, tail: str, size: int) -> bool:
        """Append a frame; ``True`` when the pack now holds ``PACK_MAX_FRAMES`` and must be written."""
        numbers = f"[{ordinal - self.last_ordinal},{time_us - self.last_us},"
        self.entries.append(f"{numbers}{tail}]")
        self.last_ordinal = ordinal
        self.last_us = time_us
        self.size += size + len(numbers) + 2  # the numbers are ASCII; "]" and the separating ","
        if frame_type != self.type:
            self.type = None
        return len(self.entries) + 1 >= PACK_MAX_FRAMES

    def __len__(self) -> int:
        return len(self.entries) + 1

    def text(self, event_us: int) -> str:
        """The ``framescope.pack`` value for an event at ``event_us``."""
        head = f"[{self.first_ordinal},{self.first_us - event_us},{self.head}]"
        if not self.entries:
            return f"[{head}]"
        return f"[{head},{','.join(self.entries)}]"
