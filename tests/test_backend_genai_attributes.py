"""The GenAI attributes an SRE reads in a backend, checked on the exported spans in memory
(no real backend needed; tests/test_backends_genai.py checks the same through Jaeger).

Content attributes appear only with content capture on, and never carry a redaction marker.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import framescope

from support.backend_runs import run_incident_flow

CONTENT = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result")


def _spans(monkeypatch: pytest.MonkeyPatch, capture: bool) -> dict[str, dict[str, Any]]:
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    exporter = InMemorySpanExporter()
    framescope.configure(exporter=exporter, capture_message_content=capture, replace=True)
    try:
        run_incident_flow(tokens=20)
        framescope.flush()
        return {span.name: dict(span.attributes or {}) for span in exporter.get_finished_spans()}
    finally:
        framescope.shutdown()


def test_capture_on_writes_messages_tool_io_and_the_assembled_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    spans = _spans(monkeypatch, capture=True)
    workflow = spans["invoke_workflow IncidentFlow"]
    assert workflow["gen_ai.workflow.name"] == "IncidentFlow"
    chat = spans["chat scripted/backends-report"]
    assert chat["gen_ai.request.stream"] is True
    assert chat["gen_ai.response.id"].startswith("scripted-")
    assert chat["gen_ai.response.time_to_first_chunk"] == chat["framescope.llm.time_to_first_token_s"]
    [answer] = json.loads(chat["gen_ai.output.messages"])
    assert answer == {
        "role": "assistant",
        "finish_reason": "stop",
        "parts": [{"type": "text", "content": "".join(f" r{i}" for i in range(20))}],
    }
    [question] = json.loads(chat["gen_ai.input.messages"])
    assert question["role"] == "user" and question["parts"][0]["content"].startswith("write the incident report")
    tools_chat = spans["chat scripted/backends-tools"]
    assert json.loads(tools_chat["gen_ai.input.messages"])[0]["parts"] == [
        {"type": "text", "content": "checkout is failing; look at it"}
    ]
    tool = spans["execute_tool page_oncall"]
    assert json.loads(tool["gen_ai.tool.call.arguments"]) == {"team": "payments", "summary": "checkout errors"}
    assert json.loads(tool["gen_ai.tool.call.result"]) == "paged payments: checkout errors"


def test_capture_off_writes_no_content_attribute(monkeypatch: pytest.MonkeyPatch) -> None:
    spans = _spans(monkeypatch, capture=False)
    for name, attributes in spans.items():
        assert not set(CONTENT) & set(attributes), name
        assert "[REDACTED]" not in json.dumps(
            {k: v for k, v in attributes.items() if k.startswith("gen_ai.")}, default=str
        ), name
    chat = spans["chat scripted/backends-report"]
    assert chat["gen_ai.request.stream"] is True and chat["gen_ai.usage.output_tokens"] == 20


def test_input_messages_follow_the_conventions_shape_for_tool_rounds() -> None:
    from framescope.telemetry.semconv import input_messages

    history = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "rainy"},
    ]
    assert input_messages(history) == [
        {"role": "user", "parts": [{"type": "text", "content": "weather?"}]},
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}}],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "result": "rainy"}]},
    ]
