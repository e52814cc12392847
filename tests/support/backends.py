"""The real backends (otelcol-framescope, Jaeger v2, Prometheus) as test fixtures.

``collector-config/backends.sh`` builds or finds the binaries; this module starts them on
free 127.0.0.1 ports with configs written into a temporary folder, waits on their health
endpoints (an event, not a sleep) and kills them at teardown.  The shipped Collector and
Prometheus configs are the starting point: only addresses, flush and scrape intervals are
changed, so the tests exercise what SREs deploy.

When the binaries are missing, the ``backends`` tests fail with the reason under CI
(``CI=true``) and skip with the reason elsewhere: a CI run must never pass by not running.
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "collector-config"
BACKENDS_SCRIPT = CONFIG_DIR / "backends.sh"
ENV_VARS = {"otelcol": "FRAMESCOPE_OTELCOL", "jaeger": "FRAMESCOPE_JAEGER", "prometheus": "FRAMESCOPE_PROMETHEUS"}
#: Seconds a program gets to become healthy; generous because CI machines are shared.
START_TIMEOUT = 60.0


# --------------------------------------------------------------------------- binaries


@dataclass(frozen=True)
class Binaries:
    otelcol: Path
    jaeger: Path
    prometheus: Path


def unavailable(reason: str) -> None:
    """Fail under CI, skip elsewhere: never a silent pass."""
    message = f"real backends unavailable: {reason} (run collector-config/backends.sh, see docs/backends.md)"
    if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


class _Unavailable(Exception):
    pass


@functools.cache
def _locate_cached() -> Binaries | str:
    try:
        return _locate()
    except _Unavailable as exc:
        return str(exc)


def locate_binaries() -> Binaries:
    """The binaries, located once per test session (see ``_locate``)."""
    found = _locate_cached()
    if isinstance(found, str):
        unavailable(found)
    assert isinstance(found, Binaries)
    return found


def _locate() -> Binaries:
    """From FRAMESCOPE_OTELCOL/JAEGER/PROMETHEUS when all are set, else from backends.sh."""
    found = {name: os.environ.get(var, "").strip() for name, var in ENV_VARS.items()}
    if not all(found.values()):
        try:
            # a test run may build into the user's cache, but never installs system packages
            env = {**os.environ, "FRAMESCOPE_SKIP_PROMETHEUS": "1"}
            done = subprocess.run(
                ["bash", str(BACKENDS_SCRIPT)], capture_output=True, text=True, timeout=3600, check=False, env=env
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise _Unavailable(f"{BACKENDS_SCRIPT.name} could not run: {exc}") from None
        if done.returncode != 0:
            tail = " | ".join(done.stderr.strip().splitlines()[-3:])
            raise _Unavailable(f"{BACKENDS_SCRIPT.name} exited {done.returncode}: {tail}")
        printed = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        found = {name: found[name] or printed.get(name, "") for name in ENV_VARS}
    for name, path in found.items():
        if not path or not os.access(path, os.X_OK):
            raise _Unavailable(f"{name} binary {path or '(not printed)'} is not an executable file")
    return Binaries(Path(found["otelcol"]), Path(found["jaeger"]), Path(found["prometheus"]))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``condition`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------- processes


@dataclass
class Program:
    """One real backend process: started, health-checked, stopped."""

    name: str
    argv: list[str]
    health_url: str
    workdir: Path
    healthy: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    starts: int = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self) -> Program:
        assert self.process is None or self.process.poll() is not None, f"{self.name} already runs"
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"--- start {self.starts}: {' '.join(self.argv)}\n".encode())
        log.flush()
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        self.process = subprocess.Popen(
            self.argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, env=env, start_new_session=True
        )
        log.close()
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> None:
        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                return self.healthy(httpx.get(self.health_url, timeout=2.0))
            except httpx.HTTPError:
                return False

        try:
            wait_until(ready, timeout, f"{self.name} at {self.health_url}")
        except AssertionError:
            self.stop()
            raise AssertionError(f"{self.name} did not become healthy:\n{self.log_tail()}") from None

    def stop(self, timeout: float = 15.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


# --------------------------------------------------------------------------- configs


def load_shipped(name: str) -> dict[str, Any]:
    with (CONFIG_DIR / name).open() as f:
        loaded: dict[str, Any] = yaml.safe_load(f)
    return loaded


def write_yaml(path: Path, config: Mapping[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(dict(config), sort_keys=False))
    return path


@dataclass
class Jaeger:
    program: Program
    otlp_grpc: str
    query_url: str


def start_jaeger(binary: Path, workdir: Path) -> Jaeger:
    """Jaeger v2 with in-memory storage, OTLP/gRPC in and the query HTTP API (v1, v3, /trace/ID)."""
    otlp, query, query_grpc, health = free_port(), free_port(), free_port(), free_port()
    config = {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query", "healthcheckv2"],
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["jaeger_storage_exporter"]}
            },
            # no self-telemetry: nothing listening on 8888, no traces sent to localhost:4317
            "telemetry": {"metrics": {"level": "none"}, "traces": {"level": "none"}, "logs": {"level": "info"}},
        },
        "extensions": {
            "healthcheckv2": {"use_v2": True, "http": {"endpoint": f"127.0.0.1:{health}"}},
            # enable_tracing defaults to true: Jaeger would send its own spans to localhost:4317
            "jaeger_query": {
                "enable_tracing": False,
                "storage": {"traces": "memstore"},
                "http": {"endpoint": f"127.0.0.1:{query}"},
                "grpc": {"endpoint": f"127.0.0.1:{query_grpc}"},
            },
            "jaeger_storage": {"backends": {"memstore": {"memory": {"max_traces": 10000}}}},
        },
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{otlp}"}}}},
        "processors": {"batch": {"timeout": "200ms"}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": "memstore"}},
    }
    path = write_yaml(workdir / "jaeger.yaml", config)
    program = Program(
        "jaeger",
        [str(binary), "--config", f"file:{path}"],
        f"http://127.0.0.1:{health}/status",
        workdir,
        healthy=lambda r: r.status_code == 200 and r.json().get("healthy") is True,
    )
    program.start()
    return Jaeger(program, f"127.0.0.1:{otlp}", f"http://127.0.0.1:{query}")


@dataclass
class Collector:
    program: Program
    config_path: Path
    otlp_grpc: str
    otlp_http: str
    prometheus_exporter: str
    telemetry: str

    def endpoint(self, protocol: str) -> str:
        return f"http://{self.otlp_grpc if protocol == 'grpc' else self.otlp_http}"


def collector_config(
    shipped: str, *, jaeger_otlp: str | None, ports: Mapping[str, int], flush_interval: str = "1s"
) -> dict[str, Any]:
    """The shipped config ``shipped`` bound to 127.0.0.1 ports, exporting to the test's Jaeger."""
    config = load_shipped(shipped)
    config["extensions"]["health_check"]["endpoint"] = f"127.0.0.1:{ports['health']}"
    protocols = config["receivers"]["otlp"]["protocols"]
    protocols["grpc"]["endpoint"] = f"127.0.0.1:{ports['grpc']}"
    protocols["http"]["endpoint"] = f"127.0.0.1:{ports['http']}"
    config["exporters"]["prometheus"]["endpoint"] = f"127.0.0.1:{ports['prometheus']}"
    for name, exporter in config["exporters"].items():
        if name.startswith(("otlp_grpc/", "otlp_http/")):
            # Jaeger is the test's; anything else (Tempo) a local port nobody listens on
            is_jaeger = "jaeger" in name and jaeger_otlp is not None
            exporter["endpoint"] = jaeger_otlp if is_jaeger else f"127.0.0.1:{free_port()}"
    for connector in config.get("connectors", {}).values():
        if "metrics_flush_interval" in connector:
            connector["metrics_flush_interval"] = flush_interval
    for pipeline in config["service"]["pipelines"].values():
        if "batch" in pipeline.get("processors", []):
            config["processors"]["batch"]["timeout"] = "200ms"
    readers = config["service"].get("telemetry", {}).get("metrics", {}).get("readers", [])
    for reader in readers:
        reader["pull"]["exporter"]["prometheus"].update(host="127.0.0.1", port=ports["telemetry"])
    return config


def start_collector(
    binary: Path, workdir: Path, *, jaeger_otlp: str | None, shipped: str = "otelcol.jaeger-only.yaml"
) -> Collector:
    ports = {name: free_port() for name in ("health", "grpc", "http", "prometheus", "telemetry")}
    config = collector_config(shipped, jaeger_otlp=jaeger_otlp, ports=ports)
    name = f"otelcol-{Path(shipped).stem.removeprefix('otelcol').strip('.') or 'default'}"
    path = write_yaml(workdir / f"{name}.yaml", config)
    program = Program(name, [str(binary), f"--config=file:{path}"], f"http://127.0.0.1:{ports['health']}/", workdir)
    program.start()
    return Collector(
        program,
        path,
        f"127.0.0.1:{ports['grpc']}",
        f"127.0.0.1:{ports['http']}",
        f"127.0.0.1:{ports['prometheus']}",
        f"127.0.0.1:{ports['telemetry']}",
    )


@dataclass
class Prometheus:
    program: Program
    url: str

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant query through the HTTP API; the result vector (or raises with Prometheus' error)."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10.0)
        body = response.json()
        if body.get("status") != "success":
            raise AssertionError(f"Prometheus rejected {promql!r}: {body.get('error')}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def targets_up(self) -> bool:
        body = httpx.get(f"{self.url}/api/v1/targets", timeout=5.0).json()
        active = body["data"]["activeTargets"]
        return bool(active) and all(t["health"] == "up" for t in active)


def start_prometheus(binary: Path, workdir: Path, targets: Mapping[str, str]) -> Prometheus:
    """Prometheus scraping ``targets`` (job name -> host:port) every second, as the shipped
    prometheus.yml does with its jobs."""
    config = load_shipped("prometheus.yml")
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for job_name, target in targets.items():
        jobs[job_name]["static_configs"] = [{"targets": [target]}]
    config["scrape_configs"] = [jobs[name] for name in targets]
    path = write_yaml(workdir / "prometheus.yml", config)
    port = free_port()
    data = workdir / "prometheus-data"
    argv = [
        str(binary),
        f"--config.file={path}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--storage.tsdb.path={data}",
        "--enable-feature=exemplar-storage",
    ]
    program = Program("prometheus", argv, f"http://127.0.0.1:{port}/-/ready", workdir)
    program.start()
    return Prometheus(program, f"http://127.0.0.1:{port}")


@dataclass
class Stack:
    """Jaeger, the Collector in front of it and, optionally, Prometheus; stopped together."""

    binaries: Binaries
    workdir: Path
    jaeger: Jaeger | None = None
    collector: Collector | None = None
    prometheus: Prometheus | None = None

    def stop(self) -> None:
        for program in (self.prometheus, self.collector, self.jaeger):
            if program is not None:
                program.program.stop()


def running_stack(
    binaries: Binaries, workdir: Path, *, with_prometheus: bool = False, shipped: str = "otelcol.jaeger-only.yaml"
) -> Iterator[Stack]:
    """Generator for a fixture: start the stack, yield it, always stop it."""
    stack = Stack(binaries, workdir)
    try:
        stack.jaeger = start_jaeger(binaries.jaeger, workdir)
        stack.collector = start_collector(
            binaries.otelcol, workdir, jaeger_otlp=stack.jaeger.otlp_grpc, shipped=shipped
        )
        if with_prometheus:
            stack.prometheus = start_prometheus(
                binaries.prometheus,
                workdir,
                {
                    "otel-collector": stack.collector.prometheus_exporter,
                    "otel-collector-telemetry": stack.collector.telemetry,
                },
            )
        yield stack
    finally:
        stack.stop()


def jaeger_get(stack: Stack, path: str, **params: str) -> httpx.Response:
    assert stack.jaeger is not None
    return httpx.get(f"{stack.jaeger.query_url}{path}", params=params, timeout=10.0)


def wait_for_trace(stack: Stack, trace_id: str, spans: int, timeout: float = 30) -> dict[str, Any]:
    """Jaeger's v1 raw answer once it holds all ``spans`` spans of the trace."""
    found: dict[str, Any] = {}

    def complete() -> bool:
        response = jaeger_get(stack, f"/api/traces/{trace_id}", raw="true")
        if response.status_code != 200:
            return False
        found.update(response.json())
        return sum(len(t["spans"]) for t in found["data"]) == spans

    wait_until(complete, timeout, f"{spans} spans of trace {trace_id} in Jaeger")
    return found
