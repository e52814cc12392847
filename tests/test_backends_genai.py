"""What an SRE sees in the real Jaeger, without framescope: GenAI span names and attributes.

The spans are read back from Jaeger's own v3 API (OTLP JSON), as any GenAI-aware tool
would read them.  With content capture on, the chat span carries the input messages and
the assembled answer, the tool spans their arguments and results; with capture off none of
that content reaches Jaeger, anywhere in the trace.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import framescope
from framescope.telemetry.config import get_telemetry_setup

from support.backend_runs import LiveRun, run_incident_flow
from support.backends import Stack, jaeger_get, locate_binaries, running_stack, wait_for_trace

pytestmark = pytest.mark.backends

SECRET_PROMPT = "checkout is failing; look at it"  # IncidentFlow's first prompt
TOOL_ARGUMENT = "checkout errors"  # page_oncall's summary argument
CONTENT_ATTRIBUTES = {
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(locate_binaries(), tmp_path_factory.mktemp("genai-stack"))


def run_into_jaeger(stack: Stack, *, capture: bool, tokens: int = 40) -> tuple[LiveRun, dict[str, Any]]:
    """One IncidentFlow run through the Collector into Jaeger; Jaeger's v3 answer for its trace."""
    assert stack.collector is not None
    framescope.configure(
        endpoint=stack.collector.endpoint("http/protobuf"),
        exporter="otlp",
        service_name="incident-agent",
        capture_message_content=capture,
        replace=True,
    )
    try:
        run = run_incident_flow(tokens=tokens)
        assert framescope.flush()
        [stats] = get_telemetry_setup().export_stats
    finally:
        framescope.shutdown()
    wait_for_trace(stack, run.trace_id, stats.spans_exported)
    response = jaeger_get(stack, f"/api/v3/traces/{run.trace_id}")
    assert response.status_code == 200
    return run, response.json()


def _value(value: dict[str, Any]) -> Any:
    for kind in ("stringValue", "boolValue", "doubleValue"):
        if kind in value:
            return value[kind]
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [_value(v) for v in value["arrayValue"].get("values", [])]
    return value


def spans_by_name(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Span name -> the spans' attributes (as plain values), from Jaeger's OTLP JSON."""
    out: dict[str, list[dict[str, Any]]] = {}
    for resource in document["result"]["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                attributes = {a["key"]: _value(a["value"]) for a in span.get("attributes", [])}
                out.setdefault(span["name"], []).append(attributes)
    return out


@pytest.fixture(scope="module")
def captured(stack: Stack) -> tuple[LiveRun, dict[str, list[dict[str, Any]]]]:
    run, document = run_into_jaeger(stack, capture=True)
    return run, spans_by_name(document)


def test_span_names_follow_the_genai_conventions(captured: Any) -> None:
    _, spans = captured
    assert {
        "invoke_workflow IncidentFlow",
        "chat scripted/backends-tools",
        "chat scripted/backends-report",
        "chat scripted/backends-summary",
        "execute_tool count_errors",
        "execute_tool page_oncall",
    } <= set(spans)


def test_the_workflow_span_names_its_workflow(captured: Any) -> None:
    _, spans = captured
    [workflow] = spans["invoke_workflow IncidentFlow"]
    assert workflow["gen_ai.operation.name"] == "invoke_workflow"
    assert workflow["gen_ai.workflow.name"] == "IncidentFlow"


def test_the_chat_span_carries_the_genai_request_and_response_attributes(captured: Any) -> None:
    run, spans = captured
    [chat] = spans["chat scripted/backends-report"]
    assert chat["gen_ai.operation.name"] == "chat"
    assert chat["gen_ai.provider.name"] == "scripted"
    assert chat["gen_ai.request.model"] == "scripted/backends-report"
    assert chat["gen_ai.request.stream"] is True
    assert chat["gen_ai.response.model"] == "scripted/backends-report"
    assert chat["gen_ai.response.id"].startswith("scripted-")
    assert chat["gen_ai.response.finish_reasons"] == ["stop"]
    assert chat["gen_ai.usage.input_tokens"] > 0 and chat["gen_ai.usage.output_tokens"] == 40
    assert 0 <= chat["gen_ai.response.time_to_first_chunk"] < 60
    # the assembled answer is readable on the span, not only as packed token frames
    [answer] = json.loads(chat["gen_ai.output.messages"])
    text = answer["parts"][0]["content"]
    assert answer["role"] == "assistant" and answer["finish_reason"] == "stop"
    assert text == "".join(f" r{i}" for i in range(40))
    [completed] = [
        f
        for f in run.frames
        if f.type == "llm_call_completed" and f.data.get("response_model") == "scripted/backends-report"
    ]
    assert completed.data["result"] == text  # what the live stream assembled
    [question] = json.loads(chat["gen_ai.input.messages"])
    assert question["role"] == "user" and question["parts"][0]["type"] == "text"


def test_tool_calls_carry_their_arguments_and_results(captured: Any) -> None:
    _, spans = captured
    [count] = spans["execute_tool count_errors"]
    assert count["gen_ai.tool.name"] == "count_errors"
    assert json.loads(count["gen_ai.tool.call.arguments"]) == {"service": "checkout"}
    assert json.loads(count["gen_ai.tool.call.result"]) == 56
    [chat] = spans["chat scripted/backends-tools"]
    history = json.loads(chat["gen_ai.input.messages"])
    kinds = [part["type"] for message in history for part in message["parts"]]
    assert kinds[0] == "text" and "tool_call" not in kinds  # the first request: the user's question only


def test_with_content_capture_off_no_content_reaches_jaeger(stack: Stack) -> None:
    run, document = run_into_jaeger(stack, capture=False)
    spans = spans_by_name(document)
    for name, attribute_sets in spans.items():
        for attributes in attribute_sets:
            assert not CONTENT_ATTRIBUTES & set(attributes), name
    [chat] = spans["chat scripted/backends-report"]
    assert chat["gen_ai.request.stream"] is True and chat["gen_ai.usage.output_tokens"] == 40
    raw = json.dumps(document)
    assert SECRET_PROMPT not in raw and TOOL_ARGUMENT not in raw
    # the answer is nowhere on the chat span (attributes or token events); note that a flow
    # method's own return value is the application's data and stays on its method span
    chat_spans = [
        span
        for resource in document["result"]["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
        if span["name"].startswith("chat ")
    ]
    assert chat_spans and " r39" not in json.dumps(chat_spans)
    assert run.frames[-1].type == "flow_finished"  # the run itself completed
