"""The instrumentor's own conversion of a CrewAI event equals CrewAI's ``stream_frame_from_event``.

When no CrewAI session is open the instrumentor makes the frame from CrewAI's pieces, reading
namespace attributes from the instance instead of through pydantic's ``__getattr__``.  These
event classes are built to trip that shortcut: attributes as fields, as properties, as extra
fields, set and unset, and the first event of a class against the ones after it.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.crewai, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

crewai_streaming = pytest.importorskip("crewai.utilities.streaming")

from pydantic import ConfigDict, computed_field, field_serializer  # noqa: E402

from framescope.integrations.crewai import frames  # noqa: E402

from support.crewai_scenarios import BaseEvent  # noqa: E402


class ToolishEvent(BaseEvent):
    type: str = "toolish_started"
    tool_name: str | None = None
    session_id: str | None = None


class PropertyEvent(BaseEvent):
    type: str = "property_event"
    step: int = 0

    @property
    def method_name(self) -> str | None:
        return f"step-{self.step}" if self.step else None


class ExtraEvent(BaseEvent):
    model_config = ConfigDict(extra="allow")
    type: str = "extra_event"


def events() -> list[Any]:
    return [
        ToolishEvent(),
        ToolishEvent(tool_name="search", session_id="s-1"),
        ToolishEvent(tool_name="search", agent_role="Analyst"),
        PropertyEvent(),
        PropertyEvent(step=3, task_name="report"),
        ExtraEvent(),
        ExtraEvent(flow_name="Weather", call_id="c-9"),
    ]


@pytest.mark.parametrize("rounds", [1, 2])
def test_the_namespace_shortcut_equals_crewais_rule(rounds: int) -> None:
    frames._NAMESPACE_PLANS.clear()
    for _ in range(rounds):  # round 1 meets each class first; round 2 uses the plans made
        for event in events():
            channel = crewai_streaming._stream_channel(event)
            assert frames._namespace(crewai_streaming, event, channel) == crewai_streaming._stream_namespace(
                event, channel
            ), event
    assert frames._NAMESPACE_PLANS[ExtraEvent] is None  # extra fields: CrewAI's own function every time


def test_frames_made_from_the_pieces_equal_crewais_frames() -> None:
    frames._NAMESPACE_PLANS.clear()
    for _ in range(2):
        for event in events():
            made = frames.frame_from_parts(crewai_streaming, event).model_dump()
            expected = frames.frame_from_crewai_frame(crewai_streaming.stream_frame_from_event(event)).model_dump()
            assert made == expected, event


class ShoutedChunkEvent(BaseEvent):
    """A chunk class whose dump is not "the previous one with a new chunk": never reused."""

    type: str = "shouted_chunk"
    chunk: str = ""
    call_id: str = "c-1"

    @field_serializer("chunk")
    def _shout(self, chunk: str) -> str:
        return chunk.upper()


class CountedChunkEvent(BaseEvent):
    type: str = "counted_chunk"
    chunk: str = ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def length(self) -> int:
        return len(self.chunk)


def chunk_events() -> list[Any]:
    from crewai.events.types.llm_events import LLMCallType, LLMStreamChunkEvent

    def chunk(text: str, **fields: Any) -> Any:
        return LLMStreamChunkEvent(chunk=text, call_id=fields.pop("call_id", "call-1"), **fields)

    return [
        chunk("Hello"),
        chunk(" world"),  # reuses the first one's dump
        chunk(" again", call_type=LLMCallType.LLM_CALL),  # an enum changes: dumped in full
        chunk(" more", call_type=LLMCallType.LLM_CALL),
        chunk(" and", call_type=LLMCallType.TOOL_CALL),
        chunk(" other", call_id="call-2", model="gpt-test"),
        chunk(f" key {SECRET_KEY}", call_id="call-2", model="gpt-test"),  # a secret in the new text
        chunk(" plain", call_id="call-2", model="gpt-test"),
        chunk(" with", response_id=SECRET_KEY),  # a secret in a repeated field: cleaned every time
        chunk(" still", response_id=SECRET_KEY),
        chunk(" tool", tool_call={"id": "t1", "index": 0, "function": {"name": "f", "arguments": "{}"}}),
        chunk(" tool", tool_call={"id": "t1", "index": 0, "function": {"name": "f", "arguments": "{}"}}),
        chunk("", call_id="call-3"),
        ShoutedChunkEvent(chunk="a"),
        ShoutedChunkEvent(chunk="b"),
        ShoutedChunkEvent(chunk="c"),
        CountedChunkEvent(chunk="a"),
        CountedChunkEvent(chunk="bb"),
    ]


SECRET_KEY = "sk-" + "Q1w2E3r4T5y6U7i8O9p0"


def test_chunk_frames_reuse_the_previous_dump_and_still_equal_crewais() -> None:
    from framescope.integrations.crewai import chunks

    chunks._MEMOS.clear()
    for _ in range(2):
        for event in chunk_events():
            made = frames.frame_from_parts(crewai_streaming, event)
            expected = frames.frame_from_crewai_frame(crewai_streaming.stream_frame_from_event(event))
            assert made.model_dump() == expected.model_dump(), event
            assert SECRET_KEY not in repr(made.data)
    assert chunks._MEMOS[ShoutedChunkEvent] is None  # found out on its first reuse
    assert chunks._MEMOS[CountedChunkEvent] is None  # a computed field: never reused
