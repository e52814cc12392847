"""One way to meter a block: report how it ended (its error type, or None) when it ends.

LLM calls and tool calls both feed the GenAI metrics with the class name of the exception
that ended them; the bookkeeping is written here once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def metered(report: Callable[[str | None], None], *, failures: type[BaseException] = BaseException) -> Iterator[None]:
    """Run the block, then call ``report(error_type)``: ``None`` on success, else the class name
    of the exception (of type ``failures``) that ended it.  The exception propagates."""
    error_type: str | None = None
    try:
        yield
    except failures as exc:
        error_type = type(exc).__name__
        raise
    finally:
        report(error_type)
