"""SpanRecord -> what Tempo answers for a trace.

Tempo returns gogo-jsonpb, a dialect of OTLP/JSON: base64 ids, enum names
(``SPAN_KIND_SERVER``), int64 as strings.  ``/api/traces/{id}`` answers
``{"batches": [...]}`` and ``/api/v2/traces/{id}`` answers
``{"trace": {"resourceSpans": [...]}}``.  Tempo also sorts a trace before returning it
(``SortTrace``): events by (time, name), links by (trace id, span id), spans by (start time,
span id), scopes and resources by their first span.  The sort is not stable, so events with
equal time and name may come back in either order.

Tempo's distributor also truncates every attribute key and value longer than
``max_attribute_bytes`` (2,048 bytes by default in recent versions; 0 turns it off); the
converters apply that when given ``max_attribute_bytes``.

These converters reproduce all of that, so tests can check that replay survives Tempo
without running it.  Reading Tempo's answers is :func:`parse_otlp_json`'s job (it accepts
both wrappers and the dialect).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from framescope.replay.records import Attributes, EventRecord, SpanRecord
from framescope.testing.otlp_json import (
    JsonStyle,
    encode_resource_spans,
    group_spans,
)

__all__ = ["sort_like_tempo", "spans_to_tempo_v1", "spans_to_tempo_v2"]

TEMPO_STYLE = JsonStyle(base64_ids=True, enum_names=True, sort_events=False)


def spans_to_tempo_v1(
    spans: Iterable[SpanRecord], *, tie_seed: int | None = None, max_attribute_bytes: int | None = None
) -> dict[str, Any]:
    """The body of Tempo's ``GET /api/traces/{id}``: ``{"batches": [...]}``.

    ``tie_seed`` shuffles events that tie on (time, name) with that seed, to imitate
    Tempo's unstable sort; ``None`` keeps their input order.  ``max_attribute_bytes``
    truncates long attribute keys and string values as Tempo's distributor does.
    """
    return {"batches": _tempo_resource_spans(spans, tie_seed, max_attribute_bytes)}


def spans_to_tempo_v2(
    spans: Iterable[SpanRecord], *, tie_seed: int | None = None, max_attribute_bytes: int | None = None
) -> dict[str, Any]:
    """The body of Tempo's ``GET /api/v2/traces/{id}``: ``{"trace": {"resourceSpans": [...]}}``."""
    return {"trace": {"resourceSpans": _tempo_resource_spans(spans, tie_seed, max_attribute_bytes)}}


def _tempo_resource_spans(
    spans: Iterable[SpanRecord], tie_seed: int | None, max_attribute_bytes: int | None
) -> list[dict[str, Any]]:
    if max_attribute_bytes:
        spans = [_truncated(span, max_attribute_bytes) for span in spans]
    return encode_resource_spans(sort_like_tempo(spans, tie_seed=tie_seed), TEMPO_STYLE)


def _truncated(span: SpanRecord, limit: int) -> SpanRecord:
    """``span`` as Tempo stores it: attribute keys and string values cut to ``limit`` bytes."""

    def cut(text: str) -> str:
        raw = text.encode("utf-8", "surrogatepass")
        return text if len(raw) <= limit else raw[:limit].decode("utf-8", "ignore")

    def attributes(values: Attributes) -> Attributes:
        return {cut(key): cut(value) if isinstance(value, str) else value for key, value in values.items()}

    return replace(
        span,
        attributes=attributes(span.attributes),
        resource=attributes(span.resource),
        events=[replace(event, attributes=attributes(event.attributes)) for event in span.events],
        links=[replace(link, attributes=attributes(link.attributes)) for link in span.links],
    )


def sort_like_tempo(spans: Iterable[SpanRecord], *, tie_seed: int | None = None) -> list[SpanRecord]:
    """The spans in the order, and with the event/link order, Tempo returns them.

    Spans are grouped by resource and scope like Tempo's stored batches, then sorted the
    way Tempo's ``SortTrace`` does.  Useful on its own to compare a replay against what
    Tempo would hand back.
    """
    rng = random.Random(tie_seed) if tie_seed is not None else None
    batches = []
    for _resource, scopes in group_spans(spans, preserve_order=False):
        sorted_scopes = []
        for _, members in scopes:
            fixed = sorted((_sort_span_parts(s, rng) for s in members), key=_span_key)
            sorted_scopes.append(fixed)
        sorted_scopes.sort(key=lambda m: _span_key(m[0]))
        batches.append(sorted_scopes)
    batches.sort(key=lambda b: _span_key(b[0][0]))
    return [span for batch in batches for members in batch for span in members]


def _span_key(span: SpanRecord) -> tuple[int, bytes]:
    return (span.start_time_unix_nano, bytes.fromhex(span.span_id))


def _sort_span_parts(span: SpanRecord, rng: random.Random | None) -> SpanRecord:
    events = list(span.events)
    if rng is not None:
        rng.shuffle(events)  # then a stable sort leaves ties in shuffled order
    events.sort(key=_event_key)
    links = sorted(span.links, key=lambda x: (bytes.fromhex(x.trace_id), bytes.fromhex(x.span_id)))
    return replace(span, events=events, links=links)


def _event_key(event: EventRecord) -> tuple[int, bytes]:
    # Go compares strings bytewise (UTF-8), which differs from Python's code point order
    # only for surrogates; encode anyway to match exactly.
    return (event.time_unix_nano, event.name.encode("utf-8", "surrogatepass"))
