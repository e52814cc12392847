"""Typed user events: subclass :class:`CustomEvent`, then ``MyEvent(...).emit()``.

A custom event is a pydantic model whose fields are the frame's ``data`` and whose class
attribute ``type`` is the frame's ``type`` (by default the class name in snake case:
``ProgressUpdated`` -> ``"progress_updated"``).  It goes through the one emit path, so it is
numbered, nested under the running method or tool, traced and replayed like any other frame;
its type is not in the routing table, so it lands on the ``custom`` channel.  A consumer gets
the typed event back with ``ProgressUpdated.from_frame(frame)``.

The type may not be one of the built-in event types: a user event that says
``flow_finished`` would be taken for the real one.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

from framescope.telemetry.run import emit
from framescope.types.routing import routing_table
from framescope.types.streaming import StreamFrame

_TYPE_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]*$")


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


class CustomEvent(BaseModel):
    """Base class of user events; its fields are the payload, ``type`` names the event.

    >>> class ProgressUpdated(CustomEvent):
    ...     percent: int
    >>> ProgressUpdated(percent=40).emit()  # doctest: +SKIP
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ClassVar[str] = ""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        event_type = cls.__dict__.get("type") or _snake(cls.__name__)
        if not isinstance(event_type, str) or not _TYPE_PATTERN.match(event_type):
            raise TypeError(
                f"{cls.__name__}.type must be a name such as 'progress_updated' (letters, digits, "
                f"'_', '.', ':' or '-', starting with a letter), got {event_type!r}"
            )
        builtin = routing_table().get(event_type)
        if builtin is not None:
            raise TypeError(
                f"{cls.__name__}.type {event_type!r} is a built-in event type of the {builtin!r} channel; "
                "consumers would take your event for the runtime's own. Pick another name, e.g. "
                f"'app.{event_type}'"
            )
        cls.type = event_type

    def emit(self) -> StreamFrame:
        """Emit this event in the current run (outside any run it becomes a run of its own)."""
        if not type(self).type:
            raise TypeError("CustomEvent itself has no type; subclass it and emit the subclass")
        return emit(self.type, self.model_dump(mode="json"))

    @classmethod
    def matches(cls, frame: StreamFrame) -> bool:
        """Whether ``frame`` carries an event of this class."""
        return frame.type == cls.type

    @classmethod
    def from_frame(cls, frame: StreamFrame) -> Self:
        """The typed event a frame carries (live or replayed)."""
        if frame.type != cls.type:
            raise ValueError(f"frame {frame.id} is a {frame.type!r} event, not a {cls.type!r} ({cls.__name__})")
        return cls.model_validate(frame.data)


def emit_event(event: CustomEvent) -> StreamFrame:
    """Function form of :meth:`CustomEvent.emit`."""
    if not isinstance(event, CustomEvent):
        raise TypeError(
            f"emit_event() takes a CustomEvent, got {type(event).__name__}; "
            "for an untyped event call framescope.emit(type, data)"
        )
    return event.emit()


__all__ = ["CustomEvent", "emit_event"]
