"""Tools inside a run: tools frames, arguments, output, errors, the execute_tool span, async tools."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import framescope
import framescope.replay
from framescope import stream_call
from framescope.errors import ReplayedRunFailed
from framescope.flow import Flow, start
from framescope.tools import Tool, ToolArgumentsError, tool
from framescope.types.streaming import StreamFrame


@tool
def add(a: int, b: int = 1) -> int:
    """Add two numbers."""
    return a + b


@tool(name="divide-numbers", description="Divide a by b.")
def divide(a: float, b: float) -> float:
    return a / b


@tool
async def shout(text: str) -> str:
    await asyncio.sleep(0)
    return text.upper()


def frames_of(fn: Any, *args: Any) -> tuple[list[StreamFrame], Any, BaseException | None]:
    frames: list[StreamFrame] = []
    error = None
    stream = stream_call(fn, *args)
    try:
        with stream:
            for frame in stream:
                frames.append(frame)
    except Exception as exc:
        error = exc
    return frames, (None if error else stream.result), error


def test_a_tool_call_is_a_tool_lifecycle_with_name_arguments_and_output(trace_file):
    frames, result, error = frames_of(lambda: add(2, b=5))
    assert error is None and result == 7
    assert [f.type for f in frames] == ["tool_usage_started", "tool_usage_finished"]
    assert all(f.channel == "tools" for f in frames)
    started, finished = frames
    assert started.event["tool_name"] == "add"
    assert started.data["arguments"] == {"a": 2, "b": 5}
    assert finished.data["output"] == 7 and finished.data["result"] == 7
    assert finished.parent_id == started.id
    framescope.flush()
    records = framescope.replay.load_records(trace_file)
    (span,) = [r for r in records if r.name == "execute_tool add"]
    assert span.attributes["gen_ai.tool.name"] == "add"
    assert span.attributes["gen_ai.operation.name"] == "execute_tool"
    assert list(framescope.replay.from_file(trace_file)) == frames


def test_json_string_arguments_and_call_ids_as_llms_send_them(trace_file):
    frames, result, _ = frames_of(lambda: add.invoke('{"a": 40, "b": 2}', call_id="call_1"))
    assert result == 42
    assert frames[0].data == {"tool_name": "add", "arguments": {"a": 40, "b": 2}, "tool_call_id": "call_1"}
    assert frames[1].data["tool_call_id"] == "call_1"
    with pytest.raises(ToolArgumentsError, match="not valid JSON"):
        add.invoke("{a: 1")
    with pytest.raises(ToolArgumentsError, match="must be a JSON object"):
        add.invoke("[1, 2]")


def test_a_failing_tool_emits_tool_usage_error_and_raises_the_original(trace_file):
    frames, _, error = frames_of(lambda: divide.invoke({"a": 1, "b": 0}))
    assert isinstance(error, ZeroDivisionError)
    assert [f.type for f in frames] == ["tool_usage_started", "tool_usage_error"]
    assert frames[0].event["tool_name"] == "divide-numbers"
    assert frames[1].data["error_type"] == "ZeroDivisionError"
    framescope.flush()
    (span,) = [r for r in framescope.replay.load_records(trace_file) if r.name == "execute_tool divide-numbers"]
    assert span.status_code == "ERROR"
    replayed = framescope.replay.from_file(trace_file)
    with pytest.raises(ReplayedRunFailed, match="ZeroDivisionError"):
        list(replayed)
    assert replayed.frames == frames


def test_invalid_arguments_fail_inside_the_tool_lifecycle(trace_file):
    frames, _, error = frames_of(lambda: add.invoke({"a": "not a number"}))
    assert isinstance(error, ToolArgumentsError) and "invalid arguments" in str(error)
    assert [f.type for f in frames] == ["tool_usage_started", "tool_usage_error"]
    assert frames[1].data["error_type"] == "ToolArgumentsError"
    frames, _, error = frames_of(lambda: add.invoke({"b": 1}))
    assert isinstance(error, ToolArgumentsError)
    assert frames[-1].type == "tool_usage_error"


def test_async_tools_through_ainvoke_and_sync_invoke_refuses_them(trace_file):
    async def main() -> str:
        return await shout.ainvoke({"text": "hi"})

    frames, result, _ = frames_of(main)
    assert result == "HI"
    assert [f.type for f in frames] == ["tool_usage_started", "tool_usage_finished"]
    assert frames[1].data["output"] == "HI"
    frames, _, error = frames_of(lambda: shout.invoke({"text": "x"}))
    assert isinstance(error, TypeError) and "ainvoke" in str(error)
    assert shout.is_async and not add.is_async


def test_tool_schema_and_names():
    assert add.parameters["required"] == ["a"]
    assert add.to_openai()["function"]["name"] == "add"
    assert divide.description == "Divide a by b."
    with pytest.raises(ValueError, match="letters, digits"):
        Tool(lambda: 1, name="has space")
    assert isinstance(add, Tool)


class ToolFlow(Flow):
    @start()
    def use(self):
        return add(1) + add(2)


@pytest.mark.parametrize("how", ["stream_events", "astream"])
def test_tools_inside_a_flow_method_nest_under_it(trace_file, how):
    flow = ToolFlow()
    if how == "astream":

        async def read() -> tuple[list[StreamFrame], Any]:
            async with flow.astream() as stream:
                return [f async for f in stream.tools], stream

        tools_frames, stream = asyncio.run(read())
    else:
        stream = flow.stream_events()
        with stream:
            tools_frames = list(stream.tools)
    assert stream.result == 5
    method_start = next(f for f in stream.frames if f.type == "method_execution_started")
    assert [f.type for f in tools_frames] == ["tool_usage_started", "tool_usage_finished"] * 2
    assert all(f.parent_id == method_start.id for f in tools_frames if f.type == "tool_usage_started")
    assert all(f.namespace == ["flow", "ToolFlow", "use"] for f in tools_frames)
    framescope.flush()
    assert list(framescope.replay.from_file(trace_file, stream.trace_id)) == stream.frames


def test_tool_content_is_redacted_when_capture_is_off(monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false")
    framescope.configure(exporter="none", replace=True)
    try:
        frames, result, _ = frames_of(lambda: add.invoke({"a": 1, "b": 2}))
        assert result == 3  # the caller still gets the real output
        assert frames[0].data["arguments"] == "[REDACTED]"
        assert frames[1].data["output"] == "[REDACTED]" and frames[1].data["result"] == "[REDACTED]"
    finally:
        framescope.shutdown()


def test_unreadable_json_arguments_still_show_as_a_tool_error(memory_traces):
    stream = framescope.stream_call(lambda: add.invoke("{a: 1"))
    with pytest.raises(ToolArgumentsError):
        list(stream)
    assert [f.type for f in stream.frames] == ["tool_usage_started", "tool_usage_error"]
    assert stream.frames[0].data["arguments"] == "{a: 1"
