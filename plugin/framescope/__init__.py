"""framescope: watch, trace and replay what agent runtimes stream.

The public surface is small on purpose: frames and sessions (``framescope.types.streaming``),
configuration (``configure``, ``flush``, ``shutdown``), the emit path for runtime authors and
user events (``emit``, ``emit_token``, ``lifecycle``, ``stream_call``), errors
(``framescope.errors``, root ``FramescopeError``) and replay (``framescope.replay``).

Codes in docstrings and comments (``C1``–``C11``, ``D1``–``D6``, ``P1``–``P9``) name the
sections of docs/contract.md, the contract and design points this package keeps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from framescope._version import __version__
from framescope.errors import ConfigurationError, FramescopeError, StreamClosed
from framescope.telemetry.config import TelemetrySetup, configure, flush, shutdown
from framescope.telemetry.launch import astream_call, stream_call
from framescope.telemetry.run import emit, emit_token, lifecycle
from framescope.types.streaming import AsyncStreamSession, StreamChannel, StreamFrame, StreamSession

if TYPE_CHECKING:
    from framescope.events.custom import CustomEvent
    from framescope.flow import Flow, PendingInput, and_, listen, or_, router, start
    from framescope.llm import LLM
    from framescope.tools import Tool, tool

# The runtime pieces load on first use, so `import framescope` stays fast (~0.2 s).
_LAZY = {
    "Flow": "framescope.flow",
    "start": "framescope.flow",
    "listen": "framescope.flow",
    "router": "framescope.flow",
    "or_": "framescope.flow",
    "and_": "framescope.flow",
    "PendingInput": "framescope.flow",
    "LLM": "framescope.llm",
    "tool": "framescope.tools",
    "Tool": "framescope.tools",
    "CustomEvent": "framescope.events.custom",
    "replay": "framescope.replay",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'framescope' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(module_name)
    value = module if name == "replay" else getattr(module, name)
    globals()[name] = value
    return value


__all__ = [
    "LLM",
    "AsyncStreamSession",
    "ConfigurationError",
    "CustomEvent",
    "Flow",
    "FramescopeError",
    "PendingInput",
    "StreamChannel",
    "StreamClosed",
    "StreamFrame",
    "StreamSession",
    "TelemetrySetup",
    "Tool",
    "__version__",
    "and_",
    "astream_call",
    "configure",
    "emit",
    "emit_token",
    "flush",
    "lifecycle",
    "listen",
    "or_",
    "replay",
    "router",
    "shutdown",
    "start",
    "stream_call",
    "tool",
]
