"""Flows from async code: kickoff_async, astream projections, aclose, resume_async, many tasks."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

import framescope
import framescope.replay
from framescope import emit
from framescope.flow import Flow, PendingInput, listen, start
from framescope.tools import tool
from framescope.types.streaming import StreamFrame


@tool
async def lookup(key: str) -> str:
    """An async tool."""
    await asyncio.sleep(0)
    return key.upper()


class AsyncReport(Flow):
    @start()
    async def fetch(self):
        return await lookup.ainvoke({"key": self.state.get("key", "k")})

    @listen(fetch)
    def render(self, value: str):
        return f"<{value}>"


@pytest.mark.asyncio
async def test_seed_async_sample_and_projections(trace_file):
    flow = AsyncReport()
    stream = flow.astream(inputs={"key": "abc"})
    seen: list[tuple[str, str, str]] = []
    async with stream:
        async for chunk in stream.events:
            seen.append((chunk.channel, chunk.type, chunk.content))
        result = stream.result
        tools = [f.type async for f in stream.tools]
        flow_frames = [f async for f in stream.flow]
        mixed = [f.seq async for f in stream.interleave(["flow", "tools"])]
    assert result == "<ABC>"
    assert tools == ["tool_usage_started", "tool_usage_finished"]
    assert [f.seq for f in flow_frames] == sorted(f.seq for f in flow_frames)
    assert mixed == list(range(len(seen)))
    assert ("tools", "tool_usage_started", "") in seen
    framescope.flush()
    replayed = framescope.replay.from_file(trace_file, stream.trace_id)
    assert list(replayed) == stream.frames


@pytest.mark.asyncio
async def test_kickoff_async_runs_on_the_callers_loop_and_is_traced(trace_file):
    assert await AsyncReport().kickoff_async(inputs={"key": "x"}) == "<X>"
    results = await asyncio.gather(*(AsyncReport().kickoff_async(inputs={"key": str(n)}) for n in range(10)))
    assert results == [f"<{n}>" for n in range(10)]
    framescope.flush()
    runs = framescope.replay.load_runs(framescope.replay.load_records(trace_file))
    assert len(runs) == 11
    assert all([f.seq for f in run.frames] == list(range(len(run.frames))) for run in runs)


EMITTED: list[int] = []


STOPPED = threading.Event()


class SyncEndless(Flow):
    @start()
    def work(self):
        try:
            for i in range(100):
                EMITTED.append(i)
                emit("tick", {"i": i})
                time.sleep(0.05)
        finally:
            STOPPED.set()


@pytest.mark.asyncio
async def test_aclose_stops_a_sync_method_of_an_astream(trace_file):
    EMITTED.clear()
    STOPPED.clear()
    stream = SyncEndless().astream()
    async for frame in stream:
        if frame.type == "tick":
            break
    await stream.aclose()
    assert await asyncio.to_thread(STOPPED.wait, 5), "the method kept running after aclose()"
    assert stream.is_cancelled


class Approval(Flow):
    @start()
    async def request(self):
        return f"approved by {self.ask('Who approves?')}"


@pytest.mark.asyncio
async def test_resume_async_and_resume_astream(trace_file):
    flow = Approval()
    pending = await flow.kickoff_async()
    assert isinstance(pending, PendingInput) and pending.prompt == "Who approves?"
    assert await flow.resume_async("ops", token=pending.resume_token) == "approved by ops"
    stream = flow.astream()
    async with stream:
        frames = [f async for f in stream]
    assert isinstance(stream.result, PendingInput)
    assert frames[-1].type == "flow_paused"
    resumed = flow.resume_astream("sre")
    async with resumed:
        types = [f.type async for f in resumed]
    assert resumed.result == "approved by sre"
    assert "flow_resumed" in types


@pytest.mark.asyncio
async def test_cancelling_kickoff_async_leaves_no_running_method(trace_file):
    gate = threading.Event()

    class Waits(Flow):
        @start()
        async def slow(self):
            await asyncio.sleep(5)

        @start()
        async def other(self):
            gate.set()
            await asyncio.sleep(5)

    task = asyncio.ensure_future(Waits().kickoff_async())
    while not gate.is_set():
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not pending, pending


@pytest.mark.asyncio
async def test_twenty_concurrent_astreams(trace_file):
    class Tagged(Flow):
        @start()
        async def go(self):
            for i in range(5):
                emit("tick", {"tag": self.state["tag"], "i": i})
                await asyncio.sleep(0)
            return self.state["tag"]

    async def read(tag: int) -> tuple[Any, list[StreamFrame]]:
        async with Tagged().astream(inputs={"tag": tag}) as stream:
            frames = [f async for f in stream]
            return stream.result, frames

    outcomes = await asyncio.gather(*(read(n) for n in range(20)))
    for n, (result, frames) in enumerate(outcomes):
        assert result == n
        assert [f.seq for f in frames] == list(range(len(frames)))
        assert {f.data["tag"] for f in frames if f.type == "tick"} == {n}
