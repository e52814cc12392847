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


class ReplayedRunIncomplete(FramescopeError, RuntimeError):
    """The replayed run is missing frames (a killed process, dropped spans, a torn file), so its
    outcome is unknown: ``result`` raises this instead of passing a partial run off as finished.

    ``gaps`` are the missing ``seq`` ranges, inclusive.
    """

    def __init__(self, message: str, gaps: list[tuple[int, int]]) -> None:
        self.gaps = gaps
        super().__init__(message)


# --- integrations (CrewAI) ---------------------------------------------------------------


# --- serve -------------------------------------------------------------------------------
