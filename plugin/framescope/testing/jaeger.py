"""SpanRecord -> Jaeger v1 JSON, by the otlp2jaeger rules that
:mod:`framescope.replay.sources.jaeger` documents and undoes.

``spans_to_jaeger_v1`` shows what Jaeger would answer for a run, so tests check replay
through Jaeger without a server.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from framescope.replay.records import Attributes, EventRecord, SpanRecord
from framescope.replay.sources.jaeger import NO_SERVICE_NAME
from framescope.testing.otlp_json import freeze

__all__ = ["spans_to_jaeger_v1"]

_JS_SAFE = 2**53 - 1


def spans_to_jaeger_v1(spans: Iterable[SpanRecord]) -> dict[str, Any]:
    """What Jaeger's ``GET /api/traces/{id}?raw=true`` would answer for ``spans``.

    One trace per trace id (in order of first appearance), processes deduplicated as
    ``p1, p2, ...``, and each span converted by the otlp2jaeger rules listed in the module
    docstring.
    """
    traces: dict[str, list[SpanRecord]] = {}
    for span in spans:
        traces.setdefault(span.trace_id, []).append(span)
    return {
        "data": [_write_trace(trace_id, members) for trace_id, members in traces.items()],
        "total": 0,
        "limit": 0,
        "offset": 0,
        "errors": None,
    }


def _jaeger_trace_id(trace_id: str) -> str:
    """Jaeger prints 64-bit trace ids (high half zero) with 16 hex digits."""
    return trace_id[16:] if trace_id.startswith("0" * 16) else trace_id


def _write_trace(trace_id: str, spans: list[SpanRecord]) -> dict[str, Any]:
    processes: dict[str, dict[str, Any]] = {}
    process_ids: dict[Any, str] = {}
    out_spans = []
    for span in spans:
        key = freeze(span.resource)
        if key not in process_ids:
            process_ids[key] = f"p{len(process_ids) + 1}"
            processes[process_ids[key]] = _write_process(span.resource)
        out_spans.append(_write_span(span, process_ids[key]))
    return {
        "traceID": _jaeger_trace_id(trace_id),
        "spans": out_spans,
        "processes": processes,
        "warnings": None,
    }


def _write_process(resource: Attributes) -> dict[str, Any]:
    if not resource:
        return {"serviceName": NO_SERVICE_NAME, "tags": []}
    service = resource.get("service.name", "")
    return {
        "serviceName": service if isinstance(service, str) else _as_text(service),
        "tags": [_tag(k, v) for k, v in resource.items() if k != "service.name"],
    }


def _write_span(span: SpanRecord, process_id: str) -> dict[str, Any]:
    tid = _jaeger_trace_id(span.trace_id)
    return {
        "traceID": tid,
        "spanID": span.span_id,
        "operationName": span.name,
        "references": _write_references(span, tid),
        "startTime": span.start_time_unix_nano // 1000,
        "duration": _trunc_div(span.end_time_unix_nano - span.start_time_unix_nano, 1000),
        "tags": _write_tags(span),
        "logs": [_write_log(e) for e in span.events],
        "processID": process_id,
        "warnings": None,
    }


def _trunc_div(a: int, b: int) -> int:
    """Go's integer division truncates toward zero (a negative duration stays negative)."""
    q = abs(a) // b
    return q if a >= 0 else -q


def _write_references(span: SpanRecord, trace_id: str) -> list[dict[str, Any]]:
    refs: list[dict[str, Any]] = []
    if span.parent_span_id:
        refs.append({"refType": "CHILD_OF", "traceID": trace_id, "spanID": span.parent_span_id})
    for link in span.links:
        ref_type = "CHILD_OF" if link.attributes.get("opentracing.ref_type") == "child_of" else "FOLLOWS_FROM"
        link_tid = _jaeger_trace_id(link.trace_id)
        if span.parent_span_id and link.trace_id == span.trace_id and link.span_id == span.parent_span_id:
            refs[0]["refType"] = ref_type  # Jaeger keeps one reference to the parent
            continue
        refs.append({"refType": ref_type, "traceID": link_tid, "spanID": link.span_id})
    return refs


def _write_tags(span: SpanRecord) -> list[dict[str, Any]]:
    tags = []
    if span.scope_name:
        tags.append(_tag("otel.scope.name", span.scope_name))
    if span.scope_version:
        tags.append(_tag("otel.scope.version", span.scope_version))
    tags.extend(_tag(k, v) for k, v in span.attributes.items())
    if span.kind != "UNSPECIFIED":
        tags.append(_tag("span.kind", span.kind.lower()))
    if span.status_code in ("OK", "ERROR"):
        tags.append(_tag("otel.status_code", span.status_code))
    if span.status_code == "ERROR":
        tags.append(_tag("error", True))
    if span.status_message:
        tags.append(_tag("otel.status_description", span.status_message))
    return tags


def _write_log(event: EventRecord) -> dict[str, Any]:
    fields = []
    if event.name and "event" not in event.attributes:
        fields.append(_tag("event", event.name))
    fields.extend(_tag(k, v) for k, v in event.attributes.items())
    return {"timestamp": event.time_unix_nano // 1000, "fields": fields}


def _tag(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "type": "bool", "value": value}
    if isinstance(value, int):
        return {"key": key, "type": "int64", "value": value if abs(value) <= _JS_SAFE else str(value)}
    if isinstance(value, float):
        return {"key": key, "type": "float64", "value": value if math.isfinite(value) else str(value)}
    if isinstance(value, (bytes, bytearray)):
        return {"key": key, "type": "binary", "value": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, str):
        return {"key": key, "type": "string", "value": value}
    return {"key": key, "type": "string", "value": _as_text(value)}


def _as_text(value: Any) -> str:
    """Arrays and maps become JSON text, as pcommon's ``Value.AsString`` writes them."""
    if value is None:
        return ""
    return json.dumps(_raw(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _raw(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {k: _raw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_raw(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
