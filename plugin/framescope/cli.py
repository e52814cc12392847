"""The ``framescope`` command.

``demo`` streams a run live, traces it to the embedded file and replays it from there;
``replay`` rebuilds any run from a trace file.  Click parses, rich renders.
"""

from __future__ import annotations

import sys
import time
from typing import Any

try:
    import click
    from rich.console import Console
except ImportError as exc:  # pragma: no cover - exercised only without the cli extra
    raise SystemExit(
        f"the framescope command needs the 'cli' extra ({exc.name} is missing): "
        "pip install 'framescope[cli]'"
    ) from None

from framescope.events.routing import CHANNELS
from framescope.types.streaming import StreamFrame, StreamSession

_STYLES = {"flow": "cyan", "tools": "magenta", "messages": "green", "lifecycle": "blue", "custom": "yellow"}


class FrameRenderer:
    """Tokens as flowing text, every other frame as one line."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._in_text = False

    def render(self, frame: StreamFrame) -> None:
        if frame.content:
            style = "dim" if frame.type == "llm_thinking_chunk" else None
            self.console.print(frame.content, end="", style=style, highlight=False, soft_wrap=True)
            self._in_text = True
            return
        if self._in_text:
            self.console.print()
            self._in_text = False
        detail = _frame_detail(frame)
        style = _STYLES.get(frame.channel, "white")
        self.console.print(
            f"[dim]{frame.seq:>5}[/dim] [{style}]{frame.channel:<9}[/{style}] {frame.type}"
            + (f"  [dim]{detail}[/dim]" if detail else ""),
            highlight=False,
        )

    def finish(self) -> None:
        if self._in_text:
            self.console.print()
            self._in_text = False


def _frame_detail(frame: StreamFrame) -> str:
    data = frame.data
    for key in ("tool_name", "method_name", "flow_name", "model", "label", "error"):
        if key in data:
            return f"{key}={data[key]!s:.80}"
    return ""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="framescope")
def main() -> None:
    """framescope: watch, trace and replay what agent runtimes stream."""


@main.command()
@click.option("--token-delay", default=0.01, show_default=True, help="Seconds between streamed tokens.")
def demo(token_delay: float) -> None:
    """Stream a small run live, trace it to the embedded file, then replay it."""
    import framescope
    from framescope import replay
    from framescope.telemetry.demo_run import demo_run

    console = Console()
    runtime = framescope.configure()
    console.rule("[bold]live")
    session = framescope.stream_call(demo_run, token_delay)
    renderer = FrameRenderer(console)
    started = time.perf_counter()
    with session:
        for frame in session:
            renderer.render(frame)
    renderer.finish()
    elapsed = time.perf_counter() - started
    console.print(f"[bold]result:[/bold] {session.result!r}  ({len(session.frames)} frames in {elapsed:.2f}s)")
    framescope.flush()
    if runtime.trace_file is None:
        console.print(f"traces went to {', '.join(runtime.exporters) or 'no exporter'}; nothing to replay locally")
        return
    console.rule("[bold]replayed from the trace file")
    replayed = replay.from_file(runtime.trace_file, session.trace_id)
    renderer = FrameRenderer(console)
    for frame in replayed:
        renderer.render(frame)
    renderer.finish()
    same = replayed.frames == session.frames
    console.print(
        f"[bold]{'identical' if same else 'DIFFERENT'}[/bold]: {len(replayed.frames)} frames replayed "
        f"from {runtime.trace_file} (trace {session.trace_id})"
    )
    console.print(f"replay it again: framescope replay {runtime.trace_file} --trace-id {session.trace_id}")
    if not same:
        sys.exit(1)


@main.command()
def doctor() -> None:
    """Say which exporter and endpoint are in effect and whether they answer."""
    import json

    import framescope
    from framescope.telemetry.doctor import check_runtime

    console = Console()
    try:
        runtime = framescope.configure()
    except ValueError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    console.print_json(json.dumps(runtime.describe()))
    failed = False
    for check in check_runtime(runtime):
        mark = "[green]ok[/green]" if check.ok else "[red]FAIL[/red]"
        console.print(f"{mark}  {check.name}: {check.detail}", highlight=False)
        failed = failed or not check.ok
    if failed:
        sys.exit(1)


@main.command("replay")
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("--trace-id", default=None, help="Trace to replay (hex); default: the newest run.")
@click.option("--channel", "channels", multiple=True, type=click.Choice(CHANNELS), help="Only these channels.")
@click.option("--speed", type=float, default=None, help="Pace at the original timing times SPEED.")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
@click.option("--allow-torn", is_flag=True, help="Replay a file whose last line is cut off.")
def replay_command(
    source: str, trace_id: str | None, channels: tuple[str, ...], speed: float | None, fmt: str, allow_torn: bool
) -> None:
    """Replay a run, frame for frame, from a trace file."""
    from framescope import replay

    try:
        session = replay.from_file(source, trace_id, speed=speed, allow_torn=allow_torn)
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    _print_session(session, channels, fmt)


def _print_session(session: StreamSession, channels: tuple[str, ...], fmt: str) -> None:
    frames: Any = session.interleave(channels) if channels else session.events
    if fmt == "jsonl":
        out = sys.stdout
        for frame in frames:
            out.write(frame.model_dump_json() + "\n")
        return
    renderer = FrameRenderer(Console())
    try:
        for frame in frames:
            renderer.render(frame)
    except RuntimeError as exc:  # a replayed failed run ends by raising its failure
        renderer.finish()
        raise click.ClickException(f"the replayed run failed: {exc}") from None
    renderer.finish()


if __name__ == "__main__":  # pragma: no cover
    main()
