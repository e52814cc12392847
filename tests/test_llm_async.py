"""``LLM`` from async code: ``acall`` and ``astream_events`` over the real local server and the
scripted provider (C7, C8)."""

from __future__ import annotations

import asyncio

import pytest

import framescope
from framescope import astream_call, replay
from framescope.llm import LLM, LLMConnectionError, LLMHTTPError
from framescope.llm.providers import ScriptedToolCall, register_script

from support.llm_helpers import server_llm
from support.openai_server import OpenAICompatibleServer

HELLO = [{"role": "user", "content": "Say hello"}]


@pytest.mark.asyncio
async def test_acall_returns_the_text(server: OpenAICompatibleServer, memory_traces) -> None:
    server.set(reply="Async answer.", prompt_tokens=4)
    llm = server_llm(server)
    assert await llm.acall("hi") == "Async answer."
    assert "stream" not in server.requests[-1].json
    [run] = memory_traces.runs()
    assert [f.type for f in run.frames] == ["llm_call_started", "llm_call_completed"]
    assert run.frames[-1].data["usage"] == {"input_tokens": 4, "output_tokens": 2}


@pytest.mark.asyncio
async def test_acall_streams_token_frames_when_streaming(server: OpenAICompatibleServer, memory_traces) -> None:
    server.set(reply="one two three", reasoning="hmm")
    llm = server_llm(server, stream=True)
    async with astream_call(llm.acall, HELLO) as session:
        frames = [f async for f in session]
    assert session.result == "one two three"
    assert [f.content for f in frames if f.type == "llm_stream_chunk"] == ["one", " two", " three"]
    assert [f.content for f in frames if f.type == "llm_thinking_chunk"] == ["hmm"]
    assert server.requests[-1].json["stream"] is True
    assert "time_to_first_token_s" in frames[-1].data


@pytest.mark.asyncio
async def test_acall_failure_is_an_llm_call_failed_frame(server: OpenAICompatibleServer, memory_traces) -> None:
    server.enqueue(status=503)
    llm = server_llm(server)
    with pytest.raises(LLMHTTPError, match="HTTP 503"):
        await llm.acall("hi")
    server.enqueue(drop_after=3)
    with pytest.raises(LLMConnectionError, match="mid-stream"):
        await llm.acall("hi", stream=True)
    runs = memory_traces.runs()
    assert [r.frames[-1].type for r in runs] == ["llm_call_failed", "llm_call_failed"]
    assert [r.frames[-1].data["error_type"] for r in runs] == ["LLMHTTPError", "LLMConnectionError"]
    assert "llm_stream_chunk" in [f.type for f in runs[1].frames]


@pytest.mark.asyncio
async def test_astream_events_streams_and_restores_the_setting(server: OpenAICompatibleServer) -> None:
    server.set(reply="Async tokens here")
    llm = server_llm(server)
    stream = llm.astream_events(messages=HELLO)
    async with stream:
        chunks = [f.content async for f in stream.llm if f.type == "llm_stream_chunk"]
    assert chunks == ["Async", " tokens", " here"]
    assert stream.result == "Async tokens here"
    assert llm.stream is False
    server.enqueue(status=500)
    failing = llm.astream_events(HELLO)
    with pytest.raises(LLMHTTPError):
        async for _ in failing:
            pass
    with pytest.raises(LLMHTTPError):
        _ = failing.result
    assert failing.frames[-1].type == "llm_call_failed"
    assert llm.stream is False


@pytest.mark.asyncio
async def test_aclose_mid_stream_closes_the_http_response(server: OpenAICompatibleServer) -> None:
    server.set(reply="x" * 300, tokens=300, token_delay_s=0.01)
    llm = server_llm(server)
    stream = llm.astream_events(HELLO)
    async for frame in stream:
        if frame.type == "llm_stream_chunk":
            break
    await stream.aclose()
    assert stream.is_cancelled
    assert await asyncio.to_thread(server.client_disconnected.wait, 3)
    assert server.requests[-1].chunks_sent < 200


@pytest.mark.asyncio
async def test_astream_text_yields_only_answer_text() -> None:
    register_script("atext", lambda messages: "Plain async text.", thinking="private thoughts")
    llm = LLM("scripted/atext")
    chunks = [c async for c in llm.astream_text("hi")]
    assert "".join(chunks) == "Plain async text."


@pytest.mark.asyncio
async def test_acall_awaits_async_tools(memory_traces) -> None:
    register_script("atools", [ScriptedToolCall("fetch", {"key": "k1"}, "call_f"), "Fetched v1."])
    calls: list[str] = []

    async def fetch(key: str) -> str:
        await asyncio.sleep(0)
        calls.append(key)
        return "v1"

    llm = LLM("scripted/atools", stream=True)
    assert await llm.acall("get k1", available_functions={"fetch": fetch}) == "Fetched v1."
    assert calls == ["k1"]
    [run] = memory_traces.runs()
    types = [f.type for f in run.frames]
    assert types.index("tool_usage_finished") < types.index("llm_stream_chunk")
    finished = next(f for f in run.frames if f.type == "tool_usage_finished")
    assert finished.data["output"] == "v1" and finished.data["tool_call_id"] == "call_f"


@pytest.mark.asyncio
async def test_an_async_streamed_call_replays_exactly(server: OpenAICompatibleServer, trace_file) -> None:
    server.set(reply="Replayed from async.", reasoning="think")
    llm = server_llm(server)
    stream = llm.astream_events(HELLO)
    async with stream:
        live = [f async for f in stream.events]
    framescope.flush()
    replayed = replay.from_file(trace_file, stream.trace_id)
    assert list(replayed) == live
    assert replayed.result == "Replayed from async."
