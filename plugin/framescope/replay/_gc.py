"""Pause the cyclic garbage collector while a trace is parsed or decoded.

Parsing and decoding build hundreds of thousands of small, acyclic objects (dicts, records,
frames) that stay alive; every few hundred allocations the collector scans them all again,
which costs 35-40 % of replay time on a 100,000-frame trace (bench/replay_throughput.py)
and frees nothing.  Reference counting still frees garbage while paused; only cycle
detection waits until the bounded operation is over.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable cyclic GC for the block, restoring the previous state (nesting is safe)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
