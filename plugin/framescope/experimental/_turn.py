"""One user turn, run inside a framescope run: the ``conversation_turn`` lifecycle.

Order of work (each store step is its own transaction, see ``_store``):

1. wait for the session (one turn per session at a time in this process);
2. mark turns left open by dead processes ``interrupted``; load the transcript;
3. number the turn and save the user message (the turn is ``open``);
4. ``conversation_turn_started``; ``conversation_transcript_loaded`` when the transcript
   came from the store rather than from this process's own previous turn; the user
   message's ``conversation_message_added``;
5. the chosen route answers (the built-in one: the LLM, streaming, from the transcript);
6. save the reply and ``finished`` together; its ``conversation_message_added``;
   ``conversation_turn_completed`` with the reply in ``result``.

A failure or a closed stream marks the turn ``failed``/``cancelled``, which keeps both
messages of that turn out of the transcript the next turn reads.
"""

from __future__ import annotations

import contextvars
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from framescope._sync import run_to_end
from framescope.errors import RouteError, StreamClosed
from framescope.experimental._models import ConversationMessage, ConversationState
from framescope.experimental._routes import BUILTIN_ROUTE, RouteSpec
from framescope.experimental._store import ConversationStore, SpanRef
from framescope.llm import REDACTED
from framescope.telemetry.config import get_telemetry_setup
from framescope.telemetry.run import current_run, emit, lifecycle

if TYPE_CHECKING:
    from framescope.llm import LLM

_current_turn: contextvars.ContextVar[Turn | None] = contextvars.ContextVar("framescope_turn", default=None)


def current_turn() -> Turn | None:
    """The turn running in this context (inside a route handler), or ``None``."""
    return _current_turn.get()


@dataclass
class Turn:
    """What a route handler gets: the user's message, the session's state and transcript.

    ``state.messages`` is the transcript with this turn's user message last; ``messages()``
    is the same as the LLM input (system prompt first, trimmed to ``max_history``).
    """

    flow: Any
    session_id: str
    number: int
    message: ConversationMessage
    state: ConversationState
    llm: LLM | None
    system_prompt: str | None
    max_history: int | None

    @property
    def text(self) -> str:
        """The user's message text."""
        return self.message.content

    @property
    def history(self) -> list[ConversationMessage]:
        """The transcript before this turn."""
        return self.state.messages[:-1]

    def messages(self) -> list[dict[str, str]]:
        """The LLM input for this turn: system prompt, then the (trimmed) transcript."""
        transcript = self.state.llm_messages()
        if self.max_history is not None:
            transcript = transcript[-(self.max_history + 1) :]  # the history window plus this message
        if self.system_prompt:
            return [{"role": "system", "content": self.system_prompt}, *transcript]
        return transcript


@dataclass
class TurnPlan:
    """Everything a turn needs, checked before its run starts."""

    flow: Any
    flow_name: str
    store: ConversationStore
    session_id: str
    text: str
    state_model: type[ConversationState]
    routes: dict[str, RouteSpec]
    choose: Callable[[Turn], str | None]
    llm: Callable[[], LLM | None]
    system_prompt: str | None
    max_history: int | None


def run_turn(plan: TurnPlan) -> str:
    """Run the turn in the current run and return the reply."""
    run = current_run()
    cancelled = threading.Event()
    remove = run.on_cancel(cancelled.set) if run is not None else (lambda: None)
    try:
        try:
            release = plan.store.acquire_session(plan.session_id, cancelled.is_set)
        except InterruptedError:
            raise StreamClosed() from None
    finally:
        remove()
    try:
        return _run_locked(plan)
    finally:
        release()


def _run_locked(plan: TurnPlan) -> str:
    store, session_id = plan.store, plan.session_id
    capture = get_telemetry_setup().capture_message_content
    interrupted = store.reap_interrupted(session_id)
    loaded = store.load(session_id)
    news = store.is_news(session_id, loaded)
    state = plan.state_model.model_validate({**loaded.state, "id": session_id, "messages": loaded.messages})
    user = store.begin_turn(session_id, plan.text)
    state.messages.append(user)
    number = user.turn
    route_name: str | None = None
    try:
        with lifecycle(
            "conversation_turn_started",
            {
                "session_id": session_id,
                "turn": number,
                "flow_name": plan.flow_name,
                "message": user.content if capture else REDACTED,
            },
            finished="conversation_turn_completed",
            failed="conversation_turn_failed",
            namespace=["conversation", plan.flow_name],
        ) as handle:
            handle.data.update(session_id=session_id, turn=number)
            span = handle.span
            if span is not None and span.get_span_context().is_valid:
                context = span.get_span_context()
                store.record_span(
                    session_id, number, SpanRef(format(context.trace_id, "032x"), format(context.span_id, "016x"))
                )
            if news or interrupted:
                emit("conversation_transcript_loaded", _loaded_data(session_id, loaded.messages, interrupted, capture))
            emit("conversation_message_added", user.frame_data(session_id, capture, REDACTED))
            turn = Turn(plan.flow, session_id, number, user, state, None, plan.system_prompt, plan.max_history)
            token = _current_turn.set(turn)  # ``self.state`` in the flow is this turn's state
            try:
                route_name = _choose(plan, turn)
                handle.data["route"] = route_name
                reply = _answer(plan, route_name, turn)
            finally:
                _current_turn.reset(token)
            extra = state.model_dump(mode="json", exclude={"id", "messages"})
            assistant = store.finish_turn(session_id, number, reply, route_name, extra)
            state.messages.append(assistant)
            emit("conversation_message_added", assistant.frame_data(session_id, capture, REDACTED))
            handle.data["message_id"] = assistant.id
            handle.data["result"] = reply if capture else REDACTED
        return reply
    except StreamClosed:
        store.end_turn(session_id, number, "cancelled", "the stream was closed by its consumer")
        raise
    except BaseException as exc:
        store.end_turn(session_id, number, "failed", f"{type(exc).__name__}: {exc}")
        raise


def _loaded_data(
    session_id: str, messages: list[ConversationMessage], interrupted: list[ConversationMessage], capture: bool
) -> dict[str, Any]:
    def brief(message: ConversationMessage) -> dict[str, Any]:
        return {
            "message_id": message.id,
            "turn": message.turn,
            "role": message.role,
            "content": message.content if capture else REDACTED,
        }

    return {
        "session_id": session_id,
        "message_count": len(messages),
        "messages": [brief(m) for m in messages],
        "interrupted": [brief(m) for m in interrupted],
    }


def _choose(plan: TurnPlan, turn: Turn) -> str:
    name = plan.choose(turn) or BUILTIN_ROUTE
    if name != BUILTIN_ROUTE and name not in plan.routes:
        known = ", ".join([BUILTIN_ROUTE, *plan.routes])
        raise RouteError(
            f"choose_route() picked the route {name!r}, which is not declared (routes: {known}); "
            "declare it with @route() or return one of these names"
        )
    return name


def _answer(plan: TurnPlan, route_name: str, turn: Turn) -> str:
    if route_name == BUILTIN_ROUTE:
        llm = plan.llm()
        if llm is None:
            raise RouteError(
                f"{plan.flow_name} has no LLM for its built-in reply; pass ConversationConfig(llm=...) "
                "or make a @route match this message"
            )
        turn.llm = llm
        # Streaming for this call only: the LLM instance (maybe shared) keeps its own setting.
        reply: Any = llm.call(turn.messages(), stream=True)
    else:
        handler = getattr(plan.flow, plan.routes[route_name].method)
        turn.llm = plan.llm()
        reply = handler(turn)
        if inspect.isawaitable(reply):
            reply = run_to_end(reply, thread_name="framescope-turn-handler")
    if not isinstance(reply, str):
        raise RouteError(
            f"route {route_name!r} of {plan.flow_name} returned {type(reply).__name__}; a route handler must "
            "return the reply text (str)"
        )
    return reply


__all__ = ["Turn", "TurnPlan", "current_turn", "run_turn"]
