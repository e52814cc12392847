"""configure(): the application's provider is kept, OTEL_* variables are honoured, failures stay outside the run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import framescope
from framescope import ConfigurationError, emit, lifecycle, stream_call

PLUGIN = str(Path(__file__).resolve().parents[1] / "plugin")


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FRAMESCOPE_"))}
    environment.update(env)
    environment["PYTHONPATH"] = PLUGIN + os.pathsep + environment.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=environment, timeout=60
    )


def test_an_application_tracer_provider_is_kept_and_used():
    result = run_python(
        """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        app_exporter = InMemorySpanExporter()
        app = TracerProvider()
        app.add_span_processor(SimpleSpanProcessor(app_exporter))
        trace.set_tracer_provider(app)

        import framescope
        runtime = framescope.configure()
        assert runtime.provider is app and not runtime.owns_provider, runtime.describe()
        assert trace.get_tracer_provider() is app
        tracer = trace.get_tracer("app")
        with tracer.start_as_current_span("app-request") as request:
            with framescope.stream_call(lambda: framescope.emit("hello", {})) as stream:
                frames = list(stream)
        names = [s.name for s in app_exporter.get_finished_spans()]
        assert "framescope.run" in names and "app-request" in names, names
        run_span = next(s for s in app_exporter.get_finished_spans() if s.name == "framescope.run")
        assert run_span.parent.span_id == request.get_span_context().span_id
        assert stream.trace_id == format(request.get_span_context().trace_id, "032x")
        framescope.shutdown()
        with tracer.start_as_current_span("after"):
            pass
        print("OK", len(frames))
        """
    )
    assert result.returncode == 0, result.stderr
    assert "OK 1" in result.stdout


def test_service_name_and_exporter_come_from_the_environment(tmp_path):
    trace_file = tmp_path / "t.jsonl"
    result = run_python(
        """
        import json, framescope
        runtime = framescope.configure()
        print(json.dumps(runtime.describe()))
        framescope.emit("x", {})
        framescope.flush()
        """,
        OTEL_SERVICE_NAME="svc-under-test",
        FRAMESCOPE_TRACE_FILE=str(trace_file),
    )
    assert result.returncode == 0, result.stderr
    assert '"exporters": ["file"]' in result.stdout
    assert '"service.name"' in trace_file.read_text() and "svc-under-test" in trace_file.read_text()


def test_unknown_exporter_and_protocol_are_clear_errors(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkinish")
    with pytest.raises(ConfigurationError, match="unknown trace exporter 'zipkinish'.*otlp, console, file, none"):
        framescope.configure(replace=True)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(ConfigurationError, match="http/protobuf, grpc"):
        framescope.configure(replace=True)
    monkeypatch.setenv("OTEL_SDK_DISABLED", "maybe")
    with pytest.raises(ConfigurationError, match="OTEL_SDK_DISABLED='maybe' is not a boolean"):
        framescope.configure(replace=True)
    framescope.shutdown()


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_an_unreachable_otlp_endpoint_never_breaks_the_run(monkeypatch, protocol):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    runtime = framescope.configure(endpoint="http://127.0.0.1:9", protocol=protocol, replace=True)
    try:
        assert runtime.exporters == ["otlp"] and runtime.protocol == protocol

        def work() -> str:
            with lifecycle("flow_started", {"flow_name": "Down"}, finished="flow_finished", failed="flow_failed"):
                for i in range(200):
                    emit("tick", {"i": i})
            return "fine"

        with stream_call(work) as stream:
            frames = list(stream)
        assert stream.result == "fine" and len(frames) == 202
    finally:
        framescope.shutdown()


def test_shutdown_then_lazy_reconfigure(trace_file):
    framescope.shutdown()
    frame = emit("after-shutdown", {})  # configures again, lazily
    assert frame.seq == 0
    framescope.flush()
    assert "after-shutdown" in trace_file.read_text()
