"""The errors a conversational flow raises, each saying what to change.

They live apart from the runtime so user code can catch them without importing the store.
"""

from __future__ import annotations

from framescope.flow.errors import FlowDefinitionError


class ConversationError(Exception):
    """Base class of every conversational-flow error."""


class ConversationDefinitionError(ConversationError, FlowDefinitionError):
    """The conversational flow class itself is wrong (no ``conversational = True``, wrong state type)."""


class ConversationInputError(ConversationError, ValueError):
    """A turn was asked for with bad input (an empty message, a bad session id)."""


class UnknownSessionError(ConversationError, LookupError):
    """A resume-only call (``create=False``) named a session the store does not hold."""

    def __init__(self, message: str, session_id: str) -> None:
        super().__init__(message)
        self.session_id = session_id

    def __str__(self) -> str:  # LookupError would otherwise repr() the message
        return str(self.args[0])


class ConversationStoreError(ConversationError, RuntimeError):
    """The transcript store cannot be used (corrupted file, another program's database).

    Raised before anything is written, so the file is left exactly as it was.
    """


class RouteError(ConversationError, RuntimeError):
    """A route handler is missing or returned something that is not a reply."""


__all__ = [
    "ConversationDefinitionError",
    "ConversationError",
    "ConversationInputError",
    "ConversationStoreError",
    "RouteError",
    "UnknownSessionError",
]
