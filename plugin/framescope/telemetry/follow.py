"""Following a live run from another thread, by its trace id or its run id.

A service (an SSE endpoint, a dashboard, a test) often learns *which* run to watch from
somewhere else: the trace id of the request that started it, or the run id a log line
printed.  :func:`follow` returns an ordinary :class:`~framescope.types.streaming.StreamSession`
over that run's frames, fed by the same path that feeds the run's own sessions (the frame
span processor's ``on_frame``), so a follower sees exactly the frames, in the order, that a
session of the run sees.

What a follower sees:

* Following a run that is already going, it sees the frames emitted from that moment on
  (``session.frames[0].seq`` says where it joined).  Following by trace id *before* the run
  starts (the usual case: the service knows the request's trace id first) it sees every
  frame.  For a finished run use replay, which rebuilds it from the trace.
* A follower never changes the run: closing it detaches it (the run goes on), and the run's
  outcome is not raised to it.  ``session.result`` is the ``result`` of the run's last frame.
* Followers are bounded like every session: a follower that stops reading makes the run wait
  at its next frame rather than lose frames.  Close followers you no longer read.

Runs publish themselves here with :func:`run_started`, :func:`trace_known` and
:func:`run_ended` (the CrewAI instrumentor does; see docs/crewai.md).
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from framescope.errors import FollowTimeoutError
from framescope.types._feed import FrameQueue, StreamClosed
from framescope.types.streaming import StreamFrame, StreamSession

__all__ = ["FollowerQueue", "LiveRun", "follow", "run_ended", "run_started", "trace_known"]


class LiveRun(Protocol):
    """What a run must offer to be followed."""

    run_id: str
    trace_id: str | None
    sinks: list[FrameQueue]
    lock: Any  # held while frames are delivered, so a follower attaches between two frames

    def settle(self) -> None:
        """Record what the run has put off (under ``lock``): a follower sees what comes after."""


class FollowerQueue(FrameQueue):
    """A session queue that detaches quietly when its consumer closes it."""

    __slots__ = ()

    def put(self, frame: StreamFrame) -> None:
        try:
            super().put(frame)
        except StreamClosed:
            pass  # a closed follower must never stop the run it was watching


class _Registry:
    """The live runs, and the followers waiting for a run that has not started yet."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, LiveRun] = {}
        self._by_trace: dict[str, LiveRun] = {}
        self._waiting_trace: dict[str, list[FollowerQueue]] = {}
        self._waiting_run: dict[str, list[FollowerQueue]] = {}

    def started(self, run: LiveRun) -> None:
        with self._lock:
            self._runs[run.run_id] = run
            waiting = self._waiting_run.pop(run.run_id, [])
        for queue in waiting:
            _attach(run, queue)

    def trace_known(self, run: LiveRun) -> None:
        trace_id = run.trace_id
        if trace_id is None:
            return
        with self._lock:
            if run.run_id not in self._runs:
                return
            self._by_trace.setdefault(trace_id, run)
            waiting = self._waiting_trace.pop(trace_id, [])
        for queue in waiting:
            _attach(run, queue)

    def ended(self, run: LiveRun, result: Any) -> None:
        with self._lock:
            self._runs.pop(run.run_id, None)
            if run.trace_id is not None and self._by_trace.get(run.trace_id) is run:
                del self._by_trace[run.trace_id]
        with run.lock:
            followers = [sink for sink in run.sinks if isinstance(sink, FollowerQueue)]
            for follower in followers:
                run.sinks.remove(follower)
        for follower in followers:
            follower.finish(result, None)

    def follow(self, run_id: str | None, trace_id: str | None, queue: FollowerQueue) -> bool:
        """Attach ``queue`` now (True) or park it until the run shows up (False)."""
        with self._lock:
            run = self._runs.get(run_id) if run_id is not None else self._by_trace.get(trace_id or "")
            if run is None:
                waiting = self._waiting_run if run_id is not None else self._waiting_trace
                waiting.setdefault(run_id or trace_id or "", []).append(queue)
                return False
        _attach(run, queue)
        return True

    def give_up(self, key: str, queue: FollowerQueue) -> bool:
        """Stop waiting; True if ``queue`` was still parked (no run ever came)."""
        with self._lock:
            for waiting in (self._waiting_run, self._waiting_trace):
                parked = waiting.get(key)
                if parked and queue in parked:
                    parked.remove(queue)
                    if not parked:
                        del waiting[key]
                    return True
        return False


def _attach(run: LiveRun, queue: FollowerQueue) -> None:
    queue.run_id = run.run_id
    queue.trace_id = run.trace_id
    with run.lock:
        run.settle()
        run.sinks.append(queue)

    def detach() -> None:
        with run.lock:
            if queue in run.sinks:
                run.sinks.remove(queue)

    queue.add_close_callback(detach)


REGISTRY = _Registry()


def run_started(run: LiveRun) -> None:
    """A run began: followers waiting for its run id attach now."""
    REGISTRY.started(run)


def trace_known(run: LiveRun) -> None:
    """The run's first span started, so its trace id is known: followers of that trace attach."""
    REGISTRY.trace_known(run)


def run_ended(run: LiveRun, result: Any = None) -> None:
    """The run is over: its followers reach their end with ``result``."""
    REGISTRY.ended(run, result)


def follow(
    *,
    trace_id: str | None = None,
    run_id: str | None = None,
    timeout: float | None = None,
    queue_size: int = 1024,
) -> StreamSession:
    """A session over the live run with ``trace_id`` or ``run_id`` (exactly one of them).

    If no such run is going yet, the session waits for it; with ``timeout`` (seconds) a run
    that has not started by then ends the session with :class:`FollowTimeoutError`.
    """
    if (trace_id is None) == (run_id is None):
        raise ValueError("follow() takes exactly one of trace_id=... or run_id=...")
    if timeout is not None and timeout <= 0:
        raise ValueError(f"timeout must be > 0 seconds (or None to wait as long as it takes), got {timeout}")
    wanted_trace = trace_id.strip().lower().rjust(32, "0") if trace_id is not None else None
    queue = FollowerQueue(queue_size)
    attached = REGISTRY.follow(run_id, wanted_trace, queue)
    if not attached and timeout is not None:
        key = run_id if run_id is not None else wanted_trace or ""
        what = f"run {run_id}" if run_id is not None else f"trace {wanted_trace}"

        def expire() -> None:
            if REGISTRY.give_up(key, queue):
                queue.finish(
                    None,
                    FollowTimeoutError(
                        f"no live run with {what} started within {timeout} s; a finished run "
                        "is replayed from its trace instead (framescope replay)"
                    ),
                )

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
        queue.add_close_callback(timer.cancel)
    if not attached:
        key = run_id if run_id is not None else wanted_trace or ""

        def stop_waiting() -> None:
            REGISTRY.give_up(key, queue)

        queue.add_close_callback(stop_waiting)
    return StreamSession(queue)
