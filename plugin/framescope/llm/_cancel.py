"""Interrupting a provider read when the consumer closes the session.

Cancellation normally reaches the call as ``StreamClosed`` at its next emit.  A call
blocked reading a slow or stalled HTTP stream has no next emit until the server sends
something (or the read timeout fires, minutes later), so ``close()`` would leave the run
thread and the connection hanging.  This hook closes the provider stream from the
consumer's side instead (``Run.on_cancel``); the blocked read then ends at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from framescope.telemetry.run import current_run


class CancelWatch:
    """Whether the consumer closed the session while the watch was armed."""

    __slots__ = ("fired",)

    def __init__(self) -> None:
        self.fired = False


@contextmanager
def abort_on_cancel(abort: Callable[[], None]) -> Iterator[CancelWatch]:
    """Call ``abort`` (from the consumer's thread) if the session closes inside the block."""
    watch = CancelWatch()
    run = current_run()

    def fire() -> None:
        watch.fired = True
        abort()

    remove = run.on_cancel(fire) if run is not None else None
    try:
        yield watch
    finally:
        if remove is not None:
            remove()
