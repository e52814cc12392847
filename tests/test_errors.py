"""The one error tree: every exception framescope defines lives in framescope.errors."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import framescope
from framescope import errors

PACKAGE = Path(framescope.__file__).parent
CONTROL_FLOW = {errors.StreamClosed, errors.PauseRequested}


def test_no_exception_class_is_defined_outside_errors_module() -> None:
    defined_elsewhere = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name.endswith(("Error", "Exception", "Closed", "Requested")):
                defined_elsewhere.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}")
    assert defined_elsewhere == []


def _exception_classes() -> list[type[BaseException]]:
    return [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, BaseException) and obj.__module__ == errors.__name__
    ]


@pytest.mark.parametrize("cls", _exception_classes(), ids=lambda c: c.__name__)
def test_every_error_has_the_root_or_is_control_flow(cls: type[BaseException]) -> None:
    if cls in CONTROL_FLOW:
        # cancellation and pause must get past ``except Exception`` in user code
        assert not issubclass(cls, Exception)
    elif issubclass(cls, Warning):
        assert issubclass(cls, UserWarning)
    else:
        assert issubclass(cls, errors.FramescopeError)


def test_standard_bases_are_kept_where_callers_rely_on_them() -> None:
    assert issubclass(errors.ConfigurationError, ValueError)
    assert issubclass(errors.FlowDefinitionError, TypeError)
    assert issubclass(errors.ConversationDefinitionError, errors.FlowDefinitionError)
    assert issubclass(errors.ReplayedRunFailed, RuntimeError)
    assert issubclass(errors.TraceNotFoundError, errors.TraceFetchError)
    assert issubclass(errors.UnknownSessionError, LookupError)


def test_public_paths_reach_the_same_classes() -> None:
    from framescope.flow import FlowDefinitionError
    from framescope.llm import LLMError
    from framescope.tools import ToolArgumentsError

    assert framescope.StreamClosed is errors.StreamClosed
    assert FlowDefinitionError is errors.FlowDefinitionError
    assert LLMError is errors.LLMError
    assert ToolArgumentsError is errors.ToolArgumentsError
