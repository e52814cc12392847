"""Real CrewAI 1.15.30 apps for the CrewAI tests, all talking to the loopback OpenAI server.

Importing this module switches CrewAI's own telemetry and tracing off through the variables
CrewAI reads (``crewai_core.telemetry``: CREWAI_DISABLE_TELEMETRY / CREWAI_DISABLE_TRACKING;
``crewai.events.listeners.tracing.utils``: CREWAI_TRACING_ENABLED), before CrewAI is imported,
so nothing leaves the machine.  ``OTEL_SDK_DISABLED`` is not used: it would switch framescope's
recording off too.

Each scenario builds a fresh app and runs it one way (``stream``: ``stream_events()``,
``astream``, ``kickoff``/``kickoff_async``/``call`` unstreamed), returning what CrewAI itself
yields: its frames (for unstreamed runs, collected by CrewAI's own context-scoped stream sink,
the mechanism its ``stream_events`` uses) and the result.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

for _name, _value in (
    ("CREWAI_DISABLE_TELEMETRY", "true"),
    ("CREWAI_DISABLE_TRACKING", "true"),
    ("CREWAI_TRACING_ENABLED", "false"),
    ("CREWAI_TESTING", "true"),
):
    os.environ[_name] = _value

from crewai import LLM, Agent, Crew, Task  # noqa: E402
from crewai.events.base_events import BaseEvent  # noqa: E402
from crewai.events.event_bus import crewai_event_bus  # noqa: E402
from crewai.events.stream_context import add_stream_sink, reset_stream_sinks  # noqa: E402
from crewai.flow.conversational import ConversationConfig, ConversationState  # noqa: E402
from crewai.flow.flow import Flow, and_, listen, or_, router, start  # noqa: E402
from crewai.tools import tool  # noqa: E402
from crewai.utilities.streaming import stream_frame_from_event  # noqa: E402

from support.openai_server import OpenAICompatibleServer  # noqa: E402

ANSWER = "Paris is sunny and warm today"


def crewai_llm(server: OpenAICompatibleServer, *, stream: bool = True) -> LLM:
    return LLM(model="openai/gpt-test", base_url=server.base_url, api_key="test-key", stream=stream)


class ProgressEvent(BaseEvent):
    """A user's own CrewAI event type: CrewAI streams it on ``custom``."""

    type: str = "report_progress"
    step: int = 0


class BranchingFlow(Flow):  # type: ignore[type-arg]
    """start, listen, router, and_ and or_ with no LLM."""

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
    llm = crewai_llm(server)

    class LLMFlow(Flow):  # type: ignore[type-arg]
        @start()
        def ask(self) -> str:
            return str(llm.call("Weather in Paris?"))

        @listen(ask)
        def shout(self, answer: str) -> str:
            return answer.upper()

    return LLMFlow()


def _nested_flow(server: OpenAICompatibleServer) -> Flow:  # type: ignore[type-arg]
    llm = crewai_llm(server, stream=False)

    class NestedFlow(Flow):  # type: ignore[type-arg]
        @start()
        def ask(self) -> str:
            with llm.stream_events(messages=[{"role": "user", "content": "Weather?"}]) as inner:
                text = "".join(frame.content for frame in inner)
            return text

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
            crewai_event_bus.emit(self, ProgressEvent(step=step))
        return "worked"


@tool("lookup_weather")
def lookup_weather(city: str) -> str:
    """Look up the weather of a city."""
    return f"sunny in {city}"


def _crew_flow(server: OpenAICompatibleServer) -> Flow:  # type: ignore[type-arg]
    server.enqueue(reply="", tool_calls=[{"name": "lookup_weather", "arguments": {"city": "Paris"}}])
    llm = crewai_llm(server)

    class CrewFlow(Flow):  # type: ignore[type-arg]
        @start()
        def run_crew(self) -> str:
            agent = Agent(
                role="Weatherman",
                goal="tell the weather",
                backstory="a forecaster",
                llm=llm,
                tools=[lookup_weather],
                verbose=False,
            )
            task = Task(description="What is the weather in Paris?", expected_output="one sentence", agent=agent)
            return str(Crew(agents=[agent], tasks=[task], verbose=False).kickoff().raw)

    return CrewFlow()


def _chat_flow(server: OpenAICompatibleServer) -> Flow:  # type: ignore[type-arg]
    llm = crewai_llm(server)

    @ConversationConfig(llm=llm, system_prompt="Be brief.", trace_scope="turn")
    class ChatFlow(Flow[ConversationState]):
        conversational = True

    return ChatFlow()


@dataclass
class Outcome:
    frames: list[Any]  # crewai.types.streaming.StreamFrame
    result: Any = None
    error: BaseException | None = None


def _collect(run: Callable[[], Any]) -> Outcome:
    """Run ``run`` unstreamed, collecting CrewAI's frames with CrewAI's own scoped sink."""
    frames: list[Any] = []
    token = add_stream_sink(lambda _source, event: frames.append(stream_frame_from_event(event)))
    try:
        result = run()
    except Exception as error:
        return Outcome(frames, None, error)
    finally:
        reset_stream_sinks(token)
    return Outcome(frames, result)


async def _acollect(run: Callable[[], Any]) -> Outcome:
    frames: list[Any] = []
    token = add_stream_sink(lambda _source, event: frames.append(stream_frame_from_event(event)))
    try:
        result = await run()
    except Exception as error:
        return Outcome(frames, None, error)
    finally:
        reset_stream_sinks(token)
    return Outcome(frames, result)


def _stream(session: Any) -> Outcome:
    frames: list[Any] = []
    try:
        with session:
            for frame in session:
                frames.append(frame)
    except Exception as error:
        return Outcome(frames, None, error)
    return Outcome(frames, session.result)


async def _astream_out(open_session: Callable[[], Any]) -> Outcome:
    frames: list[Any] = []
    session = open_session()  # CrewAI's astream() needs the running loop
    try:
        async with session:
            async for frame in session:
                frames.append(frame)
    except Exception as error:
        return Outcome(frames, None, error)
    return Outcome(frames, session.result)


FLOW_BUILDERS: dict[str, Callable[[OpenAICompatibleServer], Flow]] = {  # type: ignore[type-arg]
    "branching": lambda server: BranchingFlow(),
    "llm_chunks": _llm_flow,
    "nested_llm_stream": _nested_flow,
    "failure": lambda server: FailingFlow(),
    "custom_events": lambda server: CustomEventFlow(),
    "crew_with_tool": _crew_flow,
}

MODES = ("stream", "astream", "kickoff", "kickoff_async")


def run_flow(name: str, mode: str, server: OpenAICompatibleServer) -> Outcome:
    """Run scenario ``name`` on CrewAI in ``mode``; returns CrewAI's own frames and outcome."""
    server.set(reply=ANSWER)
    flow = FLOW_BUILDERS[name](server)
    if mode == "stream":
        return _stream(flow.stream_events())
    if mode == "astream":
        return asyncio.run(_astream_out(flow.astream))
    if mode == "kickoff":
        return _collect(flow.kickoff)
    if mode == "kickoff_async":
        return asyncio.run(_acollect(flow.kickoff_async))
    raise ValueError(f"unknown mode {mode!r}; modes: {', '.join(MODES)}")


def run_llm(mode: str, server: OpenAICompatibleServer) -> Outcome:
    """A bare LLM call: ``stream_events`` or an unstreamed ``call``."""
    server.set(reply=ANSWER)
    llm = crewai_llm(server, stream=mode != "call")
    if mode == "stream":
        return _stream(llm.stream_events(messages=[{"role": "user", "content": "Weather?"}]))
    return _collect(lambda: llm.call("Weather?"))


def run_turns(server: OpenAICompatibleServer, messages: list[str]) -> list[Outcome]:
    """Conversation turns of one session, each streamed with ``stream_turn``."""
    server.set(reply=ANSWER)
    flow = _chat_flow(server)
    return [_stream(flow.stream_turn(message, session_id="session-1")) for message in messages]


def lookup_weather_function(city: str) -> str:
    return f"sunny in {city}"


WEATHER_SCHEMA = {
    "type": "function",
    "function": {
        "name": "lookup_weather",
        "description": "Look up the weather of a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def run_tool_call(server: OpenAICompatibleServer) -> Outcome:
    """One LLM call that asks for a tool, streamed: CrewAI runs it through ``available_functions``."""
    server.set(reply=ANSWER)
    server.enqueue(reply="", tool_calls=[{"name": "lookup_weather", "arguments": {"city": "Paris"}}])
    llm = crewai_llm(server)
    return _stream(
        llm.stream_events(
            messages=[{"role": "user", "content": "Weather?"}],
            tools=[WEATHER_SCHEMA],
            available_functions={"lookup_weather": lookup_weather_function},
        )
    )
