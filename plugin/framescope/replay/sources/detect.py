"""Recognise a trace document by its content and parse it.

Users hand replay whatever they have: the embedded exporter's JSON-lines file, a trace
saved from Jaeger's UI or API, a Tempo download, protobuf bytes.  Asking them to name the
format is one more way to get it wrong, and the formats are unambiguous by content, so
:func:`parse_trace_document` looks and decides.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from framescope.errors import TornTraceFileError, TraceFormatError
from framescope.replay.records import SpanRecord
from framescope.replay.sources.jaeger import parse_jaeger_v1
from framescope.replay.sources.otlp_json import loads_json, parse_otlp_json
from framescope.replay.sources.otlp_proto import parse_otlp_protobuf

__all__ = ["ACCEPTED_FORMATS", "parse_trace_document"]

ACCEPTED_FORMATS = (
    "OTLP/JSON (one ExportTraceServiceRequest, or JSON lines of them as the Collector's file "
    "exporter writes), Jaeger v1 JSON (/api/traces/{id}: {\"data\": [...]} or one trace), "
    "Jaeger v3 JSON (/api/v3/traces/{id}: {\"result\": ...}), Tempo JSON ({\"batches\": ...} "
    "or {\"trace\": ...}), or OTLP/Tempo protobuf bytes"
)

_OTLP_KEYS = ("resourceSpans", "resource_spans", "batches", "result", "trace", "error")


def parse_trace_document(content: bytes | str) -> list[SpanRecord]:
    """Parse any accepted trace format; see :data:`ACCEPTED_FORMATS`.

    JSON lines are read line by line.  If the last line is cut off (no closing newline and
    not valid JSON: the writer was killed mid-write), :class:`TornTraceFileError` is raised
    carrying the line number and the records of the complete lines before it.
    """
    if isinstance(content, (bytes, bytearray, memoryview)):
        raw = bytes(content)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return _parse_protobuf(raw)
        if not text.strip():
            raise TraceFormatError(f"the trace document is empty; expected {ACCEPTED_FORMATS}")
        if text.lstrip()[:1] not in ("{", "["):
            return _parse_protobuf(raw)
        try:
            return _parse_json_text(text)
        except TornTraceFileError:
            raise
        except TraceFormatError:
            if raw[:1] == b"\n":  # could be protobuf whose first length byte is "{"
                try:
                    return parse_otlp_protobuf(raw)
                except TraceFormatError:
                    pass
            raise
    if isinstance(content, str):
        if not content.strip():
            raise TraceFormatError(f"the trace document is empty; expected {ACCEPTED_FORMATS}")
        if content.lstrip()[:1] not in ("{", "["):
            raise TraceFormatError(
                f"the text does not start with '{{' or '['; expected {ACCEPTED_FORMATS} "
                "(pass protobuf as bytes, not str)"
            )
        return _parse_json_text(content.lstrip("\ufeff"))
    raise TraceFormatError(f"expected bytes or str, got {type(content).__name__}")


def _parse_protobuf(raw: bytes) -> list[SpanRecord]:
    try:
        return parse_otlp_protobuf(raw)
    except TraceFormatError as exc:
        raise TraceFormatError(
            f"the content is neither JSON nor a readable protobuf trace ({exc}); "
            f"expected {ACCEPTED_FORMATS}"
        ) from None


def _parse_json_text(text: str) -> list[SpanRecord]:
    first, _, rest = text.partition("\n")
    first = first.strip()
    if len(first) > 1 and first[0] == "{" and first[-1] == "}" and rest.strip():
        # One complete object on the first line and more after it: JSON lines (the trace
        # file).  Going straight there saves parsing the first line twice, which on a
        # large file is a quarter of the read time.
        return _parse_json_lines(text)
    try:
        document = loads_json(text)
    except json.JSONDecodeError as exc:
        lines = [line for line in text.splitlines() if line.strip()]
        if exc.msg == "Extra data" or len(lines) == 1:
            return _parse_json_lines(text)
        raise TraceFormatError(
            f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            f"expected {ACCEPTED_FORMATS}"
        ) from None
    return parse_json_document(document)


def _parse_json_lines(text: str) -> list[SpanRecord]:
    lines = text.splitlines()
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    records: list[SpanRecord] = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        number = i + 1
        try:
            document = loads_json(line)
        except json.JSONDecodeError as exc:
            if i == last and not text.endswith(("\n", "\r")):
                raise TornTraceFileError(
                    f"the last line is cut off ({exc.msg}, column {exc.colno}): the writer was "
                    f"probably stopped mid-write; {len(records)} spans from the lines before it "
                    "are in .records if you want to replay what was written",
                    line_number=number,
                    records=records,
                ) from None
            raise TraceFormatError(
                f"not valid JSON ({exc.msg} at column {exc.colno}); each line of a JSON-lines "
                "trace file must be one complete ExportTraceServiceRequest",
                where=f"line {number}",
            ) from None
        try:
            records.extend(parse_json_document(document))
        except TraceFormatError as exc:
            raise TraceFormatError(str(exc), where=f"line {number}") from None
    return records


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
        raise TraceFormatError(
            f"expected a JSON object, got {type(document).__name__}; expected {ACCEPTED_FORMATS}"
        )
    if any(key in document for key in _OTLP_KEYS):
        return parse_otlp_json(document)
    if "data" in document or ("spans" in document and ("traceID" in document or "processes" in document)):
        return parse_jaeger_v1(document)
    keys = ", ".join(sorted(map(str, document))[:8]) or "none"
    raise TraceFormatError(
        f"unrecognised trace document (top-level keys: {keys}); expected {ACCEPTED_FORMATS}"
    )
