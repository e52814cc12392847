"""Trace sources: every backend format in and out of the neutral :class:`SpanRecord`.

Each parser turns one backend's format into ``list[SpanRecord]``; each converter turns
records into what that backend would answer, so tests can put a run "through" Jaeger or
Tempo without a server.  :func:`parse_trace_document` recognises the format by content.
"""

from framescope.replay.sources.detect import parse_trace_document
from framescope.replay.sources.jaeger import parse_jaeger_v1, spans_to_jaeger_v1
from framescope.replay.sources.otlp_json import parse_otlp_json, spans_to_otlp_json
from framescope.replay.sources.otlp_proto import (
    parse_otlp_protobuf,
    records_from_proto_request,
    spans_to_otlp_protobuf,
)
from framescope.replay.sources.tempo import (
    sort_like_tempo,
    spans_to_tempo_v1,
    spans_to_tempo_v2,
)

__all__ = [
    "parse_jaeger_v1",
    "parse_otlp_json",
    "parse_otlp_protobuf",
    "parse_trace_document",
    "records_from_proto_request",
    "sort_like_tempo",
    "spans_to_jaeger_v1",
    "spans_to_otlp_json",
    "spans_to_otlp_protobuf",
    "spans_to_tempo_v1",
    "spans_to_tempo_v2",
]
