"""OTLP protobuf -> SpanRecord (the writer is :mod:`framescope.testing.otlp_proto`).

Protobuf is what the SDK's exporters send and what Tempo answers to
``Accept: application/protobuf``.  Tempo's messages are wire-compatible with OTLP:
``tempopb.Trace`` is ``{repeated ResourceSpans = 1}`` exactly like
``ExportTraceServiceRequest``/``TracesData``, and ``tempopb.TraceByIDResponse`` (the
``/api/v2/traces/{id}`` body) wraps one ``Trace`` in its field 1.  So both are read with
opentelemetry-proto's classes; no Tempo proto is needed.

Not supported: the pre-0.19 ``instrumentation_library_spans`` field (number 1000) that very
old Tempo versions still wrote; current opentelemetry-proto no longer declares it, so such
spans would be invisible and we raise instead of returning an empty trace.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf.message import DecodeError
from google.protobuf.unknown_fields import UnknownFieldSet
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    KeyValue,
)
from opentelemetry.proto.trace.v1.trace_pb2 import (
    Span,
)

from framescope.errors import TraceFormatError
from framescope.replay.records import Attributes, EventRecord, LinkRecord, SpanRecord
from framescope.replay.sources.otlp_json import KIND_NAMES, STATUS_NAMES

__all__ = ["parse_otlp_protobuf", "records_from_proto_request"]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def parse_otlp_protobuf(data: bytes) -> list[SpanRecord]:
    """Read an ``ExportTraceServiceRequest`` / ``TracesData`` / Tempo ``Trace`` or
    ``TraceByIDResponse`` from protobuf bytes.

    The message type is not on the wire, so both readings are tried and the one whose spans
    carry well-formed ids wins.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TraceFormatError(f"expected protobuf bytes, got {type(data).__name__}")
    data = bytes(data)
    direct_error: Exception | None = None
    try:
        request = ExportTraceServiceRequest.FromString(data)
    except DecodeError as exc:
        request, direct_error = None, exc
    if request is not None and _has_spans(request):
        return records_from_proto_request(request)
    inner = _tempo_response_trace(data)
    if inner is not None:
        try:
            wrapped = ExportTraceServiceRequest.FromString(inner)
        except DecodeError:
            wrapped = None
        if wrapped is not None and _has_spans(wrapped):
            return records_from_proto_request(wrapped)
    if request is not None and _all_empty(request):
        return records_from_proto_request(request)
    reason = f" ({direct_error})" if direct_error else ""
    raise TraceFormatError(
        "the bytes are not an OTLP ExportTraceServiceRequest nor a Tempo Trace/"
        f"TraceByIDResponse with valid spans{reason}; export with the OTLP protobuf "
        "encoding or fetch the trace with Accept: application/protobuf"
    )


def _has_spans(request: ExportTraceServiceRequest) -> bool:
    """True if the message has spans and all of them have well-formed ids."""
    seen = False
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                if len(span.trace_id) != 16 or len(span.span_id) != 8:
                    return False
                if span.parent_span_id and len(span.parent_span_id) != 8:
                    return False
                seen = True
    return seen


def _all_empty(request: ExportTraceServiceRequest) -> bool:
    """A genuinely empty request (no spans, nothing unknown that could hide spans)."""
    if len(UnknownFieldSet(request)):
        return False
    for rs in request.resource_spans:
        if len(UnknownFieldSet(rs)):  # e.g. instrumentation_library_spans (1000)
            return False
        for ss in rs.scope_spans:
            if ss.spans:
                return False
    return True


def _tempo_response_trace(data: bytes) -> bytes | None:
    """Field 1 of a TraceByIDResponse (the Trace), found by walking the wire format.

    Returns ``None`` when the bytes are not a well-formed message with exactly one
    length-delimited field 1.
    """
    pos, found = 0, None
    try:
        while pos < len(data):
            key, pos = _varint(data, pos)
            field, wire = key >> 3, key & 7
            if wire == 0:
                _, pos = _varint(data, pos)
            elif wire == 1:
                pos += 8
            elif wire == 5:
                pos += 4
            elif wire == 2:
                length, pos = _varint(data, pos)
                if field == 1:
                    if found is not None:
                        return None
                    found = data[pos : pos + length]
                pos += length
            else:
                return None
            if pos > len(data):
                return None
    except IndexError:
        return None
    return found


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise IndexError("varint too long")


def records_from_proto_request(req: Any) -> list[SpanRecord]:
    """Records from an ``ExportTraceServiceRequest`` (or ``TracesData``) message object.

    Used directly by tests that receive OTLP from the real exporter, so it must agree
    field for field with :func:`framescope.replay.sources.otlp_json.parse_otlp_json`.
    """
    records: list[SpanRecord] = []
    for i, rs in enumerate(req.resource_spans):
        resource = _attributes(rs.resource.attributes, f"resource_spans[{i}].resource")
        for j, ss in enumerate(rs.scope_spans):
            for k, span in enumerate(ss.spans):
                where = f"resource_spans[{i}].scope_spans[{j}].spans[{k}]"
                records.append(_span(span, where, resource, ss.scope.name, ss.scope.version))
    return records


def _id(raw: bytes, size: int, where: str) -> str:
    if len(raw) != size:
        raise TraceFormatError(f"expected a {size}-byte id, got {len(raw)} bytes", where=where)
    return raw.hex()


def _enum(value: int, names: tuple[str, ...], where: str) -> str:
    if 0 <= value < len(names):
        return names[value]
    raise TraceFormatError(f"unknown enum value {value}", where=where)


def _span(span: Span, where: str, resource: Attributes, scope_name: str, scope_version: str) -> SpanRecord:
    parent = None
    if span.parent_span_id and span.parent_span_id != b"\0" * 8:
        parent = _id(span.parent_span_id, 8, f"{where}.parent_span_id")
    return SpanRecord(
        trace_id=_id(span.trace_id, 16, f"{where}.trace_id"),
        span_id=_id(span.span_id, 8, f"{where}.span_id"),
        parent_span_id=parent,
        name=span.name,
        kind=_enum(span.kind, KIND_NAMES, f"{where}.kind"),
        start_time_unix_nano=span.start_time_unix_nano,
        end_time_unix_nano=span.end_time_unix_nano,
        attributes=_attributes(span.attributes, f"{where}.attributes"),
        events=[
            EventRecord(
                name=e.name,
                time_unix_nano=e.time_unix_nano,
                attributes=_attributes(e.attributes, f"{where}.events[{n}].attributes"),
            )
            for n, e in enumerate(span.events)
        ],
        links=[
            LinkRecord(
                trace_id=_id(x.trace_id, 16, f"{where}.links[{n}].trace_id"),
                span_id=_id(x.span_id, 8, f"{where}.links[{n}].span_id"),
                attributes=_attributes(x.attributes, f"{where}.links[{n}].attributes"),
            )
            for n, x in enumerate(span.links)
        ],
        status_code=_enum(span.status.code, STATUS_NAMES, f"{where}.status.code"),
        status_message=span.status.message,
        resource=dict(resource),
        scope_name=scope_name,
        scope_version=scope_version,
    )


def _attributes(items: Iterable[KeyValue], where: str) -> Attributes:
    return {kv.key: _value(kv.value, f"{where}.{kv.key}") for kv in items}


def _value(value: AnyValue, where: str) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v, where) for v in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values, where)
    if kind in ("string_value", "bool_value", "int_value", "double_value", "bytes_value"):
        return getattr(value, kind)
    raise TraceFormatError(f"unsupported AnyValue field {kind!r}", where=where)
