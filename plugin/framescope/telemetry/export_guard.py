"""No silent loss on the way out: count and report every span the export path loses.

The SDK's ``BatchSpanProcessor`` drops spans when its queue is full, and an exporter that
fails after its retries loses a batch; neither says how many in total.  These wrappers keep
the counts (``ExportStats``, shown by ``framescope doctor``), report losses in one
rate-limited summary (:mod:`.loss_report`), and feed the ``framescope.spans.dropped`` metric.  A failing
exporter never raises into the run: the SDK calls it from its own worker thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from framescope.telemetry.loss_report import loss_report

logger = logging.getLogger("framescope.export")


@dataclass
class ExportStats:
    """Running totals of one exporter's fate."""

    exporter: str
    spans_exported: int = 0
    spans_failed: int = 0
    spans_dropped_queue_full: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def spans_lost(self) -> int:
        return self.spans_failed + self.spans_dropped_queue_full

    def as_dict(self) -> dict[str, Any]:
        return {
            "exporter": self.exporter,
            "spans_exported": self.spans_exported,
            "spans_failed": self.spans_failed,
            "spans_dropped_queue_full": self.spans_dropped_queue_full,
        }


class CountingSpanExporter(SpanExporter):
    """Wraps an exporter; counts spans it exported and spans it failed to export."""

    def __init__(self, inner: SpanExporter, stats: ExportStats, metrics: Any | None = None) -> None:
        self.inner = inner
        self.stats = stats
        self.metrics = metrics
        self._raised: set[str] = set()

    def _report_raise(self, exc: Exception) -> None:
        """One line the first time an exporter raises a kind of error (older SDK exporters raise
        on a closed port instead of returning FAILURE); the traceback only at DEBUG level, so a
        dead endpoint never floods the terminal.  The lost spans go into the loss summary."""
        kind = type(exc).__name__
        if kind not in self._raised:
            self._raised.add(kind)
            logger.warning(
                "framescope: the %s exporter raised %s: %s (its spans are counted as lost; tracebacks at DEBUG level)",
                self.stats.exporter,
                kind,
                str(exc)[:200],
            )
        logger.debug("framescope: the %s exporter raised", self.stats.exporter, exc_info=True)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception as exc:  # an exporter must never take the export thread down
            self._report_raise(exc)
            result = SpanExportResult.FAILURE
        stats = self.stats
        with stats._lock:
            if result is SpanExportResult.SUCCESS:
                stats.spans_exported += len(spans)
                return result
            stats.spans_failed += len(spans)
        loss_report.lost(stats.exporter, "export_failed", len(spans))  # one rate-limited summary
        if self.metrics is not None:
            self.metrics.spans_dropped(len(spans), "export_failed")
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        flush = getattr(self.inner, "force_flush", None)
        return bool(flush(timeout_millis)) if flush is not None else True


class CountingBatchSpanProcessor(BatchSpanProcessor):
    """A ``BatchSpanProcessor`` that counts the spans it drops because its queue is full."""

    def __init__(self, exporter: CountingSpanExporter, metrics: Any | None = None, **settings: Any) -> None:
        super().__init__(exporter, **settings)
        self.stats = exporter.stats
        self.metrics = metrics
        batch = getattr(self, "_batch_processor", None)
        self._queue = getattr(batch, "_queue", None)
        self._max_queue = getattr(batch, "_max_queue_size", None)

    def on_end(self, span: ReadableSpan) -> None:
        queue = self._queue
        if queue is not None and self._max_queue is not None and len(queue) >= self._max_queue:
            stats = self.stats
            with stats._lock:
                stats.spans_dropped_queue_full += 1
            loss_report.lost(stats.exporter, "queue_full", 1)
            if self.metrics is not None:
                self.metrics.spans_dropped(1, "queue_full")
        super().on_end(span)
