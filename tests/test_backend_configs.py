"""Static checks of the backend stack: Collector configs, compose, Tempo, Prometheus,
Grafana provisioning and dashboards.

Docker cannot run here, so these tests are what stands between a typo and a stack that
does not start or a dashboard that shows nothing: every pipeline must reference defined
components, every panel a provisioned datasource, and every queried metric one that
framescope or a span-metric generator really produces.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from framescope.telemetry.metrics import METRIC_NAMES
from framescope.testing import prometheus_names

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "collector-config"
DASHBOARD_DIR = ROOT / "dashboards"
SCHEMA = Path(__file__).parent / "fixtures" / "grafana" / "dashboard.jsonschema.json"

COLLECTOR_CONFIGS = sorted(CONFIG_DIR.glob("otelcol*.yaml"))
DASHBOARDS = sorted(DASHBOARD_DIR.glob("*.json"))
ALL_YAML = sorted(CONFIG_DIR.rglob("*.yaml")) + sorted(CONFIG_DIR.rglob("*.yml"))

# Tempo's metrics-generator writes Prometheus names directly (no OTLP translation); from
# Tempo's span-metrics documentation: calls counter, latency histogram (seconds), size counter.
TEMPO_SPANMETRICS = {
    "traces_spanmetrics_calls_total",
    "traces_spanmetrics_latency_bucket",
    "traces_spanmetrics_latency_sum",
    "traces_spanmetrics_latency_count",
    "traces_spanmetrics_size_total",
}
# The Collector's own telemetry (service.telemetry, scraped on :8888) as otelcol-framescope
# 0.165 names it: counters without a _total suffix.  tests/test_backends_prometheus.py
# queries them from a real Collector through a real Prometheus.
COLLECTOR_TELEMETRY = {
    "otelcol_receiver_accepted_spans",
    "otelcol_receiver_refused_spans",
    "otelcol_receiver_failed_spans",
    "otelcol_exporter_sent_spans",
    "otelcol_exporter_send_failed_spans",
}
# Labels each generator sets on its own, besides the configured dimensions.
COLLECTOR_INTRINSIC_LABELS = {"service_name", "span_name", "span_kind", "status_code", "le"}
TEMPO_INTRINSIC_LABELS = {"service", "span_name", "span_kind", "status_code", "le"}


def load_yaml(path: Path) -> Any:
    with path.open() as f:
        return yaml.safe_load(f)


def load_json(path: Path) -> Any:
    with path.open() as f:
        return json.load(f)


def full_collector_config() -> dict[str, Any]:
    return load_yaml(CONFIG_DIR / "otelcol.yaml")


def collector_spanmetric_names(config: dict[str, Any]) -> set[str]:
    """Names the span_metrics connector produces, derived from its config and the defaults
    (namespace ``traces.span.metrics``, histogram unit ``ms``) through the Prometheus rules."""
    connector = config["connectors"]["span_metrics"]
    namespace = connector.get("namespace", "traces.span.metrics")
    unit = connector.get("histogram", {}).get("unit", "ms")
    return {
        *prometheus_names(f"{namespace}.calls", "counter", "{call}"),
        *prometheus_names(f"{namespace}.duration", "histogram", unit),
    }


def framescope_metric_names() -> set[str]:
    return {n for spec in METRIC_NAMES for n in prometheus_names(spec.name, spec.kind, spec.unit)}


def known_metric_names() -> set[str]:
    return (
        framescope_metric_names()
        | collector_spanmetric_names(full_collector_config())
        | (TEMPO_SPANMETRICS | COLLECTOR_TELEMETRY)
    )


# -- every file parses -------------------------------------------------------------------


def test_there_is_something_to_check() -> None:
    assert {p.name for p in COLLECTOR_CONFIGS} >= {
        "otelcol.yaml",
        "otelcol.jaeger-only.yaml",
        "otelcol.tempo-only.yaml",
    }
    assert len(DASHBOARDS) >= 2
    assert (CONFIG_DIR / "compose.yaml").is_file()


@pytest.mark.parametrize("path", ALL_YAML, ids=lambda p: str(p.relative_to(ROOT)))
def test_yaml_parses_to_a_mapping(path: Path) -> None:
    assert isinstance(load_yaml(path), dict)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_json_parses(path: Path) -> None:
    assert isinstance(load_json(path), dict)


# -- Collector pipelines -----------------------------------------------------------------


def _component_type(component_id: str) -> str:
    return component_id.split("/", 1)[0]


@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_collector_pipelines_reference_defined_components(path: Path) -> None:
    cfg = load_yaml(path)
    defined = {
        kind: set(cfg.get(kind) or {}) for kind in ("receivers", "processors", "exporters", "connectors", "extensions")
    }
    service = cfg["service"]
    assert set(service.get("extensions", [])) <= defined["extensions"]
    pipelines = service["pipelines"]
    assert pipelines, "no pipelines"
    used_as_exporter: set[str] = set()
    used_as_receiver: set[str] = set()
    used: set[str] = set()
    for name, pipeline in pipelines.items():
        assert _component_type(name) in {"traces", "metrics", "logs"}, name
        receivers, processors, exporters = (
            pipeline.get("receivers", []),
            pipeline.get("processors", []),
            pipeline.get("exporters", []),
        )
        assert receivers and exporters, f"{name} needs receivers and exporters"
        for r in receivers:
            assert r in defined["receivers"] | defined["connectors"], f"{name}: receiver {r}"
        for p in processors:
            assert p in defined["processors"], f"{name}: processor {p}"
        for e in exporters:
            assert e in defined["exporters"] | defined["connectors"], f"{name}: exporter {e}"
        assert processors and _component_type(processors[0]) == "memory_limiter", (
            f"{name}: memory_limiter must come first"
        )
        assert any(_component_type(p) == "batch" for p in processors), f"{name}: no batch"
        used_as_exporter |= set(exporters) & defined["connectors"]
        used_as_receiver |= set(receivers) & defined["connectors"]
        used |= set(receivers) | set(processors) | set(exporters)
    for connector in defined["connectors"]:
        assert connector in used_as_exporter and connector in used_as_receiver, (
            f"connector {connector} must be an exporter of one pipeline and a receiver of another"
        )
    unused = (defined["receivers"] | defined["processors"] | defined["exporters"]) - used
    assert not unused, f"defined but unused: {unused}"


@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_collector_uses_current_exporter_names_and_standard_ports(path: Path) -> None:
    cfg = load_yaml(path)
    for exporter in cfg["exporters"]:
        # Collector >= 0.144: otlp_grpc / otlp_http; otlp and otlphttp are deprecated aliases
        assert _component_type(exporter) not in {"otlp", "otlphttp"}, exporter
    protocols = cfg["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":4317")
    assert protocols["http"]["endpoint"].endswith(":4318")
    # framescope's own metrics have a pipeline in every variant
    metrics_pipelines = [
        p
        for n, p in cfg["service"]["pipelines"].items()
        if _component_type(n) == "metrics" and "otlp" in p["receivers"]
    ]
    assert metrics_pipelines


def test_variants_send_traces_where_they_say() -> None:
    def trace_targets(name: str) -> set[str]:
        cfg = load_yaml(CONFIG_DIR / name)
        return {
            cfg["exporters"][e]["endpoint"]
            for e in cfg["service"]["pipelines"]["traces"]["exporters"]
            if e in cfg["exporters"]
        }

    assert trace_targets("otelcol.yaml") == {"jaeger:4317", "tempo:4317"}
    assert trace_targets("otelcol.jaeger-only.yaml") == {"jaeger:4317"}
    assert trace_targets("otelcol.tempo-only.yaml") == {"tempo:4317"}


# -- compose -----------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    return load_yaml(CONFIG_DIR / "compose.yaml")


def test_compose_images_are_pinned() -> None:
    services = _compose()["services"]
    assert set(services) >= {"otel-collector", "jaeger", "tempo", "prometheus", "grafana"}
    for name, service in services.items():
        image = service["image"]
        repo, _, tag = image.rpartition(":") if "@" not in image else (image, "", "digest")
        assert repo and tag and tag != "latest", f"{name}: image {image!r} is not pinned"
        assert re.fullmatch(r"v?\d+\.\d+\.\d+|digest", tag), f"{name}: {tag!r} is not a version"
    assert services["jaeger"]["image"].split(":")[1].startswith("2.")
    assert services["otel-collector"]["image"].startswith("otel/opentelemetry-collector-contrib:")


def test_compose_publishes_only_the_documented_ports() -> None:
    published: set[int] = set()
    for service in _compose()["services"].values():
        for mapping in service.get("ports", []):
            parts = str(mapping).split(":")
            published.add(int(parts[-2]))
    assert published == {4317, 4318, 16686, 3000, 3200}


def test_compose_mounts_exist() -> None:
    compose = _compose()
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            volume = re.sub(r"\$\{FRAMESCOPE_OTELCOL_CONFIG:-([^}]+)\}", r"\1", volume)
            source = volume.split(":", 1)[0]
            if source in compose.get("volumes", {}):
                continue  # named volume
            assert (CONFIG_DIR / source).exists(), f"{name}: {source} does not exist"


def test_collector_exporters_point_at_compose_services() -> None:
    services = set(_compose()["services"])
    for path in COLLECTOR_CONFIGS:
        for exporter_id, exporter in load_yaml(path)["exporters"].items():
            host = exporter["endpoint"].split("://")[-1].rsplit(":", 1)[0]
            assert host in services | {"0.0.0.0"}, f"{path.name}: {exporter_id} -> {host}"


def test_prometheus_scrapes_the_collector_exporter() -> None:
    prom = load_yaml(CONFIG_DIR / "prometheus.yml")
    targets = {t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    port = full_collector_config()["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1]
    assert f"otel-collector:{port}" in targets
    command = _compose()["services"]["prometheus"]["command"]
    assert "--web.enable-remote-write-receiver" in command  # Tempo's metrics-generator


def test_tempo_remote_writes_to_prometheus_with_span_metrics_enabled() -> None:
    tempo = load_yaml(CONFIG_DIR / "tempo.yaml")
    [rw] = tempo["metrics_generator"]["storage"]["remote_write"]
    assert rw["url"] == "http://prometheus:9090/api/v1/write"
    assert "span-metrics" in tempo["overrides"]["defaults"]["metrics_generator"]["processors"]
    receivers = tempo["distributor"]["receivers"]["otlp"]["protocols"]
    assert receivers["grpc"]["endpoint"].endswith(":4317")


# -- Grafana provisioning and dashboards -------------------------------------------------


def _datasources() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in (CONFIG_DIR / "grafana" / "provisioning" / "datasources").glob("*.yaml"):
        for ds in load_yaml(path)["datasources"]:
            out[ds["uid"]] = ds
    return out


def test_datasources_have_fixed_uids_for_each_backend() -> None:
    types = {ds["type"] for ds in _datasources().values()}
    assert types == {"prometheus", "tempo", "jaeger"}


def test_dashboard_provider_points_at_the_mounted_dashboards() -> None:
    [provider_file] = (CONFIG_DIR / "grafana" / "provisioning" / "dashboards").glob("*.yaml")
    [provider] = load_yaml(provider_file)["providers"]
    grafana_volumes = _compose()["services"]["grafana"]["volumes"]
    mounts = dict(v.rsplit(":", 2)[:2] if v.count(":") == 2 else v.split(":") for v in grafana_volumes)
    assert mounts["../dashboards"] == provider["options"]["path"]
    assert (CONFIG_DIR / "../dashboards").resolve() == DASHBOARD_DIR


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dashboard.get("panels", []):
        out.append(panel)
        out.extend(panel.get("panels", []))  # collapsed rows
    return out


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_matches_grafana_schema(path: Path) -> None:
    schema = load_json(SCHEMA)
    dashboard = load_json(path)
    jsonschema.Draft7Validator(schema).validate(dashboard)
    assert dashboard["schemaVersion"] >= 41
    assert dashboard["uid"] and dashboard["title"]
    ids = [p["id"] for p in _panels(dashboard)]
    assert len(ids) == len(set(ids)), "duplicate panel ids"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_panel_datasource_is_provisioned(path: Path) -> None:
    datasources = _datasources()
    for panel in _panels(load_json(path)):
        if panel["type"] == "row":
            continue
        refs = [panel.get("datasource")] + [t.get("datasource") for t in panel.get("targets", [])]
        assert panel.get("targets"), f"{panel['title']}: no queries"
        for ref in refs:
            assert ref is not None, f"{panel['title']}: datasource not set"
            assert ref["uid"] in datasources, f"{panel['title']}: unknown uid {ref['uid']}"
            assert ref["type"] == datasources[ref["uid"]]["type"], panel["title"]


PROMQL_WORDS = {
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "rate",
    "irate",
    "increase",
    "histogram_quantile",
    "by",
    "without",
    "or",
    "and",
    "unless",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "topk",
    "bottomk",
    "clamp_min",
    "clamp_max",
    "abs",
    "vector",
    "scalar",
    "offset",
    "bool",
}


def promql_metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (strings, label matchers, grouping
    clauses, ranges and variables removed first)."""
    expr = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\$\w+", " ", expr)
    words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr))
    return words - PROMQL_WORDS


def promql_labels(expr: str) -> set[str]:
    expr = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    labels = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", expr))
    for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        labels |= {w.strip() for w in group.split(",") if w.strip()}
    return labels


def _prom_exprs() -> list[tuple[str, str, str]]:
    out = []
    for path in DASHBOARDS:
        for panel in _panels(load_json(path)):
            for target in panel.get("targets", []):
                if target.get("datasource", {}).get("type") == "prometheus":
                    out.append((path.name, panel["title"], target["expr"]))
    return out


def test_dashboards_query_only_metrics_that_exist() -> None:
    known = known_metric_names()
    exprs = _prom_exprs()
    assert exprs
    used: set[str] = set()
    for dashboard, title, expr in exprs:
        names = promql_metric_names(expr)
        assert names, f"{dashboard} / {title}: no metric in {expr!r}"
        unknown = names - known
        assert not unknown, f"{dashboard} / {title}: unknown metrics {unknown}"
        used |= names
    # every framescope instrument is on a dashboard
    missing = {spec.name for spec in METRIC_NAMES if not set(prometheus_names(spec.name, spec.kind, spec.unit)) & used}
    assert not missing, f"framescope metrics on no dashboard: {missing}"


def test_span_metric_queries_cover_both_namings_with_matching_labels() -> None:
    """Each span-metric query reads both generators, and groups only by labels they set."""
    cfg = full_collector_config()
    collector_names = collector_spanmetric_names(cfg)
    collector_labels = COLLECTOR_INTRINSIC_LABELS | {
        d["name"].replace(".", "_") for d in cfg["connectors"]["span_metrics"]["dimensions"]
    }
    tempo = load_yaml(CONFIG_DIR / "tempo.yaml")
    tempo_labels = TEMPO_INTRINSIC_LABELS | {
        d.replace(".", "_") for d in tempo["metrics_generator"]["processor"]["span_metrics"]["dimensions"]
    }
    checked = 0
    for dashboard, title, expr in _prom_exprs():
        names = promql_metric_names(expr)
        if not names & (collector_names | TEMPO_SPANMETRICS):
            continue
        checked += 1
        assert names & collector_names and names & TEMPO_SPANMETRICS, (
            f"{dashboard} / {title}: reads only one span-metric naming"
        )
        collector_part, _, tempo_part = expr.partition(" or ")
        assert promql_metric_names(collector_part) <= collector_names
        assert promql_metric_names(tempo_part) <= TEMPO_SPANMETRICS
        assert promql_labels(collector_part) <= collector_labels, (
            f"{dashboard} / {title}: {promql_labels(collector_part) - collector_labels}"
        )
        assert promql_labels(tempo_part) <= tempo_labels, (
            f"{dashboard} / {title}: {promql_labels(tempo_part) - tempo_labels}"
        )
    assert checked >= 4


def test_framescope_metric_queries_use_labels_framescope_sets() -> None:
    allowed = {
        "le",
        "service_name",
        "framescope_channel",
        "framescope_frame_type",
        "reason",
        "gen_ai_operation_name",
        "gen_ai_provider_name",
        "gen_ai_request_model",
        "gen_ai_token_type",
        "gen_ai_tool_name",
        "error_type",
        "gen_ai_workflow_name",
    }
    ours = framescope_metric_names()
    for dashboard, title, expr in _prom_exprs():
        if promql_metric_names(expr) <= ours:
            assert promql_labels(expr) <= allowed, f"{dashboard} / {title}"


def test_traceql_panels_use_framescope_span_vocabulary() -> None:
    queries = [
        t["query"]
        for path in DASHBOARDS
        for p in _panels(load_json(path))
        for t in p.get("targets", [])
        if t.get("queryType") == "traceql"
    ]
    assert queries
    joined = " ".join(queries)
    for needle in (
        '"invoke_workflow.*"',
        "span.framescope.flow.name",
        '"conversation_turn"',
        "span.gen_ai.conversation.id",
        "span.framescope.run.id",
        '"execute_tool.*"',
    ):
        assert needle in joined, needle
    for query in queries:
        assert query.count("{") == query.count("}"), query
        assert query.count("(") == query.count(")"), query
