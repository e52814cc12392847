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
        f"the framescope command needs the 'cli' extra ({exc.name} is missing): pip install 'framescope[cli]'"
    ) from None

from framescope._cli_support import (
    check_source,
    check_speed,
    check_trace_id,
    cli_wording,
    next_steps,
    stdout_may_close,
)
from framescope.render import FrameRenderer, renderer_for
from framescope.types.jsonl import frame_json_line
from framescope.types.routing import CHANNELS
from framescope.types.streaming import StreamSession


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="framescope")
def main() -> None:
    """framescope: watch, trace and replay what agent runtimes stream."""


@main.command()
@click.option(
    "--model",
    default=None,
    envvar="FRAMESCOPE_DEMO_MODEL",
    help="An OpenAI-compatible model to use instead of the offline scripted one "
    "(with OPENAI_BASE_URL / OPENAI_API_KEY).",
)
@click.option("--token-delay", default=0.03, show_default=True, help="Seconds between scripted tokens.")
@click.option(
    "--replay-speed",
    default=4.0,
    show_default=True,
    help="Replay pace (x the original timing); 0 replays as fast as possible.",
)
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
    for line in next_steps(runtime.trace_file, session.trace_id, runtime.exporters, runtime.endpoint):
        click.echo(f"  {line}")  # plain echo: a command is never wrapped mid-way, whatever the width
    if not same:
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (settings and checks) and nothing else.")
def doctor(as_json: bool) -> None:
    """Say which exporter and endpoint are in effect and whether they answer."""
    import json

    import framescope
    from framescope.doctor import check_runtime

    console = Console()
    try:
        runtime = framescope.configure()
    except ValueError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    checks = check_runtime(runtime)
    failed = any(not check.ok for check in checks)
    if as_json:
        document = {
            "settings": runtime.describe(),
            "ok": not failed,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks],
        }
        click.echo(json.dumps(document, indent=2))
    else:
        settings = runtime.describe()
        for stats in settings.pop("export"):
            settings[f"export ({stats.pop('exporter')})"] = ", ".join(f"{k} {v}" for k, v in stats.items())
        for key, value in settings.items():
            console.print(f"{key}: {value}", highlight=False, markup=False)
        for check in checks:
            mark = "[green]ok[/green]" if check.ok else "[red]FAIL[/red]"
            console.print(f"{mark}  {check.name}: {check.detail}", highlight=False)
    if failed:
        sys.exit(1)


@main.command("replay")
@click.argument("source")
@click.option(
    "--trace-id",
    default=None,
    help="Trace to replay (hex), from its root run; default: the newest run (or the id in a trace URL).",
)
@click.option("--run-id", default=None, help="Run to replay when the trace holds several (see --list).")
@click.option("--all-runs", is_flag=True, help="Replay every run of the trace in order (a whole conversation).")
@click.option("--channel", "channels", multiple=True, type=click.Choice(CHANNELS), help="Only these channels.")
@click.option("--speed", type=float, default=None, help="Pace at the original timing times SPEED.")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
@click.option("--allow-torn", is_flag=True, help="Replay a file whose last line is cut off.")
@click.option("--strict", is_flag=True, help="Fail if the trace is missing frames instead of warning.")
@click.option("--list", "list_only", is_flag=True, help="List the runs in the source instead of replaying.")
@click.option(
    "--reconstruct",
    is_flag=True,
    help="Rebuild frames from another instrumentation's GenAI spans "
    "when the trace holds no framescope run (best effort, marked as reconstructed).",
)
@click.option(
    "--backend",
    type=click.Choice(["auto", "jaeger", "tempo"]),
    default="auto",
    show_default=True,
    help="Trace backend behind a URL SOURCE.",
)
@click.option("--header", "headers", multiple=True, metavar="'NAME: VALUE'", help="HTTP header for the backend.")
@click.option(
    "--token", envvar="FRAMESCOPE_REPLAY_TOKEN", default=None, show_envvar=True, help="Bearer token for the backend."
)
@click.option(
    "--timeout",
    type=float,
    default=10.0,
    show_default=True,
    help="Total seconds allowed to fetch the trace from the backend (retries and the whole body).",
)
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
    from framescope.errors import TraceFetchError

    try:
        check_source(source)
        check_trace_id(trace_id)
        check_speed(speed)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    is_url = source.startswith(("http://", "https://"))
    fetch: dict[str, Any] = {}
    if is_url:
        fetch = {"backend": backend, "headers": _parse_headers(headers), "token": token, "timeout": timeout}
    with _replay_warnings_to_stderr():
        try:
            if list_only:
                runs = replay.list_runs(source, trace_id, reconstruct=reconstruct, allow_torn=allow_torn, **fetch)
                with stdout_may_close():
                    _print_runs(runs, fmt)
                return
            options: dict[str, Any] = {
                "run_id": run_id,
                "all_runs": all_runs,
                "speed": speed,
                "strict": strict,
                "reconstruct": reconstruct,
            }
            if is_url:
                session = replay.from_url(source, trace_id, **fetch, **options)
            else:
                session = replay.from_file(source, trace_id, allow_torn=allow_torn, **options)
        except (OSError, ValueError, TraceFetchError) as exc:
            raise click.ClickException(cli_wording(str(exc))) from None
        except RecursionError:
            raise click.ClickException(f"{source} is nested too deeply to be a trace; is it a trace export?") from None
    if session.reconstructed:
        click.echo(
            "note: this trace holds no framescope run; the frames are reconstructed from its "
            "GenAI spans (best effort, not what a client streamed)",
            err=True,
        )
    with stdout_may_close():
        _print_session(session, channels, fmt)
    if getattr(session, "incomplete", False):
        raise click.ClickException(
            f"the replayed run is incomplete (frames with seq {_gaps(session)} are missing: a killed process, "
            "dropped spans or a torn file); what is there was replayed, but the run's end is unknown"
        )


def _gaps(session: Any) -> str:
    from framescope.replay.session import describe_gaps

    return describe_gaps(list(getattr(session, "gaps", [])))


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


def _print_session(session: StreamSession, channels: tuple[str, ...], fmt: str) -> None:
    frames: Any = session.interleave(channels) if channels else session.events
    renderer = FrameRenderer(Console()) if fmt == "text" else None
    out = sys.stdout
    last_seq = -1
    try:
        for frame in frames:
            if renderer is None:
                out.write(frame_json_line(frame) + "\n")
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
        raise click.ClickException(cli_wording(f"the replayed run {what}: {exc}")) from None
    if renderer is not None:
        renderer.finish()


# --- framescope serve --------------------------------------------------------------------


@main.command("serve")
@click.argument("source", required=False)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on; anything but loopback needs --token."
)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--token",
    envvar="FRAMESCOPE_SERVE_TOKEN",
    default=None,
    show_envvar=True,
    help="Token every request must carry (Authorization: Bearer, or /?token= once in a browser).",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Allow browser calls from this origin (CORS is off by default).",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="HOST",
    help="Host header to accept without a token besides loopback names (e.g. behind a local proxy).",
)
@click.option(
    "--jaeger-url", default=None, envvar="FRAMESCOPE_JAEGER_URL", help="Link each run to its trace in Jaeger."
)
@click.option(
    "--grafana-url",
    default=None,
    envvar="FRAMESCOPE_GRAFANA_URL",
    help="Link each run to its trace in Grafana (Tempo datasource uid framescope-tempo).",
)
@click.option(
    "--backend-token", envvar="FRAMESCOPE_REPLAY_TOKEN", default=None, help="Bearer token for a Jaeger/Tempo SOURCE."
)
def serve_command(
    source: str | None,
    host: str,
    port: int,
    token: str | None,
    cors_origins: tuple[str, ...],
    allowed_hosts: tuple[str, ...],
    jaeger_url: str | None,
    grafana_url: str | None,
    backend_token: str | None,
) -> None:
    """Serve runs to a browser: a page at /, the runs at /api/runs, frames over SSE or AG-UI.

    SOURCE is a trace file or a Jaeger/Tempo trace URL; default: the embedded trace file
    (FRAMESCOPE_TRACE_FILE, else .framescope/traces.jsonl), re-read as runs are added.
    """
    try:
        import uvicorn

        from framescope.serve import create_app
        from framescope.serve.security import check_bind
    except ImportError as exc:
        raise click.ClickException(str(exc)) from None
    import os

    from framescope.errors import ServeConfigError

    if source is None:
        from framescope.telemetry.config import DEFAULT_TRACE_FILE

        source = os.environ.get("FRAMESCOPE_TRACE_FILE") or str(DEFAULT_TRACE_FILE)
    elif not source.startswith(("http://", "https://")) and not os.path.isfile(source):
        raise click.ClickException(f"no trace file at {source}; pass a trace file or a Jaeger/Tempo trace URL")
    try:
        check_bind(host, token)
        app = create_app(
            source,
            token=token,
            cors_origins=list(cors_origins),
            allowed_hosts=list(allowed_hosts),
            jaeger_url=jaeger_url,
            grafana_url=grafana_url,
            fetch={"token": backend_token} if backend_token else None,
        )
    except ServeConfigError as exc:
        raise click.ClickException(str(exc)) from None
    import socket

    shown = f"[{host}]" if ":" in host else host
    # bound before the line is printed: whoever reads "serving ... at" can connect at once
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise click.ClickException(f"cannot listen on {shown}:{port} ({exc.strerror}); choose another --port") from None
    listener.listen(2048)
    click.echo(f"serving {source} at http://{shown}:{port}/" + ("?token=<token>" if token else ""), err=True)
    # open streams get 3 s to finish on Ctrl-C: a paced replay must not hold the exit
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=3)
    uvicorn.Server(config).run(sockets=[listener])


if __name__ == "__main__":  # pragma: no cover
    main()
