"""The settler: a bound on how long a CrewAI run keeps work back (no CrewAI needed)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from framescope.integrations.crewai import settler
from framescope.integrations.crewai.settler import Settler


class KeepingRun:
    def __init__(self, kept_since: float | None) -> None:
        self.kept_since = kept_since
        self.lock = threading.RLock()
        self.settled = 0

    def settle(self) -> None:
        self.settled += 1
        self.kept_since = None


def test_only_runs_that_kept_work_long_enough_are_settled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settler.time, "monotonic", lambda: 100.0)
    old, fresh, idle = KeepingRun(100.0 - settler.KEEP_MAX_S), KeepingRun(99.9), KeepingRun(None)
    Settler(lambda: [old, fresh, idle], None).settle_waiting()
    assert (old.settled, fresh.settled, idle.settled) == (1, 0, 0)


def test_a_busy_run_is_left_for_the_next_round_and_never_waited_for() -> None:
    busy = KeepingRun(0.0)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with busy.lock:
            held.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    try:
        Settler(lambda: [busy], None).settle_waiting()  # returns at once: the lock is taken
        assert busy.settled == 0
    finally:
        release.set()
        holder.join()
    Settler(lambda: [busy], None).settle_waiting()
    assert busy.settled == 1


def test_a_failing_settle_is_counted_and_the_other_runs_are_settled() -> None:
    class Broken(KeepingRun):
        def settle(self) -> None:
            raise RuntimeError("the tracer is broken")

    failures: list[BaseException] = []
    broken, fine = Broken(0.0), KeepingRun(0.0)
    Settler(lambda: [broken, fine], failures.append).settle_waiting()
    assert [str(error) for error in failures] == ["the tracer is broken"] and fine.settled == 1


def test_the_thread_starts_once_and_stops() -> None:
    rounds = threading.Event()
    runs: list[Any] = []

    def listing() -> list[Any]:
        rounds.set()
        return runs

    keeper = Settler(listing, None)
    keeper.start()
    keeper.start()
    thread = keeper._thread
    assert thread is not None and thread.daemon
    assert rounds.wait(5)  # it went round at least once
    keeper.stop()
    thread.join(5)
    assert not thread.is_alive()
    keeper.start()  # stopped for good: not started again
    assert keeper._thread is thread
