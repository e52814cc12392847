"""Asking a human: ``self.ask(prompt)`` pauses the run; ``flow.resume(answer)`` continues it.

A paused run ends normally (spans OK, not errors) with a :class:`PendingInput` as its
result.  Resuming re-runs the method that asked, from its beginning: this time ``ask``
returns the answer (answers are kept per method, in asking order, so a method may ask
several questions across several pauses).  Work after the pause is not lost: methods that
were triggered while the run was pausing run when it resumes.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from framescope.errors import PauseRequested


class PendingInput(BaseModel):
    """The result of a run that paused for human input; pass the answer to ``flow.resume``."""

    model_config = ConfigDict(frozen=True)

    flow_name: str
    method_name: str
    prompt: str
    resume_token: str


@dataclass
class MethodCall:
    """The method now running in this context, and how many questions it asked so far."""

    flow: Any
    method_name: str
    answers: list[Any] = field(default_factory=list)
    asked: int = 0


current_call: contextvars.ContextVar[MethodCall | None] = contextvars.ContextVar("framescope_flow_method", default=None)


def ask(flow: Any, prompt: str) -> Any:
    """The answer to ``prompt`` if the run was resumed with one, else pause the run."""
    if not isinstance(prompt, str) or not prompt:
        raise TypeError(f"ask() takes the question as a non-empty str, got {prompt!r}")
    call = current_call.get()
    if call is None or call.flow is not flow:
        raise RuntimeError(
            "ask() pauses the running flow, so it can only be called from one of its methods while it runs"
        )
    index = call.asked
    call.asked += 1
    if index < len(call.answers):
        return call.answers[index]
    raise PauseRequested(call.method_name, prompt)


__all__ = ["PendingInput", "ask"]
