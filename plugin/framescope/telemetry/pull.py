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
import threading
import weakref
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

from opentelemetry import context as otel_context

from framescope.errors import StreamClosed
from framescope.telemetry.config import TelemetrySetup, get_telemetry_setup
from framescope.telemetry.launch import RunOutcome, astream_call, settle_loop, stream_call
from framescope.telemetry.run import Run, current_run, enter_run
from framescope.types._feed import FrameQueue, call_close_callbacks
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
        call_close_callbacks(callbacks)
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
            return self._take()
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
            task = self._step = loop.create_task(self._steps.__anext__(), context=self.context)
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
    if current_run() is not None:  # opened inside a run: a view of that run (launch._start_nested)
        return stream_call(_drain, steps, keep_history=keep_history, **session_options)
    feed = PullFeed(steps, get_telemetry_setup(), session_options)
    session = StreamSession(feed, keep_history=keep_history)
    weakref.finalize(session, feed.close)
    return session


def apull_call(
    steps: Callable[[], AsyncSteps], outcome: Callable[[], Any], *, keep_history: bool = True, **session_options: Any
) -> AsyncStreamSession:
    """The async twin of :func:`pull_call`: ``steps()`` is an async generator driven on the
    consumer's event loop; ``outcome()`` gives the run's result once it is exhausted."""
    if current_run() is not None:  # opened inside a run: a view of that run (launch._start_nested)
        return astream_call(_adrain, steps, outcome, keep_history=keep_history, **session_options)
    feed = AsyncPullFeed(steps, outcome, get_telemetry_setup(), session_options)
    session = _AsyncPullSession(feed, keep_history=keep_history)
    weakref.finalize(session, feed.close)
    return session


def _drain(steps: Callable[[], Steps]) -> Any:
    """Run pulled steps to their end (a pulled call opened inside a run runs launched instead)."""
    generator = steps()
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            return stop.value


async def _adrain(steps: Callable[[], AsyncSteps], outcome: Callable[[], Any]) -> Any:
    async for _ in steps():
        pass
    return outcome()


# =========================================================================================
# Async runs read from sync code: the reader's thread drives the run's event loop
# =========================================================================================


class LoopFeed(FrameQueue):
    """A bounded queue whose reader, when it has nothing to read, runs the run's event loop.

    For an async run (a flow) read by sync code: ``next_batch`` runs the loop until a frame
    arrives or the run ends, so the run needs no thread of its own and no frame crosses
    threads, except those of code the run itself sends to worker threads (a flow's sync
    methods), which wait on the bound as usual.  Code on the loop never waits on the bound
    (the reader is that same thread): what one turn of the loop emits is taken at once.
    """

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self.loop = asyncio.new_event_loop()
        self.owner = threading.get_ident()
        self.task: asyncio.Task[None] | None = None

    def put(self, frame: StreamFrame) -> None:
        if threading.get_ident() != self.owner:
            super().put(frame)
            return
        with self._lock:
            if self.closed:
                raise StreamClosed()
            self._items.append(frame)
            self._wake_consumer()

    def next_batch(self) -> list[StreamFrame] | None:
        loop = self.loop
        while True:
            with self._lock:
                if self._items:
                    return self._take()
                if self.done or self.closed:
                    break
                waiter: asyncio.Future[None] = loop.create_future()
                self._async_waiter = (loop, waiter)
            loop.run_until_complete(waiter)
        if self.done and not loop.is_closed():  # the run ended: finish its task and close the loop
            task = self.task
            if task is not None and not task.done():
                loop.run_until_complete(task)
            _shut(loop)
        return None

    def _wake_async_reader(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
        if threading.get_ident() == self.owner:  # on the loop itself: no self-pipe round trip
            if not future.done():
                future.set_result(None)
        else:
            super()._wake_async_reader(loop, future)

    def close(self) -> None:
        """Stop the run: its next emit raises ``StreamClosed``; give it a moment to unwind here,
        then let a thread finish it (a sync method may be busy for a while)."""
        if self.closed:
            return
        super().close()
        if threading.get_ident() != self.owner:  # garbage collection in another thread
            self._finish_elsewhere()
            return
        task, loop = self.task, self.loop
        if task is not None and not task.done() and not loop.is_running():
            loop.run_until_complete(asyncio.wait({task}, timeout=0.05))
        self._finish_elsewhere()

    def _finish_elsewhere(self) -> None:
        task, loop = self.task, self.loop
        if task is None or task.done() or loop.is_running():
            if not loop.is_running():
                _shut(loop)
            return
        name = f"framescope-run-{self.run_id}"
        threading.Thread(target=_finish_loop, args=(loop, task), name=name, daemon=True).start()


def _finish_loop(loop: asyncio.AbstractEventLoop, task: asyncio.Task[None]) -> None:
    asyncio.set_event_loop(None)
    try:
        loop.run_until_complete(task)
    except BaseException:  # the run's outcome is recorded by the task itself
        pass
    finally:
        _shut(loop)


def _shut(loop: asyncio.AbstractEventLoop) -> None:
    """What ``asyncio.run`` does after its coroutine: settle the loop, then close it."""
    if loop.is_closed():
        return
    try:
        settle_loop(loop)
    finally:
        loop.close()


def loop_pull_call(
    fn: Callable[..., Any], /, *args: Any, keep_history: bool = True, **run_options: Any
) -> StreamSession:
    """A sync session over the async function ``fn(*args)``, its loop driven by the reader.

    Falls back to :func:`~framescope.telemetry.launch.stream_call` (a run thread) when the
    reader's thread already runs an event loop, which a second loop cannot share.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return stream_call(fn, *args, keep_history=keep_history, **run_options)
    if current_run() is not None:  # opened inside a run: a view of that run (launch._start_nested)
        return stream_call(fn, *args, keep_history=keep_history, **run_options)
    runtime = get_telemetry_setup()
    feed = LoopFeed(runtime.queue_size)
    run = Run(runtime, [feed], parent_context=otel_context.get_current(), **run_options)
    context = contextvars.copy_context()
    context.run(enter_run, run)
    runtime.processor.register(run)
    feed.task = feed.loop.create_task(_drive(runtime, run, feed, fn, args), context=context)
    session = StreamSession(feed, keep_history=keep_history)
    weakref.finalize(session, feed.close)
    return session


async def _drive(
    runtime: TelemetrySetup, run: Run, feed: LoopFeed, fn: Callable[..., Any], args: tuple[Any, ...]
) -> None:
    with RunOutcome() as outcome:
        outcome.result = await fn(*args)
    run.finish()
    runtime.processor.unregister(run)
    feed.finish(outcome.result, outcome.error)
