"""Terminal rendering: tokens flow, other frames are lines, the live view shows progress."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from framescope.render import FrameRenderer, LiveFrameView, renderer_for
from framescope.types.streaming import StreamFrame


def frame(seq: int, type_: str, channel: str, **data) -> StreamFrame:
    return StreamFrame(
        id=f"r-{seq}", seq=seq, type=type_, channel=channel, namespace=[], timestamp=datetime.now(UTC), data=data
    )


FRAMES = [
    frame(0, "llm_call_started", "llm", model="m"),
    frame(1, "llm_tool_call_delta", "llm", index=0, name="lookup"),
    frame(2, "llm_tool_call_delta", "llm", index=0, arguments='{"q"'),
    frame(3, "llm_thinking_chunk", "llm", chunk="thinking "),
    frame(4, "llm_stream_chunk", "llm", chunk="Hello "),
    frame(5, "llm_stream_chunk", "llm", chunk="world."),
    frame(6, "tool_usage_started", "tools", tool_name="lookup"),
]


def test_plain_renderer_flows_tokens_and_keeps_one_line_per_frame():
    out = io.StringIO()
    with FrameRenderer(Console(file=out, width=100)) as renderer:
        for item in FRAMES:
            renderer.render(item)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["0", "llm", "llm_call_started", "model=m"]
    assert sum("llm_tool_call_delta" in line for line in lines) == 1  # repeated deltas of one call collapse
    assert "thinking" in lines[2] and lines[3] == "Hello world."  # reasoning and answer on their own lines
    assert "tool_usage_started" in lines[4] and "tool_name=lookup" in lines[4]


def test_live_view_on_a_terminal_prints_lines_and_the_streamed_text():
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=True)
    view = renderer_for(console, "demo")
    assert isinstance(view, LiveFrameView)
    with view:
        for item in FRAMES:
            view.render(item)
    text = out.getvalue()
    assert "llm_call_started" in text and "tool_usage_started" in text
    assert "Hello world." in text
    assert isinstance(renderer_for(Console(file=io.StringIO()), "x"), FrameRenderer)
