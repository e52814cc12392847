"""Where a live session's frames come from: the run's bounded queue (replay's is
:class:`framescope.replay.feed.ListFeed`).

The queue is the one place frames cross from the producer (a run, always in its own
thread) to the consumer.  It is bounded: a slow consumer makes the producer wait at its next
emit, so nothing is dropped and memory stays flat.  The consumer takes every frame that is
waiting in one batch, so a fast producer costs one lock round-trip per batch, not per frame.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from framescope.errors import StreamClosed

if TYPE_CHECKING:
    from framescope.types.streaming import StreamFrame


class FrameFeed(Protocol):
    """The consumer side of a frame source."""

    error: BaseException | None
    result: Any
    cancelled: bool
    trace_id: str | None
    run_id: str | None

    def next_batch(self) -> list[StreamFrame] | None:
        """Block until frames are available; ``None`` once the source is finished."""

    async def next_batch_async(self) -> list[StreamFrame] | None:
        """The same without blocking the event loop."""

    def close(self) -> None:
        """Stop the source (promptly) and release it."""


class FrameSink(Protocol):
    """The producer side of a session's source, as a run holds it (``Run.sinks``)."""

    trace_id: str | None
    run_id: str | None

    def put(self, frame: StreamFrame) -> None:
        """Hand one frame on; raises ``StreamClosed`` once the consumer closed the session."""

    def add_close_callback(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` when the consumer closes; returns a function that unregisters it."""


class FrameQueue:
    """A bounded single-consumer queue between a run's thread and its session."""

    __slots__ = (
        "_items",
        "_maxsize",
        "_lock",
        "_not_empty",
        "_not_full",
        "_consumer_waiting",
        "_producer_waiting",
        "_async_waiter",
        "closed",
        "done",
        "error",
        "result",
        "cancelled",
        "trace_id",
        "run_id",
        "_close_callbacks",
    )

    def __init__(self, maxsize: int = 1024) -> None:
        if maxsize < 1:
            raise ValueError(f"queue size must be at least 1, got {maxsize}")
        self._items: deque[StreamFrame] = deque()
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._consumer_waiting = False
        self._producer_waiting = False
        self._async_waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None
        self.closed = False
        self.done = False
        self.error: BaseException | None = None
        self.result: Any = None
        self.cancelled = False
        self.trace_id: str | None = None
        self.run_id: str | None = None
        self._close_callbacks: list[Callable[[], None]] = []

    # -- producer side -----------------------------------------------------------------
    def put(self, frame: StreamFrame) -> None:
        with self._lock:
            if self.closed:
                raise StreamClosed()
            items = self._items
            while len(items) >= self._maxsize:
                self._producer_waiting = True
                self._not_full.wait()
                self._producer_waiting = False
                if self.closed:
                    raise StreamClosed()
            items.append(frame)
            self._wake_consumer()

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        """The run ended: record its outcome and wake the consumer."""
        with self._lock:
            self.result = result
            self.error = error
            self.done = True
            self._wake_consumer()

    def _wake_consumer(self) -> None:
        if self._consumer_waiting:
            self._not_empty.notify()
        waiter = self._async_waiter
        if waiter is not None:
            self._async_waiter = None
            self._wake_async_reader(*waiter)

    def _wake_async_reader(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
        """Resolve the future an async reader awaits; the producer runs in another thread, so
        through the reader's loop."""
        loop.call_soon_threadsafe(_resolve, future)

    # -- consumer side -----------------------------------------------------------------
    def _take(self) -> list[StreamFrame]:
        batch = list(self._items)
        self._items.clear()
        if self._producer_waiting:
            self._not_full.notify()
        return batch

    def next_batch(self) -> list[StreamFrame] | None:
        with self._lock:
            while not self._items:
                if self.done or self.closed:
                    return None
                self._consumer_waiting = True
                self._not_empty.wait()
                self._consumer_waiting = False
            return self._take()

    async def next_batch_async(self) -> list[StreamFrame] | None:
        while True:
            with self._lock:
                if self._items:
                    return self._take()
                if self.done or self.closed:
                    return None
                loop = asyncio.get_running_loop()
                future: asyncio.Future[None] = loop.create_future()
                self._async_waiter = (loop, future)
            await future

    def add_close_callback(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (from the consumer's thread) when the consumer closes the queue.

        Callbacks run newest first, so a hook registered inside the run (interrupting a
        blocked read) runs before the session's own cleanup (waiting for the run's thread).
        Runs at once if the queue is already closed.  Returns a function that unregisters it.
        """
        with self._lock:
            closed = self.closed
            if not closed:
                self._close_callbacks.append(callback)
        if closed:
            callback()

        def remove() -> None:
            with self._lock:
                if callback in self._close_callbacks:
                    self._close_callbacks.remove(callback)

        return remove

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self.cancelled = not self.done
            self._items.clear()
            self._not_full.notify_all()
            self._not_empty.notify_all()
            callbacks, self._close_callbacks = self._close_callbacks, []
        call_close_callbacks(callbacks)


def call_close_callbacks(callbacks: list[Callable[[], None]]) -> None:
    """Run a closed feed's cancel hooks, the last registered first; a hook that fails is logged
    and the others still run (a broken hook must not keep the session open)."""
    for callback in reversed(callbacks):
        try:
            callback()
        except Exception:
            logging.getLogger("framescope").warning("a close callback failed", exc_info=True)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
