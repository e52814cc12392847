"""Export losses reported once, in a rate-limited summary, instead of a line per span.

A dead endpoint used to produce thousands of "dropped a span" warnings plus the SDK's own
"Transient error ... retrying" lines, which landed in the middle of the demo's live view.
Losses are now counted here: the first loss is logged at once, later ones at most every
:data:`INTERVAL_S` seconds as one line with the totals, and whatever is left unreported is
logged once at shutdown.  The SDK's OTLP exporter chatter goes to the same summary (as a
count) instead of the terminal; ``FRAMESCOPE_OTEL_SDK_LOGS=true`` lets it through again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter

__all__ = ["INTERVAL_S", "LossReport", "loss_report", "quiet_sdk_exporter_logs"]

INTERVAL_S = 30.0
logger = logging.getLogger("framescope.export")

#: Where the SDK's OTLP exporters (HTTP and gRPC, traces and metrics) log their retries.
SDK_EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp",
    "opentelemetry.sdk.metrics._internal.export",
    "opentelemetry.sdk._shared_internal",  # the batch processor: "Queue full, dropping Span."
)


class LossReport:
    """Counts of lost spans by exporter and reason, summarised at most every ``interval_s``."""

    def __init__(self, interval_s: float = INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._totals: Counter[tuple[str, str]] = Counter()
        self._unreported: Counter[tuple[str, str]] = Counter()
        self._sdk_lines = 0
        self._last_report: float | None = None
        self._now = time.monotonic

    def lost(self, exporter: str, reason: str, count: int) -> None:
        """``count`` spans of ``exporter`` were lost for ``reason``; log a summary if one is due."""
        with self._lock:
            self._totals[(exporter, reason)] += count
            self._unreported[(exporter, reason)] += count
            now = self._now()
            due = self._last_report is None or now - self._last_report >= self.interval_s
            if not due:
                return
            self._last_report = now
            message = self._summary_locked()
        logger.warning("%s", message)

    def sdk_line(self) -> None:
        with self._lock:
            self._sdk_lines += 1

    def flush(self) -> None:
        """Log what is still unreported (at shutdown), as one line."""
        with self._lock:
            if not self._unreported:
                return
            message = self._summary_locked()
        logger.warning("%s", message)

    def reset(self) -> None:
        with self._lock:
            self._totals.clear()
            self._unreported.clear()
            self._sdk_lines = 0
            self._last_report = None

    def _summary_locked(self) -> str:
        parts = []
        for (exporter, reason), count in sorted(self._unreported.items()):
            total = self._totals[(exporter, reason)]
            parts.append(f"{count} span(s) by the {exporter} exporter ({_REASONS.get(reason, reason)}; {total} in all)")
        self._unreported.clear()
        chatter = f"; {self._sdk_lines} OTLP exporter log line(s) held back" if self._sdk_lines else ""
        return (
            "framescope lost " + ", ".join(parts) + chatter + ". Check the endpoint (framescope doctor); "
            f"this summary repeats at most every {self.interval_s:g}s"
        )


_REASONS = {
    "export_failed": "the export failed after its retries",
    "queue_full": "the export queue was full: the backend is slower than the run, raise OTEL_BSP_MAX_QUEUE_SIZE",
    "shutdown": "still queued when the shutdown deadline passed",
}

#: The process-wide report every framescope exporter feeds.
loss_report = LossReport()


class _HoldBack(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        loss_report.sdk_line()


_installed = False


def quiet_sdk_exporter_logs() -> None:
    """Keep the SDK's OTLP retry lines off the terminal (counted in the summary instead).

    Called when framescope builds an OTLP exporter itself.  ``FRAMESCOPE_OTEL_SDK_LOGS=true``
    leaves the SDK's logging untouched.
    """
    global _installed
    if _installed or os.environ.get("FRAMESCOPE_OTEL_SDK_LOGS", "").strip().lower() in {"1", "true", "yes", "on"}:
        return
    _installed = True
    for name in SDK_EXPORTER_LOGGERS:
        sdk_logger = logging.getLogger(name)
        sdk_logger.addHandler(_HoldBack())
        sdk_logger.propagate = False
