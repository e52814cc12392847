"""Replay from a live backend: a local HTTP server on 127.0.0.1 answers like Jaeger or Tempo
with real framescope runs (and with failures); ``from_url``, ``find_traces`` and the CLI
must give the live frames back, or one clear error."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from click.testing import CliRunner

from framescope import replay
from framescope.cli import main
from framescope.errors import IncompleteTraceError, ReplayError, TraceFetchError, TraceNotFoundError
from framescope.replay.records import SpanRecord
from framescope.testing import (
    spans_to_jaeger_v1,
    spans_to_otlp_json,
    spans_to_otlp_protobuf,
    spans_to_tempo_v1,
    spans_to_tempo_v2,
)
from test_replay_fetch import Answer, backend  # noqa: F401 - the local backend fixture

from support.recorded_runs import flow_with_tools, long_llm_call, runs_in_one_trace

FAST = {"timeout": 2.0}
SHARED = format(0x0AF7651916CD43DD8448EB211C80319C, "032x")


@pytest.fixture
def flow_run(memory_traces):
    _, frames = flow_with_tools()
    records = memory_traces.records()
    (trace_id,) = {r.trace_id for r in records}
    return trace_id, records, frames


def jaeger_v3(records: list[SpanRecord]) -> Answer:
    return Answer(body=json.dumps({"result": spans_to_otlp_json(records)}).encode())


# ----------------------------------------------------------------- each API, each URL form


def test_jaeger_v3_by_base_url_and_trace_id(backend, flow_run):  # noqa: F811
    trace_id, records, live = flow_run
    backend.route(f"/api/v3/traces/{trace_id}", jaeger_v3(records))
    session = replay.from_jaeger(backend.url, trace_id, **FAST)
    assert list(session) == live and session.result == "THE SUM IS 5, FIVE"
    assert session.trace_id == trace_id and not session.reconstructed
    assert backend.requests[0][1]["rawTraces"] == ["true"]


def test_jaeger_v1_when_v3_is_not_served_via_a_ui_trace_link(backend, flow_run):  # noqa: F811
    trace_id, records, live = flow_run
    backend.route(f"/api/traces/{trace_id}", Answer(body=json.dumps(spans_to_jaeger_v1(records)).encode()))
    session = replay.from_url(f"{backend.url}/trace/{trace_id}", **FAST)
    assert list(session) == live
    assert backend.paths() == [f"/api/v3/traces/{trace_id}", f"/api/traces/{trace_id}"]
    assert backend.requests[1][1]["raw"] == ["true"]


def test_tempo_v2_by_api_url_with_tenant_header_and_token(backend, flow_run):  # noqa: F811
    trace_id, records, live = flow_run
    body = json.dumps(spans_to_tempo_v2(records, tie_seed=5)).encode()
    backend.route(f"/api/v2/traces/{trace_id}", Answer(body=body))
    session = replay.from_url(
        f"{backend.url}/api/v2/traces/{trace_id}", headers={"X-Scope-OrgID": "team"}, token="s3cret", **FAST
    )
    assert list(session) == live
    headers = backend.requests[0][2]
    assert headers["x-scope-orgid"] == "team" and headers["authorization"] == "Bearer s3cret"


@pytest.mark.parametrize("body", ["tempo-v1", "protobuf"])
def test_tempo_v1_fallback_json_or_protobuf(backend, flow_run, body):  # noqa: F811
    trace_id, records, live = flow_run
    answer = (
        Answer(body=json.dumps(spans_to_tempo_v1(records, tie_seed=9)).encode())
        if body == "tempo-v1"
        else Answer(body=spans_to_otlp_protobuf(records), content_type="application/protobuf")
    )
    backend.route(f"/api/traces/{trace_id}", answer)
    assert list(replay.from_tempo(backend.url, trace_id.lstrip("0") or "0", **FAST)) == live
    assert backend.paths() == [f"/api/v2/traces/{trace_id}", f"/api/traces/{trace_id}"]


def test_a_10000_token_answer_through_jaeger_v1(backend, memory_traces):  # noqa: F811
    _, live = long_llm_call()
    records = memory_traces.records()
    trace_id = records[0].trace_id
    backend.route(f"/api/traces/{trace_id}", Answer(body=json.dumps(spans_to_jaeger_v1(records)).encode()))
    assert list(replay.from_url(backend.url, trace_id, backend="jaeger", **FAST)) == live


def test_afrom_url_returns_an_async_session(backend, flow_run):  # noqa: F811
    trace_id, records, live = flow_run
    backend.route(f"/api/v3/traces/{trace_id}", jaeger_v3(records))

    async def consume():
        session = await replay.afrom_url(backend.url, trace_id, backend="jaeger", **FAST)
        assert isinstance(session, replay.AsyncReplaySession)
        return [frame async for frame in session], session.result

    frames, result = asyncio.run(consume())
    assert frames == live and result == "THE SUM IS 5, FIVE"


def test_conversation_turns_listed_chosen_and_replayed_whole(backend, memory_traces):  # noqa: F811
    turns = runs_in_one_trace(3)
    records = memory_traces.records()
    body = json.dumps(spans_to_tempo_v2(records, tie_seed=1)).encode()
    backend.route(f"/api/v2/traces/{SHARED}", Answer(body=body))
    url = f"{backend.url}/api/v2/traces/{SHARED}"
    listed = replay.list_runs(url, **FAST)
    assert [info.run_id for info in listed] == [run_id for run_id, _ in turns]
    assert list(replay.from_url(url, run_id=turns[0][0])) == turns[0][1]
    whole = replay.from_url(url, all_runs=True, **FAST)
    assert list(whole) == [f for _, frames in turns for f in frames] and whole.result == "answer 2 done"


# ----------------------------------------------------------------- gaps from a backend


def drop_span(records: list[SpanRecord], prefix: str) -> list[SpanRecord]:
    return [r for r in records if not r.name.startswith(prefix)]


def test_a_partial_backend_trace_reports_its_gaps_or_fails_strict(backend, flow_run, caplog):  # noqa: F811
    trace_id, records, live = flow_run
    partial = drop_span(records, "execute_tool shout")
    lost = [f.seq for f in live if f.type.startswith("tool_usage") and f.data.get("tool_name") == "shout"]
    assert len(lost) == 2
    backend.route(f"/api/v3/traces/{trace_id}", jaeger_v3(partial))
    with caplog.at_level(logging.WARNING, logger="framescope.replay"):
        session = replay.from_jaeger(backend.url, trace_id, **FAST)
    assert session.gaps == [(lost[0], lost[1])]
    assert f"missing frames with seq {lost[0]}-{lost[1]}" in caplog.text
    assert list(session) == [f for f in live if f.seq not in lost]
    with pytest.raises(IncompleteTraceError, match=f"seq {lost[0]}-{lost[1]}"):
        replay.from_jaeger(backend.url, trace_id, strict=True, **FAST)


def test_a_trace_missing_its_last_frames_is_a_gap_not_a_shorter_run(backend, flow_run):  # noqa: F811
    """Dropping the top-level span leaves frames whose seq has holes at the start and end."""
    trace_id, records, _ = flow_run
    partial = drop_span(records, "invoke_workflow")
    backend.route(f"/api/v3/traces/{trace_id}", jaeger_v3(partial))
    session = replay.from_jaeger(backend.url, trace_id, **FAST)
    assert session.gaps and session.gaps[0][0] == 0
    with pytest.raises(IncompleteTraceError):
        replay.from_jaeger(backend.url, trace_id, strict=True, **FAST)


# ----------------------------------------------------------------- failures


def test_not_found_server_error_timeout_and_malformed_bodies(backend, flow_run):  # noqa: F811
    trace_id, _, _ = flow_run
    with pytest.raises(TraceNotFoundError, match=f"trace {trace_id} not found"):
        replay.from_jaeger(backend.url, trace_id, **FAST)
    backend.route(f"/api/v3/traces/{trace_id}", Answer(500, b"storage down", "text/plain"))
    with pytest.raises(TraceFetchError, match="HTTP 500: storage down"):
        replay.from_jaeger(backend.url, trace_id, **FAST)
    backend.route(f"/api/v3/traces/{trace_id}", Answer(delay=1.0, body=b"{}"))
    with pytest.raises(TraceFetchError, match="did not send its whole answer within 0.3s"):
        replay.from_jaeger(backend.url, trace_id, timeout=0.3)
    for body in (b"<html>login</html>", b'{"result": {"resourceSpans": 3}}', b"\x00\x01\x02"):
        backend.route(f"/api/v3/traces/{trace_id}", Answer(body=body))
        with pytest.raises(TraceFetchError, match="not a trace"):
            replay.from_jaeger(backend.url, trace_id, **FAST)


def test_bad_urls_and_conflicting_ids_are_clear(backend):  # noqa: F811
    with pytest.raises(ValueError, match="holds no trace id"):
        replay.from_url(backend.url)
    with pytest.raises(ValueError, match="must start with http"):
        replay.from_url("jaeger:16686", "ab")
    with pytest.raises(ValueError, match="names trace abc but trace_id='def'"):
        replay.from_url(f"{backend.url}/api/traces/abc", "def")


def test_a_foreign_trace_needs_reconstruct(backend):  # noqa: F811
    from pathlib import Path

    body = (Path(__file__).parent / "fixtures/backends/jaeger/genaiTestTrace.json").read_bytes()
    trace_id = json.loads(body)["traceID"]
    wrapped = json.dumps({"data": [json.loads(body)]}).encode()
    backend.route(f"/api/v3/traces/{trace_id.rjust(32, '0')}", Answer(body=wrapped))
    with pytest.raises(ReplayError, match="--reconstruct"):
        replay.from_jaeger(backend.url, trace_id, **FAST)
    session = replay.from_jaeger(backend.url, trace_id, reconstruct=True, **FAST)
    assert session.reconstructed and next(iter(session)).type == "invoke_agent_started"


# ----------------------------------------------------------------- search


def test_find_traces_asks_tempo_with_traceql_per_condition(backend):  # noqa: F811
    backend.route("/api/search", Answer(body=json.dumps({"traces": [{"traceID": SHARED.lstrip("0")}]}).encode()))
    found = replay.find_traces(
        backend.url, session_id="session-1", flow_name="ToolFlow", backend="tempo", start=100, end=200
    )
    assert found == [SHARED]
    query = backend.requests[0][1]
    assert query["q"] == ['{ .gen_ai.conversation.id = "session-1" } && { .framescope.flow.name = "ToolFlow" }']
    assert query["start"] == ["100"] and query["end"] == ["201"]


def test_find_traces_falls_back_to_jaeger_tag_search(backend):  # noqa: F811
    backend.route("/api/traces", Answer(body=json.dumps({"data": [{"traceID": SHARED}]}).encode()))
    assert replay.find_traces(backend.url, session_id="session-1", service="chat-svc") == [SHARED]
    assert backend.paths() == ["/api/search", "/api/traces"]
    query = backend.requests[1][1]
    assert query["service"] == ["chat-svc"]
    assert json.loads(query["tags"][0]) == {"gen_ai.conversation.id": "session-1"}


# ----------------------------------------------------------------- the CLI against a backend


def test_cli_replays_a_trace_url_as_jsonl(backend, flow_run, monkeypatch):  # noqa: F811
    trace_id, records, live = flow_run
    backend.route(f"/api/v3/traces/{trace_id}", jaeger_v3(records))
    monkeypatch.setenv("FRAMESCOPE_REPLAY_TOKEN", "from-env")
    result = CliRunner().invoke(
        main,
        ["replay", f"{backend.url}/api/v3/traces/{trace_id}", "--format", "jsonl", "--header", "X-Scope-OrgID: team"],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(live)
    for line, frame in zip(lines, live, strict=True):
        try:
            assert line == frame.model_dump_json()
        except ValueError:  # a lone surrogate in data: pydantic cannot write it, the CLI escapes it
            assert json.loads(line)["data"] == frame.data and json.loads(line)["id"] == frame.id
    assert backend.requests[0][2]["authorization"] == "Bearer from-env"
    assert backend.requests[0][2]["x-scope-orgid"] == "team"


def test_cli_lists_runs_and_picks_one(backend, memory_traces):  # noqa: F811
    turns = runs_in_one_trace(2)
    records = memory_traces.records()
    backend.route(f"/api/traces/{SHARED}", Answer(body=json.dumps(spans_to_jaeger_v1(records)).encode()))
    url = f"{backend.url}/api/traces/{SHARED}"
    listed = CliRunner().invoke(main, ["replay", url, "--list", "--format", "jsonl"])
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [row["run_id"] for row in rows] == [run_id for run_id, _ in turns]
    assert rows[0]["frame_count"] == 5 and rows[0]["top_level_type"] == "conversation_turn_started"
    picked = CliRunner().invoke(main, ["replay", url, "--run-id", turns[0][0], "--format", "jsonl"])
    assert picked.stdout.splitlines() == [f.model_dump_json() for f in turns[0][1]]


def test_cli_backend_failures_are_one_line_errors(backend, flow_run):  # noqa: F811
    trace_id, _, _ = flow_run
    runner = CliRunner()
    for answer, args, message in [
        (None, ["replay", backend.url, "--trace-id", trace_id], "not found"),
        (Answer(500, b"boom", "text/plain"), ["replay", f"{backend.url}/api/v3/traces/{trace_id}"], "HTTP 500"),
    ]:
        if answer is not None:
            backend.route(f"/api/v3/traces/{trace_id}", answer)
        result = runner.invoke(main, args)
        assert result.exit_code == 1 and message in result.stderr
        assert "Traceback" not in result.output and result.stderr.count("\n") == 1, result.stderr
    backend.route(f"/api/v3/traces/{trace_id}", Answer(delay=1.0, body=b"{}"))
    result = runner.invoke(main, ["replay", backend.url, "--trace-id", trace_id, "--timeout", "0.3"])
    assert result.exit_code == 1 and "did not send its whole answer within 0.3s" in result.stderr
    backend.route(f"/api/v3/traces/{trace_id}", Answer(body=b"<html>"))
    result = runner.invoke(main, ["replay", backend.url, "--trace-id", trace_id])
    assert result.exit_code == 1 and "not a trace" in result.stderr and "Traceback" not in result.output
    result = runner.invoke(main, ["replay", backend.url, "--header", "no-separator", "--trace-id", trace_id])
    assert result.exit_code == 2 and "NAME: VALUE" in result.output


def test_cli_warns_on_gaps_on_stderr_and_fails_strict(backend, flow_run):  # noqa: F811
    trace_id, records, live = flow_run
    backend.route(f"/api/v3/traces/{trace_id}", jaeger_v3(drop_span(records, "execute_tool add")))
    url = f"{backend.url}/api/v3/traces/{trace_id}"
    result = CliRunner().invoke(main, ["replay", url, "--format", "jsonl"])
    assert result.exit_code == 1 and "the replayed run is incomplete" in result.stderr  # never passed off as ok
    assert "warning: run" in result.stderr and "missing frames with seq" in result.stderr
    assert all(json.loads(line) for line in result.stdout.splitlines())
    assert len(result.stdout.splitlines()) == len(live) - 2
    strict = CliRunner().invoke(main, ["replay", url, "--strict"])
    assert strict.exit_code == 1 and "missing frames with seq" in strict.stderr
