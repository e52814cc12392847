"""framescope -> the real otelcol-framescope -> the real Jaeger v2, and back with `framescope replay`.

The run (tests/support/backends.py: IncidentFlow) is a flow with two tools, a streamed
10,000-token answer and a session opened inside the flow.  What the outer session streamed
live must come back, line for line as `--format jsonl` prints it, from each of Jaeger's
HTTP answers: the v3 API document, the v1 raw document, and the UI trace URL.  The check
compares the outer session against the replay of the trace's root run (``--run-id`` of the
outer run), so it holds whether a nested session is a run of its own or a view of the
enclosing one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import framescope
from framescope.cli import main
from framescope.telemetry.config import get_telemetry_setup

from support.backend_runs import LiveRun, run_incident_flow
from support.backends import (
    Stack,
    jaeger_get,
    locate_binaries,
    running_stack,
    wait_for_trace,
)

pytestmark = pytest.mark.backends

PROTOCOLS = ["http/protobuf", "grpc"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(locate_binaries(), tmp_path_factory.mktemp("jaeger-stack"))


def send_run(stack: Stack, protocol: str, service: str) -> tuple[LiveRun, int]:
    """One IncidentFlow run exported over ``protocol``; the run and how many spans left the process."""
    assert stack.collector is not None
    framescope.configure(
        endpoint=stack.collector.endpoint(protocol),
        protocol=protocol,
        exporter="otlp",
        service_name=service,
        metrics_export_interval_ms=500,
        replace=True,
    )
    try:
        run = run_incident_flow()
        assert framescope.flush()
        [stats] = get_telemetry_setup().export_stats
        assert stats.spans_lost == 0, stats.as_dict()
        return run, stats.spans_exported
    finally:
        framescope.shutdown()


def replay_lines(*args: str) -> list[str]:
    result = CliRunner().invoke(main, ["replay", *args, "--format", "jsonl", "--strict"])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


@pytest.fixture(scope="module", params=PROTOCOLS)
def exported(request: pytest.FixtureRequest, stack: Stack) -> tuple[str, LiveRun, dict[str, Any]]:
    protocol = request.param
    run, spans = send_run(stack, protocol, service=f"framescope-{protocol.split('/')[0]}")
    return protocol, run, wait_for_trace(stack, run.trace_id, spans)


def test_replay_from_the_v3_api_equals_the_live_frames(exported: Any, stack: Stack, tmp_path: Path) -> None:
    _, run, _ = exported
    response = jaeger_get(stack, f"/api/v3/traces/{run.trace_id}", raw_traces="true")
    assert response.status_code == 200
    saved = tmp_path / "jaeger-v3.json"
    saved.write_bytes(response.content)
    assert "resourceSpans" in json.dumps(response.json()["result"])
    assert replay_lines(str(saved), "--run-id", run.run_id) == run.frame_lines()


def test_replay_from_the_v1_raw_api_equals_the_live_frames(exported: Any, stack: Stack, tmp_path: Path) -> None:
    _, run, v1 = exported
    saved = tmp_path / "jaeger-v1.json"
    saved.write_text(json.dumps(v1))
    assert replay_lines(str(saved), "--run-id", run.run_id) == run.frame_lines()


def test_replay_from_the_ui_trace_url_equals_the_live_frames(exported: Any, stack: Stack) -> None:
    _, run, _ = exported
    assert stack.jaeger is not None
    url = f"{stack.jaeger.query_url}/trace/{run.trace_id}"
    assert replay_lines(url, "--run-id", run.run_id) == run.frame_lines()
    assert replay_lines(f"{stack.jaeger.query_url}/api/traces/{run.trace_id}", "--run-id", run.run_id) == (
        run.frame_lines()
    )


def test_the_run_is_the_root_of_its_trace_and_readable_by_service(exported: Any, stack: Stack) -> None:
    protocol, _, v1 = exported
    [trace] = v1["data"]
    services = {p["serviceName"] for p in trace["processes"].values()}
    assert services == {f"framescope-{protocol.split('/')[0]}"}
    names = {span["operationName"] for span in trace["spans"]}
    assert {"invoke_workflow IncidentFlow", "execute_tool count_errors", "execute_tool page_oncall"} <= names
    roots = [s for s in trace["spans"] if not any(r["refType"] == "CHILD_OF" for r in s["references"])]
    assert [s["operationName"] for s in roots] == ["invoke_workflow IncidentFlow"]
    listed = jaeger_get(stack, "/api/services").json()["data"]
    assert f"framescope-{protocol.split('/')[0]}" in listed
