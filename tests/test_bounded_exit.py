"""Item 8 of the hardening issue: a bad OTLP endpoint never holds up interpreter exit.

Each case runs a real child process against a hostile endpoint on 127.0.0.1 (a closed port,
or a server that accepts connections and never answers) and waits for it to exit; the
bound is the subprocess timeout, far below the 16-50 s the unbounded shutdown took.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from framescope.telemetry.loss_report import LossReport
from framescope.telemetry.shutdown import DEFAULT_SHUTDOWN_TIMEOUT_S, shutdown_deadline_s

PLUGIN = str(Path(__file__).resolve().parents[1] / "plugin")
EXIT_BOUND_S = 15  # the child must be gone well before the old 30 s of a hanging endpoint

CHILD = textwrap.dedent(
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

    with stream_call(many, 3000) as stream:
        frames = list(stream)
    print("RESULT", stream.result, len(frames), flush=True)
    """
)


class HangingServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (holds them open)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.held.append(conn)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.fixture
def hanging() -> Iterator[HangingServer]:
    server = HangingServer()
    yield server
    server.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_child(endpoint: str, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FRAMESCOPE_"))}
    env.update(
        PYTHONPATH=PLUGIN,
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_METRICS_EXPORTER="otlp",
        FRAMESCOPE_TRACE_FILE=str(tmp_path / "t.jsonl"),
        **extra,
    )
    return subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=EXIT_BOUND_S, cwd=tmp_path
    )


@pytest.mark.slow
def test_a_hanging_endpoint_does_not_hold_up_exit(hanging, tmp_path):
    done = run_child(f"http://127.0.0.1:{hanging.port}", tmp_path, FRAMESCOPE_SHUTDOWN_TIMEOUT="1")
    assert done.returncode == 0, done.stderr
    assert "RESULT 3000 9002" in done.stdout  # the run itself lost nothing
    assert "stopped waiting for its exporters after 1s" in done.stderr
    assert "Transient error" not in done.stderr and "Max retries" not in done.stderr
    losses = [line for line in done.stderr.splitlines() if line.startswith("framescope lost")]
    assert 1 <= len(losses) <= 3, done.stderr


@pytest.mark.slow
def test_a_closed_port_does_not_hold_up_exit_and_reports_one_summary(tmp_path):
    done = run_child(f"http://127.0.0.1:{closed_port()}", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "dropped a span" not in done.stderr and "Transient error" not in done.stderr
    assert len(done.stderr.splitlines()) <= 6, done.stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, DEFAULT_SHUTDOWN_TIMEOUT_S),
        ({"FRAMESCOPE_SHUTDOWN_TIMEOUT": "0.5"}, 0.5),
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "7"}, 7.0),
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "4000"}, 4.0),  # milliseconds, as the specification writes it
        ({"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "3", "OTEL_EXPORTER_OTLP_TIMEOUT": "9"}, 3.0),
        ({"FRAMESCOPE_SHUTDOWN_TIMEOUT": "1", "OTEL_EXPORTER_OTLP_TIMEOUT": "9"}, 1.0),
    ],
)
def test_the_shutdown_deadline_is_configurable_and_honours_the_otlp_timeout(monkeypatch, env, expected):
    for name in ("FRAMESCOPE_SHUTDOWN_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert shutdown_deadline_s() == expected


def test_losses_are_one_rate_limited_summary(caplog):
    report = LossReport(interval_s=3600)
    with caplog.at_level(logging.WARNING, logger="framescope.export"):
        for _ in range(2440):
            report.lost("otlp", "queue_full", 1)
        report.lost("otlp", "export_failed", 512)
        report.flush()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines  # the first loss at once, the rest in one summary at the end
    assert "2439 span(s) by the otlp exporter (the export queue was full" in lines[1]
    assert "512 span(s)" in lines[1] and "2440 in all" in lines[1]
