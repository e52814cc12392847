"""Replaying a conversation: every turn of one session, rebuilt from exported traces, in order.

Each turn is its own framescope run (whatever the trace scope), so a conversation is the set
of runs whose ``conversation_turn_started`` frame names the session, ordered by start.  This
works on a file holding many sessions and on turns spread over several traces
(``trace_scope="turn"``), which a per-trace replay could not do.  It reads only frames, never
the GenAI attributes, and goes through the codec like every replay (D5).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from framescope.types.streaming import StreamFrame, StreamSession

if TYPE_CHECKING:
    from framescope.replay.decode import DecodedRun
    from framescope.replay.records import SpanRecord

TURN_STARTED = "conversation_turn_started"
TURN_FINISHED = "conversation_turn_completed"
TURN_FAILED = "conversation_turn_failed"


@dataclass
class ReplayedTurn:
    """One replayed turn: its frames and what they say about it."""

    run: DecodedRun
    started: StreamFrame

    @property
    def frames(self) -> list[StreamFrame]:
        return self.run.frames

    @property
    def number(self) -> int | None:
        value = self.started.data.get("turn")
        return value if isinstance(value, int) else None

    @property
    def closing(self) -> StreamFrame | None:
        """The turn's closing frame (``None`` when the turn was cancelled or cut off)."""
        for frame in reversed(self.run.frames):
            if frame.parent_id == self.started.id and frame.type in (TURN_FINISHED, TURN_FAILED):
                return frame
        return None

    @property
    def status(self) -> str:
        closing = self.closing
        if closing is None:
            return "cancelled" if self.run.cancelled else "incomplete"
        return "finished" if closing.type == TURN_FINISHED else "failed"

    @property
    def reply(self) -> Any:
        closing = self.closing
        return closing.data.get("result") if closing is not None and closing.type == TURN_FINISHED else None

    @property
    def trace_id(self) -> str | None:
        return self.run.trace_ids[0] if self.run.trace_ids else None


@dataclass
class ConversationReplay:
    """A session's replayed turns, oldest first; ``session()`` streams them as one session."""

    session_id: str
    turns: list[ReplayedTurn]

    @property
    def frames(self) -> list[StreamFrame]:
        """Every frame of every turn, in order (``seq`` restarts in each turn's run)."""
        return [frame for replayed in self.turns for frame in replayed.frames]

    @property
    def replies(self) -> list[Any]:
        return [replayed.reply for replayed in self.turns]

    def transcript(self) -> list[dict[str, Any]]:
        """``{role, content, turn, message_id}`` of every message of the finished turns, in order."""
        messages: list[dict[str, Any]] = []
        for replayed in self.turns:
            if replayed.status != "finished":
                continue
            for frame in replayed.frames:
                if frame.type == "conversation_message_added":
                    data = frame.data
                    messages.append({key: data.get(key) for key in ("role", "content", "turn", "message_id")})
        return messages

    def session(self) -> StreamSession:
        """A stream session over all the frames; its ``result`` is the last turn's reply.

        Failed turns stay in the frames (as they were streamed); the session itself does not
        raise for them, because a conversation goes on after a failed turn.
        """
        from framescope.replay.feed import ListFeed  # replay loads only when something is replayed

        last = self.turns[-1] if self.turns else None
        feed = ListFeed(self.frames, result=last.reply if last else None, trace_id=last.trace_id if last else None)
        return StreamSession(feed)

    def __iter__(self) -> Iterator[StreamFrame]:
        return iter(self.frames)


def replay_conversation(
    source: str | os.PathLike[str] | Iterable[SpanRecord],
    session_id: str,
    *,
    turn: int | None = None,
    allow_torn: bool = False,
) -> ConversationReplay:
    """Rebuild session ``session_id`` (or only its turn number ``turn``) from a trace source.

    ``source`` is a trace file (any format ``framescope.replay`` reads) or span records.
    Raises ``LookupError`` naming the sessions that are there when the session (or the turn)
    is not in the source, so a typo is not mistaken for an empty conversation.
    """
    from framescope.replay import load_records, load_runs  # not loaded by importing conversational

    records = load_records(source, allow_torn=allow_torn) if isinstance(source, (str, os.PathLike)) else list(source)
    found: list[ReplayedTurn] = []
    seen: set[str] = set()
    for run in load_runs(records):
        started = _turn_opener(run)
        if started is None:
            continue
        owner = started.data.get("session_id")
        if isinstance(owner, str):
            seen.add(owner)
        if owner == session_id:
            found.append(ReplayedTurn(run, started))
    found.sort(key=lambda replayed: replayed.started.timestamp)
    if not found:
        known = ", ".join(sorted(seen)) or "none"
        raise LookupError(
            f"no turn of conversation session {session_id!r} in the trace source (sessions there: "
            f"{known}); check the session id, and call framescope.flush() before reading a trace file"
        )
    if turn is not None:
        found = [replayed for replayed in found if replayed.number == turn]
        if not found:
            raise LookupError(f"session {session_id!r} has no turn number {turn} in the trace source")
    return ConversationReplay(session_id, found)


def _turn_opener(run: DecodedRun) -> StreamFrame | None:
    for frame in run.frames:
        if frame.type == TURN_STARTED and frame.parent_id is None:
            return frame
    return None


__all__ = ["ConversationReplay", "ReplayedTurn", "replay_conversation"]
