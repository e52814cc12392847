"""A bound on how long a CrewAI run keeps work back: a background thread does what waited too long.

A run keeps its chunk events and the recorder's writes, and does them a batch at a time
(``CrewAIRun.defer``), at its next event.  A run that goes quiet (a long LLM call, a flow
waiting for a person) would keep them until it speaks again, and the spans its last events
ended would reach the backend only then.  The settler wakes a few times a second and settles
every run whose oldest kept item waited :data:`KEEP_MAX_S` or more; a run busy on its lock is
left for the next round (the settler never waits for a run, so a run blocked in CrewAI's own
session delivery cannot block it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

#: seconds kept work may wait for its run's next event before the settler does it
KEEP_MAX_S = 0.5


class Settler:
    """Settles runs whose kept work is older than :data:`KEEP_MAX_S`, from one daemon thread."""

    def __init__(self, runs: Callable[[], Iterable[Any]], on_failure: Callable[[BaseException], None] | None) -> None:
        self._runs = runs
        self._on_failure = on_failure
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the thread if it is not going (every new run asks; after a fork it is gone)."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._lock:
            if (self._thread is None or not self._thread.is_alive()) and not self._stop.is_set():
                self._thread = threading.Thread(target=self._loop, name="framescope-crewai-settler", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Stop the thread (uninstrumenting); it ends within one round."""
        self._stop.set()

    def settle_waiting(self) -> None:
        """One round: settle the runs that kept work for too long."""
        now = time.monotonic()
        for run in self._runs():
            since = run.kept_since
            if since is None or now - since < KEEP_MAX_S or not run.lock.acquire(blocking=False):
                continue
            try:
                run.settle()
            except Exception as error:  # recording never fails a run, nor this thread
                if self._on_failure is not None:
                    self._on_failure(error)
            finally:
                run.lock.release()

    def _loop(self) -> None:
        while not self._stop.wait(KEEP_MAX_S / 4):
            self.settle_waiting()
