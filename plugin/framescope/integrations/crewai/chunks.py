"""Token chunk events: a chunk's data is the previous chunk's with a new text.

A streamed answer is hundreds of ``llm_stream_chunk`` events of one class whose fields are all
equal but ``chunk`` (the call id, model, response id, ...).  Dumping each with pydantic and
checking each for secrets again is most of what recording a chunk costs when no CrewAI session
is open.  So, per event class, the last dump is kept with the field values it was made from;
an event whose other fields are equal, value for value and type for type, gets a copy of that
dump with its own ``chunk``, and only the new text is checked for secret shapes.

When that is safe is decided per class, once: a pydantic model with a ``chunk`` field, no
computed fields and no custom serializers.  The first reuse is also checked against a real
dump; a class where the two differ is dumped in full from then on.

The same rule lets a run record the next chunk of an answer without making its frame at all
(:class:`ChunkTail`, used by ``CrewAIRun.extend_chunks``): a chunk event whose other fields
equal the previous chunk's has that frame's data with a new chunk.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from framescope.types.redaction import may_hold_secret

CHUNK = "chunk"
#: field value types whose equality means an equal dump (no container: [1] == [1.0]); enums too
_SCALARS = frozenset({str, int, float, bool, type(None)})
#: rows of field value types seen to be all scalars
_SCALAR_ROWS: set[tuple[type, ...]] = set()


def _scalar_row(types: tuple[type, ...]) -> bool:
    if not all(kind in _SCALARS or issubclass(kind, Enum) for kind in types):
        return False
    if len(_SCALAR_ROWS) < 4096:
        _SCALAR_ROWS.add(types)
    return True


class _ClassMemo:
    """The last dump of one event class and the field values it was made from."""

    __slots__ = ("clean", "dump", "getter", "nonfinite", "types", "values", "verified")

    def __init__(self, getter: Callable[[dict[str, Any]], Any]) -> None:
        self.getter = getter
        self.values: Any = None
        self.types: tuple[type, ...] | None = None
        self.dump: dict[str, Any] | None = None
        self.clean = False  # the last dump held no secret (so it was recorded as it is)
        self.nonfinite = False  # the last dump held NaN or ±Infinity
        self.verified = False


_MEMOS: dict[type, _ClassMemo | None] = {}
_lock = threading.Lock()


def chunk_data(
    event: Any,
    exclude: set[str],
    dump: Callable[[Any, set[str]], Any],
    clean: Callable[[Any], tuple[dict[str, Any], bool]],
) -> tuple[dict[str, Any], bool] | None:
    """``clean(dump(event, exclude))`` for a chunk event, reusing the previous chunk's work.

    None, before any dump, when ``event`` is not a chunk event this applies to (the caller
    dumps it itself).  ``clean`` makes frame data of any dump (a dict without secrets, or
    ``{"value": dump}``) and says whether it holds NaN or ±Infinity.
    """
    cls = type(event)
    memo = _MEMOS[cls] if cls in _MEMOS else _memo_for(cls, exclude)
    if memo is None:
        return None
    fields = event.__dict__
    chunk = fields.get(CHUNK)
    if type(chunk) is not str:
        return None
    values = memo.getter(fields)
    types = tuple(map(type, values))
    if types not in _SCALAR_ROWS and not _scalar_row(types):  # a container may hold 1 where the last held 1.0
        return None
    with _lock:  # events of one class may come from several threads
        previous = memo.dump
        reusable = previous is not None and values == memo.values and types == memo.types
    if reusable:
        assert previous is not None
        data = dict(previous)
        data[CHUNK] = chunk
        if not memo.verified:
            full = dump(event, exclude)
            memo.verified = True
            if full != data:
                _MEMOS[cls] = None  # this class's dump is not "the previous one with a new chunk"
                return clean(full)
        if memo.clean and not may_hold_secret(chunk):
            return data, memo.nonfinite
        return clean(data)
    full = dump(event, exclude)
    cleaned = clean(full)
    if not isinstance(full, dict):  # nothing to reuse
        return cleaned
    with _lock:
        memo.values, memo.types, memo.dump = values, types, full
        memo.clean, memo.nonfinite = cleaned[0] is full, cleaned[1]
    return cleaned


def _memo_for(cls: type, exclude: set[str]) -> _ClassMemo | None:
    fields = getattr(cls, "model_fields", None)
    decorators = getattr(cls, "__pydantic_decorators__", None)
    config = getattr(cls, "model_config", None)
    safe = (
        isinstance(fields, dict)
        and isinstance(config, dict)
        and config.get("extra") != "allow"  # extra values are dumped but are not fields
        and CHUNK in fields
        and not getattr(cls, "model_computed_fields", None)
        and decorators is not None
        and not decorators.field_serializers
        and not decorators.model_serializers
    )
    memo: _ClassMemo | None = None
    if safe:
        assert isinstance(fields, dict)
        names = [name for name in fields if name not in exclude and name != CHUNK]
        if names:
            getter = operator.itemgetter(*names)
            memo = _ClassMemo(getter if len(names) > 1 else lambda values: (getter(values),))
    if len(_MEMOS) < 4096:
        _MEMOS[cls] = memo
    return memo


def rule_known(cls: type) -> bool:
    """Whether chunk events of ``cls`` have been seen enough to know if their dumps can be reused."""
    if cls not in _MEMOS:
        return False
    memo = _MEMOS[cls]
    return memo is None or memo.verified


@dataclass(frozen=True, slots=True)
class ChunkTail:
    """A run's last recorded chunk frame, and the token run it went into.

    A following chunk event of the same class, type and parent whose other field values (read
    by ``getter``) are equal, type for type, is that frame with a new id, seq, timestamp and
    chunk: it can be appended to the same token run without making its frame.
    """

    cls: type
    frame: Any
    tokens: Any
    getter: Callable[[dict[str, Any]], Any]
    values: Any
    types: tuple[type, ...]


def chunk_tail(event: Any, frame: Any, tokens: Any) -> ChunkTail | None:
    """A tail for ``event``'s recorded ``frame``, when its class's reuse rule is known and holds."""
    memo = _MEMOS.get(type(event))
    if memo is None or not memo.verified:
        return None
    values = memo.getter(event.__dict__)
    types = tuple(map(type, values))
    if types not in _SCALAR_ROWS and not _scalar_row(types):
        return None
    return ChunkTail(type(event), frame, tokens, memo.getter, values, types)
