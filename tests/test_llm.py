"""``LLM``: direct and streamed calls as frames, over the real local OpenAI-compatible server
(through the real ``openai`` client) and over the scripted provider (C8, C11)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import framescope
from framescope import replay, stream_call
from framescope.llm import (
    LLM,
    REDACTED,
    LLMConfigurationError,
    LLMConnectionError,
    LLMHTTPError,
    LLMProtocolError,
    LLMTimeoutError,
    LLMToolLoopError,
)
from framescope.llm.providers import ScriptedReply, ScriptedToolCall, register_script
from framescope.testing.llm_scripts import tokenize
from framescope.tools import tool
from framescope.types.streaming import StreamFrame

from support.llm_helpers import KEY, server_llm
from support.openai_server import OpenAICompatibleServer

HELLO = [{"role": "user", "content": "Say hello"}]


@dataclass
class Backend:
    """One provider under test, with a way to script its next answers."""

    name: str
    make: Callable[..., LLM]
    answer: Callable[..., None]
    #: how the backend splits a reply into stream tokens
    split: Callable[[str], list[str]]
    #: the messages of every request the backend received so far
    sent: Callable[[], list[list[dict[str, Any]]]]


@pytest.fixture(params=["openai", "scripted"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "openai":
        with OpenAICompatibleServer() as srv:

            def answer(text: str = "", thinking: str = "", tool_calls: list[dict[str, Any]] | None = None) -> None:
                srv.enqueue(reply=text, reasoning=thinking, tool_calls=tool_calls or [])

            yield Backend(
                "openai",
                lambda **kw: server_llm(srv, **kw),
                answer,
                lambda text: re.findall(r"\s*\S+|\s+", text),  # the test server's word split
                lambda: [r.json["messages"] for r in srv.requests],
            )
        return
    replies: list[ScriptedReply] = []
    seen: list[list[dict[str, Any]]] = []

    def rule(messages: list[dict[str, Any]]) -> ScriptedReply:
        seen.append([dict(m) for m in messages])
        assert replies, "the test scripted fewer answers than the call asked for"
        return replies.pop(0)

    register_script("backend", rule)

    def answer_scripted(text: str = "", thinking: str = "", tool_calls: list[dict[str, Any]] | None = None) -> None:
        calls = tuple(ScriptedToolCall(c["name"], c.get("arguments", {}), c.get("id")) for c in tool_calls or [])
        replies.append(ScriptedReply(text=text, thinking=thinking, tool_calls=calls))

    yield Backend("scripted", lambda **kw: LLM("scripted/backend", **kw), answer_scripted, tokenize, lambda: seen)


def types_of(frames: list[StreamFrame]) -> list[str]:
    return [f.type for f in frames]


def only(frames: list[StreamFrame], type_: str) -> StreamFrame:
    matches = [f for f in frames if f.type == type_]
    assert len(matches) == 1, f"expected one {type_}, got {types_of(frames)}"
    return matches[0]


# ====================================================================== the seed sample


def test_the_seed_sample_runs_unchanged(
    server: OpenAICompatibleServer, monkeypatch: pytest.MonkeyPatch, capsys, memory_traces
) -> None:
    server.set(reply="framescope streams frames. It replays them too.")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    sample = """
from framescope import LLM

llm = LLM(model="gpt-4o-mini")
stream = llm.stream_events(
    messages=[
        {
            "role": "user",
            "content": "Explain CrewAI streaming in two short sentences.",
        }
    ]
)

with stream:
    for chunk in stream:
        print(chunk.content, end="", flush=True)

result = stream.result
"""
    scope: dict[str, Any] = {}
    exec(compile(sample, "seed-sample", "exec"), scope)
    assert scope["result"] == "framescope streams frames. It replays them too."
    assert capsys.readouterr().out == scope["result"]
    sent = server.requests[-1].json
    assert sent["model"] == "gpt-4o-mini" and sent["stream"] is True
    assert sent["messages"][0]["content"].startswith("Explain CrewAI")


# ====================================================================== direct calls


def test_call_returns_the_text_without_streaming(server: OpenAICompatibleServer, memory_traces) -> None:
    server.set(reply="Plain answer.", prompt_tokens=7)
    llm = server_llm(server, temperature=0.2, max_tokens=50)
    assert llm.call("Say hello") == "Plain answer."
    sent = server.requests[-1].json
    assert "stream" not in sent
    assert sent["messages"] == [{"role": "user", "content": "Say hello"}]
    assert (sent["temperature"], sent["max_tokens"]) == (0.2, 50)
    [run] = memory_traces.runs()
    assert types_of(run.frames) == ["llm_call_started", "llm_call_completed"]
    started, completed = run.frames
    assert started.data["model"] == "test-model" and started.data["provider"] == "openai"
    assert started.data["temperature"] == 0.2 and started.data["max_tokens"] == 50
    assert completed.data["result"] == "Plain answer."
    assert completed.data["usage"] == {"input_tokens": 7, "output_tokens": 2}
    assert completed.data["finish_reason"] == "stop" and completed.data["response_model"] == "test-model"
    assert "time_to_first_token_s" not in completed.data  # nothing was streamed
    [span] = [r for r in memory_traces.records() if r.name == "chat test-model"]
    assert span.attributes["gen_ai.request.model"] == "test-model"
    assert span.attributes["gen_ai.usage.input_tokens"] == 7
    assert span.attributes["gen_ai.usage.output_tokens"] == 2
    assert span.attributes["gen_ai.request.temperature"] == 0.2


def test_call_with_stream_true_streams_tokens_and_still_returns_the_text(backend: Backend, memory_traces) -> None:
    backend.answer("Streamed but returned whole.")
    llm = backend.make(stream=True)
    with stream_call(llm.call, "hi") as session:
        frames = list(session)
    assert session.result == "Streamed but returned whole."
    chunks = [f.content for f in frames if f.type == "llm_stream_chunk"]
    assert chunks == backend.split("Streamed but returned whole.")
    assert llm.stream is True


def test_a_string_is_one_user_message_and_the_callers_list_is_not_mutated(server: OpenAICompatibleServer) -> None:
    server.set(reply="ok")
    llm = server_llm(server)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    server.enqueue(tool_calls=[{"name": "ping", "arguments": {}}])
    assert llm.call(messages, available_functions={"ping": lambda: "pong"}) == "ok"
    assert len(messages) == 2
    assert len(server.requests[-1].json["messages"]) == 4


@pytest.mark.parametrize(
    ("messages", "error", "match"),
    [
        ([], ValueError, "empty"),
        ({"role": "user", "content": "x"}, TypeError, "list of"),
        ([{"content": "no role"}], ValueError, "no 'role'"),
        (["just text"], TypeError, r"messages\[0\]"),
    ],
)
def test_bad_messages_are_refused_before_any_run_starts(messages: Any, error: type[Exception], match: str) -> None:
    llm = LLM("scripted/echo")
    with pytest.raises(error, match=match):
        llm.stream_events(messages)
    with pytest.raises(error, match=match):
        llm.call(messages)


def test_unknown_prefix_is_refused_at_construction() -> None:
    with pytest.raises(LLMConfigurationError, match="Unknown model prefix"):
        LLM("olama/llama3")


# ====================================================================== streamed calls


def test_stream_events_streams_tokens_thinking_and_the_closing_frame(
    server: OpenAICompatibleServer, memory_traces
) -> None:
    server.set(reply="The quick brown fox", reasoning="Think first", prompt_tokens=9)
    llm = server_llm(server)
    with llm.stream_events(messages=HELLO) as stream:
        frames = list(stream)
    assert stream.result == "The quick brown fox"
    assert types_of(frames) == [
        "llm_call_started",
        "llm_thinking_chunk",
        "llm_thinking_chunk",
        "llm_stream_chunk",
        "llm_stream_chunk",
        "llm_stream_chunk",
        "llm_stream_chunk",
        "llm_call_completed",
    ]
    assert all(f.channel == "llm" for f in frames)
    started, completed = frames[0], frames[-1]
    assert all(f.parent_id == started.id for f in frames[1:])
    assert [f.data for f in frames if f.type == "llm_stream_chunk"] == [
        {"chunk": "The"},
        {"chunk": " quick"},
        {"chunk": " brown"},
        {"chunk": " fox"},
    ]
    assert "".join(f.content for f in frames if f.type == "llm_thinking_chunk") == "Think first"
    assert started.data["messages"] == HELLO and started.data["content_redacted"] is False
    assert completed.data["usage"] == {"input_tokens": 9, "output_tokens": 6}
    assert completed.data["result"] == "The quick brown fox"
    ttft = completed.data["time_to_first_token_s"]
    assert isinstance(ttft, float) and 0 < ttft < 5
    assert server.requests[-1].json["stream"] is True
    [span] = [r for r in memory_traces.records() if r.name == "chat test-model"]
    assert span.attributes["framescope.llm.time_to_first_token_s"] == ttft
    assert list(span.attributes["gen_ai.response.finish_reasons"]) == ["stop"]


def test_stream_events_turns_streaming_on_for_that_call_only(server: OpenAICompatibleServer) -> None:
    server.set(reply="a b c")
    llm = server_llm(server)
    assert llm.stream is False
    with llm.stream_events(HELLO) as stream:
        assert [f.content for f in stream.llm if f.content] == ["a", " b", " c"]
    assert llm.stream is False
    assert llm.call("again") == "a b c"
    assert "stream" not in server.requests[-1].json  # the instance setting is back in force
    llm.stream = True
    with llm.stream_events(HELLO) as stream:
        list(stream)
    assert llm.stream is True


def test_stream_setting_is_restored_after_a_failed_call(server: OpenAICompatibleServer) -> None:
    llm = server_llm(server)
    server.enqueue(status=500)
    stream = llm.stream_events(HELLO)
    with pytest.raises(LLMHTTPError):
        list(stream)
    assert llm.stream is False
    server.enqueue(status=500)
    with pytest.raises(LLMHTTPError):
        llm.call("x")
    assert llm.stream is False


def test_a_concurrent_call_is_not_switched_to_streaming(server: OpenAICompatibleServer) -> None:
    server.set(reply="one two three four", token_delay_s=0.05)
    llm = server_llm(server)
    with llm.stream_events(HELLO) as stream:
        frames = iter(stream)
        next(frames)
        assert llm.call("meanwhile") == "one two three four"  # during the streamed call
        rest = list(frames)
    [meanwhile] = [r.json for r in server.requests if r.json["messages"][0]["content"] == "meanwhile"]
    assert "stream" not in meanwhile
    assert stream.result == "one two three four" and rest[-1].type == "llm_call_completed"


def test_a_slow_stream_is_delivered_as_it_arrives(server: OpenAICompatibleServer) -> None:
    # The server sends three tokens, then holds the connection open and silent: a client that
    # buffered the answer would see nothing before its read timeout ends the call.
    server.set(reply=" ".join(f"w{i}" for i in range(10)), tokens=10, stall_after=4)  # role chunk + 3 tokens
    llm = server_llm(server, timeout=30.0)
    chunks: list[StreamFrame] = []
    with llm.stream_events(HELLO) as stream:
        for frame in stream:
            if frame.type == "llm_stream_chunk":
                chunks.append(frame)
                if len(chunks) == 3:
                    break
    assert [c.data["chunk"].strip() for c in chunks] == ["w0", "w1", "w2"]
    # the server counts a chunk after writing it: wait until it has gone silent before reading the count
    assert server.stalled.wait(5)
    assert server.requests[-1].chunks_sent == 4  # the rest was never sent: they arrived as streamed


def test_stream_text_yields_only_the_answer_text(backend: Backend) -> None:
    backend.answer("Only this text.", thinking="not this")
    llm = backend.make()
    chunks = list(llm.stream_text("hi"))
    assert chunks == backend.split("Only this text.")
    assert "not" not in "".join(chunks)


def test_breaking_out_of_stream_text_closes_the_http_stream(server: OpenAICompatibleServer) -> None:
    server.set(reply="x" * 200, tokens=200, token_delay_s=0.01)
    llm = server_llm(server)
    chunks = llm.stream_text(HELLO)
    assert next(chunks) == "x"
    chunks.close()
    assert server.client_disconnected.wait(3), "the HTTP stream was left open"
    assert server.requests[-1].chunks_sent < 150


# ====================================================================== errors


@pytest.mark.parametrize(
    ("behaviour", "error", "match"),
    [
        ({"status": 500}, LLMHTTPError, "HTTP 500"),
        ({"status": 429}, LLMHTTPError, "Rate limited"),
        ({"drop_after": 3}, LLMConnectionError, "dropped mid-stream"),
        ({"malformed_after": 2}, LLMProtocolError, "not JSON"),
        ({"hang": True}, LLMTimeoutError, "did not answer"),
        ({"stall_after": 3}, LLMTimeoutError, "stopped streaming"),
    ],
)
def test_provider_failures_fail_the_call_with_a_clear_error(
    server: OpenAICompatibleServer, memory_traces, behaviour: dict[str, Any], error: type[Exception], match: str
) -> None:
    server.enqueue(**behaviour)
    llm = server_llm(server, timeout=0.5)
    stream = llm.stream_events(HELLO)
    with pytest.raises(error, match=match) as from_iteration:
        list(stream)
    with pytest.raises(error) as from_result:
        _ = stream.result
    assert from_result.value is from_iteration.value
    failed = stream.frames[-1]
    assert failed.type == "llm_call_failed" and failed.channel == "llm"
    assert failed.data["error_type"] == error.__name__ and match.split()[0] in failed.data["error"]
    assert failed.parent_id == stream.frames[0].id
    if "drop_after" in behaviour:  # the tokens that did arrive were streamed before the failure
        assert [f.type for f in stream.frames].count("llm_stream_chunk") >= 1
    framescope.flush()
    [span] = [r for r in memory_traces.records() if r.name == "chat test-model"]
    assert span.status_code == "ERROR" and span.attributes["error.type"] == error.__name__


def test_the_api_key_never_shows(server: OpenAICompatibleServer, trace_file) -> None:
    llm = server_llm(server)
    assert KEY not in repr(llm) and KEY not in str(vars(llm))
    server.enqueue(status=401)
    stream = llm.stream_events(HELLO)
    with pytest.raises(LLMHTTPError) as caught:
        list(stream)
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)
    assert all(KEY not in json.dumps(f.data) for f in stream.frames)
    framescope.flush()
    text = trace_file.read_text()
    assert "HTTP 401" in text and KEY not in text and "sk-test" not in text
    assert server.requests[-1].headers["authorization"] == f"Bearer {KEY}"  # it was sent, only there


# ====================================================================== cancellation


def test_close_mid_stream_closes_the_http_response(server: OpenAICompatibleServer) -> None:
    server.set(reply="x" * 300, tokens=300, token_delay_s=0.01)
    llm = server_llm(server)
    stream = llm.stream_events(HELLO)
    frames = iter(stream)
    assert next(frames).type == "llm_call_started"
    assert next(frames).type == "llm_stream_chunk"
    stream.close()
    assert stream.is_cancelled
    assert server.client_disconnected.wait(3), "close() left the HTTP stream open"
    assert server.requests[-1].chunks_sent < 200
    with pytest.raises(RuntimeError, match="closed before the run finished"):
        _ = stream.result


def test_close_interrupts_a_stalled_stream_promptly(server: OpenAICompatibleServer) -> None:
    server.set(reply="a b c d e f", stall_after=3)  # then silence, connection open
    llm = server_llm(server, timeout=30.0)
    stream = llm.stream_events(HELLO)
    for frame in stream:
        if frame.type == "llm_stream_chunk":
            break
    assert server.stalled.wait(5)  # the server sent its chunks and went silent: the run is reading
    stream.close()
    # Without the abort the thread would sit in recv() until the 30 s read timeout.
    for thread in _run_threads():
        thread.join(5)
    assert not _run_threads(), "the run thread stayed blocked on the stalled read"


def _run_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("framescope-run-") and t.is_alive()]


# ====================================================================== tool calling


def test_tool_calls_run_as_framescope_tools_and_the_call_continues(backend: Backend, memory_traces) -> None:
    backend.answer(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_w"}])
    backend.answer("It is sunny in Paris.")
    seen: list[str] = []

    def get_weather(city: str) -> dict[str, Any]:
        seen.append(city)
        return {"city": city, "sky": "sunny"}

    llm = backend.make()
    with llm.stream_events("Weather in Paris?", available_functions={"get_weather": get_weather}) as stream:
        frames = list(stream)
    assert stream.result == "It is sunny in Paris." and seen == ["Paris"]
    started = frames[0]
    deltas = [f for f in frames if f.type == "llm_tool_call_delta"]
    assert deltas and deltas[0].data["name"] == "get_weather" and deltas[0].data["id"] == "call_w"
    assert json.loads("".join(d.data["arguments_fragment"] for d in deltas)) == {"city": "Paris"}
    tool_started = only(frames, "tool_usage_started")
    tool_finished = only(frames, "tool_usage_finished")
    assert tool_started.channel == "tools" and tool_started.parent_id == started.id
    assert tool_started.data["tool_call_id"] == "call_w" and tool_started.data["arguments"] == {"city": "Paris"}
    assert tool_finished.data["output"] == {"city": "Paris", "sky": "sunny"}
    assert [f.type for f in stream.tools] == ["tool_usage_started", "tool_usage_finished"]
    completed = frames[-1]
    assert completed.type == "llm_call_completed" and completed.data["rounds"] == 2
    assert completed.data["finish_reason"] == "stop"
    # the answer's tokens come after the tool ran
    assert frames.index(tool_finished) < min(i for i, f in enumerate(frames) if f.type == "llm_stream_chunk")
    names = [r.name for r in memory_traces.records()]
    assert "execute_tool get_weather" in names
    assert backend.sent()[-1][-1] == {
        "role": "tool",
        "tool_call_id": "call_w",
        "content": '{"city": "Paris", "sky": "sunny"}',
    }


def test_the_tool_round_trip_reaches_the_server_in_the_openai_format(server: OpenAICompatibleServer) -> None:
    server.enqueue(tool_calls=[{"name": "add", "arguments": {"a": 2, "b": 3}, "id": "call_add"}])
    server.enqueue(reply="5")

    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    llm = server_llm(server)
    assert llm.call("2+3?", tools=[add]) == "5"
    first, second = (r.json for r in server.requests[-2:])
    assert first["tools"][0]["function"]["name"] == "add"
    assert first["tools"][0]["function"]["parameters"]["required"] == ["a", "b"]
    assistant, result = second["messages"][-2:]
    assert assistant["role"] == "assistant" and assistant["tool_calls"][0]["id"] == "call_add"
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"a": 2, "b": 3}
    assert result == {"role": "tool", "tool_call_id": "call_add", "content": "5"}


def test_unknown_and_failing_tools_are_fed_back_to_the_model(backend: Backend) -> None:
    backend.answer(
        tool_calls=[
            {"name": "nope", "arguments": {"x": 1}, "id": "call_1"},
            {"name": "explode", "arguments": {}, "id": "call_2"},
        ]
    )
    backend.answer("Sorry, the tools failed.")

    def explode() -> str:
        raise RuntimeError("kaboom")

    llm = backend.make()
    with llm.stream_events("go", available_functions={"explode": explode}) as stream:
        frames = list(stream)
    assert stream.result == "Sorry, the tools failed."
    errors = [f for f in frames if f.type == "tool_usage_error"]
    assert [e.data["error_type"] for e in errors] == ["UnknownToolError", "RuntimeError"]
    assert "no tool named 'nope'" in errors[0].data["error"] and "kaboom" in errors[1].data["error"]
    starts = [f for f in frames if f.type == "tool_usage_started"]
    assert [s.data["tool_call_id"] for s in starts] == ["call_1", "call_2"]
    assert all(s.parent_id == frames[0].id for s in starts)
    tool_messages = [m for m in backend.sent()[-1] if m["role"] == "tool"]
    assert tool_messages == [
        {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": "Error: there is no tool named 'nope'; available tools: explode",
        },
        {"role": "tool", "tool_call_id": "call_2", "content": "Error: tool 'explode' failed: RuntimeError: kaboom"},
    ]


def test_the_tool_loop_is_bounded(memory_traces) -> None:
    rounds: list[int] = []

    def always_tools(messages: list[dict[str, Any]]) -> Any:
        rounds.append(len(messages))
        return ScriptedToolCall("ping", {})

    register_script("loop", always_tools)
    llm = LLM("scripted/loop", max_tool_rounds=2)
    stream = llm.stream_events("go", available_functions={"ping": lambda: "pong"})
    with pytest.raises(LLMToolLoopError, match="after 2 tool rounds"):
        list(stream)
    assert len(rounds) == 3
    assert [f.type for f in stream.frames].count("tool_usage_finished") == 2
    assert stream.frames[-1].type == "llm_call_failed"
    assert stream.frames[-1].data["error_type"] == "LLMToolLoopError"


def test_tool_calls_without_functions_are_reported_not_run(server: OpenAICompatibleServer) -> None:
    server.enqueue(reply="", tool_calls=[{"name": "search", "arguments": {"q": "otel"}, "id": "call_s"}])
    spec = {"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}
    llm = server_llm(server)
    with llm.stream_events(HELLO, tools=[spec]) as stream:
        frames = list(stream)
    assert stream.result == ""
    completed = frames[-1]
    assert completed.data["finish_reason"] == "tool_calls"
    assert completed.data["tool_calls"] == [{"id": "call_s", "name": "search", "arguments": {"q": "otel"}}]
    assert not [f for f in frames if f.channel == "tools"]
    assert len(server.requests) == 1


# ====================================================================== content capture


def test_with_content_capture_off_frames_carry_no_content(
    backend: Backend, monkeypatch: pytest.MonkeyPatch, trace_file
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false")
    framescope.configure(replace=True)
    backend.answer("Secret answer text.", thinking="secret reasoning")
    llm = backend.make()
    with llm.stream_events([{"role": "user", "content": "Secret question"}]) as stream:
        frames = list(stream)
    assert stream.result == "Secret answer text."  # the caller still gets the answer
    started, completed = frames[0], frames[-1]
    assert started.data["content_redacted"] is True
    assert started.data["messages"] == [{"role": "user", "content": REDACTED}]
    assert completed.data["result"] == REDACTED
    tokens = [f for f in frames if f.type == "llm_stream_chunk"]
    assert len(tokens) == len(backend.split("Secret answer text.")), "token count and timing stay observable"
    assert all(f.data == {"chunk": ""} for f in tokens)
    assert all(f.data == {"chunk": ""} for f in frames if f.type == "llm_thinking_chunk")
    assert list(stream.text()) == []
    framescope.flush()
    text = trace_file.read_text()
    assert "Secret" not in text and "secret" not in text
    replayed = replay.from_file(trace_file, stream.trace_id)
    assert list(replayed) == frames
    assert replayed.frames[0].data["content_redacted"] is True


def test_with_content_capture_off_tool_call_deltas_are_masked(
    server: OpenAICompatibleServer, monkeypatch: pytest.MonkeyPatch, memory_traces
) -> None:
    framescope.configure(exporter=memory_traces.exporter, capture_message_content=False, replace=True)
    server.enqueue(reply="", tool_calls=[{"name": "lookup", "arguments": {"q": "private"}}])
    llm = server_llm(server)
    with llm.stream_events(HELLO, tools=[{"type": "function", "function": {"name": "lookup"}}]) as stream:
        frames = list(stream)
    deltas = [f for f in frames if f.type == "llm_tool_call_delta"]
    assert deltas and all(d.data["arguments_fragment"] == "" for d in deltas)
    assert deltas[0].data["name"] == "lookup"
    assert frames[-1].data["tool_calls"][0]["arguments"] == REDACTED
    assert "private" not in json.dumps([f.data for f in frames])


# ====================================================================== replay


def test_a_streamed_call_replays_exactly_from_its_trace(backend: Backend, trace_file) -> None:
    backend.answer("Replay me, token by token.", thinking="plan it")
    llm = backend.make()
    stream = llm.stream_events("hello")
    with stream:
        live = list(stream)
    framescope.flush()
    replayed = replay.from_file(trace_file, stream.trace_id)
    assert list(replayed) == live
    assert replayed.result == stream.result == "Replay me, token by token."


def test_a_tool_calling_run_replays_exactly(backend: Backend, trace_file) -> None:
    backend.answer(tool_calls=[{"name": "echo", "arguments": {"text": "hi"}}])
    backend.answer("Echoed.")
    llm = backend.make()
    with llm.stream_events("hello", available_functions={"echo": lambda text: text}) as stream:
        live = list(stream)
    framescope.flush()
    assert list(replay.from_file(trace_file, stream.trace_id)) == live


def test_a_failed_call_replays_its_failure(server: OpenAICompatibleServer, trace_file) -> None:
    server.enqueue(drop_after=4)
    llm = server_llm(server)
    stream = llm.stream_events(HELLO)
    with pytest.raises(LLMConnectionError):
        list(stream)
    framescope.flush()
    replayed = replay.from_file(trace_file, stream.trace_id)
    with pytest.raises(Exception, match="LLMConnectionError"):
        list(replayed)
    assert replayed.frames == stream.frames


@pytest.mark.parametrize("source", ["openai", "scripted"])
def test_a_10000_token_answer_replays_exactly(source: str, server: OpenAICompatibleServer, trace_file) -> None:
    words = [f" w{i}" for i in range(10_000)]
    text = "".join(words)
    if source == "openai":
        server.set(reply=text)
        llm = server_llm(server, timeout=60.0)
    else:
        register_script("long", [text])
        llm = LLM("scripted/long")
    stream = llm.stream_events(HELLO)
    with stream:
        live = list(stream)
    assert [f.content for f in live if f.type == "llm_stream_chunk"] == words
    assert stream.result == text
    framescope.flush()
    replayed = replay.from_file(trace_file, stream.trace_id)
    assert list(replayed) == live
    assert replayed.result == text
