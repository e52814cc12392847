"""Flows: frames through every entry point, routing, state, pause/resume, failure, cancellation.

Every streamed run is also replayed from its trace file and compared frame for frame (D5).
The three streamed entry points (``Flow(stream=True).kickoff()``, ``stream_events`` and
``astream``) are exercised by one parametrized helper, so each construct runs through all.
"""

from __future__ import annotations

import asyncio
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel

import framescope
import framescope.replay
from framescope import emit
from framescope.errors import ReplayedRunFailed
from framescope.events.custom import CustomEvent
from framescope.flow import (
    Flow,
    FlowDefinitionError,
    FlowInputError,
    FlowStateError,
    PendingInput,
    UnhandledRouteWarning,
    and_,
    listen,
    or_,
    router,
    start,
)
from framescope.replay import load_records
from framescope.tools import tool
from framescope.types.streaming import StreamFrame

ENTRY_POINTS = ["stream_true", "stream_events", "astream"]


# -- helpers ------------------------------------------------------------------------------
class Streamed:
    """What one streamed run gave: frames, result (or the raised error) and the session."""

    def __init__(self, frames: list[StreamFrame], result: Any, error: BaseException | None, session: Any) -> None:
        self.frames = frames
        self.result = result
        self.error = error
        self.session = session

    def types(self) -> list[str]:
        return [f.type for f in self.frames]

    def of(self, type_: str, **data: Any) -> list[StreamFrame]:
        return [f for f in self.frames if f.type == type_ and all(f.data.get(k) == v for k, v in data.items())]


def open_stream(flow_cls: type[Flow[Any]], how: str, inputs: dict[str, Any] | None = None) -> tuple[Flow[Any], Any]:
    if how == "stream_true":
        flow = flow_cls(stream=True)
        return flow, flow.kickoff(inputs=inputs)
    flow = flow_cls()
    if how == "stream_events":
        return flow, flow.stream_events(inputs=inputs)
    return flow, flow.astream(inputs=inputs)


def consume(session: Any) -> Streamed:
    """Read a sync or async session to its end, keeping the error iteration raised."""
    frames: list[StreamFrame] = []
    error: BaseException | None = None
    if isinstance(session, framescope.AsyncStreamSession):

        async def read() -> None:
            async with session:
                async for frame in session.events:
                    frames.append(frame)

        try:
            asyncio.run(read())
        except Exception as exc:
            error = exc
    else:
        try:
            with session:
                for frame in session:
                    frames.append(frame)
        except Exception as exc:
            error = exc
    result = None
    if error is None:
        result = session.result
    return Streamed(frames, result, error, session)


def run_flow(flow_cls: type[Flow[Any]], how: str, inputs: dict[str, Any] | None = None) -> Streamed:
    _, session = open_stream(flow_cls, how, inputs)
    return consume(session)


def assert_replays(trace_file: Path, run: Streamed) -> framescope.replay.ReplaySession:
    """The run rebuilt from its exported trace equals what was streamed live, frame for frame."""
    framescope.flush()
    replayed = framescope.replay.from_file(trace_file, run.session.trace_id)
    frames: list[StreamFrame] = []
    try:
        for frame in replayed:
            frames.append(frame)
    except ReplayedRunFailed as exc:
        assert run.error is not None and exc.error_type == type(run.error).__name__
    assert frames == run.frames
    return replayed


def assert_well_formed(run: Streamed) -> None:
    frames = run.frames
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert all(b.previous_id == a.id for a, b in zip(frames, frames[1:]))
    root = frames[0]
    assert root.type == "flow_started" and root.parent_id is None
    for frame in frames:
        if frame.type == "method_execution_started":
            assert frame.parent_id == root.id
            assert frame.namespace == ["flow", root.data["flow_name"], frame.data["method_name"]]


def records_of(trace_file: Path, trace_id: str) -> list[Any]:
    framescope.flush()
    return [r for r in load_records(trace_file) if r.trace_id == trace_id]


# -- the seed's samples -----------------------------------------------------------------
class ReportFlow(Flow):
    @start()
    def generate(self):
        return "done"


def test_seed_flow_sample_runs_unchanged(trace_file, capsys):
    flow = ReportFlow(stream=True)
    stream = flow.kickoff()
    with stream:
        for chunk in stream:
            print(chunk.content, end="", flush=True)
            if chunk.type == "tool_usage_started":
                print(chunk.event["tool_name"])
    result = stream.result
    assert result == "done"
    live = stream.frames
    assert [f.type for f in live] == [
        "flow_started",
        "method_execution_started",
        "method_execution_finished",
        "flow_finished",
    ]
    assert all(f.channel == "flow" for f in live)
    assert live[0].data == {"flow_name": "ReportFlow", "inputs": {}}
    assert live[2].data == {"flow_name": "ReportFlow", "method_name": "generate", "result": "done"}
    assert live[-1].data["result"] == "done"
    assert live[1].namespace == ["flow", "ReportFlow", "generate"]
    assert_replays(trace_file, Streamed(live, result, None, stream))


def test_seed_projection_and_cleanup_samples(trace_file):
    flow = ReportFlow()
    stream = flow.stream_events()
    with stream:
        for frame in stream.llm:
            print(frame.content, end="", flush=True)
    assert stream.result == "done"
    assert [f.type for f in stream.flow][-1] == "flow_finished"
    stream = flow.stream_events()
    try:
        for frame in stream.events:
            print(frame.type)
    finally:
        if not stream.is_exhausted:
            stream.close()
    assert stream.is_completed


def test_plain_kickoff_returns_the_result_and_is_traced_like_a_stream(trace_file):
    assert ReportFlow().kickoff() == "done"
    framescope.flush()
    plain = framescope.replay.from_file(trace_file)  # the newest run in the file
    streamed = run_flow(ReportFlow, "stream_events")
    assert [f.type for f in plain] == streamed.types()
    assert plain.result == "done" and plain.trace_id != streamed.session.trace_id
    spans = records_of(trace_file, plain.trace_id)
    assert sorted(s.name for s in spans) == ["invoke_workflow ReportFlow", "method generate"]


# -- every construct, through every streamed entry point -----------------------------------
class Progress(CustomEvent):
    percent: int


@tool
def word_count(text: str) -> int:
    """Count words."""
    return len(text.split())


class RichState(BaseModel):
    topic: str = "otel"
    visited: list[str] = []
    words: int = 0


class RichFlow(Flow[RichState]):
    @start()
    def fetch(self):
        self.state.visited.append("fetch")
        Progress(percent=50).emit()
        return f"notes on {self.state.topic}"

    @start()
    async def warm_up(self):
        await asyncio.sleep(0)
        self.state.visited.append("warm_up")
        return "warm"

    @router(fetch)
    def triage(self, notes: str) -> Literal["long", "short"]:
        self.state.words = word_count.invoke({"text": notes})
        return "long" if self.state.words > 3 else "short"

    @listen("long")
    def summarize(self, label: str):
        self.state.visited.append(f"summarize:{label}")
        return "summary"

    @listen("short")
    def keep(self):
        self.state.visited.append("keep")
        return "kept"

    @listen(or_(summarize, keep))
    async def draft(self, text: str):
        await asyncio.sleep(0)
        return f"draft({text})"

    @listen(and_(draft, warm_up))
    def publish(self):
        self.state.visited.append("publish")
        return f"published {self.state.topic}: {self.state.words} words"


@pytest.mark.parametrize("how", ENTRY_POINTS)
def test_router_conditions_state_tools_and_custom_events_stream_and_replay(trace_file, how):
    flow, session = open_stream(RichFlow, how, {"topic": "tracing agent runs"})
    run = consume(session)
    assert run.error is None
    assert run.result == "published tracing agent runs: 5 words"
    assert_well_formed(run)
    started = [f.data["method_name"] for f in run.of("method_execution_started")]
    assert sorted(started) == ["draft", "fetch", "publish", "summarize", "triage", "warm_up"]
    assert "keep" not in started
    assert started.index("publish") == len(started) - 1
    assert run.frames[0].data["inputs"] == {"topic": "tracing agent runs"}
    (routed,) = run.of("flow_routed")
    assert routed.data == {
        "flow_name": "RichFlow",
        "method_name": "triage",
        "label": "long",
        "listeners": ["summarize"],
        "handled": True,
    }
    assert routed.channel == "flow"
    triage_start = run.of("method_execution_started", method_name="triage")[0]
    assert routed.parent_id == triage_start.id
    assert run.of("method_execution_started", method_name="summarize")[0].data["trigger"] == "long"
    assert run.of("method_execution_finished", method_name="summarize")[0].data["result"] == "summary"
    # tools: frames on the tools channel, nested in the method that called the tool
    tool_frames = [f for f in run.frames if f.channel == "tools"]
    assert [f.type for f in tool_frames] == ["tool_usage_started", "tool_usage_finished"]
    assert tool_frames[0].event["tool_name"] == "word_count"
    assert tool_frames[0].parent_id == triage_start.id
    assert tool_frames[1].data["output"] == 5
    # the custom event, typed on both ends
    (progress,) = [f for f in run.frames if f.channel == "custom"]
    assert Progress.from_frame(progress) == Progress(percent=50)
    assert progress.namespace == ["flow", "RichFlow", "fetch"]
    # state: inputs applied, methods' updates visible after the run
    assert flow.state.topic == "tracing agent runs"
    assert sorted(flow.state.visited) == ["fetch", "publish", "summarize:long", "warm_up"]
    assert run.frames[-1].type == "flow_finished" and run.frames[-1].data["result"] == run.result
    replayed = assert_replays(trace_file, run)
    assert replayed.result == run.result
    spans = {s.name for s in records_of(trace_file, session.trace_id)}
    assert {"invoke_workflow RichFlow", "method triage", "execute_tool word_count", "method publish"} <= spans


class ShortFlow(RichFlow):
    """The same graph; a short topic takes the other branch."""


@pytest.mark.parametrize("how", ENTRY_POINTS)
def test_the_router_label_picks_the_branch(trace_file, how):
    run = run_flow(ShortFlow, how, {"topic": "x"})
    started = {f.data["method_name"] for f in run.of("method_execution_started")}
    assert "keep" in started and "summarize" not in started
    assert run.of("flow_routed")[0].data["label"] == "short"
    assert run.result == "published x: 3 words"
    assert_replays(trace_file, run)


class FanOut(Flow):
    @start()
    def seed(self):
        return 2

    @listen(seed)
    def double(self, value: int):
        time.sleep(0.02)
        return value * 2

    @listen(seed)
    def square(self, value: int):
        time.sleep(0.02)
        return value**2

    @listen(and_(double, square))
    def join(self):
        return "joined"


def test_parallel_listeners_both_run_with_contiguous_seq(trace_file):
    run = run_flow(FanOut, "stream_events")
    assert_well_formed(run)
    assert run.of("method_execution_finished", method_name="double")[0].data["result"] == 4
    assert run.of("method_execution_finished", method_name="square")[0].data["result"] == 4
    assert run.types().count("method_execution_started") == 4
    assert run.result == "joined"
    # the two 20 ms listeners ran concurrently: both started before either finished
    starts = [f.seq for f in run.of("method_execution_started") if f.data["method_name"] in ("double", "square")]
    ends = [f.seq for f in run.of("method_execution_finished") if f.data["method_name"] in ("double", "square")]
    assert max(starts) < min(ends)
    assert_replays(trace_file, run)


class Looping(Flow):
    @start("again")
    def step(self):
        self.state["n"] = self.state.get("n", 0) + 1
        return self.state["n"]

    @router(step)
    def check(self, n: int):
        return "again" if n < 3 else None


def test_a_conditional_start_loops_through_a_router_label(trace_file):
    flow = Looping()
    assert flow.kickoff() is None  # the last method to run is the router, which returned None
    assert flow.state == {"n": 3}
    run = run_flow(Looping, "stream_events")
    assert [f.data["label"] for f in run.of("flow_routed")] == ["again", "again"]
    assert run.result is None  # the last method (the router) returned None
    assert_replays(trace_file, run)


class DictFlow(Flow):
    @start()
    def greet(self):
        return f"hello {self.state['name']}"


def test_dict_state_takes_inputs(trace_file):
    flow = DictFlow()
    assert flow.kickoff(inputs={"name": "ada"}) == "hello ada"
    assert flow.state == {"name": "ada"}


# -- failure ------------------------------------------------------------------------------
class Broken(Flow):
    @start()
    def ok(self):
        return 1

    @listen(ok)
    def explode(self):
        emit("about_to_fail", {})
        raise KeyError("boom")

    @listen(explode)
    def never(self):
        return "unreachable"


@pytest.mark.parametrize("how", ENTRY_POINTS)
def test_a_failing_method_fails_the_run_with_the_original_exception(trace_file, how):
    run = run_flow(Broken, how)
    assert isinstance(run.error, KeyError) and run.error.args == ("boom",)
    with pytest.raises(KeyError) as again:
        _ = run.session.result
    assert again.value is run.error
    assert run.types()[-2:] == ["method_execution_failed", "flow_failed"]
    failed = run.frames[-2]
    assert failed.data["method_name"] == "explode" and failed.data["error_type"] == "KeyError"
    assert run.frames[-1].data["error_type"] == "KeyError"
    assert not run.of("method_execution_started", method_name="never")
    assert_replays(trace_file, run)
    spans = {s.name: s for s in records_of(trace_file, run.session.trace_id)}
    method_span = spans["method explode"]
    assert method_span.status_code == "ERROR"
    assert any(e.name == "exception" and e.attributes.get("exception.type") == "KeyError" for e in method_span.events)
    assert spans["invoke_workflow Broken"].status_code == "ERROR"


def test_plain_kickoff_raises_the_original_exception(trace_file):
    with pytest.raises(KeyError, match="boom"):
        Broken().kickoff()


# -- cancellation -------------------------------------------------------------------------
EMITTED: list[int] = []
STOPPED = threading.Event()


class Endless(Flow):
    @start()
    def work(self):
        try:
            for i in range(100):  # would run 5 more seconds
                EMITTED.append(i)
                emit("tick", {"i": i})
                time.sleep(0.05)
            return "finished"
        finally:
            STOPPED.set()


@pytest.mark.parametrize("how", ENTRY_POINTS)
def test_close_stops_a_running_flow_promptly(trace_file, how):
    EMITTED.clear()
    STOPPED.clear()
    _, session = open_stream(Endless, how)
    if isinstance(session, framescope.AsyncStreamSession):

        async def read_then_close() -> None:
            async for frame in session:
                if frame.type == "tick":
                    break
            await session.aclose()

        asyncio.run(read_then_close())
    else:
        for frame in session:
            if frame.type == "tick":
                break
        session.close()
    assert session.is_cancelled
    # the method reaches its next emit point and stops there (it would otherwise run 5 s)
    assert STOPPED.wait(5), "the method kept running after close()"
    assert len(EMITTED) <= 4, "the method kept running after close()"
    with pytest.raises(RuntimeError, match="closed before the run finished"):
        _ = session.result
    for thread in threading.enumerate():
        if thread.name.startswith("framescope-run-"):
            thread.join(1)
    spans = {s.name: s for s in records_of(trace_file, session.trace_id)}
    for name in ("invoke_workflow Endless", "method work"):
        assert spans[name].status_code == "ERROR"
        assert spans[name].attributes["framescope.cancelled"] is True


# -- pause / resume -----------------------------------------------------------------------
class Review(Flow):
    @start()
    def draft(self):
        return "draft-1"

    @listen(draft)
    def review(self, text: str):
        answer = self.ask(f"Approve {text}?")
        return f"{text}:{answer}"

    @listen(review)
    def publish(self, reviewed: str):
        return f"published {reviewed}"


def resume_stream(flow: Flow[Any], how: str, answer: str) -> Any:
    if how == "stream_true":
        return flow.resume(answer)
    if how == "stream_events":
        return flow.resume_stream(answer)
    return flow.resume_astream(answer)


@pytest.mark.parametrize("how", ENTRY_POINTS)
def test_pause_for_human_input_and_resume_as_a_linked_trace(trace_file, how):
    flow, session = open_stream(Review, how)
    first = consume(session)
    assert first.error is None
    pending = first.result
    assert isinstance(pending, PendingInput)
    assert pending.prompt == "Approve draft-1?" and pending.method_name == "review"
    assert flow.pending == pending
    (paused,) = first.of("flow_paused")
    assert paused is first.frames[-1], "a paused run closes with flow_paused"
    assert paused.channel == "flow" and paused.data["resume_token"] == pending.resume_token
    assert paused.data["result"] == pending.model_dump()
    assert not first.of("flow_finished")
    assert not first.of("method_execution_started", method_name="publish")
    (asked,) = first.of("method_execution_paused", method_name="review")
    assert asked.data["prompt"] == "Approve draft-1?"
    assert not first.of("method_execution_finished", method_name="review")

    second = consume(resume_stream(flow, how, "yes"))
    assert second.error is None
    assert second.result == "published draft-1:yes"
    assert flow.pending is None
    (resumed,) = second.of("flow_resumed")
    assert resumed.data["answer"] == "yes" and resumed.data["resume_token"] == pending.resume_token
    assert second.frames[0].data["resumed"] is True
    assert [f.data["method_name"] for f in second.of("method_execution_started")] == ["review", "publish"]
    assert second.session.trace_id != first.session.trace_id
    assert_replays(trace_file, first)
    assert_replays(trace_file, second)
    first_root = next(s for s in records_of(trace_file, first.session.trace_id) if s.parent_span_id is None)
    second_root = next(s for s in records_of(trace_file, second.session.trace_id) if s.parent_span_id is None)
    resumes = [link for link in second_root.links if link.attributes.get("framescope.link.relation") == "resumes"]
    assert [(link.trace_id, link.span_id) for link in resumes] == [(first_root.trace_id, first_root.span_id)]
    assert first_root.status_code != "ERROR"


class TwoQuestions(Flow):
    @start()
    def interview(self):
        name = self.ask("Name?")
        age = self.ask("Age?")
        return f"{name} ({age})"


def test_several_questions_pause_several_times_and_tokens_are_checked(trace_file):
    flow = TwoQuestions()
    first = flow.kickoff()
    assert first.prompt == "Name?"
    with pytest.raises(FlowStateError, match="waits for the answer to 'Name\\?'"):
        flow.resume("x", token="not-the-token")
    second = flow.resume("Ada", token=first.resume_token)
    assert isinstance(second, PendingInput) and second.prompt == "Age?"
    assert flow.resume("36") == "Ada (36)"
    with pytest.raises(FlowStateError, match="not waiting for input"):
        flow.resume("again")


def test_ask_outside_a_running_method_is_an_error():
    with pytest.raises(RuntimeError, match="only be called from one of its methods"):
        Review().ask("now?")


# -- bad input and bad flows --------------------------------------------------------------
def test_a_flow_without_start_is_a_clear_error():
    class NoStart(Flow):
        @listen("other")
        def later(self):
            return 1

        @listen(later)
        def other(self):
            return 2

    flow = NoStart()
    for call in (flow.kickoff, flow.stream_events, flow.astream):
        with pytest.raises(FlowDefinitionError, match=r"NoStart has no @start\(\) method"):
            call()


def test_listening_to_an_unknown_method_names_the_closest_one():
    class Typo(Flow):
        @start()
        def generate(self):
            return 1

        @listen("generat")
        def after(self):
            return 2

    with pytest.raises(FlowDefinitionError, match=r"Typo.after listens to 'generat'.*Did you mean 'generate'"):
        Typo()


def test_a_label_that_no_router_declares_is_an_error_but_undeclared_routers_allow_any():
    class Declared(Flow):
        @start()
        def a(self):
            return 1

        @router(a)
        def pick(self) -> Literal["yes", "no"]:
            return "yes"

        @listen("maybe")
        def on_maybe(self):
            return 2

    with pytest.raises(FlowDefinitionError, match="'maybe'"):
        Declared()

    class Undeclared(Flow):
        @start()
        def a(self):
            return 1

        @router(a)
        def pick(self):
            return "maybe"

        @listen("maybe")
        def on_maybe(self):
            return 2

    assert Undeclared().kickoff() == 2


def test_bare_decorators_and_routers_without_condition_are_explained():
    with pytest.raises(FlowDefinitionError, match="@listen was used without its argument"):

        class Bare(Flow):
            @start()
            def a(self):
                return 1

            @listen
            def b(self):
                return 2

        Bare()

    class BareStart(Flow):
        @start
        def a(self):
            return "bare start works"

    assert BareStart().kickoff() == "bare start works"

    class LoneRouter(Flow):
        @start()
        def a(self):
            return 1

        @router()
        def r(self):
            return "x"

    with pytest.raises(FlowDefinitionError, match="@router\\(\\) needs what it reacts to"):
        LoneRouter()


def test_an_unhandled_route_warns_and_says_so_in_the_frame(trace_file):
    class Dangling(Flow):
        @start()
        def a(self):
            return 1

        @router(a)
        def r(self):
            return "nowhere"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = run_flow(Dangling, "stream_events")
    assert any(issubclass(w.category, UnhandledRouteWarning) and "'nowhere'" in str(w.message) for w in caught)
    assert run.of("flow_routed")[0].data["handled"] is False
    assert run.result == "nowhere"


def test_a_router_returning_a_non_label_fails_its_method(trace_file):
    class BadRouter(Flow):
        @start()
        def a(self):
            return 1

        @router(a)
        def r(self):
            return 42

    run = run_flow(BadRouter, "stream_events")
    assert isinstance(run.error, TypeError) and "must return a label (str)" in str(run.error)
    assert run.of("method_execution_failed", method_name="r")


class Typed(BaseModel):
    count: int = 0
    name: str = "x"


class TypedFlow(Flow[Typed]):
    @start()
    def show(self):
        return self.state.count


class Required(BaseModel):
    topic: str


class RequiredFlow(Flow[Required]):
    @start()
    def show(self):
        return self.state.topic


def test_bad_inputs_are_clear_errors_raised_before_any_run(trace_file):
    flow = TypedFlow()
    with pytest.raises(FlowInputError, match=r"takes a dict of state fields, got list"):
        flow.kickoff(inputs=["count", 1])
    with pytest.raises(FlowInputError, match=r"count: Input should be a valid integer.*declared types"):
        flow.stream_events(inputs={"count": "many"})
    with pytest.raises(FlowInputError, match=r"'cuont' are not fields of its state Typed"):
        flow.astream(inputs={"cuont": 1})
    assert flow.kickoff(inputs={"count": "7"}) == 7  # pydantic's usual coercion still applies
    assert flow.state == Typed(count=7)
    required = RequiredFlow()
    with pytest.raises(FlowInputError, match=r"required fields without defaults \(topic\)"):
        required.kickoff()
    with pytest.raises(FlowInputError, match="required fields"):
        _ = required.state
    assert required.kickoff(inputs={"topic": "t"}) == "t"
    framescope.flush()
    assert len(framescope.replay.load_runs(load_records(trace_file))) == 2  # the failed kickoffs left no trace


def test_one_instance_runs_one_run_at_a_time(trace_file):
    release = threading.Event()

    class Slow(Flow):
        @start()
        def wait(self):
            emit("waiting", {})
            release.wait(5)
            return "ok"

    flow = Slow()
    session = flow.stream_events()
    next(iter(session))
    with pytest.raises(FlowStateError, match="already running"):
        flow.kickoff()
    release.set()
    assert [f.type for f in session][-1] == "flow_finished"
    assert session.result == "ok"
    assert flow.kickoff() == "ok"  # free again once the run ended


# -- concurrency ----------------------------------------------------------------------------
class Numbered(Flow):
    @start()
    def begin(self):
        return self.state["n"]

    @listen(begin)
    def tokens(self, n: int):
        for i in range(10):
            emit("tick", {"n": n, "i": i})
            if i % 3 == 0:
                time.sleep(0.001)
        return n


def test_fifty_concurrent_flows_are_isolated_and_replay(trace_file):
    sessions = [Numbered().stream_events(inputs={"n": n}) for n in range(50)]
    runs: dict[int, Streamed] = {}

    def read(n: int) -> None:
        runs[n] = consume(sessions[n])

    threads = [threading.Thread(target=read, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len({s.trace_id for s in sessions}) == 50
    for n, run in runs.items():
        assert run.result == n
        assert_well_formed(run)
        assert {f.data["n"] for f in run.of("tick")} == {n}
        assert len(run.frames) == 16  # flow 1 + 2 methods x 2 + 10 ticks + 1
    for n in (0, 25, 49):
        assert_replays(trace_file, runs[n])


def test_kickoff_inside_a_running_event_loop(trace_file):
    async def main() -> Any:
        return ReportFlow().kickoff()

    assert asyncio.run(main()) == "done"
