"""Every shipped Collector config against the real otelcol-framescope.

``otelcol validate`` checks the configs as shipped (hosts such as ``jaeger:4317`` are not
resolved by validation, so the compose hostnames are fine); then each variant really
starts, bound to free local ports, and must log no deprecation warning: deprecated names
(``spanmetrics``, ``resource_to_telemetry_conversion``) validate but warn at start.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from support.backends import CONFIG_DIR, locate_binaries, start_collector

pytestmark = pytest.mark.backends

SHIPPED = sorted(p.name for p in CONFIG_DIR.glob("otelcol*.yaml"))


def validate(config: Path) -> subprocess.CompletedProcess[str]:
    binary = locate_binaries().otelcol
    return subprocess.run(
        [str(binary), "validate", f"--config=file:{config}"], capture_output=True, text=True, timeout=120, check=False
    )


def test_the_distribution_has_exactly_the_components_the_configs_use() -> None:
    binary = locate_binaries().otelcol
    listed = yaml.safe_load(
        subprocess.run([str(binary), "components"], capture_output=True, text=True, timeout=60, check=True).stdout
    )
    built = {
        kind: {c["name"] for c in listed.get(kind) or []}
        for kind in ("receivers", "processors", "exporters", "connectors", "extensions")
    }
    used: dict[str, set[str]] = {kind: set() for kind in built}
    for name in SHIPPED:
        config = yaml.safe_load((CONFIG_DIR / name).read_text())
        for kind in used:
            used[kind] |= {component.split("/")[0] for component in config.get(kind) or {}}
    for kind in built:
        assert used[kind] <= built[kind], f"{kind}: the configs use {used[kind] - built[kind]} not built in"
    # the component list: nothing missing, and nothing but debug left unused
    assert built["exporters"] == {"otlp_grpc", "otlp_http", "prometheus", "debug"}
    assert built["connectors"] == {"span_metrics"} and built["extensions"] == {"health_check"}
    assert built["receivers"] == {"otlp"} and built["processors"] == {"memory_limiter", "batch"}


@pytest.mark.parametrize("name", SHIPPED)
def test_otelcol_validate_accepts_the_shipped_config(name: str) -> None:
    done = validate(CONFIG_DIR / name)
    assert done.returncode == 0, done.stderr


def test_otelcol_validate_rejects_a_broken_config(tmp_path: Path) -> None:
    config = yaml.safe_load((CONFIG_DIR / "otelcol.yaml").read_text())
    config["service"]["pipelines"]["traces"]["exporters"].append("otlp_grpc/nowhere")
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(config))
    done = validate(broken)
    assert done.returncode != 0 and "otlp_grpc/nowhere" in done.stderr


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_config_starts_without_deprecation_warnings(name: str, tmp_path: Path) -> None:
    collector = start_collector(locate_binaries().otelcol, tmp_path, jaeger_otlp=None, shipped=name)
    try:
        log = collector.program.log_path.read_text()
    finally:
        collector.program.stop()
    warnings = [line for line in log.splitlines() if "deprecat" in line.lower()]
    assert not warnings, "\n".join(warnings)
    assert "Everything is ready" in log
