"""Item 6 of the hardening issue: a killed run is reported incomplete in the API, --list and the exit code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from framescope import replay
from framescope.cli import main
from framescope.errors import ReplayedRunIncomplete

PLUGIN = str(Path(__file__).resolve().parents[1] / "plugin")

CHILD = textwrap.dedent(
    """
    import threading, framescope
    from framescope.flow import Flow, start
    from framescope.tools import tool

    @tool
    def lookup(q: str) -> str:
        return "tool output " + q

    class Killed(Flow):
        @start()
        def go(self):
            lookup.invoke({"q": "x"})
            framescope.flush()
            print("READY", flush=True)
            threading.Event().wait()  # until killed
            return "never"

    with Killed().stream_events() as session:
        for frame in session:
            pass
    """
)


@pytest.fixture(scope="module")
def killed_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    trace = tmp_path_factory.mktemp("killed") / "traces.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FRAMESCOPE_"))}
    env.update(PYTHONPATH=PLUGIN, FRAMESCOPE_TRACE_FILE=str(trace))
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "READY"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    return trace


def test_the_api_never_passes_a_killed_run_off_as_finished(killed_trace):
    session = replay.from_file(killed_trace)
    frames = list(session)  # the frames that are there still replay
    assert [f.type for f in frames] == ["tool_usage_started", "tool_usage_finished"]
    assert session.incomplete and session.gaps and session.gaps[0][0] == 0
    assert not session.is_completed
    with pytest.raises(ReplayedRunIncomplete, match="incomplete: frames with seq 0-1 are missing") as info:
        _ = session.result
    assert info.value.gaps == session.gaps


def test_list_says_incomplete(killed_trace):
    (run,) = replay.list_runs(killed_trace)
    assert run.complete is False and "  incomplete  " in run.describe()
    assert run.to_json()["complete"] is False
    result = CliRunner().invoke(main, ["replay", str(killed_trace), "--list"])
    assert "incomplete" in result.stdout and " ok " not in result.stdout


def test_the_exit_code_says_incomplete(killed_trace):
    result = CliRunner().invoke(main, ["replay", str(killed_trace), "--format", "jsonl"])
    assert result.exit_code == 1
    assert "the replayed run is incomplete" in result.stderr
    assert len(result.stdout.splitlines()) == 2  # what is there was still printed
