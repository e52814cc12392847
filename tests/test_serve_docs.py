"""docs/serve.md's samples run as printed: the shell session, both Python clients, the live app."""

from __future__ import annotations

import os
import re
import runpy
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from framescope.demo import ANSWER

from support.serve_helpers import UvicornThread, frames_of, parse_sse, sse_text

DOC = (Path(__file__).resolve().parents[1] / "docs" / "serve.md").read_text()
PYTHON_SAMPLES = re.findall(r"```python\n(.*?)```", DOC, flags=re.DOTALL)
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FRAMESCOPE_", "OPENAI_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "plugin")
    return env


def test_the_shell_session_and_both_clients_run_as_printed(tmp_path, clean_env):
    shell = re.search(r"```\npip install 'framescope\[serve\]'\n(.*?)```", DOC, flags=re.DOTALL)
    assert shell is not None
    commands = shell.group(1).strip().splitlines()
    assert commands == ["framescope demo", "framescope serve"]
    demo = subprocess.run(
        [str(BIN / "framescope"), "demo"], cwd=tmp_path, env=clean_env, capture_output=True, text=True, timeout=180
    )
    assert demo.returncode == 0, demo.stderr
    port = _free_port()  # the printed 8765 may be taken on a shared machine: the same command on a free port
    server = subprocess.Popen(
        [str(BIN / "framescope"), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=clean_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "serving .framescope/traces.jsonl at http://127.0.0.1:" in server.stderr.readline()
        assert httpx.get(f"http://127.0.0.1:{port}/api/runs", timeout=30).json()[0]["frame_count"] == 110
        outputs = []
        for sample in PYTHON_SAMPLES[:2]:
            script = tmp_path / "client.py"
            script.write_text(sample.replace("8765", str(port)))
            ran = subprocess.run(
                [sys.executable, str(script)], cwd=tmp_path, env=clean_env, capture_output=True, text=True, timeout=120
            )
            assert ran.returncode == 0, ran.stderr
            outputs.append(ran.stdout)
        frame_lines = outputs[0].splitlines()
        assert len(frame_lines) == 110 and frame_lines[0].startswith('{"id":') and "flow_started" in frame_lines[0]
        assert outputs[1].splitlines() == ["tool: search_runbooks", "tool: get_service_metrics", ANSWER]
    finally:
        server.terminate()
        server.wait(10)


def test_the_live_app_sample_serves_a_live_run_and_the_mounted_page(tmp_path, monkeypatch):
    (sample,) = [s for s in PYTHON_SAMPLES if "live_app.py" in s]
    monkeypatch.chdir(tmp_path)
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FRAMESCOPE_TRACE_FILE", str(tmp_path / ".framescope" / "traces.jsonl"))
    import framescope

    framescope.configure(replace=True)
    (tmp_path / "live_app.py").write_text(sample)
    app = runpy.run_path(str(tmp_path / "live_app.py"))["app"]
    try:
        with UvicornThread(app) as server, httpx.Client(base_url=server.url, timeout=60) as client:
            events = parse_sse(sse_text(client, "/triage"))
            assert events[-1].json() == {"outcome": "ok", "result": ANSWER}
            assert frames_of(events)[0].json()["type"] == "flow_started"
            framescope.flush()
            page = client.get("/framescope/runs/x").text
            assert 'src="/framescope/static/app.js"' in page and 'data-root="/framescope"' in page
            assert client.get("/framescope/static/app.js").status_code == 200
            runs = client.get("/framescope/api/runs").json()
            assert [run["frame_count"] for run in runs] == [len(frames_of(events))]
            started = client.post("/start")
            assert started.status_code == 303
            run_id = started.headers["location"].removeprefix("/framescope/runs/")
            assert client.get("/framescope/api/runs").json()[0]["run_id"] == run_id
            followed = parse_sse(sse_text(client, f"/framescope/api/runs/{run_id}/frames"))
            assert followed[-1].json() == {"outcome": "ok", "result": ANSWER}
            assert client.get(started.headers["location"]).status_code == 200
    finally:
        framescope.shutdown()
