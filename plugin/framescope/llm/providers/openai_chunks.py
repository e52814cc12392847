"""Reading an OpenAI-compatible stream's chunks (JSON objects, as sent) into deltas.

Kept apart from the provider (``openai_compatible``), which owns the client and the errors:
this is the per-chunk hot path of every streamed token.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from framescope import errors

from .base import Completion, Delta, ProviderRequest, TextDelta, ThinkingDelta, ToolCallAssembler, ToolCallDelta

#: Field names OpenAI-compatible servers use for reasoning text (DeepSeek/vLLM, Ollama/OpenRouter).
REASONING_FIELDS = ("reasoning_content", "reasoning")
EXCERPT_CHARS = 300


class _ErrorSource(Protocol):
    """What the assembly needs of its provider: where calls go, and its protocol errors."""

    base_url: str | None

    def _protocol_error(self, request: ProviderRequest, what: str) -> errors.LLMProtocolError: ...


class ChunkAssembly:
    """Turns SDK chunks into deltas and remembers what the final Completion needs."""

    def __init__(self, provider: _ErrorSource, request: ProviderRequest) -> None:
        self._provider = provider
        self._request = request
        self.chunks = 0
        self._text = _TextParts()
        self._thinking = _TextParts()
        self._tools = ToolCallAssembler()
        self._finish_reason: str | None = None
        self._model: str | None = None
        self._input_tokens: int | None = None
        self._output_tokens: int | None = None
        self._response_id: str | None = None

    def feed(self, chunk: Any) -> list[Delta]:
        """One streamed chunk (a JSON object, as sent) to its deltas."""
        self.chunks += 1
        choices = chunk.get("choices") if type(chunk) is dict else None
        if type(choices) is not list:
            raise self._provider._protocol_error(self._request, f"a stream chunk without choices: {excerpt(chunk)}")
        if self._response_id is None:  # every chunk of a stream carries the same id
            response_id = chunk.get("id")
            self._response_id = response_id if isinstance(response_id, str) and response_id else None
        model = chunk.get("model")
        if model and isinstance(model, str):
            self._model = model
        usage = chunk.get("usage")
        if usage is not None:
            self._input_tokens = field_of(usage, "prompt_tokens")
            self._output_tokens = field_of(usage, "completion_tokens")
        if not choices:
            return []
        choice = choices[0]  # n>1 is not part of the contract; the first choice is the answer
        if type(choice) is not dict:
            raise self._provider._protocol_error(self._request, f"a choice that is not an object: {excerpt(choice)}")
        deltas: list[Delta] = []
        delta = choice.get("delta")
        if delta:
            if type(delta) is not dict:
                raise self._provider._protocol_error(self._request, f"a delta that is not an object: {excerpt(delta)}")
            if "reasoning_content" in delta or "reasoning" in delta:  # REASONING_FIELDS
                thinking = self._thinking_of(delta)
                if thinking:
                    self._thinking.append(thinking)
                    deltas.append(ThinkingDelta(thinking))
            text = delta.get("content")
            if text:
                if type(text) is not str:
                    raise self._not_text("content", text)
                self._text.append(text)
                deltas.append(TextDelta(text))
            elif text is not None and not isinstance(text, str):
                raise self._not_text("content", text)
            for call in delta.get("tool_calls") or ():
                deltas.append(self._tool_delta(call))
        finish = choice.get("finish_reason")
        if finish:
            self._finish_reason = str(finish)
        return deltas

    def _not_text(self, name: str, value: Any) -> errors.LLMProtocolError:
        return self._provider._protocol_error(
            self._request, f"a {name!r} field that is a {type(value).__name__}, not text"
        )

    def _thinking_of(self, delta: dict[str, Any]) -> str:
        for field_name in REASONING_FIELDS:
            value = delta.get(field_name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise self._not_text(field_name, value)
            if value:
                return value
        return ""

    def _tool_delta(self, call: Any) -> ToolCallDelta:
        if type(call) is not dict:
            raise self._provider._protocol_error(self._request, f"a tool call that is not an object: {excerpt(call)}")
        function = call.get("function") or {}
        if type(function) is not dict:
            raise self._provider._protocol_error(
                self._request, f"a tool function that is not an object: {excerpt(function)}"
            )
        index = call.get("index")
        name = function.get("name")
        arguments = function.get("arguments")
        if name is not None and not isinstance(name, str):
            raise self._not_text("name", name)
        if arguments is not None and not isinstance(arguments, str):
            raise self._not_text("arguments", arguments)
        tool_delta = ToolCallDelta(
            index=index if isinstance(index, int) else 0,
            id=call.get("id") or None,
            name=name or None,
            arguments_fragment=arguments or "",
        )
        self._tools.add(tool_delta)
        return tool_delta

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
            text=self._text.value(),
            finish_reason=self._finish_reason,
            response_model=self._model,
            input_tokens=self._input_tokens,
            output_tokens=self._output_tokens,
            tool_calls=self._tools.result(base_url=provider.base_url, model=request.model),
            thinking=self._thinking.value(),
            response_id=self._response_id,
        )


class _TextParts:
    """The answer's text as it streams, joined every few thousand chunks.

    A list of a million small strings costs ~65 bytes a chunk; joined blocks cost about a byte
    a character, so an endless answer's memory is its text, not its chunk count.
    """

    __slots__ = ("_blocks", "_pending")
    BLOCK = 4096

    def __init__(self) -> None:
        self._blocks: list[str] = []
        self._pending: list[str] = []

    def append(self, text: str) -> None:
        pending = self._pending
        pending.append(text)
        if len(pending) >= self.BLOCK:
            self._blocks.append("".join(pending))
            pending.clear()

    def value(self) -> str:
        return "".join(self._blocks) + "".join(self._pending)


def field_of(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def excerpt(value: Any) -> str:
    try:
        dumped = value.model_dump_json() if hasattr(value, "model_dump_json") else json.dumps(value, default=str)
    except (TypeError, ValueError):
        dumped = repr(value)
    return dumped[:EXCERPT_CHARS]
