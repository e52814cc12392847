"""Traces not written by framescope: a best-effort frame sequence from GenAI spans, marked
as reconstructed, and only when asked for."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from framescope import emit, replay, stream_call
from framescope.cli import main
from framescope.errors import ReplayedRunFailed, ReplayError
from framescope.replay.records import EventRecord, SpanRecord
from framescope.replay.sources import parse_trace_document

GENAI = Path(__file__).parent / "fixtures" / "backends" / "jaeger" / "genaiTestTrace.json"
TRACE = "ab" * 16


def span(span_id: str, name: str, start: int, end: int, parent: str | None = None, **attributes) -> SpanRecord:
    return SpanRecord(
        TRACE,
        span_id.rjust(16, "0"),
        name,
        start * 1000,
        end * 1000,
        parent.rjust(16, "0") if parent else None,
        attributes=attributes,
    )


def test_the_jaeger_genai_trace_replays_as_reconstructed_frames():
    records = parse_trace_document(GENAI.read_bytes())
    with pytest.raises(ReplayError, match="--reconstruct"):
        replay.from_records(records)
    session = replay.from_records(records, reconstruct=True)
    frames = list(session)
    assert session.reconstructed and session.gaps == []
    genai = [r for r in records if "gen_ai.operation.name" in r.attributes]
    assert len(frames) == 2 * len(genai) == 34  # HTTP and database spans give no frames
    assert [f.seq for f in frames] == list(range(34))
    assert all(b.previous_id == a.id for a, b in zip(frames, frames[1:], strict=False))
    assert all(a.timestamp <= b.timestamp for a, b in zip(frames, frames[1:], strict=False))
    agent = frames[0]
    assert (agent.type, agent.channel, agent.id, agent.parent_id) == (
        "invoke_agent_started",
        "lifecycle",
        "0000000000000004",
        None,
    )
    assert agent.data["agent_name"] == "triage-agent"
    chat_end = next(f for f in frames if f.type == "llm_call_completed")
    assert chat_end.id == "0000000000000005.end" and chat_end.parent_id == "0000000000000005"
    assert chat_end.data["model"] == "model-a"
    assert chat_end.data["usage"] == {"input_tokens": 1840, "output_tokens": 260, "cache_read.input_tokens": 920}
    chat = next(f for f in frames if f.type == "llm_call_started")
    assert chat.parent_id == "0000000000000004" and chat.data["messages"][0]["role"] == "user"
    tool_end = next(f for f in frames if f.type == "tool_usage_finished")
    assert tool_end.channel == "tools" and tool_end.data == {
        "tool_name": "list_dashboards",
        "output": {"status": "ok", "rows": 12},
    }
    # the tool span's HTTP children are skipped; the span still nests under the agent
    assert {f.parent_id for f in frames if f.type == "tool_usage_started"} == {"0000000000000004"}
    assert frames[-1].type == "invoke_agent_finished"
    assert [i.reconstructed for i in replay.list_runs(records, reconstruct=True)] == [True]


def test_tree_order_breaks_ties_errors_and_span_events():
    records = [
        span("1", "invoke_agent a", 100, 200, **{"gen_ai.operation.name": "invoke_agent"}),
        span("2", "HTTP POST", 100, 150, parent="1"),  # not GenAI: its children move up
        span("3", "execute_tool boom", 100, 100, parent="2"),  # same start as the agent, zero length
        span("4", "chat m", 160, 190, parent="1", **{"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}),
    ]
    records[2].status_code = "ERROR"
    records[2].events.append(
        EventRecord("exception", 100_000, {"exception.type": "KeyError", "exception.message": "'x'"})
    )
    records[3].events.append(EventRecord("gen_ai.choice", 170_000, {"index": 0}))
    frames = list(replay.from_records(records, reconstruct=True))
    assert [(f.type, f.id, f.parent_id) for f in frames] == [
        ("invoke_agent_started", "0000000000000001", None),
        ("tool_usage_started", "0000000000000003", "0000000000000001"),
        ("exception", "0000000000000003.0", "0000000000000003"),
        ("tool_usage_error", "0000000000000003.end", "0000000000000003"),
        ("llm_call_started", "0000000000000004", "0000000000000001"),
        ("gen_ai.choice", "0000000000000004.0", "0000000000000004"),
        ("llm_call_completed", "0000000000000004.end", "0000000000000004"),
        ("invoke_agent_finished", "0000000000000001.end", "0000000000000001"),
    ]
    assert frames[3].data == {"tool_name": "boom", "error_type": "KeyError", "error": "'x'"}
    assert frames[5].data == {"index": 0} and frames[5].channel == "custom"
    assert frames[1].namespace == ["invoke_agent a", "execute_tool boom"]


def test_a_failed_top_level_span_replays_as_a_failure():
    records = [span("1", "chat m", 1, 2, **{"gen_ai.operation.name": "chat"})]
    records[0].status_code, records[0].status_message = "ERROR", "rate limited"
    session = replay.from_records(records, reconstruct=True)
    with pytest.raises(ReplayedRunFailed, match="Error: rate limited"):
        list(session)


def test_framescope_runs_are_never_reconstructed(memory_traces):
    with stream_call(lambda: emit("hello", {"x": 1})) as stream:
        live = list(stream)
    foreign = span("1", "chat m", 1, 2, **{"gen_ai.operation.name": "chat"})
    records = [*memory_traces.records(), foreign]
    session = replay.from_records(records, reconstruct=True)
    assert list(session) == live and not session.reconstructed
    # asking for the foreign trace by id reconstructs that one only
    other = replay.from_records(records, trace_id=TRACE, reconstruct=True)
    assert other.reconstructed and [f.type for f in other] == ["llm_call_started", "llm_call_completed"]


def test_nothing_to_reconstruct_is_a_clear_error():
    with pytest.raises(ReplayError, match="neither a framescope run nor GenAI spans"):
        replay.from_records([span("1", "GET /", 1, 2)], reconstruct=True)


def test_cli_reconstruct_says_so(tmp_path):
    result = CliRunner().invoke(main, ["replay", str(GENAI)])
    assert result.exit_code == 1 and "--reconstruct" in result.stderr
    result = CliRunner().invoke(main, ["replay", str(GENAI), "--reconstruct"])
    assert result.exit_code == 0, result.output
    assert "reconstructed" in result.stderr
    assert "invoke_agent_started" in result.stdout and "tool_usage_finished" in result.stdout
