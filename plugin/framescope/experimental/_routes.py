"""Route handlers: how a conversational flow answers a turn other than with its built-in reply.

A handler is a flow method marked ``@route(...)``; it takes the :class:`Turn` and returns the
reply text (sync or async).  Which route answers is decided by ``choose_route(turn)``, which a
flow may override; by default the first route (in definition order) whose ``match`` accepts
the message wins, else the built-in ``"reply"`` route (the configured LLM answers from the
transcript).  Declared on the class, so a wrong declaration fails at class creation, not at
the first user message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from framescope.errors import ConversationDefinitionError
from framescope.flow.graph import class_attributes

if TYPE_CHECKING:
    from framescope.experimental._turn import Turn

BUILTIN_ROUTE = "reply"
_MARK = "_framescope_conversation_route"

Match = str | re.Pattern[str] | Callable[["Turn"], bool] | None
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class RouteSpec:
    """A declared route: its name, the method that answers, and when it matches."""

    name: str
    method: str
    match: Callable[[Turn], bool] | None


def route(name: str | None = None, *, match: Match = None) -> Callable[[F], F]:
    """Mark a flow method as a route handler: ``def handler(self, turn: Turn) -> str``.

    ``match`` picks the route for a message: a regular expression (searched, case-insensitive,
    in the message text), or a function ``(turn) -> bool``; without it the route is only taken
    when ``choose_route`` names it.  ``name`` defaults to the method name.  A handler that
    builds its own ``LLM`` must create it with ``stream=True`` (or call it with
    ``stream=True``) for its tokens to stream: only the built-in reply turns streaming on.
    """

    def mark(method: F) -> F:
        if not callable(method):
            raise ConversationDefinitionError(f"@route() decorates a method, not {type(method).__name__}")
        setattr(method, _MARK, (name or method.__name__, _matcher(match, method.__name__)))
        return method

    return mark


def _matcher(match: Match, where: str) -> Callable[[Turn], bool] | None:
    if match is None:
        return None
    if isinstance(match, str):
        try:
            match = re.compile(match, re.IGNORECASE)
        except re.error as exc:
            raise ConversationDefinitionError(
                f"@route(match=...) on {where}: not a valid regular expression: {exc}"
            ) from None
    if isinstance(match, re.Pattern):
        pattern = match
        return lambda turn: pattern.search(turn.text) is not None
    if callable(match):
        return match
    raise ConversationDefinitionError(
        f"@route(match=...) on {where} takes a regular expression or a function (turn) -> bool, "
        f"got {type(match).__name__}"
    )


def collect_routes(cls: type) -> dict[str, RouteSpec]:
    """The routes of a flow class in definition order (subclasses may override a method)."""
    routes: dict[str, RouteSpec] = {}
    for attr, value in class_attributes(cls).items():
        mark = getattr(value, _MARK, None)
        if mark is None:
            continue
        name, match = mark
        if name == BUILTIN_ROUTE:
            raise ConversationDefinitionError(
                f"{cls.__name__}.{attr}: the route name {BUILTIN_ROUTE!r} is the built-in LLM reply; pick another name"
            )
        if name in routes:
            raise ConversationDefinitionError(
                f"{cls.__name__}: two methods declare the route {name!r} ({routes[name].method} and {attr})"
            )
        routes[name] = RouteSpec(name, attr, match)
    return routes


def default_choice(routes: dict[str, RouteSpec], turn: Turn) -> str:
    """The first route whose ``match`` accepts the turn, else the built-in reply."""
    for spec in routes.values():
        if spec.match is not None and spec.match(turn):
            return spec.name
    return BUILTIN_ROUTE


__all__ = ["BUILTIN_ROUTE", "RouteSpec", "collect_routes", "default_choice", "route"]
