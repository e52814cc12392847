"""A run's frames as AG-UI events, built with ``ag-ui-protocol``'s models.

The mapping (docs/serve.md has the table): LLM text becomes ``TEXT_MESSAGE_*``, reasoning
``REASONING_*``, tool calls ``TOOL_CALL_*`` (streamed argument deltas as ``ARGS``, the tool's
output as ``RESULT``), flow methods ``STEP_*``, custom frames ``CUSTOM``, a frame carrying a
``state`` object a ``STATE_SNAPSHOT``, and the run's end ``RUN_FINISHED`` or ``RUN_ERROR``.

Lossless: the first AG-UI event made from a frame carries the whole frame (as ``framescope
replay --format jsonl`` prints it) in ``rawEvent``, and a frame AG-UI has no event for goes
out as a ``RAW`` event.  So the frames can be rebuilt, in order, from the AG-UI stream alone,
which is what a bridge that knows AG-UI but not framescope needs (AG-UI bridges for other
runtimes have to guess what their frames lost).
"""

from __future__ import annotations

import json
from typing import Any

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    Interrupt,
    RawEvent,
    ReasoningEndEvent,
    ReasoningMessageContentEvent,
    ReasoningMessageEndEvent,
    ReasoningMessageStartEvent,
    ReasoningStartEvent,
    RunErrorEvent,
    RunFinishedCancelledOutcome,
    RunFinishedEvent,
    RunFinishedInterruptOutcome,
    RunStartedEvent,
    StateSnapshotEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)
from ag_ui.encoder import EventEncoder

from framescope.serve.runs import frame_json
from framescope.types.streaming import StreamFrame

__all__ = ["AguiMapper", "encode_event"]

_ENCODER = EventEncoder()
_STEP_ENDS = ("method_execution_finished", "method_execution_failed")


def encode_event(event: BaseEvent) -> bytes:
    """One AG-UI event as SSE, by ag-ui-protocol's own encoder."""
    return _ENCODER.encode(event).encode()


def _millis(frame: StreamFrame) -> int:
    return int(frame.timestamp.timestamp() * 1000)


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


class AguiMapper:
    """Turns one run's frames, in order, into AG-UI events (stateful: open messages and calls)."""

    def __init__(self, *, run_id: str, thread_id: str, trace_id: str | None, traceparent: str | None) -> None:
        self.run_id = run_id
        self.thread_id = thread_id
        self.trace_id = trace_id
        self.traceparent = traceparent
        self._text: dict[str | None, str] = {}  # llm call frame id -> open text message id
        self._last_text: dict[str | None, str] = {}  # llm call frame id -> its latest text message id
        self._reasoning: dict[str | None, str] = {}
        self._counter = 0
        self._streamed: dict[tuple[str | None, Any], str] = {}  # (llm call, index) -> tool call id
        self._open_calls: dict[str, str | None] = {}  # tool call id -> llm call frame id, args not ended
        self._tool_frames: dict[str, str] = {}  # tool_usage_started frame id -> tool call id
        self._top_level: set[str] = set()  # ids of frames that open the run
        self._paused: dict[str, Any] | None = None  # the data of the run's flow_paused frame

    # -- the run ----------------------------------------------------------------------
    def start(self) -> list[BaseEvent]:
        metadata: dict[str, Any] = {"framescope.run_id": self.run_id}
        if self.trace_id:
            metadata["traceId"] = self.trace_id
        if self.traceparent:
            metadata["traceparent"] = self.traceparent
        return [RunStartedEvent(thread_id=self.thread_id, run_id=self.run_id, metadata=metadata)]

    def finish(
        self, *, result: Any = None, error: tuple[str, str] | None = None, cancelled: bool = False
    ) -> list[BaseEvent]:
        events = self._close_text(None) + self._close_reasoning(None) + self._end_calls(None)
        if error is not None:
            events.append(RunErrorEvent(message=error[1], code=error[0]))
        elif self._paused is not None and not cancelled:  # the flow asked a human: an interrupt
            paused = self._paused
            interrupt = Interrupt(
                id=str(paused.get("resume_token") or self.run_id),
                reason="human_input",
                message=str(paused.get("prompt", "")),
            )
            events.append(
                RunFinishedEvent(
                    thread_id=self.thread_id,
                    run_id=self.run_id,
                    outcome=RunFinishedInterruptOutcome(interrupts=[interrupt]),
                )
            )
        elif cancelled:
            events.append(
                RunFinishedEvent(thread_id=self.thread_id, run_id=self.run_id, outcome=RunFinishedCancelledOutcome())
            )
        else:
            events.append(RunFinishedEvent(thread_id=self.thread_id, run_id=self.run_id, result=result))
        return events

    # -- frames -----------------------------------------------------------------------
    def frame(self, frame: StreamFrame) -> list[BaseEvent]:
        """The events for one frame; the first one that stands for the frame carries it whole."""
        raw = json.loads(frame_json(frame))
        kind = frame.type
        if frame.parent_id is None:
            self._top_level.add(frame.id)
        elif kind == "flow_paused" and frame.parent_id in self._top_level:
            self._paused = frame.data
        events: list[BaseEvent] = []
        if kind != "llm_stream_chunk":
            events += self._close_text(None)
        if kind != "llm_thinking_chunk":
            events += self._close_reasoning(None)
        own = self._map(frame, raw)
        if own:
            own[0].raw_event = raw
        else:
            own = [RawEvent(event=raw, source="framescope")]
        state = frame.data.get("state")
        if isinstance(state, dict):
            own.append(StateSnapshotEvent(snapshot=state))
        stamp = _millis(frame)
        for event in own:
            event.timestamp = stamp
        return events + own

    def _map(self, frame: StreamFrame, raw: dict[str, Any]) -> list[BaseEvent]:
        """AG-UI events standing for ``frame``; empty when AG-UI has none (it then goes out as RAW)."""
        kind, data, call = frame.type, frame.data, frame.parent_id
        if kind == "llm_stream_chunk":
            return self._text_chunk(call, str(data.get("chunk", "")))
        if kind == "llm_thinking_chunk":
            return self._thinking_chunk(call, str(data.get("chunk", "")))
        if kind == "llm_tool_call_delta":
            return self._tool_delta(frame)
        if kind in ("llm_call_completed", "llm_call_failed"):
            return self._end_calls(call)
        if kind == "tool_usage_started":
            return self._tool_started(frame)
        if kind in ("tool_usage_finished", "tool_usage_error"):
            return self._tool_result(frame)
        if kind == "method_execution_started":
            return [StepStartedEvent(step_name=str(data.get("method_name", frame.namespace[-1])))]
        if kind in _STEP_ENDS:
            return [StepFinishedEvent(step_name=str(data.get("method_name", frame.namespace[-1])))]
        if frame.channel == "custom":
            return [CustomEvent(name=kind, value=raw["data"])]
        return []

    def _new_id(self, base: str | None, what: str) -> str:
        self._counter += 1
        return f"{base or self.run_id}.{what}{self._counter}"

    def _text_chunk(self, call: str | None, chunk: str) -> list[BaseEvent]:
        events: list[BaseEvent] = []
        message_id = self._text.get(call)
        if message_id is None:
            message_id = self._text[call] = self._last_text[call] = self._new_id(call, "text")
            events.append(TextMessageStartEvent(message_id=message_id, role="assistant"))
        events.append(TextMessageContentEvent(message_id=message_id, delta=chunk))
        return events

    def _thinking_chunk(self, call: str | None, chunk: str) -> list[BaseEvent]:
        events: list[BaseEvent] = []
        message_id = self._reasoning.get(call)
        if message_id is None:
            message_id = self._reasoning[call] = self._new_id(call, "reasoning")
            events += [ReasoningStartEvent(message_id=message_id), ReasoningMessageStartEvent(message_id=message_id)]
        events.append(ReasoningMessageContentEvent(message_id=message_id, delta=chunk))
        return events

    def _close_text(self, call: str | None) -> list[BaseEvent]:
        keys = list(self._text) if call is None else [call]
        return [TextMessageEndEvent(message_id=self._text.pop(key)) for key in keys if key in self._text]

    def _close_reasoning(self, call: str | None) -> list[BaseEvent]:
        events: list[BaseEvent] = []
        for key in list(self._reasoning) if call is None else [call]:
            if key in self._reasoning:
                message_id = self._reasoning.pop(key)
                events += [ReasoningMessageEndEvent(message_id=message_id), ReasoningEndEvent(message_id=message_id)]
        return events

    def _tool_delta(self, frame: StreamFrame) -> list[BaseEvent]:
        data, call = frame.data, frame.parent_id
        key = (call, data.get("index", 0))
        fragment = str(data.get("arguments_fragment") or "")
        tool_call_id = self._streamed.get(key)
        events: list[BaseEvent] = []
        if tool_call_id is None or tool_call_id not in self._open_calls:
            tool_call_id = str(data.get("id") or frame.id)
            self._streamed[key] = tool_call_id
            self._open_calls[tool_call_id] = call
            events.append(
                ToolCallStartEvent(
                    tool_call_id=tool_call_id,
                    tool_call_name=str(data.get("name") or ""),
                    parent_message_id=self._last_text.get(call),
                )
            )
            if not fragment:
                return events
        events.append(ToolCallArgsEvent(tool_call_id=tool_call_id, delta=fragment))
        return events

    def _end_calls(self, call: str | None) -> list[BaseEvent]:
        """End the argument streams of ``call``'s tool calls (all calls when ``call`` is None)."""
        ended = [tid for tid, owner in self._open_calls.items() if call is None or owner == call]
        for tool_call_id in ended:
            del self._open_calls[tool_call_id]
        return [ToolCallEndEvent(tool_call_id=tool_call_id) for tool_call_id in ended]

    def _tool_started(self, frame: StreamFrame) -> list[BaseEvent]:
        data = frame.data
        tool_call_id = str(data.get("tool_call_id") or frame.id)
        self._tool_frames[frame.id] = tool_call_id
        if tool_call_id in self._open_calls:  # its arguments were streamed by the LLM
            del self._open_calls[tool_call_id]
            return [ToolCallEndEvent(tool_call_id=tool_call_id)]
        if tool_call_id in self._streamed.values():
            return []  # streamed and already ended: the frame goes out as RAW
        return [
            ToolCallStartEvent(tool_call_id=tool_call_id, tool_call_name=str(data.get("tool_name", ""))),
            ToolCallArgsEvent(tool_call_id=tool_call_id, delta=_as_text(data.get("arguments", {}))),
            ToolCallEndEvent(tool_call_id=tool_call_id),
        ]

    def _tool_result(self, frame: StreamFrame) -> list[BaseEvent]:
        data = frame.data
        tool_call_id = str(data.get("tool_call_id") or self._tool_frames.get(frame.parent_id or "", frame.id))
        if frame.type == "tool_usage_error":
            content = f"error: {data.get('error_type', 'Error')}: {data.get('error', '')}"
        else:
            content = _as_text(data.get("output", data.get("result")))
        return [ToolCallResultEvent(message_id=frame.id, tool_call_id=tool_call_id, content=content, role="tool")]
