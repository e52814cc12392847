"""Jaeger v1 JSON (the ``/api/traces/{id}`` and UI format) <-> SpanRecord.

Jaeger's v1 model is not OTLP: span kind, status, scope and the error flag are tags,
events are logs, links and the parent are references, times are microseconds and tags have
no array type.  Jaeger itself converts between the two with the rules of its
``otlp2jaeger`` translator (Jaeger's ``internal/storage/.../to_dbmodel`` and
opentelemetry-collector-contrib's ``pkg/translator/jaeger``); both directions here apply
those documented rules, so ``spans_to_jaeger_v1`` shows what Jaeger would answer for a run
and ``parse_jaeger_v1`` undoes as much of it as the format keeps.

What the v1 format loses (so a round trip through it is *not* exact):

* times are truncated to microseconds;
* link attributes are dropped; only ``opentracing.ref_type`` (child_of / follows_from)
  survives, and it is put back on every parsed link, as Jaeger does;
* a link to the span's own parent merges into the parent reference, and a span without a
  parent whose link says ``child_of`` within its own trace reads back with that link as
  its parent (Jaeger's "first same-trace CHILD_OF is the parent" rule);
* array and map attributes come back as their JSON text;
* an event attribute named ``event`` replaces the event name;
* ``UNSPECIFIED`` kind writes no ``span.kind`` tag and a span without one reads back as
  ``UNSPECIFIED``; a status message without an ERROR/OK code reads back as UNSET.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from framescope.errors import TraceFormatError
from framescope.replay.sources.otlp_json import decode_span_id, decode_trace_id, freeze
from framescope.telemetry.records import Attributes, EventRecord, LinkRecord, SpanRecord

__all__ = ["parse_jaeger_v1", "spans_to_jaeger_v1"]

#: Service name Jaeger gives a resource without attributes.
NO_SERVICE_NAME = "OTLPResourceNoServiceName"
_KINDS = {k.lower(): k for k in ("CLIENT", "SERVER", "PRODUCER", "CONSUMER", "INTERNAL")}
_JS_SAFE = 2**53 - 1


# --------------------------------------------------------------------------- reading


def parse_jaeger_v1(document: Mapping[str, Any]) -> list[SpanRecord]:
    """Read the v1 envelope ``{"data": [trace, ...], ...}`` or one trace ``{traceID, spans, processes}``.

    Spans come back in document order, traces one after the other.
    """
    if not isinstance(document, Mapping):
        raise TraceFormatError(f"expected a JSON object, got {type(document).__name__}")
    if "data" in document:
        traces = document["data"]
        errors = document.get("errors")
        if errors and not traces:
            raise TraceFormatError(
                f"Jaeger answered with errors instead of a trace: {errors!r}; check the trace id"
            )
        if traces is None:
            return []
        if not isinstance(traces, list):
            raise TraceFormatError(f"expected a list, got {type(traces).__name__}", where="data")
        records: list[SpanRecord] = []
        for i, trace in enumerate(traces):
            records.extend(_read_trace(trace, f"data[{i}]"))
        return records
    if "spans" in document:
        return _read_trace(document, "")
    keys = ", ".join(sorted(map(str, document))[:8]) or "none"
    raise TraceFormatError(
        f"not a Jaeger v1 document (top-level keys: {keys}); expected the /api/traces/{{id}} "
        'envelope {"data": [...]} or one trace {"traceID", "spans", "processes"}'
    )


def _path(base: str, part: str) -> str:
    return f"{base}.{part}" if base else part


def _read_trace(trace: Any, where: str) -> list[SpanRecord]:
    if not isinstance(trace, Mapping):
        raise TraceFormatError(f"expected a trace object, got {type(trace).__name__}", where=where or None)
    processes = trace.get("processes") or {}
    if not isinstance(processes, Mapping):
        raise TraceFormatError("expected an object", where=_path(where, "processes"))
    resources: dict[str, Attributes] = {}
    for pid, process in processes.items():
        resources[pid] = _read_process(process, _path(where, f"processes.{pid}"))
    spans = trace.get("spans") or []
    if not isinstance(spans, list):
        raise TraceFormatError("expected a list", where=_path(where, "spans"))
    return [
        _read_span(span, _path(where, f"spans[{i}]"), resources)
        for i, span in enumerate(spans)
    ]


def _read_process(process: Any, where: str) -> Attributes:
    if not isinstance(process, Mapping):
        raise TraceFormatError("expected a process object", where=where)
    resource = _read_tags(process.get("tags"), f"{where}.tags")
    service = process.get("serviceName", "")
    if not isinstance(service, str):
        raise TraceFormatError("expected a string", where=f"{where}.serviceName")
    if service and not (service == NO_SERVICE_NAME and not resource):
        resource["service.name"] = service
    return resource


def _read_span(span: Any, where: str, resources: Mapping[str, Attributes]) -> SpanRecord:
    if not isinstance(span, Mapping):
        raise TraceFormatError("expected a span object", where=where)
    trace_id = decode_trace_id(span.get("traceID"), f"{where}.traceID")
    span_id = decode_span_id(span.get("spanID"), f"{where}.spanID")
    name = span.get("operationName", "")
    if not isinstance(name, str):
        raise TraceFormatError("expected a string", where=f"{where}.operationName")

    if "process" in span and isinstance(span["process"], Mapping):  # un-deduplicated form
        resource = _read_process(span["process"], f"{where}.process")
    else:
        pid = span.get("processID")
        if pid is None and not resources:
            resource = {}
        elif pid not in resources:
            raise TraceFormatError(
                f"processID {pid!r} is not in the trace's processes ({', '.join(resources) or 'none'})",
                where=f"{where}.processID",
            )
        else:
            resource = resources[pid]

    start_us = _read_int(span.get("startTime", 0), f"{where}.startTime")
    duration_us = _read_int(span.get("duration", 0), f"{where}.duration")
    parent, links = _read_references(span, trace_id, where)

    tags = _read_tags(span.get("tags"), f"{where}.tags")
    kind = "UNSPECIFIED"
    kind_tag = tags.get("span.kind")
    if isinstance(kind_tag, str) and kind_tag.lower() in _KINDS:
        kind = _KINDS[kind_tag.lower()]
        del tags["span.kind"]
    status_code, status_message = _status_from_tags(tags)
    scope_name = _pop_str(tags, "otel.scope.name", "otel.library.name")
    scope_version = _pop_str(tags, "otel.scope.version", "otel.library.version")
    tags.pop("w3c.tracestate", None)  # SpanRecord keeps no trace state

    logs = span.get("logs") or []
    if not isinstance(logs, list):
        raise TraceFormatError("expected a list", where=f"{where}.logs")
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        kind=kind,
        start_time_unix_nano=start_us * 1000,
        end_time_unix_nano=(start_us + duration_us) * 1000,
        attributes=tags,
        events=[_read_log(log, f"{where}.logs[{i}]") for i, log in enumerate(logs)],
        links=links,
        status_code=status_code,
        status_message=status_message,
        resource=dict(resource),
        scope_name=scope_name,
        scope_version=scope_version,
    )


def _read_references(span: Mapping[str, Any], trace_id: str, where: str) -> tuple[str | None, list[LinkRecord]]:
    """The parent is the explicit ``parentSpanID`` if given, else the first CHILD_OF
    reference within the same trace (Jaeger's rule); every other reference is a link."""
    refs = span.get("references") or []
    if not isinstance(refs, list):
        raise TraceFormatError("expected a list", where=f"{where}.references")
    parsed: list[tuple[str, str, str]] = []
    for i, ref in enumerate(refs):
        ref_where = f"{where}.references[{i}]"
        if not isinstance(ref, Mapping):
            raise TraceFormatError("expected a reference object", where=ref_where)
        ref_type = str(ref.get("refType", "CHILD_OF")).upper()
        if ref_type not in ("CHILD_OF", "FOLLOWS_FROM"):
            raise TraceFormatError(
                f"unknown refType {ref.get('refType')!r}; expected CHILD_OF or FOLLOWS_FROM",
                where=f"{ref_where}.refType",
            )
        parsed.append((
            ref_type,
            decode_trace_id(ref.get("traceID"), f"{ref_where}.traceID"),
            decode_span_id(ref.get("spanID"), f"{ref_where}.spanID"),
        ))

    parent: str | None = None
    parent_index: int | None = None
    explicit = span.get("parentSpanID")
    if isinstance(explicit, str) and explicit.strip("0"):
        parent = decode_span_id(explicit, f"{where}.parentSpanID")
        for i, (ref_type, tid, sid) in enumerate(parsed):
            if ref_type == "CHILD_OF" and sid == parent and tid == trace_id:
                parent_index = i
                break
    else:
        for i, (ref_type, tid, sid) in enumerate(parsed):
            if ref_type == "CHILD_OF" and tid == trace_id:
                parent, parent_index = sid, i
                break
    links = [
        LinkRecord(trace_id=tid, span_id=sid, attributes={"opentracing.ref_type": ref_type.lower()})
        for i, (ref_type, tid, sid) in enumerate(parsed)
        if i != parent_index
    ]
    return parent, links


def _status_from_tags(tags: Attributes) -> tuple[str, str]:
    """Jaeger's reverse rule: ``error=true`` is the ultimate truth, then ``otel.status_code``."""
    code, message, decided = "UNSET", "", False
    if tags.get("error") is True:
        code, decided = "ERROR", True
        del tags["error"]
        message = _pop_str(tags, "otel.status_description")
    if "otel.status_code" in tags:
        raw = tags.pop("otel.status_code")
        if not decided:
            text = str(raw).upper()
            code = {"OK": "OK", "ERROR": "ERROR", "1": "OK", "2": "ERROR"}.get(text, "UNSET")
            message = _pop_str(tags, "otel.status_description")
    return code, message


def _pop_str(tags: Attributes, *keys: str) -> str:
    for key in keys:
        value = tags.get(key)
        if isinstance(value, str):
            del tags[key]
            return value
    return ""


def _read_log(log: Any, where: str) -> EventRecord:
    if not isinstance(log, Mapping):
        raise TraceFormatError("expected a log object", where=where)
    fields = _read_tags(log.get("fields"), f"{where}.fields")
    name = fields.pop("event") if isinstance(fields.get("event"), str) else ""
    return EventRecord(
        name=name,
        time_unix_nano=_read_int(log.get("timestamp", 0), f"{where}.timestamp") * 1000,
        attributes=fields,
    )


def _read_tags(tags: Any, where: str) -> Attributes:
    if tags is None:
        return {}
    if not isinstance(tags, list):
        raise TraceFormatError(f"expected a list of tags, got {type(tags).__name__}", where=where)
    out: Attributes = {}
    for i, tag in enumerate(tags):
        tag_where = f"{where}[{i}]"
        if not isinstance(tag, Mapping) or not isinstance(tag.get("key"), str):
            raise TraceFormatError(f"expected a tag object with a string key, got {tag!r}", where=tag_where)
        out[tag["key"]] = _read_tag_value(tag.get("type"), tag.get("value"), tag_where)
    return out


def _read_tag_value(kind: Any, value: Any, where: str) -> Any:
    kind = kind.lower() if isinstance(kind, str) else None
    if kind is None:  # untyped (hand-written) tags: take the JSON type
        if isinstance(value, (str, bool, int, float)):
            return value
        raise TraceFormatError(f"tag without a type and with a {type(value).__name__} value", where=where)
    if kind == "string":
        if isinstance(value, str):
            return value
        return "" if value is None else json.dumps(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
    elif kind == "int64":
        return _read_int(value, f"{where}.value")
    elif kind == "float64":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif kind == "binary":
        if isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                pass
    else:
        raise TraceFormatError(
            f"unknown tag type {kind!r}; expected string, bool, int64, float64 or binary", where=where
        )
    raise TraceFormatError(f"value {value!r} does not fit the tag type {kind!r}", where=f"{where}.value")


def _read_int(value: Any, where: str) -> int:
    """Jaeger writes int64 above 2^53 as strings so JavaScript keeps them exact."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise TraceFormatError(f"expected an integer, got {value!r}", where=where)


# --------------------------------------------------------------------------- writing


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
