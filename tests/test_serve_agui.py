"""framescope serve as AG-UI: events valid per ag-ui-protocol, text and tool calls reassembled,
every frame recoverable (lossless), the run's start and end."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import httpx
import pytest
from ag_ui.core import Event, EventType
from pydantic import TypeAdapter

from framescope.demo import ANSWER
from framescope.serve import create_app
from framescope.serve.agui import AguiMapper
from framescope.types.streaming import StreamFrame

from support.serve_helpers import UvicornThread, parse_sse, record_demo, record_failure, replay_jsonl, sse_text

EVENT = TypeAdapter(Event)


def agui_events(client: httpx.Client, run_id: str, **kwargs) -> list:
    text = sse_text(client, f"/api/runs/{run_id}/frames", **kwargs)
    events = parse_sse(text)
    assert all(event.id is None and event.event == "message" for event in events)
    return [EVENT.validate_json(event.data) for event in events]


@pytest.fixture
def served(trace_file):
    run_id, trace_id = record_demo()
    failed = record_failure()
    with UvicornThread(create_app(trace_file)) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield trace_file, run_id, trace_id, failed, client


def recovered_frames(events: list) -> list[dict]:
    frames = []
    for event in events:
        if event.type == EventType.RAW:
            frames.append(event.event)
        elif event.raw_event is not None:
            frames.append(event.raw_event)
    return frames


def test_every_event_validates_and_the_frames_are_recoverable_in_order(served):
    trace_file, run_id, _trace_id, _failed, client = served
    events = agui_events(client, run_id, params={"protocol": "ag-ui"})
    assert recovered_frames(events) == [json.loads(line) for line in replay_jsonl(trace_file, run_id)]


def test_the_accept_header_selects_ag_ui(served):
    _trace_file, run_id, _trace_id, _failed, client = served
    by_query = agui_events(client, run_id, params={"protocol": "ag-ui"})
    by_accept = agui_events(client, run_id, headers={"Accept": "application/vnd.ag-ui.event+json"})
    assert [e.model_dump() for e in by_accept] == [e.model_dump() for e in by_query]


def test_text_and_reasoning_reassemble(served):
    _trace_file, run_id, _trace_id, _failed, client = served
    events = agui_events(client, run_id, params={"protocol": "ag-ui"})
    texts: dict[str, str] = {}
    open_messages: set[str] = set()
    for event in events:
        if event.type == EventType.TEXT_MESSAGE_START:
            assert event.message_id not in open_messages
            open_messages.add(event.message_id)
            texts[event.message_id] = ""
        elif event.type == EventType.TEXT_MESSAGE_CONTENT:
            assert event.message_id in open_messages
            texts[event.message_id] += event.delta
        elif event.type == EventType.TEXT_MESSAGE_END:
            open_messages.remove(event.message_id)
    assert not open_messages
    assert list(texts.values()) == [ANSWER]
    reasoning = "".join(e.delta for e in events if e.type == EventType.REASONING_MESSAGE_CONTENT)
    assert reasoning == "Latency after a deploy; compare pool use with errors. "
    kinds = [e.type for e in events]
    assert kinds.count(EventType.REASONING_START) == kinds.count(EventType.REASONING_END) == 1


def test_tool_calls_reassemble_with_arguments_and_results(served):
    _trace_file, run_id, _trace_id, _failed, client = served
    events = agui_events(client, run_id, params={"protocol": "ag-ui"})
    calls: dict[str, dict] = {}
    for event in events:
        if event.type == EventType.TOOL_CALL_START:
            assert event.tool_call_id not in calls
            calls[event.tool_call_id] = {"name": event.tool_call_name, "args": "", "ended": False, "result": None}
        elif event.type == EventType.TOOL_CALL_ARGS:
            assert not calls[event.tool_call_id]["ended"]
            calls[event.tool_call_id]["args"] += event.delta
        elif event.type == EventType.TOOL_CALL_END:
            calls[event.tool_call_id]["ended"] = True
        elif event.type == EventType.TOOL_CALL_RESULT:
            assert calls[event.tool_call_id]["ended"]
            calls[event.tool_call_id]["result"] = event.content
    by_name = {call["name"]: call for call in calls.values()}
    assert set(by_name) == {"search_runbooks", "get_service_metrics"}
    assert json.loads(by_name["search_runbooks"]["args"]) == {"service": "checkout"}
    assert by_name["search_runbooks"]["result"].startswith("Runbook checkout-latency")
    metrics = by_name["get_service_metrics"]
    assert json.loads(metrics["args"]) == {"service": "checkout"}  # streamed by the LLM, delta by delta
    assert json.loads(metrics["result"])["p99_ms"] == 2400
    assert "call_demo_0" in calls  # the LLM's own call id


def test_run_start_steps_custom_and_finish(served):
    _trace_file, run_id, trace_id, _failed, client = served
    events = agui_events(client, run_id, params={"protocol": "ag-ui"})
    start, finish = events[0], events[-1]
    assert start.type == EventType.RUN_STARTED and start.run_id == run_id and start.thread_id == trace_id
    assert start.metadata["traceId"] == trace_id
    assert re.fullmatch(rf"00-{trace_id}-[0-9a-f]{{16}}-01", start.metadata["traceparent"])
    assert finish.type == EventType.RUN_FINISHED and finish.result == ANSWER and finish.run_id == run_id
    steps = [(e.type, e.step_name) for e in events if e.type in (EventType.STEP_STARTED, EventType.STEP_FINISHED)]
    names = ["receive_alert", "find_runbook", "assess_severity", "analyse"]
    assert steps == [(kind, name) for name in names for kind in (EventType.STEP_STARTED, EventType.STEP_FINISHED)]
    custom = [e for e in events if e.type == EventType.CUSTOM]
    assert [(c.name, c.value) for c in custom] == [
        ("severity_assessed", {"service": "checkout", "severity": "page", "reason": "p99 above the SLO"})
    ]


def test_a_failed_run_ends_with_run_error(served):
    trace_file, _run_id, _trace_id, failed, client = served
    events = agui_events(client, failed, params={"protocol": "ag-ui"})
    assert events[-1].type == EventType.RUN_ERROR
    assert events[-1].code == "RuntimeError" and "bad broke" in events[-1].message
    assert recovered_frames(events) == [json.loads(line) for line in replay_jsonl(trace_file, failed)]


def test_ag_ui_cannot_resume_mid_run(served):
    _trace_file, run_id, _trace_id, _failed, client = served
    response = client.get(f"/api/runs/{run_id}/frames", params={"protocol": "ag-ui"}, headers={"Last-Event-ID": "3"})
    assert response.status_code == 400 and "AG-UI" in response.json()["error"]
    response = client.get(f"/api/runs/{run_id}/frames", params={"protocol": "graphql"})
    assert response.status_code == 400


def _frame(seq: int, type_: str, channel: str, data: dict, parent: str | None = None) -> StreamFrame:
    return StreamFrame(
        id=f"r-{seq}",
        seq=seq,
        type=type_,
        channel=channel,
        namespace=["x"],
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        parent_id=parent,
        data=data,
    )


def test_a_frame_carrying_state_also_gives_a_state_snapshot():
    mapper = AguiMapper(run_id="r", thread_id="t", trace_id=None, traceparent=None)
    events = mapper.frame(_frame(0, "flow_paused", "flow", {"flow_name": "F", "state": {"step": 2}}))
    assert [e.type for e in events] == [EventType.RAW, EventType.STATE_SNAPSHOT]
    assert events[1].snapshot == {"step": 2} and events[0].event["data"]["state"] == {"step": 2}
    for event in events:
        EVENT.validate_json(event.model_dump_json(by_alias=True))


def test_a_tool_error_becomes_a_result_and_stays_recoverable():
    mapper = AguiMapper(run_id="r", thread_id="t", trace_id=None, traceparent=None)
    started = _frame(0, "tool_usage_started", "tools", {"tool_name": "t", "arguments": {"a": 1}})
    failed = _frame(
        1, "tool_usage_error", "tools", {"tool_name": "t", "error_type": "KeyError", "error": "'a'"}, parent="r-0"
    )
    events = mapper.frame(started) + mapper.frame(failed) + mapper.finish(result=None)
    kinds = [e.type for e in events]
    assert kinds == [
        EventType.TOOL_CALL_START,
        EventType.TOOL_CALL_ARGS,
        EventType.TOOL_CALL_END,
        EventType.TOOL_CALL_RESULT,
        EventType.RUN_FINISHED,
    ]
    assert events[3].tool_call_id == "r-0" and "KeyError" in events[3].content
    assert events[3].raw_event["type"] == "tool_usage_error"


def test_a_flow_paused_for_a_human_ends_with_an_interrupt(trace_file):
    import framescope
    from framescope.flow import Flow, listen, start

    class Review(Flow):
        @start()
        def draft(self) -> str:
            return "draft-1"

        @listen(draft)
        def review(self, text: str) -> str:
            return f"{text}: {self.ask(f'Approve {text}?')}"

    with Review().stream_events() as session:
        list(session)
    pending = session.result
    framescope.flush()
    with UvicornThread(create_app(trace_file)) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        events = agui_events(client, session.run_id, params={"protocol": "ag-ui"})
    finish = events[-1]
    assert finish.type == EventType.RUN_FINISHED and finish.outcome.type == "interrupt"
    (interrupt,) = finish.outcome.interrupts
    assert interrupt.message == "Approve draft-1?" and interrupt.id == pending.resume_token
