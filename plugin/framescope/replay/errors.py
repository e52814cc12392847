"""Errors raised while reading exported traces back.

Replay must never turn a bad trace into a silently shorter frame sequence, so every reader
fails loudly with one of these.  Each message says what was wrong, where (a JSON path such
as ``resourceSpans[0].scopeSpans[1].spans[3].traceId``, a line number or a URL) and what
to do about it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from framescope.replay.records import SpanRecord


class TraceFormatError(ValueError):
    """A trace document is not in a format framescope reads, or is malformed.

    ``where`` is the path inside the document (or ``line N``) when one is known.
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class TornTraceFileError(TraceFormatError):
    """The last line of a JSON-lines trace file is cut off.

    This is what a file looks like when its writer was killed mid-write.  ``records`` holds
    every span parsed from the complete lines before it, so a caller may choose to replay
    what was written instead of failing.
    """

    def __init__(self, message: str, *, line_number: int, records: list[SpanRecord]) -> None:
        self.line_number = line_number
        self.records = records
        super().__init__(message, where=f"line {line_number}")


class TraceFetchError(RuntimeError):
    """A trace could not be fetched from a backend (Jaeger, Tempo).

    ``url`` is the request that failed and ``status_code`` the HTTP status, if any.
    """

    def __init__(self, message: str, *, url: str | None = None, status_code: int | None = None) -> None:
        self.url = url
        self.status_code = status_code
        super().__init__(message)


class TraceNotFoundError(TraceFetchError):
    """The backend answered but does not know the trace id (HTTP 404 or an empty trace)."""
