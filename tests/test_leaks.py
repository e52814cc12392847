"""Items 2 and 3 of the hardening issue: capture-off removes content; secrets never reach a trace.

Every test reads back what was exported (the span names, attributes, events and status
descriptions, as JSON text) and looks for the planted content or secret in it.
"""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import framescope
from conftest import MemoryTraces
from framescope import emit, lifecycle, stream_call
from framescope.flow import Flow, listen, start
from framescope.llm import LLM
from framescope.llm.providers import register_script
from framescope.tools import tool
from framescope.types import redaction
from framescope.types.content import STRUCTURE_KEYS
from framescope.types.payload import json_safe

PLANTED = "PLANTED-CONTENT-7f3a"


def exported_text(memory_traces) -> str:
    parts = []
    for record in memory_traces.records():
        parts.append(record.name)
        parts.append(json.dumps(record.attributes, default=str))
        parts.append(str(record.status_description) if hasattr(record, "status_description") else "")
        for event in record.events:
            parts.append(event.name)
            parts.append(json.dumps(event.attributes, default=str))
    return "\n".join(parts)


@tool
def lookup(query: str) -> str:
    if "fail" in query:
        raise ValueError(f"lookup failed for query {query!r}")
    return f"found {query}"


class ContentFlow(Flow):
    @start()
    def ask(self):
        register_script("leak", [PLANTED + " answer"])
        answer = LLM("scripted/leak").call([{"role": "user", "content": PLANTED + " question"}])
        emit("note", {"text": PLANTED, "count": 3})
        return answer  # an LLM answer returned as a method result

    @listen(ask)
    def use_tool(self, answer):
        lookup.invoke({"query": PLANTED})
        try:
            lookup.invoke({"query": PLANTED + " fail"})
        except ValueError:
            pass
        return {"final": answer}


@pytest.fixture
def capture_off(monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false")
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    exporter = InMemorySpanExporter()
    framescope.configure(exporter=exporter, replace=True)
    yield MemoryTraces(exporter)
    framescope.shutdown()


def test_capture_off_removes_content_from_every_frame_type_and_the_trace(capture_off):
    with ContentFlow().stream_events(inputs={"topic": PLANTED}) as session:
        frames = list(session)
    assert session.result == {"final": PLANTED + " answer"}  # the caller still gets everything
    types = {frame.type for frame in frames}
    assert {
        "flow_started",
        "method_execution_finished",
        "llm_call_started",
        "llm_call_completed",
        "tool_usage_started",
        "tool_usage_finished",
        "tool_usage_error",
        "note",
        "flow_finished",
    } <= types
    for frame in frames:
        assert PLANTED not in json.dumps(frame.data), f"{frame.type} carries content: {frame.data}"
    assert PLANTED not in exported_text(capture_off)
    # what stays: names, ids, types, sizes, timings
    started = frames[0]
    assert started.data["flow_name"] == "ContentFlow"
    assert started.data["inputs"] == {"$redacted": "object", "size": 1}
    error = next(f for f in frames if f.type == "tool_usage_error")
    assert error.data["error_type"] == "ValueError" and error.data["tool_name"] == "lookup"
    assert error.data["error"].startswith("[REDACTED] (")
    finished = next(f for f in frames if f.type == "method_execution_finished")
    assert finished.data["method_name"] == "ask" and finished.data["result"]["$redacted"] == "string"
    note = next(f for f in frames if f.type == "note")
    assert note.data == {"text": {"$redacted": "string", "size": len(PLANTED)}, "count": 3}


def test_capture_off_failed_span_has_no_message_and_no_traceback(capture_off):
    def failing() -> None:
        with lifecycle(
            "tool_usage_started", {"tool_name": "t"}, finished="tool_usage_finished", failed="tool_usage_error"
        ):
            raise RuntimeError(f"bad arguments {PLANTED}")

    with pytest.raises(RuntimeError), stream_call(failing) as session:
        list(session)
    (span,) = [r for r in capture_off.records() if r.name.startswith("execute_tool")]
    assert PLANTED not in exported_text(capture_off)
    (event,) = [e for e in span.events if e.name == "exception"]
    assert event.attributes["exception.type"] == "RuntimeError"
    assert "exception.stacktrace" not in event.attributes


def test_structure_keys_are_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "frames.md").read_text()
    for key in ("flow_name", "tool_name", "error_type", "usage"):
        assert key in STRUCTURE_KEYS and f"`{key}`" in doc


SECRET = "s3cr3t-VALUE-42"
LEAKED_KEYS = [
    "token",
    "auth_token",
    "x-auth-token",
    "session_token",
    "client-secret",
    "Authorization ",
    "aws_secret_access_key",
    "db_password",
    "private_key",
    "secret_key",
    "pwd",
    "bearer",
    "passphrase",
    "credentials",
    "X-Goog-Api-Key",
    "ocp-apim-subscription-key",
    "openai-api-key",
    "api_key",
    "apikey",
    "x-api-key",
    "password",
    "cookie",
    "refresh_token",
    "client_secret",
]


@pytest.mark.parametrize("key", LEAKED_KEYS)
def test_secret_keys_are_matched_after_normalising(key):
    assert json_safe({key: SECRET}) == {key: "[REDACTED]"}


def test_ordinary_keys_are_kept():
    data = {"max_tokens": 5, "input_tokens": 3, "author": "me", "key": "k", "session_id": "s-1", "resume_token": "r"}
    assert json_safe(data) == data


@pytest.mark.parametrize(
    "text",
    [
        f"https://api.example.com/v1?api_key={SECRET}&x=1",
        f"https://user:{SECRET}@db.example.com/x",
        f"Authorization: Bearer {SECRET}",
        f"call failed: token={SECRET}",
        "key sk-" + "a1B2c3D4e5F6g7H8i9J0k",
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.s3cr3tSIGnature",
    ],
)
def test_secret_shapes_in_strings_are_redacted(text):
    out = json_safe({"message": text})["message"]
    assert "[REDACTED]" in out
    assert SECRET not in out and "a1B2c3D4e5F6" not in out and "s3cr3tSIGnature" not in out


def test_custom_header_values_are_redacted_and_depth_is_no_way_around():
    headers = {"headers": {"X-Custom-Thing": SECRET, "Content-Type": "application/json"}}
    assert json_safe(headers) == {"headers": {"X-Custom-Thing": "[REDACTED]", "Content-Type": "application/json"}}
    deep: dict = {"api_key": SECRET}
    for _ in range(200):
        deep = {"level": deep}
    assert SECRET not in json.dumps(json_safe(deep))
    cyclic: dict = {"password": SECRET}
    cyclic["self"] = cyclic
    assert SECRET not in json.dumps(json_safe(cyclic))

    class Client:
        def __repr__(self) -> str:
            return f"Client(url='https://h/?api_key={SECRET}')"

    assert SECRET not in json.dumps(json_safe({"client": Client()}))


def test_users_extend_the_rules_by_env_and_api(monkeypatch):
    monkeypatch.setenv("FRAMESCOPE_REDACT_KEYS", "*tenantcode")
    monkeypatch.setenv("FRAMESCOPE_REDACT_PATTERNS", '["acme_[0-9a-f]{8}"]')
    redaction.reset_rules_cache()
    try:
        assert json_safe({"Tenant-Code": "abc"}) == {"Tenant-Code": "[REDACTED]"}
        assert json_safe("id acme_0123abcd here") == "id [REDACTED] here"
        redaction.add_redaction_rules(keys=["favourite_colour"], patterns=[r"\bZZ-\d{4}\b"])
        assert json_safe({"favourite-colour": "blue", "x": "ref ZZ-1234"}) == {
            "favourite-colour": "[REDACTED]",
            "x": "ref [REDACTED]",
        }
    finally:
        monkeypatch.delenv("FRAMESCOPE_REDACT_KEYS")
        monkeypatch.delenv("FRAMESCOPE_REDACT_PATTERNS")
        redaction._extra_keys.clear()
        redaction._extra_values.clear()
        redaction.reset_rules_cache()


def test_a_secret_in_a_base_url_and_in_error_text_never_reaches_the_trace(memory_traces):
    llm = LLM(
        "openai/m",
        base_url=f"http://127.0.0.1:9/v1?api_key={SECRET}",
        api_key="sk-" + "x" * 24,
        max_retries=0,
        timeout=2.0,
    )

    def call() -> None:
        llm.call([{"role": "user", "content": "hi"}])

    with pytest.raises(Exception) as info, stream_call(call) as session:
        list(session)
    assert SECRET not in str(info.value)
    assert SECRET not in json.dumps([f.data for f in session.frames])
    assert SECRET not in exported_text(memory_traces)


def test_a_failing_run_with_a_secret_in_its_message_is_redacted_on_the_span(memory_traces):
    def failing() -> None:
        with lifecycle("flow_started", {"flow_name": "F"}, finished="flow_finished", failed="flow_failed"):
            raise RuntimeError(f"connect to https://u:{SECRET}@host failed")

    with pytest.raises(RuntimeError), stream_call(failing) as session:
        list(session)
    assert SECRET not in json.dumps([f.data for f in session.frames])
    assert SECRET not in exported_text(memory_traces)


def test_capture_off_removes_content_from_conversation_frames(capture_off):
    from framescope.experimental.conversational import ConversationConfig, ConversationState

    @ConversationConfig(llm="scripted/echo", store=":memory:")
    class Chat(Flow[ConversationState]):
        conversational = True

    flow = Chat()
    with flow.stream_turn(f"my secret is {PLANTED}", session_id="s-1") as stream:
        frames = list(stream)
    assert stream.result == f"You said: my secret is {PLANTED}"  # the caller still gets the reply
    assert {"conversation_turn_started", "conversation_message_added", "conversation_turn_completed"} <= {
        f.type for f in frames
    }
    for frame in frames:
        assert PLANTED not in json.dumps(frame.data), f"{frame.type} carries content: {frame.data}"
    assert PLANTED not in exported_text(capture_off)
    added = [f for f in frames if f.type == "conversation_message_added"]
    assert [f.data["role"] for f in added] == ["user", "assistant"]
