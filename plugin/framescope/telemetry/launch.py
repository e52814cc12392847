"""Launching a run: ``fn`` in its own thread, its frames streamed to a session.

The run executes in its own thread (async functions on that thread's own event loop) so a
producer waiting on a full queue never blocks the consumer's event loop; ``close()`` on the
session stops it at its next emit point.  Threads are reused from run to run (a pool of idle
workers), since starting a thread and an event loop was most of a short run's fixed cost.  Frames themselves are made by
:mod:`framescope.telemetry.run`.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
import weakref
from collections.abc import Callable, Mapping
from queue import Empty, SimpleQueue
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from framescope.telemetry.config import TelemetrySetup, get_telemetry_setup
from framescope.telemetry.run import Run, add_nested_sink, current_run, enter_run
from framescope.types._feed import FrameQueue, StreamClosed
from framescope.types.streaming import AsyncStreamSession, StreamSession


def stream_call(
    fn: Callable[..., Any],
    /,
    *args: Any,
    queue_size: int | None = None,
    parent_context: otel_context.Context | None = None,
    span_attributes: Mapping[str, Any] | None = None,
    links: list[trace.Link] | None = None,
    keep_history: bool = True,
    **kwargs: Any,
) -> StreamSession:
    """Run ``fn(*args, **kwargs)`` as a new run and return a session streaming its frames.

    The run executes in its own thread; ``close()`` stops it at its next emit point.  With
    ``keep_history=False`` the session keeps no frames (flat memory on endless runs; see
    docs/frames.md).
    """
    queue = _start(fn, args, kwargs, queue_size, parent_context, span_attributes, links)
    session = StreamSession(queue, keep_history=keep_history)
    weakref.finalize(session, queue.close)
    return session


def astream_call(
    fn: Callable[..., Any],
    /,
    *args: Any,
    queue_size: int | None = None,
    parent_context: otel_context.Context | None = None,
    span_attributes: Mapping[str, Any] | None = None,
    links: list[trace.Link] | None = None,
    keep_history: bool = True,
    **kwargs: Any,
) -> AsyncStreamSession:
    """The async twin of :func:`stream_call`.

    The run still executes in its own thread (async functions on that thread's own event
    loop): a sync ``emit`` that waits for a slow consumer must never block the consumer's
    event loop.
    """
    queue = _start(fn, args, kwargs, queue_size, parent_context, span_attributes, links)
    session = AsyncStreamSession(queue, keep_history=keep_history)
    weakref.finalize(session, queue.close)
    return session


def _start(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    queue_size: int | None,
    parent_context: otel_context.Context | None,
    span_attributes: Mapping[str, Any] | None,
    links: list[trace.Link] | None,
) -> FrameQueue:
    runtime = get_telemetry_setup()
    queue = FrameQueue(queue_size or runtime.queue_size)
    outer = current_run()
    if outer is not None:
        return _start_nested(outer, queue, fn, args, kwargs)
    run = Run(
        runtime,
        [queue],
        parent_context=parent_context if parent_context is not None else otel_context.get_current(),
        span_attributes=span_attributes,
        links=links,
    )
    job = _Job(contextvars.copy_context(), runtime, run, queue, fn, args, kwargs)
    queue.add_close_callback(job.reap)
    runtime.processor.register(run)
    _submit(job)
    return queue


# =========================================================================================
# Run workers: threads reused from run to run
# =========================================================================================

#: Idle workers kept for the next run (starting a thread and an event loop per run was most of a
#: streamed flow's fixed cost); more runs at once start more workers, as a thread per run did.
IDLE_WORKERS_MAX = 8
#: An idle worker retires after this long without a run.
IDLE_TIMEOUT_S = 30.0
IDLE_NAME = "framescope-worker-idle"

_idle: list[_RunWorker] = []
_idle_lock = threading.Lock()


class _Job:
    """One launched run, as a worker executes it."""

    __slots__ = ("context", "runtime", "run", "queue", "fn", "args", "kwargs", "done", "worker")

    def __init__(
        self,
        context: contextvars.Context,
        runtime: TelemetrySetup,
        run: Run,
        queue: FrameQueue,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.context = context
        self.runtime = runtime
        self.run = run
        self.queue = queue
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.done = threading.Event()
        self.worker: _RunWorker | None = None

    def reap(self) -> None:
        """Give a closed run a moment to reach its next emit point and end."""
        worker = self.worker
        if worker is None or worker.thread is not threading.current_thread():
            self.done.wait(timeout=0.05)


class _RunWorker:
    """A daemon thread that executes runs one after another, each on its own context.

    While it executes a run the thread is named ``framescope-run-{run_id}``; it takes the idle
    name back *before* the run's session learns the run ended, so a finished session never
    sees a run thread.  A worker whose run was cancelled (its session closed) retires instead
    of going back to the pool, so the thread of a closed run ends with it, as before.
    Async runs use the worker's event loop (a fresh loop per run cost ~0.1 ms); what a run
    leaves on it (tasks, async generators) is cancelled and closed after the run.
    """

    def __init__(self, first: _Job) -> None:
        self.jobs: SimpleQueue[_Job] = SimpleQueue()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._serve, name=f"framescope-run-{first.run.run_id}", daemon=True)
        self.jobs.put(first)
        first.worker = self
        self.thread.start()

    def _serve(self) -> None:
        try:
            while True:
                try:
                    job = self.jobs.get(timeout=IDLE_TIMEOUT_S)
                except Empty:
                    with _idle_lock:
                        if self in _idle:
                            _idle.remove(self)
                            return
                    continue  # taken from the pool just now: its run is on the way
                reusable = self._execute(job)
                del job  # an idle worker holds nothing of the run it executed
                if not reusable or not self._park():
                    return
        finally:
            if self.loop is not None:
                self.loop.close()

    def _execute(self, job: _Job) -> bool:
        """Run ``job``; True when the worker may serve another run."""
        thread = self.thread
        thread.name = f"framescope-run-{job.run.run_id}"
        try:
            job.context.run(_produce, self, job)
        finally:
            job.done.set()
        return thread.name == IDLE_NAME

    def _park(self) -> bool:
        with _idle_lock:
            if len(_idle) < IDLE_WORKERS_MAX:
                _idle.append(self)
                return True
        return False

    def run_coroutine(self, awaitable: Any) -> Any:
        loop = self.loop
        if loop is None or loop.is_closed():
            loop = self.loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(_await(awaitable))
        finally:
            self._tidy(loop)

    def _tidy(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            settle_loop(loop)
        except BaseException:  # a loop we cannot clean is not reused
            self.loop = None
            loop.close()


def settle_loop(loop: asyncio.AbstractEventLoop) -> None:
    """What ``asyncio.run`` does after its coroutine, short of closing the loop: cancel the
    tasks left over and close async generators, so the loop can be reused or closed cleanly."""
    leftover = asyncio.all_tasks(loop)
    for task in leftover:
        task.cancel()
    if leftover:
        loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())


def _submit(job: _Job) -> None:
    with _idle_lock:
        worker = _idle.pop() if _idle else None
    if worker is None:
        _RunWorker(job)
    else:
        job.worker = worker
        worker.jobs.put(job)


def _produce(worker: _RunWorker, job: _Job) -> None:
    run, queue = job.run, job.queue
    enter_run(run)
    with RunOutcome() as outcome:
        result = job.fn(*job.args, **job.kwargs)
        outcome.result = worker.run_coroutine(result) if inspect.isawaitable(result) else result
    run.finish()
    job.runtime.processor.unregister(run)
    if not queue.closed:  # the session is still reading: this thread serves the next run
        worker.thread.name = IDLE_NAME
    queue.finish(outcome.result, outcome.error)


class RunOutcome:
    """How a launched function ended, for its session: its result, or the failure the session
    raises to its reader.

    Used as ``with RunOutcome() as outcome:`` around the function; it keeps every exception
    (``BaseException``: a run's ``KeyboardInterrupt`` or cancellation is its session's to
    raise, not its worker thread's) and swallows it, so the run is always finished and its
    session always told.  ``StreamClosed`` is no failure: the reader stopped the run.
    """

    __slots__ = ("result", "error")

    def __init__(self) -> None:
        self.result: Any = None
        self.error: BaseException | None = None

    def __enter__(self) -> RunOutcome:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        if exc is not None and not isinstance(exc, StreamClosed):
            self.error = exc
        return True


def _start_nested(
    outer: Run, queue: FrameQueue, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> FrameQueue:
    """A session opened inside a run is a view of that run, not a run of its own.

    One run, one contiguous ``seq``: the call's frames are the enclosing run's frames (the
    enclosing sessions see them too), and this session sees the frames emitted in its call
    (CrewAI's context-scoped stream sinks behave the same way; docs/crewai.md).
    """
    queue.run_id = outer.run_id
    queue.trace_id = outer.trace_id
    context = contextvars.copy_context()
    context.run(add_nested_sink, queue)
    thread = threading.Thread(
        target=context.run,
        args=(_produce_nested, queue, fn, args, kwargs),
        name=f"framescope-run-{outer.run_id}-nested",
        daemon=True,
    )
    queue.add_close_callback(lambda: _reap(thread))
    thread.start()
    return queue


def _produce_nested(queue: FrameQueue, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    with RunOutcome() as outcome:
        result = fn(*args, **kwargs)
        outcome.result = asyncio.run(_await(result)) if inspect.isawaitable(result) else result
    queue.finish(outcome.result, outcome.error)


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _reap(thread: threading.Thread) -> None:
    """Give a closed nested call a moment to reach its next emit point and end."""
    if thread is not threading.current_thread() and thread.is_alive():
        thread.join(timeout=0.05)
