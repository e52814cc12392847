"""Server-Sent Events: frames as SSE events, pacing, and ``Last-Event-ID``.

Each frame is one event: ``id:`` is its ``seq`` and the single ``data:`` line is the frame
exactly as ``framescope replay --format jsonl`` prints it (the same function encodes both;
JSON never holds a raw newline, so one line is always enough).  After the last frame an
``event: end`` tells the browser's ``EventSource`` that the run is over, so it does not
reconnect; its data is the run's outcome.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from framescope.errors import ServeRequestError
from framescope.serve.runs import frame_json
from framescope.types.streaming import StreamFrame

#: how many events go out in one write when there is no pacing to respect
CHUNK_EVENTS = 256


def encode_frame(frame: StreamFrame) -> bytes:
    event_id = "" if frame.seq is None else f"id: {frame.seq}\n"
    return f"{event_id}data: {frame_json(frame)}\n\n".encode()


def encode_end(outcome: dict[str, Any]) -> bytes:
    return f"event: end\ndata: {json.dumps(outcome, default=str)}\n\n".encode()


def comment(text: str) -> bytes:
    """An SSE comment line: ignored by clients, it keeps proxies from closing an idle stream."""
    return f": {text}\n\n".encode()


def parse_last_event_id(value: str | None) -> int | None:
    """The seq to resume after, or None to start at the beginning."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise ServeRequestError(
            f"Last-Event-ID must be the seq of the last frame received (a non-negative integer), got {value[:40]!r}"
        )
    return int(text)


def parse_speed(value: str | None) -> float:
    """``?speed=F``: 0 (the default) sends as fast as possible, F > 0 paces at the original timing x F."""
    if value is None or value == "":
        return 0.0
    try:
        speed = float(value)
    except ValueError:
        raise ServeRequestError(
            f"speed must be a number (0 = as fast as possible, 1 = original pace), got {value!r}"
        ) from None
    if not speed >= 0 or speed == float("inf"):
        raise ServeRequestError(f"speed must be 0 or a positive finite number, got {value!r}")
    return speed


def resume_index(frames: Sequence[StreamFrame], last_seq: int | None) -> int:
    """Index of the first frame after ``last_seq`` (frames are in seq order within a run)."""
    if last_seq is None:
        return 0
    low, high = 0, len(frames)
    while low < high:  # first frame whose seq is greater than last_seq
        middle = (low + high) // 2
        seq = frames[middle].seq
        if seq is not None and seq <= last_seq:
            low = middle + 1
        else:
            high = middle
    return low


async def paced_ranges(frames: Sequence[StreamFrame], start: int, speed: float) -> AsyncIterator[tuple[int, int]]:
    """``(first, stop)`` index ranges of the frames from ``start`` on, each due now: large
    chunks when ``speed`` is 0, else each frame once its original offset / ``speed`` has passed."""
    total = len(frames)
    if speed <= 0:
        for index in range(start, total, CHUNK_EVENTS):
            yield index, min(index + CHUNK_EVENTS, total)
        return
    if start >= total:
        return
    loop = asyncio.get_running_loop()
    began = loop.time()
    origin = frames[start].timestamp
    index = start
    while index < total:
        due = (frames[index].timestamp - origin).total_seconds() / speed
        wait = began + due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        now = loop.time() - began
        stop = index + 1
        while stop < total and (frames[stop].timestamp - origin).total_seconds() / speed <= now:
            stop += 1
        yield index, stop
        index = stop
