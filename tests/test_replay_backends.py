"""The central replay property through every backend format (ARCHITECTURE property 2):
real framescope runs, exported, turned into what Jaeger/Tempo/OTLP answer (with their
quirks: µs times, logs instead of events, dropped link attributes, base64 ids, int64
strings, reordered events), parsed back by content and decoded, equal the live frames."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import replace

import pytest

from framescope import replay
from framescope.replay.decode import decode_runs
from framescope.replay.records import SpanRecord
from framescope.replay.sources import (
    parse_trace_document,
)
from framescope.testing import (
    sort_like_tempo,
    spans_to_jaeger_v1,
    spans_to_otlp_json,
    spans_to_otlp_protobuf,
    spans_to_tempo_v1,
    spans_to_tempo_v2,
)
from framescope.types.streaming import StreamFrame

from support.recorded_runs import busy_run, flow_with_tools, long_llm_call, runs_in_one_trace


def jaeger_query_rewrites(records: list[SpanRecord]) -> bytes:
    """What Jaeger's query service does without ``raw``: events sorted by name and
    attributes by key, spans in another order."""
    rng = random.Random(7)
    rewritten = [
        replace(
            span,
            events=sorted(span.events, key=lambda e: (e.name, sorted(e.attributes.items(), key=str))),
            attributes=dict(sorted(span.attributes.items())),
        )
        for span in records
    ]
    rng.shuffle(rewritten)
    return json.dumps(spans_to_jaeger_v1(rewritten)).encode()


BACKENDS: dict[str, Callable[[list[SpanRecord], int], bytes | str]] = {
    "otlp-json-file": lambda r, s: json.dumps(spans_to_otlp_json(r)) + "\n",
    "otlp-protobuf": lambda r, s: spans_to_otlp_protobuf(r),
    "jaeger-v1": lambda r, s: json.dumps(spans_to_jaeger_v1(r)).encode(),
    "jaeger-v1-not-raw": lambda r, s: jaeger_query_rewrites(r),
    "jaeger-v3": lambda r, s: json.dumps({"result": spans_to_otlp_json(r)}).encode(),
    "tempo-v1": lambda r, s: json.dumps(spans_to_tempo_v1(r, tie_seed=s)).encode(),
    "tempo-v2": lambda r, s: json.dumps(spans_to_tempo_v2(r, tie_seed=s)).encode(),
    "tempo-protobuf": lambda r, s: spans_to_otlp_protobuf(sort_like_tempo(r, tie_seed=s), preserve_order=False),
}


def exact(frame: StreamFrame) -> str:
    return json.dumps(frame.model_dump(), default=lambda t: (t.isoformat(), str(t.tzinfo)))


@pytest.fixture
def recorded(memory_traces) -> tuple[list[SpanRecord], dict[str, list[StreamFrame]]]:
    live: dict[str, list[StreamFrame]] = {}
    for run_id, frames in [flow_with_tools(), long_llm_call(), *runs_in_one_trace(3), busy_run()]:
        live[run_id] = frames
    return memory_traces.records(), live


def test_the_runs_exercise_every_quirk(recorded):
    """Guards the round-trip test: the runs must hold what the backends mangle."""
    records, live = recorded
    assert len(live) == 6
    assert max(len(frames) for frames in live.values()) > 10_000
    assert any(span.links for span in records), "a run with links (previous_frame relations)"
    events = [(span, e) for span in records for e in span.events]
    times = [(span.span_id, e.time_unix_nano, e.name) for span, e in events]
    assert len(times) > len(set(times)), "tied events (same time and name) for Tempo to swap"
    assert any(e.name == "framescope.batch" for _, e in events), "a span past the SDK's event cap"
    assert any(f.data.get("big") == 2**63 - 1 for frames in live.values() for f in frames)
    trace_of = {
        run_id: {s.trace_id for s in records if s.attributes.get("framescope.run.id") == run_id} for run_id in live
    }
    assert len({t for ids in trace_of.values() for t in ids}) == 4, "three runs share one trace"


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_every_backend_format_replays_the_live_frames_exactly(recorded, backend, seed):
    records, live = recorded
    document = BACKENDS[backend](records, seed)
    runs = decode_runs(parse_trace_document(document))
    assert {run.run_id for run in runs} == set(live)
    for run in runs:
        assert run.gaps == []
        assert run.frames == live[run.run_id], f"{backend}: run {run.run_id} differs"
        # == on frames says 1 == True and equal instants in other zones are equal; JSON does not
        assert list(map(exact, run.frames)) == list(map(exact, live[run.run_id]))


def test_tempo_really_reorders_tied_events(recorded):
    """The Tempo path is only a test of seq-based ordering if events do move."""
    records, _ = recorded
    before = [[e.name for e in span.events] for span in records]
    after_records = parse_trace_document(json.dumps(spans_to_tempo_v2(records, tie_seed=1)))
    by_id = {span.span_id: span for span in after_records}

    def identity(event) -> object:  # a frame's ordinal, or the whole pack of a frame pack
        return event.attributes.get("framescope.seq", event.attributes.get("framescope.pack"))

    moved = any(
        [identity(e) for e in by_id[span.span_id].events] != [identity(e) for e in span.events] for span in records
    )
    assert before and moved


def test_jaeger_v1_loses_link_attributes_and_nanoseconds_but_not_frames(recorded):
    records, live = recorded
    through = parse_trace_document(json.dumps(spans_to_jaeger_v1(records)))
    assert any(link.attributes.get("framescope.link.relation") for span in records for link in span.links)
    assert not any("framescope.link.relation" in link.attributes for span in through for link in span.links)
    assert all(span.start_time_unix_nano % 1000 == 0 for span in through)
    assert {run.run_id: run.frames for run in decode_runs(through)} == live


@pytest.mark.parametrize("backend", ["jaeger-v1", "tempo-v2", "otlp-protobuf"])
def test_replay_all_runs_of_a_shared_trace_through_a_backend(recorded, backend):
    records, live = recorded
    parsed = parse_trace_document(BACKENDS[backend](records, 3))
    shared = format(0x0AF7651916CD43DD8448EB211C80319C, "032x")
    listed = replay.list_runs(parsed, shared)
    assert [info.frame_count for info in listed] == [5, 5, 5]
    assert [info.top_level_type for info in listed] == ["conversation_turn_started"] * 3
    order = [info.run_id for info in listed]
    session = replay.from_records(parsed, trace_id=shared, all_runs=True)
    assert session.run_ids == order
    assert list(session) == [frame for run_id in order for frame in live[run_id]]
    assert session.result == "answer 2 done"
    middle = replay.from_records(parsed, trace_id=shared, run_id=order[1])
    assert list(middle) == live[order[1]] and middle.result == "answer 1 done"
