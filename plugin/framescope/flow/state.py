"""A flow's state: a pydantic model (``Flow[MyState]`` or ``initial_state``) or a plain dict.

Inputs given to ``kickoff(inputs=...)`` update the state before the first method runs.  For
a model they are validated as a whole new state, so a wrong type or an unknown key fails the
kickoff with a message that names the field, instead of reaching a method half-applied.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from framescope.errors import FlowDefinitionError, FlowInputError


def state_type(cls: type) -> type[BaseModel] | None:
    """The state model of a flow class, or ``None`` for a dict state."""
    initial = None
    for klass in cls.__mro__:
        initial = klass.__dict__.get("initial_state")
        if initial is not None:
            break
    if initial is not None:
        if isinstance(initial, type) and issubclass(initial, BaseModel):
            return initial
        if isinstance(initial, BaseModel):
            return type(initial)
        if isinstance(initial, Mapping):
            return None
        raise FlowDefinitionError(
            f"{cls.__name__}.initial_state must be a pydantic model class, a model instance or a dict, "
            f"got {type(initial).__name__}"
        )
    for klass in cls.__mro__:
        for base in klass.__dict__.get("__orig_bases__", ()):
            args = typing.get_args(base)
            if args and getattr(typing.get_origin(base), "_framescope_flow_base", False):
                arg = args[0]
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    return arg
                if arg is dict or typing.get_origin(arg) is dict or isinstance(arg, typing.TypeVar):
                    return None
                raise FlowDefinitionError(
                    f"{cls.__name__}: the state type in Flow[...] must be a pydantic model or dict, got {arg!r}"
                )
    return None


def initial_state(cls: type) -> BaseModel | dict[str, Any] | None:
    """A fresh state; ``None`` when the model has required fields that only inputs can give."""
    initial = None
    for klass in cls.__mro__:
        initial = klass.__dict__.get("initial_state")
        if initial is not None:
            break
    if isinstance(initial, BaseModel):
        return initial.model_copy(deep=True)
    if isinstance(initial, Mapping):
        return dict(initial)
    model = state_type(cls)
    if model is None:
        return {}
    try:
        return model()
    except ValidationError:
        return None


def missing_state_error(flow_name: str, model: type[BaseModel]) -> FlowInputError:
    required = [name for name, field in model.model_fields.items() if field.is_required()]
    return FlowInputError(
        f"{flow_name}'s state {model.__name__} has required fields without defaults "
        f"({', '.join(required)}); pass them with kickoff(inputs={{...}}) or give them defaults"
    )


def check_inputs(flow_name: str, inputs: Any) -> dict[str, Any]:
    """Inputs must be a mapping with string keys; anything else is a clear error."""
    if inputs is None:
        return {}
    if not isinstance(inputs, Mapping):
        raise FlowInputError(
            f"{flow_name}.kickoff(inputs=...) takes a dict of state fields, got {type(inputs).__name__}; "
            "for example kickoff(inputs={'topic': 'AI'})"
        )
    bad = [key for key in inputs if not isinstance(key, str)]
    if bad:
        raise FlowInputError(f"{flow_name}: input names must be strings, got {bad[0]!r}")
    return dict(inputs)


def apply_inputs(
    flow_name: str, model: type[BaseModel] | None, state: BaseModel | dict[str, Any] | None, inputs: dict[str, Any]
) -> BaseModel | dict[str, Any]:
    """The state with ``inputs`` applied (a new model instance, or the same dict updated)."""
    if model is None:
        assert isinstance(state, dict)
        state.update(inputs)
        return state
    if not inputs:
        if state is None:
            raise missing_state_error(flow_name, model)
        return state
    if model.model_config.get("extra") != "allow":
        unknown = sorted(set(inputs) - set(model.model_fields))
        if unknown:
            raise FlowInputError(
                f"{flow_name}: input(s) {', '.join(map(repr, unknown))} are not fields of its state "
                f"{model.__name__} (fields: {', '.join(model.model_fields) or 'none'}); fix the names, "
                "or add the fields to the model"
            )
    current = {} if state is None else {name: getattr(state, name) for name in model.model_fields}
    try:
        return model.model_validate({**current, **inputs})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(state)'}: {error['msg']}" for error in exc.errors()
        )
        raise FlowInputError(
            f"{flow_name}: inputs do not fit its state {model.__name__}: {problems}. "
            "Pass values of the declared types in kickoff(inputs={...})"
        ) from exc


__all__ = ["apply_inputs", "check_inputs", "initial_state", "state_type"]
