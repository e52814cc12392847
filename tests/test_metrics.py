"""framescope's own metrics: recorded values, GenAI convention names, Prometheus naming,
provider construction, and real export over OTLP/HTTP and OTLP/gRPC on loopback."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
)
from opentelemetry.sdk.resources import Resource

from framescope.telemetry import metrics as fm
from framescope.telemetry.metrics import (
    METRIC_NAMES,
    FrameMetrics,
    build_meter_provider,
)
from framescope.testing import all_prometheus_names, prometheus_names

from support.otlp_receiver import OtlpGrpcReceiver, OtlpHttpReceiver

RESOURCE = Resource.create({"service.name": "metrics-test"})


def _setup() -> tuple[FrameMetrics, InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    return FrameMetrics(provider.get_meter("framescope")), reader


def _collect(reader: InMemoryMetricReader) -> dict[str, Any]:
    data = reader.get_metrics_data()
    out: dict[str, Any] = {}
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                out[metric.name] = metric
    return out


def _points(metric: Any) -> dict[frozenset, Any]:
    return {frozenset(p.attributes.items()): p for p in metric.data.data_points}


# -- recording ----------------------------------------------------------------------------


def test_frames_are_counted_per_channel_and_type() -> None:
    m, reader = _setup()
    for _ in range(3):
        m.frame("llm", "llm_stream_chunk")
    m.frame("flow", "flow_started")
    frames = _collect(reader)["framescope.frames"]
    assert frames.data.is_monotonic
    points = _points(frames)
    assert points[frozenset({("framescope.channel", "llm"), ("framescope.frame.type", "llm_stream_chunk")})].value == 3
    assert points[frozenset({("framescope.channel", "flow"), ("framescope.frame.type", "flow_started")})].value == 1
    assert len(points) == 2
    m.frame("flow", "flow_started")
    again = _points(_collect(reader)["framescope.frames"])
    assert again[frozenset({("framescope.channel", "flow"), ("framescope.frame.type", "flow_started")})].value == 2


def test_frame_series_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fm, "MAX_FRAME_SERIES", 3)
    m, reader = _setup()
    for i in range(10):
        m.frame("custom", f"user_event_{i}")
    m.frame("custom", "user_event_9")
    points = _points(_collect(reader)["framescope.frames"])
    assert len(points) == 4  # three real types plus the overflow series
    other = points[frozenset({("framescope.channel", "custom"), ("framescope.frame.type", fm.OTHER_FRAME_TYPE)})]
    assert other.value == 8
    assert sum(p.value for p in points.values()) == 11


def test_frame_counting_is_thread_safe() -> None:
    import threading

    m, reader = _setup()

    def work() -> None:
        for _ in range(20_000):
            m.frame("llm", "llm_stream_chunk")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [point] = _points(_collect(reader)["framescope.frames"]).values()
    assert point.value == 80_000


def test_sessions_active_goes_up_and_down() -> None:
    m, reader = _setup()
    m.session_opened()
    m.session_opened()
    m.session_closed()
    metric = _collect(reader)["framescope.sessions.active"]
    assert metric.data.is_monotonic is False
    [point] = metric.data.data_points
    assert point.value == 1


def test_llm_call_records_genai_client_metrics() -> None:
    m, reader = _setup()
    m.llm_call(
        model="gpt-x",
        provider="openai",
        operation="chat",
        duration_s=1.5,
        time_to_first_token_s=0.2,
        input_tokens=12,
        output_tokens=40,
        error_type=None,
    )
    m.llm_call(
        model="gpt-x",
        provider="openai",
        operation="chat",
        duration_s=0.3,
        time_to_first_token_s=None,
        input_tokens=None,
        output_tokens=None,
        error_type="TimeoutError",
    )
    got = _collect(reader)
    base = {("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "openai"), ("gen_ai.request.model", "gpt-x")}

    duration = _points(got["gen_ai.client.operation.duration"])
    assert got["gen_ai.client.operation.duration"].unit == "s"
    assert duration[frozenset(base)].sum == pytest.approx(1.5)
    failed = duration[frozenset(base | {("error.type", "TimeoutError")})]
    assert failed.count == 1 and failed.sum == pytest.approx(0.3)

    ttfc = _points(got["gen_ai.client.operation.time_to_first_chunk"])
    assert list(ttfc) == [frozenset(base)]  # not recorded for the non-streamed call
    assert ttfc[frozenset(base)].count == 1

    tokens = _points(got["gen_ai.client.token.usage"])
    assert got["gen_ai.client.token.usage"].unit == "{token}"
    assert tokens[frozenset(base | {("gen_ai.token.type", "input")})].sum == 12
    assert tokens[frozenset(base | {("gen_ai.token.type", "output")})].sum == 40
    assert len(tokens) == 2
    # the conventions' advised buckets are used, not the SDK defaults
    assert tokens[frozenset(base | {("gen_ai.token.type", "input")})].explicit_bounds[-1] == 4**13


def test_tool_call_and_spans_dropped() -> None:
    m, reader = _setup()
    m.tool_call(tool_name="search", duration_s=0.5, error_type=None)
    m.tool_call(tool_name="search", duration_s=0.1, error_type="ValueError")
    m.spans_dropped(5, "queue_full")
    m.spans_dropped(0, "queue_full")  # nothing dropped, nothing counted
    got = _collect(reader)
    tools = _points(got["gen_ai.execute_tool.duration"])
    ok = frozenset({("gen_ai.operation.name", "execute_tool"), ("gen_ai.tool.name", "search")})
    assert tools[ok].count == 1
    assert tools[ok | {("error.type", "ValueError")}].count == 1
    [dropped] = got["framescope.spans.dropped"].data.data_points
    assert dropped.value == 5 and dict(dropped.attributes) == {"reason": "queue_full"}


def test_metric_names_constant_matches_what_is_created() -> None:
    m, reader = _setup()
    m.frame("llm", "x")
    m.session_opened()
    m.llm_call(
        model="m",
        provider="p",
        operation="chat",
        duration_s=1,
        time_to_first_token_s=1,
        input_tokens=1,
        output_tokens=1,
        error_type=None,
    )
    m.tool_call(tool_name="t", duration_s=1, error_type=None)
    m.spans_dropped(1, "export_failed")
    m.chunk_interval_recorder(model="m", provider="p", operation="chat")(0.01)
    m.workflow_run(workflow_name="w", duration_s=1, error_type=None)
    got = _collect(reader)
    assert set(got) == {spec.name for spec in METRIC_NAMES}
    for spec in METRIC_NAMES:
        assert got[spec.name].unit == spec.unit
        kind = type(got[spec.name].data).__name__
        expected = {"histogram": "Histogram", "counter": "Sum", "updowncounter": "Sum"}
        assert kind == expected[spec.kind], spec.name


# -- Prometheus names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "unit", "expected"),
    [
        (
            "gen_ai.client.operation.duration",
            "histogram",
            "s",
            [
                "gen_ai_client_operation_duration_seconds_bucket",
                "gen_ai_client_operation_duration_seconds_sum",
                "gen_ai_client_operation_duration_seconds_count",
            ],
        ),
        (
            "gen_ai.client.token.usage",
            "histogram",
            "{token}",
            ["gen_ai_client_token_usage_bucket", "gen_ai_client_token_usage_sum", "gen_ai_client_token_usage_count"],
        ),
        ("framescope.frames", "counter", "{frame}", ["framescope_frames_total"]),
        ("framescope.sessions.active", "updowncounter", "{session}", ["framescope_sessions_active"]),
        # the Collector's spanmetrics connector output (default namespace traces.span.metrics)
        ("traces.span.metrics.calls", "counter", "{call}", ["traces_span_metrics_calls_total"]),
        (
            "traces.span.metrics.duration",
            "histogram",
            "ms",
            [
                "traces_span_metrics_duration_milliseconds_bucket",
                "traces_span_metrics_duration_milliseconds_sum",
                "traces_span_metrics_duration_milliseconds_count",
            ],
        ),
        # rules from the translator: no duplicate unit or _total, per-units, ratio, digits
        ("http.requests.total", "counter", "1", ["http_requests_total"]),
        ("request.duration.seconds", "gauge", "s", ["request_duration_seconds"]),
        ("network.io", "counter", "By/s", ["network_io_bytes_per_second_total"]),
        ("cpu.utilization", "gauge", "1", ["cpu_utilization_ratio"]),
        ("cpu.utilization", "updowncounter", "1", ["cpu_utilization"]),
        ("disk.free", "gauge", "%", ["disk_free_percent"]),
        ("jobs", "counter", "{job}/m", ["jobs_per_minute_total"]),
        ("jobs", "counter", "{job}/min", ["jobs_per_min_total"]),  # per-units map "m" only
        ("2xx.responses", "counter", "", ["_2xx_responses_total"]),
        ("odd..name__x", "gauge", "", ["odd_name_x"]),
        ("queue.size", "gauge", "widgets", ["queue_size_widgets"]),
    ],
)
def test_prometheus_names(name: str, kind: fm.MetricKind, unit: str, expected: list[str]) -> None:
    assert prometheus_names(name, kind, unit) == expected


def test_prometheus_names_rejects_empty_result() -> None:
    with pytest.raises(ValueError, match="no Prometheus equivalent"):
        prometheus_names("...", "gauge", "")


def test_all_prometheus_names_covers_every_instrument() -> None:
    names = all_prometheus_names()
    assert "framescope_frames_total" in names
    assert "gen_ai_execute_tool_duration_seconds_count" in names
    assert len(names) == 6 * 3 + 3  # six histograms, three single-series instruments


# -- provider construction ---------------------------------------------------------------


def test_no_endpoint_and_no_exporter_means_no_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_METRICS_EXPORTER", raising=False)
    assert build_meter_provider(RESOURCE, exporter_name=None, endpoint=None, protocol="http/protobuf") is None


def test_none_disables_even_with_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    assert build_meter_provider(RESOURCE, exporter_name=None, endpoint="http://127.0.0.1:1", protocol="grpc") is None
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "otlp")
    # an explicit exporter_name wins over the environment
    assert build_meter_provider(RESOURCE, exporter_name="none", endpoint="http://127.0.0.1:1", protocol="grpc") is None


def test_console_exporter(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "console")
    provider = build_meter_provider(RESOURCE, exporter_name=None, endpoint=None, protocol="http/protobuf")
    assert provider is not None
    FrameMetrics(provider.get_meter("framescope")).frame("tools", "tool_usage_started")
    provider.shutdown()  # final collection prints through the console exporter
    out = capsys.readouterr().out
    assert '"name": "framescope.frames"' in out
    assert "tool_usage_started" in out


def test_bad_exporter_and_protocol_are_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_METRICS_EXPORTER", raising=False)
    with pytest.raises(ValueError, match="unsupported metrics exporter 'prometheus'"):
        build_meter_provider(RESOURCE, exporter_name="prometheus", endpoint=None, protocol="grpc")
    with pytest.raises(ValueError, match="unsupported OTLP protocol 'http/json'"):
        build_meter_provider(RESOURCE, exporter_name=None, endpoint="http://127.0.0.1:1", protocol="http/json")


def test_build_does_not_touch_global_meter_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry import metrics as api

    monkeypatch.delenv("OTEL_METRICS_EXPORTER", raising=False)
    before = api.get_meter_provider()
    provider = build_meter_provider(
        RESOURCE, exporter_name=None, endpoint="http://127.0.0.1:9", protocol="http/protobuf"
    )
    assert provider is not None
    provider.shutdown()
    assert api.get_meter_provider() is before


# -- end to end over loopback ------------------------------------------------------------


def _record_everything(provider: MeterProvider) -> None:
    m = FrameMetrics(provider.get_meter("framescope"))
    for _ in range(7):
        m.frame("llm", "llm_stream_chunk")
    m.session_opened()
    m.llm_call(
        model="gpt-x",
        provider="openai",
        operation="chat",
        duration_s=0.9,
        time_to_first_token_s=0.1,
        input_tokens=3,
        output_tokens=9,
        error_type=None,
    )
    m.tool_call(tool_name="search", duration_s=0.2, error_type=None)
    m.spans_dropped(2, "queue_full")
    m.chunk_interval_recorder(model="gpt-x", provider="openai", operation="chat")(0.02)
    m.workflow_run(workflow_name="Report", duration_s=1.5, error_type=None)


def _assert_received(rx: OtlpHttpReceiver | OtlpGrpcReceiver) -> None:
    expected = {spec.name for spec in METRIC_NAMES}
    assert rx.wait_for(lambda r: expected <= r.metric_names(), timeout=10), rx.metric_names()
    received = rx.metrics()
    assert all(
        any(kv.key == "service.name" and kv.value.string_value == "metrics-test" for kv in m.resource.attributes)
        for m in received
    )
    frames = [m.metric for m in received if m.metric.name == "framescope.frames"][-1]
    assert frames.sum.is_monotonic
    assert frames.sum.data_points[0].as_int == 7
    tokens = [m.metric for m in received if m.metric.name == "gen_ai.client.token.usage"][-1]
    assert sorted(p.sum for p in tokens.histogram.data_points) == [3, 9]


def test_export_over_otlp_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_METRICS_EXPORTER", raising=False)
    with OtlpHttpReceiver() as rx:
        provider = build_meter_provider(
            RESOURCE, exporter_name=None, endpoint=rx.endpoint + "/", protocol="http/protobuf", export_interval_ms=200
        )
        assert provider is not None
        try:
            _record_everything(provider)
            _assert_received(rx)
        finally:
            provider.shutdown()


def test_export_over_otlp_grpc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "otlp")
    with OtlpGrpcReceiver() as rx:
        provider = build_meter_provider(
            RESOURCE, exporter_name=None, endpoint=rx.endpoint, protocol="grpc", export_interval_ms=200
        )
        assert provider is not None
        try:
            _record_everything(provider)
            _assert_received(rx)
        finally:
            provider.shutdown()
