"""Best-effort frames from GenAI spans that framescope did not write.

Traces from other instrumentations (OpenLLMetry, OpenInference, vendor SDKs, ...) follow the
OpenTelemetry GenAI conventions but carry no frames: only spans (``invoke_agent``,
``chat {model}``, ``execute_tool {name}``), their attributes and span events.  Replay can
still show their shape as a frame sequence, but it is a *reconstruction*, not the stream a
client saw (no tokens, no exact order inside a span), so callers opt in
(``reconstruct=True``) and every session built from it says ``reconstructed = True``.

The mapping, one GenAI span at a time (spans without a GenAI operation, e.g. HTTP or
database spans, are skipped; their GenAI descendants hang from the nearest GenAI ancestor):

* ``chat`` / ``text_completion`` / ``generate_content`` -> ``llm_call_started`` (model,
  provider, input messages) and ``llm_call_completed`` (response model, usage, finish
  reasons, output messages) or ``llm_call_failed``;
* ``execute_tool`` -> ``tool_usage_started`` (name, call id, arguments) and
  ``tool_usage_finished`` (output) or ``tool_usage_error``;
* any other operation ``op`` (``invoke_agent``, ``retrieval``, ...) -> ``op_started`` and
  ``op_finished`` / ``op_failed`` on the ``lifecycle`` channel;
* each span event -> one frame of the event's name, its attributes as data.

Frames are ordered by time; ties keep the span tree's order (a parent opens before its child,
a child closes before its parent).  Ids derive from span ids (``<span_id>``,
``<span_id>.<n>`` for events, ``<span_id>.end``), ``parent_id`` is the enclosing GenAI span's
opener, the run id is the trace id, and the namespace is the path of span names.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from framescope.replay.decode import DecodedRun
from framescope.replay.records import EventRecord, SpanRecord
from framescope.types.payload import json_safe
from framescope.types.routing import channel_for
from framescope.types.streaming import StreamFrame, make_frame

__all__ = ["is_genai_span", "reconstruct_runs"]

OPERATION = "gen_ai.operation.name"
LLM_OPERATIONS = frozenset({"chat", "text_completion", "generate_content"})
TOOL_OPERATION = "execute_tool"
_NAMED_OPERATIONS = LLM_OPERATIONS | {
    TOOL_OPERATION,
    "invoke_agent",
    "create_agent",
    "invoke_workflow",
    "embeddings",
    "retrieval",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def operation_of(span: SpanRecord) -> str | None:
    """The span's GenAI operation: its ``gen_ai.operation.name``, else a known span-name prefix."""
    value = span.attributes.get(OPERATION)
    if isinstance(value, str) and value:
        return value
    head = span.name.split(" ", 1)[0]
    return head if head in _NAMED_OPERATIONS else None


def is_genai_span(span: SpanRecord) -> bool:
    return operation_of(span) is not None


def reconstruct_runs(records: Iterable[SpanRecord]) -> list[DecodedRun]:
    """One reconstructed run per trace holding GenAI spans, oldest first."""
    by_trace: dict[str, list[SpanRecord]] = {}
    for span in records:
        by_trace.setdefault(span.trace_id, []).append(span)
    runs = [run for trace_id, spans in by_trace.items() if (run := _reconstruct_trace(trace_id, spans))]
    runs.sort(key=lambda run: run.started_at or _EPOCH)
    return runs


# -- the span tree --------------------------------------------------------------------------
def _reconstruct_trace(trace_id: str, spans: list[SpanRecord]) -> DecodedRun | None:
    by_id = {span.span_id: span for span in spans}
    genai = [span for span in spans if is_genai_span(span)]
    if not genai:
        return None
    genai_ids = {span.span_id for span in genai}
    children: dict[str | None, list[SpanRecord]] = {}
    for span in genai:
        children.setdefault(_genai_parent(span, by_id, genai_ids), []).append(span)
    for siblings in children.values():
        siblings.sort(key=lambda s: (s.start_time_unix_nano, s.span_id))

    # (time, tree rank, kind, span, event index, namespace, parent span id)
    items: list[tuple[int, int, str, SpanRecord, int, list[str], str | None]] = []

    def visit(span: SpanRecord, parent: str | None, floor: int, path: list[str]) -> None:
        namespace = [*path, span.name]
        opened = max(span.start_time_unix_nano, floor)
        items.append((opened, len(items), "open", span, -1, namespace, parent))
        for index, event in sorted(enumerate(span.events), key=lambda pair: pair[1].time_unix_nano):
            items.append((max(event.time_unix_nano, opened), len(items), "event", span, index, namespace, parent))
        for child in children.get(span.span_id, []):
            visit(child, span.span_id, opened, namespace)
        items.append((max(span.end_time_unix_nano, opened), len(items), "close", span, -1, namespace, parent))

    for root in children.get(None, []):
        visit(root, None, 0, [])
    items.sort(key=lambda item: (item[0], item[1]))

    frames: list[StreamFrame] = []
    previous: str | None = None
    for seq, (time_ns, _, kind, span, index, namespace, parent) in enumerate(items):
        if kind == "open":
            frame_id, parent_id = span.span_id, parent
            frame_type, channel, data = _opener(span)
        elif kind == "close":
            frame_id, parent_id = f"{span.span_id}.end", span.span_id
            frame_type, channel, data = _closer(span)
        else:
            event = span.events[index]
            frame_id, parent_id = f"{span.span_id}.{index}", span.span_id
            frame_type, channel, data = event.name, channel_for(event.name), _plain(event.attributes)
        timestamp = _EPOCH + timedelta(microseconds=time_ns // 1000)
        frames.append(make_frame(frame_id, seq, frame_type, channel, namespace, timestamp, parent_id, previous, data))
        previous = frame_id
    roots = children.get(None, [])
    failed = bool(roots) and roots[-1].status_code == "ERROR"
    return DecodedRun(trace_id, [trace_id], frames, [], failed=failed)


def _genai_parent(span: SpanRecord, by_id: dict[str, SpanRecord], genai_ids: set[str]) -> str | None:
    seen: set[str] = set()
    parent = span.parent_span_id
    while parent and parent not in seen:
        if parent in genai_ids:
            return parent
        seen.add(parent)
        record = by_id.get(parent)
        parent = record.parent_span_id if record is not None else None
    return None


# -- frames of one span ---------------------------------------------------------------------
def _opener(span: SpanRecord) -> tuple[str, str, dict[str, Any]]:
    operation = operation_of(span) or "span"
    attrs = span.attributes
    if operation in LLM_OPERATIONS:
        data = _pick(attrs, model="gen_ai.request.model", provider=("gen_ai.provider.name", "gen_ai.system"))
        _put(data, "messages", _parsed(attrs.get("gen_ai.input.messages")))
        _put(data, "system_instructions", _parsed(attrs.get("gen_ai.system_instructions")))
        return "llm_call_started", "llm", _with_span(data, span, operation)
    if operation == TOOL_OPERATION:
        data = _pick(attrs, tool_name="gen_ai.tool.name", tool_call_id="gen_ai.tool.call.id")
        data.setdefault("tool_name", span.name.removeprefix("execute_tool").strip() or "tool")
        _put(data, "arguments", _parsed(attrs.get("gen_ai.tool.call.arguments")))
        return "tool_usage_started", "tools", _with_span(data, span, operation)
    data = _pick(attrs, agent_name="gen_ai.agent.name", provider=("gen_ai.provider.name", "gen_ai.system"))
    return f"{operation}_started", "lifecycle", _with_span(data, span, operation)


def _closer(span: SpanRecord) -> tuple[str, str, dict[str, Any]]:
    operation = operation_of(span) or "span"
    attrs = span.attributes
    error = _error(span)
    if operation in LLM_OPERATIONS:
        if error:
            return "llm_call_failed", "llm", error
        data = _pick(attrs, model=("gen_ai.response.model", "gen_ai.request.model"))
        usage = {
            key.removeprefix("gen_ai.usage."): _number(value)
            for key, value in attrs.items()
            if key.startswith("gen_ai.usage.")
        }
        _put(data, "usage", usage or None)
        _put(data, "finish_reasons", _parsed(attrs.get("gen_ai.response.finish_reasons")))
        _put(data, "response", _parsed(attrs.get("gen_ai.output.messages")))
        return "llm_call_completed", "llm", data
    if operation == TOOL_OPERATION:
        name = attrs.get("gen_ai.tool.name") or span.name.removeprefix("execute_tool").strip() or "tool"
        if error:
            return "tool_usage_error", "tools", {"tool_name": name, **error}
        data = {"tool_name": name}
        _put(data, "output", _parsed(attrs.get("gen_ai.tool.call.result")))
        return "tool_usage_finished", "tools", json_safe(data)
    if error:
        return f"{operation}_failed", "lifecycle", error
    return f"{operation}_finished", "lifecycle", {}


def _error(span: SpanRecord) -> dict[str, Any] | None:
    if span.status_code != "ERROR":
        return None
    exception = next((e for e in span.events if e.name == "exception"), None)
    found: dict[str, Any] = exception.attributes if isinstance(exception, EventRecord) else {}
    return {
        "error_type": str(found.get("exception.type") or span.attributes.get("error.type") or "Error"),
        "error": str(found.get("exception.message") or span.status_message or ""),
    }


def _with_span(data: dict[str, Any], span: SpanRecord, operation: str) -> dict[str, Any]:
    data["operation"] = operation
    data["span_name"] = span.name
    data["attributes"] = _plain(span.attributes)
    return data


def _pick(attrs: dict[str, Any], **keys: str | tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sources in keys.items():
        for source in (sources,) if isinstance(sources, str) else sources:
            if source in attrs:
                out[name] = json_safe(attrs[source])
                break
    return out


def _put(data: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        data[key] = value


def _parsed(value: Any) -> Any:
    """GenAI attributes hold JSON text (messages, arguments); show it as JSON when it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return None if value is None else json_safe(value)


def _number(value: Any) -> Any:
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return json_safe(value)


def _plain(attributes: dict[str, Any]) -> dict[str, Any]:
    return {key: json_safe(value) for key, value in attributes.items()}
