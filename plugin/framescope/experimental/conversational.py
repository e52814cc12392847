"""Conversational flows (docs/contract.md C9): one user turn at a time, streamed as frames.

```python
from framescope import Flow
from framescope.experimental.conversational import ConversationConfig, ConversationState

@ConversationConfig(llm="gpt-4o-mini", defer_trace_finalization=True)
class ChatFlow(Flow[ConversationState]):
    conversational = True

flow = ChatFlow()
stream = flow.stream_turn("What can you help me with?", session_id="session-1")
with stream:
    for frame in stream.events:
        ...
reply = stream.result
```

``ConversationalFlow`` is the typed base that declares ``stream_turn``/``astream_turn``
(sessions), ``turn``/``aturn`` (the reply, kickoff-style) and ``transcript``; the decorator
gives a plain ``Flow`` subclass the same members, so the contract's spelling above works too.
Each session's transcript persists in a SQLite store (``_store``); each turn is one framescope run whose spans carry
``gen_ai.conversation.id``; ``replay_conversation`` rebuilds a whole conversation from its
trace.  docs/conversations.md is the user's guide.
"""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar, cast

from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, TraceFlags

from framescope.errors import (
    ConversationDefinitionError,
    ConversationError,
    ConversationInputError,
    ConversationStoreError,
    RouteError,
    UnknownSessionError,
)
from framescope.experimental._models import ConversationMessage, ConversationState
from framescope.experimental._replay import ConversationReplay, ReplayedTurn, replay_conversation
from framescope.experimental._routes import BUILTIN_ROUTE, collect_routes, default_choice, route
from framescope.experimental._store import ConversationStore, SpanRef, TurnRecord, open_store
from framescope.experimental._turn import Turn, TurnPlan, current_turn, run_turn
from framescope.flow import Flow
from framescope.flow.state import state_type
from framescope.llm import LLM
from framescope.telemetry.launch import astream_call, stream_call
from framescope.telemetry.run import current_or_new_run
from framescope.telemetry.wire import LINK_RELATION
from framescope.types.streaming import AsyncStreamSession, StreamSession

TraceScope = Literal["session", "turn"]
FlowT = TypeVar("FlowT", bound=type)

#: The span attribute OpenTelemetry's GenAI conventions use for a conversation (session) id.
CONVERSATION_ID = "gen_ai.conversation.id"
#: The relation of the link from a turn's trace to the previous turn (trace_scope="turn").
PREVIOUS_TURN = "previous_turn"
MAX_SESSION_ID = 256


@dataclass(eq=False)
class ConversationConfig:
    """How a conversational flow answers and remembers; used as a class decorator.

    ``llm``: a model string or an :class:`LLM` for the built-in reply (its ``stream`` setting
    is never changed: each turn calls it with ``stream=True``).  ``system_prompt`` goes first
    in every request and is not stored in the transcript; ``max_history`` keeps only that
    many earlier messages in the request.  ``store``: a SQLite file path, ``":memory:"``, a
    :class:`ConversationStore`, or ``None`` for ``.framescope/conversations.sqlite3`` (or
    ``$FRAMESCOPE_CONVERSATION_STORE``).  ``trace_scope="session"`` puts all turns of a
    session into one trace (each turn under the first one); ``"turn"`` gives each turn its own
    trace, linked to the previous turn.  ``defer_trace_finalization=True`` is the seed's
    spelling of ``trace_scope="session"`` (the session's trace stays open across turns).
    """

    llm: str | LLM | None = None
    defer_trace_finalization: bool = False
    store: str | os.PathLike[str] | ConversationStore | None = None
    system_prompt: str | None = None
    max_history: int | None = None
    trace_scope: TraceScope | None = None
    _llm: LLM | None = field(default=None, init=False, repr=False)
    _store: ConversationStore | None = field(default=None, init=False, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.trace_scope not in (None, "session", "turn"):
            raise ConversationDefinitionError(
                f"ConversationConfig(trace_scope=...) is 'session' or 'turn', got {self.trace_scope!r}"
            )
        if self.max_history is not None and (not isinstance(self.max_history, int) or self.max_history < 0):
            raise ConversationDefinitionError(f"max_history must be an int >= 0 or None, got {self.max_history!r}")
        if self.llm is not None and not isinstance(self.llm, (str, LLM)):
            raise ConversationDefinitionError(
                f"ConversationConfig(llm=...) takes a model string or an LLM, got {type(self.llm).__name__}"
            )

    @property
    def effective_trace_scope(self) -> TraceScope:
        if self.trace_scope is not None:
            return self.trace_scope
        return "session" if self.defer_trace_finalization else "turn"

    def resolved_llm(self) -> LLM | None:
        """The LLM, built on first use (so env like ``OPENAI_BASE_URL`` is read then)."""
        if self.llm is None or isinstance(self.llm, LLM):
            return self.llm
        with self._guard:
            if self._llm is None:
                self._llm = LLM(self.llm)
            return self._llm

    def resolved_store(self) -> ConversationStore:
        """The store, opened (and checked) on first use."""
        with self._guard:
            if self._store is None:
                self._store = open_store(self.store)
            return self._store

    def __call__(self, cls: FlowT) -> FlowT:
        """Make ``cls`` a conversational flow: check it, then add the turn API to it."""
        if not (isinstance(cls, type) and issubclass(cls, Flow)):
            raise ConversationDefinitionError(
                f"@ConversationConfig(...) decorates a Flow subclass (class ChatFlow(Flow[ConversationState])), "
                f"not {cls!r}"
            )
        if getattr(cls, "conversational", None) is not True:
            raise ConversationDefinitionError(
                f"{cls.__name__} is decorated with @ConversationConfig but does not say `conversational = True`; "
                "add that class attribute"
            )
        model = state_type(cls)
        if model is None or not issubclass(model, ConversationState):
            raise ConversationDefinitionError(
                f"{cls.__name__}'s state must be ConversationState or a subclass of it: declare the class as "
                f"`class {cls.__name__}(Flow[ConversationState])`"
            )
        routes = collect_routes(cls)
        if self.llm is None and not routes:
            raise ConversationDefinitionError(
                f"{cls.__name__} can answer nothing: give ConversationConfig(llm=...) for the built-in reply, "
                "or declare @route() handlers"
            )
        cls._framescope_conversation = self  # type: ignore[attr-defined]
        cls._framescope_routes = routes  # type: ignore[attr-defined]
        if not issubclass(cls, ConversationalFlow):  # the contract's spelling: a plain Flow subclass
            for name, member in _API.items():
                if name not in cls.__dict__:
                    setattr(cls, name, member)
        return cls


# =========================================================================================
# The turn API: ConversationalFlow, and what the decorator gives a plain Flow subclass
# =========================================================================================


def _config_of(flow: Any) -> ConversationConfig:
    config = getattr(type(flow), "_framescope_conversation", None)
    if not isinstance(config, ConversationConfig):
        raise ConversationDefinitionError(f"{type(flow).__name__} is not decorated with @ConversationConfig(...)")
    return config


def _check_input(message: Any, session_id: Any) -> tuple[str, str]:
    if not isinstance(message, str):
        raise ConversationInputError(f"a turn's message must be a str, got {type(message).__name__}")
    if not message.strip():
        raise ConversationInputError(
            "a turn's message is empty; send some text (an empty turn would only confuse the model and the transcript)"
        )
    if not isinstance(session_id, str) or not session_id.strip():
        raise ConversationInputError(f"session_id must be a non-empty str such as 'session-1', got {session_id!r}")
    if len(session_id) > MAX_SESSION_ID or any(ord(c) < 32 for c in session_id):
        raise ConversationInputError(
            f"session_id must be at most {MAX_SESSION_ID} printable characters, got {session_id[:40]!r}..."
        )
    return message, session_id


def _prepare(flow: Any, message: Any, session_id: Any, create: bool) -> tuple[TurnPlan, dict[str, Any]]:
    """Check everything that can be checked before the turn's run starts; its run options."""
    text, session_id = _check_input(message, session_id)
    config = _config_of(flow)
    store = config.resolved_store()
    if not create and not store.session_exists(session_id):
        raise UnknownSessionError(
            f"there is no conversation session {session_id!r} in {store.path}; check the id, or call without "
            "create=False to start it",
            session_id,
        )
    llm = config.resolved_llm()  # a bad model string fails here, before any frame
    cls = type(flow)
    routes = cls._framescope_routes

    def choose(turn: Turn) -> str | None:  # None from an override falls back to the default choice
        return flow.choose_route(turn) or default_choice(routes, turn)

    plan = TurnPlan(
        flow=flow,
        flow_name=getattr(cls, "name", None) or cls.__name__,
        store=store,
        session_id=session_id,
        text=text,
        state_model=state_type(cls),  # type: ignore[arg-type]
        routes=routes,
        choose=choose,
        llm=lambda: llm,
        system_prompt=config.system_prompt,
        max_history=config.max_history,
    )
    options: dict[str, Any] = {"span_attributes": {CONVERSATION_ID: session_id}}
    anchor, previous = store.trace_refs(session_id)
    if config.effective_trace_scope == "session":
        if anchor is not None:
            options["parent_context"] = trace.set_span_in_context(NonRecordingSpan(_span_context(anchor)))
    elif previous is not None:
        options["links"] = [Link(_span_context(previous), {LINK_RELATION: PREVIOUS_TURN})]
    return plan, options


def _span_context(ref: SpanRef) -> SpanContext:
    return SpanContext(
        int(ref.trace_id, 16), int(ref.span_id, 16), is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)
    )


ConversationStateT = TypeVar("ConversationStateT", bound=ConversationState)


class ConversationalFlow(Flow[ConversationStateT]):
    """The typed base of a conversational flow: the turn API, visible to IDEs and type checkers.

    ``class ChatFlow(ConversationalFlow[ConversationState])`` under ``@ConversationConfig(...)``
    is the typed spelling of the contract's ``class ChatFlow(Flow[ConversationState])`` with
    ``conversational = True``; both behave the same, because the decorator gives a plain
    ``Flow`` subclass exactly these members (any the class defines itself are kept).
    """

    conversational: ClassVar[bool] = True

    @property
    def state(self) -> ConversationStateT:
        """``self.state``: the running turn's session state inside a turn, else the flow's own."""
        running = current_turn()
        if running is not None and running.flow is self:
            return cast(ConversationStateT, running.state)
        return cast(ConversationStateT, Flow.state.fget(self))  # type: ignore[attr-defined]

    def stream_turn(
        self, message: str, *, session_id: str, create: bool = True, keep_history: bool = True
    ) -> StreamSession:
        """Stream one user turn of session ``session_id``; ``stream.result`` is the reply (C9).

        Bad input (an empty message, an unknown session with ``create=False``, an unusable store)
        raises here, before any run starts.  Turns of one session run one at a time; a second
        ``stream_turn`` on the same session waits (in its run) for the first to end.
        """
        plan, options = _prepare(self, message, session_id, create)
        return stream_call(run_turn, plan, keep_history=keep_history, **options)

    def astream_turn(
        self, message: str, *, session_id: str, create: bool = True, keep_history: bool = True
    ) -> AsyncStreamSession:
        """The async twin of :meth:`stream_turn` (``async with`` / ``async for``)."""
        plan, options = _prepare(self, message, session_id, create)
        return astream_call(run_turn, plan, keep_history=keep_history, **options)

    def turn(self, message: str, *, session_id: str, create: bool = True) -> str:
        """Run one user turn and return the reply (traced like a streamed turn)."""
        plan, options = _prepare(self, message, session_id, create)
        with current_or_new_run(**options):
            return run_turn(plan)

    async def aturn(self, message: str, *, session_id: str, create: bool = True) -> str:
        """The async twin of :meth:`turn`; the turn runs in a worker thread, off the event loop."""
        return await asyncio.to_thread(self.turn, message, session_id=session_id, create=create)

    def transcript(self, session_id: str) -> list[ConversationMessage]:
        """The session's transcript as stored: the messages of its finished turns, in order."""
        return _config_of(self).resolved_store().transcript(session_id)

    def choose_route(self, turn: Turn) -> str | None:
        """The route that answers ``turn``; override to decide yourself.

        Returning ``None`` from an override falls back to this default: the first ``@route`` whose
        ``match`` accepts the message, else the built-in reply (``"reply"``).
        """
        return default_choice(type(self)._framescope_routes, turn)  # type: ignore[attr-defined]


#: The members the decorator gives a plain ``Flow`` subclass (the contract's spelling).
_API: dict[str, Any] = {
    name: ConversationalFlow.__dict__[name]
    for name in ("stream_turn", "astream_turn", "turn", "aturn", "transcript", "choose_route", "state")
}


__all__ = [
    "BUILTIN_ROUTE",
    "ConversationConfig",
    "ConversationDefinitionError",
    "ConversationError",
    "ConversationInputError",
    "ConversationMessage",
    "ConversationReplay",
    "ConversationState",
    "ConversationStore",
    "ConversationStoreError",
    "ConversationalFlow",
    "ReplayedTurn",
    "RouteError",
    "Turn",
    "TurnRecord",
    "UnknownSessionError",
    "current_turn",
    "replay_conversation",
    "route",
]
