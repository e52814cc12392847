"""OpenAI-compatible chat completions over HTTP, through the official ``openai`` SDK.

One provider serves OpenAI itself and every server that speaks its wire format (Ollama,
vLLM, LM Studio, llama.cpp, ...). The SDK owns HTTP, SSE parsing and retries; this
module owns the parts the SDK leaves open: turning chunks into deltas, assembling tool
calls, reading reasoning fields the SDK does not declare, and turning SDK exceptions
into framescope's error hierarchy with messages that say what to do.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import openai

from framescope import errors

from .base import (
    AsyncDeltaStream,
    Completion,
    Delta,
    DeltaStream,
    Provider,
    ProviderRequest,
    ToolCallAssembler,
    ToolCallDelta,
    redact,
    safe_url,
)
from .openai_chunks import EXCERPT_CHARS, REASONING_FIELDS, ChunkAssembly, excerpt

__all__ = ["OPENAI_DEFAULT_BASE_URL", "OpenAICompatibleProvider"]

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
#: Sent when a server needs no key (local servers) so the SDK does not refuse to start.
PLACEHOLDER_API_KEY = "no-key-needed"
_CHAT_PATH = "/chat/completions"
#: What the SDK and chunk parsing raise; anything else (a bug, KeyboardInterrupt) passes through.
# openai 2.x (which CrewAI pins) lets transport errors raised while reading a stream escape as
# httpx exceptions; openai 3 wraps them.  Both mean the same to the caller.
_MAPPED: tuple[type[Exception], ...] = (
    openai.OpenAIError,
    httpx.TransportError,
    ValueError,
    TypeError,
    AttributeError,
    KeyError,
)


class OpenAICompatibleProvider(Provider):
    """Chat completions against any OpenAI-compatible ``/v1`` endpoint.

    Resolution order, so a prefix like ``ollama/`` never sends an OpenAI key elsewhere:
    base_url = explicit > ``default_base_url`` (prefix's local server) > ``OPENAI_BASE_URL``
    > api.openai.com; api_key = explicit > ``OPENAI_API_KEY`` (only when the env may be
    used) > a placeholder when the server is not api.openai.com. With no key for
    api.openai.com the first request raises LLMConfigurationError, not construction, so
    declaring an LLM never fails at import time.

    ``max_retries`` is handed to the SDK, which retries connect errors, timeouts, 429
    and 5xx before any byte of the body is read; a stream is never retried once it has
    started, because deltas already went to the consumer.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        name: str = "openai",
        default_base_url: str | None = None,
        use_openai_env: bool = True,
        max_retries: int = 2,
        timeout: float | None = 600.0,
        default_headers: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        resolved_url = base_url or default_base_url
        if resolved_url is None and use_openai_env:
            resolved_url = os.environ.get("OPENAI_BASE_URL") or None
        self._url = (resolved_url or OPENAI_DEFAULT_BASE_URL).rstrip("/")
        self.base_url = safe_url(self._url)
        key = api_key
        if key is None and use_openai_env:
            key = os.environ.get("OPENAI_API_KEY") or None
        if key is None and self._url != OPENAI_DEFAULT_BASE_URL:
            key = PLACEHOLDER_API_KEY
        self._api_key = key
        self.max_retries = max_retries
        self.timeout = timeout
        self._headers = dict(default_headers or {})
        self._lock = threading.Lock()
        self._client: openai.OpenAI | None = None
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        key_state = "set" if self._api_key not in (None, PLACEHOLDER_API_KEY) else "none"
        return f"OpenAICompatibleProvider(name={self.name!r}, base_url={self.base_url!r}, api_key={key_state})"

    # ------------------------------------------------------------------ clients

    def _client_kwargs(self, model: str) -> dict[str, Any]:
        if self._api_key is None:
            raise errors.LLMConfigurationError(
                f"No API key for model {model!r} at {self.base_url}: set the OPENAI_API_KEY "
                "environment variable or pass api_key=...; for a local OpenAI-compatible server "
                "set base_url=... (or OPENAI_BASE_URL) instead, which needs no key.",
                base_url=self.base_url,
                model=model,
            )
        return {
            "api_key": self._api_key,
            "base_url": self._url,
            "max_retries": self.max_retries,
            "timeout": self.timeout,
            "default_headers": self._headers or None,
        }

    def _sync_client(self, model: str) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                self._client = openai.OpenAI(**self._client_kwargs(model))
            return self._client

    def _async_client(self, model: str) -> openai.AsyncOpenAI:
        # An async HTTP pool belongs to the loop that opened it; one client per loop.
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.get(loop)
            if client is None:
                client = openai.AsyncOpenAI(**self._client_kwargs(model))
                self._async_clients[loop] = client
            return client

    def close(self) -> None:
        """Release the sync connection pool (async pools go with their event loop)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _create_kwargs(self, request: ProviderRequest, *, stream: bool) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": request.model, "messages": request.messages}
        if request.tools:
            kwargs["tools"] = request.tools
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.max_tokens is not None:
            kwargs["max_tokens"] = request.max_tokens
        if request.timeout is not None:
            kwargs["timeout"] = request.timeout
        if request.extra:
            kwargs["extra_body"] = dict(request.extra)
        if stream:
            kwargs["stream"] = True
            kwargs["stream_options"] = {"include_usage": True}
        return kwargs

    def _stream_post(self, request: ProviderRequest) -> tuple[dict[str, Any], Any]:
        """The JSON body and request options of a streamed call, for the SDK's ``post``.

        Streams go through the SDK's generic ``post`` (its documented way to call any endpoint)
        with chunks left as the JSON objects they arrive as: the SDK still owns HTTP, retries,
        SSE parsing and error events, but builds no pydantic model per chunk, which is most of
        a streamed token's cost in the typed ``chat.completions.create``.
        """
        kwargs = self._create_kwargs(request, stream=True)
        options: dict[str, Any] = {}
        if "timeout" in kwargs:
            options["timeout"] = kwargs.pop("timeout")
        kwargs.update(kwargs.pop("extra_body", None) or {})
        return kwargs, options

    # ------------------------------------------------------------------ streaming

    def stream(self, request: ProviderRequest) -> DeltaStream:
        return DeltaStream(lambda handle: self._iter_stream(request, handle))

    def _iter_stream(self, request: ProviderRequest, handle: DeltaStream) -> Iterator[Delta]:
        assembly = ChunkAssembly(self, request)
        with self._mapped_errors(request, assembly):
            body, options = self._stream_post(request)
            sdk_stream = self._sync_client(request.model).post(
                _CHAT_PATH, cast_to=object, body=body, options=options, stream=True, stream_cls=openai.Stream[object]
            )
        handle.set_abort(lambda: _abort_response(sdk_stream))
        try:
            with self._mapped_errors(request, assembly):
                feed = assembly.feed
                for chunk in sdk_stream:
                    yield from feed(chunk)
                yield assembly.finish()
        finally:
            handle.set_abort(None)
            sdk_stream.close()

    def astream(self, request: ProviderRequest) -> AsyncDeltaStream:
        return AsyncDeltaStream(self._aiter_stream(request))

    async def _aiter_stream(self, request: ProviderRequest) -> AsyncIterator[Delta]:
        assembly = ChunkAssembly(self, request)
        with self._mapped_errors(request, assembly):
            client = self._async_client(request.model)
            body, options = self._stream_post(request)
            sdk_stream = await client.post(
                _CHAT_PATH,
                cast_to=object,
                body=body,
                options=options,
                stream=True,
                stream_cls=openai.AsyncStream[object],
            )
        try:
            with self._mapped_errors(request, assembly):
                async for chunk in sdk_stream:
                    for delta in assembly.feed(chunk):
                        yield delta
                yield assembly.finish()
        finally:
            await sdk_stream.close()

    # ------------------------------------------------------------------ one-shot

    def complete(self, request: ProviderRequest) -> Completion:
        with self._mapped_errors(request, None):
            response = self._sync_client(request.model).chat.completions.create(
                **self._create_kwargs(request, stream=False)
            )
        return self._completion_from_response(response, request)

    async def acomplete(self, request: ProviderRequest) -> Completion:
        with self._mapped_errors(request, None):
            client = self._async_client(request.model)
            response = await client.chat.completions.create(**self._create_kwargs(request, stream=False))
        return self._completion_from_response(response, request)

    @contextmanager
    def _mapped_errors(self, request: ProviderRequest, assembly: ChunkAssembly | None) -> Iterator[None]:
        """Whatever the SDK raises in the block leaves it as an ``LLMError`` with advice."""
        try:
            yield
        except errors.LLMError:
            raise
        except _MAPPED as err:
            raise self._map_error(err, request, assembly) from _cause(err)

    def _completion_from_response(self, response: Any, request: ProviderRequest) -> Completion:
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise self._protocol_error(request, f"an answer without choices: {excerpt(response)}")
        choice = choices[0]
        message = getattr(choice, "message", None)
        if message is None:
            raise self._protocol_error(request, f"a choice without a message: {excerpt(choice)}")
        assembler = ToolCallAssembler()
        for index, call in enumerate(getattr(message, "tool_calls", None) or []):
            function = getattr(call, "function", None)
            assembler.add(
                ToolCallDelta(
                    index=index,
                    id=getattr(call, "id", None),
                    name=_str_field(self, request, function, "name"),
                    arguments_fragment=_str_field(self, request, function, "arguments"),
                )
            )
        usage = getattr(response, "usage", None)
        return Completion(
            text=_str_field(self, request, message, "content"),
            finish_reason=getattr(choice, "finish_reason", None),
            response_model=getattr(response, "model", None),
            input_tokens=getattr(usage, "prompt_tokens", None),
            output_tokens=getattr(usage, "completion_tokens", None),
            tool_calls=assembler.result(base_url=self.base_url, model=request.model),
            thinking=_reasoning(self, request, message),
            response_id=_response_id(response),
        )

    # ------------------------------------------------------------------ errors

    def _protocol_error(self, request: ProviderRequest, what: str) -> errors.LLMProtocolError:
        return errors.LLMProtocolError(
            f"The server at {self.base_url} (model {request.model!r}) sent {what}; this is not "
            "valid OpenAI-compatible chat-completions data. Check that base_url points at an "
            "OpenAI-compatible /v1 endpoint and that the server supports this request.",
            base_url=self.base_url,
            model=request.model,
        )

    def _map_error(self, err: Exception, request: ProviderRequest, assembly: ChunkAssembly | None) -> errors.LLMError:
        """One place that turns anything the SDK raises into an ``LLMError`` with advice."""
        model, where = request.model, self.base_url
        at: dict[str, Any] = {"base_url": where, "model": model}  # every error says where the call went
        mid = assembly is not None and assembly.chunks > 0
        progress = f" after {assembly.chunks} chunks" if assembly is not None and mid else ""
        if isinstance(err, errors.LLMError):
            return err
        if isinstance(err, openai.APIStatusError):
            status = err.status_code
            body = redact(_body_text(err), self._api_key)
            return errors.LLMHTTPError(
                f"{where} answered HTTP {status} for model {model!r}: {body.rstrip('.') or '<empty body>'}. "
                f"{_status_advice(status)}",
                status=status,
                body_excerpt=body,
                **at,
            )
        if isinstance(err, (openai.APITimeoutError, httpx.TimeoutException)):
            limit = request.timeout if request.timeout is not None else self.timeout
            stage = f"stopped streaming{progress}" if mid else "did not answer"
            return errors.LLMTimeoutError(
                f"{where} {stage} for model {model!r} within the {limit}s timeout"
                f"{'' if mid else f' (after {self.max_retries} retries)'}. Raise timeout=... if the "
                "model is slow, or check that the server is running and not overloaded.",
                **at,
            )
        if isinstance(err, (openai.APIConnectionError, httpx.TransportError)):
            cause = redact(str(err.__cause__ or err), self._api_key)
            if mid:
                message = (
                    f"The connection to {where} dropped mid-stream for model {model!r}{progress} "
                    f"({cause}); the answer is incomplete. Retry the call; if it keeps happening, "
                    "check the server's logs or any proxy between you and it."
                )
            else:
                message = (
                    f"Could not connect to {where} for model {model!r} ({cause}). Check that the "
                    "server is running and that base_url (or OPENAI_BASE_URL) is right."
                )
            return errors.LLMConnectionError(message, **at)
        if isinstance(err, openai.APIError):
            # An error object sent inside an otherwise successful stream.
            return errors.LLMError(
                f"{where} reported an error mid-stream for model {model!r}{progress}: "
                f"{redact(err.message, self._api_key)[:EXCERPT_CHARS]}. The answer is incomplete; "
                "retry the call or check the server's logs.",
                **at,
            )
        if isinstance(err, json.JSONDecodeError):
            return self._protocol_error(
                request, f"stream data that is not JSON{progress} ({err.msg}): {err.doc[:EXCERPT_CHARS]!r}"
            )
        if isinstance(err, openai.OpenAIError):
            return errors.LLMConfigurationError(
                f"The OpenAI SDK refused the call to {where} for model {model!r}: {redact(str(err), self._api_key)}",
                **at,
            )
        return self._protocol_error(request, f"data the client could not read{progress} ({type(err).__name__}: {err})")


def _abort_response(sdk_stream: Any) -> None:
    """Stop a stream that another thread is blocked reading.

    Closing an HTTP response does not wake a thread blocked in ``recv``; shutting the
    socket down does, so a consumer's ``close()`` takes effect at once instead of at the
    next chunk (which, on a stalled server, is the read timeout).
    """
    response = sdk_stream.response
    network_stream = response.extensions.get("network_stream")
    sock = network_stream.get_extra_info("socket") if network_stream is not None else None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed: nothing left to interrupt
    response.close()


def _cause(err: Exception) -> Exception | None:
    # Status errors carry the raw body (which may echo a key) in their message: keep them
    # out of the chained traceback; our message already holds the redacted excerpt.
    # An errors.LLMError raised by our own code is re-raised as itself, not as its own cause.
    return None if isinstance(err, (openai.APIStatusError, errors.LLMError)) else err


def _str_field(provider: OpenAICompatibleProvider, request: ProviderRequest, obj: Any, name: str) -> str:
    value = getattr(obj, name, None) if obj is not None else None
    if value is None:
        return ""
    if not isinstance(value, str):
        raise provider._protocol_error(request, f"a {name!r} field that is a {type(value).__name__}, not text")
    return value


def _reasoning(provider: OpenAICompatibleProvider, request: ProviderRequest, obj: Any) -> str:
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
            value = _str_field(provider, request, obj, field_name)
        if value:
            return value
    return ""


def _body_text(err: openai.APIStatusError) -> str:
    body = err.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        text = message if isinstance(message, str) else json.dumps(body, default=str)
    elif body is None:
        try:
            text = err.response.text
        except (RuntimeError, ValueError):  # a streamed body may be unread; the status says enough
            text = ""
    else:
        text = str(body)
    return text.strip()[:EXCERPT_CHARS]


def _status_advice(status: int) -> str:
    if status in (401, 403):
        return "Check the API key: pass api_key=... or set OPENAI_API_KEY for this server."
    if status == 404:
        return "Check the model name and that base_url ends with the API root (usually /v1)."
    if status == 429:
        return "Rate limited or out of quota: retry later, lower the request rate, or check the account's quota."
    if status in (400, 413, 422):
        return "The server rejected the request: check the messages, tools and parameters."
    if status >= 500:
        return "The server failed: retry later or check the server's logs."
    return "See the server's documentation for this status."


def _response_id(response: Any) -> str | None:
    """The ``id`` of a non-streamed response."""
    value = getattr(response, "id", None)
    return value if isinstance(value, str) and value else None
