"""The embedded default: spans as OTLP/JSON lines in a local file (ARCHITECTURE property 6).

One ``ExportTraceServiceRequest`` a line, in OTLP/JSON (hex ids, int64 as strings), the
format the OpenTelemetry Collector's file exporter writes, so the file can be replayed by
framescope, sent on with ``otelcol``'s file receiver, or read by anything that reads OTLP.
Each batch is one line, written with one ``O_APPEND`` write: a process killed mid-run
leaves every finished line readable (at worst the last line is torn, which replay reports).
A write that fails part-way (a full disk) is cut back to where the line began, and a line
is never appended to a torn one left by a killed writer, so one failure never makes the
lines around it unreadable (:mod:`framescope.telemetry.safe_append`).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from framescope.telemetry.safe_append import append_line

logger = logging.getLogger("framescope.file_exporter")


DEFAULT_MAX_BYTES = 256 * 1024 * 1024


class OtlpJsonFileExporter(SpanExporter):
    """Appends finished spans to ``path`` as OTLP/JSON lines.

    The file is rotated to ``<path>.1`` (one backup) before it would pass ``max_bytes``, so a
    long-running process cannot fill the disk; ``max_bytes=0`` never rotates.  A run whose
    spans straddle a rotation replays from the newer file with its gaps reported.
    """

    def __init__(self, path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0 (0 = never rotate), got {max_bytes}")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        return self._fd

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not spans:
            return SpanExportResult.SUCCESS
        try:
            line = json.dumps(request_to_otlp_json(encode_spans(spans)), separators=(",", ":"))
            data = (line + "\n").encode("utf-8")
            with self._lock:
                fd = self._open()
                size = os.fstat(fd).st_size if self.max_bytes else 0
                if size and size + len(data) > self.max_bytes:
                    fd = self._rotate()
                # One O_APPEND write per line: processes sharing the file never interleave lines.
                append_line(fd, data)
            return SpanExportResult.SUCCESS
        except OSError as exc:  # a full disk, a read-only mount: one line, no traceback; the file stays whole
            logger.warning(
                "framescope could not write %d span(s) to %s (%s); the file is left as it was",
                len(spans),
                self.path,
                exc,
            )
            return SpanExportResult.FAILURE
        except Exception:  # counted and reported by the CountingSpanExporter around this one
            logger.warning(
                "framescope could not write %d span(s) to %s; check that the directory is "
                "writable or set FRAMESCOPE_TRACE_FILE",
                len(spans),
                self.path,
                exc_info=True,
            )
            return SpanExportResult.FAILURE

    def _rotate(self) -> int:
        assert self._fd is not None
        os.close(self._fd)
        self._fd = None
        os.replace(self.path, self.path.with_name(self.path.name + ".1"))
        logger.info("framescope rotated %s to %s.1 (max %d bytes)", self.path, self.path.name, self.max_bytes)
        return self._open()

    def shutdown(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # every line is handed to the OS as it is written


_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def request_to_otlp_json(request: Any) -> dict[str, Any]:
    """An OTLP protobuf message as OTLP/JSON: protobuf's JSON mapping with hex ids.

    (Protobuf's own JSON mapping writes bytes as base64; OTLP/JSON requires hex for ids.)
    """
    document = MessageToDict(request)
    for resource_spans in document.get("resourceSpans", ()):
        for scope_spans in resource_spans.get("scopeSpans", ()):
            for span in scope_spans.get("spans", ()):
                _hex_ids(span)
                for link in span.get("links", ()):
                    _hex_ids(link)
    return document


def _hex_ids(item: dict[str, Any]) -> None:
    for key in _ID_KEYS:
        value = item.get(key)
        if value:
            item[key] = base64.b64decode(value).hex()
