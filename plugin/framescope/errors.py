"""framescope's one error hierarchy: every exception it raises derives from FramescopeError.

Why one module: an application catches ``framescope.errors.FramescopeError`` (or one of the
narrower classes below) without knowing which subpackage raised it. Classes keep a standard
base beside the root (``ValueError``, ``RuntimeError``, ``LookupError``...) where the contract
or ordinary Python code expects one.
"""

from __future__ import annotations


class FramescopeError(Exception):
    """Root of every error framescope raises."""


# --- core: configuration, frames, codec -------------------------------------------------


# --- flows and tools ---------------------------------------------------------------------


# --- LLM ---------------------------------------------------------------------------------


# --- conversations -----------------------------------------------------------------------


# --- replay and trace sources ------------------------------------------------------------


# --- integrations (CrewAI) ---------------------------------------------------------------


# --- serve -------------------------------------------------------------------------------


class ServeError(FramescopeError):
    """Root of the errors ``framescope serve`` raises."""


class ServeConfigError(ServeError, ValueError):
    """The server cannot start as configured (a non-loopback bind without a token, a bad
    CORS origin, a source that is neither a trace file nor a backend URL)."""


class UnknownRunError(ServeError, LookupError):
    """The run id asked for is not in the served source; the HTTP layer answers 404."""

    def __init__(self, run_id: str, known: int) -> None:
        self.run_id = run_id
        super().__init__(f"run {run_id!r} is not in the served source ({known} runs there); list them at /api/runs")


class ServeRequestError(ServeError, ValueError):
    """A request the server cannot answer as asked (a malformed ``Last-Event-ID``, ``speed``
    or protocol); the HTTP layer answers 400 with this message."""
