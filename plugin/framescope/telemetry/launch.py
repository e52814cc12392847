"""Launching a run: ``fn`` in its own thread, its frames streamed to a session.

The run executes in its own thread (async functions on that thread's own event loop) so a
producer waiting on a full queue never blocks the consumer's event loop; ``close()`` on the
session stops it at its next emit point.  Frames themselves are made by
:mod:`framescope.telemetry.run`.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from framescope.telemetry.config import TelemetrySetup, get_telemetry_setup
from framescope.telemetry.run import Run, enter_run
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
    run = Run(
        runtime,
        [queue],
        parent_context=parent_context if parent_context is not None else otel_context.get_current(),
        span_attributes=span_attributes,
        links=links,
    )
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run,
        args=(_produce, runtime, run, queue, fn, args, kwargs),
        name=f"framescope-run-{run.run_id}",
        daemon=True,
    )
    queue.add_close_callback(lambda: _reap(thread))
    runtime.processor.register(run)
    thread.start()
    return queue


def _produce(
    runtime: TelemetrySetup,
    run: Run,
    queue: FrameQueue,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    enter_run(run)
    result: Any = None
    error: BaseException | None = None
    try:
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
    except StreamClosed:
        pass
    except BaseException as exc:  # the run's own failure is the session's to raise
        error = exc
    finally:
        run.finish()
        runtime.processor.unregister(run)
        queue.finish(result, error)


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _reap(thread: threading.Thread) -> None:
    """Give a closed run a moment to reach its next emit point and end."""
    if thread is not threading.current_thread() and thread.is_alive():
        thread.join(timeout=0.05)
