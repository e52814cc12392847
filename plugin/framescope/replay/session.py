"""Replay sessions: a decoded run served through the same session API as a live run.

A replayed run behaves like the live one did: the same frames in the same order, ``result``
from the closing frame, iteration raising at the end when the run had failed.  What replay
cannot rebuild is said, not hidden: ``gaps`` lists missing ``seq`` ranges, and ``strict``
turns any gap into an error.
"""

from __future__ import annotations

from typing import Any

from framescope.errors import (
    IncompleteTraceError,
    ReplayedRunCancelled,
    ReplayedRunFailed,
    ReplayedRunIncomplete,
    ReplayError,
)
from framescope.replay.decode import DecodedRun
from framescope.replay.feed import ListFeed
from framescope.types.streaming import AsyncStreamSession, StreamSession


def describe_gaps(gaps: list[tuple[int, int]]) -> str:
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in gaps)


class _ReplayInfo:
    """What replay knows beyond the frames: run id, gaps, whether frames were reconstructed.

    ``gaps`` lists missing ``seq`` ranges; when a session replays several runs
    (:func:`replay_runs`), ``run_gaps`` says which run each range belongs to, since ``seq``
    restarts in every run.  ``run_ids`` lists the replayed runs in order.
    """

    gaps: list[tuple[int, int]]
    #: True when a replayed run is missing frames; ``result`` then raises ReplayedRunIncomplete
    incomplete: bool
    run_gaps: dict[str, list[tuple[int, int]]]
    reconstructed: bool
    trace_ids: list[str]
    run_ids: list[str]


class ReplaySession(StreamSession, _ReplayInfo):
    """A :class:`StreamSession` over a replayed run."""


class AsyncReplaySession(AsyncStreamSession, _ReplayInfo):
    """An :class:`AsyncStreamSession` over a replayed run."""


def _outcome(run: DecodedRun) -> tuple[Any, BaseException | None]:
    if not run.frames:
        return None, None
    last = run.frames[-1]
    if run.cancelled and not last.type.endswith(("_finished", "_completed", "_failed")):
        return None, ReplayedRunCancelled(
            "the original run was cancelled by its consumer before it finished; it has no result"
        )
    if run.gaps:  # a missing opener makes nested frames look top-level: the outcome is unknown
        return None, None
    parent_id = last.parent_id
    # a top-level last frame (the common case) needs no search through the run for its opener
    opener = None if parent_id is None else next((frame for frame in run.frames if frame.id == parent_id), None)
    top_level = parent_id is None or (opener is not None and opener.parent_id is None)
    if top_level and last.type.endswith(("_failed", "_error")):
        data = last.data
        return None, ReplayedRunFailed(str(data.get("error_type", "Error")), str(data.get("error", "")))
    return run.result, None


def _incomplete(run: DecodedRun) -> ReplayedRunIncomplete | None:
    """The error ``result`` raises for a run missing frames (its outcome is unknown), else None."""
    if not run.gaps:
        return None
    return ReplayedRunIncomplete(
        f"run {run.run_id} is incomplete: frames with seq {describe_gaps(run.gaps)} are missing from the "
        "trace (a killed process, dropped spans or a torn file), so it has no known result",
        list(run.gaps),
    )


def _check_strict(runs: list[DecodedRun]) -> None:
    broken = [run for run in runs if run.gaps]
    if not broken:
        return
    where = "; ".join(f"run {run.run_id} is missing frames with seq {describe_gaps(run.gaps)}" for run in broken)
    raise IncompleteTraceError(
        f"{where}; the trace is partial (dropped spans, a killed process or a torn file). "
        "Replay without strict=True to get the frames that are there.",
        [gap for run in broken for gap in run.gaps],
    )


def replay_run(
    run: DecodedRun,
    *,
    speed: float | None = None,
    strict: bool = False,
    asynchronous: bool = False,
    reconstructed: bool = False,
) -> ReplaySession | AsyncReplaySession:
    """A session over ``run``'s frames; ``speed`` paces them (1.0 = original timing)."""
    return replay_runs([run], speed=speed, strict=strict, asynchronous=asynchronous, reconstructed=reconstructed)


def replay_runs(
    runs: list[DecodedRun],
    *,
    speed: float | None = None,
    strict: bool = False,
    asynchronous: bool = False,
    reconstructed: bool = False,
) -> ReplaySession | AsyncReplaySession:
    """One session over several runs in the given order (a whole conversation).

    Frames keep their run-local ``seq``; the session's outcome (``result`` or the failure
    iteration raises) is the last run's, as it would be for a client that watched the
    conversation to its end.  With one run this is :func:`replay_run`.
    """
    if not runs:
        raise ReplayError("nothing to replay: no run was selected")
    if strict:
        _check_strict(runs)
    last = runs[-1]
    result, error = _outcome(last)
    if len(runs) == 1:
        frames = last.frames
    else:
        frames = [frame for run in runs for frame in run.frames]
    trace_ids = list(dict.fromkeys(t for run in runs for t in run.trace_ids))
    feed = ListFeed(
        frames,
        result=result,
        error=error,
        trace_id=trace_ids[0] if trace_ids else None,
        speed=speed,
    )
    session: ReplaySession | AsyncReplaySession = AsyncReplaySession(feed) if asynchronous else ReplaySession(feed)
    feed.run_id = last.run_id if len(runs) == 1 else None
    feed.incomplete = _incomplete(last) if error is None else None
    session.incomplete = any(run.gaps for run in runs)
    session.gaps = [gap for run in runs for gap in run.gaps]
    session.run_gaps = {run.run_id: list(run.gaps) for run in runs if run.gaps}
    session.reconstructed = reconstructed
    session.trace_ids = trace_ids
    session.run_ids = [run.run_id for run in runs]
    return session
