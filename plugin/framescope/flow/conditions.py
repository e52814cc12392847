"""Listener conditions: a method name, a router label, or ``or_``/``and_`` of them.

A condition is data (so the graph can validate every name before a run) plus a small
stateful tracker per run (so ``and_`` remembers which of its parts already happened).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class MethodRef:
    """A method given as the function itself: matches that method's end, never a router label."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Condition:
    """``or_``: any part happened; ``and_``: every part happened (since it last fired)."""

    kind: Literal["or", "and"]
    parts: tuple[Part, ...]

    def names(self) -> set[str]:
        """Every method name or label the condition mentions."""
        found: set[str] = set()
        for part in self.parts:
            found.update(names_of(part))
        return found

    def __str__(self) -> str:
        return f"{self.kind}_({', '.join(repr(p) if isinstance(p, str) else str(p) for p in self.parts)})"


#: a string names a method *or* a router label; a MethodRef only a method
Part = str | MethodRef | Condition


def leaves(part: Part) -> list[str | MethodRef]:
    """The names and method references of a condition, nested conditions flattened."""
    if isinstance(part, Condition):
        return [leaf for sub in part.parts for leaf in leaves(sub)]
    return [part]


def names_of(part: Part) -> set[str]:
    if isinstance(part, Condition):
        return part.names()
    return {part.name if isinstance(part, MethodRef) else part}


def to_condition_part(value: Any, where: str) -> Part:
    """A method (the function object), a name or a label, or a nested condition."""
    if isinstance(value, Condition):
        return value
    if isinstance(value, str):
        if not value:
            raise TypeError(f"{where}: a condition name must be a non-empty string")
        return value
    if callable(value) and isinstance(getattr(value, "__name__", None), str):
        return MethodRef(value.__name__)
    raise TypeError(
        f"{where}: expected a flow method, a method name or router label (str), or or_()/and_(); "
        f"got {type(value).__name__}"
    )


def or_(*conditions: Any) -> Condition:
    """Fire when any of ``conditions`` happens (once per happening)."""
    if not conditions:
        raise TypeError("or_() needs at least one method, name or condition")
    return Condition("or", tuple(to_condition_part(c, "or_()") for c in conditions))


def and_(*conditions: Any) -> Condition:
    """Fire once every one of ``conditions`` has happened; then start counting again."""
    if not conditions:
        raise TypeError("and_() needs at least one method, name or condition")
    return Condition("and", tuple(to_condition_part(c, "and_()") for c in conditions))


class ConditionTracker:
    """One listener's condition during a run: ``feed(name)`` says whether it fires now."""

    __slots__ = ("_condition", "_seen")

    def __init__(self, condition: Part) -> None:
        self._condition = condition
        self._seen: dict[int, set[int]] = {}  # and_ node -> indexes of parts already satisfied

    def feed(self, name: str, *, is_label: bool) -> bool:
        """Whether the condition fires now that method ``name`` ended (or label ``name`` was routed)."""
        return self._fires(self._condition, name, is_label)

    def _fires(self, node: Part, name: str, is_label: bool) -> bool:
        if isinstance(node, str):
            return node == name
        if isinstance(node, MethodRef):
            return not is_label and node.name == name
        if node.kind == "or":
            # evaluate every part so nested and_ trackers record this happening too
            results = [self._fires(part, name, is_label) for part in node.parts]
            return any(results)
        seen = self._seen.setdefault(id(node), set())
        for index, part in enumerate(node.parts):
            if self._fires(part, name, is_label):
                seen.add(index)
        if len(seen) == len(node.parts):
            seen.clear()
            return True
        return False


__all__ = ["Condition", "ConditionTracker", "MethodRef", "Part", "and_", "leaves", "names_of", "or_"]
