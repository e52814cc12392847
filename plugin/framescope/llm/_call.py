"""One LLM call as one ``llm_call_started`` → ``llm_call_completed``/``llm_call_failed``
lifecycle: the provider rounds (one, or more when tools run), deltas mapped to frames,
and the closing frame's payload (result, usage, finish reason, time to first token).

The mapping lives here once for the sync and async paths; only the I/O differs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from framescope._metered import metered
from framescope.errors import LLMProtocolError, LLMToolLoopError, StreamClosed
from framescope.llm._cancel import abort_on_cancel
from framescope.llm._messages import REDACTED, assistant_tool_message, recorded_messages, recorded_tool_calls
from framescope.llm._tools import ToolRunner, tool_names
from framescope.telemetry.config import get_telemetry_setup
from framescope.telemetry.run import emit, emit_token, lifecycle, token_emitter

from .providers.base import Completion, Provider, ProviderRequest, TextDelta, ThinkingDelta, ToolCall, ToolCallDelta

_perf = time.perf_counter


@dataclass(frozen=True, slots=True)
class CallPlan:
    """Everything one call needs, fixed before it starts (so the LLM is never mutated)."""

    provider: Provider
    provider_name: str
    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    runner: ToolRunner | None
    stream: bool
    temperature: float | None
    max_tokens: int | None
    extra: dict[str, Any]
    max_tool_rounds: int

    def request(self, messages: list[dict[str, Any]]) -> ProviderRequest:
        return ProviderRequest(
            model=self.model,
            messages=messages,
            tools=self.tools,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            extra=dict(self.extra),
        )

    def started_data(self, capture: bool) -> dict[str, Any]:
        data: dict[str, Any] = {"model": self.model, "provider": self.provider_name, "stream": self.stream}
        optional = {
            "base_url": self.provider.base_url or None,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "settings": dict(self.extra) or None,
            "tools": tool_names(self.tools) if self.tools else None,
        }
        data.update((key, value) for key, value in optional.items() if value is not None)
        data["messages"] = recorded_messages(self.messages, capture)
        data["content_redacted"] = not capture
        return data


@dataclass(slots=True)
class Tally:
    """What the closing frame reports, summed over the call's provider rounds."""

    started: float = field(default_factory=_perf)
    first_token: float | None = None
    rounds: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None
    last_chunk: float = 0.0
    #: records gen_ai.client.operation.time_per_output_chunk; None when metrics are off
    chunk_interval: Callable[[float], None] | None = None

    def add(self, completion: Completion) -> None:
        self.rounds += 1
        if completion.input_tokens is not None:
            self.input_tokens = (self.input_tokens or 0) + completion.input_tokens
        if completion.output_tokens is not None:
            self.output_tokens = (self.output_tokens or 0) + completion.output_tokens

    def closing_data(self, final: Completion, plan: CallPlan, capture: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "result": final.text if capture else REDACTED,
            "finish_reason": final.finish_reason,
            "response_model": final.response_model,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
            "rounds": self.rounds,
        }
        if final.response_id:
            data["response_id"] = final.response_id
        if self.first_token is not None:
            data["time_to_first_token_s"] = round(self.first_token - self.started, 6)
        if final.thinking and not plan.stream:  # streamed thinking is already in the frames
            data["thinking"] = final.thinking if capture else REDACTED
        if final.tool_calls:  # asked for, but nothing here may run them: the caller's to handle
            data["tool_calls"] = recorded_tool_calls(final.tool_calls, capture)
        return data


def _loop_error(plan: CallPlan, final: Completion) -> LLMToolLoopError:
    names = ", ".join(call.name for call in final.tool_calls)
    return LLMToolLoopError(
        f"model {plan.model!r} still asked for tools ({names}) after {plan.max_tool_rounds} tool rounds; "
        "the call was stopped. Raise LLM(max_tool_rounds=...) if the task really needs more rounds, "
        "or check that the tools' results answer what the model asks.",
        base_url=plan.provider.base_url,
        model=plan.model,
    )


def _no_completion(plan: CallPlan) -> LLMProtocolError:
    return LLMProtocolError(
        f"provider {plan.provider_name!r} ended the stream for model {plan.model!r} without a final "
        "Completion; this is a bug in the provider.",
        base_url=plan.provider.base_url,
        model=plan.model,
    )


# =========================================================================================
# sync
# =========================================================================================


def _metered(plan: CallPlan, tally: Tally) -> AbstractContextManager[None]:
    """Record the call in the GenAI client metrics (duration, time to first chunk, tokens)."""
    metrics = get_telemetry_setup().metrics
    if metrics is not None and plan.stream:
        tally.chunk_interval = metrics.chunk_interval_recorder(
            model=plan.model, provider=plan.provider_name, operation="chat"
        )

    def report(error_type: str | None) -> None:
        metrics = get_telemetry_setup().metrics
        if metrics is not None:
            metrics.llm_call(
                model=plan.model,
                provider=plan.provider_name,
                operation="chat",
                duration_s=_perf() - tally.started,
                time_to_first_token_s=(tally.first_token - tally.started) if tally.first_token is not None else None,
                input_tokens=tally.input_tokens,
                output_tokens=tally.output_tokens,
                error_type=error_type,
            )

    return metered(report)


class _ToolLoop:
    """The LLM tool loop as a step machine, written once for :func:`run_call` and :func:`arun_call`.

    The loop decides and its driver does the I/O: ``send`` returns what to do next, a
    ``ProviderRequest`` (ask the model) or a ``ToolCall`` (run a tool), and takes the outcome
    of the previous step (the round's ``Completion``, or the tool's message); ``None`` means the
    call is answered.  So the sync and async paths differ only in how a step is performed.
    """

    def __init__(self, plan: CallPlan) -> None:
        self.plan = plan
        self.capture = get_telemetry_setup().capture_message_content
        self.tally = Tally()
        self.final: Completion | None = None
        self._steps = self._walk()

    def _walk(self) -> Generator[ProviderRequest | ToolCall, Any, None]:
        plan = self.plan
        conversation = list(plan.messages)
        while True:
            final: Completion = yield plan.request(conversation)
            self.tally.add(final)
            self.final = final
            if not final.tool_calls or plan.runner is None:
                return
            if self.tally.rounds > plan.max_tool_rounds:
                raise _loop_error(plan, final)
            conversation.append(assistant_tool_message(final))
            for tool_call in final.tool_calls:
                conversation.append((yield tool_call))

    def send(self, outcome: Any) -> ProviderRequest | ToolCall | None:
        try:
            return self._steps.send(outcome)
        except StopIteration:
            return None

    @property
    def answer(self) -> str:
        assert self.final is not None
        return self.final.text

    @contextmanager
    def recorded(self) -> Iterator[None]:
        """The call's lifecycle frames, span and metrics around the whole loop."""
        plan = self.plan
        with (
            _metered(plan, self.tally),
            lifecycle(
                "llm_call_started",
                plan.started_data(self.capture),
                finished="llm_call_completed",
                failed="llm_call_failed",
            ) as call,
        ):
            yield
            assert self.final is not None
            call.data.update(self.tally.closing_data(self.final, plan, self.capture))


def run_call(plan: CallPlan) -> str:
    """Run the call (and its tool rounds) in the current run; returns the answer text."""
    steps = call_steps(plan)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return str(done.value)


def call_steps(plan: CallPlan) -> Generator[None, None, str]:
    """The call as steps: it pauses after each streamed delta and returns the answer text.

    :func:`run_call` drains it in one go; a pulled session (``LLM.stream_events``) resumes it
    from its consumer's iteration, one delta at a time, so no thread sits between the HTTP
    stream and the reader.
    """
    loop = _ToolLoop(plan)
    with loop.recorded():
        step = loop.send(None)
        while step is not None:
            if plan.stream and isinstance(step, ProviderRequest):
                outcome = yield from _stream_round(plan, step, loop.tally, loop.capture)
            else:
                outcome = _perform(loop, step)
            step = loop.send(outcome)
    return loop.answer


def _perform(loop: _ToolLoop, step: ProviderRequest | ToolCall) -> Any:
    plan = loop.plan
    if isinstance(step, ProviderRequest):
        return plan.provider.complete(step)
    assert plan.runner is not None
    return plan.runner.run(step)


def _emit_delta(
    delta: Any, tally: Tally, capture: bool, token: Callable[[str, str], Any] = emit_token
) -> Completion | None:
    """Turn one provider delta into frames; the final ``Completion`` is returned, not emitted.

    ``token`` is :func:`emit_token`, or the round's :func:`token_emitter` (bound once per round).
    """
    kind = type(delta)
    if kind is TextDelta or kind is ThinkingDelta:
        if tally.first_token is None:
            tally.first_token = tally.last_chunk = _perf()
        elif tally.chunk_interval is not None:  # only with metrics on: one histogram record a chunk
            now = _perf()
            tally.chunk_interval(now - tally.last_chunk)
            tally.last_chunk = now
        token("llm_stream_chunk" if kind is TextDelta else "llm_thinking_chunk", delta.text if capture else "")
    elif kind is ToolCallDelta:
        emit("llm_tool_call_delta", _tool_delta_data(delta, capture))
    elif kind is Completion:
        return delta
    return None


def _stream_round(
    plan: CallPlan, request: ProviderRequest, tally: Tally, capture: bool
) -> Generator[None, None, Completion]:
    deltas = plan.provider.stream(request)
    final: Completion | None = None
    try:
        with abort_on_cancel(deltas.close) as watch:
            token = token_emitter()
            try:
                for delta in deltas:
                    final = _emit_delta(delta, tally, capture, token) or final
                    yield
            except Exception:
                if watch.fired:  # the consumer closed the session mid-read
                    raise StreamClosed() from None
                raise
            if final is None and watch.fired:
                raise StreamClosed()
    finally:
        deltas.close()  # releases the HTTP response on every path, cancellation included
    if final is None:
        raise _no_completion(plan)
    return final


def _tool_delta_data(delta: ToolCallDelta, capture: bool) -> dict[str, Any]:
    return {
        "index": delta.index,
        "id": delta.id,
        "name": delta.name,
        "arguments_fragment": delta.arguments_fragment if capture else "",
    }


# =========================================================================================
# async
# =========================================================================================


async def arun_call(plan: CallPlan) -> str:
    """The async twin of :func:`run_call` (async provider I/O, async tools awaited)."""
    loop = _ToolLoop(plan)
    async for _ in acall_steps(loop):
        pass
    return loop.answer


async def acall_steps(loop: _ToolLoop) -> AsyncGenerator[None, None]:
    """The async twin of :func:`call_steps`; the answer is ``loop.answer`` once it is exhausted."""
    plan = loop.plan
    with loop.recorded():
        step = loop.send(None)
        while step is not None:
            if plan.stream and isinstance(step, ProviderRequest):
                final: Completion | None = None
                token = token_emitter()
                async for delta in _astream_round(plan, step):
                    final = _emit_delta(delta, loop.tally, loop.capture, token) or final
                    yield
                if final is None:
                    raise _no_completion(plan)
                outcome: Any = final
            elif isinstance(step, ProviderRequest):
                outcome = await plan.provider.acomplete(step)
            else:
                assert plan.runner is not None
                outcome = await plan.runner.arun(step)
            step = loop.send(outcome)


async def _astream_round(plan: CallPlan, request: ProviderRequest) -> AsyncGenerator[Any, None]:
    """The provider's deltas; a read the consumer interrupted (``aclose`` from another task)
    ends as a cancellation, like the sync round's."""
    deltas = plan.provider.astream(request)
    try:
        with abort_on_cancel(lambda: None) as watch:
            try:
                async for delta in deltas:
                    yield delta
            except (Exception, asyncio.CancelledError):
                if watch.fired:
                    raise StreamClosed() from None
                raise
    finally:
        await deltas.aclose()
