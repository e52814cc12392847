"""Live runs in the browser: ``sse_response(session)`` streams a running session to its one
client, whose leaving closes it; ``LiveRuns`` publishes a run to any number of viewers, and the
server closes it at shutdown.  conftest checks that no run thread outlives a test."""

from __future__ import annotations

import threading

import httpx
import pytest
from ag_ui.core import Event, EventType
from pydantic import TypeAdapter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import framescope
from framescope.demo import ANSWER, IncidentTriage, register_demo_script
from framescope.serve import sse_response

from support.serve_helpers import PublishingApp, UvicornThread, frames_of, iter_sse, parse_sse, replay_jsonl, sse_text


class LiveApp:
    """An application that starts a demo run per request and streams it with sse_response."""

    def __init__(self) -> None:
        self.sessions: list = []
        self.app = Starlette(routes=[Route("/live/{mode}", self.live)])

    async def live(self, request: Request) -> Response:
        mode = request.path_params["mode"]
        flow = IncidentTriage()
        session = flow.stream_events() if mode == "sync" else flow.astream()
        self.sessions.append(session)
        return sse_response(session, protocol="ag-ui" if mode == "ag-ui" else "frames")


@pytest.fixture
def live(trace_file):
    register_demo_script(0.0)
    app = LiveApp()
    with UvicornThread(app.app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield trace_file, app, client


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_a_live_session_streams_every_frame_then_its_outcome(live, mode):
    trace_file, app, client = live
    events = parse_sse(sse_text(client, f"/live/{mode}"))
    frames = frames_of(events)
    assert events[-1].event == "end" and events[-1].json() == {"outcome": "ok", "result": ANSWER}
    session = app.sessions[-1]
    assert session.is_completed
    assert [event.json() for event in frames] == [frame.model_dump(mode="json") for frame in session.frames]
    framescope.flush()
    assert [event.data for event in frames] == replay_jsonl(trace_file, session.run_id)  # the same encoding


def test_a_live_session_as_ag_ui(live):
    _trace_file, app, client = live
    events = [TypeAdapter(Event).validate_json(e.data) for e in parse_sse(sse_text(client, "/live/ag-ui"))]
    assert events[0].type == EventType.RUN_STARTED and events[0].run_id == app.sessions[-1].run_id
    assert "".join(e.delta for e in events if e.type == EventType.TEXT_MESSAGE_CONTENT) == ANSWER
    assert events[-1].type == EventType.RUN_FINISHED and events[-1].result == ANSWER


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_a_client_that_leaves_closes_the_session_and_the_run_thread_ends(live, mode):
    _trace_file, app, client = live
    register_demo_script(0.05)  # about 5 s of tokens: the client leaves long before the end
    runs: list[threading.Thread] = []
    for event in iter_sse(client, f"/live/{mode}"):
        if event.json()["type"] == "llm_stream_chunk":
            run_id = event.json()["id"].rsplit("-", 1)[0]
            runs = [t for t in threading.enumerate() if t.name == f"framescope-run-{run_id}"]
            break  # the client leaves mid-answer
    assert len(runs) == 1, "the run should still be streaming when its client leaves"
    runs[0].join(20)  # it ends at its next emit once the session is closed (no wall-clock assertion)
    assert not runs[0].is_alive(), "the run went on after its only client left"
    session = app.sessions[-1]
    assert session.is_cancelled and not session.is_completed
    # the server keeps serving
    register_demo_script(0.0)
    assert frames_of(parse_sse(sse_text(client, "/live/async")))[-1].json()["type"] == "flow_finished"


def test_a_published_live_run_is_listed_and_followed_by_many_viewers(trace_file):
    register_demo_script(0.01)
    publisher = PublishingApp(trace_file)
    with UvicornThread(publisher.app) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        run_id = client.post("/start").json()["run_id"]
        listed = client.get("/api/runs").json()
        assert listed[0]["run_id"] == run_id and listed[0]["outcome"] in ("live", "ok")
        results: dict[str, list] = {}

        def viewer(name: str, leave_after: int | None) -> None:
            received = []
            for event in iter_sse(client, f"/api/runs/{run_id}/frames"):
                received.append(event)
                if leave_after is not None and len(received) == leave_after:
                    break
            results[name] = received

        threads = [
            threading.Thread(target=viewer, args=(name, leave))
            for name, leave in (("leaver", 5), ("a", None), ("b", None))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        session = publisher.sessions[-1]
        expected = [frame.model_dump_json() for frame in session.frames]
        for name in ("a", "b"):
            assert [e.data for e in frames_of(results[name])] == expected
            assert results[name][-1].json() == {"outcome": "ok", "result": ANSWER}
        assert len(results["leaver"]) == 5 and session.is_completed
        # a viewer arriving later, or resuming, gets the same frames
        resumed = parse_sse(sse_text(client, f"/api/runs/{run_id}/frames", headers={"Last-Event-ID": "99"}))
        assert [e.data for e in frames_of(resumed)] == expected[100:]
        agui = [
            TypeAdapter(Event).validate_json(e.data)
            for e in parse_sse(sse_text(client, f"/api/runs/{run_id}/frames", params={"protocol": "ag-ui"}))
        ]
        assert "".join(e.delta for e in agui if e.type == EventType.TEXT_MESSAGE_CONTENT) == ANSWER
        assert client.get("/api/runs").json()[0]["outcome"] == "ok"


def test_shutting_down_closes_a_published_run_still_streaming(trace_file):
    register_demo_script(0.05)  # about 5 s of tokens
    publisher = PublishingApp(trace_file)
    with UvicornThread(publisher.app) as server:
        run_id = httpx.post(f"{server.url}/start", timeout=30).json()["run_id"]
        (thread,) = [t for t in threading.enumerate() if t.name == f"framescope-run-{run_id}"]
    thread.join(20)
    assert not thread.is_alive(), "a published run outlived the server"
    assert publisher.sessions[-1].is_cancelled
