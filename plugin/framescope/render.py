"""Terminal rendering of frames: tokens as flowing text, every other frame as one line.

``FrameRenderer`` writes plain lines (pipes, logs, tests); ``LiveFrameView`` adds, on a
terminal, a live region under the lines: the answer being streamed and a progress line
(spinner, current step, frames per channel, tokens, elapsed time).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from framescope.types.streaming import StreamFrame

CHANNEL_STYLES = {
    "llm": "bright_white",
    "flow": "cyan",
    "tools": "magenta",
    "messages": "green",
    "lifecycle": "blue",
    "custom": "yellow",
}
_DETAIL_KEYS = ("tool_name", "method_name", "label", "model", "flow_name", "service", "error")


def frame_line(frame: StreamFrame) -> Text:
    """One line for a non-token frame: seq, channel, type and its most telling field."""
    style = CHANNEL_STYLES.get(frame.channel, "white")
    line = Text()
    line.append(f"{frame.seq if frame.seq is not None else '-':>5} ", style="dim")
    line.append(f"{frame.channel:<9}", style=style)
    line.append(f" {frame.type}")
    detail = frame_detail(frame)
    if detail:
        line.append(f"  {detail}", style="dim")
    return line


def frame_detail(frame: StreamFrame) -> str:
    data = frame.data
    parts = [f"{key}={data[key]!s:.60}" for key in _DETAIL_KEYS if key in data][:2]
    if frame.type.endswith(("_finished", "_completed")) and "output" in data:
        parts.append(f"output={data['output']!s:.60}")
    return "  ".join(parts)


def is_repeat_delta(frame: StreamFrame, previous: StreamFrame | None) -> bool:
    """Tool-call argument deltas after the first of a call add nothing to a line view."""
    return (
        frame.type == "llm_tool_call_delta"
        and previous is not None
        and previous.type == "llm_tool_call_delta"
        and previous.data.get("index") == frame.data.get("index")
    )


class FrameRenderer:
    """Plain rendering: tokens flow on their own line, other frames one line each."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._text_type: str | None = None
        self._previous: StreamFrame | None = None

    def render(self, frame: StreamFrame) -> None:
        previous, self._previous = self._previous, frame
        if frame.content:
            if self._text_type not in (None, frame.type):
                self.console.print()  # reasoning and answer on lines of their own
            style = "dim italic" if frame.type == "llm_thinking_chunk" else None
            self.console.print(frame.content, end="", style=style, highlight=False, soft_wrap=True)
            self._text_type = frame.type
            return
        if is_repeat_delta(frame, previous):
            return
        self._end_text()
        self.console.print(frame_line(frame), highlight=False)

    def _end_text(self) -> None:
        if self._text_type is not None:
            self.console.print()
            self._text_type = None

    def finish(self) -> None:
        self._end_text()

    def __enter__(self) -> FrameRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()


class LiveFrameView:
    """Lines above, and below them a live region: the streaming answer and a progress line."""

    def __init__(self, console: Console, title: str = "") -> None:
        self.console = console
        self.title = title
        self._text = Text()
        self._counts: Counter[str] = Counter()
        self._tokens = 0
        self._step = "starting"
        self._started = time.perf_counter()
        self._spinner = Spinner("dots", style="cyan")
        self._text_type: str | None = None
        self._previous: StreamFrame | None = None
        self._live = Live(console=console, refresh_per_second=12, transient=True, get_renderable=self._renderable)

    def _renderable(self) -> Any:
        counts = " ".join(f"{channel}:{count}" for channel, count in sorted(self._counts.items()))
        status = Text.assemble(
            (f" {self.title} ", "bold"),
            (f"{self._step}", "cyan"),
            (
                f"  {sum(self._counts.values())} frames ({counts})  {self._tokens} tokens  "
                f"{time.perf_counter() - self._started:.1f}s",
                "dim",
            ),
        )
        self._spinner.text = status
        return Group(self._text, self._spinner) if self._text else self._spinner

    def render(self, frame: StreamFrame) -> None:
        self._counts[frame.channel] += 1
        previous, self._previous = self._previous, frame
        if frame.content:
            self._tokens += 1
            if self._text_type not in (None, frame.type):
                self._text.append("\n")
            self._text_type = frame.type
            self._text.append(frame.content, style="dim italic" if frame.type == "llm_thinking_chunk" else None)
            return
        if is_repeat_delta(frame, previous):
            return
        self._flush_text()
        if frame.type.endswith("_started"):
            self._step = frame_detail(frame) or frame.type
        self.console.print(frame_line(frame), highlight=False)

    def _flush_text(self) -> None:
        if self._text:
            self.console.print(self._text, highlight=False)
            self._text = Text()
        self._text_type = None

    def __enter__(self) -> LiveFrameView:
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._flush_text()
        self._live.stop()

    def finish(self) -> None:
        self._flush_text()


def renderer_for(console: Console, title: str = "") -> FrameRenderer | LiveFrameView:
    """A live view on a terminal, plain lines elsewhere."""
    return LiveFrameView(console, title) if console.is_terminal else FrameRenderer(console)
