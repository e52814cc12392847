"""The method graph of a flow class: who starts, who listens to what, checked up front.

Built once per class (``graph_of``) from the decorators' marks.  Every name a condition
mentions must be a flow method or a label a router declares (``Literal[...]`` return
annotation), unless some router keeps its labels undeclared; a mistake is a
:class:`FlowDefinitionError` naming the class, the method and the closest valid names.
"""

from __future__ import annotations

import difflib
import inspect
import typing
from dataclasses import dataclass
from typing import Any, Literal

from framescope.errors import FlowDefinitionError
from framescope.flow.conditions import ConditionTracker, MethodRef, Part, leaves
from framescope.flow.decorators import BARE_ATTRIBUTE, marks_of


@dataclass(frozen=True)
class MethodSpec:
    """One flow method as the engine runs it."""

    name: str
    is_start: bool
    is_router: bool
    condition: Part | None
    is_async: bool
    takes_value: bool
    labels: frozenset[str] | None  # a router's declared labels, when annotated


@dataclass(frozen=True)
class Trigger:
    """A method to run, and what triggered it (a method name or a router label)."""

    method: str
    source: str | None = None
    value: Any = None


class FlowGraph:
    """The validated methods of one flow class, in definition order."""

    def __init__(self, flow_name: str, methods: dict[str, MethodSpec]) -> None:
        self.flow_name = flow_name
        self.methods = methods
        self.starts = [m.name for m in methods.values() if m.is_start]
        self._listeners = [m for m in methods.values() if m.condition is not None]

    def require_start(self) -> None:
        if not self.starts:
            raise FlowDefinitionError(
                f"{self.flow_name} has no @start() method, so kickoff() would run nothing; "
                "mark the entry method(s) with @start()"
            )

    def start_triggers(self) -> list[Trigger]:
        return [Trigger(name) for name in self.starts]

    def new_trackers(self) -> dict[str, ConditionTracker]:
        return {m.name: ConditionTracker(m.condition) for m in self._listeners if m.condition is not None}

    def method_finished(self, method: str, result: Any, trackers: dict[str, ConditionTracker]) -> list[Trigger]:
        """The methods whose condition fires now that ``method`` ended.

        A method never triggers itself, so it may share its name with the router label it
        listens to (``@listen("retry") def retry``).
        """
        return [
            Trigger(m.name, method, result)
            for m in self._listeners
            if m.name != method and trackers[m.name].feed(method, is_label=False)
        ]

    def label_routed(self, label: str, trackers: dict[str, ConditionTracker]) -> list[Trigger]:
        """The methods whose condition fires now that a router returned ``label``."""
        return [Trigger(m.name, label, label) for m in self._listeners if trackers[m.name].feed(label, is_label=True)]

    def listeners_of(self, label: str) -> list[str]:
        """Methods whose condition mentions ``label`` at all (for ``flow_routed``)."""
        return [m.name for m in self._listeners if m.condition is not None and label in leaves(m.condition)]


def graph_of(cls: type) -> FlowGraph:
    """The (cached) graph of a flow class; raises :class:`FlowDefinitionError` if it is wrong."""
    graph = cls.__dict__.get("_framescope_graph")
    if graph is None:
        graph = _build(cls)
        cls._framescope_graph = graph  # type: ignore[attr-defined]
    return graph


def class_attributes(cls: type) -> dict[str, Any]:
    """Every attribute of ``cls`` and its bases, in definition order, subclasses overriding bases."""
    attributes: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        attributes.update(klass.__dict__)
    return attributes


def _build(cls: type) -> FlowGraph:
    flow_name = getattr(cls, "name", None) or cls.__name__
    attributes = class_attributes(cls)
    methods: dict[str, MethodSpec] = {}
    for name, value in attributes.items():
        bare = getattr(value, BARE_ATTRIBUTE, None)
        if bare is not None:
            raise FlowDefinitionError(
                f"{flow_name}.{name}: @{bare} was used without its argument; write "
                f'@{bare}(other_method) or @{bare}("label")' + (" or @start()" if bare == "start" else "")
            )
        marks = marks_of(value)
        if marks is None or not callable(value):
            continue
        if marks.is_router and marks.condition is None and not marks.is_start:
            raise FlowDefinitionError(
                f"{flow_name}.{name}: @router() needs what it reacts to, e.g. @router({_example(attributes)})"
            )
        methods[name] = MethodSpec(
            name=name,
            is_start=marks.is_start,
            is_router=marks.is_router,
            condition=marks.condition,
            is_async=inspect.iscoroutinefunction(value),
            takes_value=_takes_value(value),
            labels=_declared_labels(value) if marks.is_router else None,
        )
    _checknames_of(flow_name, methods)
    return FlowGraph(flow_name, methods)


def _example(attributes: dict[str, Any]) -> str:
    for name, value in attributes.items():
        if marks_of(value) is not None:
            return name
    return "a_method"


def _takes_value(fn: Any) -> bool:
    """Whether the method accepts the triggering result (a parameter besides ``self``)."""
    try:
        parameters = list(inspect.signature(fn).parameters.values())[1:]
    except (TypeError, ValueError):
        return False
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in parameters)


def _declared_labels(fn: Any) -> frozenset[str] | None:
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable annotations: labels stay undeclared
        return None
    annotation = hints.get("return")
    labels: set[str] = set()
    for option in _options(annotation):
        if typing.get_origin(option) is Literal:
            labels.update(a for a in typing.get_args(option) if isinstance(a, str))
        elif option is not type(None):
            return None
    return frozenset(labels) if labels else None


def _options(annotation: Any) -> list[Any]:
    if annotation is None:
        return []
    origin = typing.get_origin(annotation)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return list(typing.get_args(annotation))
    return [annotation]


def _checknames_of(flow_name: str, methods: dict[str, MethodSpec]) -> None:
    routers = [m for m in methods.values() if m.is_router]
    declared = {label for m in routers for label in (m.labels or ())}
    open_routers = [m.name for m in routers if m.labels is None]
    known = set(methods) | declared
    for method in methods.values():
        if method.condition is None:
            continue
        for leaf in leaves(method.condition):
            is_ref = isinstance(leaf, MethodRef)
            name = leaf.name if isinstance(leaf, MethodRef) else leaf
            if name in methods or (not is_ref and (name in declared or open_routers)):
                continue
            close = difflib.get_close_matches(name, sorted(known), n=3)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise FlowDefinitionError(
                f"{flow_name}.{method.name} listens to {name!r}, which is no method of {flow_name} "
                f"decorated with @start/@listen/@router, nor a label one of its routers declares.{hint} "
                "Listen to a flow method (or its name), or return the label from a @router."
            )


__all__ = ["FlowGraph", "MethodSpec", "Trigger", "graph_of"]
