"""What each trace backend answers for a set of spans: the one place the CrewAI tests get the
backend emulators from (they move from ``framescope.replay.sources`` to ``framescope.testing``;
only this import changes when they do)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import replace

from framescope.replay.records import SpanRecord
from framescope.replay.sources import parse_trace_document
from framescope.testing import (
    sort_like_tempo,
    spans_to_jaeger_v1,
    spans_to_otlp_json,
    spans_to_otlp_protobuf,
    spans_to_tempo_v2,
)


def _jaeger_not_raw(records: list[SpanRecord]) -> bytes:
    """Jaeger's query service without ``raw``: events sorted by name, spans shuffled."""
    rewritten = [
        replace(
            span,
            events=sorted(span.events, key=lambda e: (e.name, sorted(e.attributes.items(), key=str))),
            attributes=dict(sorted(span.attributes.items())),
        )
        for span in records
    ]
    random.Random(7).shuffle(rewritten)
    return json.dumps(spans_to_jaeger_v1(rewritten)).encode()


BACKENDS: dict[str, Callable[[list[SpanRecord]], bytes | str]] = {
    "otlp-json-file": lambda r: json.dumps(spans_to_otlp_json(r)) + "\n",
    "jaeger-v1": lambda r: json.dumps(spans_to_jaeger_v1(r)).encode(),
    "jaeger-v1-not-raw": _jaeger_not_raw,
    "tempo-v2": lambda r: json.dumps(spans_to_tempo_v2(r, tie_seed=3)).encode(),
    "tempo-protobuf": lambda r: spans_to_otlp_protobuf(sort_like_tempo(r, tie_seed=3), preserve_order=False),
}


def through(backend: str, records: list[SpanRecord]) -> list[SpanRecord]:
    """``records`` as they come back after a trip through ``backend``'s answer format."""
    return parse_trace_document(BACKENDS[backend](records))
