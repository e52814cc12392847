"""End to end over loopback: the real OTLP exporters to a local receiver decoding with opentelemetry-proto.

The spans the receiver decoded must replay to exactly the frames the live session yielded.
"""

from __future__ import annotations

import pytest

import framescope
from framescope import emit, lifecycle, replay, stream_call
from framescope.replay.sources.otlp_proto import records_from_proto_request
from framescope.telemetry.run import emit_token
from framescope.tools import tool

from support.otlp_receiver import OtlpGrpcReceiver, OtlpHttpReceiver


@tool
def lookup(q: str) -> str:
    """Look a topic up."""
    return f"spans about {q}"


def agent_run() -> str:
    with lifecycle(
        "flow_started",
        {"flow_name": "Export"},
        finished="flow_finished",
        failed="flow_failed",
        namespace=["flow", "Export"],
    ) as flow:
        lookup(q="otel")
        with lifecycle(
            "llm_call_started",
            {"model": "scripted/x", "provider": "scripted"},
            finished="llm_call_completed",
            failed="llm_call_failed",
        ):
            for i in range(2000):
                emit_token("llm_stream_chunk", f"token{i} ")
        emit("note", {"text": "ünïcödé ✓"})
        flow.data["result"] = "exported"
    return "exported"


@pytest.mark.parametrize("receiver_type,protocol", [(OtlpHttpReceiver, "http/protobuf"), (OtlpGrpcReceiver, "grpc")])
def test_spans_exported_over_otlp_replay_to_the_live_frames(receiver_type, protocol):
    with receiver_type() as receiver:
        framescope.configure(
            endpoint=receiver.endpoint, protocol=protocol, exporter="otlp", replace=True, metrics_export_interval_ms=100
        )
        try:
            with stream_call(agent_run) as stream:
                live = list(stream)
            assert framescope.flush()
            records = [r for request in receiver.trace_requests for r in records_from_proto_request(request)]
            replayed = replay.from_records(records, trace_id=stream.trace_id)
            assert list(replayed) == live
            assert replayed.result == "exported"
            assert {r.resource.get("service.name") for r in records} == {"framescope"}
            assert {"invoke_workflow Export", "execute_tool lookup", "chat scripted/x"} <= {r.name for r in records}
            # framescope's own metrics travel with the same OTLP settings
            assert receiver.wait_for(
                lambda r: {"framescope.frames", "gen_ai.execute_tool.duration"} <= r.metric_names(), timeout=5
            ), receiver.metric_names()
        finally:
            framescope.shutdown()


def test_a_backend_answering_500_loses_spans_visibly_but_never_the_run(caplog):
    with OtlpHttpReceiver(status_code=500) as receiver:
        runtime = framescope.configure(endpoint=receiver.endpoint, exporter="otlp", replace=True)
        try:
            with stream_call(agent_run) as stream:
                live = list(stream)
            assert stream.result == "exported" and len(live) > 2000
            framescope.flush(timeout_millis=20000)
            (stats,) = runtime.export_stats
            assert stats.spans_failed >= 1 and stats.spans_exported == 0
            assert "framescope lost" in caplog.text and "the export failed after its retries" in caplog.text
            assert runtime.describe()["export"][0]["spans_failed"] == stats.spans_failed
        finally:
            framescope.shutdown()


@pytest.mark.parametrize("receiver_type,protocol", [(OtlpHttpReceiver, "http/protobuf"), (OtlpGrpcReceiver, "grpc")])
def test_the_standard_otel_environment_variables_choose_the_endpoint(monkeypatch, receiver_type, protocol):
    with receiver_type() as receiver:
        for name in ("OTEL_TRACES_EXPORTER", "FRAMESCOPE_TRACE_FILE", "OTEL_SDK_DISABLED"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "env-configured")
        runtime = framescope.configure(replace=True)
        try:
            assert runtime.exporters == ["otlp"] and runtime.protocol == protocol
            assert runtime.trace_file is None
            with stream_call(lambda: emit("hello", {})) as stream:
                list(stream)
            assert framescope.flush()
            assert receiver.wait_for(lambda r: any(s.service_name == "env-configured" for s in r.spans()), timeout=5)
        finally:
            framescope.shutdown()
