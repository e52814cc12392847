"""The CrewAI scenarios of tests/support/crewai_scenarios.py, written for framescope's own
runtime, for the differential suite (tests/test_crewai_differential.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from framescope import emit
from framescope.flow import Flow, and_, listen, or_, router, start

from support.crewai_scenarios import ANSWER, Outcome, _astream_out, _stream
from support.llm_helpers import server_llm
from support.openai_server import OpenAICompatibleServer


class BranchingFlow(Flow):  # type: ignore[type-arg]
    @start()
    def begin(self) -> str:
        return "go"

    @start()
    def also_begin(self) -> int:
        return 2

    @listen(and_(begin, also_begin))
    def both(self) -> str:
        return "both done"

    @router(both)
    def decide(self) -> str:
        return "left"

    @listen("left")
    def go_left(self) -> str:
        return "went left"

    @listen(or_(go_left, "right"))
    def finish(self) -> str:
        return "finished"


def _llm_flow(server: OpenAICompatibleServer) -> Flow:  # type: ignore[type-arg]
    llm = server_llm(server)

    class LLMFlow(Flow):  # type: ignore[type-arg]
        @start()
        def ask(self) -> str:
            return "".join(llm.stream_text(messages=[{"role": "user", "content": "Weather in Paris?"}]))

        @listen(ask)
        def shout(self, answer: str) -> str:
            return answer.upper()

    return LLMFlow()


def _nested_flow(server: OpenAICompatibleServer) -> Flow:  # type: ignore[type-arg]
    llm = server_llm(server)

    class NestedFlow(Flow):  # type: ignore[type-arg]
        @start()
        def ask(self) -> str:
            with llm.stream_events(messages=[{"role": "user", "content": "Weather?"}]) as inner:
                return "".join(frame.content for frame in inner)

    return NestedFlow()


class FailingFlow(Flow):  # type: ignore[type-arg]
    @start()
    def begin(self) -> str:
        return "ok"

    @listen(begin)
    def explode(self) -> str:
        raise ValueError("the method failed on purpose")


class CustomEventFlow(Flow):  # type: ignore[type-arg]
    @start()
    def work(self) -> str:
        for step in range(3):
            emit("report_progress", {"step": step})
        return "worked"


FLOW_BUILDERS: dict[str, Callable[[OpenAICompatibleServer], Flow]] = {  # type: ignore[type-arg]
    "branching": lambda server: BranchingFlow(),
    "llm_chunks": _llm_flow,
    "nested_llm_stream": _nested_flow,
    "failure": lambda server: FailingFlow(),
    "custom_events": lambda server: CustomEventFlow(),
}


def run_flow(name: str, mode: str, server: OpenAICompatibleServer) -> Outcome:
    server.set(reply=ANSWER)
    flow = FLOW_BUILDERS[name](server)
    if mode == "stream":
        return _stream(flow.stream_events())
    if mode == "astream":
        return asyncio.run(_astream_out(flow.astream))
    raise ValueError(f"unknown mode {mode!r}")


def text_of(frames: list[Any]) -> str:
    return "".join(frame.content for frame in frames if frame.type == "llm_stream_chunk")


def run_turns(server: OpenAICompatibleServer, messages: list[str], *, asynchronous: bool = False) -> list[Outcome]:
    """Turns of one session of a conversational flow, each streamed."""
    from framescope.experimental.conversational import ConversationConfig, ConversationState

    server.set(reply=ANSWER)

    @ConversationConfig(llm=server_llm(server), store=":memory:", system_prompt="Be brief.", trace_scope="turn")
    class ChatFlow(Flow[ConversationState]):
        conversational = True

    flow = ChatFlow()
    if asynchronous:
        return [asyncio.run(_astream_out(lambda m=m: flow.astream_turn(m, session_id="session-1"))) for m in messages]
    return [_stream(flow.stream_turn(message, session_id="session-1")) for message in messages]


def run_tool_call(server: OpenAICompatibleServer) -> Outcome:
    """One LLM call that asks for a tool, streamed: framescope runs the tool inside the call."""
    from framescope import tool

    @tool
    def lookup_weather(city: str) -> str:
        """Look up the weather of a city."""
        return f"sunny in {city}"

    server.set(reply=ANSWER)
    server.enqueue(reply="", tool_calls=[{"name": "lookup_weather", "arguments": {"city": "Paris"}}])
    llm = server_llm(server)
    return _stream(llm.stream_events(messages=[{"role": "user", "content": "Weather?"}], tools=[lookup_weather]))
