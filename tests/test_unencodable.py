"""Item 4 of the hardening issue: a payload that cannot be encoded never breaks a run or leaves a hole in seq."""

from __future__ import annotations

import logging

import pytest

import framescope
from framescope import emit, lifecycle, replay, stream_call
from framescope.telemetry import encode as codec

HUGE = 7**6000  # about 5,000 digits: more than Python turns into decimal text


def run_with(payload: object) -> str:
    with lifecycle("flow_started", {"flow_name": "Big"}, finished="flow_finished", failed="flow_failed") as flow:
        emit("numbers", {"value": payload})
        emit("after", {"ok": True})
        flow.data["result"] = payload
    return "done"


def test_a_five_thousand_digit_int_is_made_safe_by_the_documented_rule(trace_file):
    with stream_call(run_with, HUGE) as session:
        frames = list(session)
    assert session.result == "done"
    assert [f.seq for f in frames] == list(range(len(frames)))
    numbers = next(f for f in frames if f.type == "numbers")
    assert int(numbers.data["value"]["$bigint"], 16) == HUGE
    framescope.flush()
    replayed = replay.from_file(trace_file, session.trace_id)
    assert list(replayed) == frames


def test_a_recorder_failure_costs_no_frame_and_no_seq(trace_file, monkeypatch, caplog):
    real = codec.RunRecorder.event

    def broken(self, frame, scope):
        if frame.type == "numbers" and "$unencodable" not in frame.data:  # the data, not the frame, is bad
            raise ValueError("injected encoder fault")
        return real(self, frame, scope)

    monkeypatch.setattr(codec.RunRecorder, "event", broken)
    with caplog.at_level(logging.WARNING, logger="framescope"), stream_call(run_with, 1) as session:
        frames = list(session)
    assert session.result == "done"
    assert [f.type for f in frames] == ["flow_started", "numbers", "after", "flow_finished"]
    assert [f.seq for f in frames] == [0, 1, 2, 3]
    assert "could not record frame 1 (numbers)" in caplog.text
    framescope.flush()
    replayed = list(replay.from_file(trace_file, session.trace_id))
    assert [f.seq for f in replayed] == [0, 1, 2, 3]  # no hole in the trace either
    assert replayed[1].data == {"$unencodable": "ValueError: injected encoder fault"}
    assert replayed[2:] == frames[2:]


@pytest.mark.parametrize(
    "value",
    [float("nan"), b"\xff", {1, 2}, object(), "\ud800", -HUGE],
    ids=["nan", "bytes", "set", "object", "surrogate", "negative-huge"],
)
def test_odd_payloads_never_break_a_traced_run(trace_file, value):
    with stream_call(run_with, value) as session:
        frames = list(session)
    assert session.result == "done" and [f.seq for f in frames] == [0, 1, 2, 3]
