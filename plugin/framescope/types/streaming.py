"""The streaming contract's public types: frames, channels, sessions (docs/contract.md C1, C4, C6, C7, C10).

A session is a *view*: it reads frames from a feed (a live run's bounded queue, or a replayed
trace) and keeps every frame it has read, so projections started after the end re-read the
kept frames instead of finding an empty stream.  Sessions never produce frames themselves;
the emit path (``framescope.telemetry.run``) does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, field_validator

from framescope.errors import HistoryNotKept
from framescope.types._feed import FrameFeed
from framescope.types.routing import CHANNELS, TOKEN_TYPES

StreamChannel = Literal["llm", "flow", "tools", "messages", "lifecycle", "custom"]

assert get_args(StreamChannel) == CHANNELS  # one list of channels, two spellings


class StreamFrame(BaseModel):
    """One event of a run, in the envelope every consumer can route on (C1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    seq: int | None
    type: str
    channel: StreamChannel
    namespace: list[str]
    timestamp: datetime
    parent_id: str | None = None
    previous_id: str | None = None
    data: dict[str, Any]

    @field_validator("timestamp")
    @classmethod
    def _must_be_aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                "StreamFrame.timestamp must be timezone-aware; use datetime.now(timezone.utc) instead of datetime.now()"
            )
        return value

    @property
    def event(self) -> dict[str, Any]:
        """Alias of ``data``, the event payload (the seed's ``chunk.event["tool_name"]``)."""
        return self.data

    @property
    def content(self) -> str:
        """Printable text of token-like frames; ``""`` for every other frame."""
        if self.type in TOKEN_TYPES:
            chunk = self.data.get("chunk")
            return chunk if isinstance(chunk, str) else ""
        return ""


_FIELDS_SET = set(StreamFrame.model_fields)
_setattr = object.__setattr__
_new = object.__new__


def make_frame(
    id: str,
    seq: int | None,
    type: str,
    channel: str,
    namespace: list[str],
    timestamp: datetime,
    parent_id: str | None,
    previous_id: str | None,
    data: dict[str, Any],
) -> StreamFrame:
    """Build a frame from fields the caller has already made valid, skipping validation.

    The emit path and the codec produce frames by the hundred thousand per second from
    values they construct themselves; validating each again would be most of their cost
    (docs/architecture.md: a frame is made once, never re-validated).  User code should call ``StreamFrame(...)``.
    The fields-set is shared between frames: frames are frozen, so nothing mutates it.
    """
    frame = _new(StreamFrame)
    _setattr(
        frame,
        "__dict__",
        {
            "id": id,
            "seq": seq,
            "type": type,
            "channel": channel,
            "namespace": namespace,
            "timestamp": timestamp,
            "parent_id": parent_id,
            "previous_id": previous_id,
            "data": data,
        },
    )
    _setattr(frame, "__pydantic_fields_set__", _FIELDS_SET)
    _setattr(frame, "__pydantic_extra__", None)
    _setattr(frame, "__pydantic_private__", None)
    return frame


def check_channels(channels: Iterable[str]) -> frozenset[str]:
    """Validate channel names, so a typo fails loudly instead of yielding nothing."""
    if isinstance(channels, str):
        raise ValueError(
            f"interleave() takes a list of channel names, not the string {channels!r}; "
            f"for example interleave([{channels!r}])"
        )
    chosen = frozenset(channels)
    unknown = sorted(chosen.difference(CHANNELS))
    if unknown:
        raise ValueError(
            f"unknown stream channel(s) {', '.join(map(repr, unknown))}; valid channels are: {', '.join(CHANNELS)}"
        )
    return chosen


class _SessionState:
    """What sync and async sessions share: the feed, the kept frames and the run's outcome.

    With ``keep_history=False`` only the batch being read is held: ``frames`` is that batch,
    ``base`` the number of frames read before it, ``count`` the frames read so far.  A
    projection started later begins after the last frame any projection handed out, and one
    that fell behind goes on from the oldest frame still held, so memory stays flat.
    """

    __slots__ = ("feed", "frames", "exhausted", "keep_history", "base", "count", "handed_out")

    def __init__(self, feed: FrameFeed, keep_history: bool = True) -> None:
        self.feed = feed
        self.frames: list[StreamFrame] = []
        self.exhausted = False
        self.keep_history = keep_history
        self.base = 0
        self.count = 0
        self.handed_out = 0

    def absorb(self, batch: list[StreamFrame] | None) -> None:
        if batch is None:
            self.exhausted = True
        elif self.keep_history:
            self.frames.extend(batch)
            self.count += len(batch)
        else:
            self.base += len(self.frames)
            self.frames = batch
            self.count += len(batch)

    def kept(self) -> list[StreamFrame]:
        if not self.keep_history:
            raise HistoryNotKept(
                "this session was opened with keep_history=False, so it keeps no frames; iterate "
                "the session (or one projection) to read them as they come, or open it with "
                "keep_history=True (the default) to keep them"
            )
        return list(self.frames)

    def result(self) -> Any:
        feed = self.feed
        if feed.cancelled:
            raise RuntimeError(
                "the stream was closed before the run finished, so there is no result; "
                "consume the whole stream before reading .result"
            )
        if not self.exhausted:
            raise RuntimeError(
                "the stream has not been consumed to its end yet; iterate the session "
                "(or one of its projections) to the end before reading .result, so a "
                "partial run is never taken for a finished one"
            )
        if feed.error is not None:
            raise feed.error
        incomplete = getattr(feed, "incomplete", None)  # a replayed run missing frames
        if incomplete is not None:
            raise incomplete
        return feed.result

    def finish_iteration(self) -> None:
        """Called when a projection reaches the end: a failed run re-raises its exception."""
        if self.feed.error is not None:
            raise self.feed.error

    def walk(self, channels: frozenset[str] | None) -> Iterator[StreamFrame | None]:
        """The one iteration core behind sync and async projections.

        Yields the kept frames of ``channels`` (all when ``None``) from the first, in global
        order, and ``None`` whenever every kept frame has been read and the run is not over:
        the driver then fetches the next batch (blocking or awaiting) and resumes the walk.
        At the end, a failed run's exception is raised.
        """
        if not self.keep_history:
            yield from self._walk_live(channels)
            return
        frames = self.frames
        position = 0
        while True:
            while position < len(frames):
                frame = frames[position]
                position += 1
                if channels is None or frame.channel in channels:
                    yield frame
            if self.exhausted:
                self.finish_iteration()
                return
            yield None

    def _walk_live(self, channels: frozenset[str] | None) -> Iterator[StreamFrame | None]:
        """:meth:`walk` without history: from the frame after the last one any walk handed out.

        ``position`` counts from the run's first frame; a walk that fell behind (one of two
        interleaved readers) goes on from the oldest frame still held.
        """
        position = self.handed_out
        while True:
            frames, base = self.frames, self.base
            index = position - base if position > base else 0
            while index < len(frames):
                frame = frames[index]
                index += 1
                if channels is None or frame.channel in channels:
                    if base + index > self.handed_out:
                        self.handed_out = base + index
                    yield frame
                    if frames is not self.frames:  # a new batch replaced this one meanwhile
                        break
            position = base + index
            if position < self.base + len(self.frames):
                continue
            if self.exhausted:
                self.finish_iteration()
                return
            yield None

    def stop(self) -> bool:
        """Mark the session closed; True when it was still open (so the feed must be closed)."""
        if self.exhausted:
            return False
        self.exhausted = True
        return True


def _is_answer_text(frame: StreamFrame) -> bool:
    """C11's text view: answer tokens only (``llm_stream_chunk``), never reasoning."""
    return frame.type == "llm_stream_chunk" and bool(frame.content)


_LLM = frozenset({"llm"})
_MESSAGES = frozenset({"messages"})
_FLOW = frozenset({"flow"})
_TOOLS = frozenset({"tools"})

ProjectionT = TypeVar("ProjectionT")


class _SessionOutcome(Generic[ProjectionT]):
    """What sync and async sessions share: the projections (C6) and what they say about their run.

    Each session type only says how one projection is iterated (``_project``), so the list of
    projections and the outcome properties cannot drift between the two.
    """

    _state: _SessionState

    def _project(self, channels: frozenset[str] | None) -> ProjectionT:
        raise NotImplementedError

    # -- projections -----------------------------------------------------------------
    @property
    def events(self) -> ProjectionT:
        """All frames, in order (the same as iterating the session)."""
        return self._project(None)

    @property
    def llm(self) -> ProjectionT:
        return self._project(_LLM)

    @property
    def messages(self) -> ProjectionT:
        return self._project(_MESSAGES)

    @property
    def flow(self) -> ProjectionT:
        return self._project(_FLOW)

    @property
    def tools(self) -> ProjectionT:
        return self._project(_TOOLS)

    def channel(self, name: str) -> ProjectionT:
        """Frames of one channel (also ``lifecycle`` and ``custom``, which have no property)."""
        return self._project(check_channels([name]))

    def interleave(self, channels: Iterable[str]) -> ProjectionT:
        """Frames of the chosen channels, keeping their global order."""
        return self._project(check_channels(channels))

    # -- outcome ---------------------------------------------------------------------
    @property
    def result(self) -> Any:
        """The run's result; ``RuntimeError`` before the end, the run's exception after a failure."""
        return self._state.result()

    @property
    def frames(self) -> list[StreamFrame]:
        """Every frame read so far (a copy); ``HistoryNotKept`` when opened with ``keep_history=False``."""
        return self._state.kept()

    @property
    def frame_count(self) -> int:
        """How many frames the session has read from its run so far (kept or not)."""
        return self._state.count

    @property
    def keeps_history(self) -> bool:
        """Whether the session keeps the frames it reads (``keep_history``, on by default)."""
        return self._state.keep_history

    @property
    def trace_id(self) -> str | None:
        """Hex trace id of the run, once its first span has started."""
        return self._state.feed.trace_id

    @property
    def run_id(self) -> str | None:
        """framescope's id of the run (the ``framescope.run.id`` span attribute)."""
        return self._state.feed.run_id

    @property
    def is_exhausted(self) -> bool:
        return self._state.exhausted

    @property
    def is_completed(self) -> bool:
        """True once the run ended successfully and every frame has been read."""
        feed = self._state.feed
        return (
            self._state.exhausted
            and feed.error is None
            and not feed.cancelled
            and getattr(feed, "incomplete", None) is None
        )

    @property
    def is_cancelled(self) -> bool:
        return self._state.feed.cancelled


class StreamSession(_SessionOutcome[Iterator[StreamFrame]]):
    """A synchronous stream of a run's frames, with channel projections (C3–C6, C10)."""

    def __init__(self, feed: FrameFeed, *, keep_history: bool = True) -> None:
        self._state = _SessionState(feed, keep_history)

    def __iter__(self) -> Iterator[StreamFrame]:
        return self._project(None)

    def text(self) -> Iterator[str]:
        """Plain answer text chunks (C11): ``llm_stream_chunk`` content, without reasoning."""
        return (frame.content for frame in self._project(_LLM) if _is_answer_text(frame))

    def _project(self, channels: frozenset[str] | None) -> Iterator[StreamFrame]:
        state = self._state
        for frame in state.walk(channels):
            if frame is None:
                state.absorb(state.feed.next_batch())
            else:
                yield frame

    # -- cleanup ---------------------------------------------------------------------
    def close(self) -> None:
        """Stop the run at its next emit point and release the session; returns promptly."""
        if self._state.stop():
            self._state.feed.close()

    def __enter__(self) -> StreamSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        status = (
            "completed"
            if self.is_completed
            else "cancelled"
            if self.is_cancelled
            else ("exhausted" if self.is_exhausted else "open")
        )
        return f"<StreamSession {status} frames={self._state.count} trace_id={self.trace_id}>"


class _AsyncProjection:
    """An async iterator over one projection; each ``async for`` starts from the first frame."""

    __slots__ = ("_session", "_channels")

    def __init__(self, session: AsyncStreamSession, channels: frozenset[str] | None) -> None:
        self._session = session
        self._channels = channels

    def __aiter__(self) -> AsyncIterator[StreamFrame]:
        return self._session._aiterate(self._channels)


class AsyncStreamSession(_SessionOutcome[_AsyncProjection]):
    """The asynchronous twin of :class:`StreamSession` (C7): ``async with`` / ``async for``."""

    def __init__(self, feed: FrameFeed, *, keep_history: bool = True) -> None:
        self._state = _SessionState(feed, keep_history)

    def __aiter__(self) -> AsyncIterator[StreamFrame]:
        return self._aiterate(None)

    def _project(self, channels: frozenset[str] | None) -> _AsyncProjection:
        return _AsyncProjection(self, channels)

    async def text(self) -> AsyncIterator[str]:
        """Plain answer text chunks (C11): ``llm_stream_chunk`` content, without reasoning."""
        async for frame in self._aiterate(_LLM):
            if _is_answer_text(frame):
                yield frame.content

    async def _aiterate(self, channels: frozenset[str] | None) -> AsyncIterator[StreamFrame]:
        state = self._state
        for frame in state.walk(channels):
            if frame is None:
                state.absorb(await state.feed.next_batch_async())
            else:
                yield frame

    async def aclose(self) -> None:
        """Stop the run at its next emit point; never blocks the event loop for long."""
        if self._state.stop():
            await asyncio.to_thread(self._state.feed.close)

    def close(self) -> None:
        """Synchronous close, for ``finally`` blocks outside a coroutine."""
        if self._state.stop():
            self._state.feed.close()

    async def __aenter__(self) -> AsyncStreamSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<AsyncStreamSession frames={self._state.count} trace_id={self.trace_id}>"


__all__ = [
    "AsyncStreamSession",
    "StreamChannel",
    "StreamFrame",
    "StreamSession",
    "check_channels",
    "make_frame",
]
