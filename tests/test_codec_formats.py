"""Trace format 2 (frame packs) and the promise that every older format still replays.

docs/codec.md is the format; tests/test_codec.py and tests/test_replay_backends.py carry the
round-trip properties through every backend.  These tests pin what packing itself promises:
inner frames share events, lifecycle frames stay readable, a mutated delivered frame cannot
change the trace, a damaged pack is an error, and format-1 traces and newer formats are
handled as documented.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from framescope import emit, lifecycle, stream_call
from framescope.errors import FrameDecodeError
from framescope.replay.decode import decode_runs
from framescope.replay.sources import parse_trace_document
from framescope.telemetry.wire import FORMAT, PACK, PACK_EVENT, PACK_MAX_BYTES, PACK_MAX_FRAMES, SEQ
from framescope.types.streaming import StreamFrame

FORMAT1 = Path(__file__).parent / "fixtures" / "format1"


def tool_with_progress(steps: int, kinds: tuple[str, ...] = ("progress",)) -> str:
    with lifecycle(
        "tool_usage_started", {"tool_name": "t"}, finished="tool_usage_finished", failed="tool_usage_error"
    ) as call:
        for i in range(steps):
            emit(kinds[i % len(kinds)], {"i": i})
        call.data["result"] = steps
    return "ok"


def test_inner_frames_ride_on_the_readable_closing_event(memory_traces):
    with stream_call(tool_with_progress, 10) as stream:
        live = list(stream)
    (span,) = memory_traces.records()
    assert [event.name for event in span.events] == ["tool_usage_started", "tool_usage_finished"]
    opener, closer = span.events
    assert opener.attributes[SEQ] == 0 and PACK not in opener.attributes
    assert closer.attributes[SEQ] == 11 and json.loads(closer.attributes["framescope.data"]) == {"result": 10}
    packed = json.loads(closer.attributes[PACK])
    assert [entry[2] for entry in packed] == ["progress"] * 10
    assert packed[0][0] == 1 and all(entry[0] == 1 for entry in packed[1:])  # ordinal, then steps
    assert decode_runs([span])[0].frames == live


def test_a_full_pack_is_an_event_of_its_own_named_after_its_frames(memory_traces):
    with stream_call(tool_with_progress, 2 * PACK_MAX_FRAMES + 3) as stream:
        live = list(stream)
    (span,) = memory_traces.records()
    names = [event.name for event in span.events]
    assert names == ["tool_usage_started", "progress", "progress", "tool_usage_finished"]
    assert [len(json.loads(event.attributes[PACK])) for event in span.events[1:]] == [64, 64, 3]
    assert decode_runs([span])[0].frames == live
    memory_traces.exporter.clear()
    with stream_call(tool_with_progress, PACK_MAX_FRAMES + 1, ("a", "b")) as stream:
        live = list(stream)
    (span,) = memory_traces.records()
    assert [event.name for event in span.events] == ["tool_usage_started", PACK_EVENT, "tool_usage_finished"]
    assert decode_runs([span])[0].frames == live


def test_a_consumer_mutating_a_delivered_frame_does_not_change_the_trace(memory_traces):
    with stream_call(tool_with_progress, 3) as stream:
        live = []
        for frame in stream:
            live.append(frame.model_copy(deep=True))
            frame.data["tampered"] = True  # the dict is the consumer's to break
    assert memory_traces.runs()[0].frames == live


def test_frames_interleaved_with_a_child_span_keep_their_ordinals(memory_traces):
    def nested() -> None:
        with lifecycle("flow_started", {"flow_name": "F"}, finished="flow_finished", failed="flow_failed"):
            emit("before", {})
            tool_with_progress(2)
            emit("after", {"x": 1})

    with stream_call(nested) as stream:
        live = list(stream)
    flow = next(span for span in memory_traces.records() if span.name.startswith("invoke_workflow"))
    packed = json.loads(flow.events[-1].attributes[PACK])
    assert [entry[2] for entry in packed] == ["before", "after"]
    assert packed[1][0] > 1  # the step jumps over the child's frames
    assert memory_traces.runs()[0].frames == live


def test_a_damaged_pack_is_a_clear_error(memory_traces):
    with stream_call(tool_with_progress, 3) as stream:
        list(stream)
    (span,) = memory_traces.records()
    closer = span.events[-1]
    broken = replace(closer, attributes={**closer.attributes, PACK: '[[1,0,"progress"]]'})
    with pytest.raises(FrameDecodeError, match="malformed frame pack entry 0"):
        decode_runs([replace(span, events=[span.events[0], broken])])
    cut = replace(closer, attributes={**closer.attributes, PACK: closer.attributes[PACK][:-5]})
    with pytest.raises(FrameDecodeError, match="invalid JSON"):
        decode_runs([replace(span, events=[span.events[0], cut])])


def test_a_span_of_a_newer_format_is_refused_not_misread(memory_traces):
    with stream_call(tool_with_progress, 1) as stream:
        list(stream)
    (span,) = memory_traces.records()
    assert span.attributes["framescope.format"] == FORMAT == 2
    newer = replace(span, attributes={**span.attributes, "framescope.format": str(FORMAT + 1)})
    with pytest.raises(FrameDecodeError, match=f"trace format {FORMAT + 1}.*upgrade framescope"):
        decode_runs([newer])


def test_a_format_1_trace_still_replays_exactly():
    """Written by framescope before frame packs (tests/fixtures/format1/make_fixture.py)."""
    records = parse_trace_document((FORMAT1 / "traces.jsonl").read_bytes())
    assert {span.attributes["framescope.format"] for span in records} == {1}
    assert any(event.name == "framescope.batch" for span in records for event in span.events)
    expected = json.loads((FORMAT1 / "frames.json").read_text())
    runs = {run.run_id: run for run in decode_runs(records)}
    assert set(runs) == set(expected)
    for run_id, frames in expected.items():
        assert runs[run_id].gaps == []
        assert [json.loads(frame.model_dump_json()) for frame in runs[run_id].frames] == frames
        assert runs[run_id].frames == [StreamFrame(**frame) for frame in frames]


def test_token_data_keeps_its_key_order_through_a_token_run(memory_traces):
    from framescope.telemetry.run import emit_token

    def tokens() -> None:
        with lifecycle("llm_call_started", {"model": "m"}, finished="llm_call_completed", failed="llm_call_failed"):
            for word in ("a", "b"):
                emit_token("llm_stream_chunk", word, {"index": 0})
            emit("llm_stream_chunk", {"index": 0, "chunk": "c"})  # "chunk" not first: not packed as a token

    with stream_call(tokens) as stream:
        live = list(stream)
    replayed = memory_traces.runs()[0].frames
    assert [list(frame.data) for frame in replayed] == [list(frame.data) for frame in live]
    assert [frame.model_dump_json() for frame in replayed] == [frame.model_dump_json() for frame in live]


def test_packs_stay_within_tempos_attribute_size_limit(memory_traces):
    """Tempo truncates attribute values past 2,048 bytes by default; a pack must never be cut."""

    def wordy() -> None:
        with lifecycle("flow_started", {"flow_name": "W"}, finished="flow_finished", failed="flow_failed"):
            for i in range(40):
                emit("note", {"i": i, "text": "é✓" * (40 + i * 3)})  # multi-byte UTF-8
            emit("blob", {"text": "x" * 5000})  # larger than a pack: alone in its own

    with stream_call(wordy) as stream:
        live = list(stream)
    (span,) = memory_traces.records()
    sizes = [len(event.attributes[PACK].encode()) for event in span.events if PACK in event.attributes]
    assert len(sizes) > 3
    assert sorted(sizes)[-1] > 5000 and all(size <= PACK_MAX_BYTES for size in sorted(sizes)[:-1])
    assert decode_runs([span])[0].frames == live


def test_a_chatty_run_replays_exactly_through_tempo_with_its_default_attribute_limit(memory_traces):
    """Packs stay under Tempo's 2,048-byte attribute limit; what does not fit is reported, not misread."""
    from framescope.telemetry.run import emit_token
    from framescope.testing import spans_to_tempo_v2

    def chatty() -> None:
        with lifecycle("flow_started", {"flow_name": "Chatty"}, finished="flow_finished", failed="flow_failed"):
            for i in range(300):
                emit("progress", {"i": i, "note": "ünïcode ✓ " * 5})
            for _ in range(3):
                tool_with_progress(5)

    with stream_call(chatty) as stream:
        live = list(stream)
    tempo = json.dumps(spans_to_tempo_v2(memory_traces.records(), tie_seed=1, max_attribute_bytes=2048))
    assert decode_runs(parse_trace_document(tempo))[0].frames == live

    memory_traces.exporter.clear()

    def long_answer() -> None:
        with lifecycle("llm_call_started", {"model": "m"}, finished="llm_call_completed", failed="llm_call_failed"):
            for i in range(500):
                emit_token("llm_stream_chunk", f" word{i}")

    with stream_call(long_answer) as stream:
        list(stream)
    tempo = json.dumps(spans_to_tempo_v2(memory_traces.records(), max_attribute_bytes=2048))
    with pytest.raises(FrameDecodeError, match="truncated by an attribute length limit"):
        decode_runs(parse_trace_document(tempo))
