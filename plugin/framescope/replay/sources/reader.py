"""Reading a trace from a byte stream within fixed bounds: detect, then parse line by line.

Why a reader of its own: a trace file is whatever a disk, a killed process or a user left.
Deciding the format from the whole content made one stray byte turn a JSON-lines file into
"protobuf" and a zero-filled file cost minutes of byte-by-byte protobuf decoding; reading
the whole file made a 400 MB line cost gigabytes.  So:

* the format is decided from the first :data:`~framescope.replay.limits.DETECT_PREFIX_BYTES`
  bytes; content that starts like neither JSON nor an OTLP protobuf message is refused at once;
* JSON lines are read one bounded line at a time; a line longer than the limit is skipped
  in chunks, never held whole;
* a damaged line (invalid JSON or UTF-8, not a trace) is skipped with a warning and every
  intact line still replays; a line glued to a torn fragment is recovered from its last
  complete request; only a source with no readable line at all is refused;
* a cut-off last line is :class:`TornTraceFileError`, as before (the writer may be running).
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable
from typing import Any, BinaryIO

from framescope.errors import TornTraceFileError, TraceFormatError
from framescope.replay.limits import (
    DETECT_PREFIX_BYTES,
    MAX_LEADING_BAD_LINES,
    format_size,
    max_line_bytes,
    max_trace_bytes,
)
from framescope.replay.records import SpanRecord
from framescope.replay.sources.otlp_json_fast import loads_json

__all__ = ["read_trace_stream"]

logger = logging.getLogger("framescope.replay")

_WHITESPACE = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"
_SKIP_CHUNK = 1024 * 1024
_WARN_LINES = 5
_EXPECTED = "expected a trace exported by framescope, an OpenTelemetry exporter, Jaeger or Tempo (docs/replay.md)"
_REQUEST_START = re.compile(rb'\{\s*"(?:resourceSpans|resource_spans)"')

DocumentParser = Callable[[Any], list[SpanRecord]]
ProtoParser = Callable[[bytes], list[SpanRecord]]
#: reads one JSON line's spans when it is in a spelling it knows, else ``None`` (then the
#: line goes through ``loads_json`` and the document parser, which accept or name the fault).
LineParser = Callable[[bytes], "list[SpanRecord] | None"]


def read_trace_stream(
    stream: BinaryIO,
    parse_document: DocumentParser,
    parse_protobuf: ProtoParser,
    accepted: str,
    *,
    json_only: bool = False,
    parse_line: LineParser | None = None,
) -> list[SpanRecord]:
    """Every span in ``stream`` (seekable, positioned at 0), read within the replay limits."""
    prefix = stream.read(DETECT_PREFIX_BYTES)
    stream.seek(0)
    if not prefix:
        raise TraceFormatError(f"the trace document is empty; expected {accepted}")
    significant = prefix.removeprefix(_BOM).lstrip(_WHITESPACE)
    if not significant and len(prefix) < DETECT_PREFIX_BYTES:
        raise TraceFormatError(f"the trace document is empty; expected {accepted}")
    starts_json = significant[:1] in (b"{", b"[")
    looks_protobuf = not json_only and prefix[:1] == b"\n"  # field 1 (resource_spans), length-delimited
    if starts_json:
        try:
            return _read_json(stream, parse_document, accepted, parse_line)
        except TornTraceFileError:
            raise
        except TraceFormatError as json_error:
            if not looks_protobuf:
                raise
            stream.seek(0)  # "\n" then "{" can also be protobuf whose first length byte is "{"
            try:
                return _read_protobuf(stream, parse_protobuf)
            except TraceFormatError:
                raise json_error from None
    if not looks_protobuf:
        shown = prefix[:16].hex(" ")
        raise TraceFormatError(
            f"this is not a trace: it starts with bytes {shown}, neither JSON ('{{' or '[') nor an "
            f"OTLP protobuf message; {_EXPECTED}"
        )
    return _read_protobuf(stream, parse_protobuf)


def _read_protobuf(stream: BinaryIO, parse_protobuf: ProtoParser) -> list[SpanRecord]:
    data = _read_bounded(stream, "a protobuf trace")
    try:
        return parse_protobuf(data)
    except TraceFormatError:  # the decoder's own message is protobuf internals; say what matters
        raise TraceFormatError(
            f"this is not a readable trace: it starts like OTLP protobuf but does not decode as one; {_EXPECTED}"
        ) from None


def _read_bounded(stream: BinaryIO, what: str) -> bytes:
    limit = max_trace_bytes()
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TraceFormatError(
            f"{what} larger than {format_size(limit)} is not read as one document; raise "
            "FRAMESCOPE_MAX_TRACE_BYTES if it really is one trace"
        )
    return data


def _read_json(
    stream: BinaryIO, parse_document: DocumentParser, accepted: str, parse_line: LineParser | None
) -> list[SpanRecord]:
    line_limit = max_line_bytes()
    first = stream.readline(line_limit + 1).strip()
    has_more = bool(stream.read(DETECT_PREFIX_BYTES).strip(_WHITESPACE))
    stream.seek(0)
    first = first.removeprefix(_BOM)
    if len(first) > 1 and first[:1] == b"{" and first[-1:] == b"}" and has_more:
        return _read_lines(stream, parse_document, line_limit, parse_line)
    data = _read_bounded(stream, "a JSON trace")
    try:
        text = data.decode("utf-8-sig")
        document = loads_json(text)
    except UnicodeDecodeError:
        stream.seek(0)
        return _read_lines(stream, parse_document, line_limit, parse_line)
    except RecursionError:
        raise TraceFormatError(
            "this JSON is nested too deeply to be a trace; check that the file is a trace export"
        ) from None
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" or len(text.strip().splitlines()) == 1:
            stream.seek(0)
            return _read_lines(stream, parse_document, line_limit, parse_line)
        raise TraceFormatError(
            f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); expected {accepted}"
        ) from None
    del data, text
    return parse_document(document)


class _Damage:
    """The damaged lines met so far: warned about (a few), counted (all)."""

    def __init__(self) -> None:
        self.count = 0
        self.first: TraceFormatError | None = None

    def add(self, number: int, reason: str) -> None:
        self.count += 1
        error = TraceFormatError(reason, where=f"line {number}")
        if self.first is None:
            self.first = error
        if self.count <= _WARN_LINES:
            logger.warning("skipped damaged line %d: %s; replaying the intact lines around it", number, reason)


def _read_lines(
    stream: BinaryIO, parse_document: DocumentParser, line_limit: int, parse_line: LineParser | None
) -> list[SpanRecord]:
    records: list[SpanRecord] = []
    damage = _Damage()
    good_lines = 0
    number = 0
    while True:
        raw = stream.readline(line_limit + 1)
        if not raw:
            break
        number += 1
        if len(raw) > line_limit and not raw.endswith(b"\n"):
            _skip_rest_of_line(stream)
            damage.add(number, f"longer than {format_size(line_limit)} (FRAMESCOPE_MAX_LINE_BYTES); not read")
            continue
        if not raw.strip():
            continue
        if parse_line is not None:
            known = parse_line(raw)
            if known is not None:
                records.extend(known)
                good_lines += 1
                continue
        at_end = not raw.endswith((b"\n", b"\r"))
        try:
            records.extend(_parse_line(raw, parse_document))
            good_lines += 1
            continue
        except _BadLine as exc:
            reason, cut_off = exc.reason, exc.json_error
        recovered = _recover_glued(raw, parse_document)
        if recovered is not None:
            records.extend(recovered)
            good_lines += 1
            damage.add(number, f"{reason}; recovered the complete request at its end")
            continue
        if at_end and cut_off and (good_lines or not damage.count):
            raise TornTraceFileError(
                f"the last line is cut off ({reason}): the writer was probably stopped mid-write; "
                f"{len(records)} spans from the lines before it are in .records if you want to "
                "replay what was written",
                line_number=number,
                records=records,
            )
        damage.add(number, reason)
        if not good_lines and damage.count >= MAX_LEADING_BAD_LINES:
            break
    if not good_lines and damage.first is not None:
        raise TraceFormatError(
            f"{damage.first}; no line of it is a trace, so this is not a trace file "
            "(each line of a JSON-lines trace file must be one complete ExportTraceServiceRequest)"
        )
    if damage.count > _WARN_LINES:
        logger.warning("skipped %d damaged lines in all; replayed the %d intact ones", damage.count, good_lines)
    return records


class _BadLine(Exception):
    def __init__(self, reason: str, *, json_error: bool = True) -> None:
        self.reason = reason
        self.json_error = json_error  # bad JSON, as a line cut off mid-write is


def _parse_line(raw: bytes, parse_document: DocumentParser) -> list[SpanRecord]:
    # A line cut off mid-write starts like a request and only its end is wrong; anything
    # else (a stray byte, garbage) is damage, never mistaken for a torn tail.
    starts_like_request = raw.lstrip()[:1] == b"{"
    try:
        document = loads_json(raw)
    except UnicodeDecodeError as exc:
        cut_mid_character = exc.start >= len(raw.rstrip()) - 3
        raise _BadLine("not valid UTF-8", json_error=starts_like_request and cut_mid_character) from None
    except RecursionError:
        raise _BadLine("JSON nested too deeply", json_error=False) from None
    except json.JSONDecodeError as exc:
        raise _BadLine(f"not valid JSON ({exc.msg} at column {exc.colno})", json_error=starts_like_request) from None
    try:
        return parse_document(document)
    except TraceFormatError as exc:
        raise _BadLine(f"not a trace request ({str(exc)[:200]})", json_error=False) from None


def _recover_glued(raw: bytes, parse_document: DocumentParser) -> list[SpanRecord] | None:
    """A complete request appended to a torn fragment (an older writer's failure): read the request."""
    starts = [m.start() for m in _REQUEST_START.finditer(raw)]
    for start in reversed(starts):
        if start == 0:
            continue
        try:
            return _parse_line(raw[start:], parse_document)
        except _BadLine:
            continue
    return None


def _skip_rest_of_line(stream: BinaryIO) -> None:
    while True:
        chunk = stream.readline(_SKIP_CHUNK)
        if not chunk or chunk.endswith(b"\n"):
            return


def bytes_stream(content: bytes) -> BinaryIO:
    """``content`` as a stream for :func:`read_trace_stream`."""
    return io.BytesIO(content)
