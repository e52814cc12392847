"""``@start``, ``@listen`` and ``@router``: they only *mark* methods.

The marks are read when the flow class is first used (``graph.py``), so decorators can be
stacked in any order and a typo in a condition is reported with the class and method names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from framescope.flow.conditions import Condition, Part, or_, to_condition_part

F = TypeVar("F", bound=Callable[..., Any])

MARKS_ATTRIBUTE = "__framescope_flow_marks__"
BARE_ATTRIBUTE = "__framescope_flow_bare_decorator__"


@dataclass(frozen=True)
class Marks:
    """What the decorators said about one method."""

    is_start: bool = False
    is_router: bool = False
    condition: Part | None = None


def marks_of(fn: Any) -> Marks | None:
    return getattr(fn, MARKS_ATTRIBUTE, None)


def _merge(
    fn: Callable[..., Any], *, is_start: bool = False, is_router: bool = False, condition: Part | None = None
) -> None:
    old = marks_of(fn) or Marks()
    merged = old.condition
    if condition is not None:
        merged = condition if merged is None else or_(merged, condition)
    setattr(
        fn,
        MARKS_ATTRIBUTE,
        replace(old, is_start=old.is_start or is_start, is_router=old.is_router or is_router, condition=merged),
    )


def _decorator(name: str, condition: Any, *, is_start: bool = False, is_router: bool = False) -> Callable[[F], F]:
    part = None if condition is None else to_condition_part(condition, f"@{name}()")

    def decorate(fn: F) -> F:
        if not callable(fn):
            raise TypeError(f"@{name}() decorates a flow method, got {type(fn).__name__}")
        _merge(fn, is_start=is_start, is_router=is_router, condition=part)
        return fn

    setattr(decorate, BARE_ATTRIBUTE, name)
    return decorate


def start(condition: Any = None) -> Any:
    """Mark an entry method: it runs when the flow is kicked off.

    ``@start("retry")`` (or any condition) also runs it again whenever the condition fires,
    which is how a router loops back to the beginning.  A bare ``@start`` works too.
    """
    if callable(condition) and not isinstance(condition, Condition) and marks_of(condition) is None:
        _merge(condition, is_start=True)  # bare @start on an unmarked method
        return condition
    return _decorator("start", condition, is_start=True)


def listen(condition: Any) -> Callable[[F], F]:
    """Run the method when ``condition`` happens: a method (or its name), a router label,
    or ``or_(...)``/``and_(...)``.  If the method takes an argument, it receives the result
    of the method that triggered it (a router's label for a label)."""
    return _decorator("listen", condition)


def router(condition: Any = None) -> Callable[[F], F]:
    """Like ``@listen``, and the returned label (a ``str``) triggers ``@listen("label")``.

    Return ``None`` to route nowhere.  Annotate the return as ``Literal["a", "b"]`` to let
    the flow check, before running, that ``@listen("a")`` names a real label.
    """
    return _decorator("router", condition, is_router=True)


__all__ = ["Marks", "listen", "marks_of", "router", "start"]
