"""The fast path of the OTLP/JSON reader: the common spelling, read without error paths.

Replay reads a span, its events and its links for every few frames, so the spelling the
OpenTelemetry SDK's exporter, the Collector and framescope's own trace file write (lowercase
hex ids, decimal-string times, enum numbers or prefixed names, simple attribute values) is read
here with type checks only.  Anything else returns ``None`` and goes to the checking reader in
:mod:`framescope.replay.sources.otlp_json`, which names the JSON path of any fault; so the
fast path never changes what is accepted or what an error says.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from framescope.replay.records import Attributes, EventRecord, LinkRecord, SpanRecord

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "KIND_NAMES",
    "KIND_SPELLINGS",
    "SPAN_ID_HEX",
    "STATUS_NAMES",
    "STATUS_SPELLINGS",
    "TRACE_ID_HEX",
    "UINT64_MAX",
    "fast_attributes",
    "fast_event",
    "fast_link",
    "fast_span",
    "loads_json",
]

KIND_NAMES: tuple[str, ...] = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
#: Status.StatusCode enum values, index = protobuf number.
STATUS_NAMES: tuple[str, ...] = ("UNSET", "OK", "ERROR")

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1
_TRACE_ID = re.compile("[0-9a-f]{32}").fullmatch
_SPAN_ID = re.compile("[0-9a-f]{16}").fullmatch
_NO_PARENT = "0" * 16
# Enum spellings the fast path reads: numbers (OTLP/JSON) and prefixed names (protobuf's
# MessageToJson, which framescope's own trace file writer uses).
_FAST_KINDS: dict[Any, str] = {
    **dict(enumerate(KIND_NAMES)),
    **{f"SPAN_KIND_{name}": name for name in KIND_NAMES},
}
_FAST_STATUS: dict[Any, str] = {
    **dict(enumerate(STATUS_NAMES)),
    **{f"STATUS_CODE_{name}": name for name in STATUS_NAMES},
}
# What the typed fast path (otlp_json_typed.py) checks against: the same spellings.
TRACE_ID_HEX = _TRACE_ID
SPAN_ID_HEX = _SPAN_ID
KIND_SPELLINGS = _FAST_KINDS
STATUS_SPELLINGS = _FAST_STATUS


def loads_json(text: str | bytes) -> Any:
    """A trace document's JSON: orjson (several times faster on the large documents replay
    reads), the standard library for what orjson refuses (``NaN`` literals, lone-surrogate
    escapes), so those read as before and malformed JSON raises the standard
    ``json.JSONDecodeError`` with its line and column.

    orjson reads an integer beyond 64 bits as a float; no trace format has one where a value
    matters (OTLP and Jaeger integers are int64, and out of that range they are refused
    either way).  framescope's own JSON-in-attributes is read by the codec with the standard
    library, which keeps such integers exact in frame data.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def fast_span(span: Any, resource: Attributes, scope_name: str, scope_version: str) -> SpanRecord | None:
    """The span as the SDK's exporter and the Collector write it (lowercase hex ids, decimal
    string times, enum numbers, simple attribute values), read without building a JSON path
    for every field.  ``None`` for anything else: the checking reader then reads every field
    and names the path of any fault.  Replay reads thousands of spans a second this way."""
    if type(span) is not dict:
        return None
    get = span.get
    trace_id = get("traceId")
    span_id = get("spanId")
    name = get("name", "")
    start = get("startTimeUnixNano")
    end = get("endTimeUnixNano")
    if (
        type(trace_id) is not str
        or type(span_id) is not str
        or type(name) is not str
        or type(start) is not str
        or type(end) is not str
        or not _TRACE_ID(trace_id)
        or not _SPAN_ID(span_id)
    ):
        return None
    parent = get("parentSpanId")
    if parent == "" or parent == _NO_PARENT:
        parent = None
    elif parent is not None and (type(parent) is not str or not _SPAN_ID(parent)):
        return None
    kind = get("kind", 0)
    status = get("status")
    code: Any = 0
    message: Any = ""
    if status is not None:
        if type(status) is not dict:
            return None
        code = status.get("code", 0)
        message = status.get("message", "")
    kind_name = _FAST_KINDS.get(kind) if type(kind) is int or type(kind) is str else None
    status_name = _FAST_STATUS.get(code) if type(code) is int or type(code) is str else None
    if kind_name is None or status_name is None:
        return None
    if type(message) is not str or not (start.isdigit() and end.isdigit()):
        return None
    start_ns = int(start)
    end_ns = int(end)
    if start_ns > UINT64_MAX or end_ns > UINT64_MAX:
        return None
    attributes = fast_attributes(get("attributes"))
    if attributes is None:
        return None
    events: list[EventRecord] = []
    raw_events = get("events")
    if raw_events is not None:
        if type(raw_events) is not list:
            return None
        for raw in raw_events:
            event = fast_event(raw)
            if event is None:
                return None
            events.append(event)
    links: list[LinkRecord] = []
    raw_links = get("links")
    if raw_links is not None:
        if type(raw_links) is not list:
            return None
        for raw in raw_links:
            link = fast_link(raw)
            if link is None:
                return None
            links.append(link)
    return SpanRecord(
        trace_id,
        span_id,
        name,
        start_ns,
        end_ns,
        parent,
        kind_name,
        attributes,
        events,
        links,
        status_name,
        message,
        dict(resource),
        scope_name,
        scope_version,
    )


def fast_link(link: Any) -> LinkRecord | None:
    if type(link) is not dict:
        return None
    trace_id = link.get("traceId")
    span_id = link.get("spanId")
    if type(trace_id) is not str or type(span_id) is not str or not _TRACE_ID(trace_id) or not _SPAN_ID(span_id):
        return None
    attributes = fast_attributes(link.get("attributes"))
    if attributes is None:
        return None
    return LinkRecord(trace_id, span_id, attributes)


def fast_event(event: Any) -> EventRecord | None:
    """The common event (a name, a decimal-string or integer time, simple attributes) read
    without building a JSON path for every value: a trace holds one event per frame, and
    the paths only matter for error messages.  ``None`` sends it to the checking reader,
    which names the path of any fault."""
    if type(event) is not dict:
        return None
    name = event.get("name", "")
    time = event.get("timeUnixNano")
    if type(name) is not str or time is None:
        return None
    try:
        number = int(time) if type(time) is str else time
    except ValueError:
        return None
    if type(number) is not int or not 0 <= number <= UINT64_MAX:
        return None
    attributes = fast_attributes(event.get("attributes"))
    if attributes is None:
        return None
    return EventRecord(name, number, attributes)


def fast_attributes(items: Any) -> Attributes | None:
    """Attributes whose values are all strings, int64s, bools or doubles (framescope writes
    only these); ``None`` for anything else, to be read by the checking reader."""
    if items is None:
        return {}
    if type(items) is not list:
        return None
    result: Attributes = {}
    try:
        for item in items:
            key = item["key"]
            value = item["value"]
            if type(key) is not str or type(value) is not dict or len(value) != 1:
                return None
            inner = value.get("stringValue")
            if type(inner) is str:
                result[key] = inner
                continue
            inner = value.get("intValue")
            if inner is not None:
                if type(inner) is not str and type(inner) is not int:
                    return None
                number = int(inner)
                if not INT64_MIN <= number <= INT64_MAX:
                    return None
                result[key] = number
                continue
            inner = value.get("boolValue")
            if type(inner) is bool:
                result[key] = inner
                continue
            inner = value.get("doubleValue")
            if type(inner) is float or type(inner) is int:
                result[key] = float(inner)
                continue
            return None
    except (TypeError, KeyError, ValueError):  # not an object, no key/value, not a decimal
        return None
    return result
