"""The conversation's data: messages and the state a conversational flow carries per session.

Messages are pydantic models (not bare dicts) so a transcript read back from the store,
from a frame or from a replay has one shape; ``as_llm()`` gives the OpenAI-style dict an
``LLM`` takes.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Role = Literal["user", "assistant"]


class ConversationMessage(BaseModel):
    """One transcript message: who said it, what, in which turn, with a stable id."""

    id: str
    role: Role
    content: str
    turn: int
    created_at: datetime

    def as_llm(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}

    def frame_data(self, session_id: str, capture: bool, redacted: str) -> dict[str, Any]:
        """The payload of this message's ``conversation_message_added`` frame."""
        return {
            "session_id": session_id,
            "turn": self.turn,
            "message_id": self.id,
            "role": self.role,
            "content": self.content if capture else redacted,
        }


class ConversationState(BaseModel):
    """The state of one conversation session, as a conversational flow sees it in a turn.

    ``id`` is the session id and ``messages`` the transcript of the session's finished turns
    (during a turn, the current user message is appended last).  Subclass it to keep more
    per-session fields: they are saved with the turn's reply and loaded with the next turn,
    so they must be JSON-serializable.
    """

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    messages: list[ConversationMessage] = Field(default_factory=list)

    def llm_messages(self) -> list[dict[str, str]]:
        """The transcript as OpenAI-style messages, oldest first."""
        return [message.as_llm() for message in self.messages]


__all__ = ["ConversationMessage", "ConversationState", "Role"]
