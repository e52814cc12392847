"""Recognise a trace document by its content and parse it.

Users hand replay whatever they have: the embedded exporter's JSON-lines file, a trace
saved from Jaeger's UI or API, a Tempo download, protobuf bytes.  Asking them to name the
format is one more way to get it wrong, and the formats are unambiguous by content, so
:func:`parse_trace_document` looks and decides.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, BinaryIO

from framescope.errors import TraceFormatError
from framescope.replay.records import SpanRecord
from framescope.replay.sources.jaeger import parse_jaeger_v1
from framescope.replay.sources.otlp_json import parse_otlp_json
from framescope.replay.sources.otlp_json_typed import typed_request_records
from framescope.replay.sources.otlp_proto import parse_otlp_protobuf
from framescope.replay.sources.reader import read_trace_stream

__all__ = ["ACCEPTED_FORMATS", "parse_trace_document", "read_trace_file"]

ACCEPTED_FORMATS = (
    "OTLP/JSON (one ExportTraceServiceRequest, or JSON lines of them as the Collector's file "
    'exporter writes), Jaeger v1 JSON (/api/traces/{id}: {"data": [...]} or one trace), '
    'Jaeger v3 JSON (/api/v3/traces/{id}: {"result": ...}), Tempo JSON ({"batches": ...} '
    'or {"trace": ...}), or OTLP/Tempo protobuf bytes'
)

_OTLP_KEYS = ("resourceSpans", "resource_spans", "batches", "result", "trace", "error")


def parse_trace_document(content: bytes | str) -> list[SpanRecord]:
    """Parse any accepted trace format; see :data:`ACCEPTED_FORMATS`.

    The format is decided from a bounded prefix and JSON lines are read one bounded line at
    a time (:mod:`.reader`): a damaged line is skipped with a warning, a cut-off last line
    (no closing newline, not valid JSON: the writer was killed mid-write) raises
    :class:`TornTraceFileError` carrying the line number and the records before it.
    """
    if isinstance(content, (bytes, bytearray, memoryview)):
        return read_trace_stream(
            io.BytesIO(bytes(content)),
            parse_json_document,
            parse_otlp_protobuf,
            ACCEPTED_FORMATS,
            parse_line=typed_request_records,
        )
    if isinstance(content, str):
        if not content.strip():
            raise TraceFormatError(f"the trace document is empty; expected {ACCEPTED_FORMATS}")
        if content.lstrip().lstrip("\ufeff")[:1] not in ("{", "["):
            raise TraceFormatError(
                f"the text does not start with '{{' or '['; expected {ACCEPTED_FORMATS} "
                "(pass protobuf as bytes, not str)"
            )
        raw = content.encode("utf-8", "surrogatepass")
        return read_trace_stream(
            io.BytesIO(raw),
            parse_json_document,
            parse_otlp_protobuf,
            ACCEPTED_FORMATS,
            json_only=True,
            parse_line=typed_request_records,
        )
    raise TraceFormatError(f"expected bytes or str, got {type(content).__name__}")


def read_trace_file(file: BinaryIO) -> list[SpanRecord]:
    """:func:`parse_trace_document` for an open binary file, never holding more than the limits."""
    return read_trace_stream(
        file, parse_json_document, parse_otlp_protobuf, ACCEPTED_FORMATS, parse_line=typed_request_records
    )


def parse_json_document(document: Any) -> list[SpanRecord]:
    """Dispatch one decoded JSON value to the parser of its format."""
    if isinstance(document, list):
        records: list[SpanRecord] = []
        for i, item in enumerate(document):
            try:
                records.extend(parse_json_document(item))
            except TraceFormatError as exc:
                raise TraceFormatError(str(exc), where=f"[{i}]") from None
        return records
    if not isinstance(document, Mapping):
        raise TraceFormatError(f"expected a JSON object, got {type(document).__name__}; expected {ACCEPTED_FORMATS}")
    if any(key in document for key in _OTLP_KEYS):
        return parse_otlp_json(document)
    if "data" in document or ("spans" in document and ("traceID" in document or "processes" in document)):
        return parse_jaeger_v1(document)
    keys = ", ".join(sorted(map(str, document))[:8]) or "none"
    raise TraceFormatError(f"unrecognised trace document (top-level keys: {keys}); expected {ACCEPTED_FORMATS}")
