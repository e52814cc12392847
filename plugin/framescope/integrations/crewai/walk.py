"""CrewAI's generic ``to_json`` walk, without the pydantic dumps that are bound to fail.

CrewAI turns an event into frame data with a generic walk: each pydantic model is dumped in
JSON mode, and when that dump raises (a function in a field, somewhere below) the walk goes
one level down through the model's ``__dict__`` and dumps each value again.  For an agent or
task event this dumps the agent, its crew, its task and every tool several times over, and
every tool dump first regenerates the tool's JSON schema, then fails on the tool's ``func``
field: 0.8-1.6 ms per event, all of it thrown away (the frame ends up holding the reprs the
fallback makes).

:func:`event_data` gives the same result as CrewAI's walk with two differences in how, none in
what:

* within one event, each model is dumped at most once (its outcome is remembered for the rest
  of that conversion only, so nothing carries over between events);
* a dump known to fail is not run.  A model's JSON dump fails when one of its fields holds a
  value pydantic cannot serialise (a function, under a field with no serializer of its own),
  or a model whose own dump fails.  Which field and value type fail is learnt from pydantic
  itself, once per class, field and value type, by dumping that field alone; a class with a
  model serializer, or a field with a serializer of its own, is always dumped for real.

The instrumentor checks the first event of each class against CrewAI's own ``to_json`` and
keeps using CrewAI's for a class where the two differ (see ``frames.frame_from_parts``).
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime
from types import BuiltinFunctionType, FunctionType, MethodType
from typing import Any

from pydantic import BaseModel

#: CrewAI's default depth limit: a value this deep becomes its ``repr``.
MAX_DEPTH = 5
_SCALARS = (str, int, float, bool, type(None))
#: the exact types of those (subclasses, such as str enums, go the long way)
_PLAIN: frozenset[type] = frozenset(_SCALARS)
#: value types pydantic's JSON mode cannot serialise under a plain field
_UNSERIALISABLE = (FunctionType, BuiltinFunctionType, MethodType)
_FAILED = object()
_NOTHING: frozenset[str] = frozenset()
#: (model class, field, value type) -> whether dumping that field alone raises
_FIELD_FAILS: dict[tuple[type, str, type], bool] = {}
#: model class -> the fields whose failures can be predicted (None: always dump for real)
_PREDICTABLE: dict[type, frozenset[str] | None] = {}
#: model class -> the field that made its last doomed model doomed (the order fields are asked
#: in changes no verdict: a field is doomed only through a real path to an unserialisable value)
_DOOMED_BY: dict[type, str] = {}


def event_data(event: Any, exclude: set[str]) -> Any:
    """What CrewAI's ``to_serializable(event, exclude=exclude)`` gives, with its doomed dumps skipped."""
    return _Walk().value(event, exclude, 0, ())


class _Walk:
    """One conversion: the dumps made so far, by object and exclusion."""

    def __init__(self) -> None:
        self.dumps: dict[tuple[int, frozenset[str]], Any] = {}
        self.keep: list[Any] = []  # the objects dumped, alive while their ids are keys

    def value(self, obj: Any, exclude: set[str] | frozenset[str], depth: int, ancestors: tuple[int, ...]) -> Any:
        if depth >= MAX_DEPTH:
            return repr(obj)
        kind = _KINDS.get(type(obj))
        if kind is None:
            kind = _kind_of(obj)
        if kind == _SCALAR:
            return obj
        if kind == _UUID:
            return str(obj)
        if kind == _DATE:
            return obj.isoformat()
        if kind == _OTHER:  # never walked into, so never one of the ancestors
            return repr(obj)
        if id(obj) in ancestors:
            return f"<circular_ref:{type(obj).__name__}>"
        inner = (*ancestors, id(obj))  # a few ids at most (the depth limit): a tuple is the cheapest
        below = depth + 1
        if kind == _SEQUENCE:
            return self.items(obj, exclude, below, inner)
        if kind == _MAPPING:
            return self.entries(obj, exclude, below, inner)
        if kind == _DATACLASS:
            return {
                field.name: self.value(getattr(obj, field.name), exclude, below, inner)
                for field in dataclasses.fields(obj)
                if field.name not in exclude
            }
        dumped = self.dump(obj, frozenset(exclude))  # what is left: _MODEL, a pydantic model
        if dumped is not _FAILED:
            return json_walk(dumped, below)
        try:
            return self.entries(obj.__dict__, exclude, below, inner, _NOTHING)
        except Exception:
            return repr(obj)

    # The two loops below are where a conversion spends its time: most values in an agent's or
    # a task's fields are None, bools, numbers and strings, so those are kept without a call.
    def items(
        self, values: Any, exclude: set[str] | frozenset[str], depth: int, ancestors: tuple[int, ...]
    ) -> list[Any]:
        """A list, tuple or set's items, each walked at ``depth``."""
        if depth >= MAX_DEPTH:
            return [repr(item) for item in values]
        return [item if type(item) in _PLAIN else self.value(item, exclude, depth, ancestors) for item in values]

    def entries(
        self,
        values: dict[Any, Any],
        exclude: set[str] | frozenset[str],
        depth: int,
        ancestors: tuple[int, ...],
        passed_on: set[str] | frozenset[str] | None = None,
    ) -> dict[str, Any]:
        """A dict's entries but the excluded keys, each walked at ``depth`` with ``passed_on`` (or
        ``exclude``) as the exclusion below: CrewAI passes a model's exclusion to its dict's
        values, but not to a model's fields."""
        below_exclude = exclude if passed_on is None else passed_on
        if depth >= MAX_DEPTH:
            return {
                (key if type(key) is str else _key(key)): repr(item)
                for key, item in values.items()
                if key not in exclude
            }
        return {
            (key if type(key) is str else _key(key)): (
                item if type(item) in _PLAIN else self.value(item, below_exclude, depth, ancestors)
            )
            for key, item in values.items()
            if key not in exclude
        }

    def dump(self, model: BaseModel, exclude: frozenset[str]) -> Any:
        """``model``'s JSON dump, or ``_FAILED``: made at most once per conversion, skipped when doomed."""
        key = (id(model), exclude)
        if key in self.dumps:
            return self.dumps[key]
        self.keep.append(model)
        if self.doomed(model, exclude, ()):
            dumped: Any = _FAILED
        else:
            try:
                dumped = model.model_dump(mode="json", exclude=set(exclude), serialize_as_any=True)
            except Exception:
                dumped = _FAILED
        self.dumps[key] = dumped
        return dumped

    def doomed(self, model: BaseModel, exclude: frozenset[str], seen: tuple[int, ...]) -> bool:
        """Whether ``model``'s JSON dump is known to raise, without running it."""
        cls = type(model)
        if cls in _PREDICTABLE:
            predictable = _PREDICTABLE[cls]
        else:
            predictable = _predictable_fields(cls)
            if len(_PREDICTABLE) < 4096:
                _PREDICTABLE[cls] = predictable
        if not predictable or id(model) in seen:
            return False
        seen = (*seen, id(model))
        values = model.__dict__
        last = _DOOMED_BY.get(cls)  # the field that doomed this class's last doomed model: asked first
        if last is not None and last not in exclude and last in values and self.field_doomed(model, last, seen):
            return True
        for name in predictable:
            if name in exclude or name not in values or type(values[name]) in _PLAIN or name == last:
                continue
            if self.field_doomed(model, name, seen):
                if len(_DOOMED_BY) < 4096:
                    _DOOMED_BY[cls] = name
                return True
        return False

    def field_doomed(self, model: BaseModel, name: str, seen: tuple[int, ...]) -> bool:
        """Whether ``model``'s field ``name`` alone makes its dump raise (cycles through ``seen`` cut)."""
        value = model.__dict__[name]
        if isinstance(value, _UNSERIALISABLE):
            return _field_fails(model, name, type(value))
        if isinstance(value, (list, tuple)):
            return any(isinstance(item, BaseModel) and self.nested_doomed(item, seen) for item in value)
        return isinstance(value, BaseModel) and self.nested_doomed(value, seen)

    def nested_doomed(self, model: BaseModel, seen: tuple[int, ...]) -> bool:
        """:meth:`doomed` for a model inside another, remembered: the walk meets it again one level down."""
        key = (id(model), _NOTHING)
        if key in self.dumps:
            return self.dumps[key] is _FAILED
        if not self.doomed(model, _NOTHING, seen):
            return False  # not remembered: a cycle may have cut the check short
        self.keep.append(model)
        self.dumps[key] = _FAILED
        return True


#: What the walk does with a value, by its type: CrewAI's walk asks ``isinstance`` in this
#: order for every value, and the answer depends on the type only (for a class, on its
#: metaclass: a class is never walked into).  ``dataclasses.is_dataclass`` alone asks a pydantic
#: model class for ``__dataclass_fields__``, a miss its metaclass answers by raising.
_SCALAR, _UUID, _DATE, _DATACLASS, _SEQUENCE, _MAPPING, _MODEL, _OTHER = range(8)
_KINDS: dict[type, int] = dict.fromkeys(_PLAIN, _SCALAR)


def _kind_of(obj: Any) -> int:
    if isinstance(obj, _SCALARS):
        kind = _SCALAR
    elif isinstance(obj, uuid.UUID):
        kind = _UUID
    elif isinstance(obj, (date, datetime)):
        kind = _DATE
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        kind = _DATACLASS
    elif isinstance(obj, (list, tuple, set)):
        kind = _SEQUENCE
    elif isinstance(obj, dict):
        kind = _MAPPING
    elif isinstance(obj, BaseModel):
        kind = _MODEL
    else:
        kind = _OTHER
    if len(_KINDS) < 4096:
        _KINDS[type(obj)] = kind
    return kind


def _predictable_fields(cls: type[BaseModel]) -> frozenset[str] | None:
    """The fields of ``cls`` serialised by pydantic's own rules (None: the model has its own serializer)."""
    decorators = getattr(cls, "__pydantic_decorators__", None)
    if decorators is None or decorators.model_serializers:
        return None
    custom = {field for serializer in decorators.field_serializers.values() for field in serializer.info.fields}
    plain = []
    for name, info in cls.model_fields.items():
        if name in custom or "*" in custom or info.metadata or info.exclude:  # never dumped, or its own rules
            continue
        if getattr(info, "exclude_if", None) is not None:
            continue
        plain.append(name)
    return frozenset(plain)


def _field_fails(model: BaseModel, name: str, value_type: type) -> bool:
    """Whether pydantic's JSON dump of ``model``'s field ``name`` raises for values of ``value_type``."""
    key = (type(model), name, value_type)
    fails = _FIELD_FAILS.get(key)
    if fails is None:
        try:
            model.model_dump(mode="json", include={name}, serialize_as_any=True)
            fails = False
        except Exception:
            fails = True
        if len(_FIELD_FAILS) < 4096:
            _FIELD_FAILS[key] = fails
    return fails


def json_walk(value: Any, depth: int) -> Any:
    """What CrewAI's walk makes of a value pydantic dumped in JSON mode, found at ``depth``.

    Such a value is only dicts with string keys, lists and scalars, freshly made (so never one
    of its own ancestors): the walk reduces to copying it with the depth limit applied.
    """
    if depth >= MAX_DEPTH:
        return repr(value)
    below = depth + 1
    if isinstance(value, dict):
        if below >= MAX_DEPTH:
            return {str(key): repr(item) for key, item in value.items()}
        return {str(key): item if type(item) in _PLAIN else json_walk(item, below) for key, item in value.items()}
    if isinstance(value, list):
        if below >= MAX_DEPTH:
            return [repr(item) for item in value]
        return [item if type(item) in _PLAIN else json_walk(item, below) for item in value]
    return value


def _key(key: Any) -> str:
    """A dict key as CrewAI's walk writes it."""
    if isinstance(key, (str, int)):
        return str(key)
    return f"key_{id(key)}_{key!r}"
