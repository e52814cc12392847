"""Choosing runs in a file (several runs in one trace), whole-conversation replay, the async
sources, and the CLI's --list/--run-id/--all-runs/--strict on files."""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner

import framescope
from framescope import replay
from framescope.cli import main
from framescope.errors import IncompleteTraceError, ReplayError

from support.recorded_runs import runs_in_one_trace

SHARED = format(0x0AF7651916CD43DD8448EB211C80319C, "032x")


@pytest.fixture
def turns(trace_file):
    recorded = runs_in_one_trace(3)
    framescope.flush()
    return recorded


def test_list_runs_of_a_file(turns, trace_file):
    listed = replay.list_runs(trace_file)
    assert [info.run_id for info in listed] == [run_id for run_id, _ in turns]
    assert all(info.trace_ids == (SHARED,) and info.frame_count == 5 for info in listed)
    assert [info.started_at for info in listed] == [frames[0].timestamp for _, frames in turns]
    assert listed[0].to_json()["top_level_type"] == "conversation_turn_started"


def test_run_id_and_all_runs_on_a_file(turns, trace_file):
    (first, first_frames), _, (_, last_frames) = turns
    assert list(replay.from_file(trace_file)) == last_frames  # default: the newest run
    assert list(replay.from_file(trace_file, run_id=first)) == first_frames
    whole = replay.from_file(trace_file, SHARED, all_runs=True)
    assert list(whole) == [f for _, frames in turns for f in frames]
    assert whole.run_ids == [run_id for run_id, _ in turns] and whole.run_id is None
    assert list(replay.from_file(trace_file, all_runs=True)) == [f for _, frames in turns for f in frames]
    with pytest.raises(ReplayError, match="run 'nope' is not in"):
        replay.from_file(trace_file, run_id="nope")
    with pytest.raises(ValueError, match="not both"):
        replay.from_file(trace_file, run_id=first, all_runs=True)


def test_async_sources(turns, trace_file):
    async def consume():
        one = await replay.afrom_file(trace_file, run_id=turns[1][0])
        assert isinstance(one, replay.AsyncReplaySession)
        return [f async for f in one], one.result

    frames, result = asyncio.run(consume())
    assert frames == turns[1][1] and result == "answer 1 done"

    async def consume_all():
        session = await replay.afrom_file(trace_file, all_runs=True)
        return [f async for f in session]

    assert asyncio.run(consume_all()) == [f for _, frames in turns for f in frames]


def test_gaps_in_one_of_several_runs_name_the_run(turns, trace_file, tmp_path):
    doomed = turns[1][0]
    kept = []
    for line in trace_file.read_text().splitlines():
        document = json.loads(line)
        for rs in document["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    if any(
                        a["key"] == "framescope.run.id" and a["value"]["stringValue"] == doomed for a in s["attributes"]
                    ):
                        s["events"] = [e for e in s["events"] if e["name"] != "llm_stream_chunk"]  # a token run
        kept.append(json.dumps(document))
    partial = tmp_path / "partial.jsonl"
    partial.write_text("\n".join(kept) + "\n")
    whole = replay.from_file(partial, all_runs=True)
    assert whole.run_gaps == {doomed: [(2, 3)]} and whole.gaps == [(2, 3)]
    with pytest.raises(IncompleteTraceError, match=f"run {doomed} is missing frames with seq 2-3"):
        replay.from_file(partial, all_runs=True, strict=True)
    result = CliRunner().invoke(main, ["replay", str(partial), "--all-runs", "--strict"])
    assert result.exit_code == 1 and f"run {doomed} is missing frames with seq 2-3" in result.stderr


def test_cli_list_run_id_and_all_runs_on_a_file(turns, trace_file):
    runner = CliRunner()
    listed = runner.invoke(main, ["replay", str(trace_file), "--list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert len(lines) == 3 and all(run_id in line for (run_id, _), line in zip(turns, lines, strict=True))
    assert "conversation_turn_started" in lines[0] and "5 frames" in lines[0]
    picked = runner.invoke(main, ["replay", str(trace_file), "--run-id", turns[0][0], "--format", "jsonl"])
    assert picked.stdout.splitlines() == [f.model_dump_json() for f in turns[0][1]]
    whole = runner.invoke(main, ["replay", str(trace_file), "--all-runs", "--channel", "llm"])
    assert whole.exit_code == 0
    assert [line for line in whole.stdout.splitlines() if line.startswith("answer")] == [
        f"answer {n} done" for n in range(3)
    ]


def test_cli_replays_a_failed_run_as_jsonl_then_a_clear_error(trace_file):
    from framescope import lifecycle, stream_call

    def broken() -> None:
        with lifecycle("flow_started", {"flow_name": "B"}, finished="flow_finished", failed="flow_failed"):
            raise KeyError("gone")

    with stream_call(broken) as stream, pytest.raises(KeyError):
        list(stream)
    framescope.flush()
    result = CliRunner().invoke(main, ["replay", str(trace_file), "--format", "jsonl"])
    assert result.exit_code == 1
    assert [json.loads(line)["type"] for line in result.stdout.splitlines()] == ["flow_started", "flow_failed"]
    assert "the replayed run failed: KeyError" in result.stderr and "Traceback" not in result.output
