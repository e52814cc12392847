"""The wire table: the attribute keys and time units frames are written with and read back by.

Encoding (:mod:`framescope.telemetry.encode`, live) and decoding
(:mod:`framescope.replay.decode`, replay) share only this module, so a key changed here changes
both directions at once.  ``docs/codec.md`` is the same table in prose; changing a key is a
format change.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

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
#: ids of a token run whose envelope is not derivable (another runtime's, e.g. CrewAI's): JSON list
IDS = "framescope.ids"
FRAMES = "framescope.frames"
BATCH_EVENT = "framescope.batch"
LINK_RELATION = "framescope.link.relation"
LINK_PREVIOUS = "previous_frame"
FORMAT_VERSION = "framescope.format"
#: 1: one event per frame (token runs and the overflow batch packed); 2: adds frame packs
#: (``PACK``).  A format-2 reader reads format 1 unchanged; it refuses a newer format.
FORMAT = 2

TOKEN_RUN_MAX = 512

# -- frame packs (format 2) -------------------------------------------------------------------
#: JSON array of packed frames, one ``[ordinal, dt_us, type, data]`` (+ overrides) each.
PACK = "framescope.pack"
#: Name of a pack event whose frames are not all of one type.
PACK_EVENT = "framescope.frames"
#: A pack holds at most this many frames, and this many bytes of JSON unless one frame alone
#: is larger: Tempo truncates attribute values past 2,048 bytes by default
#: (``max_attribute_bytes``), and a truncated pack could not be read back.
PACK_MAX_FRAMES = 64
PACK_MAX_BYTES = 2_000
# Keys of a packed frame's overrides (the envelope fields that differ from the derived ones).
PACKED_ID = "id"
PACKED_SEQ = "seq"
PACKED_PREVIOUS_ID = "previous_id"
PACKED_PARENT_ID = "parent_id"
PACKED_CHANNEL = "channel"
PACKED_NAMESPACE = "namespace"
PACKED_TZ_OFFSET_US = "tz_offset_us"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)


def to_unix_us(timestamp: datetime) -> int:
    """Exact integer microseconds since the epoch (no float rounding)."""
    return (timestamp - EPOCH) // ONE_US


def from_unix_us(us: int, offset_us: int = 0) -> datetime:
    value = EPOCH + timedelta(microseconds=us)
    if offset_us:
        return value.astimezone(timezone(timedelta(microseconds=offset_us)))
    return value


def utf8_clean(text: str) -> bool:
    """Whether ``text`` encodes to UTF-8 (no lone surrogates): an event name must."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
