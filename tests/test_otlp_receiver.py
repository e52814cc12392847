"""The loopback OTLP receivers, exercised with the real OpenTelemetry SDK exporters.

These receivers are the ground truth of every end-to-end test, so they are tested against
the exporters framescope really uses: if they decoded wrongly, accepted what a backend
rejects, or lost requests, the end-to-end tests built on them would prove nothing.
"""

from __future__ import annotations

import gzip
import time

import grpc
import pytest
import requests
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
    OTLPMetricExporter as GrpcMetricExporter,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
    OTLPMetricExporter as HttpMetricExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from support.otlp_receiver import OtlpGrpcReceiver, OtlpHttpReceiver

RESOURCE = Resource.create({"service.name": "receiver-test"})


def _emit_spans(exporter: SpanExporter, names: list[str]) -> None:
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("framescope.test")
    for name in names:
        with tracer.start_as_current_span(name) as span:
            span.set_attribute("framescope.run.id", "run-1")
            span.set_attribute("tokens", [1, 2, 3])
            span.add_event("frame", {"seq": 7})
    provider.shutdown()


def _export_metrics(exporter) -> None:  # type: ignore[no-untyped-def]
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    meter = provider.get_meter("framescope.test")
    meter.create_counter("framescope.frames").add(5, {"framescope.channel": "llm"})
    meter.create_histogram("gen_ai.client.operation.duration", unit="s").record(0.25)
    provider.shutdown()  # flushes once through the exporter


# -- HTTP ------------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_http_receiver_decodes_spans_from_real_exporter(compression: Compression) -> None:
    with OtlpHttpReceiver() as rx:
        assert rx.endpoint.startswith("http://127.0.0.1:")
        exporter = HttpSpanExporter(endpoint=rx.endpoint + "/v1/traces", compression=compression)
        _emit_spans(exporter, ["invoke_workflow Demo", "chat gpt-x"])
        assert rx.wait_for(lambda r: len(r.spans()) == 2, timeout=5)
        spans = rx.spans()
        assert [s.span.name for s in spans] == ["invoke_workflow Demo", "chat gpt-x"]
        first = spans[0]
        assert first.service_name == "receiver-test"
        assert first.scope_name == "framescope.test"
        assert first.attribute("framescope.run.id") == "run-1"
        assert first.attribute("tokens") == [1, 2, 3]
        assert first.attribute("missing") is None
        assert first.span.events[0].name == "frame"
        assert len(first.span.trace_id) == 16
        assert rx.request_count == 2  # SimpleSpanProcessor: one request per span
        assert len(rx.trace_requests) == 2
        assert rx.metric_requests == []


def test_http_receiver_decodes_metrics_gzip() -> None:
    with OtlpHttpReceiver() as rx:
        exporter = HttpMetricExporter(endpoint=rx.endpoint + "/v1/metrics", compression=Compression.Gzip)
        _export_metrics(exporter)
        assert rx.wait_for(lambda r: bool(r.metric_requests), timeout=5)
        assert rx.metric_names() == {"framescope.frames", "gen_ai.client.operation.duration"}
        frames = next(m.metric for m in rx.metrics() if m.metric.name == "framescope.frames")
        assert frames.sum.data_points[0].as_int == 5
        assert rx.trace_requests == []


def test_http_receiver_rejects_with_configured_status_then_recovers() -> None:
    with OtlpHttpReceiver(status_code=400) as rx:
        exporter = HttpSpanExporter(endpoint=rx.endpoint + "/v1/traces", timeout=2)
        provider = TracerProvider(resource=RESOURCE)
        tracer = provider.get_tracer("t")
        with tracer.start_as_current_span("rejected") as span:
            pass
        assert exporter.export([span]) is SpanExportResult.FAILURE  # type: ignore[list-item]
        assert rx.request_count == 1
        assert rx.spans() == []  # rejected requests are not kept

        rx.status_code = 200  # the backend recovers at runtime
        assert exporter.export([span]) is SpanExportResult.SUCCESS  # type: ignore[list-item]
        assert [s.span.name for s in rx.spans()] == ["rejected"]
        assert rx.request_count == 2
        exporter.shutdown()


def test_http_receiver_delay_is_applied() -> None:
    with OtlpHttpReceiver(delay_s=0.3) as rx:
        exporter = HttpSpanExporter(endpoint=rx.endpoint + "/v1/traces", timeout=5)
        started = time.monotonic()
        _emit_spans(exporter, ["slow"])
        assert time.monotonic() - started >= 0.3
        assert len(rx.spans()) == 1


def test_http_receiver_json_body_and_bad_requests() -> None:
    body = (
        '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name",'
        '"value":{"stringValue":"json-svc"}}]},"scopeSpans":[{"scope":{"name":"s"},'
        '"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",'
        '"name":"from-json","kind":1}]}]}]}'
    )
    with OtlpHttpReceiver() as rx:
        ok = requests.post(
            rx.endpoint + "/v1/traces",
            data=gzip.compress(body.encode()),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            timeout=5,
        )
        assert ok.status_code == 200
        assert ok.headers["Content-Type"] == "application/json"
        [received] = rx.spans()
        assert received.span.name == "from-json"
        assert received.service_name == "json-svc"
        assert received.span.trace_id.hex() == "5b8efff798038103d269b633813fc60c"

        garbage = requests.post(
            rx.endpoint + "/v1/traces",
            data=b"\xff\xff not protobuf",
            headers={"Content-Type": "application/x-protobuf"},
            timeout=5,
        )
        assert garbage.status_code == 400
        unknown = requests.post(rx.endpoint + "/v1/logs", data=b"", timeout=5)
        assert unknown.status_code == 404
        assert len(rx.spans()) == 1
        assert rx.request_count == 3


def test_http_receiver_releases_port_on_exit() -> None:
    with OtlpHttpReceiver() as rx:
        endpoint = rx.endpoint
    with pytest.raises(requests.ConnectionError):
        requests.post(endpoint + "/v1/traces", data=b"", timeout=2)


def test_wait_for_times_out_when_nothing_arrives() -> None:
    with OtlpHttpReceiver() as rx:
        started = time.monotonic()
        assert rx.wait_for(lambda r: len(r.spans()) > 0, timeout=0.2) is False
        assert time.monotonic() - started >= 0.2


# -- gRPC ------------------------------------------------------------------------------------


def test_grpc_receiver_decodes_spans_and_metrics() -> None:
    with OtlpGrpcReceiver() as rx:
        assert rx.endpoint.startswith("http://127.0.0.1:")
        _emit_spans(GrpcSpanExporter(endpoint=rx.endpoint, insecure=True), ["a", "b", "c"])
        assert rx.wait_for(lambda r: len(r.spans()) == 3, timeout=5)
        assert [s.span.name for s in rx.spans()] == ["a", "b", "c"]
        assert rx.spans()[0].attribute("framescope.run.id") == "run-1"
        assert all(isinstance(r, trace_service_pb2.ExportTraceServiceRequest) for r in rx.trace_requests)

        _export_metrics(GrpcMetricExporter(endpoint=rx.endpoint, insecure=True))
        assert rx.wait_for(lambda r: bool(r.metric_requests), timeout=5)
        assert "gen_ai.client.operation.duration" in rx.metric_names()
        assert rx.request_count == 4


def test_grpc_receiver_fails_with_configured_status_then_recovers() -> None:
    with OtlpGrpcReceiver(status_code=grpc.StatusCode.INVALID_ARGUMENT) as rx:
        exporter = GrpcSpanExporter(endpoint=rx.endpoint, insecure=True, timeout=2)
        provider = TracerProvider(resource=RESOURCE)
        with provider.get_tracer("t").start_as_current_span("x") as span:
            pass
        assert exporter.export([span]) is SpanExportResult.FAILURE  # type: ignore[list-item]
        assert rx.request_count == 1
        assert rx.spans() == []
        rx.status_code = grpc.StatusCode.OK
        assert exporter.export([span]) is SpanExportResult.SUCCESS  # type: ignore[list-item]
        assert len(rx.spans()) == 1
        exporter.shutdown()


def test_clear_forgets_received_data() -> None:
    with OtlpGrpcReceiver() as rx:
        _emit_spans(GrpcSpanExporter(endpoint=rx.endpoint, insecure=True), ["a"])
        assert rx.wait_for(lambda r: len(r.spans()) == 1, timeout=5)
        rx.clear()
        assert rx.spans() == [] and rx.request_count == 0
