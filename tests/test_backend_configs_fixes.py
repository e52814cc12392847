"""Static checks of the fixes from the backend review (issue 12): Tempo buckets, explicit
Prometheus exporter settings, the Collector's own telemetry and its panel, instant stat
panels, exemplars end to end, trace-to-metrics links, the distribution's release line and
the documented image pins.  tests/test_backends_*.py run the same configs for real.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from test_backend_configs import (
    COLLECTOR_CONFIGS,
    COLLECTOR_TELEMETRY,
    CONFIG_DIR,
    DASHBOARDS,
    ROOT,
    _compose,
    _datasources,
    _panels,
    _prom_exprs,
    full_collector_config,
    known_metric_names,
    load_json,
    load_yaml,
    promql_metric_names,
)

# -- review fixes (issue 12) ---------------------------------------------------------------


def _seconds(value: Any) -> float:
    """A Collector duration ('250ms', '2500ms', '1s') or a Tempo number of seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)", str(value))
    assert match, value
    return float(match.group(1)) / (1000 if match.group(2) == "ms" else 1)


def test_tempo_and_collector_histograms_share_buckets_up_to_120_seconds() -> None:
    collector = [
        _seconds(b) for b in full_collector_config()["connectors"]["span_metrics"]["histogram"]["explicit"]["buckets"]
    ]
    tempo = load_yaml(CONFIG_DIR / "tempo.yaml")["metrics_generator"]["processor"]["span_metrics"]["histogram_buckets"]
    assert [float(b) for b in tempo] == collector
    assert max(tempo) == 120 and tempo == sorted(tempo)


@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_prometheus_exporter_settings_are_explicit_and_current(path: Path) -> None:
    exporter = load_yaml(path)["exporters"]["prometheus"]
    assert exporter["translation_strategy"] == "UnderscoreEscapingWithSuffixes"
    assert "resource_to_telemetry_conversion" not in exporter  # deprecated
    assert "service.name" in exporter["resource_constant_labels"]["included"]
    assert exporter["enable_open_metrics"] is True  # the only format with exemplars


@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_collector_exposes_its_own_telemetry_for_prometheus(path: Path) -> None:
    readers = load_yaml(path)["service"]["telemetry"]["metrics"]["readers"]
    ports = {r["pull"]["exporter"]["prometheus"]["port"] for r in readers}
    assert ports == {8888}


def test_prometheus_scrapes_the_collectors_own_telemetry_and_a_panel_shows_its_losses() -> None:
    prom = load_yaml(CONFIG_DIR / "prometheus.yml")
    targets = {t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    assert "otel-collector:8888" in targets
    lost = [
        expr
        for _, title, expr in _prom_exprs()
        if "otelcol_exporter_send_failed_spans" in expr or "otelcol_receiver_refused_spans" in expr
    ]
    assert any("send_failed" in e for e in lost) and any("refused" in e for e in lost)


def test_stat_panels_use_instant_queries() -> None:
    stats = [p for path in DASHBOARDS for p in _panels(load_json(path)) if p["type"] == "stat"]
    assert stats
    for panel in stats:
        for target in panel["targets"]:
            assert target.get("instant") is True and target.get("range") is False, panel["title"]


def test_time_series_panels_ask_for_exemplars_and_exemplars_are_produced_and_linked() -> None:
    for path in DASHBOARDS:
        for panel in _panels(load_json(path)):
            if panel["type"] == "timeseries":
                for target in panel["targets"]:
                    # the Collector's own telemetry has no exemplars; everything else does
                    wanted = not promql_metric_names(target["expr"]) <= COLLECTOR_TELEMETRY
                    assert target.get("exemplar") is wanted, panel["title"]
    assert full_collector_config()["connectors"]["span_metrics"]["exemplars"]["enabled"] is True
    assert "--enable-feature=exemplar-storage" in _compose()["services"]["prometheus"]["command"]
    [rw] = load_yaml(CONFIG_DIR / "tempo.yaml")["metrics_generator"]["storage"]["remote_write"]
    assert rw["send_exemplars"] is True
    destinations = _datasources()["framescope-prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    labels = {d["name"] for d in destinations}
    assert labels == {"trace_id", "traceID"}  # Collector exporter, Tempo metrics-generator
    assert {d["datasourceUid"] for d in destinations} <= set(_datasources())


@pytest.mark.parametrize("uid", ["framescope-tempo", "framescope-jaeger"])
def test_trace_to_metrics_links_have_tags_and_queries_on_known_metrics(uid: str) -> None:
    links = _datasources()[uid]["jsonData"]["tracesToMetrics"]
    assert links["datasourceUid"] == "framescope-prometheus"
    tags = {t["key"]: t["value"] for t in links["tags"]}
    assert tags["service.name"] == "service_name"
    for key, label in tags.items():
        assert label == key.replace(".", "_")
    assert len(links["queries"]) >= 2
    for query in links["queries"]:
        assert "$__tags" in query["query"], query["name"]
        assert promql_metric_names(query["query"]) <= known_metric_names(), query["name"]


DISTRIBUTION = CONFIG_DIR / "distribution" / "manifest.yaml"


def test_the_distribution_manifest_keeps_one_release_line() -> None:
    manifest = load_yaml(DISTRIBUTION)
    modules = [
        entry["gomod"]
        for kind in ("receivers", "processors", "connectors", "exporters", "extensions", "providers")
        for entry in manifest[kind]
    ]
    for module in modules:
        path, version = module.split()
        if path.startswith("github.com/open-telemetry/opentelemetry-collector-contrib/"):
            assert version == "v0.165.1", module
        elif "/confmap/provider/" in path:
            assert version == "v1.71.0", module
        else:
            assert path.startswith("go.opentelemetry.io/collector/") and version == "v0.165.0", module
    tag = _compose()["services"]["otel-collector"]["image"].split(":")[1]
    assert tag == "0.165.0", "the compose Collector runs the release the distribution is built from"


def test_the_documented_image_pins_are_the_compose_pins() -> None:
    """docs/backends.md says how each pin was verified; it must talk about the pins in use."""
    text = (ROOT / "docs" / "backends.md").read_text()
    documented = set(re.findall(r"^\| `([a-z][\w./-]+:v?\d+\.\d+\.\d+)` \|", text, flags=re.MULTILINE))
    assert documented == {service["image"] for service in _compose()["services"].values()}
