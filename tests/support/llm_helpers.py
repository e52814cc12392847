"""What the LLM tests share: a fake key to prove it never leaks, and an LLM aimed at the local server."""

from __future__ import annotations

from typing import Any

from framescope.llm import LLM

from support.openai_server import OpenAICompatibleServer

KEY = "sk-test-SECRET-key-0123456789"


def server_llm(server: OpenAICompatibleServer, **kwargs: Any) -> LLM:
    """An ``LLM`` on the local OpenAI-compatible server: no retries, short timeout, the test key."""
    options: dict[str, Any] = {"base_url": server.base_url, "api_key": KEY, "max_retries": 0, "timeout": 5.0}
    options.update(kwargs)
    return LLM("openai/test-model", **options)
