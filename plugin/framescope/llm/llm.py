"""``LLM``: direct calls and streamed calls over any provider, as frames (docs/contract.md C8, C11).

``call``/``acall`` return the final text, like a plain client.  ``stream_events`` and
``astream_events`` run the same call as a new run and hand back a stream session of its
frames; ``stream_text`` is the plain text view.  Every path is one ``llm_call_started`` →
``llm_call_completed``/``llm_call_failed`` lifecycle, a ``chat {model}`` span.

Per-call streaming never mutates the instance: the choice travels with the call, so
``llm.stream`` is untouched during and after ``stream_events`` (also when it fails), and a
concurrent ``llm.call`` from another thread is never switched to streaming by accident.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import Any

from framescope.errors import LLMConfigurationError
from framescope.llm._call import CallPlan, _ToolLoop, acall_steps, arun_call, call_steps, run_call
from framescope.llm._messages import Messages, normalize_messages
from framescope.llm._tools import ToolSpec, prepare_tools
from framescope.llm.providers import resolve_provider
from framescope.telemetry.pull import apull_call, pull_call
from framescope.tools.definition import Tool
from framescope.types.streaming import AsyncStreamSession, StreamSession

AvailableFunctions = Mapping[str, Tool | Callable[..., Any]]
#: The ``tools`` and ``available_functions`` arguments every call method takes.
Tools = Iterable[ToolSpec] | None
Funcs = AvailableFunctions | None

DEFAULT_TIMEOUT_S = 600.0
DEFAULT_MAX_TOOL_ROUNDS = 10


class LLM:
    """A chat model: ``LLM("gpt-4o-mini")``, ``LLM("ollama/llama3")``, ``LLM("scripted/echo")``.

    ``model`` takes the prefixes ``resolve_provider`` accepts (a plain name is
    OpenAI-compatible and honours ``OPENAI_BASE_URL``/``OPENAI_API_KEY``).  ``**extra``
    goes into the request body as is (``top_p``, ``seed``, ``response_format`` ...).  The
    API key is handed to the provider and never kept anywhere it could be shown.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        stream: bool = False,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout: float | None = DEFAULT_TIMEOUT_S,
        max_retries: int = 2,
        max_tool_rounds: int = DEFAULT_MAX_TOOL_ROUNDS,
        **extra: Any,
    ) -> None:
        if max_tool_rounds < 0:
            raise LLMConfigurationError(f"max_tool_rounds must be >= 0, got {max_tool_rounds}", model=model)
        resolved = resolve_provider(model, base_url, api_key, max_retries=max_retries, timeout=timeout)
        self.model = model
        self.provider = resolved.provider
        self.stream = stream
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.max_tool_rounds = max_tool_rounds
        self.extra = extra
        self._model_name = resolved.model

    @property
    def base_url(self) -> str | None:
        """Where requests go, credentials removed (None for offline providers)."""
        return self.provider.base_url

    def __repr__(self) -> str:
        return (
            f"LLM(model={self.model!r}, provider={self.provider.name!r}, base_url={self.base_url!r}, "
            f"stream={self.stream!r})"
        )

    # -- plumbing --------------------------------------------------------------------
    def _plan(
        self,
        messages: Messages,
        tools: Iterable[ToolSpec] | None,
        available_functions: AvailableFunctions | None,
        stream: bool,
    ) -> CallPlan:
        specs, runner = prepare_tools(tools, available_functions)
        return CallPlan(
            provider=self.provider,
            provider_name=self.provider.name,
            model=self._model_name,
            messages=normalize_messages(messages),
            tools=specs,
            runner=runner,
            stream=stream,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            extra=dict(self.extra),
            max_tool_rounds=self.max_tool_rounds,
        )

    # -- direct calls ----------------------------------------------------------------
    def call(
        self, messages: Messages, tools: Tools = None, available_functions: Funcs = None, *, stream: bool | None = None
    ) -> str:
        """Run the call and return the final answer text (C8).

        With ``stream`` (this argument, else ``self.stream``) the answer is streamed as
        token frames into the current run, and still returned whole.  Tools the model asks
        for run when they are in ``available_functions`` (or given as ``Tool``/functions
        in ``tools``); the call continues until the model answers.
        """
        return run_call(self._plan(messages, tools, available_functions, self.stream if stream is None else stream))

    async def acall(
        self, messages: Messages, tools: Tools = None, available_functions: Funcs = None, *, stream: bool | None = None
    ) -> str:
        """The async twin of :meth:`call` (async HTTP; async tools are awaited)."""
        streamed = self.stream if stream is None else stream
        return await arun_call(self._plan(messages, tools, available_functions, streamed))

    # -- streamed calls --------------------------------------------------------------
    def stream_events(
        self,
        messages: Messages,
        tools: Tools = None,
        available_functions: Funcs = None,
        *,
        keep_history: bool = True,
    ) -> StreamSession:
        """Stream this one call as frames; ``stream.result`` is the answer text (C8).

        Streaming is on for this call only; ``self.stream`` is neither read nor changed.
        The call runs as its own run, driven by the session's iteration in the reader's own
        thread (no thread between the HTTP stream and the reader); ``close()`` stops it and
        closes the HTTP stream.  ``keep_history=False`` keeps no frames in the session (flat
        memory on endless answers).  Bad arguments raise here, before any run starts.
        """
        plan = self._plan(messages, tools, available_functions, True)
        return pull_call(lambda: call_steps(plan), keep_history=keep_history)

    def astream_events(
        self,
        messages: Messages,
        tools: Tools = None,
        available_functions: Funcs = None,
        *,
        keep_history: bool = True,
    ) -> AsyncStreamSession:
        """The async session over this one call (``async with``/``async for``).

        The call runs on the reader's event loop with the async provider (async HTTP, async
        tools awaited), one step per ``async for`` pull; ``aclose()`` stops it.
        """
        loop = _ToolLoop(self._plan(messages, tools, available_functions, True))
        return apull_call(lambda: acall_steps(loop), lambda: loop.answer, keep_history=keep_history)

    def stream_text(self, messages: Messages, tools: Tools = None, available_functions: Funcs = None) -> Iterator[str]:
        """Only the answer's text chunks: :meth:`StreamSession.text` of :meth:`stream_events` (C11).

        Reasoning and tool frames are left out.  Stopping early (``break``) closes the session
        and the HTTP stream.  A failed call raises its error from the iteration.
        """
        with self.stream_events(messages, tools, available_functions) as session:
            yield from session.text()

    async def astream_text(
        self, messages: Messages, tools: Tools = None, available_functions: Funcs = None
    ) -> AsyncIterator[str]:
        """The async twin of :meth:`stream_text`."""
        async with self.astream_events(messages, tools, available_functions) as session:
            async for chunk in session.text():
                yield chunk
