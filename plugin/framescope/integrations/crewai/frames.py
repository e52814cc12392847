"""CrewAI events as framescope frames, through CrewAI's own frame conversion.

The frame a CrewAI session would stream for an event is what
``crewai.utilities.streaming.stream_frame_from_event`` returns: its id, emission sequence,
parent and previous ids, channel, namespace, timestamp and data.  The instrumentor calls that
same function, so what it records is CrewAI's frame, not a re-derivation of it.  Two things
are changed on the way into the trace, both stated in docs/crewai.md:

* values under a secret-looking key (``api_key`` ...) become ``"[REDACTED]"`` (CrewAI puts an
  agent's LLM configuration, key included, into its agent and task frames);
* an event CrewAI cannot convert is still recorded, on ``custom``, with what can be said of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from framescope.integrations.crewai.chunks import chunk_data, rule_known
from framescope.integrations.crewai.walk import event_data, json_walk
from framescope.types.payload import REDACTED, json_safe_data
from framescope.types.redaction import is_secret_key, left_as_they_are, redact_text
from framescope.types.streaming import StreamFrame, make_frame


def frame_from_event(convert: Any, event: Any) -> StreamFrame:
    """The framescope frame for ``event``, converted by CrewAI's ``convert`` function."""
    return frame_from_crewai_frame(convert(event))


def frame_from_crewai_frame(crew_frame: Any) -> StreamFrame:
    """A CrewAI ``StreamFrame`` as a framescope frame (the same fields; secrets redacted)."""
    return converted_crewai_frame(crew_frame)[0]


def converted_crewai_frame(crew_frame: Any) -> tuple[StreamFrame, bool]:
    """:func:`frame_from_crewai_frame`, and whether the frame's data holds NaN or ±Infinity."""
    data, nonfinite = frame_data(crew_frame.data)
    frame = make_frame(
        crew_frame.id,
        crew_frame.seq,
        crew_frame.type,
        crew_frame.channel,
        list(crew_frame.namespace),
        crew_frame.timestamp,
        crew_frame.parent_id,
        crew_frame.previous_id,
        data,
    )
    return frame, nonfinite


def frame_data(converted: Any) -> tuple[dict[str, Any], bool]:
    """What CrewAI's conversion gave as a frame's data: a dict without secrets, else ``{"value": ...}``
    (see :func:`clean_data`: also whether it holds NaN or ±Infinity)."""
    return clean_data(converted if isinstance(converted, dict) else {"value": converted})


def frame_from_parts(streaming: Any, event: Any) -> StreamFrame:
    """The same frame as :func:`frame_from_event`, from the pieces CrewAI's conversion is made of."""
    return converted_event(streaming, event)[0]


def converted_event(streaming: Any, event: Any) -> tuple[StreamFrame, bool]:
    """:func:`frame_from_parts`, and whether the frame's data holds NaN or ±Infinity.

    ``stream_frame_from_event`` is ``_stream_channel``, ``_stream_namespace`` and
    ``event.to_json(exclude=_FRAME_DATA_EXCLUDE)`` put into a validated ``StreamFrame``; when no
    CrewAI session needs that ``StreamFrame`` object, the instrumentor calls the pieces and
    skips the validation (about a third of the conversion's cost).  The tests check that both
    ways give CrewAI's frame, field for field.
    """
    cls = type(event)
    key = (cls, event.type)
    channel = _CHANNELS.get(key)
    if channel is None:  # it depends on the class and the type only: computed once per pair
        channel = streaming._stream_channel(event)
        if len(_CHANNELS) < 4096:
            _CHANNELS[key] = channel
    exclude = streaming._FRAME_DATA_EXCLUDE
    # BaseEvent's own to_json can go the fast way, or the walk for classes whose dump failed
    # (_NESTED); a class with its own to_json (CrewAI's crew events drop the crew) goes CrewAI's way
    generic = cls.to_json is streaming.BaseEvent.to_json
    plain = generic and cls not in _NESTED
    cleaned = chunk_data(event, exclude, _to_json, frame_data) if plain else None  # None: not a token chunk
    if cleaned is None:
        if plain:
            cleaned = frame_data(_to_json(event, exclude))
        elif generic:
            cleaned = frame_data(_walked(event, exclude))
        else:
            cleaned = frame_data(event.to_json(exclude=exclude))
    frame = make_frame(
        event.event_id,
        event.emission_sequence,
        event.type,
        channel,
        _namespace(streaming, event, channel),
        event.timestamp,
        event.parent_event_id,
        event.previous_event_id,
        cleaned[0],
    )
    return frame, cleaned[1]


def learn_chunk_rule(streaming: Any, event: Any) -> None:
    """Convert chunk ``event`` once more the instrumentor's own way while its class's reuse rule
    and namespace plan are not known yet (where a CrewAI session converts every event itself,
    nothing else would learn them, and the next chunks could not take the short way).  A few
    tries per class at most: the rule needs two chunks, and the tables it fills are bounded."""
    cls = type(event)
    if rule_known(cls) and cls in _NAMESPACE_PLANS:
        return
    tries = _LEARNING.get(cls, 0)
    if tries < 3 and len(_LEARNING) < 4096:
        _LEARNING[cls] = tries + 1
        frame_from_parts(streaming, event)


#: chunk event classes :func:`learn_chunk_rule` converted, and how many times
_LEARNING: dict[type, int] = {}


#: The attributes CrewAI 1.15.30's ``_stream_namespace`` appends, in its order, when not None.
NAMESPACE_ATTRS = ("flow_name", "method_name", "session_id", "call_id", "tool_name", "agent_role", "task_name")
#: per event class: how each of those attributes is read (None: the class cannot have it)
_NAMESPACE_PLANS: dict[type, tuple[tuple[str, bool], ...] | None] = {}


def _namespace(streaming: Any, event: Any, channel: str) -> list[str]:
    """``streaming._stream_namespace(event, channel)``, without its ``getattr`` misses.

    CrewAI asks every event for seven attributes most event classes do not have, and a miss on
    a pydantic model raises inside pydantic's ``__getattr__`` (about a fifth of the whole
    conversion).  Per class, the attributes that are fields are read from the instance's
    ``__dict__``, the ones the class cannot have are skipped, and anything else (a property,
    extra fields) is asked for as CrewAI does.  The first event of each class is also converted
    by CrewAI's function: a class where the two differ keeps using CrewAI's function.
    """
    cls = type(event)
    if cls not in _NAMESPACE_PLANS:
        expected = streaming._stream_namespace(event, channel)
        first = _namespace_plan(cls)
        if first is not None and _planned_namespace(first, event, channel) != expected:
            first = None
        if len(_NAMESPACE_PLANS) < 4096:
            _NAMESPACE_PLANS[cls] = first
        return list(expected)
    plan = _NAMESPACE_PLANS[cls]
    if plan is None:
        return list(streaming._stream_namespace(event, channel))
    return _planned_namespace(plan, event, channel)


def namespace_from_fields(cls: type) -> bool:
    """Whether the namespace of ``cls``'s frames is read from its fields only (equal fields, equal namespace)."""
    plan = _NAMESPACE_PLANS.get(cls)
    return plan is not None and all(is_field for _, is_field in plan)


def _namespace_plan(cls: type) -> tuple[tuple[str, bool], ...] | None:
    fields = getattr(cls, "model_fields", None)
    config = getattr(cls, "model_config", None)
    if not isinstance(fields, dict) or not isinstance(config, dict) or config.get("extra") == "allow":
        return None  # not a plain pydantic model: CrewAI's own function every time
    plan: list[tuple[str, bool]] = []
    for name in NAMESPACE_ATTRS:
        if name in fields:
            plan.append((name, True))
        elif hasattr(cls, name):  # a property or a class attribute: read it the way CrewAI does
            plan.append((name, False))
    return tuple(plan)


def _planned_namespace(plan: tuple[tuple[str, bool], ...], event: Any, channel: str) -> list[str]:
    namespace = [channel]
    values = event.__dict__
    for name, is_field in plan:
        value = values.get(name) if is_field else getattr(event, name, None)
        if value is not None:
            namespace.append(str(value))
    return namespace


_FLAT_TYPES = frozenset({str, int, float, bool})
_CHANNELS: dict[tuple[type, str], str] = {}
#: event classes whose dump nested objects once: the fast path is skipped for them from then on
_NESTED: set[type] = set()


_SAFE_KEYS: set[tuple[Any, ...]] = set()  # key sets seen without a secret (events of one type share one)


def _no_secret_key(value: dict[Any, Any]) -> bool:
    keys = tuple(value)
    if keys in _SAFE_KEYS:
        return True
    if any(isinstance(key, str) and is_secret_key(key) for key in keys):
        return False
    if len(_SAFE_KEYS) < 4096:
        _SAFE_KEYS.add(keys)
    return True


def _to_json(event: Any, exclude: set[str]) -> Any:
    """``event.to_json(exclude=...)``, several times faster.

    CrewAI's ``to_json`` is pydantic's ``model_dump(mode="json")`` walked once more by its
    generic ``to_serializable`` (which turns values nested five levels deep into their
    ``repr``).  On a JSON-mode dump that walk only copies and applies the depth limit, so
    scalars are kept as they are and nested values get the same depth rule (:func:`json_walk`).
    When pydantic cannot dump the event (a function in a field), the event is walked the way
    CrewAI's ``to_json`` walks it (:func:`_walked`), and that event class goes that way from
    then on.
    """
    try:
        dumped = event.model_dump(mode="json", exclude=exclude, serialize_as_any=True)
    except Exception:  # CrewAI's walk has its own fallbacks (reprs) for what pydantic cannot dump
        _NESTED.add(type(event))
        return _walked(event, exclude)
    for key, value in dumped.items():
        if value is not None and type(value) not in _FLAT_TYPES:  # JSON mode: only these or containers
            dumped[key] = json_walk(value, 2)
    return dumped


#: per event class: whether :func:`walk.event_data` gave CrewAI's ``to_json`` on its first event
_WALK_MATCHES: dict[type, bool] = {}


def _walked(event: Any, exclude: set[str]) -> Any:
    """``event.to_json(exclude=...)`` for an event whose dump fails, without CrewAI's doomed dumps.

    The first event of each class goes CrewAI's way and is compared with :func:`event_data`; a
    class where the two differ, or where the walk raises, keeps going CrewAI's way.
    """
    cls = type(event)
    matches = _WALK_MATCHES.get(cls)
    if matches is None:
        expected = event.to_json(exclude=exclude)
        try:
            matches = event_data(event, exclude) == expected
        except Exception:
            matches = False
        if len(_WALK_MATCHES) < 4096:
            _WALK_MATCHES[cls] = matches
        return expected
    if matches:
        try:
            return event_data(event, exclude)
        except Exception:
            _WALK_MATCHES[cls] = False
    return event.to_json(exclude=exclude)


#: Keys whose values are prompt or answer content in CrewAI's events (messages, chunks, tool
#: arguments and outputs, results, task texts ...): recorded as "[REDACTED]" when content
#: capture is off (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=false).
CONTENT_KEYS = frozenset(
    {
        "messages",
        "message",
        "content",
        "chunk",
        "response",
        "result",
        "output",
        "tool_args",
        "inputs",
        "state",
        "prompt",
        "context",
        "description",
        "expected_output",
        "answer",
        "feedback",
        "text",
        "backstory",
        "goal",
        "raw",
        "arguments",
        "params",
    }
)


def without_content(frame: StreamFrame) -> StreamFrame:
    """``frame`` with its content values redacted (``data["content_redacted"]`` says so)."""
    data = _redact_content(frame.data)
    data["content_redacted"] = True
    return make_frame(
        frame.id,
        frame.seq,
        frame.type,
        frame.channel,
        frame.namespace,
        frame.timestamp,
        frame.parent_id,
        frame.previous_id,
        data,
    )


def _redact_content(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: (REDACTED if key in CONTENT_KEYS and item is not None else _redact_content(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact_content(item) for item in value]
    return value


def fallback_frame(event: Any, error: BaseException) -> StreamFrame:
    """A frame for an event CrewAI's conversion failed on: never dropped, recorded on ``custom``."""
    timestamp = getattr(event, "timestamp", None)
    if not isinstance(timestamp, datetime) or timestamp.tzinfo is None:
        timestamp = datetime.now(UTC)
    event_type = getattr(event, "type", None)
    return make_frame(
        str(getattr(event, "event_id", "") or id(event)),
        getattr(event, "emission_sequence", None),
        event_type if isinstance(event_type, str) and event_type else type(event).__name__,
        "custom",
        ["custom"],
        timestamp,
        getattr(event, "parent_event_id", None),
        getattr(event, "previous_event_id", None),
        json_safe_data({"unconverted": repr(event)[:1000], "conversion_error": f"{type(error).__name__}: {error}"}),
    )


def without_secrets(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` itself when it holds no secret, else a copy with the secret values redacted."""
    return clean_data(data)[0]


def clean_data(data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """``data`` without secrets (:func:`without_secrets`), and whether it holds NaN or ±Infinity.

    One pass over the whole structure: a value under a secret-looking key becomes
    ``"[REDACTED]"``; the strings of each container are checked for secret shapes in one scan of
    them all (joined), and only a container whose strings may hold one has them redacted one by
    one.  A container is copied only once something in it changes, so a frame with nothing to
    hide (every token chunk) is recorded as it is, without a copy.

    The second answer comes for free on the way: CrewAI's frames skip framescope's emit rule,
    so a float field may be NaN, which only the standard library's JSON writes back exactly
    (the recorder writes other data with orjson, several times faster).
    """
    cleaning = _Cleaning()
    cleaned = cleaning.value(data)
    return (cleaned if isinstance(cleaned, dict) else data), cleaning.nonfinite


class _Cleaning:
    """One frame's data being cleaned of secrets; notes a NaN or ±Infinity met on the way."""

    __slots__ = ("nonfinite",)

    def __init__(self) -> None:
        self.nonfinite = False

    def value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return self.entries(value, value.items(), not _no_secret_key(value))
        if isinstance(value, list):
            return self.entries(value, enumerate(value), False)
        if isinstance(value, str):
            redacted = redact_text(value)
            return value if redacted == value else redacted
        if isinstance(value, float) and not -_INFINITY < value < _INFINITY:
            self.nonfinite = True
        return value

    def entries(self, value: Any, entries: Iterable[tuple[Any, Any]], check_keys: bool) -> Any:
        """``value`` (a dict or a list) with its entries cleaned, copied only once an entry changes."""
        changes: list[tuple[Any, Any]] = []
        texts: list[str] = []
        text_keys: list[Any] = []
        for key, item in entries:
            if item is None:
                continue
            if check_keys and isinstance(key, str) and is_secret_key(key):
                changes.append((key, REDACTED))
                continue
            kind = type(item)
            if kind in _INERT:  # most values: nothing in them to check
                if kind is float and not -_INFINITY < item < _INFINITY:  # NaN fails both
                    self.nonfinite = True
                continue
            if kind is str or isinstance(item, str):
                texts.append(item)
                text_keys.append(key)
            elif kind is dict or kind is list or isinstance(item, (dict, list, float)):
                new = self.value(item)
                if new is not item:
                    changes.append((key, new))
        if texts and not left_as_they_are(texts):
            for key, text in zip(text_keys, texts, strict=True):
                redacted = redact_text(text)
                if redacted != text:
                    changes.append((key, redacted))
        if not changes:
            return value
        out = dict(value) if isinstance(value, dict) else list(value)
        for key, new in changes:
            out[key] = new
        return out


_INFINITY = float("inf")
#: value types with nothing in them to redact (a number under ``api_key`` is still redacted)
_INERT = frozenset({bool, int, float})
