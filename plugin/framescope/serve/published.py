"""Live runs published to the server: the page lists them and any number of viewers follow them.

``LiveRuns.publish(session)`` makes the server the session's one consumer: a task reads the
session into a buffer and wakes the viewers, who each get what has arrived and then every
frame as it comes (resumable with ``Last-Event-ID``, like a recorded run).  The run does not
depend on its viewers, so a viewer leaving changes nothing for the run or the other viewers;
the run ends when it ends, or is closed by ``LiveRuns.close()`` (the app closes it at
shutdown).  Compare ``sse_response``, where the one client owns the session and its leaving
closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from framescope.serve.sse import encode_frame
from framescope.types.streaming import AsyncStreamSession, StreamFrame, StreamSession

__all__ = ["LiveRun", "LiveRuns"]


class LiveRun:
    """A published run: the frames so far, and an event set whenever more arrive."""

    def __init__(self, session: StreamSession | AsyncStreamSession) -> None:
        self.session = session
        self.run_id: str = ""
        self.frames: list[StreamFrame] = []
        self._encoded: list[bytes] = []
        self.trace_id: str | None = None
        self.traceparent: str | None = None
        self.done = False
        self.result: Any = None
        self.error: tuple[str, str] | None = None
        self.cancelled = False
        self._arrived = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def encoded(self, _encode: Any = None) -> list[bytes]:
        return self._encoded

    def _add(self, frame: StreamFrame) -> None:
        if not self.run_id:
            self.run_id = self.session.run_id or frame.id.rsplit("-", 1)[0]
        self.trace_id = self.trace_id or self.session.trace_id
        self.frames.append(frame)
        self._encoded.append(encode_frame(frame))

    def _wake(self) -> None:
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()

    async def wait_beyond(self, count: int) -> None:
        """Return once there are more than ``count`` frames, or the run is over."""
        while len(self.frames) <= count and not self.done:
            await self._arrived.wait()

    async def consume(self) -> None:
        session = self.session
        try:
            if isinstance(session, AsyncStreamSession):
                async for frame in session:
                    self._add(frame)
                    self._wake()
            else:
                frames = iter(session)
                while True:
                    following: StreamFrame | None = await asyncio.to_thread(_next_or_none, frames)
                    if following is None:
                        break
                    self._add(following)
                    self._wake()
            self.result = session.result
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        except Exception as exc:  # the run failed: its frames are kept, the failure is the outcome
            self.error = (str(getattr(exc, "error_type", type(exc).__name__)), str(exc))
        finally:
            session.close()
            self.cancelled = self.cancelled or session.is_cancelled
            self.done = True
            self._wake()

    @property
    def info(self) -> dict[str, Any]:
        """The run as ``/api/runs`` lists it (the fields of a recorded run that are known live)."""
        first = self.frames[0] if self.frames else None
        top = next((frame.type for frame in self.frames if frame.parent_id is None), None)
        return {
            "run_id": self.run_id,
            "trace_ids": [self.trace_id] if self.trace_id else [],
            "started_at": first.timestamp.isoformat() if first else None,
            "ended_at": self.frames[-1].timestamp.isoformat() if self.done and self.frames else None,
            "frame_count": len(self.frames),
            "top_level_type": top,
            "gaps": [],
            "failed": self.error is not None,
            "cancelled": self.cancelled,
            "reconstructed": False,
            "live": not self.done,
        }


def _next_or_none(frames: Iterator[StreamFrame]) -> StreamFrame | None:
    return next(frames, None)


class LiveRuns:
    """The live runs an application publishes to ``create_app(..., live=LiveRuns())``."""

    def __init__(self, keep_finished: int = 20) -> None:
        self._runs: OrderedDict[str, LiveRun] = OrderedDict()
        self._pending: list[LiveRun] = []
        self.keep_finished = keep_finished

    async def publish(self, session: StreamSession | AsyncStreamSession) -> LiveRun:
        """Start consuming ``session`` on the running event loop; returns once its first frame
        (and so its run id) is known, or the run ended without one."""
        run = LiveRun(session)
        self._pending.append(run)
        run.task = asyncio.get_running_loop().create_task(run.consume())
        try:
            await run.wait_beyond(0)
        finally:
            self._pending.remove(run)
        if run.run_id:
            self._runs[run.run_id] = run
            self._trim()
        return run

    def _trim(self) -> None:
        finished = [run_id for run_id, run in self._runs.items() if run.done]
        for run_id in finished[: max(len(finished) - self.keep_finished, 0)]:
            del self._runs[run_id]

    def get(self, run_id: str) -> LiveRun | None:
        return self._runs.get(run_id)

    def runs(self) -> list[LiveRun]:
        """Newest first."""
        return list(reversed(self._runs.values()))

    async def close(self) -> None:
        """Close every run still streaming (at the app's shutdown): no run thread outlives the server."""
        for run in [*self._runs.values(), *self._pending]:
            if run.task is not None and not run.task.done():
                run.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run.task
