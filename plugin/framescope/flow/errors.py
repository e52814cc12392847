"""The errors and warnings a flow raises, each saying what to change.

They live apart from the runtime so user code can catch them without importing the engine.
"""

from __future__ import annotations


class FlowDefinitionError(TypeError):
    """The flow class itself is wrong (no ``@start``, a listener naming nothing, ...).

    Raised when the flow is instantiated or kicked off, before any frame is emitted, so a
    broken flow never produces a half-run trace.
    """


class FlowInputError(ValueError):
    """``kickoff(inputs=...)`` got inputs that do not fit the flow's state."""


class FlowStateError(RuntimeError):
    """The flow is not in a state that allows the call (already running, nothing to resume)."""


class UnhandledRouteWarning(UserWarning):
    """A router returned a label no method listens to, so that branch of the flow ends there.

    A warning and not an error: a label can be a deliberate end (``"done"``), and the run's
    ``flow_routed`` frame says ``handled: false`` either way.  Return ``None`` from the router
    to end a branch without this warning.
    """


__all__ = ["FlowDefinitionError", "FlowInputError", "FlowStateError", "UnhandledRouteWarning"]
