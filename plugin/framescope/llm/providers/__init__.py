"""Providers: the backends under ``framescope.LLM``, behind one neutral interface.

Public here: ``resolve_provider`` and the offline ``scripted/<name>`` models
(``register_script``, ``ScriptedReply``, ``ScriptedToolCall``, ``unregister_script``,
``registered_scripts``).  The interface a provider implements (``Provider``,
``ProviderRequest``, the delta types) is :mod:`framescope.llm.providers.base`; test-only
helpers are in :mod:`framescope.testing.llm_scripts`.

``resolve_provider`` maps a model string to a provider and the model name the backend
expects, so ``LLM`` never branches on backends itself.
"""

from __future__ import annotations

from typing import NamedTuple

from framescope.errors import LLMConfigurationError

from .base import Provider
from .scripted import (
    ScriptedProvider,
    ScriptedReply,
    ScriptedToolCall,
    register_script,
    registered_scripts,
    unregister_script,
)

__all__ = [
    "KNOWN_PREFIXES",
    "ResolvedProvider",
    "ScriptedReply",
    "ScriptedToolCall",
    "register_script",
    "registered_scripts",
    "resolve_provider",
    "unregister_script",
]

#: OpenAI-compatible prefixes and the local server each one usually runs at (None: no
#: well-known default, so base_url / OPENAI_BASE_URL decides). Local prefixes never
#: pick up OPENAI_API_KEY, so an OpenAI key is not sent to another server by accident.
_OPENAI_COMPATIBLE: dict[str, str | None] = {
    "openai": None,
    "ollama": "http://localhost:11434/v1",
    "vllm": "http://localhost:8000/v1",
    "lmstudio": "http://localhost:1234/v1",
}
KNOWN_PREFIXES: tuple[str, ...] = ("scripted", *_OPENAI_COMPATIBLE)


class ResolvedProvider(NamedTuple):
    """The backend and the model name to send it (prefix stripped)."""

    provider: Provider
    model: str


def resolve_provider(
    model: str,
    base_url: str | None = None,
    api_key: str | None = None,
    *,
    max_retries: int = 2,
    timeout: float | None = 600.0,
    default_headers: dict[str, str] | None = None,
) -> ResolvedProvider:
    """Pick the provider for ``model``: ``scripted/<name>``, ``<prefix>/<model>`` or ``<model>``.

    A plain name (``gpt-4o-mini``) is OpenAI-compatible. A first path segment that is not
    a known prefix is refused rather than sent to OpenAI as a model name, because a typo
    like ``olama/llama3`` would otherwise become a confusing HTTP 404.
    """
    if not isinstance(model, str) or not model.strip():
        raise LLMConfigurationError(f"model must be a non-empty string such as 'openai/gpt-4o-mini', got {model!r}")
    model = model.strip()
    prefix, sep, rest = model.partition("/")
    if not sep:
        prefix, rest = "openai", model
    prefix = prefix.lower()
    if not rest:
        raise LLMConfigurationError(f"model {model!r} names no model after the prefix {prefix!r}/")
    if prefix == "scripted":
        return ResolvedProvider(ScriptedProvider(rest), model)
    if prefix not in _OPENAI_COMPATIBLE:
        raise LLMConfigurationError(
            f"Unknown model prefix {prefix!r} in {model!r}. Accepted: "
            f"{', '.join(p + '/' for p in KNOWN_PREFIXES)} or a plain model name (OpenAI-compatible). "
            "For another OpenAI-compatible server use openai/<model> with base_url=...",
            model=model,
        )
    try:
        from .openai_compatible import OpenAICompatibleProvider  # the openai SDK loads only when needed
    except ImportError as exc:
        if exc.name not in ("openai", "httpx"):  # httpx comes with the openai SDK
            raise
        raise LLMConfigurationError(
            f"model {model!r} is served by an OpenAI-compatible endpoint, which needs the official "
            "openai SDK: pip install 'framescope[openai]' (scripted/... models need nothing more)",
            model=model,
        ) from None

    provider = OpenAICompatibleProvider(
        base_url=base_url,
        api_key=api_key,
        name=prefix,
        default_base_url=_OPENAI_COMPATIBLE[prefix],
        use_openai_env=prefix == "openai",
        max_retries=max_retries,
        timeout=timeout,
        default_headers=default_headers,
    )
    return ResolvedProvider(provider, rest)
