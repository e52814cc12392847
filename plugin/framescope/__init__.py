"""framescope: watch, trace and replay what agent runtimes stream.

The public surface is small on purpose: frames and sessions (``framescope.types.streaming``),
configuration (``configure``, ``flush``, ``shutdown``), the emit path for runtime and user
events (``emit``, ``lifecycle``, ``stream_call``), and replay (``framescope.replay``).
"""

from __future__ import annotations

__version__ = "0.1.0"

from framescope.telemetry.config import ConfigurationError, Runtime, configure, flush, shutdown
from framescope.telemetry.run import astream_call, emit, lifecycle, stream_call
from framescope.types._feed import StreamClosed
from framescope.types.streaming import AsyncStreamSession, StreamChannel, StreamFrame, StreamSession

__all__ = [
    "AsyncStreamSession",
    "ConfigurationError",
    "Runtime",
    "StreamChannel",
    "StreamClosed",
    "StreamFrame",
    "StreamSession",
    "__version__",
    "astream_call",
    "configure",
    "emit",
    "flush",
    "lifecycle",
    "shutdown",
    "stream_call",
]
