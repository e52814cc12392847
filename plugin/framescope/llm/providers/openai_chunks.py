"""Streamed chat-completion chunks into deltas and the final Completion (OpenAI wire format).

Split from :mod:`openai_compatible` (which owns the client, requests and error mapping) so each
module has one job: this one reads what a server sent, field by field, and says precisely
what was malformed through the provider's protocol error.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from framescope import errors

from .base import Completion, Delta, ProviderRequest, TextDelta, ThinkingDelta, ToolCallAssembler, ToolCallDelta

__all__ = [
    "EXCERPT_CHARS",
    "REASONING_FIELDS",
    "ChunkAssembly",
    "ErrorSource",
    "excerpt",
    "reasoning",
    "response_id",
    "str_field",
]

#: Field names OpenAI-compatible servers use for reasoning text (DeepSeek/vLLM, Ollama/OpenRouter).
REASONING_FIELDS = ("reasoning_content", "reasoning")
EXCERPT_CHARS = 300


class ErrorSource(Protocol):
    """The provider, as this module needs it: where the chunks came from, and its protocol error."""

    base_url: str | None

    def _protocol_error(self, request: ProviderRequest, what: str) -> errors.LLMProtocolError: ...


class ChunkAssembly:
    """Turns SDK chunks into deltas and remembers what the final Completion needs."""

    def __init__(self, provider: ErrorSource, request: ProviderRequest) -> None:
        self._provider = provider
        self._request = request
        self.chunks = 0
        self._text: list[str] = []
        self._thinking: list[str] = []
        self._tools = ToolCallAssembler()
        self._finish_reason: str | None = None
        self._model: str | None = None
        self._input_tokens: int | None = None
        self._output_tokens: int | None = None
        self._response_id: str | None = None

    def feed(self, chunk: Any) -> list[Delta]:
        self.chunks += 1
        self._response_id = self._response_id or response_id(chunk)
        choices = getattr(chunk, "choices", None)
        usage = getattr(chunk, "usage", None)
        if not isinstance(choices, list):
            raise self._provider._protocol_error(self._request, f"a stream chunk without choices: {excerpt(chunk)}")
        model = getattr(chunk, "model", None)
        if isinstance(model, str) and model:
            self._model = model
        if usage is not None:
            self._input_tokens = getattr(usage, "prompt_tokens", None)
            self._output_tokens = getattr(usage, "completion_tokens", None)
        deltas: list[Delta] = []
        for choice in choices[:1]:  # n>1 is not part of the contract; the first choice is the answer
            delta = getattr(choice, "delta", None)
            if delta is not None:
                thinking = reasoning(self._provider, self._request, delta)
                if thinking:
                    self._thinking.append(thinking)
                    deltas.append(ThinkingDelta(thinking))
                text = str_field(self._provider, self._request, delta, "content")
                if text:
                    self._text.append(text)
                    deltas.append(TextDelta(text))
                for call in getattr(delta, "tool_calls", None) or []:
                    function = getattr(call, "function", None)
                    index = getattr(call, "index", None)
                    tool_delta = ToolCallDelta(
                        index=index if isinstance(index, int) else 0,
                        id=getattr(call, "id", None) or None,
                        name=str_field(self._provider, self._request, function, "name") or None,
                        arguments_fragment=str_field(self._provider, self._request, function, "arguments"),
                    )
                    self._tools.add(tool_delta)
                    deltas.append(tool_delta)
            finish = getattr(choice, "finish_reason", None)
            if finish:
                self._finish_reason = str(finish)
        return deltas

    def finish(self) -> Completion:
        provider, request = self._provider, self._request
        if self._finish_reason is None:
            # HTTP/1.0-style bodies end at connection close, so a dropped connection can
            # look like a clean end: without a finish_reason the answer may be cut short.
            raise errors.LLMConnectionError(
                f"The stream from {provider.base_url} for model {request.model!r} ended after "
                f"{self.chunks} chunks without a finish_reason; the connection was probably cut "
                "and the answer may be incomplete. Retry the call.",
                base_url=provider.base_url,
                model=request.model,
            )
        return Completion(
            text="".join(self._text),
            finish_reason=self._finish_reason,
            response_model=self._model,
            input_tokens=self._input_tokens,
            output_tokens=self._output_tokens,
            tool_calls=self._tools.result(base_url=provider.base_url, model=request.model),
            thinking="".join(self._thinking),
            response_id=self._response_id,
        )


def str_field(provider: ErrorSource, request: ProviderRequest, obj: Any, name: str) -> str:
    value = getattr(obj, name, None) if obj is not None else None
    if value is None:
        return ""
    if not isinstance(value, str):
        raise provider._protocol_error(request, f"a {name!r} field that is a {type(value).__name__}, not text")
    return value


def reasoning(provider: ErrorSource, request: ProviderRequest, obj: Any) -> str:
    # The SDK does not declare these fields, so on its pydantic models they live in the
    # extras; reading them there avoids two raised-and-caught AttributeErrors per chunk
    # (about 4 µs of a streamed token's cost). Declared fields and plain objects still
    # go through getattr.
    declared = getattr(obj, "__dict__", None)
    extra = getattr(obj, "__pydantic_extra__", None)
    for field_name in REASONING_FIELDS:
        if isinstance(extra, dict) and not (isinstance(declared, dict) and field_name in declared):
            value = extra.get(field_name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise provider._protocol_error(
                    request, f"a {field_name!r} field that is a {type(value).__name__}, not text"
                )
        else:
            value = str_field(provider, request, obj, field_name)
        if value:
            return value
    return ""


def excerpt(value: Any) -> str:
    try:
        dumped = value.model_dump_json() if hasattr(value, "model_dump_json") else json.dumps(value, default=str)
    except (TypeError, ValueError):
        dumped = repr(value)
    return dumped[:EXCERPT_CHARS]


def response_id(response: Any) -> str | None:
    """The ``id`` of a response or stream chunk (every chunk of a stream carries the same one)."""
    value = getattr(response, "id", None)
    return value if isinstance(value, str) and value else None
