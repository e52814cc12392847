"""Finishing a coroutine from synchronous code.

Sync entry points (``Flow.kickoff``, a conversation turn's async route) must work both from
plain code and from code that already runs an event loop (a notebook, an async web handler),
where ``asyncio.run`` refuses.  There the coroutine runs on a fresh loop in a helper thread,
with the caller's context, and its outcome is handed back as it was.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable
from typing import Any


def run_to_end(awaitable: Awaitable[Any], *, thread_name: str = "framescope-sync") -> Any:
    """The awaitable's result (or exception), from a thread with or without a running loop."""

    async def wait() -> Any:
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wait())
    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()

    def run() -> None:
        try:
            outcome["result"] = context.run(asyncio.run, wait())
        except BaseException as exc:  # handed to the caller's thread as it was
            outcome["error"] = exc

    thread = threading.Thread(target=run, name=thread_name, daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
