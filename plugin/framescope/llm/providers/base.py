"""The provider-neutral interface under ``framescope.LLM``.

A provider turns one request (messages, tools, settings) into an ordered stream of
deltas that ends with exactly one :class:`Completion`. ``LLM`` maps deltas to frames and
knows nothing about HTTP, SDKs or scripts; providers know nothing about frames. Keeping
that seam narrow is what lets an offline scripted provider and a real HTTP provider
produce the same frame sequence.
"""

from __future__ import annotations

import json
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

from framescope.errors import LLMError, LLMProtocolError
from framescope.types.redaction import redact_url

__all__ = [
    "AsyncDeltaStream",
    "Completion",
    "Delta",
    "DeltaStream",
    "Provider",
    "ProviderRequest",
    "TextDelta",
    "ThinkingDelta",
    "ToolCall",
    "ToolCallAssembler",
    "ToolCallDelta",
    "redact",
    "safe_url",
]


# --------------------------------------------------------------------------- deltas


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer text, in the order the model produced it."""

    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    """A piece of reasoning text, kept apart so it never leaks into the answer."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of one tool call; ``index`` ties fragments of the same call together.

    ``id`` and ``name`` are usually present only on a call's first fragment, as in the
    OpenAI wire format; the assembled :class:`ToolCall` is in the final Completion.
    """

    index: int
    id: str | None
    name: str | None
    arguments_fragment: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call request, with its arguments already parsed."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Completion:
    """The assembled result of a call; always the last item of a stream.

    ``input_tokens``/``output_tokens`` are None when the server reported no usage, so
    telemetry can tell "unknown" from "zero".
    """

    text: str
    finish_reason: str | None
    response_model: str | None
    input_tokens: int | None
    output_tokens: int | None
    tool_calls: list[ToolCall] = field(default_factory=list)
    thinking: str = ""
    #: The server's id of the response (``chatcmpl-...``), ``gen_ai.response.id`` on the span.
    response_id: str | None = None


Delta = TextDelta | ThinkingDelta | ToolCallDelta | Completion


@dataclass(slots=True)
class ProviderRequest:
    """Everything a provider needs for one call; settings left None use server defaults.

    ``extra`` is merged into the request body as is, so server-specific parameters
    (``top_p``, ``seed``, ``response_format``, ...) need no code here.
    """

    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- errors


_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_*\-]{4,}|Bearer\s+\S+)")


def redact(text: str, *secrets: str | None) -> str:
    """Remove credentials from text that may be shown to a user or put in a trace.

    Servers echo (parts of) keys in error bodies, so the exact secret and anything
    shaped like an OpenAI key or bearer token are masked.
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _KEY_PATTERN.sub("***", text)


def safe_url(url: str | None) -> str:
    """The URL without user:password or secret query parameters, so it can appear in messages and traces."""
    if not url:
        return "<default>"
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return redact_url(url)  # ?api_key=... and the like
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return redact_url(urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)))


# --------------------------------------------------------------------------- tool calls


class ToolCallAssembler:
    """Joins ToolCallDeltas by index into ToolCalls, as every provider must.

    Arguments are parsed once, at the end: an unparsable argument string is a clear
    LLMProtocolError naming the tool, never a silently empty dict.
    """

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, Any]] = {}

    def add(self, delta: ToolCallDelta) -> None:
        call = self._calls.setdefault(delta.index, {"id": None, "name": "", "arguments": []})
        if delta.id:
            call["id"] = delta.id
        if delta.name and delta.name != call["name"]:
            # Some servers split a long name across fragments; none resends a different one.
            call["name"] += delta.name
        if delta.arguments_fragment:
            call["arguments"].append(delta.arguments_fragment)

    def result(self, *, base_url: str | None = None, model: str | None = None) -> list[ToolCall]:
        calls: list[ToolCall] = []
        for index in sorted(self._calls):
            raw = self._calls[index]
            text = "".join(raw["arguments"]).strip()
            name = raw["name"]
            if not name:
                raise LLMProtocolError(
                    f"Tool call #{index} from model {model!r} at {safe_url(base_url)} has no function "
                    "name. The server's tool-call stream is incomplete; check that it supports "
                    "OpenAI-style tool calling.",
                    base_url=base_url,
                    model=model,
                )
            try:
                arguments = json.loads(text) if text else {}
            except json.JSONDecodeError as err:
                raise LLMProtocolError(
                    f"Tool call {name!r} from model {model!r} at {safe_url(base_url)} has arguments "
                    f"that are not valid JSON ({err.msg}): {text[:200]!r}. The model produced a "
                    "malformed call; retry, or use a model with reliable tool calling.",
                    base_url=base_url,
                    model=model,
                ) from err
            if not isinstance(arguments, dict):
                raise LLMProtocolError(
                    f"Tool call {name!r} from model {model!r} at {safe_url(base_url)} has arguments "
                    f"that are a JSON {type(arguments).__name__}, not an object: {text[:200]!r}.",
                    base_url=base_url,
                    model=model,
                )
            calls.append(ToolCall(id=raw["id"] or f"call_{index}", name=name, arguments=arguments))
        return calls


# --------------------------------------------------------------------------- streams


class DeltaStream(Iterator[Delta]):
    """A closeable iterator of deltas; closing it releases the HTTP response at once.

    ``close()`` may be called from another thread while the consumer is blocked on a
    slow stream: the generator cannot be closed then, so the registered ``abort``
    callback (the provider closes its response there) interrupts the read, and the
    consumer's iteration ends quietly instead of raising.
    """

    def __init__(self, source: Iterator[Delta] | Callable[[DeltaStream], Iterator[Delta]]) -> None:
        self._abort: Callable[[], None] | None = None
        self._lock = threading.Lock()
        self.closed = False
        # A factory receives this stream so the provider can register its abort hook.
        self._source: Iterator[Delta] = source if isinstance(source, Iterator) else source(self)

    def set_abort(self, abort: Callable[[], None] | None) -> None:
        """Called by the provider once it holds a resource that ``close()`` must release."""
        with self._lock:
            self._abort = abort
            closed = self.closed
        if closed and abort is not None:
            abort()

    def __iter__(self) -> DeltaStream:
        return self

    def __next__(self) -> Delta:
        if self.closed:
            raise StopIteration
        try:
            return next(self._source)
        except LLMError:
            if self.closed:
                raise StopIteration from None
            raise

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            abort = self._abort
        close = getattr(self._source, "close", None)
        try:
            if close is not None:
                close()
        except ValueError:  # "generator already executing": closed from another thread
            if abort is not None:
                abort()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncDeltaStream(AsyncIterator[Delta]):
    """The async twin of DeltaStream: ``aclose()`` releases the HTTP response."""

    def __init__(self, source: AsyncIterator[Delta]) -> None:
        self._source = source
        self.closed = False

    def __aiter__(self) -> AsyncDeltaStream:
        return self

    async def __anext__(self) -> Delta:
        if self.closed:
            raise StopAsyncIteration
        return await self._source.__anext__()

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            await aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


# --------------------------------------------------------------------------- provider


class Provider(ABC):
    """One backend. Subclasses implement ``stream``/``astream``; the rest has defaults.

    ``complete`` drains the stream by default so a provider that only streams still
    answers ``LLM.call``; HTTP providers override it with a non-streaming request.
    """

    #: Short backend name for telemetry (``gen_ai.provider.name``).
    name: str = "unknown"
    #: Where requests go, credentials removed; None for offline providers.
    base_url: str | None = None

    @abstractmethod
    def stream(self, request: ProviderRequest) -> DeltaStream:
        """Deltas in order, ending with one Completion."""

    @abstractmethod
    def astream(self, request: ProviderRequest) -> AsyncDeltaStream:
        """Async deltas in order, ending with one Completion."""

    def complete(self, request: ProviderRequest) -> Completion:
        with self.stream(request) as deltas:
            return _last_completion(deltas, self, request)

    async def acomplete(self, request: ProviderRequest) -> Completion:
        async with self.astream(request) as deltas:
            final: Completion | None = None
            async for delta in deltas:
                if isinstance(delta, Completion):
                    final = delta
            return _require(final, self, request)


def _last_completion(deltas: Iterator[Delta], provider: Provider, request: ProviderRequest) -> Completion:
    final: Completion | None = None
    for delta in deltas:
        if isinstance(delta, Completion):
            final = delta
    return _require(final, provider, request)


def _require(final: Completion | None, provider: Provider, request: ProviderRequest) -> Completion:
    if final is None:
        raise LLMProtocolError(
            f"Provider {provider.name!r} ended the stream for model {request.model!r} without a "
            "final Completion; this is a bug in the provider.",
            base_url=provider.base_url,
            model=request.model,
        )
    return final
