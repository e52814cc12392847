"""Errors raised by ``LLM`` itself (provider failures are the ``LLMError`` family)."""

from __future__ import annotations

from framescope.llm.providers import LLMError


class LLMToolLoopError(LLMError):
    """The model kept asking for tools past ``max_tool_rounds``; the call is stopped.

    A model that never stops calling tools would otherwise loop (and spend tokens)
    forever, so the bound is a hard error rather than a silently truncated answer.
    """


class UnknownToolError(LookupError):
    """The model asked for a tool that is not in ``available_functions``.

    Never raised to the caller: it is recorded as the tool's error frame and its message
    is fed back to the model as the tool result, so the model can correct itself.
    """
