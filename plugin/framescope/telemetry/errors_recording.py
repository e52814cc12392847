"""How a failure is written on its span, without leaking what the frame may not carry.

The SDK's ``record_exception`` writes ``str(exception)`` and the full traceback text, and a
status description made of the same message: an exception that quotes a tool's arguments or
a URL with a key put both into the trace, past redaction and past content capture being
off.  Here the message is the one the failing frame carries (already redacted, or removed
when content capture is off) and the traceback is kept only when content may be captured,
with secret shapes redacted.
"""

from __future__ import annotations

import traceback
from typing import Any

from opentelemetry.trace import Span, Status, StatusCode

from framescope.types.redaction import redact_text

__all__ = ["record_error"]

_MAX_TRACEBACK = 8000


def record_error(span: Span, error: BaseException, message: Any, capture_content: bool) -> None:
    """Mark ``span`` failed with ``error``: status, and an ``exception`` event (semantic conventions)."""
    error_type = type(error).__name__
    text = message if isinstance(message, str) else ""
    span.set_status(Status(StatusCode.ERROR, f"{error_type}: {text}" if text else error_type))
    module = type(error).__module__
    qualified = type(error).__qualname__ if module == "builtins" else f"{module}.{type(error).__qualname__}"
    attributes = {"exception.type": qualified, "exception.message": text}
    if capture_content:
        try:
            stack = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        except Exception:  # formatting a broken exception must not fail the run
            stack = ""
        if stack:
            attributes["exception.stacktrace"] = redact_text(stack)[-_MAX_TRACEBACK:]
    span.add_event("exception", attributes)
