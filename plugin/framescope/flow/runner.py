"""Running a flow's methods: one lifecycle (span) per method, listeners fired as methods end.

The engine is async: async methods run on the run's event loop, sync methods in worker
threads of a shared pool (with a copy of the context, so their frames stay in the run).  Methods
triggered together run concurrently; every frame still gets a contiguous ``seq`` because the
emit path numbers frames under the run's lock.  When a method fails or the stream is
closed, no new method starts, the running ones finish (a closed stream stops them at their
next emit point), and the first error is raised as it was.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import functools
import inspect
import secrets
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import SpanContext

from framescope._metered import metered
from framescope.errors import UnhandledRouteWarning
from framescope.flow.conditions import ConditionTracker
from framescope.flow.graph import FlowGraph, Trigger
from framescope.flow.pause import MethodCall, PauseRequested, PendingInput, current_call
from framescope.telemetry.config import get_telemetry_setup
from framescope.telemetry.run import emit, lifecycle

if TYPE_CHECKING:
    from framescope.flow.flow import Flow


#: Worker threads for sync methods, shared by all runs.  A run's own event loop would create
#: (and join) a fresh default executor each time, which costs ~0.75 ms per kickoff.  The pool
#: grows on demand (a new thread only when none is idle) up to a bound no real program
#: reaches, so runs whose methods wait on slow consumers never starve each other; idle
#: workers run nothing of a finished or closed run.
METHOD_POOL = ThreadPoolExecutor(max_workers=1024, thread_name_prefix="framescope-flow-method")


@dataclass
class Progress:
    """What a flow instance remembers between a pause and its resume."""

    trackers: dict[str, ConditionTracker]
    answers: dict[str, list[Any]] = field(default_factory=dict)
    last_result: Any = None
    paused: list[tuple[Trigger, PauseRequested]] = field(default_factory=list)
    pending: list[Trigger] = field(default_factory=list)
    pending_input: PendingInput | None = None
    link_context: SpanContext | None = None


@dataclass
class Plan:
    """One run to execute: what to start with and what the flow_started frame says."""

    triggers: list[Trigger]
    inputs: dict[str, Any]
    resumed: PendingInput | None = None
    answer: Any = None


@dataclass
class _Outcome:
    trigger: Trigger
    result: Any = None
    label: str | None = None
    pause: PauseRequested | None = None


class FlowEngine:
    """Executes one run of a flow instance."""

    def __init__(self, flow: Flow[Any], graph: FlowGraph, progress: Progress) -> None:
        self.flow = flow
        self.graph = graph
        self.progress = progress
        self.name = graph.flow_name
        self.failure: BaseException | None = None

    async def execute(self, plan: Plan) -> Any:
        """The whole run as the ``flow_started`` lifecycle; returns the result or a PendingInput."""
        name = self.name
        started: dict[str, Any] = {"flow_name": name, "inputs": plan.inputs}
        if plan.resumed is not None:
            started["resumed"] = True
        with (
            _workflow_metered(name),
            lifecycle(
                "flow_started", started, finished="flow_finished", failed="flow_failed", namespace=["flow", name]
            ) as handle,
        ):
            handle.data["flow_name"] = name
            if plan.resumed is not None:
                emit("flow_resumed", {**plan.resumed.model_dump(), "answer": plan.answer})
            result = await self._drive(plan.triggers)
            if isinstance(result, PendingInput):
                self.progress.link_context = handle.span.get_span_context() if handle.span is not None else None
                handle.data.update(result.model_dump())
                handle.close_as("flow_paused")
            handle.data["result"] = result
        return result

    async def _drive(self, triggers: list[Trigger]) -> Any:
        progress = self.progress
        running: dict[asyncio.Task[_Outcome], int] = {}
        counter = 0

        def spawn(trigger: Trigger) -> None:
            nonlocal counter
            if self.failure is not None or progress.paused:
                progress.pending.append(trigger)
                return
            running[asyncio.ensure_future(self._run_method(trigger))] = counter
            counter += 1

        for trigger in triggers:
            spawn(trigger)
        try:
            await self._settle(running, spawn)
        finally:
            if running:  # the run itself was cancelled (e.g. kickoff_async's task): no orphans
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)
        if self.failure is not None:
            raise self.failure
        if progress.paused:
            first = progress.paused[0][1]
            progress.pending_input = PendingInput(
                flow_name=self.name,
                method_name=first.method_name,
                prompt=first.prompt,
                resume_token=secrets.token_hex(8),
            )
            return progress.pending_input
        return progress.last_result

    async def _settle(self, running: dict[asyncio.Task[_Outcome], int], spawn: Callable[[Trigger], None]) -> None:
        """Wait for running methods; each one that ends fires its listeners (in start order)."""
        progress = self.progress
        while running:
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=running.__getitem__):
                del running[task]
                error = asyncio.CancelledError() if task.cancelled() else task.exception()
                if error is not None:
                    self.failure = self.failure or error
                    continue
                outcome = task.result()
                if outcome.pause is not None:
                    progress.paused.append((outcome.trigger, outcome.pause))
                    continue
                progress.last_result = outcome.result
                method = outcome.trigger.method
                for next_trigger in self.graph.method_finished(method, outcome.result, progress.trackers):
                    spawn(next_trigger)
                if outcome.label is not None:
                    for next_trigger in self.graph.label_routed(outcome.label, progress.trackers):
                        spawn(next_trigger)

    def _routed(self, router: str, label: str) -> None:
        listeners = self.graph.listeners_of(label)
        emit(
            "flow_routed",
            {
                "flow_name": self.name,
                "method_name": router,
                "label": label,
                "listeners": listeners,
                "handled": bool(listeners),
            },
        )
        if not listeners:
            warnings.warn(
                f"{self.name}.{router} routed to {label!r}, but no method listens to it, so that branch "
                f"ends here; add @listen({label!r}) or return None from the router to end on purpose",
                UnhandledRouteWarning,
                stacklevel=2,
            )

    async def _run_method(self, trigger: Trigger) -> _Outcome:
        spec = self.graph.methods[trigger.method]
        data: dict[str, Any] = {"flow_name": self.name, "method_name": spec.name}
        if trigger.source is not None:
            data["trigger"] = trigger.source
        bound = getattr(self.flow, spec.name)
        args = (trigger.value,) if spec.takes_value and trigger.source is not None else ()
        call = MethodCall(self.flow, spec.name, list(self.progress.answers.get(spec.name, ())))
        with lifecycle(
            "method_execution_started",
            data,
            finished="method_execution_finished",
            failed="method_execution_failed",
            namespace=["flow", self.name, spec.name],
        ) as handle:
            handle.data.update(flow_name=self.name, method_name=spec.name)
            token = current_call.set(call)
            try:
                if spec.is_async:
                    result = await bound(*args)
                else:
                    context = contextvars.copy_context()  # frames of the method stay in this run
                    result = await asyncio.get_running_loop().run_in_executor(
                        METHOD_POOL, context.run, functools.partial(bound, *args)
                    )
                    if inspect.isawaitable(result):
                        result = await result
            except PauseRequested as pause:
                handle.data["prompt"] = pause.prompt
                handle.close_as("method_execution_paused")
                return _Outcome(trigger, pause=pause)
            finally:
                current_call.reset(token)
            label = _label(self.name, spec.name, result) if spec.is_router else None
            handle.data["result"] = result
            if label is not None:
                self._routed(spec.name, label)
        self.progress.answers.pop(spec.name, None)
        return _Outcome(trigger, result, label)


def _label(flow_name: str, router: str, result: Any) -> str | None:
    if isinstance(result, enum.Enum):
        result = result.value
    if result is None or isinstance(result, str):
        return result
    raise TypeError(
        f'{flow_name}.{router} is a @router, so it must return a label (str) that @listen("label") '
        f"methods react to, or None to route nowhere; it returned {type(result).__name__}"
    )


__all__ = ["FlowEngine", "Plan", "Progress"]


def _workflow_metered(name: str) -> AbstractContextManager[None]:
    """Record the run in ``gen_ai.workflow.duration`` (with ``error.type`` when it fails)."""
    started = time.perf_counter()

    def report(error_type: str | None) -> None:
        metrics = get_telemetry_setup().metrics
        if metrics is not None:
            metrics.workflow_run(workflow_name=name, duration_s=time.perf_counter() - started, error_type=error_type)

    return metered(report)
