"""What the ``framescope`` command needs beyond parsing: CLI wording, a closed stdout, argument checks.

Kept out of ``cli.py`` so the command stays a thin list of commands.  Library errors are
worded for Python callers (``allow_torn=True``, ``trace_id=``); the command shows the same
message with its own flags, so every error is one line saying what to type next.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "check_source",
    "check_speed",
    "check_trace_id",
    "cli_wording",
    "next_steps",
    "program_name",
    "stdout_may_close",
]

_HEX_ID = re.compile(r"^[0-9a-fA-F]{1,32}$")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*)://")

#: Python-API phrases in library messages -> what a CLI user types instead.
_WORDING = (
    (re.compile(r"[Pp]ass allow_torn=True"), "Pass --allow-torn"),
    (re.compile(r"allow_torn=True"), "--allow-torn"),
    (re.compile(r"pass trace_id \(or --trace-id\)"), "pass --trace-id ID"),
    (re.compile(r"trace_id=(?P<q>'[^']*'|\S+) was passed"), r"--trace-id \g<q> was given"),
    (re.compile(r"; find ids with find_traces\(\)"), "; find ids in the backend's UI or search API"),
    (re.compile(r"without strict=True"), "without --strict"),
    (re.compile(r"reconstruct=True, or framescope replay --reconstruct"), "framescope replay --reconstruct"),
    (
        re.compile(r"pass either run_id \(one run\) or all_runs=True \(every run\)"),
        "pass either --run-id or --all-runs",
    ),
    (re.compile(r"pass a larger timeout \(--timeout\)"), "pass a larger --timeout"),
    (re.compile(r"\(or max_bytes=\)"), ""),
)


def cli_wording(message: str) -> str:
    """A library message with the command's flags instead of Python arguments, on one line."""
    for pattern, replacement in _WORDING:
        message = pattern.sub(replacement, message)
    return " ".join(message.split())


def check_trace_id(value: str | None) -> str | None:
    """A ``--trace-id`` must be hex (up to 32 characters)."""
    if value is not None and not _HEX_ID.match(value.strip()):
        raise ValueError(f"--trace-id {value!r} is not a trace id: use up to 32 hex characters (0-9, a-f)")
    return value


def check_speed(value: float | None) -> float | None:
    if value is not None and not value > 0:
        raise ValueError(
            f"--speed {value:g} is not a pace: use a number above 0 (1 = the original timing, 2 = twice as "
            "fast), or leave --speed out to replay as fast as possible"
        )
    return value


def check_source(source: str) -> None:
    """SOURCE is a file or an http(s) URL; any other scheme is an error, not a file name."""
    match = _SCHEME.match(source)
    if match and match.group(1).lower() not in ("http", "https"):
        raise ValueError(
            f"{match.group(1)}:// sources are not supported: SOURCE is a trace file or an http(s):// "
            "Jaeger or Tempo URL (download the trace first)"
        )


@contextmanager
def stdout_may_close() -> Iterator[None]:
    """``framescope replay ... | head -1``: a reader that stops early is no error; exit quietly."""
    try:
        yield
    except BrokenPipeError:
        _silence_stdout()
        raise SystemExit(0) from None


def _silence_stdout() -> None:
    # Python flushes stdout again at exit; point it at /dev/null so that flush cannot fail.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def runs_hint(source: Any) -> str:
    return f"framescope replay {source} --list"


def program_name() -> str:
    """How to type ``framescope`` again: the bare name if that is what PATH finds, else the path used."""
    import shutil

    invoked = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    on_path = shutil.which("framescope")
    if invoked is None or invoked.name != "framescope":
        return "framescope" if on_path else f"{shlex.quote(sys.executable)} -m framescope.cli"
    if on_path and Path(on_path).resolve() == invoked.resolve():
        return "framescope"
    return shlex.quote(_short_path(invoked))


def _short_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it (``.venv/bin/framescope``)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def next_steps(trace_file: Path | None, trace_id: str | None, exporters: list[str], endpoint: str | None) -> list[str]:
    """The demo's "Next" lines: each one a complete command, runnable as printed (never wrapped)."""
    program = program_name()
    lines: list[str] = []
    if trace_file is not None:
        source = shlex.quote(_short_path(trace_file))
        if trace_id:
            lines.append(f"replay it again:   {program} replay {source} --trace-id {trace_id}")
        lines.append(f"as JSON lines:     {program} replay {source} --format jsonl --channel llm")
    if "otlp" in exporters and trace_id:
        local = bool(endpoint) and any(host in str(endpoint) for host in ("localhost", "127.0.0.1"))
        if local:  # the compose set-up's Jaeger UI; for a remote Collector we cannot know the UI's address
            lines.append(f"see it in Jaeger:  http://localhost:16686/trace/{trace_id}")
        else:
            lines.append(f"find it in Jaeger: trace id {trace_id}")
    else:
        compose = _compose_file()
        if compose is not None:
            lines.append(f"send it to Jaeger: docker compose -f {shlex.quote(_short_path(compose))} up -d")
        else:  # installed without the repository: the stack's files are not on this machine
            lines.append("send it to Jaeger: start the stack of collector-config/compose.yaml (docs/backends.md)")
        lines.append(f"              then: OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 {program} demo")
    lines.append(f"check the set-up:  {program} doctor")
    return lines


def _compose_file() -> Path | None:
    """The compose stack's file, in the working directory's checkout or beside an editable install."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        candidate = root / "collector-config" / "compose.yaml"
        if candidate.is_file():
            return candidate
    return None
