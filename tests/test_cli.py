"""The framescope command: demo, replay, doctor."""

from __future__ import annotations

import json

from click.testing import CliRunner

import framescope
from framescope import emit, lifecycle, stream_call
from framescope.cli import main
from framescope.telemetry.run import emit_token


def recorded_run(trace_file):
    def run() -> str:
        with lifecycle(
            "llm_call_started", {"model": "m"}, finished="llm_call_completed", failed="llm_call_failed"
        ) as call:
            for word in ("hello ", "world"):
                emit_token("llm_stream_chunk", word)
            call.data["result"] = "hello world"
        emit("after", {"k": 1})
        return "hello world"

    with stream_call(run) as stream:
        frames = list(stream)
    framescope.flush()
    return stream, frames


def test_replay_prints_jsonl_exactly_as_model_dump_json(trace_file):
    stream, frames = recorded_run(trace_file)
    result = CliRunner().invoke(main, ["replay", str(trace_file), "--trace-id", stream.trace_id, "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [frame.model_dump_json() for frame in frames]


def test_replay_text_flows_tokens_and_filters_channels(trace_file):
    recorded_run(trace_file)
    result = CliRunner().invoke(main, ["replay", str(trace_file), "--channel", "llm"])
    assert result.exit_code == 0, result.output
    assert "hello world" in result.output
    assert "llm_call_started" in result.output and "after" not in result.output


def test_replay_errors_are_one_clear_line(tmp_path):
    result = CliRunner().invoke(main, ["replay", str(tmp_path / "missing.jsonl")])
    assert result.exit_code != 0 and "no trace file at" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text("not json at all")
    result = CliRunner().invoke(main, ["replay", str(bad)])
    assert result.exit_code != 0 and "Error:" in result.output and "Traceback" not in result.output


def test_demo_streams_traces_and_replays_identically(trace_file):
    result = CliRunner().invoke(main, ["demo", "--token-delay", "0", "--replay-speed", "0"])
    assert result.exit_code == 0, result.output
    assert "identical" in result.output
    assert "replay it again:" in result.output and " replay " in result.output
    for shown in ("flow_routed", "tool_usage_started", "severity_assessed", "rather than the payment gateway"):
        assert shown in result.output


def test_doctor_reports_the_exporter_and_an_unreachable_endpoint(monkeypatch, trace_file):
    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "exporters: ['file']" in result.output and "{" not in result.output  # text only
    result = CliRunner().invoke(main, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)  # pure JSON, nothing else
    assert document["settings"]["exporters"] == ["file"] and document["ok"] is True
    framescope.shutdown()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 1
    assert "does not answer" in result.output
    result = CliRunner().invoke(main, ["doctor", "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["ok"] is False
    framescope.shutdown()


def test_demo_uses_a_real_openai_compatible_endpoint_when_one_is_set(trace_file, monkeypatch):
    from support.openai_server import OpenAICompatibleServer

    with OpenAICompatibleServer() as server:
        server.enqueue(tool_calls=[{"name": "get_service_metrics", "arguments": {"service": "checkout"}}])
        server.enqueue(reply="Roll back the deploy; the pool is exhausted.")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
        result = CliRunner().invoke(main, ["demo", "--replay-speed", "0", "--model", "gpt-4o-mini"])
        assert result.exit_code == 0, result.output
        assert "gpt-4o-mini" in result.output and "identical" in result.output
        assert "Roll back the deploy; the pool is exhausted." in result.output
        assert [r.json["model"] for r in server.requests] == ["gpt-4o-mini", "gpt-4o-mini"]
        assert "sk-test-not-real" not in trace_file.read_text()
