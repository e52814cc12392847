"""Flows: methods wired by ``@start``/``@listen``/``@router`` that stream as ``flow`` frames.

See docs/flows.md.  ``from framescope.flow import Flow, start`` is the seed's import.
"""

from framescope.errors import FlowDefinitionError, FlowInputError, FlowStateError, UnhandledRouteWarning
from framescope.flow.conditions import and_, or_
from framescope.flow.decorators import listen, router, start
from framescope.flow.flow import Flow
from framescope.flow.pause import PendingInput

__all__ = [
    "Flow",
    "FlowDefinitionError",
    "FlowInputError",
    "FlowStateError",
    "PendingInput",
    "UnhandledRouteWarning",
    "and_",
    "listen",
    "or_",
    "router",
    "start",
]
