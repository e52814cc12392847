"""Conversational flows (C9): turns streamed as frames, sessions, routes, failures, traces, replay.

Turns run over the scripted provider and over the real local OpenAI-compatible server; the
store is in memory here (tests/test_conversational_store.py covers the SQLite file: restarts,
kills, corruption).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import framescope
from framescope import Flow
from framescope.experimental.conversational import (
    ConversationConfig,
    ConversationDefinitionError,
    ConversationInputError,
    ConversationState,
    RouteError,
    Turn,
    UnknownSessionError,
    replay_conversation,
    route,
)
from framescope.llm import LLM, REDACTED, LLMError
from framescope.llm.providers import register_script
from framescope.testing.llm_scripts import clear_scripts, tokenize
from framescope.types.streaming import StreamFrame

from support.openai_server import OpenAICompatibleServer

KEY = "sk-test-key"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    # the default store must never land in the repository
    monkeypatch.setenv("FRAMESCOPE_CONVERSATION_STORE", str(tmp_path / "default-store.sqlite3"))
    yield
    clear_scripts()


@dataclass
class Backend:
    """A model under test: the LLM to configure and what each request sent."""

    name: str
    llm: Callable[..., LLM]
    split: Callable[[str], list[str]]
    sent: Callable[[], list[list[dict[str, Any]]]]
    fail_next: Callable[[], None]


@pytest.fixture(params=["scripted", "openai"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Both backends answer "Echo: <last user message>" so multi-turn transcripts are checkable."""
    if request.param == "openai":
        with OpenAICompatibleServer() as server:
            original = server._next_behaviour

            def next_behaviour() -> Any:
                behaviour = original()
                body = server.requests[-1].json if server.requests else {}
                last = [m for m in body.get("messages", []) if m["role"] == "user"]
                if behaviour.status is None and last:
                    behaviour.reply = f"Echo: {last[-1]['content']}"
                return behaviour

            server._next_behaviour = next_behaviour  # type: ignore[method-assign]
            yield Backend(
                "openai",
                lambda **kw: LLM(
                    "openai/test-model", base_url=server.base_url, api_key=KEY, max_retries=0, timeout=5.0, **kw
                ),
                lambda text: re.findall(r"\s*\S+|\s+", text),
                lambda: [r.json["messages"] for r in server.requests],
                lambda: server.enqueue(status=500),
            )
        return
    seen: list[list[dict[str, Any]]] = []
    failing: list[bool] = []

    def rule(messages: list[dict[str, Any]]) -> Any:
        seen.append([dict(m) for m in messages])
        if failing:
            failing.pop()
            raise LLMError("the scripted model broke on purpose", model="scripted/chat")
        return f"Echo: {[m for m in messages if m['role'] == 'user'][-1]['content']}"

    register_script("chat", rule)
    yield Backend(
        "scripted", lambda **kw: LLM("scripted/chat", **kw), tokenize, lambda: seen, lambda: failing.append(True)
    )


def chat_flow(llm: LLM | str | None, **config: Any) -> type[Flow[ConversationState]]:
    config.setdefault("store", ":memory:")

    @ConversationConfig(llm=llm, **config)
    class ChatFlow(Flow[ConversationState]):
        conversational = True

    return ChatFlow


def consume(stream: Any) -> tuple[list[StreamFrame], Any, BaseException | None]:
    frames: list[StreamFrame] = []
    try:
        with stream:
            for frame in stream.events:
                frames.append(frame)
        return frames, stream.result, None
    except Exception as exc:
        return frames, None, exc


def types_of(frames: list[StreamFrame]) -> list[str]:
    return [f.type for f in frames if f.type != "llm_stream_chunk"]


def text_of(frames: list[StreamFrame]) -> str:
    return "".join(f.content for f in frames if f.type == "llm_stream_chunk")


# ====================================================================== the seed sample


def test_the_seed_sample_runs_unchanged(monkeypatch: pytest.MonkeyPatch, capsys, memory_traces) -> None:
    with OpenAICompatibleServer(reply="I can answer questions about framescope.") as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        sample = """
from framescope import Flow
from framescope.experimental.conversational import ConversationConfig, ConversationState


@ConversationConfig(llm="gpt-4o-mini", defer_trace_finalization=True)
class ChatFlow(Flow[ConversationState]):
    conversational = True


flow = ChatFlow()
stream = flow.stream_turn("What can you help me with?", session_id="session-1")

with stream:
    for frame in stream.events:
        if frame.channel == "llm" and frame.type == "llm_stream_chunk":
            print(frame.content, end="", flush=True)

reply = stream.result
"""
        scope: dict[str, Any] = {}
        exec(compile(sample, "seed-sample", "exec"), scope)
    assert scope["reply"] == "I can answer questions about framescope."
    assert capsys.readouterr().out == scope["reply"]
    sent = server.requests[-1].json
    assert sent["model"] == "gpt-4o-mini" and sent["stream"] is True
    assert sent["messages"] == [{"role": "user", "content": "What can you help me with?"}]
    assert [m.content for m in scope["flow"].transcript("session-1")] == ["What can you help me with?", scope["reply"]]


# ====================================================================== one turn


def test_a_turn_streams_lifecycle_transcript_and_tokens_in_order(backend: Backend) -> None:
    flow = chat_flow(backend.llm())()
    frames, result, error = consume(flow.stream_turn("Hello there", session_id="s-1"))
    assert error is None
    assert result == "Echo: Hello there"
    assert types_of(frames) == [
        "conversation_turn_started",
        "conversation_message_added",
        "llm_call_started",
        "llm_call_completed",
        "conversation_message_added",
        "conversation_turn_completed",
    ]
    started, closing = frames[0], frames[-1]
    assert (started.channel, closing.channel) == ("flow", "flow")
    assert started.data["session_id"] == closing.data["session_id"] == "s-1"
    assert closing.data["result"] == result and closing.data["turn"] == 1 and closing.data["route"] == "reply"
    added = [f for f in frames if f.type == "conversation_message_added"]
    assert [(f.channel, f.data["role"], f.data["content"]) for f in added] == [
        ("messages", "user", "Hello there"),
        ("messages", "assistant", result),
    ]
    chunks = [f for f in frames if f.type == "llm_stream_chunk"]
    assert all(f.channel == "llm" for f in chunks)
    assert [f.content for f in chunks] == backend.split(result)
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert all(f.parent_id == started.id for f in frames[1:] if f.channel != "llm" or f.type == "llm_call_started")


def test_the_llm_streams_during_the_turn_and_its_stream_setting_is_unchanged(backend: Backend) -> None:
    for setting in (False, True):
        llm = backend.llm(stream=setting)
        flow = chat_flow(llm)()
        frames, result, _ = consume(flow.stream_turn("Stream please", session_id=f"s-{setting}"))
        assert text_of(frames) == result == "Echo: Stream please"
        assert next(f for f in frames if f.type == "llm_call_started").data["stream"] is True
        assert llm.stream is setting


def test_a_failed_turn_still_leaves_the_stream_setting_alone(backend: Backend) -> None:
    llm = backend.llm()
    flow = chat_flow(llm)()
    backend.fail_next()
    _, _, error = consume(flow.stream_turn("Break", session_id="s"))
    assert error is not None
    assert llm.stream is False


def test_turn_returns_the_reply_and_traces_like_a_stream(backend: Backend, memory_traces) -> None:
    flow = chat_flow(backend.llm())()
    assert flow.turn("One", session_id="s") == "Echo: One"
    (run,) = memory_traces.runs()
    assert [f.type for f in run.frames][0] == "conversation_turn_started"
    assert run.frames[-1].data["result"] == "Echo: One"


# ====================================================================== sessions


def test_turns_of_a_session_share_one_transcript_and_sessions_are_apart(backend: Backend) -> None:
    flow = chat_flow(backend.llm(), system_prompt="Be brief.")()
    assert flow.turn("First", session_id="a") == "Echo: First"
    assert flow.turn("Other", session_id="b") == "Echo: Other"
    frames, result, _ = consume(flow.stream_turn("Second", session_id="a"))
    assert result == "Echo: Second"
    assert backend.sent()[-1] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "First"},
        {"role": "assistant", "content": "Echo: First"},
        {"role": "user", "content": "Second"},
    ]
    assert frames[0].data["turn"] == 2
    # the transcript was this process's own: nothing is reported as loaded from the store
    assert "conversation_transcript_loaded" not in types_of(frames)
    assert [(m.role, m.content, m.turn) for m in flow.transcript("a")] == [
        ("user", "First", 1),
        ("assistant", "Echo: First", 1),
        ("user", "Second", 2),
        ("assistant", "Echo: Second", 2),
    ]
    assert [m.content for m in flow.transcript("b")] == ["Other", "Echo: Other"]


def test_max_history_trims_what_the_model_reads_not_the_transcript(backend: Backend) -> None:
    flow = chat_flow(backend.llm(), max_history=2)()
    for text in ("1", "2", "3"):
        flow.turn(text, session_id="s")
    assert backend.sent()[-1] == [
        {"role": "user", "content": "2"},
        {"role": "assistant", "content": "Echo: 2"},
        {"role": "user", "content": "3"},
    ]
    assert len(flow.transcript("s")) == 6


def test_two_flow_instances_on_one_store_see_each_others_turns(backend: Backend, tmp_path) -> None:
    store = tmp_path / "shared.sqlite3"
    first = chat_flow(backend.llm(), store=store)()
    second = chat_flow(backend.llm(), store=store)()
    first.turn("From first", session_id="s")
    frames, _, _ = consume(second.stream_turn("From second", session_id="s"))
    assert backend.sent()[-1][:2] == [
        {"role": "user", "content": "From first"},
        {"role": "assistant", "content": "Echo: From first"},
    ]
    assert frames[0].data["turn"] == 2


@pytest.mark.asyncio
async def test_async_turns(backend: Backend) -> None:
    flow = chat_flow(backend.llm())()
    async with flow.astream_turn("Async one", session_id="s") as stream:
        frames = [frame async for frame in stream.events]
    assert stream.result == "Echo: Async one"
    assert text_of(frames) == stream.result
    assert await flow.aturn("Async two", session_id="s") == "Echo: Async two"
    assert [m.content for m in flow.transcript("s")][-2:] == ["Async two", "Echo: Async two"]


# ====================================================================== concurrency


def _turn_window(frames: list[StreamFrame]) -> tuple[float, float]:
    return frames[0].timestamp.timestamp(), frames[-1].timestamp.timestamp()


def _run_in_threads(flow: Any, jobs: list[tuple[str, str]]) -> list[list[StreamFrame]]:
    results: list[list[StreamFrame]] = [[] for _ in jobs]
    barrier = threading.Barrier(len(jobs))

    def work(index: int, message: str, session: str) -> None:
        barrier.wait()
        frames, _, error = consume(flow.stream_turn(message, session_id=session))
        assert error is None, error
        results[index] = frames

    threads = [threading.Thread(target=work, args=(i, *job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    return results


def test_two_turns_on_one_session_run_one_after_the_other() -> None:
    register_script("slow", lambda messages: f"Echo: {messages[-1]['content']} " + "word " * 8, token_delay_s=0.02)
    flow = chat_flow("scripted/slow")()
    first, second = _run_in_threads(flow, [("A", "same"), ("B", "same")])
    (a_start, a_end), (b_start, b_end) = _turn_window(first), _turn_window(second)
    assert a_end <= b_start or b_end <= a_start, "turns of one session overlapped"
    later = second if a_end <= b_start else first
    assert later[0].data["turn"] == 2
    transcript = flow.transcript("same")
    assert [m.turn for m in transcript] == [1, 1, 2, 2]
    assert [m.role for m in transcript] == ["user", "assistant", "user", "assistant"]
    assert transcript[1].content.startswith(f"Echo: {transcript[0].content}")


def test_turns_of_different_sessions_run_in_parallel() -> None:
    register_script("slow", lambda messages: "word " * 10, token_delay_s=0.03)  # ~0.3 s a turn
    flow = chat_flow("scripted/slow")()
    results = _run_in_threads(flow, [("A", "one"), ("B", "two"), ("C", "three")])
    windows = [_turn_window(frames) for frames in results]
    assert max(start for start, _ in windows) < min(end for _, end in windows), "the turns did not overlap"
    for session in ("one", "two", "three"):
        assert len(flow.transcript(session)) == 2


# ====================================================================== routes


def test_routes_answer_by_match_and_see_the_transcript(backend: Backend) -> None:
    seen: list[Any] = []

    @ConversationConfig(llm=backend.llm(), store=":memory:")
    class SupportFlow(Flow[ConversationState]):
        conversational = True

        @route(match=r"\brefund\b")
        def refunds(self, turn: Turn) -> str:
            seen.append(([m.content for m in turn.history], turn.text, self.state is turn.state, turn.number))
            return "Refunds take five days."

        @route(match=lambda turn: turn.text.startswith("!"))
        async def command(self, turn: Turn) -> str:
            await asyncio.sleep(0)
            return f"Ran {turn.text[1:]}"

    flow = SupportFlow()
    assert flow.turn("Hi", session_id="s") == "Echo: Hi"
    frames, result, _ = consume(flow.stream_turn("I want a REFUND", session_id="s"))
    assert result == "Refunds take five days."
    assert seen == [(["Hi", "Echo: Hi"], "I want a REFUND", True, 2)]
    assert frames[-1].data["route"] == "refunds"
    assert "llm_call_started" not in types_of(frames)
    assert flow.turn("!status", session_id="s") == "Ran status"
    assert len(backend.sent()) == 1
    assert [m.content for m in flow.transcript("s")][-2:] == ["!status", "Ran status"]


def test_choose_route_overrides_the_matching_and_a_handler_streams_its_own_llm() -> None:
    register_script("own", ["Streamed by the handler.", "Not streamed."])

    @ConversationConfig(store=":memory:")
    class ExpertFlow(Flow[ConversationState]):
        conversational = True

        def choose_route(self, turn: Turn) -> str | None:
            return {1: "expert", 2: "quiet"}.get(turn.number)  # None: the default choice

        @route(match="hello")
        def greet(self, turn: Turn) -> str:
            return "Hi!"

        @route()
        def expert(self, turn: Turn) -> str:
            return LLM("scripted/own", stream=True).call(turn.messages())

        @route()
        def quiet(self, turn: Turn) -> str:
            return LLM("scripted/own").call(turn.messages())  # not streaming: no tokens (C9)

    flow = ExpertFlow()
    frames, result, _ = consume(flow.stream_turn("Explain", session_id="s"))
    assert text_of(frames) == result == "Streamed by the handler."
    quiet_frames, quiet_result, _ = consume(flow.stream_turn("Again", session_id="s"))
    assert quiet_result == "Not streamed."
    assert text_of(quiet_frames) == "" and "llm_call_completed" in types_of(quiet_frames)
    assert flow.turn("hello you", session_id="s") == "Hi!"


def test_a_bad_route_choice_or_reply_fails_the_turn_clearly() -> None:
    @ConversationConfig(store=":memory:")
    class BrokenFlow(Flow[ConversationState]):
        conversational = True

        def choose_route(self, turn: Turn) -> str | None:
            return {"missing": "nowhere", "number": "number"}.get(turn.text)

        @route()
        def number(self, turn: Turn) -> Any:
            return 42

    flow = BrokenFlow()
    _, _, error = consume(flow.stream_turn("missing", session_id="s"))
    assert isinstance(error, RouteError) and "'nowhere'" in str(error)
    _, _, error = consume(flow.stream_turn("number", session_id="s"))
    assert isinstance(error, RouteError) and "returned int" in str(error)
    _, _, error = consume(flow.stream_turn("no route and no llm", session_id="s"))
    assert isinstance(error, RouteError) and "ConversationConfig(llm=...)" in str(error)
    assert flow.transcript("s") == []


# ====================================================================== failures


def test_a_failure_inside_a_turn_is_a_failed_turn_frame_and_the_transcript_stays_whole(backend: Backend) -> None:
    flow = chat_flow(backend.llm())()
    flow.turn("Before", session_id="s")
    backend.fail_next()
    frames, _, error = consume(flow.stream_turn("Breaks", session_id="s"))
    assert error is not None
    assert types_of(frames)[-2:] == ["llm_call_failed", "conversation_turn_failed"]
    failed = frames[-1]
    assert failed.channel == "flow" and failed.data["session_id"] == "s" and failed.data["turn"] == 2
    assert failed.data["error_type"] and failed.data["error"]
    assert [m.content for m in flow.transcript("s")] == ["Before", "Echo: Before"]
    assert flow.turn("After", session_id="s") == "Echo: After"
    # the model never reads the failed turn's question without an answer
    assert backend.sent()[-1] == [
        {"role": "user", "content": "Before"},
        {"role": "assistant", "content": "Echo: Before"},
        {"role": "user", "content": "After"},
    ]
    store = type(flow)._framescope_conversation.resolved_store()
    assert [(t.turn, t.status) for t in store.turns("s")] == [(1, "finished"), (2, "failed"), (3, "finished")]
    assert [(n, status, m.content) for n, status, m in store.unfinished("s")] == [(2, "failed", "Breaks")]


def test_closing_the_stream_mid_turn_cancels_it_and_keeps_the_transcript() -> None:
    register_script("slow", lambda messages: "word " * 200, token_delay_s=0.01)
    flow = chat_flow("scripted/slow")()
    stream = flow.stream_turn("Long answer please", session_id="s")
    for frame in stream.events:
        if frame.type == "llm_stream_chunk":
            break
    stream.close()
    assert stream.is_cancelled
    store = type(flow)._framescope_conversation.resolved_store()
    for thread in [t for t in threading.enumerate() if t.name.startswith("framescope-run-")]:
        thread.join(5)  # the turn's run records its end before its thread exits
    assert store.turns("s")[0].status == "cancelled"
    assert flow.transcript("s") == []
    register_script("slow", ["Short."])
    assert flow.turn("Again", session_id="s") == "Short."


# ====================================================================== bad input


@pytest.mark.parametrize(
    ("message", "session_id", "error", "match"),
    [
        ("", "s", ConversationInputError, "empty"),
        ("   \n", "s", ConversationInputError, "empty"),
        (None, "s", ConversationInputError, "must be a str"),
        ("Hi", "", ConversationInputError, "session_id"),
        ("Hi", None, ConversationInputError, "session_id"),
        ("Hi", "a\nb", ConversationInputError, "printable"),
    ],
)
def test_bad_input_is_refused_before_any_run(
    message: Any, session_id: Any, error: type[Exception], match: str, memory_traces
) -> None:
    flow = chat_flow("scripted/echo")()
    for call in (flow.stream_turn, flow.astream_turn, flow.turn):
        with pytest.raises(error, match=match):
            call(message, session_id=session_id)
    assert memory_traces.records() == []


def test_resume_only_calls_refuse_an_unknown_session() -> None:
    flow = chat_flow("scripted/echo")()
    with pytest.raises(UnknownSessionError, match="no conversation session 'ghost'.*create=False"):
        flow.stream_turn("Hi", session_id="ghost", create=False)
    flow.turn("Hi", session_id="real")
    assert flow.turn("Again", session_id="real", create=False) == "You said: Again"
    assert type(flow)._framescope_conversation.resolved_store().sessions() == ["real"]


def test_bad_definitions_say_what_to_change() -> None:
    with pytest.raises(ConversationDefinitionError, match="conversational = True"):

        @ConversationConfig(llm="scripted/echo")
        class NotMarked(Flow[ConversationState]):
            pass

    with pytest.raises(ConversationDefinitionError, match=r"Flow\[ConversationState\]"):

        @ConversationConfig(llm="scripted/echo")
        class WrongState(Flow[dict]):  # type: ignore[type-arg]
            conversational = True

    with pytest.raises(ConversationDefinitionError, match="can answer nothing"):

        @ConversationConfig()
        class Mute(Flow[ConversationState]):
            conversational = True

    with pytest.raises(ConversationDefinitionError, match="trace_scope"):
        ConversationConfig(llm="scripted/echo", trace_scope="forever")  # type: ignore[arg-type]


def test_custom_state_fields_persist_across_turns() -> None:
    class CountingState(ConversationState):
        questions: int = 0

    @ConversationConfig(store=":memory:")
    class CountingFlow(Flow[CountingState]):
        conversational = True

        @route(match=".")
        def count(self, turn: Turn) -> str:
            self.state.questions += 1
            return f"question {self.state.questions}"

    flow = CountingFlow()
    assert [flow.turn(t, session_id="s") for t in ("a", "b")] == ["question 1", "question 2"]
    assert flow.turn("c", session_id="other") == "question 1"


def test_with_content_capture_off_the_frames_carry_no_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false")
    framescope.configure(exporter="none", replace=True)
    try:
        flow = chat_flow("scripted/echo")()
        frames, result, _ = consume(flow.stream_turn("secret question", session_id="s"))
    finally:
        framescope.shutdown()
    assert result == "You said: secret question"
    assert not any("secret" in str(f.data) for f in frames)
    assert frames[-1].data["result"] == REDACTED
    assert flow.transcript("s")[0].content == "secret question"  # the application's store keeps it


# ====================================================================== traces and replay


def _spans_by_run(records: list[Any]) -> dict[str, list[Any]]:
    runs: dict[str, list[Any]] = {}
    for span in records:
        runs.setdefault(span.attributes["framescope.run.id"], []).append(span)
    return runs


@pytest.mark.parametrize("scope", ["session", "turn"])
def test_every_turn_carries_the_conversation_id_and_the_trace_scope_holds(scope: str, memory_traces) -> None:
    flow = chat_flow("scripted/echo", trace_scope=scope)()
    for text in ("one", "two", "three"):
        flow.turn(text, session_id="conv-1")
    flow.turn("elsewhere", session_id="conv-2")
    records = memory_traces.records()
    turn_spans = sorted((s for s in records if s.name == "conversation_turn"), key=lambda s: s.start_time_unix_nano)
    chat_spans = [s for s in records if s.name.startswith("chat ")]
    assert len(turn_spans) == len(chat_spans) == 4
    assert [s.attributes["gen_ai.conversation.id"] for s in turn_spans] == ["conv-1"] * 3 + ["conv-2"]
    assert sorted(s.attributes["gen_ai.conversation.id"] for s in chat_spans) == ["conv-1"] * 3 + ["conv-2"]
    first, second, third, other = turn_spans
    if scope == "session":
        assert first.parent_span_id is None
        assert {s.trace_id for s in (first, second, third)} == {first.trace_id}
        assert second.parent_span_id == third.parent_span_id == first.span_id
        assert other.trace_id != first.trace_id
    else:
        assert len({s.trace_id for s in turn_spans}) == 4
        for earlier, later in ((first, second), (second, third)):
            assert later.parent_span_id is None
            assert [
                (link.span_id, link.attributes["framescope.link.relation"])
                for link in later.links
                if link.attributes.get("framescope.link.relation") == "previous_turn"
            ] == [(earlier.span_id, "previous_turn")]


def test_defer_trace_finalization_means_one_trace_per_session(memory_traces) -> None:
    flow = chat_flow("scripted/echo", defer_trace_finalization=True)()
    flow.turn("one", session_id="s")
    flow.turn("two", session_id="s")
    assert len({s.trace_id for s in memory_traces.records()}) == 1
    flow = chat_flow("scripted/echo")()
    flow.turn("one", session_id="t")
    flow.turn("two", session_id="t")
    assert len({s.trace_id for s in memory_traces.records()}) == 3


@pytest.mark.parametrize("scope", ["session", "turn"])
def test_a_whole_conversation_replays_exactly_in_order(scope: str, backend: Backend, trace_file) -> None:
    flow = chat_flow(backend.llm(), trace_scope=scope)()
    live: list[list[StreamFrame]] = []
    for text in ("First", "Second"):
        frames, _, _ = consume(flow.stream_turn(text, session_id="conv"))
        live.append(frames)
        flow.turn("noise", session_id="other")
    backend.fail_next()
    failed, _, error = consume(flow.stream_turn("Third", session_id="conv"))
    assert error is not None
    live.append(failed)
    frames, _, _ = consume(flow.stream_turn("Fourth", session_id="conv"))
    live.append(frames)
    framescope.flush()

    replayed = replay_conversation(trace_file, "conv")
    assert [t.frames for t in replayed.turns] == live
    assert replayed.frames == [f for turn in live for f in turn]
    assert [t.status for t in replayed.turns] == ["finished", "finished", "failed", "finished"]
    assert replayed.replies == ["Echo: First", "Echo: Second", None, "Echo: Fourth"]
    assert [(m["role"], m["content"]) for m in replayed.transcript()] == [
        (m.role, m.content) for m in flow.transcript("conv")
    ]
    with replayed.session() as session:
        assert list(session.events) == replayed.frames
    assert session.result == "Echo: Fourth"

    (second,) = replay_conversation(trace_file, "conv", turn=2).turns
    assert second.frames == live[1]
    with pytest.raises(LookupError, match="sessions there: conv, other"):
        replay_conversation(trace_file, "typo")
