"""Messages in and out of a call: normalising what the caller passes, building the
assistant/tool messages of a tool round, and the redacted copies frames carry when
message content capture is off."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from framescope.llm.providers.base import Completion, ToolCall
from framescope.types.payload import json_safe

#: What frames carry instead of prompt/completion text when content capture is off.
REDACTED = "[REDACTED]"

Messages = str | Sequence[Mapping[str, Any]]


def normalize_messages(messages: Messages) -> list[dict[str, Any]]:
    """A fresh list of message dicts; a plain string is one user message.

    The copy matters: a tool loop appends to the conversation, and the caller's list
    must not grow behind their back.
    """
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if isinstance(messages, Mapping) or not isinstance(messages, Sequence):
        raise TypeError(
            "messages must be a string or a list of {'role': ..., 'content': ...} dicts, "
            f"got {type(messages).__name__}"
        )
    if not messages:
        raise ValueError("messages is empty; pass at least one message, e.g. [{'role': 'user', 'content': 'Hi'}]")
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise TypeError(f"messages[{index}] must be a dict with 'role' and 'content', got {type(message).__name__}")
        role = message.get("role")
        if not isinstance(role, str) or not role:
            raise ValueError(f"messages[{index}] has no 'role' (one of system, user, assistant, tool): {message!r}")
        out.append(dict(message))
    return out


def assistant_tool_message(completion: Completion) -> dict[str, Any]:
    """The assistant turn that asked for tools, in the OpenAI wire format."""
    return {
        "role": "assistant",
        "content": completion.text or None,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in completion.tool_calls
        ],
    }


def tool_result_message(call: ToolCall, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call.id, "content": content}


def tool_output_text(output: Any) -> str:
    """A tool's return value as the text the model reads (JSON for anything but str)."""
    if isinstance(output, str):
        return output
    return json.dumps(json_safe(output), ensure_ascii=False)


def recorded_messages(messages: list[dict[str, Any]], capture: bool) -> list[dict[str, Any]]:
    """The messages as the started frame records them (content masked when capture is off).

    Roles, tool-call ids and tool names stay: they say what happened without saying what
    was written, which is what an SRE needs when content may not be recorded.
    """
    if capture:
        return messages
    masked: list[dict[str, Any]] = []
    for message in messages:
        copy: dict[str, Any] = {"role": message.get("role")}
        if message.get("content") is not None:
            copy["content"] = REDACTED
        for key in ("tool_call_id", "name"):
            if key in message:
                copy[key] = message[key]
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            copy["tool_calls"] = [_masked_call(call) for call in calls]
        masked.append(copy)
    return masked


def _masked_call(call: Any) -> dict[str, Any]:
    if not isinstance(call, Mapping):
        return {"arguments": REDACTED}
    function = call.get("function")
    name = function.get("name") if isinstance(function, Mapping) else None
    return {"id": call.get("id"), "name": name, "arguments": REDACTED}


def recorded_tool_calls(calls: list[ToolCall], capture: bool) -> list[dict[str, Any]]:
    return [{"id": call.id, "name": call.name, "arguments": call.arguments if capture else REDACTED} for call in calls]
