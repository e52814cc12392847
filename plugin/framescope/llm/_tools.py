"""Running the tools a model asks for, as framescope tools (``tools`` channel frames).

A failing tool or an unknown tool name does not fail the LLM call: the error becomes the
tool result the model reads next, so it can retry or answer without the tool (what a
person would do with an error message).  The tool's own frames show the error, so the
trace still says exactly what went wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from framescope.errors import UnknownToolError
from framescope.llm._messages import tool_output_text, tool_result_message
from framescope.llm.providers.base import ToolCall
from framescope.telemetry.run import lifecycle
from framescope.tools.definition import Tool

ToolSpec = Mapping[str, Any] | Tool | Callable[..., Any]


def as_tool(name: str | None, fn: Tool | Callable[..., Any]) -> Tool:
    """A ``Tool`` callable under ``name`` (the name the model is told and will ask for)."""
    if isinstance(fn, Tool):
        if name is None or fn.name == name:
            return fn
        return Tool(fn.fn, name=name, description=fn.description)
    if not callable(fn):
        raise TypeError(f"available_functions[{name!r}] must be a callable or a Tool, got {type(fn).__name__}")
    return Tool(fn, name=name)


class ToolRunner:
    """The tools one call may run, by name."""

    def __init__(self, tools: Mapping[str, Tool]) -> None:
        self.tools = dict(tools)

    def _unknown(self, call: ToolCall) -> str:
        known = ", ".join(sorted(self.tools)) or "none"
        message = f"there is no tool named {call.name!r}; available tools: {known}"
        try:
            with lifecycle(
                "tool_usage_started",
                {"tool_name": call.name, "arguments": call.arguments, "tool_call_id": call.id},
                finished="tool_usage_finished",
                failed="tool_usage_error",
            ):
                raise UnknownToolError(message)
        except UnknownToolError:
            pass
        return f"Error: {message}"

    def run(self, call: ToolCall) -> dict[str, Any]:
        """Run one call; returns the ``tool`` message for the model (output or error text)."""
        tool = self.tools.get(call.name)
        if tool is None:
            return tool_result_message(call, self._unknown(call))
        try:
            output = tool.invoke(call.arguments, call_id=call.id)
        except Exception as exc:  # fed back to the model; StreamClosed (BaseException) passes
            return tool_result_message(call, _error_text(call, exc))
        return tool_result_message(call, tool_output_text(output))

    async def arun(self, call: ToolCall) -> dict[str, Any]:
        tool = self.tools.get(call.name)
        if tool is None:
            return tool_result_message(call, self._unknown(call))
        try:
            output = await tool.ainvoke(call.arguments, call_id=call.id)
        except Exception as exc:
            return tool_result_message(call, _error_text(call, exc))
        return tool_result_message(call, tool_output_text(output))


def _error_text(call: ToolCall, exc: Exception) -> str:
    return f"Error: tool {call.name!r} failed: {type(exc).__name__}: {exc}"


def prepare_tools(
    tools: Iterable[ToolSpec] | None,
    available_functions: Mapping[str, Tool | Callable[..., Any]] | None,
) -> tuple[list[dict[str, Any]] | None, ToolRunner | None]:
    """The tool schemas to send and the runner for the tools framescope may execute.

    ``tools`` entries may be OpenAI tool dicts (sent as is), ``Tool`` s or plain functions
    (their schema is derived, and they are runnable).  Without ``tools``, the schemas come
    from ``available_functions``.  No runnable tool means tool calls are returned to the
    caller in the completed frame instead of being executed.
    """
    runnable: dict[str, Tool] = {}
    specs: list[dict[str, Any]] | None = None
    if tools is not None:
        if isinstance(tools, (str, Mapping)):
            raise TypeError("tools must be a list of tool dicts, Tools or functions")
        specs = []
        for entry in tools:
            if isinstance(entry, Mapping):
                specs.append(dict(entry))
            else:
                tool = as_tool(None, entry)
                runnable[tool.name] = tool
                specs.append(tool.to_openai())
    if available_functions is not None:
        if not isinstance(available_functions, Mapping):
            raise TypeError("available_functions must be a dict of tool name -> callable or Tool")
        declared: list[dict[str, Any]] = []
        for name, fn in available_functions.items():
            tool = as_tool(name, fn)
            runnable[name] = tool
            declared.append(tool.to_openai())
        if specs is None:
            specs = declared
    return (specs or None), (ToolRunner(runnable) if runnable else None)


def tool_names(specs: list[dict[str, Any]] | None) -> list[str]:
    names: list[str] = []
    for spec in specs or []:
        function = spec.get("function")
        name = function.get("name") if isinstance(function, Mapping) else spec.get("name")
        if isinstance(name, str):
            names.append(name)
    return names
