"""Hostile inputs: how long exit takes with a bad endpoint, peak memory with bombs, and the
time secret scanning takes on long texts.

Each case runs in its own child process (so its peak RSS is its own, from
``getrusage(RUSAGE_CHILDREN)``), against servers on 127.0.0.1 or files in a temporary
folder; nothing leaves the machine.  Results go to bench/RESULTS.md ("Hostile inputs").

    python bench/hostile_inputs.py            # every case (writes ~0.5 GB of temporary files)
    python bench/hostile_inputs.py exit       # the exit-time cases (and the redaction ones)
    python bench/hostile_inputs.py redaction  # only the secret scanning of long texts
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugin"), str(ROOT / "tests")]

from support.hostile_server import HostileServer  # noqa: E402

MiB = 1024 * 1024

EXIT_CHILD = textwrap.dedent(
    """
    import framescope
    from framescope import lifecycle, stream_call
    from framescope.telemetry.run import emit_token

    def many(count):
        with lifecycle("flow_started", {"flow_name": "Exit"}, finished="flow_finished", failed="flow_failed"):
            for i in range(count):
                with lifecycle("method_execution_started", {"method_name": f"m{i}"},
                               finished="method_execution_finished", failed="method_execution_failed"):
                    emit_token("llm_stream_chunk", "x")
        return count

    with stream_call(many, 5000) as stream:
        list(stream)
    import time
    print("END", time.clock_gettime(time.CLOCK_MONOTONIC), flush=True)  # the run is over; exit begins
    """
)

FETCH_CHILD = textwrap.dedent(
    """
    import sys
    from framescope.replay.fetch import TraceFetcher
    try:
        with TraceFetcher(sys.argv[1], backend="tempo", retries=0, timeout=60) as fetcher:
            fetcher.fetch("1")
    except Exception as exc:
        print(type(exc).__name__, str(exc)[:160])
    import resource
    print("RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)

FILE_CHILD = textwrap.dedent(
    """
    import sys
    from framescope import replay
    try:
        replay.load_records(sys.argv[1])
    except Exception as exc:
        print(type(exc).__name__, str(exc)[:160])
    import resource
    print("RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


class Hanging:
    """Accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)


def child(code: str, *args: str, **env_extra: str) -> dict[str, object]:
    """Run one child process: its wall time, the time from the end of its run to its exit
    (``exit_s``, when it prints ``END``), its own peak RSS in MiB (when it prints ``RSS``)
    and its last other output line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FRAMESCOPE_"))}
    env.update(PYTHONPATH=str(ROOT / "plugin"), **env_extra)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=600)
    exited = time.clock_gettime(time.CLOCK_MONOTONIC)
    result: dict[str, object] = {"wall_s": time.perf_counter() - started}
    other = []
    for line in (done.stdout + done.stderr).splitlines():
        if line.startswith("END "):
            result["exit_s"] = exited - float(line.split()[1])
        elif line.startswith("RSS "):
            result["rss_mib"] = int(line.split()[1]) / 1024
        elif line.strip():
            other.append(line)
    result["said"] = other[-1][:150] if other else ""
    return result


def exit_cases(tmp: Path) -> None:
    hanging = Hanging()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    common = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp", "FRAMESCOPE_TRACE_FILE": str(tmp / "t")}
    for label, endpoint, extra in [
        ("hanging endpoint, default deadline (2 s)", f"http://127.0.0.1:{hanging.port}", {}),
        ("closed port, default deadline (2 s)", f"http://127.0.0.1:{closed}", {}),
        (
            "hanging endpoint, FRAMESCOPE_SHUTDOWN_TIMEOUT=5",
            f"http://127.0.0.1:{hanging.port}",
            {"FRAMESCOPE_SHUTDOWN_TIMEOUT": "5"},
        ),
    ]:
        got = child(EXIT_CHILD, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, **common, **extra)
        print(
            f"exit after a 5,000-method run, {label}: {got['exit_s']:.2f} s from the run's end to exit "
            f"({got['wall_s']:.2f} s in all) | {got['said']}"
        )


def memory_cases(tmp: Path) -> None:
    with HostileServer(huge_bytes=500 * MiB, bomb_bytes=1024 * MiB) as server:
        print(f"gzip bomb: {len(server.bomb) / MiB:.2f} MiB on the wire, 1,024 MiB inflated")
        for label, path in [("500 MiB body", "/huge"), ("gzip bomb -> 1 GiB", "/bomb")]:
            got = child(FETCH_CHILD, server.url + path)
            print(f"fetch {label}: {got['wall_s']:.2f} s, peak RSS {got['rss_mib']:.0f} MiB | {got['said']}")
    zeros = tmp / "zeros.jsonl"
    with zeros.open("wb") as file:
        file.truncate(1024 * MiB)
    got = child(FILE_CHILD, str(zeros))
    print(f"1 GiB zero-filled file: {got['wall_s']:.2f} s, peak RSS {got['rss_mib']:.0f} MiB | {got['said']}")
    for label, newline_every in [("400 MiB single line", None), ("JSON lines with one 400 MiB line", 1)]:
        path = tmp / "one-line.jsonl"
        with path.open("wb") as file:
            if newline_every:
                file.write(GOOD_LINE)
            file.write(b'{"resourceSpans": [')
            chunk = b" " * MiB
            for _ in range(400):
                file.write(chunk)
            file.write(b"]}\n")
            if newline_every:
                file.write(GOOD_LINE)
        got = child(FILE_CHILD, str(path))
        print(f"{label}: {got['wall_s']:.2f} s, peak RSS {got['rss_mib']:.0f} MiB | {got['said'] or 'read'}")
    baseline = child(FILE_CHILD, str(ROOT / "README.md"))
    print(f"baseline (python + framescope, refusing a small file): peak RSS {baseline['rss_mib']:.0f} MiB")


GOOD_LINE = b'{"resourceSpans": []}\n'


def redaction_cases() -> None:
    """Secret scanning of long texts: a base64 image after ``data:``, a dashed run after a URL."""
    from framescope.types.redaction import redact_text

    for label, text in [
        ("1 MiB base64 after 'data:' + a password pair", "data:image/png;base64," + "QUJD" * (MiB // 4) + " pwd=x"),
        ("1 MiB 'a-a-a-...' after a URL", "https://u:p@h/ " + "a-" * (MiB // 2) + "://x"),
        ("16 MiB base64 after 'data:'", "data:image/png;base64," + "QUJD" * (4 * MiB)),
    ]:
        started = time.perf_counter()
        out = redact_text(text)
        spent = time.perf_counter() - started
        print(f"redact {label}: {spent * 1000:.1f} ms, {'redacted' if '[REDACTED]' in out else 'nothing to redact'}")


def main() -> None:
    print(f"load average: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        if sys.argv[1:] != ["redaction"]:
            exit_cases(tmp)
        if not sys.argv[1:]:
            memory_cases(tmp)
        redaction_cases()
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
