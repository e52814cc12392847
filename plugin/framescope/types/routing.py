"""The event vocabulary's channel routing table (contract point C2).

A frame's ``channel`` is decided here and nowhere else, from the event ``type``: the
runtime never spells a channel by hand, so adding an event type is one line in this table.
Types that are not listed land on ``custom`` (user events), except the handful of runtime
lifecycle types listed in ``LIFECYCLE_TYPES``.  docs/frames.md renders this table.
"""

from __future__ import annotations

from typing import Final

CHANNELS: Final[tuple[str, ...]] = ("llm", "flow", "tools", "messages", "lifecycle", "custom")

FLOW_TYPES: Final[frozenset[str]] = frozenset(
    {
        "flow_created",
        "flow_started",
        "flow_finished",
        "flow_failed",
        "flow_cancelled",
        "flow_paused",
        "flow_resumed",
        "method_execution_started",
        "method_execution_finished",
        "method_execution_failed",
        "method_execution_paused",
        "flow_routed",
        "human_feedback_requested",
        "human_feedback_received",
        # a conversation turn is a flow event, as in CrewAI (its reference names and routing)
        "conversation_turn_started",
        "conversation_turn_completed",
        "conversation_turn_failed",
    }
)

LLM_TYPES: Final[frozenset[str]] = frozenset(
    {
        "llm_call_started",
        "llm_call_completed",
        "llm_call_failed",
        "llm_stream_chunk",
        "llm_thinking_chunk",
        "llm_tool_call_delta",
    }
)

TOOL_TYPES: Final[frozenset[str]] = frozenset({"tool_usage_started", "tool_usage_finished", "tool_usage_error"})

MESSAGE_TYPES: Final[frozenset[str]] = frozenset({"conversation_message_added", "conversation_transcript_loaded"})

LIFECYCLE_TYPES: Final[frozenset[str]] = frozenset(
    {
        "run_started",
        "run_finished",
        "run_failed",
        "run_cancelled",
    }
)

#: Frames whose ``content`` is printable text taken from ``data["chunk"]``.
TOKEN_TYPES: Final[frozenset[str]] = frozenset({"llm_stream_chunk", "llm_thinking_chunk"})

_ROUTES: dict[str, str] = {}
for _types, _channel in (
    (FLOW_TYPES, "flow"),
    (LLM_TYPES, "llm"),
    (TOOL_TYPES, "tools"),
    (MESSAGE_TYPES, "messages"),
    (LIFECYCLE_TYPES, "lifecycle"),
):
    for _type in _types:
        _ROUTES[_type] = _channel


def channel_for(event_type: str) -> str:
    """The channel an event type is routed to; unknown types are user events (``custom``)."""
    return _ROUTES.get(event_type, "custom")


def routing_table() -> dict[str, str]:
    """A copy of the type -> channel table, for docs and tests."""
    return dict(_ROUTES)
