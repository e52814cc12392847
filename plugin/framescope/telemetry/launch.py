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
    **kwargs: Any,
) -> StreamSession:
    """Run ``fn(*args, **kwargs)`` as a new run and return a session streaming its frames.

    The run executes in its own thread; ``close()`` stops it at its next emit point.
    """
    queue = _start(fn, args, kwargs, queue_size, parent_context, span_attributes, links)
    session = StreamSession(queue)
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
    **kwargs: Any,
) -> AsyncStreamSession:
    """The async twin of :func:`stream_call`.

    The run still executes in its own thread (async functions on that thread's own event
    loop): a sync ``emit`` that waits for a slow consumer must never block the consumer's
    event loop.
    """
    queue = _start(fn, args, kwargs, queue_size, parent_context, span_attributes, links)
    session = AsyncStreamSession(queue)
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
    result: Any = None
    error: BaseException | None = None
    try:
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
    except StreamClosed:
        pass
    except BaseException as exc:  # the call's own failure is the nested session's to raise
        error = exc
    finally:
        queue.finish(result, error)


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _reap(thread: threading.Thread) -> None:
    """Give a closed run a moment to reach its next emit point and end."""
    if thread is not threading.current_thread() and thread.is_alive():
        thread.join(timeout=0.05)
