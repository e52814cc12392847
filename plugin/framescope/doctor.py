"""``framescope doctor``: which exporter and endpoint are in effect, and do they answer."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from framescope.telemetry.config import TelemetrySetup


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def check_runtime(runtime: TelemetrySetup, timeout_s: float = 2.0) -> list[Check]:
    """Probe what the runtime will export to, without exporting anything."""
    checks: list[Check] = []
    described = runtime.describe()
    sdk = "enabled" if described["sdk_enabled"] else "disabled (OTEL_SDK_DISABLED): live only"
    checks.append(Check("sdk", True, sdk))
    if runtime.trace_file is not None:
        checks.append(_check_file(runtime.trace_file))
    if runtime.endpoint is not None:
        checks.append(_check_endpoint(runtime.endpoint, runtime.protocol or "http/protobuf", timeout_s))
    if not runtime.exporters:
        detail = "the application's provider exports" if runtime.provider is not None else "no spans are made"
        checks.append(Check("exporter", True, f"none of framescope's own ({detail})"))
    return checks


def _check_file(path: Path) -> Check:
    directory = path.parent
    if path.exists() and not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file"
        return Check("trace file", False, f"{path} is {kind}; set FRAMESCOPE_TRACE_FILE to a file path")
    if path.exists():
        writable = os.access(path, os.W_OK)
        note = "" if writable else " NOT writable"
        return Check("trace file", writable, f"{path} ({path.stat().st_size} bytes){note}")
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    writable = os.access(existing, os.W_OK)
    note = "" if writable else ": directory NOT writable"
    return Check("trace file", writable, f"{path} (created on first span){note}")


def _check_endpoint(endpoint: str, protocol: str, timeout_s: float) -> Check:
    parsed = urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
    host = parsed.hostname or "localhost"
    port = parsed.port or (443 if parsed.scheme == "https" else (4317 if protocol == "grpc" else 4318))
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        return Check(
            "otlp endpoint",
            False,
            f"{endpoint} ({protocol}) does not answer: {exc}. Start the Collector (docs/backends.md) "
            "or unset OTEL_EXPORTER_OTLP_ENDPOINT to use the local trace file; runs keep working meanwhile",
        )
    return Check("otlp endpoint", True, f"{endpoint} ({protocol}) accepts connections on {host}:{port}")
