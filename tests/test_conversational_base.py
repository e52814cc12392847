"""ConversationalFlow: the typed base behind @ConversationConfig (the contract's decorator form)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from framescope.errors import ConversationDefinitionError
from framescope.experimental.conversational import (
    ConversationalFlow,
    ConversationConfig,
    ConversationState,
    Turn,
)
from framescope.flow import Flow
from framescope.llm.providers import register_script

TURN_API = ("stream_turn", "astream_turn", "turn", "aturn", "transcript", "choose_route", "state")


@pytest.fixture(autouse=True)
def _store(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    monkeypatch.setenv("FRAMESCOPE_CONVERSATION_STORE", str(tmp_path / "store.sqlite3"))
    register_script("base-chat", lambda messages: f"Echo: {messages[-1]['content']}")
    yield


@ConversationConfig(llm="scripted/base-chat", store=":memory:")
class TypedChat(ConversationalFlow[ConversationState]):
    pass


@ConversationConfig(llm="scripted/base-chat", store=":memory:")
class ContractChat(Flow[ConversationState]):
    conversational = True


def test_the_turn_api_is_declared_on_the_base_class() -> None:
    for name in TURN_API:
        assert name in ConversationalFlow.__dict__, name
        assert name not in TypedChat.__dict__  # inherited, not patched onto the subclass


def test_the_decorator_gives_a_plain_flow_the_same_members() -> None:
    for name in TURN_API:
        assert ContractChat.__dict__[name] is ConversationalFlow.__dict__[name], name


@pytest.mark.parametrize("cls", [TypedChat, ContractChat], ids=["typed-base", "decorator-form"])
def test_both_spellings_stream_the_same_turn(cls: type) -> None:
    flow = cls()
    stream = flow.stream_turn("hello", session_id="s1")
    with stream:
        frames = list(stream.events)
    assert stream.result == "Echo: hello"
    assert frames[0].type == "conversation_turn_started" and frames[-1].type == "conversation_turn_completed"
    assert asyncio.run(flow.aturn("again", session_id="s1")) == "Echo: again"
    assert [m.content for m in flow.transcript("s1")] == ["hello", "Echo: hello", "again", "Echo: again"]
    assert isinstance(flow.state, ConversationState)


def test_an_override_on_the_typed_base_is_used() -> None:
    chosen: list[str] = []

    @ConversationConfig(llm="scripted/base-chat", store=":memory:")
    class Routed(ConversationalFlow[ConversationState]):
        def choose_route(self, turn: Turn) -> str | None:
            chosen.append(turn.message.content)
            return None  # falls back to the default choice

    assert Routed().turn("hi", session_id="s2") == "Echo: hi"
    assert chosen == ["hi"]


def test_the_base_without_a_config_says_what_is_missing() -> None:
    class Undecorated(ConversationalFlow[ConversationState]):
        pass

    with pytest.raises(ConversationDefinitionError, match=r"not decorated with @ConversationConfig"):
        Undecorated().turn("hi", session_id="s3")
