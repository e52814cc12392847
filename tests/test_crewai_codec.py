"""The codec's token runs for frames with another runtime's ids (CrewAI's uuids): packed, and
still exact, through every backend format.  Pure framescope: no CrewAI needed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from framescope.replay.decode import decode_runs
from framescope.replay.records import from_readable_span
from framescope.telemetry.encode import RunRecorder
from framescope.telemetry.spans import LifecycleSpan
from framescope.telemetry.wire import CHUNKS, IDS
from framescope.types.streaming import StreamFrame, make_frame

from support.trace_formats import BACKENDS, through

START = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)


def foreign_run(tokens: int, *, break_chain_at: int | None = None) -> list[StreamFrame]:
    """An LLM call as CrewAI streams it: uuid ids, seq from 1, each chunk's previous the one before."""
    opener_id = str(uuid.uuid4())
    namespace = ["llm", "call-1"]
    rest = {"call_id": "call-1", "response_id": None, "tool_call": None}
    frames = [make_frame(opener_id, 1, "llm_call_started", "llm", namespace, START, None, None, {"model": "m"})]
    previous = opener_id
    for index in range(tokens):
        frame_id = str(uuid.uuid4())
        if index == break_chain_at:
            previous = "somewhere-else"
        frames.append(
            make_frame(
                frame_id,
                2 + index,
                "llm_stream_chunk",
                "llm",
                namespace,
                START + timedelta(microseconds=137 * (index + 1)),
                opener_id,
                previous,
                {**rest, "chunk": f"tok{index} "},
            )
        )
        previous = frame_id
    frames.append(
        make_frame(
            str(uuid.uuid4()),
            tokens + 2,
            "llm_call_completed",
            "llm",
            namespace,
            START + timedelta(seconds=1),
            None,
            previous,
            {"response": "done"},
        )
    )
    return frames


def record(frames: list[StreamFrame]) -> list[Any]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    recorder = RunRecorder("run-1", provider.get_tracer("test"))
    scope = LifecycleSpan(frames[0].id, frames[0].namespace, None)
    recorder.open(frames[0], scope)
    for frame in frames[1:-1]:
        recorder.event(frame, scope)
    recorder.close(frames[-1], scope)
    recorder.finish()
    return [from_readable_span(span) for span in exporter.get_finished_spans()]


def test_chained_foreign_chunks_pack_into_one_event_and_decode_exactly() -> None:
    frames = foreign_run(700)
    records = record(frames)
    (span,) = records
    token_events = [event for event in span.events if CHUNKS in event.attributes]
    assert len(token_events) == 2  # 512 + 188: packed, not 700 events
    assert all(IDS in event.attributes for event in token_events)
    (run,) = decode_runs(records)
    assert run.frames == frames
    for backend in BACKENDS:
        assert decode_runs(through(backend, records))[0].frames == frames, backend


def test_a_broken_chain_starts_a_new_run_and_stays_exact() -> None:
    frames = foreign_run(40, break_chain_at=17)
    records = record(frames)
    token_events = [event for event in records[0].events if CHUNKS in event.attributes]
    assert len(token_events) == 2
    assert decode_runs(records)[0].frames == frames
