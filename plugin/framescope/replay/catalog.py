"""Which runs a trace holds, and choosing among them.

One trace can hold several runs: the turns of a conversation share a trace, and so do runs
started inside one application span.  Replay must not guess silently which one the user
meant, so the runs can be listed (start time, frame count, top-level type) and chosen by
``run_id``; the default is the trace's root run when a trace is named, else the newest run
(the one a user who just ran something expects).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from framescope.replay.decode import DecodedRun
from framescope.replay.records import normalize_trace_id
from framescope.replay.session import ReplayError, describe_gaps

__all__ = ["RunInfo", "describe_run", "select_run", "select_runs"]

_HEX_ID = re.compile(r"^[0-9a-fA-F]{1,32}$")


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A one-line summary of a run, for listing (``framescope replay --list``)."""

    run_id: str
    trace_ids: tuple[str, ...]
    started_at: datetime | None
    ended_at: datetime | None
    frame_count: int
    #: the type of the run's first top-level frame (``flow_started``, ``llm_call_started`` ...)
    top_level_type: str | None
    gaps: tuple[tuple[int, int], ...]
    failed: bool
    cancelled: bool
    reconstructed: bool
    #: False when frames are missing (a killed process, dropped spans): the run's end is unknown
    complete: bool = True

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat() if self.started_at else None
        data["ended_at"] = self.ended_at.isoformat() if self.ended_at else None
        data["trace_ids"] = list(self.trace_ids)
        data["gaps"] = [list(gap) for gap in self.gaps]
        return data

    def describe(self) -> str:
        started = self.started_at.isoformat(timespec="milliseconds") if self.started_at else "?"
        state = "failed" if self.failed else "cancelled" if self.cancelled else "ok" if self.complete else "incomplete"
        extra = f"  gaps: {describe_gaps(list(self.gaps))}" if self.gaps else ""
        marker = "  (reconstructed)" if self.reconstructed else ""
        return (
            f"{self.run_id}  {started}  {self.frame_count:>6} frames  "
            f"{self.top_level_type or '-'}  {state}  trace {','.join(self.trace_ids)}{extra}{marker}"
        )


def describe_run(run: DecodedRun, *, reconstructed: bool = False) -> RunInfo:
    top = next((frame.type for frame in run.frames if frame.parent_id is None), None)
    return RunInfo(
        run_id=run.run_id,
        trace_ids=tuple(run.trace_ids),
        started_at=run.started_at,
        ended_at=run.frames[-1].timestamp if run.frames else None,
        frame_count=len(run.frames),
        top_level_type=top,
        gaps=tuple(run.gaps),
        failed=run.failed,
        cancelled=run.cancelled,
        reconstructed=reconstructed,
        complete=not run.gaps,
    )


def select_runs(
    runs: list[DecodedRun],
    *,
    trace_id: str | None = None,
    run_id: str | None = None,
    all_runs: bool = False,
    source: str = "the trace",
) -> list[DecodedRun]:
    """The runs to replay: ``run_id``'s, or all of ``trace_id`` (``all_runs``), else the root
    (first) run of ``trace_id``, else the newest run."""
    if not runs:
        raise ReplayError(
            f"{source} holds no framescope run (no span has a framescope.run.id attribute); "
            "it was not written by framescope. To replay another instrumentation's GenAI spans "
            "use the reconstructing replay (reconstruct=True, or framescope replay --reconstruct)."
        )
    if all_runs and run_id is not None:
        raise ValueError("pass either run_id (one run) or all_runs=True (every run), not both")
    candidates = runs
    if trace_id is not None:
        if not isinstance(trace_id, str) or not _HEX_ID.match(trace_id.strip()):
            raise ValueError(f"trace id {trace_id!r} is not a trace id: use up to 32 hex characters (0-9, a-f)")
        wanted = normalize_trace_id(trace_id)
        candidates = [run for run in runs if wanted in run.trace_ids]
        if not candidates:
            known = list(dict.fromkeys(t for run in reversed(runs) for t in run.trace_ids))  # newest first
            shown = ", ".join(known[:5])
            raise ReplayError(
                f"trace {wanted} is not in {source}; it holds {len(known)} trace(s), newest first: {shown}"
            )
    if run_id is not None:
        chosen = [run for run in candidates if run.run_id == run_id]
        if not chosen:
            raise ReplayError(
                f"run {run_id!r} is not in {source}"
                + (f" (trace {trace_id})" if trace_id else "")
                + f"; runs there: {', '.join(run.run_id for run in candidates[-10:])}"
                + f" (list them with: framescope replay {source if ' ' not in source else 'SOURCE'} --list)"
            )
        return chosen[:1]
    if all_runs:
        if trace_id is None and len({t for run in candidates for t in run.trace_ids}) > 1:
            newest = candidates[-1].trace_ids[0]
            candidates = [run for run in candidates if newest in run.trace_ids]
        return candidates
    if trace_id is not None:
        # The trace's root run: the first one (a run nested in another always starts after it).
        return candidates[:1]
    return candidates[-1:]


def select_run(
    runs: list[DecodedRun],
    *,
    trace_id: str | None = None,
    run_id: str | None = None,
    source: str = "the trace",
) -> DecodedRun:
    """Pick one run: by run id, else the root (first) run of ``trace_id``, else the newest run."""
    return select_runs(runs, trace_id=trace_id, run_id=run_id, source=source)[0]
