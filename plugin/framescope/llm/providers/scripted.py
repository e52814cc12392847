"""An offline provider that answers from a script, for demos, tests and benchmarks.

It streams like a real model (word-and-punctuation tokens, optional pacing, reasoning,
tool calls, usage counts) so everything above the provider layer can be exercised
without a network or a key, and deterministically, so a test can assert exact frames.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from framescope.errors import LLMConfigurationError, LLMError

from . import base

__all__ = [
    "ECHO_SCRIPT",
    "Reply",
    "ScriptedProvider",
    "ScriptedReply",
    "ScriptedToolCall",
    "echo_reply",
    "register_script",
    "registered_scripts",
    "unregister_script",
]

ECHO_SCRIPT = "echo"

# A token is a word or one punctuation mark with the whitespace before it; trailing
# whitespace is its own token. Joining the tokens always gives the text back exactly.
_TOKEN = re.compile(r"\s*(?:\w+|[^\w\s])|\s+")


def tokenize(text: str) -> list[str]:
    """Split text into realistic stream tokens: ``"Hi, you!"`` -> ``["Hi", ",", " you", "!"]``."""
    return _TOKEN.findall(text)


@dataclass(frozen=True)
class ScriptedToolCall:
    """A reply that asks for a tool; the next call (carrying the tool result) gets the next reply."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class ScriptedReply:
    """A full reply: text, optional reasoning shown before it, optional tool calls."""

    text: str = ""
    thinking: str = ""
    tool_calls: tuple[ScriptedToolCall, ...] = ()
    finish_reason: str | None = None


Reply = str | ScriptedReply | ScriptedToolCall
ReplyRule = Callable[[list[dict[str, Any]]], Reply]


def echo_reply(messages: list[dict[str, Any]]) -> Reply:
    """The default rule: a deterministic answer from the conversation's last turn.

    After a tool result it reports that result, so a tool loop against the echo model
    terminates instead of asking for the tool forever.
    """
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return f"The tool returned: {_content_text(last.get('content'))}"
    for message in reversed(messages):
        if message.get("role") == "user":
            return f"You said: {_content_text(message.get('content'))}"
    return "Hello! Nothing was said yet."


class _Script:
    """A named script; its reply list is consumed across every provider that uses it."""

    def __init__(
        self,
        name: str,
        replies: Sequence[Reply] | ReplyRule | None,
        token_delay_s: float,
        thinking: str,
    ) -> None:
        if token_delay_s < 0:
            raise ValueError(f"token_delay_s must be >= 0, got {token_delay_s!r}")
        if replies is not None and not callable(replies):
            replies = list(replies)
            for reply in replies:
                if not isinstance(reply, (str, ScriptedReply, ScriptedToolCall)):
                    raise TypeError(
                        f"Script {name!r}: a reply must be a str, ScriptedReply or ScriptedToolCall, "
                        f"got {type(reply).__name__}"
                    )
        self.name = name
        self._replies = replies
        self.token_delay_s = token_delay_s
        self.thinking = thinking
        self._cursor = 0
        self._lock = threading.Lock()

    def next_reply(self, messages: list[dict[str, Any]]) -> ScriptedReply:
        replies = self._replies
        if replies is None:
            reply = echo_reply(messages)
        elif callable(replies):
            reply = replies(messages)
        else:
            with self._lock:
                if self._cursor >= len(replies):
                    raise LLMError(
                        f"Scripted model 'scripted/{self.name}' has no reply left: all "
                        f"{len(replies)} scripted replies were used. Register a longer script or a "
                        "callable with register_script(...).",
                        model=f"scripted/{self.name}",
                    )
                reply = replies[self._cursor]
                self._cursor += 1
        return self._normalise(reply)

    def _normalise(self, reply: Reply) -> ScriptedReply:
        if isinstance(reply, str):
            reply = ScriptedReply(text=reply)
        elif isinstance(reply, ScriptedToolCall):
            reply = ScriptedReply(tool_calls=(reply,))
        elif not isinstance(reply, ScriptedReply):
            raise TypeError(
                f"Script {self.name!r} produced a {type(reply).__name__}; expected a str, "
                "ScriptedReply or ScriptedToolCall"
            )
        if self.thinking and not reply.thinking:
            reply = ScriptedReply(reply.text, self.thinking, reply.tool_calls, reply.finish_reason)
        return reply


_registry: dict[str, _Script] = {}
_registry_lock = threading.Lock()


def register_script(
    name: str,
    replies: Sequence[Reply] | ReplyRule | None = None,
    *,
    token_delay_s: float = 0.0,
    thinking: str = "",
) -> None:
    """Make ``scripted/<name>`` answer from ``replies``; registering again restarts the script.

    ``replies`` is a list consumed in order (shared by every LLM using the name, so a
    flow that builds a new LLM per step still walks one script), a callable
    ``(messages) -> reply``, or None for the echo rule. ``thinking`` is reasoning text
    streamed before every reply that has none of its own.
    """
    if not name or "/" in name:
        raise ValueError(f"Script name must be non-empty and contain no '/', got {name!r}")
    script = _Script(name, replies, token_delay_s, thinking)
    with _registry_lock:
        _registry[name] = script


def unregister_script(name: str) -> None:
    """Forget a script (tests use it to leave no state behind); unknown names are ignored."""
    with _registry_lock:
        _registry.pop(name, None)


def registered_scripts() -> list[str]:
    """Names usable as ``scripted/<name>``, built-in echo included."""
    with _registry_lock:
        return sorted({ECHO_SCRIPT, *_registry})


def _lookup(name: str) -> _Script:
    with _registry_lock:
        script = _registry.get(name)
    if script is not None:
        return script
    if name == ECHO_SCRIPT:
        return _Script(ECHO_SCRIPT, None, 0.0, "")
    raise LLMConfigurationError(
        f"No script named {name!r} for model 'scripted/{name}'. Registered: "
        f"{', '.join(registered_scripts())}. Call "
        f"framescope.llm.providers.register_script({name!r}, [...]) before the call.",
        model=f"scripted/{name}",
    )


class ScriptedProvider(base.Provider):
    """Serves ``scripted/<name>`` models; the script is looked up at each call.

    Late lookup lets an LLM be declared (e.g. in a flow class body) before the test or
    demo registers its script.
    """

    name = "scripted"
    base_url = None

    def __init__(self, script_name: str = ECHO_SCRIPT) -> None:
        self.script_name = script_name

    def __repr__(self) -> str:
        return f"ScriptedProvider(script_name={self.script_name!r})"

    def stream(self, request: base.ProviderRequest) -> base.DeltaStream:
        return base.DeltaStream(self._iter(request, time.sleep))

    def astream(self, request: base.ProviderRequest) -> base.AsyncDeltaStream:
        return base.AsyncDeltaStream(self._aiter(request))

    def _plan(self, request: base.ProviderRequest) -> tuple[_Script, list[base.Delta]]:
        script = _lookup(self.script_name)
        reply = script.next_reply(request.messages)
        return script, _deltas_for(reply, request, self.script_name)

    def _iter(self, request: base.ProviderRequest, sleep: Callable[[float], None]) -> Iterator[base.Delta]:
        script, deltas = self._plan(request)
        for delta in deltas:
            if script.token_delay_s and not isinstance(delta, base.Completion):
                sleep(script.token_delay_s)
            yield delta

    async def _aiter(self, request: base.ProviderRequest) -> AsyncIterator[base.Delta]:
        script, deltas = self._plan(request)
        for delta in deltas:
            if script.token_delay_s and not isinstance(delta, base.Completion):
                await asyncio.sleep(script.token_delay_s)
            yield delta


def _deltas_for(reply: ScriptedReply, request: base.ProviderRequest, script_name: str) -> list[base.Delta]:
    deltas: list[base.Delta] = [base.ThinkingDelta(token) for token in tokenize(reply.thinking)]
    deltas += [base.TextDelta(token) for token in tokenize(reply.text)]
    calls: list[base.ToolCall] = []
    output_tokens = len(deltas)
    for index, call in enumerate(reply.tool_calls):
        call_id = call.id or f"call_{script_name}_{index}"
        arguments = json.dumps(call.arguments)
        fragments = tokenize(arguments)
        deltas.append(base.ToolCallDelta(index=index, id=call_id, name=call.name, arguments_fragment=""))
        deltas += [base.ToolCallDelta(index=index, id=None, name=None, arguments_fragment=f) for f in fragments]
        output_tokens += 1 + len(fragments)
        calls.append(base.ToolCall(id=call_id, name=call.name, arguments=json.loads(arguments)))
    finish = reply.finish_reason or ("tool_calls" if calls else "stop")
    deltas.append(
        base.Completion(
            text=reply.text,
            finish_reason=finish,
            response_model=f"scripted/{script_name}",
            input_tokens=sum(len(tokenize(_content_text(m.get("content")))) for m in request.messages),
            output_tokens=output_tokens,
            tool_calls=calls,
            thinking=reply.thinking,
            # deterministic, so that the same script gives the same frames every time
            response_id="scripted-" + hashlib.sha256(f"{script_name}\0{reply.text}".encode()).hexdigest()[:24],
        )
    )
    return deltas


def _content_text(content: Any) -> str:
    """Message content as text; multi-part content keeps only its text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return str(content)
