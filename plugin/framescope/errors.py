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


class IntegrationNotInstalledError(FramescopeError, ImportError):
    """An integration's framework is missing or too old; the message names the extra to install."""


class CrewAIReportedFailure(FramescopeError, RuntimeError):
    """A CrewAI lifecycle ended in failure; recorded as its span's status, never raised."""


class FollowTimeoutError(FramescopeError, TimeoutError):
    """``follow()`` waited for a run that never started within its timeout."""


# --- serve -------------------------------------------------------------------------------
