"""The bounds replay works within, so a hostile or damaged source cannot hang it or exhaust memory.

Every limit has a documented default (docs/replay.md, "Limits") and an environment variable
to change it; functions that take a limit as an argument use these as their default.

* ``FRAMESCOPE_MAX_TRACE_BYTES`` (128 MiB): the largest body fetched from a backend, after
  decompression, and the largest trace read as one document (not JSON lines).
* ``FRAMESCOPE_MAX_LINE_BYTES`` (64 MiB): the longest line of a JSON-lines trace file; a
  longer line is skipped with a warning without ever being held in memory whole.
* ``FRAMESCOPE_FETCH_DEADLINE`` is not a variable: the ``timeout`` of a fetch *is* its total
  deadline (connect, retries and the whole body), not a per-read timeout.

A format is recognised from the first :data:`DETECT_PREFIX_BYTES` bytes, and a file whose
first :data:`MAX_LEADING_BAD_LINES` lines are all unreadable is refused as not a trace.
"""

from __future__ import annotations

import os

from framescope.errors import ConfigurationError

__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "DEFAULT_MAX_TRACE_BYTES",
    "DETECT_PREFIX_BYTES",
    "MAX_LEADING_BAD_LINES",
    "max_line_bytes",
    "max_trace_bytes",
]

DEFAULT_MAX_TRACE_BYTES = 128 * 1024 * 1024
DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024
DETECT_PREFIX_BYTES = 64 * 1024
MAX_LEADING_BAD_LINES = 100


def max_trace_bytes() -> int:
    """``FRAMESCOPE_MAX_TRACE_BYTES`` or its default."""
    return _env_bytes("FRAMESCOPE_MAX_TRACE_BYTES", DEFAULT_MAX_TRACE_BYTES)


def max_line_bytes() -> int:
    """``FRAMESCOPE_MAX_LINE_BYTES`` or its default."""
    return _env_bytes("FRAMESCOPE_MAX_LINE_BYTES", DEFAULT_MAX_LINE_BYTES)


def _env_bytes(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigurationError(f"{name}={raw!r} is not a byte count; set a whole number above 0 or unset it")
    return value


def format_size(count: int) -> str:
    """``count`` bytes for a message: ``512 bytes``, ``3.0 MiB``."""
    if count < 1024 * 1024:
        return f"{count} bytes"
    return f"{count / (1024 * 1024):.1f} MiB"
