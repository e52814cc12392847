"""The recorder's per-span state: an open lifecycle's span, a buffered token run, and the
SDK's event and link limits for a span.

Split from :mod:`framescope.telemetry.encode` so the encoder holds the writing logic only;
:class:`LifecycleSpan` is also what the run (:mod:`framescope.telemetry.run`) keeps for
each open lifecycle.
"""

from __future__ import annotations

import math
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import SpanLimits

from framescope.telemetry.frame_pack import FramePack

__all__ = ["LifecycleSpan", "TokenRun", "span_limits"]


class LifecycleSpan:
    """The recorder's side of an open lifecycle: its opener frame, namespace and (when recording) span.

    :class:`~framescope.telemetry.run.Lifecycle` is the handle user code holds; this is the state
    the run and the recorder keep for it.
    """

    __slots__ = (
        "opener_id",
        "namespace",
        "parent",
        "span",
        "otel_parent",
        "events",
        "max_events",
        "links",
        "max_links",
        "overflow",
        "pack",
        "ended",
    )

    def __init__(self, opener_id: str | None, namespace: list[str], parent: LifecycleSpan | None) -> None:
        self.opener_id = opener_id
        self.namespace = namespace
        self.parent = parent
        self.span: trace.Span | None = None
        self.otel_parent: LifecycleSpan | None = None
        self.events = 0
        self.max_events: float = math.inf
        self.links = 0
        self.max_links: float = math.inf
        self.overflow: list[list[Any]] | None = None
        self.pack: FramePack | None = None
        self.ended = False


class TokenRun:
    """Consecutive token frames of one span, buffered until they are written as one event."""

    __slots__ = (
        "scope",
        "type",
        "rest",
        "rest_json",
        "first",
        "chunks",
        "times_us",
        "ids",
        "first_seq",
        "first_previous",
        "next_seq",
        "last_id",
    )

    def __init__(self, scope: LifecycleSpan, type_: str, rest: dict[str, Any], rest_json: str, first: int):
        self.scope = scope
        self.type = type_
        self.rest = rest
        self.rest_json = rest_json
        self.first = first
        self.chunks: list[str] = []
        self.times_us: list[int] = []
        # Frames whose envelope is not derivable (another runtime's ids, e.g. CrewAI's) still
        # form a run when their ids chain and their seq counts up: the ids are then stored.
        self.ids: list[str] | None = None
        self.first_seq: int = first
        self.first_previous: str | None = None
        self.next_seq: int = first
        self.last_id: str | None = None


def span_limits(span: trace.Span) -> tuple[float, float]:
    """How many events and links the SDK keeps on ``span`` (infinite when it does not say).

    The SDK has no public accessor for a span's limits, and the provider's may differ from
    the environment's (``TracerProvider(span_limits=...)``), so this reads the SDK span's
    ``_limits``.  It is the only private read in framescope; it is trusted only when it is the
    public :class:`SpanLimits` type, and ``tests/test_codec.py`` checks it against a provider
    with explicit limits, so an SDK release that moves it fails a test instead of silently
    letting the SDK drop frames.
    """
    limits = getattr(span, "_limits", None)
    if not isinstance(limits, SpanLimits):
        return math.inf, math.inf
    return _limit(limits.max_events), _limit(limits.max_links)


def _limit(value: int | None) -> float:
    return math.inf if value is None else float(value)
