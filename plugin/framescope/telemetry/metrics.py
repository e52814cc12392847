"""framescope's own metrics, recorded through the OpenTelemetry metrics SDK.

Why metrics next to spans: span metrics (from the Collector's spanmetrics connector or
Tempo's metrics-generator) give runs, latency and errors, but not what only the runtime
knows cheaply: token counts, time to first token, frames per channel, open sessions and
spans the exporter dropped.  These are recorded here, following the OpenTelemetry GenAI
semantic conventions where one exists (semantic-conventions-genai, ``model/gen-ai/metrics.yaml``):

* ``gen_ai.client.token.usage`` (histogram, ``{token}``, ``gen_ai.token.type`` = input/output)
* ``gen_ai.client.operation.duration`` (histogram, ``s``, ``error.type`` on failure)
* ``gen_ai.client.operation.time_to_first_chunk`` (histogram, ``s``) -- the *client*
  convention for time to first token of a streamed answer; ``gen_ai.server.time_to_first_token``
  is for model servers and is deliberately not used.  Recorded only for streamed calls.
* ``gen_ai.client.operation.time_per_output_chunk`` (histogram, ``s``): for each chunk of a
  streamed answer after the first, the time since the previous one.  Recorded per chunk,
  only when metrics are exported (one SDK ``record`` with attributes built once per call).
* ``gen_ai.workflow.duration`` (histogram, ``s``, ``gen_ai.workflow.name``, ``error.type``):
  one flow run from start to end, the same span as ``invoke_workflow {flow}``.
* ``gen_ai.execute_tool.duration`` (histogram, ``s``, ``gen_ai.tool.name``, ``error.type``):
  its ``_count`` is the tool-call count, its ``_count`` with ``error_type`` the tool errors,
  so no separate tool counter is needed.

and framescope's own, where no convention exists:

* ``framescope.frames`` (counter by ``framescope.channel`` and ``framescope.frame.type``)
* ``framescope.sessions.active`` (up-down counter)
* ``framescope.spans.dropped`` (counter by ``reason``)

``frame()`` runs once per frame (>100k/s): it only increments a cached per-series cell under
one uncontended lock; the SDK reads the totals through an observable counter at collection
time, so no SDK call happens on the hot path.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from opentelemetry.metrics import CallbackOptions, Histogram, Meter, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource

from framescope._extras import require_grpc_exporter

__all__ = [
    "METRIC_NAMES",
    "FrameMetrics",
    "MetricSpec",
    "build_meter_provider",
]

MetricKind = Literal["counter", "updowncounter", "histogram", "gauge"]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One instrument framescope creates: what dashboards and tests derive names from."""

    name: str
    kind: MetricKind
    unit: str
    description: str


TOKEN_USAGE = MetricSpec(
    "gen_ai.client.token.usage",
    "histogram",
    "{token}",
    "Number of input and output tokens used per LLM call.",
)
OPERATION_DURATION = MetricSpec(
    "gen_ai.client.operation.duration",
    "histogram",
    "s",
    "Duration of one LLM call.",
)
TIME_TO_FIRST_CHUNK = MetricSpec(
    "gen_ai.client.operation.time_to_first_chunk",
    "histogram",
    "s",
    "Time from sending a streamed LLM request to receiving its first chunk.",
)
TIME_PER_OUTPUT_CHUNK = MetricSpec(
    "gen_ai.client.operation.time_per_output_chunk",
    "histogram",
    "s",
    "Time between two chunks of a streamed LLM answer, recorded for every chunk after the first.",
)
WORKFLOW_DURATION = MetricSpec(
    "gen_ai.workflow.duration",
    "histogram",
    "s",
    "Duration of one flow run (a GenAI workflow).",
)
TOOL_DURATION = MetricSpec(
    "gen_ai.execute_tool.duration",
    "histogram",
    "s",
    "Duration of one tool execution.",
)
FRAMES = MetricSpec(
    "framescope.frames",
    "counter",
    "{frame}",
    "Stream frames emitted, by channel and type.",
)
SESSIONS_ACTIVE = MetricSpec(
    "framescope.sessions.active",
    "updowncounter",
    "{session}",
    "Stream sessions currently open.",
)
SPANS_DROPPED = MetricSpec(
    "framescope.spans.dropped",
    "counter",
    "{span}",
    "Spans the exporter path dropped instead of delivering, by reason.",
)

#: Every instrument this module creates, in a stable order.
METRIC_NAMES: tuple[MetricSpec, ...] = (
    TOKEN_USAGE,
    OPERATION_DURATION,
    TIME_TO_FIRST_CHUNK,
    TIME_PER_OUTPUT_CHUNK,
    WORKFLOW_DURATION,
    TOOL_DURATION,
    FRAMES,
    SESSIONS_ACTIVE,
    SPANS_DROPPED,
)

# Bucket boundaries recommended by the GenAI conventions.
_TOKEN_BUCKETS = tuple(float(4**i) for i in range(14))  # 1, 4, 16, ... 67108864
_DURATION_BUCKETS = tuple(0.01 * 2**i for i in range(14))  # 0.01 ... 81.92 s
_WORKFLOW_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)
_FIRST_CHUNK_BUCKETS = (
    0.001,
    0.005,
    0.01,
    0.02,
    0.04,
    0.06,
    0.08,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)

#: Distinct (channel, frame type) series kept before new types fold into ``_other``:
#: user-defined event types must not grow the metric (or memory) without bound.
MAX_FRAME_SERIES = 1024
OTHER_FRAME_TYPE = "_other"


def _histogram(meter: Meter, spec: MetricSpec, buckets: tuple[float, ...]) -> Histogram:
    """The histogram ``spec`` describes, with the bucket boundaries that suit its values."""
    return meter.create_histogram(
        spec.name, unit=spec.unit, description=spec.description, explicit_bucket_boundaries_advisory=buckets
    )


class FrameMetrics:
    """Records framescope's metrics on a given ``Meter``.

    Takes a meter rather than a provider so the application decides where metrics go
    (its own MeterProvider, framescope's, or the no-op API default).
    """

    def __init__(self, meter: Meter) -> None:
        self._token_usage = _histogram(meter, TOKEN_USAGE, _TOKEN_BUCKETS)
        self._duration = _histogram(meter, OPERATION_DURATION, _DURATION_BUCKETS)
        self._first_chunk = _histogram(meter, TIME_TO_FIRST_CHUNK, _FIRST_CHUNK_BUCKETS)
        self._per_chunk = _histogram(meter, TIME_PER_OUTPUT_CHUNK, _DURATION_BUCKETS)
        self._workflow_duration = _histogram(meter, WORKFLOW_DURATION, _WORKFLOW_BUCKETS)
        self._tool_duration = _histogram(meter, TOOL_DURATION, _DURATION_BUCKETS)
        self._sessions = meter.create_up_down_counter(
            SESSIONS_ACTIVE.name,
            unit=SESSIONS_ACTIVE.unit,
            description=SESSIONS_ACTIVE.description,
        )
        self._dropped = meter.create_counter(
            SPANS_DROPPED.name,
            unit=SPANS_DROPPED.unit,
            description=SPANS_DROPPED.description,
        )
        # Hot path state: one mutable cell per series, read by the observable callback.
        self._lock = threading.Lock()
        self._frame_cells: dict[tuple[str, str], list[int]] = {}
        self._frame_attrs: dict[tuple[str, str], dict[str, str]] = {}
        meter.create_observable_counter(
            FRAMES.name,
            callbacks=[self._observe_frames],
            unit=FRAMES.unit,
            description=FRAMES.description,
        )

    # -- hot path ---------------------------------------------------------------------------
    def frame(self, channel: str, frame_type: str) -> None:
        """Count one emitted frame; a dict lookup and an increment."""
        key = (channel, frame_type)
        cell = self._frame_cells.get(key)
        if cell is None:
            cell = self._new_frame_series(channel, frame_type)
        with self._lock:
            cell[0] += 1

    def _new_frame_series(self, channel: str, frame_type: str) -> list[int]:
        with self._lock:
            key = (channel, frame_type)
            cell = self._frame_cells.get(key)
            if cell is not None:
                return cell
            if len(self._frame_attrs) >= MAX_FRAME_SERIES:
                overflow = (channel, OTHER_FRAME_TYPE)
                cell = self._frame_cells.get(overflow)
                if cell is None:  # the overflow series itself may exceed the cap by one
                    cell = self._register_series(overflow)
                self._frame_cells[key] = cell  # later frames of this type skip the lock
                return cell
            return self._register_series(key)

    def _register_series(self, key: tuple[str, str]) -> list[int]:
        cell = [0]
        self._frame_cells[key] = cell
        self._frame_attrs[key] = {"framescope.channel": key[0], "framescope.frame.type": key[1]}
        return cell

    def _observe_frames(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            totals = [(self._frame_cells[key][0], attrs) for key, attrs in self._frame_attrs.items()]
        return [Observation(value, attrs) for value, attrs in totals]

    # -- lifecycle and calls ----------------------------------------------------------------
    def session_opened(self) -> None:
        """A stream session started; pairs with ``session_closed``."""
        self._sessions.add(1)

    def session_closed(self) -> None:
        """A stream session ended (exhausted, closed or failed)."""
        self._sessions.add(-1)

    def llm_call(
        self,
        *,
        model: str,
        provider: str,
        operation: str,
        duration_s: float,
        time_to_first_token_s: float | None,
        input_tokens: int | None,
        output_tokens: int | None,
        error_type: str | None,
    ) -> None:
        """Record one finished LLM call with the GenAI client metrics.

        ``time_to_first_token_s`` is None for non-streamed calls (the convention says not to
        report it then); token counts are None when the provider did not report them.
        """
        attrs = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model,
        }
        if error_type:
            self._duration.record(duration_s, {**attrs, "error.type": error_type})
        else:
            self._duration.record(duration_s, attrs)
        if time_to_first_token_s is not None:
            self._first_chunk.record(time_to_first_token_s, attrs)
        if input_tokens is not None:
            self._token_usage.record(input_tokens, {**attrs, "gen_ai.token.type": "input"})
        if output_tokens is not None:
            self._token_usage.record(output_tokens, {**attrs, "gen_ai.token.type": "output"})

    def chunk_interval_recorder(self, *, model: str, provider: str, operation: str) -> Callable[[float], None]:
        """A per-call recorder of ``gen_ai.client.operation.time_per_output_chunk`` (attributes
        built once, so each chunk costs one SDK ``record``)."""
        attrs = {"gen_ai.operation.name": operation, "gen_ai.provider.name": provider, "gen_ai.request.model": model}
        record = self._per_chunk.record

        def recorder(seconds: float) -> None:
            record(seconds, attrs)

        return recorder

    def workflow_run(self, *, workflow_name: str, duration_s: float, error_type: str | None) -> None:
        """Record one flow run (``gen_ai.workflow.duration``)."""
        attrs = {"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": workflow_name}
        if error_type:
            attrs["error.type"] = error_type
        self._workflow_duration.record(duration_s, attrs)

    def tool_call(self, *, tool_name: str, duration_s: float, error_type: str | None) -> None:
        """Record one tool execution (``gen_ai.execute_tool.duration``)."""
        attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool_name}
        if error_type:
            attrs["error.type"] = error_type
        self._tool_duration.record(duration_s, attrs)

    def spans_dropped(self, count: int, reason: str) -> None:
        """Count spans lost on the way to the backend (queue full, export failed, ...)."""
        if count > 0:
            self._dropped.add(count, {"reason": reason})


# ---------------------------------------------------------------------------------------------
# MeterProvider construction
# ---------------------------------------------------------------------------------------------

_PROTOCOLS = ("http/protobuf", "grpc")


def _otlp_exporter(endpoint: str | None, protocol: str) -> MetricExporter:
    if protocol == "grpc":
        require_grpc_exporter()
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter as GrpcExporter,
        )

        if endpoint is None:
            return GrpcExporter()
        return GrpcExporter(endpoint=endpoint, insecure=endpoint.startswith("http://"))
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
            OTLPMetricExporter as HttpExporter,
        )

        if endpoint is None:
            return HttpExporter()
        base = endpoint.rstrip("/")
        path = base if base.endswith("/v1/metrics") else base + "/v1/metrics"
        return HttpExporter(endpoint=path)
    raise ValueError(f"unsupported OTLP protocol {protocol!r} for metrics; use one of {', '.join(_PROTOCOLS)}")


def build_meter_provider(
    resource: Resource,
    *,
    exporter_name: str | None,
    endpoint: str | None,
    protocol: str,
    export_interval_ms: int = 10000,
) -> MeterProvider | None:
    """Build a MeterProvider exporting framescope's metrics, or None if nothing would export.

    ``exporter_name`` overrides ``OTEL_METRICS_EXPORTER`` (comma-separated ``otlp``,
    ``console``, ``none``).  Left unset, metrics go over OTLP only when an endpoint is
    configured: without a backend there is nobody to read them, and a reader thread would
    be pure cost.  An explicit ``otlp`` without endpoint uses the exporter's own defaults
    and ``OTEL_EXPORTER_OTLP_METRICS_*`` variables.  The global provider is never set, so an
    application's own metrics setup is left alone.
    """
    raw = exporter_name if exporter_name is not None else os.environ.get("OTEL_METRICS_EXPORTER")
    if raw is None or not raw.strip():
        names = ["otlp"] if endpoint else []
    else:
        names = [n.strip().lower() for n in raw.split(",") if n.strip()]
    if "none" in names:
        return None
    readers: list[MetricReader] = []
    for name in dict.fromkeys(names):
        if name == "otlp":
            exporter = _otlp_exporter(endpoint, protocol.strip().lower())
        elif name == "console":
            # bind stdout now, not at import, so a redirected stdout is honoured
            exporter = ConsoleMetricExporter(out=sys.stdout)
        else:
            raise ValueError(
                f"unsupported metrics exporter {name!r} (OTEL_METRICS_EXPORTER); use otlp, console or none"
            )
        readers.append(PeriodicExportingMetricReader(exporter, export_interval_millis=export_interval_ms))
    if not readers:
        return None
    # framescope.shutdown() (also run at exit) shuts it down; the SDK's own exit hook would do it twice.
    return MeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)
