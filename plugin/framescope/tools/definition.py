"""``@tool`` and ``Tool``: a function an agent or LLM can call, recorded as a tool lifecycle.

Calling a tool emits ``tool_usage_started`` (name, arguments), then ``tool_usage_finished``
(output) or ``tool_usage_error`` (error), on the ``tools`` channel, as an
``execute_tool {name}`` span (GenAI semantic conventions).  The argument schema comes from
the signature through pydantic, so an LLM can be offered the tool and its arguments are
validated before the function runs.
"""

from __future__ import annotations

import functools
import inspect
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, overload

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from framescope._metered import metered
from framescope.errors import ToolArgumentsError
from framescope.telemetry.config import get_telemetry_setup
from framescope.telemetry.run import Lifecycle, lifecycle
from framescope.types.payload import REDACTED, json_safe


class Tool:
    """A callable tool with a name, a description and a JSON schema for its arguments."""

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"a tool wraps a function, got {type(fn).__name__}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", None) or type(fn).__name__
        if not self.name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(
                f"tool name {self.name!r} must use letters, digits, '_' or '-' only (LLM providers require it)"
            )
        self.description = (description or inspect.getdoc(fn) or "").strip()
        self.is_async = inspect.iscoroutinefunction(fn)
        self._model = _arguments_model(fn, self.name)
        functools.update_wrapper(self, fn)

    @property
    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments."""
        schema = self._model.model_json_schema()
        schema.pop("title", None)
        return schema

    def to_openai(self) -> dict[str, Any]:
        """The tool as an OpenAI-compatible ``tools`` entry."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def bind(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Validate arguments against the signature; returns them by name."""
        try:
            bound = inspect.signature(self.fn).bind(*args, **kwargs)
        except TypeError as exc:
            raise ToolArgumentsError(f"tool {self.name!r}: {exc}") from None
        try:
            validated = self._model.model_validate(dict(bound.arguments))
        except ValidationError as exc:
            raise ToolArgumentsError(f"tool {self.name!r} got invalid arguments: {exc}") from None
        return {key: getattr(validated, key) for key in bound.arguments}

    def _start(self, arguments: Mapping[str, Any] | str, call_id: str | None, capture: bool) -> dict[str, Any]:
        recorded: Any = arguments
        if isinstance(arguments, str):
            try:  # record what the model meant; unreadable JSON is recorded as it came
                recorded = json_safe(json.loads(arguments))
            except ValueError:
                pass
        elif isinstance(arguments, Mapping):
            recorded = json_safe(dict(arguments))
        else:
            recorded = json_safe(arguments)
        data: dict[str, Any] = {"tool_name": self.name, "arguments": recorded if capture else REDACTED}
        if call_id:
            data["tool_call_id"] = call_id
        return data

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.invoke(kwargs if not args else self._named(args, kwargs))

    def _named(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(inspect.signature(self.fn).bind(*args, **kwargs).arguments)
        except TypeError as exc:
            raise ToolArgumentsError(f"tool {self.name!r}: {exc}") from None

    def invoke(self, arguments: Mapping[str, Any] | str, *, call_id: str | None = None) -> Any:
        """Run the tool with arguments by name (or as a JSON object string, as LLMs send them)."""
        capture = get_telemetry_setup().capture_message_content
        with self._lifecycle(arguments, call_id, capture) as (call, values):
            output = self.fn(**values)
            if inspect.isawaitable(output):
                if inspect.iscoroutine(output):
                    output.close()
                raise TypeError(f"tool {self.name!r} is async; call it with `await tool.ainvoke(...)`")
            call.data["output"] = call.data["result"] = json_safe(output) if capture else REDACTED
        return output

    async def ainvoke(self, arguments: Mapping[str, Any] | str, *, call_id: str | None = None) -> Any:
        """The async twin of :meth:`invoke` (works for sync and async tool functions)."""
        capture = get_telemetry_setup().capture_message_content
        with self._lifecycle(arguments, call_id, capture) as (call, values):
            output = self.fn(**values)
            if inspect.isawaitable(output):
                output = await output
            call.data["output"] = call.data["result"] = json_safe(output) if capture else REDACTED
        return output

    @contextmanager
    def _lifecycle(
        self, arguments: Mapping[str, Any] | str, call_id: str | None, capture: bool
    ) -> Iterator[tuple[Lifecycle, dict[str, Any]]]:
        """The tool call as a lifecycle, timed for the ``gen_ai.execute_tool.duration`` metric.

        Arguments and output are content (like prompts): with
        ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=false`` they are recorded as
        ``"[REDACTED]"``.  Arguments are parsed inside the lifecycle, so even unreadable JSON
        from a model shows as a ``tool_usage_error``.
        """
        started = time.perf_counter()

        def report(error_type: str | None) -> None:  # cancellation (not an Exception) is no error here
            metrics = get_telemetry_setup().metrics
            if metrics is not None:
                metrics.tool_call(tool_name=self.name, duration_s=time.perf_counter() - started, error_type=error_type)

        with (
            metered(report, failures=Exception),
            lifecycle(
                "tool_usage_started",
                self._start(arguments, call_id, capture),
                finished="tool_usage_finished",
                failed="tool_usage_error",
            ) as call,
        ):
            call.data["tool_name"] = self.name
            if call_id:
                call.data["tool_call_id"] = call_id
            yield call, self.bind(**_parse_arguments(self.name, arguments))

    def __repr__(self) -> str:
        return f"<Tool {self.name}>"


def _parse_arguments(name: str, arguments: Mapping[str, Any] | str) -> dict[str, Any]:
    if isinstance(arguments, str):
        try:
            parsed = json.loads(arguments) if arguments.strip() else {}
        except ValueError as exc:
            raise ToolArgumentsError(
                f"tool {name!r}: arguments are not valid JSON ({exc}): {arguments[:200]!r}"
            ) from None
        arguments = parsed
    if not isinstance(arguments, Mapping):
        raise ToolArgumentsError(f"tool {name!r}: arguments must be a JSON object, got {type(arguments).__name__}")
    return dict(arguments)


def _arguments_model(fn: Callable[..., Any], name: str) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for parameter in inspect.signature(fn).parameters.values():
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        annotation = Any if parameter.annotation is inspect.Parameter.empty else parameter.annotation
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (annotation, default)
    return create_model(f"{name}_arguments", __config__=ConfigDict(arbitrary_types_allowed=True), **fields)


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...
@overload
def tool(*, name: str | None = None, description: str | None = None) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn: Callable[..., Any] | None = None, /, *, name: str | None = None, description: str | None = None
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a function a framescope tool: ``@tool`` or ``@tool(name=..., description=...)``."""
    if fn is not None:
        return Tool(fn)

    def wrap(function: Callable[..., Any]) -> Tool:
        return Tool(function, name=name, description=description)

    return wrap
