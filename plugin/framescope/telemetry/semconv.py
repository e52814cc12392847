"""How lifecycles look to OpenTelemetry tools that know nothing about framescope.

Span names and ``gen_ai.*`` attributes follow the OpenTelemetry GenAI semantic conventions
(``invoke_workflow {flow}``, ``chat {model}``, ``execute_tool {tool}``, ``gen_ai.workflow.name``,
``gen_ai.request.stream``, ``gen_ai.response.time_to_first_chunk``, ``gen_ai.conversation.id``)
so Jaeger, Tempo, Grafana and other GenAI tooling read framescope traces as they are.  The
content attributes (``gen_ai.input.messages``, ``gen_ai.output.messages``,
``gen_ai.tool.call.arguments``/``result``) are written only from frame data that holds
content, i.e. with content capture on; with capture off the frames hold ``[REDACTED]`` or
``content_redacted: true`` and no content attribute is set.  These attributes are a
*view* for humans and dashboards; replay never reads them (the frame envelope rides in the
``framescope.*`` attributes the codec writes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from opentelemetry.trace import SpanKind

SPAN_KINDS: dict[str, SpanKind] = {
    "llm_call_started": SpanKind.CLIENT,
}


#: What frame data holds in place of content when content capture is off; never copied
#: into a ``gen_ai.*`` content attribute.
_REDACTED = "[REDACTED]"


def _text(value: Any, default: str) -> str:
    return value if isinstance(value, str) and value else default


def _json(value: Any) -> str:
    """``any``-typed GenAI attributes as JSON text (Jaeger and Tempo keep no maps)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _captured(value: Any) -> bool:
    """False for what content capture off left of a value: ``"[REDACTED]"`` or a ``$redacted`` summary."""
    if isinstance(value, Mapping) and "$redacted" in value:
        return False
    return value is not None and value != _REDACTED


def input_messages(messages: Any) -> list[dict[str, Any]]:
    """OpenAI-style chat messages in the GenAI ``gen_ai.input.messages`` shape (role + parts)."""
    out: list[dict[str, Any]] = []
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, Mapping):
            continue
        role = message.get("role") or "user"
        parts: list[dict[str, Any]] = []
        content = message.get("content")
        if role == "tool":
            parts.append({"type": "tool_call_response", "id": message.get("tool_call_id"), "result": content})
        elif isinstance(content, str):
            parts.append({"type": "text", "content": content})
        elif content is not None:
            parts.append({"type": "text", "content": _json(content)})
        for call in message.get("tool_calls") or []:
            function = call.get("function", {}) if isinstance(call, Mapping) else {}
            arguments = function.get("arguments")
            try:
                arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
            except ValueError:
                pass
            parts.append(
                {"type": "tool_call", "id": call.get("id"), "name": function.get("name"), "arguments": arguments}
            )
        out.append({"role": role, "parts": parts})
    return out


def span_name(opener_type: str, data: Mapping[str, Any]) -> str:
    """The span name for the lifecycle that ``opener_type`` starts."""
    if opener_type == "flow_started":
        return f"invoke_workflow {_text(data.get('flow_name'), 'flow')}"
    if opener_type == "method_execution_started":
        return f"method {_text(data.get('method_name'), 'method')}"
    if opener_type == "llm_call_started":
        return f"chat {_text(data.get('model'), 'unknown')}"
    if opener_type == "tool_usage_started":
        return f"execute_tool {_text(data.get('tool_name'), 'tool')}"
    if opener_type == "conversation_turn_started":
        return "conversation_turn"
    if opener_type in _AGENT_OPENERS:
        return f"invoke_agent {_agent_role(data) or 'agent'}"
    if opener_type == "crew_kickoff_started":
        return f"invoke_workflow {_text(data.get('crew_name'), 'crew')}"
    return opener_type.removesuffix("_started") or opener_type


#: Agent lifecycles of frameworks recorded through the codec (CrewAI's agents and lite agents).
_AGENT_OPENERS = frozenset({"agent_execution_started", "lite_agent_execution_started"})


def _agent_role(data: Mapping[str, Any]) -> str | None:
    agent = data.get("agent")
    role = agent.get("role") if isinstance(agent, Mapping) else None
    for value in (role, data.get("agent_role")):
        if isinstance(value, str) and value:
            return value
    return None


def opener_attributes(opener_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Semantic-convention attributes known when a lifecycle starts."""
    attrs: dict[str, Any] = {}
    if opener_type == "flow_started":
        attrs["framescope.flow.name"] = _text(data.get("flow_name"), "flow")
        attrs["gen_ai.operation.name"] = "invoke_workflow"
        attrs["gen_ai.workflow.name"] = attrs["framescope.flow.name"]
    elif opener_type == "method_execution_started":
        attrs["framescope.flow.name"] = _text(data.get("flow_name"), "flow")
        attrs["framescope.flow.method"] = _text(data.get("method_name"), "method")
    elif opener_type == "llm_call_started":
        attrs["gen_ai.operation.name"] = "chat"
        attrs["gen_ai.request.model"] = _text(data.get("model"), "unknown")
        attrs["gen_ai.provider.name"] = _text(data.get("provider"), "unknown")
        if isinstance(data.get("stream"), bool):
            attrs["gen_ai.request.stream"] = data["stream"]
        # content only when captured: with capture off the frame says content_redacted
        if data.get("content_redacted") is False and isinstance(data.get("messages"), list):
            attrs["gen_ai.input.messages"] = _json(input_messages(data["messages"]))
        for key in ("temperature", "max_tokens"):
            value = data.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                attrs[f"gen_ai.request.{key}"] = value
    elif opener_type == "tool_usage_started":
        attrs["gen_ai.operation.name"] = "execute_tool"
        attrs["gen_ai.tool.name"] = _text(data.get("tool_name"), "tool")
        _set_text(attrs, "gen_ai.tool.call.id", data.get("tool_call_id"))
        if _captured(data.get("arguments")):
            attrs["gen_ai.tool.call.arguments"] = _json(data["arguments"])
    elif opener_type in _AGENT_OPENERS:
        attrs["gen_ai.operation.name"] = "invoke_agent"
        role = _agent_role(data)
        if role:
            attrs["gen_ai.agent.name"] = role
        agent = data.get("agent")
        agent_id = agent.get("id") if isinstance(agent, Mapping) else data.get("agent_id")
        if isinstance(agent_id, str) and agent_id:
            attrs["gen_ai.agent.id"] = agent_id
    elif opener_type == "crew_kickoff_started":
        attrs["gen_ai.operation.name"] = "invoke_workflow"
    elif opener_type == "conversation_turn_started":
        _set_text(attrs, "gen_ai.conversation.id", data.get("session_id"))
    _set_text(attrs, "gen_ai.conversation.id", data.get("conversation_id"))
    return attrs


def closer_attributes(closer_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Semantic-convention attributes known when a lifecycle ends."""
    attrs: dict[str, Any] = {}
    if closer_type == "llm_call_completed":
        _set_text(attrs, "gen_ai.response.model", data.get("response_model"))
        reason = data.get("finish_reason")
        if isinstance(reason, str) and reason:
            attrs["gen_ai.response.finish_reasons"] = (reason,)
        usage = data.get("usage")
        if isinstance(usage, Mapping):
            for key, attr in (
                ("input_tokens", "gen_ai.usage.input_tokens"),
                ("output_tokens", "gen_ai.usage.output_tokens"),
                ("prompt_tokens", "gen_ai.usage.input_tokens"),  # CrewAI's (OpenAI's) spelling
                ("completion_tokens", "gen_ai.usage.output_tokens"),
            ):
                value = usage.get(key)
                if attr in attrs:
                    continue
                if isinstance(value, int) and not isinstance(value, bool):
                    attrs[attr] = value
        response_id = data.get("response_id")
        if isinstance(response_id, str) and response_id:
            attrs["gen_ai.response.id"] = response_id
        ttft = data.get("time_to_first_token_s")
        if isinstance(ttft, (int, float)) and not isinstance(ttft, bool):
            attrs["framescope.llm.time_to_first_token_s"] = float(ttft)
            attrs["gen_ai.response.time_to_first_chunk"] = float(ttft)
        result = data.get("result")
        if isinstance(result, str) and _captured(result):
            # the assembled answer, readable on the chat span (the frames hold it as packed tokens)
            message: dict[str, Any] = {"role": "assistant", "parts": [{"type": "text", "content": result}]}
            if isinstance(reason, str) and reason:
                message["finish_reason"] = reason
            attrs["gen_ai.output.messages"] = _json([message])
    elif closer_type == "tool_usage_finished" and _captured(data.get("output")):
        attrs["gen_ai.tool.call.result"] = _json(data["output"])
    _set_text(attrs, "error.type", data.get("error_type"))
    return attrs


def _set_text(attrs: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` only to a non-empty string: a missing or odd value sets nothing."""
    if isinstance(value, str) and value:
        attrs[key] = value
