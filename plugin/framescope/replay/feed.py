"""Where a replay session's frames come from: a finished run's list, optionally paced.

The replay twin of the live :class:`~framescope.types._feed.FrameQueue`: the same
``next_batch``/``next_batch_async``/``close`` protocol, so replayed frames go through the
same session classes as live ones.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from framescope.types.streaming import StreamFrame


class ListFeed:
    """A finished run's frames (replay), optionally paced at the original timing."""

    def __init__(
        self,
        frames: Sequence[StreamFrame],
        *,
        result: Any = None,
        error: BaseException | None = None,
        trace_id: str | None = None,
        speed: float | None = None,
    ) -> None:
        if speed is not None and speed <= 0:
            raise ValueError(f"speed must be > 0 (or None for as fast as possible), got {speed}")
        self._frames = list(frames)
        self._position = 0
        self._speed = speed
        self._started_at: float | None = None
        self.result = result
        self.error = error
        #: set by replay when the run is missing frames: ``result`` raises it, iteration does not
        self.incomplete: BaseException | None = None
        self.cancelled = False
        self.trace_id = trace_id
        self.run_id: str | None = None

    def _delay_until(self, index: int) -> float:
        """Seconds to wait before frame ``index`` is due (0 when unpaced)."""
        if self._speed is None or not self._frames:
            return 0.0
        now = time.monotonic()
        if self._started_at is None:
            self._started_at = now
        offset = (self._frames[index].timestamp - self._frames[0].timestamp).total_seconds()
        return max(0.0, self._started_at + offset / self._speed - now)

    def _take(self) -> list[StreamFrame] | None:
        if self.cancelled or self._position >= len(self._frames):
            return None
        if self._speed is None:
            batch = self._frames[self._position :]
            self._position = len(self._frames)
            return batch
        frame = self._frames[self._position]
        self._position += 1
        return [frame]

    def next_batch(self) -> list[StreamFrame] | None:
        if self._position < len(self._frames) and not self.cancelled:
            delay = self._delay_until(self._position)
            if delay:
                time.sleep(delay)
        return self._take()

    async def next_batch_async(self) -> list[StreamFrame] | None:
        if self._position < len(self._frames) and not self.cancelled:
            delay = self._delay_until(self._position)
            if delay:
                await asyncio.sleep(delay)
        return self._take()

    def close(self) -> None:
        self.cancelled = self._position < len(self._frames)
        self._position = len(self._frames)
