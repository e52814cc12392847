"""How lifecycles look to OpenTelemetry tools that know nothing about framescope.

Span names and ``gen_ai.*`` attributes follow the OpenTelemetry GenAI semantic conventions
(``chat {model}``, ``execute_tool {tool}``, ``gen_ai.conversation.id``) so Jaeger, Tempo,
Grafana and other GenAI tooling read framescope traces as they are.  These attributes are a
*view* for humans and dashboards; replay never reads them (the frame envelope rides in the
``framescope.*`` attributes the codec writes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.trace import SpanKind

SPAN_KINDS: dict[str, SpanKind] = {
    "llm_call_started": SpanKind.CLIENT,
}


def _text(value: Any, default: str) -> str:
    return value if isinstance(value, str) and value else default


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
    elif opener_type == "method_execution_started":
        attrs["framescope.flow.name"] = _text(data.get("flow_name"), "flow")
        attrs["framescope.flow.method"] = _text(data.get("method_name"), "method")
    elif opener_type == "llm_call_started":
        attrs["gen_ai.operation.name"] = "chat"
        attrs["gen_ai.request.model"] = _text(data.get("model"), "unknown")
        attrs["gen_ai.provider.name"] = _text(data.get("provider"), "unknown")
        for key in ("temperature", "max_tokens"):
            value = data.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                attrs[f"gen_ai.request.{key}"] = value
    elif opener_type == "tool_usage_started":
        attrs["gen_ai.operation.name"] = "execute_tool"
        attrs["gen_ai.tool.name"] = _text(data.get("tool_name"), "tool")
        call_id = data.get("tool_call_id")
        if isinstance(call_id, str) and call_id:
            attrs["gen_ai.tool.call.id"] = call_id
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
        session_id = data.get("session_id")
        if isinstance(session_id, str) and session_id:
            attrs["gen_ai.conversation.id"] = session_id
    session_id = data.get("conversation_id")
    if isinstance(session_id, str) and session_id:
        attrs["gen_ai.conversation.id"] = session_id
    return attrs


def closer_attributes(closer_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Semantic-convention attributes known when a lifecycle ends."""
    attrs: dict[str, Any] = {}
    if closer_type == "llm_call_completed":
        model = data.get("response_model")
        if isinstance(model, str) and model:
            attrs["gen_ai.response.model"] = model
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
        ttft = data.get("time_to_first_token_s")
        if isinstance(ttft, (int, float)) and not isinstance(ttft, bool):
            attrs["framescope.llm.time_to_first_token_s"] = float(ttft)
    error_type = data.get("error_type")
    if isinstance(error_type, str) and error_type:
        attrs["error.type"] = error_type
    return attrs
