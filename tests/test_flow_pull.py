"""``Flow.stream_events`` read from sync code drives the run's event loop in the reader's thread."""

from __future__ import annotations

import asyncio
import threading

from framescope import emit
from framescope.flow import Flow, listen, start
from framescope.telemetry.run import current_run


class Steps(Flow):
    @start()
    def first(self) -> int:
        emit("tick", {"at": "first"})
        return 1

    @listen(first)
    async def second(self, value: int) -> int:
        emit("tick", {"at": "second"})
        return value + 1


def _run_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("framescope-run-")]


def test_a_streamed_flow_needs_no_run_thread_and_keeps_its_context() -> None:
    with Steps().stream_events() as session:
        types = []
        for frame in session:
            assert current_run() is None, "the run's context leaked into the reader's loop body"
            assert not _run_threads()
            types.append(frame.type)
    assert session.result == 2
    assert types[0] == "flow_started" and types[-1] == "flow_finished"
    assert [f.data["at"] for f in session.frames if f.type == "tick"] == ["first", "second"]


def test_frames_match_a_plain_kickoff(memory_traces) -> None:
    with Steps().stream_events() as session:
        streamed = [(f.type, f.channel, f.data) for f in session]
    Steps().kickoff()
    streamed_run, kicked_run = sorted(memory_traces.runs(), key=lambda run: run.run_id != session.run_id)
    assert streamed == [(f.type, f.channel, f.data) for f in streamed_run.frames]
    assert [(f.type, f.channel) for f in kicked_run.frames] == [(t, c) for t, c, _ in streamed]


def test_stream_events_inside_a_running_loop_uses_a_run_thread() -> None:
    class WhereItRan(Steps):
        threads: list[str] = []

        @listen(Steps.second)
        async def third(self, value: int) -> int:
            WhereItRan.threads.append(threading.current_thread().name)
            return value

    async def main() -> int:
        with WhereItRan().stream_events() as session:  # sync reading inside async code: a thread runs it
            for _ in session:
                pass
        return session.result

    caller = threading.current_thread().name
    assert asyncio.run(main()) == 2
    # the flow's loop ran on a run thread, so the caller's running loop was never re-entered
    assert len(WhereItRan.threads) == 1 and WhereItRan.threads[0] != caller
    assert WhereItRan.threads[0].startswith("framescope-run-")


def test_closing_before_reading_ends_the_run_without_its_methods() -> None:
    ran: list[str] = []

    class Never(Flow):
        @start()
        def work(self) -> None:
            ran.append("work")

    session = Never().stream_events()
    session.close()
    assert session.is_cancelled and ran == []
    assert not _run_threads()  # the run unwound within close(): nothing left running


def test_an_abandoned_flow_session_is_closed_when_collected() -> None:
    import gc

    stopped = threading.Event()

    class Ticking(Flow):
        @start()
        def work(self) -> None:
            try:
                for index in range(10_000):
                    emit("tick", {"i": index})
            finally:
                stopped.set()

    session = Ticking().stream_events()
    frames = iter(session)
    assert next(frames).type == "flow_started"
    del session, frames
    gc.collect()
    assert stopped.wait(5), "the run kept going after its session was collected"
