"""``keep_history=False``: a session that keeps no frames, for endless streams (docs/frames.md).

Memory itself is measured by bench/memory_endless.py; these tests check what the option means:
frames read are let go, and ``result``, ``text()`` and the counters stay right.
"""

from __future__ import annotations

import gc

import pytest

from framescope import emit, emit_token, lifecycle, stream_call
from framescope.errors import FramescopeError, HistoryNotKept
from framescope.flow import Flow, start
from framescope.llm import LLM
from framescope.llm.providers import register_script
from framescope.types.streaming import StreamFrame


def _tokens(count: int) -> str:
    with lifecycle("llm_call_started", {"model": "m"}, finished="llm_call_completed", failed="llm_call_failed"):
        for index in range(count):
            emit_token("llm_stream_chunk", f" t{index}")
    emit("note", {"after": True})
    return f"{count} tokens"


def _live_frames(run_id: str | None) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is StreamFrame and obj.id.startswith(f"{run_id}-"))


def test_a_session_without_history_lets_read_frames_go() -> None:
    with stream_call(_tokens, 3000, keep_history=False, queue_size=64) as session:
        seen = 0
        for _ in session:
            seen += 1
        assert session.result == "3000 tokens"
        assert seen == session.frame_count == 3003
        assert _live_frames(session.run_id) <= 64  # at most the last batch, never the whole run
    with stream_call(_tokens, 3000, queue_size=64) as kept:
        for _ in kept:
            pass
        assert _live_frames(kept.run_id) == 3003 == len(kept.frames)


def test_frames_says_the_history_was_not_kept() -> None:
    session = stream_call(_tokens, 5, keep_history=False)
    assert not session.keeps_history
    for _ in session:
        pass
    with pytest.raises(HistoryNotKept, match="keep_history=False") as caught:
        _ = session.frames
    assert isinstance(caught.value, FramescopeError) and isinstance(caught.value, RuntimeError)
    assert session.is_completed and "frames=8" in repr(session)


def test_a_projection_started_later_goes_on_from_the_current_frame() -> None:
    with stream_call(_tokens, 10, keep_history=False, queue_size=1) as session:
        events = iter(session)
        first = [next(events).type for _ in range(4)]
        rest = [frame.type for frame in session.events]  # a new projection: no history to start from
    assert first == ["llm_call_started", "llm_stream_chunk", "llm_stream_chunk", "llm_stream_chunk"]
    assert len(rest) < 13 - 3 and rest[-2:] == ["llm_call_completed", "note"]
    assert session.frame_count == 13


def test_llm_text_and_result_without_history() -> None:
    register_script("endless", lambda messages: " ".join(f"w{i}" for i in range(500)))
    llm = LLM("scripted/endless")
    with llm.stream_events("go", keep_history=False) as session:
        text = "".join(session.text())
    assert text == session.result == " ".join(f"w{i}" for i in range(500))
    assert session.frame_count == 502


@pytest.mark.asyncio
async def test_async_llm_session_without_history() -> None:
    register_script("aendless", lambda messages: "a b c d")
    llm = LLM("scripted/aendless")
    async with llm.astream_events("go", keep_history=False) as session:
        chunks = [chunk async for chunk in session.text()]
    assert "".join(chunks) == session.result == "a b c d"
    with pytest.raises(HistoryNotKept):
        _ = session.frames


def test_a_flow_streamed_without_history_still_has_its_result() -> None:
    class Counting(Flow):
        @start()
        def count(self) -> int:
            for index in range(100):
                emit("tick", {"i": index})
            return 100

    with Counting().stream_events(keep_history=False) as session:
        ticks = sum(1 for frame in session if frame.type == "tick")
    assert ticks == 100 and session.result == 100
    with pytest.raises(HistoryNotKept):
        _ = session.frames


def test_default_sessions_keep_their_history() -> None:
    with stream_call(_tokens, 3) as session:
        list(session)
        assert session.keeps_history
        assert [f.type for f in session.frames][:2] == ["llm_call_started", "llm_stream_chunk"]
        assert list(session.llm) == session.frames[:-1]  # projections re-read the kept frames
