"""Trace sources: every backend format read into the neutral :class:`SpanRecord`.

Each parser turns one backend's format into ``list[SpanRecord]``;
:func:`parse_trace_document` recognises the format by content.  The inverse converters (what
a backend would answer for a run) are test doubles and live in :mod:`framescope.testing`.
"""

from framescope.replay.sources.detect import parse_trace_document
from framescope.replay.sources.jaeger import parse_jaeger_v1
from framescope.replay.sources.otlp_json import parse_otlp_json
from framescope.replay.sources.otlp_proto import parse_otlp_protobuf, records_from_proto_request

__all__ = [
    "parse_jaeger_v1",
    "parse_otlp_json",
    "parse_otlp_protobuf",
    "parse_trace_document",
    "records_from_proto_request",
]
