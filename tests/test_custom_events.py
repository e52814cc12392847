"""Typed user events: CustomEvent subclasses land on ``custom``, typed both ways, replayable."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import framescope
import framescope.replay
from framescope import stream_call
from framescope.events.custom import CustomEvent, emit_event
from framescope.flow import Flow, listen, start


class ProgressUpdated(CustomEvent):
    percent: int
    note: str = ""


class Explicit(CustomEvent):
    type = "app.deploy:step"
    step: str


def test_type_defaults_to_the_snake_case_class_name_or_is_set_explicitly():
    assert ProgressUpdated.type == "progress_updated"
    assert Explicit.type == "app.deploy:step"

    class HTTPRetryScheduled(CustomEvent):
        pass

    assert HTTPRetryScheduled.type == "http_retry_scheduled"


def test_built_in_or_malformed_types_are_refused_at_class_definition():
    with pytest.raises(TypeError, match="built-in event type of the 'flow' channel"):

        class Fake(CustomEvent):
            type = "flow_finished"

    with pytest.raises(TypeError, match="must be a name such as"):

        class Spaced(CustomEvent):
            type = "has space"


def test_custom_events_emit_on_the_custom_channel_and_come_back_typed(trace_file):
    def run() -> str:
        ProgressUpdated(percent=10, note="start").emit()
        emit_event(Explicit(step="build"))
        return "ok"

    stream = stream_call(run)
    with stream:
        frames = list(stream.channel("custom"))
    assert [f.type for f in frames] == ["progress_updated", "app.deploy:step"]
    assert frames[0].data == {"percent": 10, "note": "start"}
    assert ProgressUpdated.matches(frames[0]) and not ProgressUpdated.matches(frames[1])
    assert ProgressUpdated.from_frame(frames[0]) == ProgressUpdated(percent=10, note="start")
    assert Explicit.from_frame(frames[1]).step == "build"
    with pytest.raises(ValueError, match="not a 'progress_updated'"):
        ProgressUpdated.from_frame(frames[1])
    framescope.flush()
    replayed = list(framescope.replay.from_file(trace_file, stream.trace_id))
    assert replayed == stream.frames
    assert ProgressUpdated.from_frame(replayed[0]).percent == 10


def test_payloads_are_validated_and_emit_event_takes_only_events():
    with pytest.raises(ValidationError):
        ProgressUpdated(percent="lots")
    with pytest.raises(ValidationError):
        ProgressUpdated(percent=1, unknown=True)
    with pytest.raises(TypeError, match="framescope.emit"):
        emit_event({"type": "x"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="subclass it"):
        CustomEvent().emit()


class Steps(Flow):
    @start()
    def one(self):
        ProgressUpdated(percent=50).emit()
        return 1

    @listen(one)
    async def two(self):
        ProgressUpdated(percent=100).emit()
        return 2


@pytest.mark.parametrize("how", ["stream_true", "stream_events", "astream"])
def test_custom_events_in_flow_methods_nest_under_the_method(trace_file, how):
    import asyncio

    if how == "astream":

        async def read():
            async with Steps().astream() as s:
                return [f async for f in s], s

        frames, stream = asyncio.run(read())
    else:
        stream = Steps(stream=True).kickoff() if how == "stream_true" else Steps().stream_events()
        with stream:
            frames = list(stream)
    custom = [f for f in frames if f.channel == "custom"]
    assert [ProgressUpdated.from_frame(f).percent for f in custom] == [50, 100]
    starts = {f.data["method_name"]: f.id for f in frames if f.type == "method_execution_started"}
    assert [f.parent_id for f in custom] == [starts["one"], starts["two"]]
    assert stream.result == 2
    framescope.flush()
    assert list(framescope.replay.from_file(trace_file, stream.trace_id)) == frames
