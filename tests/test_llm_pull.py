"""``LLM.stream_events`` in pull mode: the call runs in the reader's own thread (or event loop),
one provider delta per pull, with the same frames and spans a run in its own thread makes."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

import framescope
from framescope import stream_call
from framescope.telemetry.run import current_run
from framescope.types.streaming import StreamFrame

from support.llm_helpers import server_llm
from support.openai_server import OpenAICompatibleServer

HELLO = [{"role": "user", "content": "Say hello"}]


def _shape(frames: list[StreamFrame]) -> list[tuple[Any, ...]]:
    """Everything about a run's frames that does not depend on its run id or clock."""
    index = {frame.id: position for position, frame in enumerate(frames)}
    shaped = []
    for frame in frames:
        data = {k: v for k, v in frame.data.items() if k != "time_to_first_token_s"}
        shaped.append(
            (
                frame.seq,
                frame.type,
                frame.channel,
                frame.namespace,
                index.get(frame.parent_id or ""),
                index.get(frame.previous_id or ""),
                data,
            )
        )
    return shaped


def test_the_call_runs_in_the_readers_thread_with_no_run_thread(server: OpenAICompatibleServer) -> None:
    server.set(reply="one two three")
    llm = server_llm(server)
    seen_threads: set[str] = set()
    before = set(threading.enumerate())
    with llm.stream_events(HELLO) as session:
        for _frame in session:
            seen_threads.update(t.name for t in set(threading.enumerate()) - before)
            assert current_run() is None, "the run's context leaked into the reader's loop body"
    assert session.result == "one two three"
    assert not [name for name in seen_threads if name.startswith("framescope-run-")]


def test_pulled_frames_and_spans_match_a_run_in_its_own_thread(server: OpenAICompatibleServer, memory_traces) -> None:
    server.set(reply="alpha beta gamma", reasoning="think first")
    llm = server_llm(server)
    with llm.stream_events(HELLO) as pulled:
        pulled_frames = list(pulled)
    with stream_call(llm.call, HELLO, stream=True) as threaded:
        threaded_frames = list(threaded)
    assert pulled.result == threaded.result == "alpha beta gamma"
    assert _shape(pulled_frames) == _shape(threaded_frames)
    runs = {run.run_id: run for run in memory_traces.runs()}
    assert _shape(runs[pulled.run_id].frames) == _shape(pulled_frames)  # the trace replays exactly
    assert runs[pulled.run_id].frames == pulled_frames
    assert pulled.trace_id is not None and pulled.trace_id != threaded.trace_id


def test_a_frame_emitted_in_the_loop_body_is_not_the_calls(server: OpenAICompatibleServer, memory_traces) -> None:
    server.set(reply="a b")
    llm = server_llm(server)
    with llm.stream_events(HELLO) as session:
        for frame in session:
            if frame.type == "llm_stream_chunk":
                framescope.emit("reader_note", {"saw": frame.content})
    assert "reader_note" not in [f.type for f in session.frames]
    runs = memory_traces.runs()
    notes = [run for run in runs if run.frames and run.frames[0].type == "reader_note"]
    assert len(notes) == 2 and all(run.run_id != session.run_id for run in notes)


def test_close_mid_stream_ends_the_span_as_cancelled(server: OpenAICompatibleServer, memory_traces) -> None:
    server.set(reply="x" * 200, tokens=200, token_delay_s=0.005)
    llm = server_llm(server)
    session = llm.stream_events(HELLO)
    frames = iter(session)
    assert next(frames).type == "llm_call_started"
    assert next(frames).type == "llm_stream_chunk"
    session.close()
    assert session.is_cancelled
    assert server.client_disconnected.wait(3), "close() left the HTTP stream open"
    [record] = [r for r in memory_traces.records() if r.name.startswith("chat")]
    assert record.attributes.get("framescope.cancelled") is True
    [run] = memory_traces.runs()
    assert [f.type for f in run.frames] == ["llm_call_started", "llm_stream_chunk"]


def test_a_session_closed_before_reading_sends_no_request(server: OpenAICompatibleServer) -> None:
    llm = server_llm(server)
    session = llm.stream_events(HELLO)
    session.close()
    assert session.is_cancelled and list(session) == []
    assert server.requests == []


def test_a_failed_call_raises_from_the_iteration_and_from_result(server: OpenAICompatibleServer) -> None:
    server.enqueue(status=500)
    llm = server_llm(server, max_retries=0)
    session = llm.stream_events(HELLO)
    with pytest.raises(framescope.llm.LLMHTTPError):
        for _ in session:
            pass
    with pytest.raises(framescope.llm.LLMHTTPError):
        _ = session.result
    assert [f.type for f in session.frames] == ["llm_call_started", "llm_call_failed"]


def test_a_tool_runs_in_the_readers_thread(server: OpenAICompatibleServer) -> None:
    server.enqueue(tool_calls=[{"name": "where", "arguments": {}, "id": "call_1"}])
    server.enqueue(reply="done")
    llm = server_llm(server)
    ran_in: list[threading.Thread] = []

    def where() -> str:
        ran_in.append(threading.current_thread())
        return "here"

    with llm.stream_events(HELLO, available_functions={"where": where}) as session:
        types = [frame.type for frame in session]
    assert session.result == "done" and ran_in == [threading.current_thread()]
    assert "tool_usage_finished" in types


@pytest.mark.asyncio
async def test_astream_events_pulls_on_the_event_loop(server: OpenAICompatibleServer, memory_traces) -> None:
    server.set(reply="one two three")
    llm = server_llm(server)
    before = set(threading.enumerate())
    async with llm.astream_events(HELLO) as session:
        chunks = []
        async for frame in session:
            assert current_run() is None
            assert not [t for t in set(threading.enumerate()) - before if t.name.startswith("framescope-run-")]
            if frame.type == "llm_stream_chunk":
                chunks.append(frame.content)
    assert chunks == ["one", " two", " three"] and session.result == "one two three"
    [run] = memory_traces.runs()
    assert run.frames == session.frames


@pytest.mark.asyncio
async def test_aclose_mid_stream_ends_the_span_as_cancelled(server: OpenAICompatibleServer, memory_traces) -> None:
    server.set(reply="x" * 200, tokens=200, token_delay_s=0.005)
    llm = server_llm(server)
    session = llm.astream_events(HELLO)
    async for frame in session:
        if frame.type == "llm_stream_chunk":
            break
    await session.aclose()
    assert session.is_cancelled
    assert await asyncio.to_thread(server.client_disconnected.wait, 3)
    [record] = [r for r in memory_traces.records() if r.name.startswith("chat")]
    assert record.attributes.get("framescope.cancelled") is True


@pytest.mark.asyncio
async def test_aclose_from_another_task_interrupts_a_stalled_read(server: OpenAICompatibleServer) -> None:
    server.set(reply="a b c d e f", stall_after=3)
    llm = server_llm(server, timeout=30.0)
    session = llm.astream_events(HELLO)
    got_chunk = asyncio.Event()

    async def read() -> None:
        async for frame in session:
            if frame.type == "llm_stream_chunk":
                got_chunk.set()

    reader = asyncio.create_task(read())
    await got_chunk.wait()
    assert await asyncio.to_thread(server.stalled.wait, 5)
    await session.aclose()
    await asyncio.wait_for(reader, 5)  # the stalled read ended instead of waiting 30 s
    assert session.is_cancelled


def test_an_abandoned_session_is_closed_when_collected(server: OpenAICompatibleServer, memory_traces) -> None:
    import gc

    server.set(reply="x" * 200, tokens=200, token_delay_s=0.005)
    llm = server_llm(server)
    session = llm.stream_events(HELLO)
    frames = iter(session)
    assert next(frames).type == "llm_call_started"
    assert next(frames).type == "llm_stream_chunk"
    del session, frames
    gc.collect()
    assert server.client_disconnected.wait(3), "a collected session left the HTTP stream open"
    [record] = [r for r in memory_traces.records() if r.name.startswith("chat")]
    assert record.attributes.get("framescope.cancelled") is True


def test_an_async_session_closed_synchronously_outside_its_loop(server: OpenAICompatibleServer) -> None:
    server.set(reply="x" * 200, tokens=200, token_delay_s=0.005)
    llm = server_llm(server)
    session = llm.astream_events(HELLO)

    async def first_chunk() -> str:
        async for frame in session:
            if frame.type == "llm_stream_chunk":
                return frame.content
        return ""

    assert asyncio.run(first_chunk()) == "x"
    session.close()  # the loop that read it is gone: closing must neither hang nor raise
    assert session.is_cancelled
