"""SpanRecord -> OTLP/JSON, the inverse of :func:`~framescope.replay.sources.parse_otlp_json`.

The writer is shared with :mod:`.tempo`, which only changes the id and enum spelling.  Used by
tests and benchmarks to produce what the Collector's file exporter (or Jaeger's v3 API) would
hold for a run.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from framescope.replay.records import Attributes, EventRecord, LinkRecord, SpanRecord
from framescope.replay.sources.otlp_json import KIND_NAMES, STATUS_NAMES

__all__ = ["JsonStyle", "encode_attributes", "encode_resource_spans", "freeze", "group_spans", "spans_to_otlp_json"]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


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
    return _with_attributes(out, event.attributes, style)


def _encode_link(link: LinkRecord, style: JsonStyle) -> dict[str, Any]:
    out = {"traceId": _encode_id(link.trace_id, style), "spanId": _encode_id(link.span_id, style)}
    return _with_attributes(out, link.attributes, style)


def _with_attributes(out: dict[str, Any], attributes: Attributes, style: JsonStyle) -> dict[str, Any]:
    """``out`` with an ``attributes`` list when there are any (OTLP/JSON omits empty lists)."""
    if attributes:
        out["attributes"] = encode_attributes(attributes, style)
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
