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
    return opener_type.removesuffix("_started") or opener_type


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
        _set_text(attrs, "gen_ai.tool.call.id", data.get("tool_call_id"))
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
            ):
                value = usage.get(key)
                if isinstance(value, int) and not isinstance(value, bool):
                    attrs[attr] = value
        ttft = data.get("time_to_first_token_s")
        if isinstance(ttft, (int, float)) and not isinstance(ttft, bool):
            attrs["framescope.llm.time_to_first_token_s"] = float(ttft)
    _set_text(attrs, "error.type", data.get("error_type"))
    return attrs


def _set_text(attrs: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` only to a non-empty string: a missing or odd value sets nothing."""
    if isinstance(value, str) and value:
        attrs[key] = value
