"""framescope serve over SSE: frames equal ``replay --format jsonl``, resume, bad input, runs list."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from framescope.demo import ANSWER
from framescope.serve import create_app

from support.serve_helpers import (
    UvicornThread,
    frames_of,
    iter_sse,
    parse_sse,
    record_demo,
    record_failure,
    replay_jsonl,
    sse_text,
)


@pytest.fixture
def demo(trace_file):
    run_id, trace_id = record_demo()
    with (
        UvicornThread(create_app(trace_file, jaeger_url="http://jaeger.test:16686")) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        yield trace_file, run_id, trace_id, client


def test_frames_over_sse_are_the_replay_jsonl_lines(demo):
    trace_file, run_id, _trace_id, client = demo
    events = parse_sse(sse_text(client, f"/api/runs/{run_id}/frames"))
    frames = frames_of(events)
    expected = replay_jsonl(trace_file, run_id)
    assert [event.data for event in frames] == expected
    assert [event.id for event in frames] == [str(json.loads(line)["seq"]) for line in expected]
    assert events[-1].event == "end"
    assert events[-1].json() == {"outcome": "ok", "result": ANSWER}


def test_paced_replay_sends_the_same_frames(demo):
    trace_file, run_id, _trace_id, client = demo
    frames = frames_of(parse_sse(sse_text(client, f"/api/runs/{run_id}/frames?speed=50")))
    assert [event.data for event in frames] == replay_jsonl(trace_file, run_id)


@pytest.mark.parametrize("after", [0, 1, 12, 60, "last-1", "last"])
def test_last_event_id_resumes_with_exactly_the_rest(demo, after):
    trace_file, run_id, _trace_id, client = demo
    expected = replay_jsonl(trace_file, run_id)
    seqs = [json.loads(line)["seq"] for line in expected]
    last = {"last": seqs[-1], "last-1": seqs[-2]}.get(after, after)
    events = parse_sse(sse_text(client, f"/api/runs/{run_id}/frames", headers={"Last-Event-ID": str(last)}))
    rest = [line for line, seq in zip(expected, seqs) if seq > last]
    assert [event.data for event in frames_of(events)] == rest
    assert events[-1].event == "end"


def test_resuming_from_a_stream_cut_off_midway_completes_it(demo):
    trace_file, run_id, _trace_id, client = demo
    received = []
    for event in iter_sse(client, f"/api/runs/{run_id}/frames"):
        received.append(event)
        if len(received) == 40:
            break  # the connection drops here
    rest = parse_sse(sse_text(client, f"/api/runs/{run_id}/frames", headers={"Last-Event-ID": received[-1].id}))
    assert [event.data for event in received + frames_of(rest)] == replay_jsonl(trace_file, run_id)


@pytest.mark.parametrize("header", [b"abc", b"-1", b"1.5", b"12 13", b"0x10", "١٢".encode(), b"\xb2", b"9" * 40])
def test_a_malformed_last_event_id_is_a_400_with_a_json_body(demo, header):
    _trace_file, run_id, _trace_id, client = demo
    response = client.get(f"/api/runs/{run_id}/frames", headers={"Last-Event-ID": header})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and "Last-Event-ID" in body["error"]


@pytest.mark.parametrize("speed", ["fast", "-1", "nan", "inf"])
def test_a_bad_speed_is_a_400(demo, speed):
    _trace_file, run_id, _trace_id, client = demo
    response = client.get(f"/api/runs/{run_id}/frames", params={"speed": speed})
    assert response.status_code == 400 and "speed" in response.json()["error"]


def test_an_unknown_run_is_a_404_with_a_json_body(demo):
    _trace_file, _run_id, _trace_id, client = demo
    for path in ("/api/runs/0123456789abcdef/frames", "/api/runs/0123456789abcdef", "/api/nothing"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["status"] == 404
    assert "0123456789abcdef" in client.get("/api/runs/0123456789abcdef/frames").json()["error"]


def test_runs_are_listed_newest_first_with_outcome_and_trace_links(trace_file):
    first, first_trace = record_demo()
    failed = record_failure()
    with UvicornThread(
        create_app(trace_file, jaeger_url="http://jaeger.test:16686/", grafana_url="http://grafana.test:3000")
    ) as server:
        runs = httpx.get(f"{server.url}/api/runs", timeout=30).json()
        assert [run["run_id"] for run in runs] == [failed, first]
        assert [run["outcome"] for run in runs] == ["failed", "ok"]
        assert runs[1]["frame_count"] == len(replay_jsonl(trace_file, first))
        assert runs[1]["links"]["jaeger"] == f"http://jaeger.test:16686/trace/{first_trace}"
        assert runs[1]["links"]["grafana"].startswith("http://grafana.test:3000/explore?")
        assert first_trace in runs[1]["links"]["grafana"]
        events = parse_sse(sse_text(httpx, f"{server.url}/api/runs/{failed}/frames"))
        assert events[-1].json() == {
            "outcome": "failed",
            "error_type": "RuntimeError",
            "error": "RuntimeError: bad broke",
        }


def test_runs_written_after_the_server_started_appear(trace_file):
    first, _ = record_demo()
    with UvicornThread(create_app(trace_file)) as server:
        assert [run["run_id"] for run in httpx.get(f"{server.url}/api/runs").json()] == [first]
        second, _ = record_demo()
        assert [run["run_id"] for run in httpx.get(f"{server.url}/api/runs").json()] == [second, first]


def test_a_missing_source_file_lists_no_runs(tmp_path):
    with UvicornThread(create_app(tmp_path / "not-yet.jsonl")) as server:
        assert httpx.get(f"{server.url}/api/runs").json() == []


def test_a_client_leaving_mid_stream_does_not_stop_the_others(demo):
    trace_file, run_id, _trace_id, client = demo
    expected = replay_jsonl(trace_file, run_id)
    slow_started = threading.Event()
    results: dict[str, list[str]] = {}

    def leaver() -> None:
        # a paced stream (the original timing / 0.01): it is still running when the client leaves
        for count, _event in enumerate(iter_sse(client, f"/api/runs/{run_id}/frames?speed=0.01"), 1):
            if count == 3:
                slow_started.set()
                return

    def stayer(name: str) -> None:
        slow_started.wait(30)
        with httpx.Client(base_url=client.base_url, timeout=30) as own:
            results[name] = [event.data for event in frames_of(parse_sse(sse_text(own, f"/api/runs/{run_id}/frames")))]

    threads = [threading.Thread(target=leaver)] + [threading.Thread(target=stayer, args=(f"s{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert slow_started.is_set()
    assert results == {f"s{i}": expected for i in range(4)}
    # and the server still answers afterwards
    assert [e.data for e in frames_of(parse_sse(sse_text(client, f"/api/runs/{run_id}/frames")))] == expected


def test_a_run_with_many_frames_streams_them_all(trace_file):
    from support.recorded_runs import long_llm_call

    run_id, frames = long_llm_call(3000)
    import framescope

    framescope.flush()
    with UvicornThread(create_app(trace_file)) as server:
        events = frames_of(parse_sse(sse_text(httpx, f"{server.url}/api/runs/{run_id}/frames", timeout=30)))
    assert len(events) == len(frames)
    assert "".join(e.json()["data"].get("chunk", "") for e in events) == "".join(f.content for f in frames)
