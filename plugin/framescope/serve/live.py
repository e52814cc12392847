"""Following a live run in a browser: ``sse_response(session)``.

An application that starts a run in a request handler returns ``sse_response(session)``;
the browser receives the frames as they stream, in the same SSE (or AG-UI) encoding the
server uses for recorded runs.

**A client that disconnects closes the session.**  A live run writes into a bounded queue
and waits when its consumer stops reading, so a detached run nobody reads would wait
forever, holding its thread; closing stops the run at its next emit point (C10) and its
thread ends.  An application that wants a run to outlive its viewers runs it with its own
consumer and serves a copy (or the recorded trace) instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

from starlette.responses import StreamingResponse

from framescope.serve.sse import encode_end, encode_frame
from framescope.types.streaming import AsyncStreamSession, StreamFrame, StreamSession

__all__ = ["sse_response"]

_END = object()


def sse_response(
    session: StreamSession | AsyncStreamSession, *, protocol: Literal["frames", "ag-ui"] = "frames"
) -> StreamingResponse:
    """A Starlette response streaming ``session``'s frames as SSE (``protocol="ag-ui"``: as
    AG-UI events).  The session is closed when the stream ends or the client goes away."""
    if protocol not in ("frames", "ag-ui"):
        raise ValueError(f"protocol must be 'frames' or 'ag-ui', got {protocol!r}")
    body = _agui(session) if protocol == "ag-ui" else _frames(session)
    return StreamingResponse(
        body, media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


async def _batches(session: StreamSession | AsyncStreamSession) -> AsyncIterator[list[StreamFrame]]:
    """The session's frames as they arrive, each sent at once (a live reader wants every token
    when it comes); closes the session however the stream ends."""
    try:
        if isinstance(session, AsyncStreamSession):
            async for frame in session:
                yield [frame]
        else:
            frames = iter(session)
            while True:
                # a sync session blocks, so it is read in a worker thread, one batch at a time
                batch = await asyncio.to_thread(_next_batch, frames)
                if not batch:
                    return
                yield batch
    finally:
        # synchronous on purpose: a cancelled task (the client left) cannot await any more
        session.close()


def _next_batch(frames: Iterator[StreamFrame]) -> list[StreamFrame]:
    """One frame (blocking until it comes); the failure of a failed run is raised by the caller's next call."""
    try:
        return [next(frames)]
    except StopIteration:
        return []


def _outcome(session: StreamSession | AsyncStreamSession, error: BaseException | None) -> dict[str, Any]:
    if error is not None:
        return {
            "outcome": "failed",
            "error_type": getattr(error, "error_type", type(error).__name__),
            "error": str(error),
        }
    if session.is_cancelled:
        return {"outcome": "cancelled"}
    try:
        return {"outcome": "ok", "result": session.result}
    except Exception as exc:  # the run ended without a readable result
        return {"outcome": "failed", "error_type": type(exc).__name__, "error": str(exc)}


async def _frames(session: StreamSession | AsyncStreamSession) -> AsyncIterator[bytes]:
    error: BaseException | None = None
    try:
        async for batch in _batches(session):
            yield b"".join(encode_frame(frame) for frame in batch)
    except Exception as exc:  # the run failed: its frames are out, the failure is the end event
        error = exc
    yield encode_end(_outcome(session, error))


async def _agui(session: StreamSession | AsyncStreamSession) -> AsyncIterator[bytes]:
    from framescope.serve.agui import AguiMapper, encode_event

    mapper: AguiMapper | None = None
    error: BaseException | None = None
    try:
        async for batch in _batches(session):
            if mapper is None:
                trace_id = session.trace_id
                mapper = AguiMapper(
                    run_id=session.run_id or batch[0].id.rsplit("-", 1)[0],
                    thread_id=trace_id or session.run_id or "framescope",
                    trace_id=trace_id,
                    traceparent=None,
                )
                yield b"".join(encode_event(event) for event in mapper.start())
            yield b"".join(encode_event(event) for frame in batch for event in mapper.frame(frame))
    except Exception as exc:
        error = exc
    if mapper is None:
        return
    outcome = _outcome(session, error)
    failure = (str(outcome["error_type"]), str(outcome["error"])) if outcome["outcome"] == "failed" else None
    yield b"".join(
        encode_event(event)
        for event in mapper.finish(
            result=outcome.get("result"), error=failure, cancelled=outcome["outcome"] == "cancelled"
        )
    )
