"""What ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=false`` removes, in one place.

Capture-off used to be decided call site by call site (prompts, tool arguments), and content
slipped through the sites nobody thought of: an LLM answer returned as a method result, flow
inputs, an error message quoting a tool's arguments.  So the rule is applied once more on the
emission path, to every frame but token chunks (which their emitters already blank), and it is
an allow-list: what is not known to be structure is content.

* kept: the keys in :data:`STRUCTURE_KEYS` (names, ids, types, sizes, timings, counts,
  finish reasons, usage) and the shape of nested mappings and lists of mappings;
* removed: every other value, replaced by ``{"$redacted": "<type>", "size": <length>}``
  (its type and size stay, so an SRE still sees that 2 kB came back);
* an error message becomes ``"[REDACTED] (<n> characters)"``, its type stays in
  ``error_type``; span status descriptions and exception events carry the type only, never
  the message or the traceback.

docs/frames.md ("Content capture") states the same rule for users.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from framescope.types.redaction import REDACTED

__all__ = ["STRUCTURE_KEYS", "redacted_error", "strip_content"]

#: Payload keys whose values are structure, not content; kept with capture off.
STRUCTURE_KEYS = frozenset(
    {
        "flow_name",
        "method_name",
        "tool_name",
        "tool_call_id",
        "name",
        "id",
        "index",
        "message_id",
        "session_id",
        "conversation_id",
        "run_id",
        "trigger",
        "label",
        "route",
        "role",
        "model",
        "response_model",
        "provider",
        "stream",
        "temperature",
        "max_tokens",
        "tools",
        "finish_reason",
        "usage",
        "rounds",
        "time_to_first_token_s",
        "duration_ms",
        "duration_s",
        "attempt",
        "count",
        "resumed",
        "error_type",
        "content_redacted",
        "cancelled",
        "interrupted",
        "type",
        "status",
    }
)

_NESTED_STRUCTURE = frozenset({"messages", "tool_calls", "calls"})


def strip_content(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` (already JSON-safe) with every content value replaced by its type and size."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in STRUCTURE_KEYS or value == REDACTED or value == "":
            out[key] = value
        elif key == "error" and isinstance(value, str):
            out[key] = redacted_error(value)
        elif key in _NESTED_STRUCTURE and isinstance(value, list):
            out[key] = [strip_content(item) if isinstance(item, Mapping) else _summary(item) for item in value]
        else:
            out[key] = _summary(value)
    return out


def redacted_error(message: str) -> str:
    """An error message as capture-off records it: its length only."""
    return f"{REDACTED} ({len(message)} characters)"


def _summary(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value  # a flag or an absence says nothing about content
    summary: dict[str, Any] = {"$redacted": _json_type(value)}
    if isinstance(value, (str, list, dict)):
        summary["size"] = len(value)
    return summary


def _json_type(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
