"""The dashboards against a real Prometheus scraping the real otelcol-framescope.

framescope's own metrics and the span metrics of the span_metrics connector go through the
Collector's prometheus exporter; Prometheus scrapes it and the Collector's own telemetry
every second (the shipped prometheus.yml, only faster).  Every PromQL query of every panel
of dashboards/*.json, with Grafana's variables substituted, must return at least one series
through Prometheus' HTTP API; so must the trace-to-metrics queries of the Grafana
datasources.  The runs sent include failures (a failing tool, a failing LLM call, a failed
flow) and an exporter that is down, so the error and loss panels have something to show.
Tempo's naming (traces_spanmetrics_*) cannot be produced here and stays a static check
(tests/test_backend_configs.py).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

import framescope
from framescope.flow import Flow, start
from framescope.llm import LLM
from framescope.llm.providers import register_script, unregister_script
from framescope.telemetry.config import get_telemetry_setup
from framescope.tools import tool

from support.backend_runs import run_incident_flow
from support.backends import (
    ROOT,
    Stack,
    free_port,
    locate_binaries,
    running_stack,
    wait_until,
)

pytestmark = pytest.mark.backends

SERVICE = "framescope-dashboards"
DASHBOARDS = sorted((ROOT / "dashboards").glob("*.json"))
DATASOURCES = ROOT / "collector-config" / "grafana" / "provisioning" / "datasources" / "framescope.yaml"
#: What Grafana would put in for its variables, over a test that lasts well under this window.
GRAFANA_VARIABLES = {"$__rate_interval": "2m", "$__interval": "15s", "$__range": "10m", "$service": SERVICE}


@tool
def flaky_lookup(key: str) -> str:
    """Look a key up in a store that is down."""
    raise ConnectionError(f"the store is down while looking up {key}")


class FailingFlow(Flow):
    """A run whose tool fails, whose LLM call fails, and which fails itself."""

    @start()
    def look_up(self) -> str:
        try:
            flaky_lookup(key="checkout")
        except ConnectionError:
            pass
        # a script with no reply left: the call fails with an LLMError (error_type on the metric)
        return LLM("scripted/backends-broken").call("explain the outage")


def send_failing_run() -> None:
    register_script("backends-broken", [])
    try:
        with FailingFlow().stream_events() as stream, pytest.raises(Exception, match="no reply left"):
            for _ in stream:
                pass
    finally:
        unregister_script("backends-broken")


def send_with_the_exporter_down(collector_http: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """Traces to a port nobody listens on, metrics to the Collector: the loss shows up as
    framescope.spans.dropped{reason="export_failed"}.  Returns the spans lost."""
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", f"http://{collector_http}/v1/metrics")
    dead = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{free_port()}/v1/traces", timeout=1)
    framescope.configure(exporter=dead, service_name=SERVICE, metrics_export_interval_ms=500, replace=True)
    try:
        run = run_incident_flow(tokens=50)
        assert run.result  # the run did not break
        framescope.flush(timeout_millis=10000)
        [stats] = get_telemetry_setup().export_stats
        assert stats.spans_failed > 0 and stats.spans_exported == 0, stats.as_dict()
        return stats.spans_failed
    finally:
        framescope.shutdown()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    monkeypatch = pytest.MonkeyPatch()
    try:
        for stack in running_stack(
            locate_binaries(), tmp_path_factory.mktemp("prometheus-stack"), with_prometheus=True
        ):
            assert stack.collector is not None and stack.prometheus is not None
            framescope.configure(
                endpoint=stack.collector.endpoint("http/protobuf"),
                exporter="otlp",
                service_name=SERVICE,
                metrics_export_interval_ms=500,
                replace=True,
            )
            try:
                run_incident_flow(tokens=500)
                send_failing_run()
                assert framescope.flush()
            finally:
                framescope.shutdown()
            send_with_the_exporter_down(stack.collector.otlp_http, monkeypatch)
            yield stack
    finally:
        monkeypatch.undo()


def substitute(expr: str) -> str:
    for variable, value in sorted(GRAFANA_VARIABLES.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"a Grafana variable is left in {expr!r}"
    return expr


def panel_queries() -> list[tuple[str, str]]:
    out = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        panels = [p for top in dashboard["panels"] for p in [top, *top.get("panels", [])]]
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("datasource", {}).get("type") == "prometheus":
                    out.append((f"{path.stem} / {panel['title']} / {target['refId']}", target["expr"]))
    return out


def traces_to_metrics_queries() -> list[tuple[str, str]]:
    out = []
    for source in yaml.safe_load(DATASOURCES.read_text())["datasources"]:
        links = source.get("jsonData", {}).get("tracesToMetrics")
        if links:
            for query in links["queries"]:
                expr = query["query"].replace("$__tags", f'service_name="{SERVICE}"')
                out.append((f"{source['name']} tracesToMetrics / {query['name']}", expr))
    return out


def empty_queries(stack: Stack, queries: list[tuple[str, str]]) -> list[str]:
    assert stack.prometheus is not None
    return [f"{where}: {expr}" for where, expr in queries if not stack.prometheus.query(substitute(expr))]


def test_every_dashboard_query_returns_series_from_the_real_prometheus(stack: Stack) -> None:
    queries = panel_queries()
    assert len(queries) >= 20
    missing: list[str] = []

    def all_answer() -> bool:
        missing[:] = empty_queries(stack, queries)
        return not missing

    try:
        wait_until(all_answer, 60, "every dashboard query to return a series", interval=0.5)
    except AssertionError:
        raise AssertionError("queries without a series:\n" + "\n".join(missing)) from None


def test_trace_to_metrics_links_return_series(stack: Stack) -> None:
    queries = traces_to_metrics_queries()
    assert {where.split(" ")[0] for where, _ in queries} == {"Tempo", "Jaeger"}
    wait_until(
        lambda: not empty_queries(stack, queries), 60, "trace-to-metrics queries to return a series", interval=0.5
    )


def test_losses_on_both_sides_are_visible(stack: Stack) -> None:
    assert stack.prometheus is not None
    dropped = f'sum by (reason) (framescope_spans_dropped_total{{service_name="{SERVICE}"}})'
    wait_until(lambda: bool(stack.prometheus and stack.prometheus.query(dropped)), 60, dropped)
    [series] = stack.prometheus.query(dropped)
    assert series["metric"]["reason"] == "export_failed" and float(series["value"][1]) > 0
    # the Collector's own telemetry is scraped: what it accepted from framescope is there
    accepted = stack.prometheus.query('sum(otelcol_receiver_accepted_spans{job="otel-collector-telemetry"})')
    assert accepted and float(accepted[0]["value"][1]) > 0


def test_exemplars_carry_trace_ids_to_prometheus(stack: Stack) -> None:
    """Span-metric points carry trace_id exemplars (OpenMetrics, exemplar storage): the
    connector keeps exemplars for one flush, so runs are sent until Prometheus holds some."""
    assert stack.prometheus is not None and stack.collector is not None
    url = f"{stack.prometheus.url}/api/v1/query_exemplars"
    query = f'traces_span_metrics_duration_milliseconds_bucket{{service_name="{SERVICE}"}}'
    framescope.configure(
        endpoint=stack.collector.endpoint("http/protobuf"),
        exporter="otlp",
        service_name=SERVICE,
        metrics_export_interval_ms=500,
        replace=True,
    )
    found: list[dict[str, Any]] = []

    def stored() -> bool:
        run_incident_flow(tokens=20)
        framescope.flush()
        now = time.time()
        body = httpx.get(url, params={"query": query, "start": now - 600, "end": now + 60}, timeout=5).json()
        found[:] = [e for series in body["data"] for e in series["exemplars"]]
        return bool(found)

    try:
        wait_until(stored, 60, "an exemplar in Prometheus", interval=0.2)
    finally:
        framescope.shutdown()
    assert all(re.fullmatch(r"[0-9a-f]{32}", e["labels"]["trace_id"]) for e in found)


def test_the_collector_panel_reads_the_collectors_own_telemetry(stack: Stack) -> None:
    queries = [q for where, q in panel_queries() if "otelcol_" in q]
    assert queries, "no panel shows the Collector's own span loss"
    assert stack.prometheus is not None
    jobs = stack.prometheus.query("count by (job) (otelcol_receiver_accepted_spans)")
    assert {s["metric"]["job"] for s in jobs} == {"otel-collector-telemetry"}


def test_the_shipped_prometheus_config_scrapes_both_collector_endpoints() -> None:
    config = yaml.safe_load(Path(ROOT / "collector-config" / "prometheus.yml").read_text())
    assert {job["job_name"] for job in config["scrape_configs"]} == {"otel-collector", "otel-collector-telemetry"}
