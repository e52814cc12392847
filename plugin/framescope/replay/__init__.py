"""Post-hoc replay: rebuild, frame for frame, what a run streamed, from its exported trace (D5).

``from_file`` reads the embedded trace file (or any saved trace document); ``from_records``
takes spans already parsed from any source.  Both return a session with the live API.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from framescope.replay.errors import TornTraceFileError, TraceFormatError
from framescope.replay.session import (
    AsyncReplaySession,
    IncompleteTraceError,
    ReplayedRunCancelled,
    ReplayedRunFailed,
    ReplayError,
    ReplaySession,
    describe_gaps,
    replay_run,
)
from framescope.replay.sources.detect import parse_trace_document
from framescope.telemetry.codec import DecodedRun, decode_runs
from framescope.telemetry.records import SpanRecord, normalize_trace_id

logger = logging.getLogger("framescope.replay")

__all__ = [
    "AsyncReplaySession",
    "DecodedRun",
    "IncompleteTraceError",
    "ReplayError",
    "ReplaySession",
    "ReplayedRunCancelled",
    "ReplayedRunFailed",
    "TornTraceFileError",
    "TraceFormatError",
    "from_file",
    "from_records",
    "load_runs",
    "select_run",
]


def load_records(path: str | os.PathLike[str], *, allow_torn: bool = False) -> list[SpanRecord]:
    """Parse a trace file of any accepted format into span records."""
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(
            f"no trace file at {file}; run something first (traces go to .framescope/traces.jsonl "
            "by default, or FRAMESCOPE_TRACE_FILE), or check the path"
        )
    if file.is_dir():
        raise IsADirectoryError(f"{file} is a directory; pass the trace file inside it")
    try:
        return parse_trace_document(file.read_bytes())
    except TornTraceFileError as exc:
        if not allow_torn:
            raise TornTraceFileError(
                f"{file}: {exc}. Pass allow_torn=True to replay the complete lines before it.",
                line_number=exc.line_number,
                records=exc.records,
            ) from None
        logger.warning("%s: %s; replaying the %d complete spans before it", file, exc, len(exc.records))
        return exc.records
    except TraceFormatError as exc:
        raise TraceFormatError(f"{file}: {exc}") from None


def load_runs(records: Iterable[SpanRecord]) -> list[DecodedRun]:
    """Every framescope run in ``records``, oldest first."""
    return decode_runs(records)


def select_run(
    runs: list[DecodedRun],
    *,
    trace_id: str | None = None,
    run_id: str | None = None,
    source: str = "the trace",
) -> DecodedRun:
    """Pick one run: by run id, else the newest run of ``trace_id``, else the newest run."""
    if not runs:
        raise ReplayError(
            f"{source} holds no framescope run (no span has a framescope.run.id attribute); "
            "it was not written by framescope. To replay another instrumentation's GenAI spans "
            "use the reconstructing replay (framescope replay --reconstruct)."
        )
    candidates = runs
    if trace_id is not None:
        wanted = normalize_trace_id(trace_id)
        candidates = [run for run in runs if wanted in run.trace_ids]
        if not candidates:
            known = sorted({t for run in runs for t in run.trace_ids})
            shown = ", ".join(known[-5:])
            raise ReplayError(
                f"trace {wanted} is not in {source}; it holds {len(known)} trace(s), the newest: {shown}"
            )
    if run_id is not None:
        chosen = [run for run in candidates if run.run_id == run_id]
        if not chosen:
            raise ReplayError(
                f"run {run_id!r} is not in {source}"
                + (f" (trace {trace_id})" if trace_id else "")
                + f"; runs there: {', '.join(run.run_id for run in candidates[-10:])}"
            )
        return chosen[0]
    return candidates[-1]


def from_records(
    records: Iterable[SpanRecord],
    *,
    trace_id: str | None = None,
    run_id: str | None = None,
    speed: float | None = None,
    strict: bool = False,
    source: str = "the trace",
) -> ReplaySession:
    """Replay one run from span records (see :func:`select_run` for which)."""
    run = select_run(load_runs(records), trace_id=trace_id, run_id=run_id, source=source)
    if run.gaps and not strict:
        logger.warning(
            "run %s in %s is missing frames with seq %s; replaying the %d frames that are there",
            run.run_id, source, describe_gaps(run.gaps), len(run.frames),
        )
    session = replay_run(run, speed=speed, strict=strict)
    assert isinstance(session, ReplaySession)
    return session


def from_file(
    path: str | os.PathLike[str],
    trace_id: str | None = None,
    *,
    run_id: str | None = None,
    speed: float | None = None,
    strict: bool = False,
    allow_torn: bool = False,
) -> ReplaySession:
    """Replay a run from a trace file: by ``trace_id`` (hex), else the newest run in the file.

    ``speed`` paces frames at the original timing (``1.0``, ``2.0`` ...; ``None`` = as fast as
    possible).  A missing file, a torn last line (unless ``allow_torn``), a file with no
    framescope run and an unknown trace id each raise a clear error.
    """
    records = load_records(path, allow_torn=allow_torn)
    return from_records(
        records, trace_id=trace_id, run_id=run_id, speed=speed, strict=strict, source=str(path)
    )
