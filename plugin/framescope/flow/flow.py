"""``Flow``: methods wired by ``@start``/``@listen``/``@router``, run and streamed as frames.

Every entry point runs the same engine inside a framescope run, so a plain ``kickoff()``
is traced exactly like a streamed one: ``kickoff``/``kickoff_async`` record the run
(``current_or_new_run``), ``stream_events``/``astream`` (and ``kickoff`` on ``Flow(stream=True)``)
return a session over it (``stream_call``/``astream_call``).  A run that paused for human
input returns a :class:`PendingInput`; ``resume(answer)`` (or ``resume_stream``) continues it
as a new trace linked to the paused one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

from opentelemetry.trace import Link

from framescope._sync import run_to_end
from framescope.errors import FlowStateError
from framescope.flow.graph import FlowGraph, graph_of
from framescope.flow.pause import PendingInput, ask
from framescope.flow.runner import FlowEngine, Plan, Progress
from framescope.flow.state import apply_inputs, check_inputs, initial_state, missing_state_error, state_type
from framescope.telemetry.launch import astream_call
from framescope.telemetry.pull import loop_pull_call
from framescope.telemetry.run import current_or_new_run
from framescope.telemetry.wire import LINK_RELATION
from framescope.types.streaming import AsyncStreamSession, StreamSession

StateT = TypeVar("StateT")
SessionT = TypeVar("SessionT", StreamSession, AsyncStreamSession)

RESUMES = "resumes"


class Flow(Generic[StateT]):
    """A flow of methods; subclass it and mark methods with ``@start``/``@listen``/``@router``.

    ``Flow[MyState]`` (a pydantic model) or ``initial_state = MyState`` gives a typed
    ``self.state``; otherwise the state is a dict.  ``Flow(stream=True)`` makes ``kickoff()``
    return a :class:`StreamSession`.  One instance runs one run at a time (its state is the
    run's state): use one instance per concurrent run.
    """

    _framescope_flow_base: ClassVar[bool] = True
    #: the name in frames and span names (``invoke_workflow {name}``); defaults to the class name
    name: ClassVar[str | None] = None
    #: a pydantic model class or instance, or a dict, used as the starting state
    initial_state: ClassVar[Any] = None

    def __init__(self, *, stream: bool = False) -> None:
        cls = type(self)
        self.stream = stream
        self._graph: FlowGraph = graph_of(cls)
        self._state_model = state_type(cls)
        self._state: Any = initial_state(cls)
        self._progress: Progress | None = None
        self._active = False
        self._guard = threading.Lock()

    # -- state ----------------------------------------------------------------------------
    @property
    def state(self) -> StateT:
        """The flow's state: the model instance (or dict) its methods read and update."""
        if self._state is None:
            assert self._state_model is not None
            raise missing_state_error(self._graph.flow_name, self._state_model)
        return self._state

    @property
    def pending(self) -> PendingInput | None:
        """The question a paused run waits on, or ``None``."""
        return self._progress.pending_input if self._progress is not None else None

    def ask(self, prompt: str) -> Any:
        """Ask a human: pauses the run (its result is a :class:`PendingInput`) until ``resume``.

        After ``resume(answer)`` the asking method runs again from its start and this call
        returns ``answer``; so code before ``ask`` must be safe to run twice.
        """
        return ask(self, prompt)

    # -- kickoff --------------------------------------------------------------------------
    def kickoff(self, inputs: Mapping[str, Any] | None = None) -> Any:
        """Run the flow to its end and return the last method's result.

        With ``Flow(stream=True)`` this returns a :class:`StreamSession` instead.  A run that
        paused on ``ask`` returns a :class:`PendingInput`.
        """
        if self.stream:
            return self.stream_events(inputs)
        return self._run_blocking(self._plan_kickoff(inputs), None)

    async def kickoff_async(self, inputs: Mapping[str, Any] | None = None) -> Any:
        """``kickoff`` for async code (runs on the caller's event loop)."""
        plan = self._plan_kickoff(inputs)
        return await self._run_async(plan, None)

    def stream_events(self, inputs: Mapping[str, Any] | None = None, *, keep_history: bool = True) -> StreamSession:
        """Stream this one run's frames, with or without ``stream=True`` (C5).

        ``keep_history=False``: the session keeps no frames (flat memory on endless runs).
        """
        return self._stream(self._plan_kickoff(inputs), None, keep_history)

    def astream(self, inputs: Mapping[str, Any] | None = None, *, keep_history: bool = True) -> AsyncStreamSession:
        """Stream this one run's frames to async code (C7)."""
        return self._astream(self._plan_kickoff(inputs), None, keep_history)

    # -- resume ---------------------------------------------------------------------------
    def resume(self, answer: Any, *, token: str | None = None) -> Any:
        """Continue a paused run with ``answer``; a session if the flow has ``stream=True``.

        ``token`` (the ``PendingInput.resume_token``) guards against answering a question
        other than the one the flow waits on.
        """
        if self.stream:
            return self.resume_stream(answer, token=token)
        plan, links = self._plan_resume(answer, token)
        return self._run_blocking(plan, links)

    async def resume_async(self, answer: Any, *, token: str | None = None) -> Any:
        plan, links = self._plan_resume(answer, token)
        return await self._run_async(plan, links)

    def resume_stream(self, answer: Any, *, token: str | None = None, keep_history: bool = True) -> StreamSession:
        plan, links = self._plan_resume(answer, token)
        return self._stream(plan, links, keep_history)

    def resume_astream(self, answer: Any, *, token: str | None = None, keep_history: bool = True) -> AsyncStreamSession:
        plan, links = self._plan_resume(answer, token)
        return self._astream(plan, links, keep_history)

    # -- planning (everything that can fail before a frame is emitted) ----------------------
    def _plan_kickoff(self, inputs: Mapping[str, Any] | None) -> Plan:
        graph = self._graph
        graph.require_start()
        checked = check_inputs(graph.flow_name, inputs)
        self._claim()
        try:
            self._state = apply_inputs(graph.flow_name, self._state_model, self._state, checked)
        except BaseException:
            self._release()
            raise
        self._progress = Progress(trackers=graph.new_trackers())
        return Plan(graph.start_triggers(), checked)

    def _plan_resume(self, answer: Any, token: str | None) -> tuple[Plan, list[Link] | None]:
        self._claim()
        try:
            progress = self._progress
            pending = progress.pending_input if progress is not None else None
            if progress is None or pending is None:
                raise FlowStateError(
                    f"{self._graph.flow_name} is not waiting for input, so there is nothing to resume; "
                    "resume() continues a run whose kickoff() returned a PendingInput"
                )
            if token is not None and token != pending.resume_token:
                raise FlowStateError(
                    f"{self._graph.flow_name} waits for the answer to {pending.prompt!r} "
                    f"(resume token {pending.resume_token!r}), not for token {token!r}"
                )
        except BaseException:
            self._release()
            raise
        progress.answers.setdefault(pending.method_name, []).append(answer)
        triggers = [trigger for trigger, _ in progress.paused] + progress.pending
        progress.paused, progress.pending, progress.pending_input = [], [], None
        links = None
        if progress.link_context is not None:
            links = [Link(progress.link_context, {LINK_RELATION: RESUMES})]
        return Plan(triggers, {}, resumed=pending, answer=answer), links

    def _claim(self) -> None:
        with self._guard:
            if self._active:
                raise FlowStateError(
                    f"this {self._graph.flow_name} instance is already running; a flow instance holds "
                    "one run's state, so create one instance per concurrent run"
                )
            self._active = True

    def _release(self) -> None:
        self._active = False

    # -- running --------------------------------------------------------------------------
    async def _execute(self, plan: Plan) -> Any:
        try:
            assert self._progress is not None
            return await FlowEngine(self, self._graph, self._progress).execute(plan)
        finally:
            self._release()

    def _run_blocking(self, plan: Plan, links: list[Link] | None) -> Any:
        with current_or_new_run(links=links):
            return run_to_end(self._execute(plan), thread_name="framescope-flow-kickoff")

    async def _run_async(self, plan: Plan, links: list[Link] | None) -> Any:
        with current_or_new_run(links=links):
            return await self._execute(plan)

    def _stream(self, plan: Plan, links: list[Link] | None, keep_history: bool = True) -> StreamSession:
        return self._session(loop_pull_call, plan, links, keep_history)

    def _astream(self, plan: Plan, links: list[Link] | None, keep_history: bool = True) -> AsyncStreamSession:
        return self._session(astream_call, plan, links, keep_history)

    def _session(
        self, start: Callable[..., SessionT], plan: Plan, links: list[Link] | None, keep_history: bool
    ) -> SessionT:
        """Start the run behind a session; if it cannot start, the flow is free again."""
        try:
            return start(self._execute, plan, links=links, keep_history=keep_history)
        except BaseException:
            self._release()
            raise

    def __repr__(self) -> str:
        status = "paused" if self.pending is not None else "running" if self._active else "idle"
        return f"<{type(self).__name__} {status}>"


__all__ = ["Flow"]
