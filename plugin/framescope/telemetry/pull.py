"""Pull mode: a run driven step by step from its consumer's own thread (or event loop).

A launched run (:mod:`framescope.telemetry.launch`) executes in its own thread and hands every
frame to the consumer through a bounded queue, which costs a thread wake-up per frame when
frames arrive slower than they are read (an LLM answer, token by token).  When the producer
can be written as a generator that yields after each step (one provider delta), the session's
iterator can drive it instead: reading the next batch resumes the generator until it has
emitted a frame.  No thread, no queue hand-off, the same frames and spans.

* **Isolation.** Every step runs inside the run's own :class:`contextvars.Context` (for async,
  in a task created with that context), so the run, its open lifecycles and its OpenTelemetry
  context never leak into the consumer's code between steps, exactly as with a thread.
* **Back-pressure** is free: nothing is produced until the consumer asks for it.
* **Cancellation.** ``close()`` runs the run's ``on_cancel`` hooks, then throws
  :class:`StreamClosed` into the generator at the step it is paused on, so lifecycles end their
  spans as cancelled and ``finally`` blocks release the HTTP response; the run's next emit
  (from a ``finally`` block) raises ``StreamClosed`` too.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

from opentelemetry import context as otel_context

from framescope.errors import StreamClosed
from framescope.telemetry.config import TelemetrySetup, get_telemetry_setup
from framescope.telemetry.run import Run, enter_run
from framescope.types.streaming import AsyncStreamSession, StreamFrame, StreamSession

Steps = Generator[None, None, Any]
AsyncSteps = AsyncGenerator[None, None]


class _PullFeed:
    """Both ends of a pulled run: the run's sink (``put``) and the session's feed (``next_batch``)."""

    def __init__(self, runtime: TelemetrySetup, session_options: dict[str, Any]) -> None:
        self.runtime = runtime
        self.error: BaseException | None = None
        self.result: Any = None
        self.cancelled = False
        self.closed = False
        self.done = False
        self.trace_id: str | None = None
        self.run_id: str | None = None
        self._frames: list[StreamFrame] = []
        self._close_callbacks: list[Callable[[], None]] = []
        self.context = contextvars.copy_context()
        self.run = Run(runtime, [self], parent_context=otel_context.get_current(), **session_options)
        self.context.run(enter_run, self.run)
        runtime.processor.register(self.run)

    # -- the run's side (the processor delivers frames here) --------------------------------
    def put(self, frame: StreamFrame) -> None:
        if self.closed:
            raise StreamClosed()
        self._frames.append(frame)

    def add_close_callback(self, callback: Callable[[], None]) -> Callable[[], None]:
        """As :meth:`FrameQueue.add_close_callback`: ``callback`` runs when the consumer closes."""
        if self.closed:
            callback()
            return lambda: None
        self._close_callbacks.append(callback)

        def remove() -> None:
            if callback in self._close_callbacks:
                self._close_callbacks.remove(callback)

        return remove

    # -- shared bookkeeping -----------------------------------------------------------------
    def _take(self) -> list[StreamFrame] | None:
        frames = self._frames
        if frames:
            self._frames = []
            return frames
        return None

    def _end(self, result: Any = None, error: BaseException | None = None) -> None:
        if self.done:
            return
        self.done = True
        self.result = result
        self.error = error
        try:
            self.context.run(self.run.finish)
        finally:
            self.runtime.processor.unregister(self.run)

    def _mark_closed(self) -> bool:
        """Mark the feed closed and run the cancel hooks; True when the run was still going."""
        if self.closed:
            return False
        self.closed = True
        self.cancelled = not self.done
        self._frames = []
        callbacks, self._close_callbacks = self._close_callbacks, []
        for callback in reversed(callbacks):
            try:
                callback()
            except Exception:  # a broken hook must not keep the session open
                logging.getLogger("framescope").warning("a close callback failed", exc_info=True)
        return self.cancelled


class PullFeed(_PullFeed):
    """A synchronous run driven by ``next_batch`` in the consumer's thread."""

    def __init__(self, steps: Callable[[], Steps], runtime: TelemetrySetup, session_options: dict[str, Any]) -> None:
        super().__init__(runtime, session_options)
        self._steps: Steps = self.context.run(steps)  # built in the run's context, so it sees its run

    def next_batch(self) -> list[StreamFrame] | None:
        frames = self._frames
        if frames:
            self._frames = []
            return frames
        run_step = self.context.run
        send = self._steps.send
        while not self.done and not self.closed:
            try:
                run_step(send, None)
                frames = self._frames
                if frames:  # the usual step: one delta, one frame
                    self._frames = []
                    return frames
                continue
            except StopIteration as stop:
                self._end(stop.value)
            except StreamClosed:
                self._end()
            except BaseException as exc:  # the run's own failure is the session's to raise
                self._end(error=exc)
                if not isinstance(exc, Exception):
                    raise
            frames = self._take()
            if frames is not None:
                return frames
        return None

    async def next_batch_async(self) -> list[StreamFrame] | None:
        return self.next_batch()

    def close(self) -> None:
        if not self._mark_closed():
            return
        try:
            self.context.run(self._steps.throw, StreamClosed())
        except (StreamClosed, StopIteration):
            pass
        except Exception:  # a failure while unwinding a cancelled run is not the consumer's
            logging.getLogger("framescope").warning("a cancelled run failed while stopping", exc_info=True)
        finally:
            self._steps.close()
            self._end()


class AsyncPullFeed(_PullFeed):
    """An async run driven by ``next_batch_async`` on the consumer's event loop.

    Each step runs in a task created with the run's context (an async generator runs in the
    context of whoever awaits it), so the run's context variables stay its own.
    """

    def __init__(
        self,
        steps: Callable[[], AsyncSteps],
        outcome: Callable[[], Any],
        runtime: TelemetrySetup,
        session_options: dict[str, Any],
    ) -> None:
        super().__init__(runtime, session_options)
        self._steps: AsyncSteps = self.context.run(steps)
        self._outcome = outcome
        self._step: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None

    async def next_batch_async(self) -> list[StreamFrame] | None:
        frames = self._take()
        if frames is not None:
            return frames
        loop = asyncio.get_running_loop()
        while not self.done and not self.closed:
            task = self._step = loop.create_task(self._steps.__anext__(), context=self.context)  # type: ignore[arg-type]
            try:
                await task
            except StopAsyncIteration:
                self._end(self._outcome())
            except StreamClosed:
                self._end()
            except asyncio.CancelledError:
                if not task.done():  # our consumer was cancelled while the step ran: stop the run
                    task.cancel()
                    self._mark_closed()
                    self._end()
                    raise
                self._end()
            except BaseException as exc:
                self._end(error=exc)
                if not isinstance(exc, Exception):
                    raise
            finally:
                self._step = None
            frames = self._take()
            if frames is not None:
                return frames
        return None

    def next_batch(self) -> list[StreamFrame] | None:
        raise RuntimeError("an async LLM stream is read with `async for`, not `for`")

    async def aclose(self) -> None:
        if not self._mark_closed():
            return
        try:
            step = self._step
            if step is not None:  # closed from another task while a step runs: interrupt it
                step.cancel()
            else:
                await asyncio.get_running_loop().create_task(self._athrow(), context=self.context)
        finally:
            self._end()

    async def _athrow(self) -> None:
        try:
            await self._steps.athrow(StreamClosed())
        except (StreamClosed, StopAsyncIteration):
            pass
        except Exception:
            logging.getLogger("framescope").warning("a cancelled run failed while stopping", exc_info=True)
        finally:
            await self._steps.aclose()

    def close(self) -> None:
        """Synchronous close (a ``finally`` outside a coroutine, or garbage collection)."""
        if not self._mark_closed():
            return
        try:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is None:
                asyncio.run(self._athrow_in_context())
            else:  # inside a running loop: finish unwinding on it (the task is kept until done)
                self._closing = loop.create_task(self._athrow(), context=self.context)
        except Exception:
            logging.getLogger("framescope").debug("closing an async run outside its loop failed", exc_info=True)
        finally:
            self._end()

    async def _athrow_in_context(self) -> None:
        await asyncio.get_running_loop().create_task(self._athrow(), context=self.context)


class _AsyncPullSession(AsyncStreamSession):
    """An async session whose ``aclose`` unwinds the pulled run on the consumer's loop."""

    def __init__(self, feed: AsyncPullFeed, *, keep_history: bool = True) -> None:
        super().__init__(feed, keep_history=keep_history)
        self._feed = feed

    async def aclose(self) -> None:
        if self._state.stop():
            await self._feed.aclose()


def pull_call(steps: Callable[[], Steps], *, keep_history: bool = True, **session_options: Any) -> StreamSession:
    """A session over a run whose producer is driven by the session's own iteration.

    ``steps()`` builds the generator (in the run's context, so it sees its run); it yields
    after each step and returns the run's result.  ``session_options`` are :class:`Run`'s
    (``span_attributes``, ``links``).
    """
    feed = PullFeed(steps, get_telemetry_setup(), session_options)
    session = StreamSession(feed, keep_history=keep_history)
    weakref.finalize(session, feed.close)
    return session


def apull_call(
    steps: Callable[[], AsyncSteps], outcome: Callable[[], Any], *, keep_history: bool = True, **session_options: Any
) -> AsyncStreamSession:
    """The async twin of :func:`pull_call`: ``steps()`` is an async generator driven on the
    consumer's event loop; ``outcome()`` gives the run's result once it is exhausted."""
    feed = AsyncPullFeed(steps, outcome, get_telemetry_setup(), session_options)
    session = _AsyncPullSession(feed, keep_history=keep_history)
    weakref.finalize(session, feed.close)
    return session
