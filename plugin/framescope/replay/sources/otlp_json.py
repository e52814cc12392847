"""OTLP/JSON -> SpanRecord.

OTLP/JSON is the one format every backend can speak back: the Collector's file exporter
writes it (one ``ExportTraceServiceRequest`` a line), Jaeger's v3 API wraps it in
``{"result": ...}``, and Tempo answers a close cousin of it (gogo-jsonpb: base64 ids, enum
names) as ``{"batches": [...]}`` or ``{"trace": {...}}``.  So a single tolerant reader covers
all of them (the writer, a test double, is :mod:`framescope.testing.otlp_json`).

Reading is tolerant of every spelling the protobuf JSON mapping allows (hex or base64 ids,
enum ints or names, int64 as strings or numbers, camelCase or original field names) but
strict about structure: anything it cannot read raises :class:`TraceFormatError` with the
JSON path of the offending value, because a skipped span would silently drop frames.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from framescope.errors import TraceFormatError
from framescope.replay.records import (
    Attributes,
    EventRecord,
    LinkRecord,
    SpanRecord,
    normalize_span_id,
    normalize_trace_id,
)
from framescope.replay.sources.otlp_json_fast import (
    INT64_MAX,
    INT64_MIN,
    KIND_NAMES,
    STATUS_NAMES,
    UINT64_MAX,
    fast_event,
    fast_span,
    loads_json,
)

__all__ = [
    "KIND_NAMES",
    "STATUS_NAMES",
    "loads_json",
    "parse_otlp_json",
]

#: SpanKind enum values, index = protobuf number.
_HEX = frozenset("0123456789abcdefABCDEF")

_ACCEPTED = (
    'an OTLP/JSON ExportTraceServiceRequest ({"resourceSpans": [...]}), Jaeger v3\'s '
    '{"result": {...}}, Tempo v2\'s {"trace": {...}} or Tempo v1\'s {"batches": [...]}'
)


# --------------------------------------------------------------------------- reading


def parse_otlp_json(document: Mapping[str, Any]) -> list[SpanRecord]:
    """Read every span of an OTLP/JSON document (or a Jaeger v3 / Tempo wrapper of one).

    Spans come back in document order.  Raises :class:`TraceFormatError` on anything that
    is not one of the accepted shapes or has a malformed field.
    """
    if not isinstance(document, Mapping):
        raise TraceFormatError(f"expected a JSON object, got {type(document).__name__}; pass {_ACCEPTED}")
    resource_spans, where = _unwrap(document)
    if not isinstance(resource_spans, list):
        raise TraceFormatError(f"expected a list, got {type(resource_spans).__name__}", where=where)
    records: list[SpanRecord] = []
    for i, rs in enumerate(resource_spans):
        _read_resource_spans(rs, f"{where}[{i}]", records)
    return records


def _unwrap(document: Mapping[str, Any]) -> tuple[Any, str]:
    """Find the ResourceSpans list inside the wrappers the backends use."""
    for key in ("resourceSpans", "resource_spans", "batches"):
        if key in document:
            return document[key], key
    if not document:  # proto3 JSON of an empty ExportTraceServiceRequest
        return [], "resourceSpans"
    if "result" in document:  # Jaeger v3 (grpc-gateway) GetTrace answer
        inner = document["result"]
        if isinstance(inner, Mapping):
            value, where = _unwrap_inner(inner)
            return value, f"result.{where}" if where else "result"
        raise TraceFormatError("expected an object", where="result")
    if "trace" in document:  # Tempo v2 /api/v2/traces/{id}
        inner = document["trace"]
        if isinstance(inner, Mapping):
            value, where = _unwrap_inner(inner)
            return value, f"trace.{where}" if where else "trace"
        raise TraceFormatError("expected an object", where="trace")
    if "error" in document:  # Jaeger v3 error body, e.g. {"error": {"httpCode": 404, ...}}
        raise TraceFormatError(
            f"the document is an error answer, not a trace: {document['error']!r}; "
            "check the trace id and the backend URL"
        )
    keys = ", ".join(sorted(map(str, document))[:8]) or "none"
    raise TraceFormatError(f"no resourceSpans found (top-level keys: {keys}); expected {_ACCEPTED}")


def _unwrap_inner(inner: Mapping[str, Any]) -> tuple[Any, str]:
    for key in ("resourceSpans", "resource_spans", "batches"):
        if key in inner:
            return inner[key], key
    if not inner:  # an empty trace ({"trace": {}}) is a trace with no spans
        return [], ""
    keys = ", ".join(sorted(map(str, inner))[:8])
    raise TraceFormatError(f"no resourceSpans found (keys: {keys}); expected {_ACCEPTED}")


def _get(obj: Mapping[str, Any], camel: str, snake: str | None = None, default: Any = None) -> Any:
    """Proto3 JSON allows both the lowerCamelCase and the original field name."""
    if camel in obj:
        return obj[camel]
    if snake is not None and snake in obj:
        return obj[snake]
    return default


def _expect_object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TraceFormatError(f"expected an object, got {type(value).__name__}", where=where)
    return value


def _expect_list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TraceFormatError(f"expected a list, got {type(value).__name__}", where=where)
    return value


def _read_resource_spans(rs: Any, where: str, out: list[SpanRecord]) -> None:
    rs = _expect_object(rs, where)
    resource_obj = _get(rs, "resource", default=None) or {}
    resource = read_attributes(
        _get(_expect_object(resource_obj, f"{where}.resource"), "attributes"),
        f"{where}.resource.attributes",
    )
    if "scopeSpans" in rs or "scope_spans" in rs:
        key, scope_key = "scopeSpans", "scope"
        scope_lists = _get(rs, "scopeSpans", "scope_spans")
    else:  # OTLP < 0.19 / old Tempo: InstrumentationLibrarySpans
        key, scope_key = "instrumentationLibrarySpans", "instrumentationLibrary"
        scope_lists = _get(rs, "instrumentationLibrarySpans", "instrumentation_library_spans")
    for j, ss in enumerate(_expect_list(scope_lists, f"{where}.{key}")):
        ss_where = f"{where}.{key}[{j}]"
        ss = _expect_object(ss, ss_where)
        scope = _get(ss, scope_key, "instrumentation_library" if scope_key != "scope" else None)
        scope = _expect_object(scope or {}, f"{ss_where}.{scope_key}")
        scope_name = _read_str(scope.get("name", ""), f"{ss_where}.{scope_key}.name")
        scope_version = _read_str(scope.get("version", ""), f"{ss_where}.{scope_key}.version")
        for k, span in enumerate(_expect_list(ss.get("spans"), f"{ss_where}.spans")):
            out.append(
                fast_span(span, resource, scope_name, scope_version)
                or _read_span(span, f"{ss_where}.spans[{k}]", resource, scope_name, scope_version)
            )


def _read_span(span: Any, where: str, resource: Attributes, scope_name: str, scope_version: str) -> SpanRecord:
    span = _expect_object(span, where)
    trace_id = decode_trace_id(_get(span, "traceId", "trace_id"), f"{where}.traceId")
    span_id = decode_span_id(_get(span, "spanId", "span_id"), f"{where}.spanId")
    parent_raw = _get(span, "parentSpanId", "parent_span_id")
    parent = None
    if parent_raw not in (None, ""):
        parent = decode_span_id(parent_raw, f"{where}.parentSpanId")
        if parent == "0" * 16:  # some emitters write zeros for "no parent"
            parent = None
    status = _expect_object(span.get("status") or {}, f"{where}.status")
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=_read_str(span.get("name", ""), f"{where}.name"),
        kind=read_enum(span.get("kind", 0), KIND_NAMES, "SPAN_KIND_", f"{where}.kind"),
        start_time_unix_nano=read_uint64(
            _get(span, "startTimeUnixNano", "start_time_unix_nano", 0), f"{where}.startTimeUnixNano"
        ),
        end_time_unix_nano=read_uint64(
            _get(span, "endTimeUnixNano", "end_time_unix_nano", 0), f"{where}.endTimeUnixNano"
        ),
        attributes=read_attributes(span.get("attributes"), f"{where}.attributes"),
        events=[
            fast_event(e) or _read_event(e, f"{where}.events[{i}]")
            for i, e in enumerate(_expect_list(span.get("events"), f"{where}.events"))
        ],
        links=[
            _read_link(x, f"{where}.links[{i}]")
            for i, x in enumerate(_expect_list(span.get("links"), f"{where}.links"))
        ],
        status_code=read_enum(status.get("code", 0), STATUS_NAMES, "STATUS_CODE_", f"{where}.status.code"),
        status_message=_read_str(status.get("message", ""), f"{where}.status.message"),
        resource=dict(resource),
        scope_name=scope_name,
        scope_version=scope_version,
    )


def _read_event(event: Any, where: str) -> EventRecord:
    event = _expect_object(event, where)
    return EventRecord(
        name=_read_str(event.get("name", ""), f"{where}.name"),
        time_unix_nano=read_uint64(_get(event, "timeUnixNano", "time_unix_nano", 0), f"{where}.timeUnixNano"),
        attributes=read_attributes(event.get("attributes"), f"{where}.attributes"),
    )


def _read_link(link: Any, where: str) -> LinkRecord:
    link = _expect_object(link, where)
    return LinkRecord(
        trace_id=decode_trace_id(_get(link, "traceId", "trace_id"), f"{where}.traceId"),
        span_id=decode_span_id(_get(link, "spanId", "span_id"), f"{where}.spanId"),
        attributes=read_attributes(link.get("attributes"), f"{where}.attributes"),
    )


def _read_str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise TraceFormatError(f"expected a string, got {type(value).__name__}", where=where)
    return value


def read_enum(value: Any, names: tuple[str, ...], prefix: str, where: str) -> str:
    """An enum written as its number (OTLP/JSON) or its name (gogo-jsonpb, Tempo)."""
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        if 0 <= value < len(names):
            return names[value]
    elif isinstance(value, str):
        name = value.upper()
        name = name.removeprefix(prefix)
        if name in names:
            return name
        if name.isdigit() and int(name) < len(names):
            return names[int(name)]
    allowed = ", ".join(f"{i} / {prefix}{n}" for i, n in enumerate(names))
    raise TraceFormatError(f"unknown enum value {value!r}; expected one of {allowed}", where=where)


def read_uint64(value: Any, where: str) -> int:
    """A fixed64 (times): a JSON number or, as the mapping prefers, a decimal string."""
    number = _read_integer(value, where)
    if not 0 <= number <= UINT64_MAX:
        raise TraceFormatError(f"{number} is outside the uint64 range", where=where)
    return number


def read_int64(value: Any, where: str) -> int:
    number = _read_integer(value, where)
    if not INT64_MIN <= number <= INT64_MAX:
        raise TraceFormatError(f"{number} is outside the int64 range", where=where)
    return number


def _read_integer(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise TraceFormatError("expected an integer, got a boolean", where=where)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise TraceFormatError(f"expected an integer (a JSON number or a decimal string), got {value!r}", where=where)


def decode_trace_id(value: Any, where: str) -> str:
    """A 16-byte id as hex (OTLP/JSON) or base64 (gogo-jsonpb, Tempo), as 32 hex chars."""
    return _decode_id(value, 16, where)


def decode_span_id(value: Any, where: str) -> str:
    """An 8-byte id as hex or base64, as 16 hex chars."""
    return _decode_id(value, 8, where)


def _decode_id(value: Any, size: int, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise TraceFormatError(
            f"missing or empty id (got {value!r}); every span needs a {size}-byte id in hex or base64",
            where=where,
        )
    text = value.strip()
    if len(text) <= 2 * size and all(c in _HEX for c in text):
        # Hex; shorter than full width when a backend trimmed leading zeros.
        return normalize_trace_id(text) if size == 16 else normalize_span_id(text)
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == size:
        return raw.hex()
    raise TraceFormatError(
        f"{value!r} is neither {2 * size} hex characters nor the base64 of {size} bytes",
        where=where,
    )


def read_attributes(items: Any, where: str) -> Attributes:
    """A repeated KeyValue list as a dict (later duplicates win, as in the SDK)."""
    result: Attributes = {}
    for i, item in enumerate(_expect_list(items, where)):
        item_where = f"{where}[{i}]"
        item = _expect_object(item, item_where)
        key = item.get("key")
        if not isinstance(key, str):
            raise TraceFormatError(f"attribute without a string key: {item!r}", where=item_where)
        result[key] = read_any_value(item.get("value"), f"{item_where}.value")
    return result


def read_any_value(value: Any, where: str) -> Any:
    """An OTLP AnyValue: the one set field decides the Python type.

    ``kvlistValue`` becomes a dict, ``bytesValue`` bytes, ``arrayValue`` a list; an empty
    AnyValue (allowed by the protocol) becomes ``None``.
    """
    if value is None:
        return None
    value = _expect_object(value, where)
    if not value:
        return None
    if len(value) != 1:
        raise TraceFormatError(f"an AnyValue holds exactly one field, got {sorted(value)}", where=where)
    ((kind, inner),) = value.items()
    if kind in ("stringValue", "string_value"):
        return _read_str(inner, f"{where}.{kind}")
    if kind in ("boolValue", "bool_value"):
        if not isinstance(inner, bool):
            raise TraceFormatError(f"expected true or false, got {inner!r}", where=f"{where}.{kind}")
        return inner
    if kind in ("intValue", "int_value"):
        return read_int64(inner, f"{where}.{kind}")
    if kind in ("doubleValue", "double_value"):
        return _read_double(inner, f"{where}.{kind}")
    if kind in ("bytesValue", "bytes_value"):
        if not isinstance(inner, str):
            raise TraceFormatError("expected a base64 string", where=f"{where}.{kind}")
        try:
            return base64.b64decode(inner + "=" * (-len(inner) % 4), validate=False)
        except (binascii.Error, ValueError) as exc:
            raise TraceFormatError(f"not base64: {exc}", where=f"{where}.{kind}") from None
    if kind in ("arrayValue", "array_value"):
        inner = _expect_object(inner, f"{where}.{kind}")
        values = _expect_list(inner.get("values"), f"{where}.{kind}.values")
        return [read_any_value(v, f"{where}.{kind}.values[{i}]") for i, v in enumerate(values)]
    if kind in ("kvlistValue", "kvlist_value"):
        inner = _expect_object(inner, f"{where}.{kind}")
        return read_attributes(inner.get("values"), f"{where}.{kind}.values")
    raise TraceFormatError(
        f"unknown AnyValue field {kind!r}; expected stringValue, boolValue, intValue, "
        "doubleValue, arrayValue, kvlistValue or bytesValue",
        where=where,
    )


def _read_double(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise TraceFormatError("expected a number, got a boolean", where=where)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):  # proto3 JSON: "NaN", "Infinity", "-Infinity", or a number
        try:
            return float(value)
        except ValueError:
            pass
    raise TraceFormatError(f"expected a number, got {value!r}", where=where)
