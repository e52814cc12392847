"""Direct LLM calls and streamed LLM calls as frames (docs/contract.md C8, C11).

``LLM`` is the public entry point; ``framescope.llm.providers`` holds the backends.
"""

from __future__ import annotations

from framescope.errors import (
    LLMConfigurationError,
    LLMConnectionError,
    LLMError,
    LLMHTTPError,
    LLMProtocolError,
    LLMTimeoutError,
    LLMToolLoopError,
    UnknownToolError,
)
from framescope.llm._messages import REDACTED
from framescope.llm.llm import LLM

__all__ = [
    "LLM",
    "REDACTED",
    "LLMConfigurationError",
    "LLMConnectionError",
    "LLMError",
    "LLMHTTPError",
    "LLMProtocolError",
    "LLMTimeoutError",
    "LLMToolLoopError",
    "UnknownToolError",
]
