"""Test doubles for framescope's own tests and benchmarks: backend emulators and name tables.

Nothing in the runtime or in replay imports this package.  Each module turns the neutral
:class:`~framescope.replay.records.SpanRecord` into what one backend would answer (so a test
can put a run "through" Jaeger or Tempo without a server), or, for metrics, predicts the
names a Prometheus backend shows.  The parsers they are checked against live in
:mod:`framescope.replay.sources`.
"""

from framescope.testing.jaeger import spans_to_jaeger_v1
from framescope.testing.otlp_json import spans_to_otlp_json
from framescope.testing.otlp_proto import build_proto_request, spans_to_otlp_protobuf
from framescope.testing.prometheus import all_prometheus_names, prometheus_names
from framescope.testing.tempo import sort_like_tempo, spans_to_tempo_v1, spans_to_tempo_v2

__all__ = [
    "all_prometheus_names",
    "build_proto_request",
    "prometheus_names",
    "sort_like_tempo",
    "spans_to_jaeger_v1",
    "spans_to_otlp_json",
    "spans_to_otlp_protobuf",
    "spans_to_tempo_v1",
    "spans_to_tempo_v2",
]
