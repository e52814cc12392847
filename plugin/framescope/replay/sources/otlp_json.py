"""OTLP/JSON <-> SpanRecord.

OTLP/JSON is the one format every backend can speak back: the Collector's file exporter
writes it (one ``ExportTraceServiceRequest`` a line), Jaeger's v3 API wraps it in
``{"result": ...}``, and Tempo answers a close cousin of it (gogo-jsonpb: base64 ids, enum
names) as ``{"batches": [...]}`` or ``{"trace": {...}}``.  So a single tolerant reader covers
all of them, and the writer here is shared with :mod:`.tempo`, which only changes the id
and enum spelling.

Reading is tolerant of every spelling the protobuf JSON mapping allows (hex or base64 ids,
enum ints or names, int64 as strings or numbers, camelCase or original field names) but
strict about structure: anything it cannot read raises :class:`TraceFormatError` with the
JSON path of the offending value, because a skipped span would silently drop frames.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from framescope.errors import TraceFormatError
from framescope.telemetry.records import (
    Attributes,
    EventRecord,
    LinkRecord,
    SpanRecord,
    normalize_span_id,
    normalize_trace_id,
)

__all__ = [
    "KIND_NAMES",
    "STATUS_NAMES",
    "parse_otlp_json",
    "spans_to_otlp_json",
]

#: SpanKind enum values, index = protobuf number.
KIND_NAMES: tuple[str, ...] = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
#: Status.StatusCode enum values, index = protobuf number.
STATUS_NAMES: tuple[str, ...] = ("UNSET", "OK", "ERROR")

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1
_HEX = frozenset("0123456789abcdefABCDEF")

_ACCEPTED = (
    "an OTLP/JSON ExportTraceServiceRequest ({\"resourceSpans\": [...]}), Jaeger v3's "
    "{\"result\": {...}}, Tempo v2's {\"trace\": {...}} or Tempo v1's {\"batches\": [...]}"
)


# --------------------------------------------------------------------------- reading


def parse_otlp_json(document: Mapping[str, Any]) -> list[SpanRecord]:
    """Read every span of an OTLP/JSON document (or a Jaeger v3 / Tempo wrapper of one).

    Spans come back in document order.  Raises :class:`TraceFormatError` on anything that
    is not one of the accepted shapes or has a malformed field.
    """
    if not isinstance(document, Mapping):
        raise TraceFormatError(
            f"expected a JSON object, got {type(document).__name__}; pass {_ACCEPTED}"
        )
    resource_spans, where = _unwrap(document)
    if not isinstance(resource_spans, list):
        raise TraceFormatError(
            f"expected a list, got {type(resource_spans).__name__}", where=where
        )
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
    raise TraceFormatError(
        f"no resourceSpans found (top-level keys: {keys}); expected {_ACCEPTED}"
    )


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
                _read_span(span, f"{ss_where}.spans[{k}]", resource, scope_name, scope_version)
            )


def _read_span(
    span: Any, where: str, resource: Attributes, scope_name: str, scope_version: str
) -> SpanRecord:
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
            _fast_event(e) or _read_event(e, f"{where}.events[{i}]")
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


def _fast_event(event: Any) -> EventRecord | None:
    """The common event (a name, a decimal-string or integer time, simple attributes) read
    without building a JSON path for every value: a trace holds one event per frame, and
    the paths only matter for error messages.  ``None`` sends it to :func:`_read_event`,
    which checks everything and names the path of any fault."""
    if type(event) is not dict:
        return None
    name = event.get("name", "")
    time = event.get("timeUnixNano")
    if type(name) is not str or time is None:
        return None
    try:
        number = int(time) if type(time) is str else time
        if type(number) is not int or not 0 <= number <= _UINT64_MAX:
            return None
        attributes = _fast_attributes(event.get("attributes"))
    except ValueError:
        return None
    if attributes is None:
        return None
    return EventRecord(name, number, attributes)


def _fast_attributes(items: Any) -> Attributes | None:
    """Attributes whose values are all strings, int64s or bools (framescope writes only
    these); ``None`` for anything else, to be read by :func:`read_attributes`."""
    if items is None:
        return {}
    if type(items) is not list:
        return None
    result: Attributes = {}
    for item in items:
        if type(item) is not dict:
            return None
        key = item.get("key")
        value = item.get("value")
        if type(key) is not str or type(value) is not dict or len(value) != 1:
            return None
        for kind, inner in value.items():
            if kind == "stringValue" and type(inner) is str:
                result[key] = inner
            elif kind == "intValue" and (type(inner) is str or type(inner) is int):
                number = int(inner)
                if not _INT64_MIN <= number <= _INT64_MAX:
                    return None
                result[key] = number
            elif kind == "boolValue" and type(inner) is bool:
                result[key] = inner
            else:
                return None
    return result


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
    if not 0 <= number <= _UINT64_MAX:
        raise TraceFormatError(f"{number} is outside the uint64 range", where=where)
    return number


def read_int64(value: Any, where: str) -> int:
    number = _read_integer(value, where)
    if not _INT64_MIN <= number <= _INT64_MAX:
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
    raise TraceFormatError(
        f"expected an integer (a JSON number or a decimal string), got {value!r}", where=where
    )


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
        raise TraceFormatError(
            f"an AnyValue holds exactly one field, got {sorted(value)}", where=where
        )
    (kind, inner), = value.items()
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


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True, slots=True)
class JsonStyle:
    """How a JSON dialect spells ids, enums and event order.

    OTLP/JSON (the Collector's file exporter): hex ids, enum numbers.  Tempo's
    gogo-jsonpb: base64 ids, enum names, events sorted by (time, name).
    """

    base64_ids: bool = False
    enum_names: bool = False
    sort_events: bool = False


OTLP_STYLE = JsonStyle()


def spans_to_otlp_json(spans: Iterable[SpanRecord], *, preserve_order: bool = True) -> dict[str, Any]:
    """The OTLP/JSON ``ExportTraceServiceRequest`` for ``spans``.

    This is the object the Collector's file exporter writes one per line: hex ids, enum
    numbers, int64 values and times as decimal strings, spans grouped under their resource
    and instrumentation scope.

    With ``preserve_order`` (the default) only *consecutive* spans sharing a resource and
    scope are grouped, so reading the result back yields the spans in the same order and
    ``parse_otlp_json(spans_to_otlp_json(x)) == x``.  ``preserve_order=False`` groups every
    span of a resource/scope together (the SDK exporter's layout) at the cost of order
    across groups.
    """
    return {"resourceSpans": encode_resource_spans(spans, OTLP_STYLE, preserve_order=preserve_order)}


def encode_resource_spans(
    spans: Iterable[SpanRecord], style: JsonStyle, *, preserve_order: bool = True
) -> list[dict[str, Any]]:
    """The ``resourceSpans`` list in the given dialect (shared with :mod:`.tempo`)."""
    out: list[dict[str, Any]] = []
    for resource, scopes in group_spans(spans, preserve_order=preserve_order):
        rs: dict[str, Any] = {"resource": _encode_resource(resource, style)}
        rs["scopeSpans"] = [
            {
                "scope": _encode_scope(name, version),
                "spans": [_encode_span(s, style) for s in members],
            }
            for (name, version), members in scopes
        ]
        out.append(rs)
    return out


def group_spans(
    spans: Iterable[SpanRecord], *, preserve_order: bool = True
) -> list[tuple[Attributes, list[tuple[tuple[str, str], list[SpanRecord]]]]]:
    """Group spans by resource, then by (scope name, scope version).

    Groups keep the order in which they first appear.  With ``preserve_order`` a group is
    only extended by the span right after it, so flattening the groups gives back the
    input order exactly.
    """
    groups: list[tuple[Attributes, list[tuple[tuple[str, str], list[SpanRecord]]]]] = []
    index: dict[Any, int] = {}
    scope_index: dict[tuple[Any, tuple[str, str]], int] = {}
    last_key: Any = object()
    for span in spans:
        rkey = freeze(span.resource)
        skey = (span.scope_name, span.scope_version)
        if preserve_order:
            if groups and rkey == last_key:
                scopes = groups[-1][1]
                if scopes[-1][0] == skey:
                    scopes[-1][1].append(span)
                else:
                    scopes.append((skey, [span]))
            else:
                groups.append((dict(span.resource), [(skey, [span])]))
            last_key = rkey
            continue
        if rkey not in index:
            index[rkey] = len(groups)
            groups.append((dict(span.resource), []))
        scopes = groups[index[rkey]][1]
        if (rkey, skey) not in scope_index:
            scope_index[(rkey, skey)] = len(scopes)
            scopes.append((skey, []))
        scopes[scope_index[(rkey, skey)]][1].append(span)
    return groups


def freeze(value: Any) -> Any:
    """A hashable, type-exact key for an attribute value (so 1, 1.0 and True differ)."""
    if isinstance(value, Mapping):
        return ("map", tuple(sorted((k, freeze(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("list", tuple(freeze(v) for v in value))
    if isinstance(value, float) and math.isnan(value):
        return (float, "nan")
    return (type(value), value)


def _encode_resource(resource: Attributes, style: JsonStyle) -> dict[str, Any]:
    return {"attributes": encode_attributes(resource, style)} if resource else {}


def _encode_scope(name: str, version: str) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    if name:
        scope["name"] = name
    if version:
        scope["version"] = version
    return scope


def _encode_id(hex_id: str, style: JsonStyle) -> str:
    if style.base64_ids:
        return base64.b64encode(bytes.fromhex(hex_id)).decode("ascii")
    return hex_id


def _encode_enum(value: str, names: tuple[str, ...], prefix: str, style: JsonStyle) -> Any:
    if value not in names:
        raise ValueError(f"unknown enum value {value!r}; expected one of {', '.join(names)}")
    return f"{prefix}{value}" if style.enum_names else names.index(value)


def _encode_span(span: SpanRecord, style: JsonStyle) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": _encode_id(span.trace_id, style),
        "spanId": _encode_id(span.span_id, style),
    }
    if span.parent_span_id:
        out["parentSpanId"] = _encode_id(span.parent_span_id, style)
    out["name"] = span.name
    if span.kind != "UNSPECIFIED":
        out["kind"] = _encode_enum(span.kind, KIND_NAMES, "SPAN_KIND_", style)
    out["startTimeUnixNano"] = str(span.start_time_unix_nano)
    out["endTimeUnixNano"] = str(span.end_time_unix_nano)
    if span.attributes:
        out["attributes"] = encode_attributes(span.attributes, style)
    events = span.events
    if style.sort_events:
        events = sorted(events, key=lambda e: (e.time_unix_nano, e.name))
    if events:
        out["events"] = [_encode_event(e, style) for e in events]
    if span.links:
        out["links"] = [_encode_link(x, style) for x in span.links]
    status: dict[str, Any] = {}
    if span.status_message:
        status["message"] = span.status_message
    if span.status_code != "UNSET":
        status["code"] = _encode_enum(span.status_code, STATUS_NAMES, "STATUS_CODE_", style)
    out["status"] = status
    return out


def _encode_event(event: EventRecord, style: JsonStyle) -> dict[str, Any]:
    out: dict[str, Any] = {"timeUnixNano": str(event.time_unix_nano)}
    if event.name:
        out["name"] = event.name
    if event.attributes:
        out["attributes"] = encode_attributes(event.attributes, style)
    return out


def _encode_link(link: LinkRecord, style: JsonStyle) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": _encode_id(link.trace_id, style),
        "spanId": _encode_id(link.span_id, style),
    }
    if link.attributes:
        out["attributes"] = encode_attributes(link.attributes, style)
    return out


def encode_attributes(attributes: Mapping[str, Any], style: JsonStyle = OTLP_STYLE) -> list[dict[str, Any]]:
    """A dict as the repeated KeyValue list of OTLP/JSON."""
    return [{"key": key, "value": encode_any_value(value)} for key, value in attributes.items()]


def encode_any_value(value: Any) -> dict[str, Any]:
    """A Python value as an OTLP/JSON AnyValue (inverse of :func:`read_any_value`)."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"integer attribute {value} does not fit in int64")
        return {"intValue": str(value)}
    if isinstance(value, float):
        if math.isnan(value):
            return {"doubleValue": "NaN"}
        if math.isinf(value):
            return {"doubleValue": "Infinity" if value > 0 else "-Infinity"}
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"bytesValue": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [encode_any_value(v) for v in value]}}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": encode_attributes(value)}}
    raise ValueError(
        f"attribute value of type {type(value).__name__} has no OTLP AnyValue form; "
        "use str, bool, int, float, bytes, list or dict"
    )
