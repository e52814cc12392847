"""The runs a server offers, read through the replay API: the one module of ``serve`` that
imports ``framescope.replay``, so a change there is adapted here and nowhere else.

A source is read whole (a trace file, or one trace from Jaeger/Tempo) and decoded once; the
server keeps the result until the file changes (its size or mtime) or, for a backend, until
``refresh_s`` has passed.  Each run's frames are encoded to SSE lines once and shared by
every client, so two hundred clients cost one encoding, not two hundred.

Nothing a client sends reaches the file system: the path is fixed when the server starts,
and a run id is only ever a key looked up in the decoded runs.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framescope import replay
from framescope.errors import (
    ReplayedRunCancelled,
    ReplayedRunFailed,
    ServeConfigError,
    TraceFetchError,
    TraceFormatError,
    UnknownRunError,
)
from framescope.replay.records import SpanRecord
from framescope.replay.remote import fetch_records
from framescope.types.jsonl import frame_json_line as frame_json  # the one frame encoding
from framescope.types.streaming import StreamFrame

__all__ = ["SOURCE_ERRORS", "RecordedRun", "RunSource", "frame_json"]

#: what reading a source can raise (the server answers 503 with the message)
SOURCE_ERRORS: tuple[type[Exception], ...] = (TraceFormatError, TraceFetchError, OSError)

_RUN_ID_ATTRIBUTE = "framescope.run.id"


@dataclass
class RecordedRun:
    """One run, decoded: its frames, its outcome, and what the page and AG-UI need to know."""

    run_id: str
    info: dict[str, Any]
    frames: list[StreamFrame]
    trace_id: str | None
    root_span_id: str | None
    result: Any = None
    #: ``(error_type, message)`` when the run failed
    error: tuple[str, str] | None = None
    cancelled: bool = False
    _encoded: list[bytes] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def encoded(self, encode: Callable[[StreamFrame], bytes]) -> list[bytes]:
        """Each frame as one SSE event, computed on first use and then shared by every client."""
        if self._encoded is None:
            with self._lock:
                if self._encoded is None:
                    self._encoded = [encode(frame) for frame in self.frames]
        return self._encoded

    #: a recorded run is complete (a live one, serve.published.LiveRun, is not yet)
    done = True

    @property
    def traceparent(self) -> str | None:
        """W3C traceparent of the run's top span, for a client that wants to join the trace."""
        if self.trace_id and self.root_span_id:
            return f"00-{self.trace_id}-{self.root_span_id}-01"
        return None


class RunSource:
    """A trace file or a backend trace URL, read lazily and cached."""

    def __init__(
        self,
        source: str | os.PathLike[str],
        *,
        fetch: dict[str, Any] | None = None,
        refresh_s: float = 10.0,
    ) -> None:
        text = os.fspath(source)
        self.is_url = text.startswith(("http://", "https://"))
        if not self.is_url and "://" in text:
            raise ServeConfigError(f"{text!r}: only trace files and http(s) Jaeger/Tempo URLs can be served")
        self.location = text
        self._path = None if self.is_url else Path(text)
        self._fetch = dict(fetch or {})
        self._refresh_s = refresh_s
        self._stamp: object = None
        self._runs: dict[str, RecordedRun] = {}
        self._order: list[str] = []
        self._lock = asyncio.Lock()

    def describe(self) -> str:
        return self.location

    # -- reading ----------------------------------------------------------------------
    def _current_stamp(self) -> object:
        if self._path is not None:
            try:
                status = self._path.stat()
            except OSError:
                return None
            return (status.st_size, status.st_mtime_ns)
        return int(time.monotonic() // self._refresh_s) if self._refresh_s > 0 else 0

    def _records(self) -> list[SpanRecord]:
        if self._path is not None:
            return replay.load_records(self._path, allow_torn=True)
        records, _location = fetch_records(self.location, **self._fetch)
        return records

    def _load(self) -> tuple[dict[str, RecordedRun], list[str]]:
        records = self._records()
        infos = replay.list_runs(records)
        roots = _root_spans(records)
        runs: dict[str, RecordedRun] = {}
        for info in infos:
            session = replay.from_records(records, run_id=info.run_id, source=self.location)
            error: tuple[str, str] | None = None
            cancelled = False
            result: Any = None
            try:
                frames = list(session.events)
                result = session.result
            except ReplayedRunFailed as exc:
                frames = session.frames
                error = (exc.error_type, str(exc))
            except ReplayedRunCancelled:
                frames = session.frames
                cancelled = True
            trace_id = info.trace_ids[0] if info.trace_ids else None
            runs[info.run_id] = RecordedRun(
                run_id=info.run_id,
                info=info.to_json(),
                frames=frames,
                trace_id=trace_id,
                root_span_id=roots.get(info.run_id),
                result=result,
                error=error,
                cancelled=cancelled,
            )
        return runs, [info.run_id for info in infos]

    async def refresh(self) -> None:
        """Re-read the source if it changed since the last read (in a worker thread)."""
        stamp = self._current_stamp()
        if stamp is not None and stamp == self._stamp:
            return
        async with self._lock:
            stamp = self._current_stamp()
            if stamp is not None and stamp == self._stamp:
                return
            if self._path is not None and not self._path.exists():
                self._runs, self._order, self._stamp = {}, [], None
                return
            self._runs, self._order = await asyncio.to_thread(self._load)
            self._stamp = stamp

    async def runs(self) -> list[RecordedRun]:
        """Every run, newest first (what a person looking for the run they just made wants)."""
        await self.refresh()
        return [self._runs[run_id] for run_id in reversed(self._order)]

    async def get(self, run_id: str) -> RecordedRun:
        await self.refresh()
        run = self._runs.get(run_id)
        if run is None:
            raise UnknownRunError(run_id, len(self._runs))
        return run


def _root_spans(records: list[SpanRecord]) -> dict[str, str]:
    """run id -> span id of the run's top span (the earliest span of the run whose parent
    is not itself a span of that run)."""
    by_run: dict[str, list[SpanRecord]] = {}
    for record in records:
        run_id = record.attributes.get(_RUN_ID_ATTRIBUTE)
        if isinstance(run_id, str):
            by_run.setdefault(run_id, []).append(record)
    roots: dict[str, str] = {}
    for run_id, spans in by_run.items():
        ids = {span.span_id for span in spans}
        tops = [span for span in spans if span.parent_span_id not in ids]
        if tops:
            roots[run_id] = min(tops, key=lambda span: span.start_time_unix_nano).span_id
    return roots
