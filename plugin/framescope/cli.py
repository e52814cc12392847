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
from framescope.render import FrameRenderer, renderer_for
from framescope.types.streaming import StreamFrame, StreamSession


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="framescope")
def main() -> None:
    """framescope: watch, trace and replay what agent runtimes stream."""


@main.command()
@click.option("--model", default=None, envvar="FRAMESCOPE_DEMO_MODEL",
              help="An OpenAI-compatible model to use instead of the offline scripted one "
                   "(with OPENAI_BASE_URL / OPENAI_API_KEY).")
@click.option("--token-delay", default=0.03, show_default=True, help="Seconds between scripted tokens.")
@click.option("--replay-speed", default=4.0, show_default=True,
              help="Replay pace (x the original timing); 0 replays as fast as possible.")
def demo(model: str | None, token_delay: float, replay_speed: float) -> None:
    """Run an incident-triage flow live, trace it, then replay it from the trace.

    Offline by default (a scripted LLM streams the answer); with OPENAI_BASE_URL or --model
    a real endpoint answers.  Traces go to .framescope/traces.jsonl and, when
    OTEL_EXPORTER_OTLP_ENDPOINT is set, also to that Collector / Jaeger / Tempo.
    """
    import os

    import framescope
    from framescope import replay
    from framescope.demo import DEFAULT_MODEL, IncidentTriage, register_demo_script

    console = Console()
    exporters = os.environ.get("OTEL_TRACES_EXPORTER") or (
        "file,otlp" if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") else "file"
    )
    try:
        runtime = framescope.configure(exporter=exporters)
    except ValueError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    chosen = model or (os.environ.get("OPENAI_MODEL", "gpt-4o-mini") if os.environ.get("OPENAI_BASE_URL") else None)
    flow = IncidentTriage()
    if chosen:
        flow.model = chosen
    else:
        register_demo_script(token_delay)
    where = ", ".join(runtime.exporters) + (f" ({runtime.endpoint})" if runtime.endpoint else "")
    console.rule(f"[bold]live[/bold]  {flow.model or DEFAULT_MODEL}  traced to {where}")
    started = time.perf_counter()
    try:
        with flow.stream_events() as session, renderer_for(console, "IncidentTriage") as view:
            for frame in session:
                view.render(frame)
    except Exception as exc:
        raise click.ClickException(f"the demo run failed: {type(exc).__name__}: {exc}") from None
    elapsed = time.perf_counter() - started
    frames = session.frames
    console.print(f"[bold]result[/bold] ({len(frames)} frames in {elapsed:.2f}s): {session.result}", highlight=False)
    framescope.flush()
    if runtime.trace_file is None:
        console.print("no local trace file (OTEL_TRACES_EXPORTER has no 'file'); nothing to replay here")
        return
    console.rule(f"[bold]replayed[/bold] from {runtime.trace_file}")
    replayed = replay.from_file(runtime.trace_file, session.trace_id, speed=replay_speed or None)
    with renderer_for(console, "replay") as view:
        for frame in replayed:
            view.render(frame)
    same = replayed.frames == frames
    verdict = "[bold green]identical[/bold green]" if same else "[bold red]DIFFERENT[/bold red]"
    console.print(f"{verdict}: {len(replayed.frames)} frames replayed, field for field, from the trace")
    console.print()
    console.print("[bold]Next[/bold]")
    console.print(f"  replay it again:   framescope replay {runtime.trace_file} --trace-id {session.trace_id}")
    console.print(f"  as JSON lines:     framescope replay {runtime.trace_file} --format jsonl --channel llm")
    console.print("  see it in Jaeger:  docker compose -f collector-config/compose.yaml up -d, then")
    console.print("                     OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 framescope demo")
    console.print(f"                     http://localhost:16686/trace/{session.trace_id}  (Grafana: http://localhost:3000)")
    console.print("  check the set-up:  framescope doctor")
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
@click.argument("source")
@click.option("--trace-id", default=None,
              help="Trace to replay (hex), from its root run; default: the newest run (or the id in a trace URL).")
@click.option("--run-id", default=None, help="Run to replay when the trace holds several (see --list).")
@click.option("--all-runs", is_flag=True, help="Replay every run of the trace in order (a whole conversation).")
@click.option("--channel", "channels", multiple=True, type=click.Choice(CHANNELS), help="Only these channels.")
@click.option("--speed", type=float, default=None, help="Pace at the original timing times SPEED.")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
@click.option("--allow-torn", is_flag=True, help="Replay a file whose last line is cut off.")
@click.option("--strict", is_flag=True, help="Fail if the trace is missing frames instead of warning.")
@click.option("--list", "list_only", is_flag=True, help="List the runs in the source instead of replaying.")
@click.option("--reconstruct", is_flag=True, help="Rebuild frames from another instrumentation's GenAI spans "
              "when the trace holds no framescope run (best effort, marked as reconstructed).")
@click.option("--backend", type=click.Choice(["auto", "jaeger", "tempo"]), default="auto", show_default=True,
              help="Trace backend behind a URL SOURCE.")
@click.option("--header", "headers", multiple=True, metavar="'NAME: VALUE'", help="HTTP header for the backend.")
@click.option("--token", envvar="FRAMESCOPE_REPLAY_TOKEN", default=None, show_envvar=True,
              help="Bearer token for the backend.")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for the backend.")
def replay_command(
    source: str,
    trace_id: str | None,
    run_id: str | None,
    all_runs: bool,
    channels: tuple[str, ...],
    speed: float | None,
    fmt: str,
    allow_torn: bool,
    strict: bool,
    list_only: bool,
    reconstruct: bool,
    backend: str,
    headers: tuple[str, ...],
    token: str | None,
    timeout: float,
) -> None:
    """Replay a run, frame for frame, from a trace file or a Jaeger/Tempo URL.

    SOURCE is a file (the embedded trace file, or a trace saved from Jaeger, Tempo or an OTLP
    exporter: the format is recognised by content) or a backend URL: a base URL with
    --trace-id, or a trace URL (.../trace/ID, .../api/traces/ID, .../api/v3/traces/ID,
    .../api/v2/traces/ID).
    """
    from framescope import replay
    from framescope.replay.errors import TraceFetchError

    is_url = source.startswith(("http://", "https://"))
    fetch: dict[str, Any] = {}
    if is_url:
        fetch = {"backend": backend, "headers": _parse_headers(headers), "token": token, "timeout": timeout}
    with _replay_warnings_to_stderr():
        try:
            if list_only:
                _print_runs(replay.list_runs(source, trace_id, reconstruct=reconstruct, allow_torn=allow_torn,
                                             **fetch), fmt)
                return
            options: dict[str, Any] = {"run_id": run_id, "all_runs": all_runs, "speed": speed, "strict": strict,
                                       "reconstruct": reconstruct}
            if is_url:
                session = replay.from_url(source, trace_id, **fetch, **options)
            else:
                session = replay.from_file(source, trace_id, allow_torn=allow_torn, **options)
        except (OSError, ValueError, TraceFetchError) as exc:
            raise click.ClickException(str(exc)) from None
    if session.reconstructed:
        click.echo("note: this trace holds no framescope run; the frames are reconstructed from its "
                   "GenAI spans (best effort, not what a client streamed)", err=True)
    _print_session(session, channels, fmt)


def _parse_headers(headers: tuple[str, ...]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for header in headers:
        name, sep, value = header.partition(":")
        if not sep:
            name, sep, value = header.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{header!r} is not 'NAME: VALUE'", param_hint="--header")
        parsed[name.strip()] = value.strip()
    return parsed


class _replay_warnings_to_stderr:
    """Show replay's warnings (missing frames) as one ``warning:`` line each on stderr,
    so ``--format jsonl`` output on stdout stays clean."""

    def __enter__(self) -> None:
        import logging

        self._logger = logging.getLogger("framescope.replay")
        self._handler = logging.StreamHandler(sys.stderr)
        self._handler.setFormatter(logging.Formatter("warning: %(message)s"))
        self._propagate = self._logger.propagate
        self._logger.addHandler(self._handler)
        self._logger.propagate = False

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self._handler)
        self._logger.propagate = self._propagate


def _print_runs(runs: list[Any], fmt: str) -> None:
    import json

    if not runs:
        raise click.ClickException("the source holds no framescope run (use --reconstruct for other GenAI traces)")
    for run in runs:
        click.echo(json.dumps(run.to_json()) if fmt == "jsonl" else run.describe())


def _frame_json(frame: StreamFrame) -> str:
    """``frame.model_dump_json()``; for data holding a lone surrogate (which pydantic cannot
    write as UTF-8) the same line with that data \\u-escaped, instead of a crash."""
    try:
        return frame.model_dump_json()
    except ValueError:
        import json

        head = frame.model_dump_json(exclude={"data"})
        return head[:-1] + ',"data":' + json.dumps(frame.data, separators=(",", ":")) + "}"


def _print_session(session: StreamSession, channels: tuple[str, ...], fmt: str) -> None:
    frames: Any = session.interleave(channels) if channels else session.events
    renderer = FrameRenderer(Console()) if fmt == "text" else None
    out = sys.stdout
    last_seq = -1
    try:
        for frame in frames:
            if renderer is None:
                out.write(_frame_json(frame) + "\n")
                continue
            seq = frame.seq if frame.seq is not None else last_seq + 1
            if seq <= last_seq:  # seq restarts: the next run of a whole-conversation replay
                renderer.finish()
            last_seq = seq
            renderer.render(frame)
    except RuntimeError as exc:  # a replayed failed or cancelled run ends by raising it
        if renderer is not None:
            renderer.finish()
        out.flush()
        what = "was cancelled" if "cancelled" in type(exc).__name__.lower() else "failed"
        raise click.ClickException(f"the replayed run {what}: {exc}") from None
    if renderer is not None:
        renderer.finish()


if __name__ == "__main__":  # pragma: no cover
    main()
