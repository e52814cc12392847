"""framescope serve on a Jaeger trace URL (a local backend on 127.0.0.1), and without its extra."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx

from framescope.serve import create_app
from framescope.testing import spans_to_otlp_json
from test_replay_fetch import Answer, backend  # noqa: F401 - the local backend fixture

from support.recorded_runs import flow_with_tools
from support.serve_helpers import UvicornThread, frames_of, parse_sse, sse_text


def test_a_jaeger_trace_url_is_served(backend, memory_traces):  # noqa: F811
    run_id, live = flow_with_tools()
    records = memory_traces.records()
    (trace_id,) = {r.trace_id for r in records}
    backend.route(
        f"/api/v3/traces/{trace_id}", Answer(body=json.dumps({"result": spans_to_otlp_json(records)}).encode())
    )
    app = create_app(f"{backend.url}/trace/{trace_id}", jaeger_url=backend.url, fetch={"timeout": 2.0})
    with UvicornThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        runs = client.get("/api/runs").json()
        assert [run["run_id"] for run in runs] == [run_id]
        assert runs[0]["links"] == {"jaeger": f"{backend.url}/trace/{trace_id}"}
        frames = frames_of(parse_sse(sse_text(client, f"/api/runs/{run_id}/frames")))
        assert [event.data for event in frames] == [frame.model_dump_json() for frame in live]
        assert client.get("/api/runs/nope/frames").status_code == 404


def test_an_unreachable_backend_is_a_503_with_the_reason(tmp_path):
    app = create_app("http://127.0.0.1:9/api/traces/0af7651916cd43dd8448eb211c80319c", fetch={"timeout": 1.0})
    with UvicornThread(app) as server:
        response = httpx.get(f"{server.url}/api/runs", timeout=60)
    assert response.status_code == 503 and "the source cannot be read" in response.json()["error"]


def test_without_the_serve_extra_the_error_names_it(tmp_path):
    code = textwrap.dedent(
        """
        import sys
        sys.modules["starlette"] = None   # as if the extra were not installed
        try:
            import framescope.serve
        except ImportError as exc:
            assert "framescope[serve]" in str(exc), exc
            print("OK")
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FRAMESCOPE_", "OPENAI_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "plugin")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "OK"
