"""``configure()``: where framescope's spans go, decided once (D2, D3, property 5 and 6).

The rules, in order:

* ``OTEL_SDK_DISABLED=true``: no spans at all; the ``FrameSpanProcessor`` runs on its own so
  live sessions still work.
* The application already installed an SDK ``TracerProvider`` globally: framescope adds its
  processor to it and never replaces it; exporting stays the application's business (unless
  ``configure(exporter=...)`` asks for one more).
* Otherwise framescope builds its own provider (not installed globally, so the application
  can still install one later) with ``OTEL_SERVICE_NAME`` (default ``framescope``) and the
  exporter from ``OTEL_TRACES_EXPORTER`` (``otlp``, ``console``, ``file``, ``none``); with
  none named, OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, else the embedded trace file
  ``.framescope/traces.jsonl`` (``FRAMESCOPE_TRACE_FILE`` overrides).

``configure()`` is also called lazily by the first run; call it yourself to choose.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter

from framescope._extras import require_grpc_exporter
from framescope._version import __version__
from framescope.errors import ConfigurationError
from framescope.telemetry.export_guard import CountingBatchSpanProcessor, CountingSpanExporter, ExportStats
from framescope.telemetry.loss_report import loss_report, quiet_sdk_exporter_logs
from framescope.telemetry.processor import FrameSpanProcessor
from framescope.telemetry.shutdown import run_with_deadline, shutdown_deadline_s

logger = logging.getLogger("framescope")

DEFAULT_TRACE_FILE = Path(".framescope") / "traces.jsonl"
DEFAULT_SERVICE_NAME = "framescope"
TRACER_NAME = "framescope"
EXPORTER_NAMES = ("otlp", "console", "file", "none")
PROTOCOLS = ("http/protobuf", "grpc")
#: gRPC reconnects to a restarted Collector within a second instead of backing off for
#: minutes (gRPC's default reconnect backoff grows to 120 s), so the exporter's own retries
#: (1 s, 2 s, 4 s within its timeout) find it back: a Collector restart of up to 5 s loses
#: nothing (tests/test_backends_outages.py).
GRPC_RECONNECT_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 1000),
)


@dataclass
class TelemetrySetup:
    """What ``configure()`` set up; one per process."""

    processor: FrameSpanProcessor
    tracer: trace.Tracer | None
    provider: TracerProvider | None
    owns_provider: bool
    exporters: list[str] = field(default_factory=list)
    trace_file: Path | None = None
    endpoint: str | None = None
    protocol: str | None = None
    queue_size: int = 1024
    capture_message_content: bool = True
    #: ``framescope.telemetry.metrics.FrameMetrics`` when metrics are exported, else None.
    metrics: Any = None
    meter_provider: Any = None
    owns_meter_provider: bool = False
    export_stats: list[ExportStats] = field(default_factory=list)
    _added_processors: list[SpanProcessor] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """A plain summary, for ``framescope doctor`` and logs."""
        return {
            "sdk_enabled": self.tracer is not None,
            "provider": "framescope" if self.owns_provider else ("application" if self.provider else None),
            "exporters": list(self.exporters),
            "trace_file": str(self.trace_file) if self.trace_file else None,
            "endpoint": self.endpoint,
            "protocol": self.protocol,
            "capture_message_content": self.capture_message_content,
            "metrics": self.metrics is not None,
            "export": [stats.as_dict() for stats in self.export_stats],
        }


_lock = threading.RLock()
_runtime: TelemetrySetup | None = None


def _env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"true", "1", "yes", "on"}:
        return True
    if value in {"false", "0", "no", "off"}:
        return False
    raise ConfigurationError(f"{name}={raw!r} is not a boolean; use true or false")


def configure(
    *,
    service_name: str | None = None,
    exporter: str | SpanExporter | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    trace_file: str | os.PathLike[str] | None = None,
    tracer_provider: TracerProvider | None = None,
    queue_size: int = 1024,
    capture_message_content: bool | None = None,
    metrics_export_interval_ms: int | None = None,
    replace: bool = False,
) -> TelemetrySetup:
    """Set up (or return) framescope's runtime; see the module docstring for the rules.

    ``replace=True`` shuts the previous runtime down first (tests, notebooks).
    """
    global _runtime
    with _lock:
        if _runtime is not None:
            if not replace:
                return _runtime
            _shutdown_locked()
        _runtime = _build(
            service_name=service_name,
            exporter=exporter,
            endpoint=endpoint,
            protocol=protocol,
            trace_file=trace_file,
            tracer_provider=tracer_provider,
            queue_size=queue_size,
            capture_message_content=capture_message_content,
            metrics_export_interval_ms=metrics_export_interval_ms,
        )
        return _runtime


def get_telemetry_setup() -> TelemetrySetup:
    """The runtime, configured lazily from the environment on first use."""
    runtime = _runtime
    return runtime if runtime is not None else configure()


def _build(
    *,
    service_name: str | None,
    exporter: str | SpanExporter | None,
    endpoint: str | None,
    protocol: str | None,
    trace_file: str | os.PathLike[str] | None,
    tracer_provider: TracerProvider | None,
    queue_size: int,
    capture_message_content: bool | None,
    metrics_export_interval_ms: int | None,
) -> TelemetrySetup:
    if queue_size < 1:
        raise ConfigurationError(f"queue_size must be at least 1, got {queue_size}")
    if capture_message_content is None:
        capture_message_content = _env_flag("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", True)
    processor = FrameSpanProcessor()
    loss_report.reset()  # a new runtime reports its own losses from the first one
    if _env_flag("OTEL_SDK_DISABLED", False):
        return TelemetrySetup(
            processor, None, None, False, queue_size=queue_size, capture_message_content=capture_message_content
        )

    provider = tracer_provider
    if provider is None:
        global_provider = trace.get_tracer_provider()
        if isinstance(global_provider, TracerProvider):
            provider = global_provider
    owns = provider is None
    if provider is None:
        name = service_name or os.environ.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME
        # shutdown_on_exit=False: our own atexit shutdown is bounded, the SDK's is not.
        provider = TracerProvider(resource=Resource.create({"service.name": name}), shutdown_on_exit=False)
    runtime = TelemetrySetup(
        processor, None, provider, owns, queue_size=queue_size, capture_message_content=capture_message_content
    )
    provider.add_span_processor(processor)
    runtime._added_processors.append(processor)

    names = _exporter_names(exporter, owns, endpoint)
    exporters: list[tuple[str, SpanExporter]] = []
    for name in names:
        if isinstance(exporter, SpanExporter):
            exporters.append((type(exporter).__name__, exporter))
        else:
            exporters.append((name, _make_exporter(name, runtime, endpoint, protocol, trace_file)))
    _setup_metrics(runtime, provider.resource, metrics_export_interval_ms)
    for name, span_exporter in exporters:
        stats = ExportStats(name)
        batch = CountingBatchSpanProcessor(
            CountingSpanExporter(span_exporter, stats, runtime.metrics), runtime.metrics, **_batch_settings(name)
        )
        provider.add_span_processor(batch)
        runtime.exporters.append(name)
        runtime.export_stats.append(stats)
        runtime._added_processors.append(batch)
    runtime.tracer = provider.get_tracer(TRACER_NAME, _version())
    return runtime


def _setup_metrics(runtime: TelemetrySetup, resource: Resource, interval_ms: int | None) -> None:
    """framescope's metrics go where its traces go (OTLP endpoint), or into the app's MeterProvider."""
    from opentelemetry import metrics as otel_metrics
    from opentelemetry.sdk.metrics import MeterProvider

    from framescope.telemetry.metrics import FrameMetrics, build_meter_provider

    meter_provider: Any = otel_metrics.get_meter_provider()
    if isinstance(meter_provider, MeterProvider):
        runtime.meter_provider = meter_provider
    else:
        built = build_meter_provider(
            resource,
            exporter_name=None,
            endpoint=runtime.endpoint,
            protocol=runtime.protocol or "http/protobuf",
            **({"export_interval_ms": interval_ms} if interval_ms else {}),
        )
        if built is None:
            return
        runtime.meter_provider = built
        runtime.owns_meter_provider = True
    runtime.metrics = FrameMetrics(runtime.meter_provider.get_meter(TRACER_NAME, _version()))
    runtime.processor.metrics = runtime.metrics


def _exporter_names(exporter: str | SpanExporter | None, owns: bool, endpoint: str | None) -> list[str]:
    if isinstance(exporter, SpanExporter):
        return ["custom"]
    if exporter is not None:
        raw = exporter
    elif not owns:
        return []  # the application's provider exports as the application decided
    else:
        raw = os.environ.get("OTEL_TRACES_EXPORTER", "")
    names = [part.strip().lower() for part in raw.split(",") if part.strip()]
    if not names:
        has_endpoint = (
            endpoint
            or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        )
        names = ["otlp" if has_endpoint else "file"]
    unknown = [name for name in names if name not in EXPORTER_NAMES]
    if unknown:
        raise ConfigurationError(
            f"unknown trace exporter {', '.join(map(repr, unknown))} "
            f"(from {'configure(exporter=...)' if exporter else 'OTEL_TRACES_EXPORTER'}); "
            f"framescope knows: {', '.join(EXPORTER_NAMES)}"
        )
    return [name for name in names if name != "none"]


def _make_exporter(
    name: str,
    runtime: TelemetrySetup,
    endpoint: str | None,
    protocol: str | None,
    trace_file: str | os.PathLike[str] | None,
) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    if name == "file":
        from framescope.telemetry.file_exporter import DEFAULT_MAX_BYTES, OtlpJsonFileExporter

        path = Path(trace_file or os.environ.get("FRAMESCOPE_TRACE_FILE") or DEFAULT_TRACE_FILE)
        runtime.trace_file = path.resolve()
        raw_max = os.environ.get("FRAMESCOPE_TRACE_FILE_MAX_BYTES", "").strip()
        try:
            max_bytes = int(raw_max) if raw_max else DEFAULT_MAX_BYTES
            return OtlpJsonFileExporter(path, max_bytes=max_bytes)
        except ValueError:
            raise ConfigurationError(
                f"FRAMESCOPE_TRACE_FILE_MAX_BYTES={raw_max!r} is not a byte count; use a whole number (0 never rotates)"
            ) from None
    # otlp
    protocol = (
        (
            protocol
            or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            or "http/protobuf"
        )
        .strip()
        .lower()
    )
    if protocol not in PROTOCOLS:
        raise ConfigurationError(
            f"OTLP protocol {protocol!r} is not supported; use one of {', '.join(PROTOCOLS)} "
            "(OTEL_EXPORTER_OTLP_PROTOCOL)"
        )
    runtime.protocol = protocol
    quiet_sdk_exporter_logs()  # retries are counted in framescope's loss summary, not printed
    runtime.endpoint = (
        endpoint
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or ("http://localhost:4317" if protocol == "grpc" else "http://localhost:4318")
    )
    if protocol == "grpc":
        require_grpc_exporter()
        import inspect

        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        grpc_options: dict[str, Any] = {"endpoint": endpoint} if endpoint else {}
        # channel_options came with SDK 1.36; an older exporter keeps gRPC's own reconnect backoff
        if "channel_options" in inspect.signature(GrpcExporter.__init__).parameters:
            grpc_options["channel_options"] = GRPC_RECONNECT_OPTIONS
        return GrpcExporter(**grpc_options)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    if endpoint:
        return HttpExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    return HttpExporter()


def _batch_settings(name: str) -> dict[str, Any]:
    # The embedded file is read by replay right after a run: flush it often.
    if name == "file" and "OTEL_BSP_SCHEDULE_DELAY" not in os.environ:
        return {"schedule_delay_millis": 200}
    return {}


def _version() -> str:
    return __version__


def flush(timeout_millis: int = 30000) -> bool:
    """Export every finished span now (before reading the trace file, for instance)."""
    runtime = _runtime
    if runtime is None or runtime.provider is None:
        return True
    ok = True
    for processor in runtime._added_processors:
        ok = processor.force_flush(timeout_millis) and ok
    if runtime.meter_provider is not None:
        ok = bool(runtime.meter_provider.force_flush(timeout_millis)) and ok
    return ok


def shutdown() -> None:
    """Flush and close what framescope opened; the application's own provider stays up."""
    with _lock:
        _shutdown_locked()


def _shutdown_locked() -> None:
    """Flush and close under one deadline (telemetry.shutdown): a dead endpoint never holds up exit."""
    global _runtime
    runtime = _runtime
    _runtime = None
    if runtime is None:
        return
    deadline_s = shutdown_deadline_s()
    finished = run_with_deadline(lambda: _close_exporters(runtime, deadline_s), deadline_s, "shutting down")
    if not runtime.owns_provider and runtime.provider is not None:
        _detach(runtime.provider, runtime._added_processors)
    if not finished:
        for processor, stats in zip(runtime._added_processors[1:], runtime.export_stats, strict=False):
            queued = len(getattr(processor, "_queue", None) or ())
            if queued:
                loss_report.lost(stats.exporter, "shutdown", queued)
        logger.warning(
            "framescope stopped waiting for its exporters after %gs at shutdown; set FRAMESCOPE_SHUTDOWN_TIMEOUT "
            "to wait longer",
            deadline_s,
        )
    loss_report.flush()


def _close_exporters(runtime: TelemetrySetup, deadline_s: float) -> None:
    for processor in runtime._added_processors:
        try:
            processor.force_flush(int(deadline_s * 1000))
            processor.shutdown()
        except Exception:  # shutting down must never raise at interpreter exit
            logger.warning("framescope: a span processor failed to shut down", exc_info=True)
    if runtime.owns_meter_provider:
        try:
            runtime.meter_provider.shutdown(timeout_millis=deadline_s * 1000)
        except Exception:
            logger.warning("framescope: the meter provider failed to shut down", exc_info=True)


def _detach(provider: TracerProvider, processors: list[SpanProcessor]) -> None:
    """Take our processors off an application's provider (the SDK has no public remove)."""
    multi = getattr(provider, "_active_span_processor", None)
    current = getattr(multi, "_span_processors", None)
    if multi is None or current is None:
        return
    lock = getattr(multi, "_lock", None)
    remaining = tuple(p for p in current if p not in processors)
    if lock is not None:
        with lock:
            multi._span_processors = remaining
    else:
        multi._span_processors = remaining


atexit.register(shutdown)
