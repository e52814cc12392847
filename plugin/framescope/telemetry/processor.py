"""``FrameSpanProcessor``: the in-process span processor that serves live sessions (D2).

It sits on the TracerProvider beside the exporting processors.  The codec hands it every
frame right after writing the frame into its span (``on_frame``), and it delivers the frame
to the sessions of that run; ``on_start`` tells a session which trace its run landed in.
When the OpenTelemetry SDK is disabled (``OTEL_SDK_DISABLED=true``) the same processor runs
on its own, so live streaming keeps working with no spans at all.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from framescope.telemetry.wire import RUN_ID

if TYPE_CHECKING:
    from opentelemetry.context import Context

    from framescope.telemetry.run import Run
    from framescope.types.streaming import StreamFrame


class FrameSpanProcessor(SpanProcessor):
    """Routes frames to the live sessions of their run; counts what it saw."""

    def __init__(self, metrics: Any | None = None) -> None:
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()
        self.metrics = metrics

    # -- run registry ------------------------------------------------------------------
    def register(self, run: Run) -> None:
        with self._lock:
            self._runs[run.run_id] = run
        if self.metrics is not None and run.sinks:
            self.metrics.session_opened()

    def unregister(self, run: Run) -> None:
        with self._lock:
            self._runs.pop(run.run_id, None)
        if self.metrics is not None and run.sinks:
            self.metrics.session_closed()

    # -- frames --------------------------------------------------------------------------
    def on_frame(self, run: Run, frame: StreamFrame) -> None:
        """Deliver ``frame`` to every session of ``run`` (may block: sessions are bounded)."""
        for sink in run.sinks:
            sink.put(frame)
        metrics = self.metrics
        if metrics is not None:
            metrics.frame(frame.channel, frame.type)

    # -- SpanProcessor ---------------------------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        attributes = span.attributes
        run_id = attributes.get(RUN_ID) if attributes else None
        if not isinstance(run_id, str):
            return
        run = self._runs.get(run_id)
        if run is not None and run.trace_id is None:
            run.set_trace_id(format(span.get_span_context().trace_id, "032x"))

    def on_end(self, span: ReadableSpan) -> None:
        pass  # sessions learn a run's end from the run itself, not from its spans

    def shutdown(self) -> None:
        with self._lock:
            self._runs.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
