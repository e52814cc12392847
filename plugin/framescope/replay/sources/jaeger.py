"""Jaeger v1 JSON (the ``/api/traces/{id}`` and UI format) -> SpanRecord.

Jaeger's v1 model is not OTLP: span kind, status, scope and the error flag are tags,
events are logs, links and the parent are references, times are microseconds and tags have
no array type.  Jaeger itself converts between the two with the rules of its
``otlp2jaeger`` translator (Jaeger's ``internal/storage/.../to_dbmodel`` and
opentelemetry-collector-contrib's ``pkg/translator/jaeger``); both directions here apply
those documented rules: :func:`framescope.testing.jaeger.spans_to_jaeger_v1` shows what Jaeger
would answer for a run and ``parse_jaeger_v1`` undoes as much of it as the format keeps.

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
import contextlib
import json
from collections.abc import Mapping
from typing import Any

from framescope.errors import TraceFormatError
from framescope.replay.records import Attributes, EventRecord, LinkRecord, SpanRecord
from framescope.replay.sources.otlp_json import decode_span_id, decode_trace_id

__all__ = ["NO_SERVICE_NAME", "parse_jaeger_v1"]

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
            raise TraceFormatError(f"Jaeger answered with errors instead of a trace: {errors!r}; check the trace id")
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
    return [_read_span(span, _path(where, f"spans[{i}]"), resources) for i, span in enumerate(spans)]


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
            resource = resources[str(pid)]  # a key of ``resources``, so a str

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
        parsed.append(
            (
                ref_type,
                decode_trace_id(ref.get("traceID"), f"{ref_where}.traceID"),
                decode_span_id(ref.get("spanID"), f"{ref_where}.spanID"),
            )
        )

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
    event_name = fields.get("event")
    name = event_name if isinstance(event_name, str) else ""
    if isinstance(event_name, str):
        del fields["event"]
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
            with contextlib.suppress(ValueError):
                return float(value)
    elif kind == "binary":
        if isinstance(value, str):
            with contextlib.suppress(binascii.Error, ValueError):
                return base64.b64decode(value, validate=True)
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
        with contextlib.suppress(ValueError):
            return int(value)
    raise TraceFormatError(f"expected an integer, got {value!r}", where=where)
