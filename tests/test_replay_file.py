"""replay.from_file: picking runs, and a clear error for every bad input."""

from __future__ import annotations

import json

import pytest

import framescope
from framescope import emit, lifecycle, replay, stream_call
from framescope.errors import IncompleteTraceError, ReplayedRunFailed, ReplayError, TornTraceFileError


def named_run(name: str, fail: bool = False) -> str:
    with lifecycle("flow_started", {"flow_name": name}, finished="flow_finished", failed="flow_failed") as flow:
        emit("step", {"name": name})
        if fail:
            raise RuntimeError(f"{name} broke")
        flow.data["result"] = name
    return name


def streamed(name: str, fail: bool = False):
    stream = stream_call(named_run, name, fail)
    try:
        frames = list(stream)
    except RuntimeError:
        frames = stream.frames
    return stream, frames


def test_picks_by_trace_id_and_defaults_to_the_newest(trace_file):
    first, first_frames = streamed("first")
    second, second_frames = streamed("second")
    framescope.flush()
    assert list(replay.from_file(trace_file, first.trace_id)) == first_frames
    newest = replay.from_file(trace_file)
    assert list(newest) == second_frames and newest.result == "second"
    assert newest.trace_id == second.trace_id


def test_a_failed_run_replays_its_failure(trace_file):
    stream, frames = streamed("bad", fail=True)
    framescope.flush()
    replayed = replay.from_file(trace_file, stream.trace_id)
    with pytest.raises(ReplayedRunFailed, match="RuntimeError: bad broke"):
        list(replayed)
    assert replayed.frames == frames


def test_missing_file_unknown_trace_and_foreign_trace_are_clear_errors(trace_file, tmp_path):
    with pytest.raises(FileNotFoundError, match="no trace file at"):
        replay.from_file(tmp_path / "nope.jsonl")
    streamed("only")
    framescope.flush()
    with pytest.raises(ReplayError, match="trace 0+abc is not in"):
        replay.from_file(trace_file, "abc")
    foreign = tmp_path / "foreign.json"
    foreign.write_text(
        json.dumps(
            {
                "resourceSpans": [
                    {
                        "resource": {},
                        "scopeSpans": [
                            {
                                "spans": [
                                    {
                                        "traceId": "5b8efff798038103d269b633813fc60c",
                                        "spanId": "eee19b7ec3c1b174",
                                        "name": "GET /",
                                        "startTimeUnixNano": "1",
                                        "endTimeUnixNano": "2",
                                    }
                                ]
                            }
                        ],
                    }
                ]
            }
        )
    )
    with pytest.raises(ReplayError, match="not written by framescope"):
        replay.from_file(foreign)
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="garbage.json"):
        replay.from_file(garbage)


def test_a_torn_last_line_is_reported_and_can_be_skipped(trace_file, tmp_path):
    stream, frames = streamed("whole")
    framescope.flush()
    torn = tmp_path / "torn.jsonl"
    torn.write_text(trace_file.read_text() + '{"resourceSpans": [{"scopeSp')
    with pytest.raises(TornTraceFileError, match="allow_torn=True"):
        replay.from_file(torn)
    assert list(replay.from_file(torn, stream.trace_id, allow_torn=True)) == frames


def test_gaps_are_reported_and_strict_mode_raises(trace_file, tmp_path):
    def two_spans() -> str:
        with lifecycle("flow_started", {"flow_name": "Gap"}, finished="flow_finished", failed="flow_failed") as f:
            with lifecycle(
                "tool_usage_started", {"tool_name": "t"}, finished="tool_usage_finished", failed="tool_usage_error"
            ):
                emit("inside", {})
            f.data["result"] = "x"
        return "x"

    with stream_call(two_spans) as stream:
        list(stream)
    framescope.flush()
    # drop the tool span, as a backend that lost a span would
    kept = []
    for line in trace_file.read_text().splitlines():
        document = json.loads(line)
        for rs in document["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                ss["spans"] = [s for s in ss["spans"] if not s["name"].startswith("execute_tool")]
        kept.append(json.dumps(document))
    partial = tmp_path / "partial.jsonl"
    partial.write_text("\n".join(kept) + "\n")
    replayed = replay.from_file(partial)
    assert replayed.gaps == [(1, 3)]
    assert [f.seq for f in replayed] == [0, 4]
    with pytest.raises(IncompleteTraceError, match="missing frames with seq 1-3"):
        replay.from_file(partial, strict=True)


def test_replay_paces_at_the_original_timing(trace_file, monkeypatch):
    import time

    from framescope.replay import feed

    def paced() -> None:
        for i in range(3):
            emit("tick", {"i": i})
            time.sleep(0.1)

    with stream_call(paced) as stream:
        live = list(stream)
    framescope.flush()

    class VirtualClock:
        """The replay feed's clock: sleeping advances it, so pacing is measured exactly."""

        now = 1000.0
        slept: list[float] = []

        @classmethod
        def monotonic(cls) -> float:
            return cls.now

        @classmethod
        def sleep(cls, seconds: float) -> None:
            cls.slept.append(seconds)
            cls.now += seconds

    monkeypatch.setattr(feed, "time", VirtualClock)
    assert list(replay.from_file(trace_file, stream.trace_id, speed=2.0)) == live
    span = (live[-1].timestamp - live[0].timestamp).total_seconds()
    assert span >= 0.2
    assert len(VirtualClock.slept) == 2  # one wait before each later frame
    assert abs(sum(VirtualClock.slept) - span / 2) < 1e-6  # twice as fast as recorded
    with pytest.raises(ValueError, match="speed must be > 0"):
        replay.from_file(trace_file, stream.trace_id, speed=0)


def test_processes_sharing_one_trace_file_never_interleave_lines(tmp_path):
    import os
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    path = tmp_path / "shared.jsonl"
    code = textwrap.dedent(
        """
        import framescope
        from framescope import emit, lifecycle, stream_call
        def run():
            with lifecycle("flow_started", {"flow_name": "P"}, finished="flow_finished", failed="flow_failed"):
                for i in range(300):
                    emit("blob", {"i": i, "pad": "x" * 2000})
        for _ in range(5):
            with stream_call(run) as stream:
                list(stream)
        framescope.shutdown()
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FRAMESCOPE_"))}
    env.update(PYTHONPATH=str(Path(__file__).resolve().parents[1] / "plugin"), FRAMESCOPE_TRACE_FILE=str(path))
    children = [subprocess.Popen([sys.executable, "-c", code], env=env) for _ in range(3)]
    assert all(child.wait(120) == 0 for child in children)
    runs = replay.load_runs(replay.load_records(path))  # a torn or mixed line would fail here
    assert len(runs) == 15 and all(run.gaps == [] and len(run.frames) == 302 for run in runs)


def test_the_trace_file_rotates_before_it_passes_its_size_limit(tmp_path, monkeypatch):
    path = tmp_path / "traces.jsonl"
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FRAMESCOPE_TRACE_FILE", str(path))
    monkeypatch.setenv("FRAMESCOPE_TRACE_FILE_MAX_BYTES", "4000")
    framescope.configure(replace=True)
    try:
        streams = []
        for i in range(12):
            stream, frames = streamed(f"run{i}")
            framescope.flush()
            streams.append((stream, frames))
        assert path.stat().st_size <= 4000
        backup = path.with_name("traces.jsonl.1")
        assert backup.exists() and backup.stat().st_size <= 4000
        last, last_frames = streams[-1]
        assert list(replay.from_file(path, last.trace_id)) == last_frames
    finally:
        framescope.shutdown()
    monkeypatch.setenv("FRAMESCOPE_TRACE_FILE_MAX_BYTES", "lots")
    with pytest.raises(framescope.ConfigurationError, match="FRAMESCOPE_TRACE_FILE_MAX_BYTES='lots'"):
        framescope.configure(replace=True)
