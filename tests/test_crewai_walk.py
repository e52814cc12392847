"""The instrumentor's walk of an event whose dump fails equals CrewAI's own ``to_json``.

``walk.event_data`` skips the pydantic dumps it knows will fail and dumps each model once per
event.  These tests compare it with CrewAI's ``to_serializable`` on every event of a real crew
run, and on models built to trip the failure prediction: functions under fields with their
own serializers, Annotated serializers, model serializers, excluded fields, failures nested in
lists, tuples and dicts, cycles, dataclasses, deep values and odd keys.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import pytest

pytestmark = [pytest.mark.crewai, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

serialization = pytest.importorskip("crewai.utilities.serialization")

import crewai.events.event_bus as bus_module  # noqa: E402
import pydantic  # noqa: E402
from crewai.utilities import streaming  # noqa: E402
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_serializer, model_serializer  # noqa: E402

from framescope.integrations.crewai import frames, walk  # noqa: E402

from support.crewai_scenarios import BaseEvent, run_flow  # noqa: E402
from support.openai_server import OpenAICompatibleServer  # noqa: E402


def crewais(obj: Any, exclude: set[str] | None = None) -> Any:
    return serialization.to_serializable(obj, exclude=set(exclude or ()))


def shout(text: str) -> str:
    return text.upper()


class Gadget(BaseModel):
    name: str = "gadget"
    func: Any = None


class NamedFunction(BaseModel):
    func: Any = shout

    @field_serializer("func", when_used="json")
    def _name(self, value: Any) -> str:
        return getattr(value, "__name__", str(value))


class AnnotatedFunction(BaseModel):
    func: Annotated[Any, PlainSerializer(lambda value: "a function", when_used="json")] = shout


class WholeModel(BaseModel):
    func: Any = shout

    @model_serializer
    def _whole(self) -> dict[str, Any]:
        return {"kind": "whole"}


class ExcludedFunction(BaseModel):
    label: str = "kept"
    func: Any = Field(default=shout, exclude=True)


class Holder(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    items: list[Any] = []
    pair: tuple[Any, ...] = ()
    mapping: dict[Any, Any] = {}
    inner: Any = None
    when: datetime = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    ident: uuid.UUID = uuid.UUID(int=7)


@dataclasses.dataclass
class Point:
    x: int
    tags: list[str]
    hidden: str = "hidden"


class Node(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    name: str
    func: Any = None
    children: list[Any] = []
    parent: Any = None


class WalkEvent(BaseEvent):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    type: str = "walk_event"
    payload: Any = None
    extra: Any = None


def _cyclic() -> Node:
    root = Node(name="root", func=shout)
    child = Node(name="child", parent=root)
    root.children = [child, Point(1, ["a"])]
    return root


def cases() -> list[Any]:
    deep: Any = {"level": 0}
    for level in range(1, 9):
        deep = {"level": level, "below": deep, "list": [deep]}
    return [
        WalkEvent(payload=Gadget(func=shout)),
        WalkEvent(payload=Gadget(func=None)),  # the same class, dumpable this time
        WalkEvent(payload=Gadget(func=len)),  # a builtin
        WalkEvent(payload=Gadget(func=Gadget().model_dump)),  # a bound method
        WalkEvent(payload=NamedFunction()),
        WalkEvent(payload=AnnotatedFunction()),
        WalkEvent(payload=WholeModel()),
        WalkEvent(payload=ExcludedFunction()),
        WalkEvent(payload=Holder(items=[Gadget(func=shout), Gadget()])),
        WalkEvent(payload=Holder(pair=(Gadget(), Gadget(func=shout)))),
        WalkEvent(payload=Holder(mapping={"g": Gadget(func=shout), 3: "three", (1, 2): "tuple key"})),
        WalkEvent(payload=Holder(inner=Holder(inner=Gadget(func=shout)))),
        WalkEvent(payload=Holder(inner=Point(2, ["b", "c"]))),
        WalkEvent(payload=_cyclic()),
        WalkEvent(payload=deep, extra=Gadget(func=shout)),
        WalkEvent(payload=[Gadget(func=shout)] * 3, extra={"same": Gadget(func=shout)}),  # one object, thrice
        WalkEvent(payload={1: Point(3, []), "set": {1}}, extra=uuid.UUID(int=9)),
    ]


@pytest.mark.parametrize("exclude", [set(), {"extra"}, {"payload", "timestamp"}])
def test_the_walk_equals_crewais_serializer(exclude: set[str]) -> None:
    for event in cases():
        assert walk.event_data(event, exclude) == crewais(event, exclude), event
        assert walk.event_data(event, exclude) == crewais(event, exclude), event  # with what it learnt


def test_the_walk_on_plain_values_equals_crewais_serializer() -> None:
    values = [Point(1, ["x"]), [1, (2, 3)], {"a": {"b": [Gadget(func=shout)]}}, _cyclic(), "text", None]
    for value in values:
        assert walk.event_data(value, set()) == crewais(value)


def test_a_dump_known_to_fail_is_not_run(monkeypatch: pytest.MonkeyPatch) -> None:
    event = WalkEvent(payload=Holder(items=[Gadget(func=shout)]), extra=Gadget(func=shout))
    expected = crewais(event)
    walk.event_data(event, set())  # learns that Gadget.func fails for functions
    dumps: list[str] = []
    original = BaseModel.model_dump

    def counted(self: BaseModel, *args: Any, **kwargs: Any) -> Any:
        dumps.append(type(self).__name__)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BaseModel, "model_dump", counted)
    assert walk.event_data(event, set()) == expected
    assert "Gadget" not in dumps and "WalkEvent" not in dumps and "Holder" not in dumps
    dumps.clear()
    crewais(event)
    assert dumps.count("Gadget") >= 2  # CrewAI's walk dumps the same gadget again and again


def test_a_model_met_several_times_in_one_event_is_dumped_once(monkeypatch: pytest.MonkeyPatch) -> None:
    shared = Gadget(name="shared")
    event = WalkEvent(payload=[shared, shared, {"again": shared}], extra=Gadget(func=shout))
    expected = crewais(event)
    dumps: list[str] = []
    original = BaseModel.model_dump

    def counted(self: BaseModel, *args: Any, **kwargs: Any) -> Any:
        dumps.append(getattr(self, "name", type(self).__name__))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BaseModel, "model_dump", counted)
    assert walk.event_data(event, set()) == expected
    assert dumps.count("shared") == 1


@pytest.fixture
def crew_events(server: OpenAICompatibleServer, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every event of a real crew run (agent, task, tool, streamed LLM), as published."""
    published: list[Any] = []
    original = bus_module.publish_stream_event

    def keep(source: Any, event: Any) -> None:
        published.append(event)
        original(source, event)

    monkeypatch.setattr(bus_module, "publish_stream_event", keep)
    run_flow("crew_with_tool", "kickoff", server)
    return published


def test_every_event_of_a_real_crew_run_walks_as_crewai_converts_it(
    crew_events: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    schemas: list[str] = []
    original = pydantic.BaseModel.model_json_schema.__func__  # type: ignore[attr-defined]

    def counted(cls: type[BaseModel], *args: Any, **kwargs: Any) -> Any:
        schemas.append(cls.__name__)
        return original(cls, *args, **kwargs)

    heavy = [event for event in crew_events if event.type in ("agent_execution_started", "task_started")]
    assert heavy, "the crew run published no agent or task event"
    exclude = streaming._FRAME_DATA_EXCLUDE
    for event in crew_events:
        if type(event).to_json is streaming.BaseEvent.to_json:
            assert walk.event_data(event, exclude) == event.to_json(exclude=exclude), event.type
    monkeypatch.setattr(pydantic.BaseModel, "model_json_schema", classmethod(counted))
    for event in heavy:
        walk.event_data(event, exclude)
    assert schemas == []  # the tool schemas CrewAI makes and throws away are not made
    for event in heavy:
        event.to_json(exclude=exclude)
    assert schemas  # while CrewAI's own walk makes them


def test_a_class_the_walk_gets_wrong_keeps_crewais_way(monkeypatch: pytest.MonkeyPatch) -> None:
    class WrongEvent(WalkEvent):
        type: str = "wrong_event"

    event = WrongEvent(payload=Gadget(func=shout))
    monkeypatch.setattr(frames, "event_data", lambda event, exclude: {"not": "crewai's"})
    assert frames._walked(event, set()) == crewais(event)
    assert frames._WALK_MATCHES[WrongEvent] is False
    assert frames._walked(event, set()) == crewais(event)


def test_a_class_the_walk_gets_right_goes_the_walks_way(monkeypatch: pytest.MonkeyPatch) -> None:
    class RightEvent(WalkEvent):
        type: str = "right_event"

    event = RightEvent(payload=Gadget(func=shout))
    assert frames._walked(event, set()) == crewais(event)
    assert frames._WALK_MATCHES[RightEvent] is True
    monkeypatch.setattr(frames, "event_data", lambda event, exclude: {"from": "the walk"})
    assert frames._walked(event, set()) == {"from": "the walk"}
