"""Stream sessions and the emit path: order, result, failure, cancellation, isolation (C1–C7, C10)."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC

import pytest

import framescope
from framescope import emit, lifecycle, stream_call
from framescope.telemetry.launch import astream_call
from framescope.telemetry.run import emit_token
from framescope.types.streaming import StreamFrame


def small_flow(tokens: int = 3, fail: bool = False) -> str:
    with lifecycle(
        "flow_started", {"flow_name": "F"}, finished="flow_finished", failed="flow_failed", namespace=["flow", "F"]
    ) as flow:
        with lifecycle(
            "tool_usage_started", {"tool_name": "search"}, finished="tool_usage_finished", failed="tool_usage_error"
        ) as tool:
            tool.data["output"] = "found"
        with lifecycle("llm_call_started", {"model": "m"}, finished="llm_call_completed", failed="llm_call_failed"):
            for i in range(tokens):
                emit_token("llm_stream_chunk", f"t{i} ")
        emit("conversation_message_added", {"role": "assistant", "content": "hi"})
        emit("my_custom_event", {"x": 1})
        if fail:
            raise KeyError("boom")
        flow.data["result"] = "ok"
    return "ok"


def test_frames_have_the_contract_envelope(memory_traces):
    with stream_call(small_flow) as stream:
        frames = list(stream)
    assert stream.result == "ok"
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert len({f.id for f in frames}) == len(frames)
    assert frames[0].previous_id is None
    assert all(b.previous_id == a.id for a, b in zip(frames, frames[1:]))
    by_type = {f.type: f for f in frames}
    flow_started = by_type["flow_started"]
    assert flow_started.parent_id is None and flow_started.channel == "flow"
    assert by_type["tool_usage_started"].parent_id == flow_started.id
    assert by_type["tool_usage_finished"].parent_id == by_type["tool_usage_started"].id
    assert by_type["tool_usage_started"].event["tool_name"] == "search"
    token = by_type["llm_stream_chunk"]
    assert token.channel == "llm" and token.content.startswith("t")
    assert token.parent_id == by_type["llm_call_started"].id
    assert by_type["conversation_message_added"].channel == "messages"
    assert by_type["my_custom_event"].channel == "custom"
    assert by_type["my_custom_event"].content == ""
    assert all(f.timestamp.tzinfo is not None and f.timestamp.utcoffset() == UTC.utcoffset(None) for f in frames)
    assert all(f.namespace[:2] == ["flow", "F"] for f in frames)
    assert [f.timestamp for f in frames] == sorted(f.timestamp for f in frames)


def test_projections_keep_global_order_and_reread_after_exhaustion(memory_traces):
    stream = stream_call(small_flow, 5)
    llm = list(stream.llm)
    assert stream.is_exhausted
    assert [f.type for f in llm] == ["llm_call_started", *["llm_stream_chunk"] * 5, "llm_call_completed"]
    everything = list(stream.events)
    assert everything == list(stream) == stream.frames
    mixed = list(stream.interleave(["tools", "messages"]))
    assert [f.seq for f in mixed] == sorted(f.seq for f in mixed)
    assert {f.channel for f in mixed} == {"tools", "messages"}
    assert list(stream.flow)[0].type == "flow_started"
    assert [f.type for f in stream.tools] == ["tool_usage_started", "tool_usage_finished"]
    assert [f.type for f in stream.messages] == ["conversation_message_added"]
    assert [f.type for f in stream.channel("custom")] == ["my_custom_event"]
    assert "".join(stream.text()) == "t0 t1 t2 t3 t4 "
    assert stream.is_completed and not stream.is_cancelled


def test_result_before_the_end_raises_runtime_error(memory_traces):
    release = threading.Event()

    def waits() -> str:
        emit("first", {})
        release.wait(5)
        return "late"

    stream = stream_call(waits)
    first = next(iter(stream))
    assert first.type == "first"
    with pytest.raises(RuntimeError, match="not been consumed"):
        _ = stream.result
    release.set()
    list(stream)
    assert stream.result == "late"


def test_failure_propagates_from_iteration_and_result(memory_traces):
    stream = stream_call(small_flow, 2, True)
    seen: list[StreamFrame] = []
    with pytest.raises(KeyError, match="boom") as raised:
        for frame in stream:
            seen.append(frame)
    assert seen[-1].type == "flow_failed"
    assert seen[-1].data["error_type"] == "KeyError"
    with pytest.raises(KeyError) as again:
        _ = stream.result
    assert again.value is raised.value
    assert not stream.is_completed
    with pytest.raises(KeyError):  # a projection read after the end raises too
        list(stream.llm)


def test_unknown_channel_is_a_value_error_naming_the_valid_ones(memory_traces):
    stream = stream_call(small_flow)
    with pytest.raises(ValueError, match="valid channels are: llm, flow, tools, messages, lifecycle, custom"):
        stream.interleave(["flow", "tokens"])
    with pytest.raises(ValueError, match="'tokens'"):
        stream.channel("tokens")
    with pytest.raises(ValueError, match="list of channel names"):
        stream.interleave("flow")
    stream.close()


def test_close_mid_run_is_prompt_and_stops_the_producer(memory_traces):
    emitted = []
    stopped = threading.Event()

    def long_run() -> None:
        try:
            with lifecycle("flow_started", {"flow_name": "Long"}, finished="flow_finished", failed="flow_failed"):
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    emitted.append(emit("tick", {}))
                    time.sleep(0.005)
        finally:
            stopped.set()

    stream = stream_call(long_run)
    iterator = iter(stream)
    for _ in range(3):
        next(iterator)
    stream.close()
    count = len(emitted)
    assert stream.is_cancelled and stream.is_exhausted
    assert stopped.wait(5), "the producer did not stop at its next emit point"
    assert len(emitted) <= count + 1, "the producer kept emitting after close()"  # one emit may be in flight
    with pytest.raises(RuntimeError, match="closed before the run finished"):
        _ = stream.result
    for thread in [t for t in threading.enumerate() if t.name.startswith("framescope-run-")]:
        thread.join(5)
        assert not thread.is_alive()
    # the span of the cancelled run ended, marked as cancelled
    spans = memory_traces.records()
    flow_span = next(s for s in spans if s.name == "invoke_workflow Long")
    assert flow_span.status_code == "ERROR" and flow_span.attributes["framescope.cancelled"] is True


def test_slow_consumer_makes_the_producer_wait_without_loss(memory_traces):
    total = 3000
    size = 32
    received: list[StreamFrame] = []
    ran_ahead = threading.Event()

    def fast() -> int:
        with lifecycle("llm_call_started", {"model": "m"}, finished="llm_call_completed", failed="llm_call_failed"):
            for i in range(total):
                emit_token("llm_stream_chunk", str(i))
                # Frames emitted (the opener, then i + 1 tokens) beyond those the consumer holds
                # can only be in the queue (<= size) or in the batch being handed over (<= size).
                if i + 2 - len(received) > 2 * size:
                    ran_ahead.set()
        return total

    stream = stream_call(fast, queue_size=size)
    for i, frame in enumerate(stream):
        received.append(frame)
        if i % 500 == 0:
            # The consumer stalls; a producer that did not wait would run far ahead meanwhile.
            assert not ran_ahead.wait(0.02), "the producer ran ahead of a full queue"
    assert not ran_ahead.is_set()
    assert [f.seq for f in received] == list(range(total + 2))
    assert stream.result == total


def test_fifty_concurrent_runs_are_isolated(memory_traces):
    def tagged(tag: int) -> int:
        with lifecycle(
            "flow_started",
            {"flow_name": f"R{tag}"},
            finished="flow_finished",
            failed="flow_failed",
            namespace=["run", str(tag)],
        ):
            for i in range(40):
                emit_token("llm_stream_chunk", f"{tag}:{i}")
                if i % 10 == 0:
                    time.sleep(0.001)
        return tag

    sessions = [stream_call(tagged, n) for n in range(50)]
    results: dict[int, list[StreamFrame]] = {}

    def consume(n: int) -> None:
        results[n] = list(sessions[n])

    threads = [threading.Thread(target=consume, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    for n, session in enumerate(sessions):
        frames = results[n]
        assert session.result == n
        assert [f.seq for f in frames] == list(range(42))
        assert all(f.namespace == ["run", str(n)] for f in frames)
        assert all(f.content.startswith(f"{n}:") for f in frames if f.content)
    assert len({s.trace_id for s in sessions}) == 50


def test_emit_validates_type_and_makes_payload_json_safe(memory_traces):
    class Thing:
        def __repr__(self) -> str:
            return "<thing>"

    def run() -> StreamFrame:
        return emit(
            "payload",
            {
                "when": __import__("datetime").date(2026, 1, 2),
                "t": (1, 2),
                "nan": float("nan"),
                "obj": Thing(),
                "api_key": "sk-secret",
                3: "three",
                "nested": {"Authorization": "Bearer x"},
                "raw": b"\x00\x01",
            },
        )

    with stream_call(run) as stream:
        frame = list(stream)[0]
    assert frame.data == {
        "when": "2026-01-02",
        "t": [1, 2],
        "nan": "NaN",
        "obj": {"$repr": "<thing>"},
        "api_key": "[REDACTED]",
        "3": "three",
        "nested": {"Authorization": "[REDACTED]"},
        "raw": {"$bytes": "AAE="},
    }
    assert "sk-secret" not in str(memory_traces.records())
    with pytest.raises(ValueError, match="non-empty string"):
        emit("", {})


def test_emit_outside_any_run_is_recorded_as_its_own_run(memory_traces):
    frame = emit("standalone", {"k": "v"})
    assert frame.seq == 0 and frame.channel == "custom"
    runs = memory_traces.runs()
    assert [f for run in runs for f in run.frames] == [frame]


def test_context_manager_closes_an_unfinished_session(memory_traces):
    def endless() -> None:
        while True:
            emit("tick", {})
            time.sleep(0.001)

    with stream_call(endless) as stream:
        next(iter(stream))
    assert stream.is_cancelled


@pytest.mark.asyncio
async def test_async_session_streams_projections_and_result(memory_traces):
    async def async_flow() -> str:
        with lifecycle("flow_started", {"flow_name": "A"}, finished="flow_finished", failed="flow_failed"):
            for i in range(3):
                await asyncio.sleep(0)
                emit_token("llm_stream_chunk", str(i))
        return "async-ok"

    stream = astream_call(async_flow)
    async with stream:
        seen = [f.type async for f in stream.events]
        llm = [f.content async for f in stream.llm]
        assert stream.result == "async-ok"
    assert seen == ["flow_started", "llm_stream_chunk", "llm_stream_chunk", "llm_stream_chunk", "flow_finished"]
    assert llm == ["0", "1", "2"]
    assert "".join([t async for t in stream.text()]) == "012"


@pytest.mark.asyncio
async def test_async_sessions_in_concurrent_tasks_and_aclose(memory_traces):
    def numbered(n: int) -> int:
        for i in range(20):
            emit("n", {"run": n, "i": i})
        return n

    async def consume(n: int) -> list[StreamFrame]:
        async with astream_call(numbered, n) as stream:
            frames = [f async for f in stream]
            assert stream.result == n
            return frames

    all_frames = await asyncio.gather(*(consume(n) for n in range(20)))
    for n, frames in enumerate(all_frames):
        assert [f.seq for f in frames] == list(range(20))
        assert {f.data["run"] for f in frames} == {n}

    stopped = threading.Event()

    def forever() -> None:
        try:
            while True:
                emit("tick", {})
                time.sleep(0.002)
        finally:
            stopped.set()

    stream = astream_call(forever)
    async for _ in stream:
        break
    await stream.aclose()
    assert stream.is_cancelled
    assert await asyncio.to_thread(stopped.wait, 5), "aclose() did not stop the producer"
    assert stream.is_cancelled


def test_sessions_work_with_the_sdk_disabled(monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    runtime = framescope.configure(replace=True)
    try:
        assert runtime.tracer is None
        with stream_call(small_flow) as stream:
            frames = list(stream)
        assert stream.result == "ok" and len(frames) == 11
        assert stream.trace_id is None
    finally:
        framescope.shutdown()


def test_text_view_yields_answer_tokens_only(memory_traces):
    def thinking_then_answer() -> None:
        with lifecycle("llm_call_started", {"model": "m"}, finished="llm_call_completed", failed="llm_call_failed"):
            emit_token("llm_thinking_chunk", "hmm ")
            emit_token("llm_stream_chunk", "answer")

    stream = stream_call(thinking_then_answer)
    assert list(stream.text()) == ["answer"]


def test_on_cancel_hooks_run_when_the_consumer_closes(memory_traces):
    fired = threading.Event()
    blocked = threading.Event()

    def blocking_read() -> None:
        from framescope.telemetry.run import current_run

        remove = current_run().on_cancel(fired.set)
        emit("reading", {})
        blocked.wait(5)  # a network read with no emit point until it returns
        remove()

    stream = stream_call(blocking_read)
    next(iter(stream))
    stream.close()
    assert fired.is_set(), "the hook lets blocked code be interrupted from the consumer's side"
    blocked.set()
