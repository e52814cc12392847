"""SpanRecord -> OTLP protobuf, the inverse of
:func:`~framescope.replay.sources.parse_otlp_protobuf` (what the SDK's exporter sends and
Tempo answers to ``Accept: application/protobuf``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from framescope.replay.records import SpanRecord
from framescope.testing.otlp_json import group_spans

__all__ = ["build_proto_request", "spans_to_otlp_protobuf"]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def spans_to_otlp_protobuf(spans: Iterable[SpanRecord], *, preserve_order: bool = True) -> bytes:
    """The serialized ``ExportTraceServiceRequest`` for ``spans`` (see ``spans_to_otlp_json``
    for the grouping; the same ``preserve_order`` rule keeps the round trip exact)."""
    return build_proto_request(spans, preserve_order=preserve_order).SerializeToString()


def build_proto_request(spans: Iterable[SpanRecord], *, preserve_order: bool = True) -> ExportTraceServiceRequest:
    """The ``ExportTraceServiceRequest`` message object for ``spans``."""
    request = ExportTraceServiceRequest()
    for resource, scopes in group_spans(spans, preserve_order=preserve_order):
        rs = ResourceSpans(resource=Resource(attributes=_key_values(resource)))
        for (name, version), members in scopes:
            ss = ScopeSpans(scope=InstrumentationScope(name=name, version=version))
            ss.spans.extend(_proto_span(s) for s in members)
            rs.scope_spans.append(ss)
        request.resource_spans.append(rs)
    return request


def _proto_span(span: SpanRecord) -> Span:
    out = Span(
        trace_id=bytes.fromhex(span.trace_id),
        span_id=bytes.fromhex(span.span_id),
        parent_span_id=bytes.fromhex(span.parent_span_id) if span.parent_span_id else b"",
        name=span.name,
        kind=Span.SpanKind.Value(f"SPAN_KIND_{span.kind}"),
        start_time_unix_nano=span.start_time_unix_nano,
        end_time_unix_nano=span.end_time_unix_nano,
        attributes=_key_values(span.attributes),
        status=Status(code=Status.StatusCode.Value(f"STATUS_CODE_{span.status_code}"), message=span.status_message),
    )
    for e in span.events:
        out.events.add(name=e.name, time_unix_nano=e.time_unix_nano, attributes=_key_values(e.attributes))
    for x in span.links:
        out.links.add(
            trace_id=bytes.fromhex(x.trace_id),
            span_id=bytes.fromhex(x.span_id),
            attributes=_key_values(x.attributes),
        )
    return out


def _key_values(attributes: Any) -> list[KeyValue]:
    return [KeyValue(key=k, value=_any_value(v)) for k, v in attributes.items()]


def _any_value(value: Any) -> AnyValue:
    if value is None:
        return AnyValue()
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"integer attribute {value} does not fit in int64")
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return AnyValue(bytes_value=bytes(value))
    if isinstance(value, (list, tuple)):
        out = AnyValue()
        out.array_value.values.extend(_any_value(v) for v in value)
        return out
    if isinstance(value, dict):
        out = AnyValue()
        out.kvlist_value.values.extend(_key_values(value))
        return out
    raise ValueError(
        f"attribute value of type {type(value).__name__} has no OTLP AnyValue form; "
        "use str, bool, int, float, bytes, list or dict"
    )
