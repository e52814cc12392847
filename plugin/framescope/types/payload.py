"""The rule that makes any payload JSON-safe before it becomes a frame.

A frame's ``data`` is what a live consumer sees and what replay rebuilds from the trace, so
it must survive JSON exactly.  Instead of failing a run on an odd payload, every value is
turned into its JSON form once, at emit time (docs/frames.md states the rule):

* ``dict`` keys become ``str``; ``tuple``/``set``/``frozenset`` become lists (sets sorted
  by their JSON text so the order is stable);
* pydantic models -> ``model_dump(mode="json")``; dataclasses -> their fields;
  ``datetime``/``date``/``time`` -> ISO 8601; ``Enum`` -> its value; ``bytes`` ->
  ``{"$bytes": <base64>}``; ``Decimal``/``UUID``/``Path`` -> ``str``;
* ``NaN``/``Infinity`` (which JSON cannot hold) -> the strings ``"NaN"``, ``"Infinity"``,
  ``"-Infinity"``;
* lone surrogates in strings (which UTF-8, and so JSON on the wire, cannot hold) -> U+FFFD;
* anything else -> ``{"$repr": repr(value)}`` (truncated to 1,000 characters);
* values under a secret-looking key (``api_key``, ``authorization``, ``password``, ...)
  -> ``"[REDACTED]"``, so credentials never reach a frame or a span;
* containers nested deeper than 64 levels or cyclic -> ``{"$repr": ...}``.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
import math
import re
from datetime import date, datetime, time
from typing import Any

REDACTED = "[REDACTED]"
SECRET_KEYS = frozenset(
    {
        "api_key",
        "apikey",
        "api-key",
        "x-api-key",
        "authorization",
        "proxy-authorization",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "access_token",
        "refresh_token",
        "id_token",
        "cookie",
        "set-cookie",
        "openai_api_key",
    }
)
_MAX_DEPTH = 64
_SCALARS = (int, bool, type(None))
_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD, so it encodes as UTF-8 (cheap for ASCII)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", text)
    return text


def json_safe_data(data: Any) -> dict[str, Any]:
    """A frame payload: a JSON-safe ``dict`` (a non-dict payload is wrapped as ``{"value": ...}``)."""
    if data is None:
        return {}
    safe = json_safe(data)
    if isinstance(safe, dict):
        return safe
    return {"value": safe}


def json_safe(value: Any, _depth: int = 0, _seen: frozenset[int] = frozenset()) -> Any:
    """Return the JSON form of ``value`` (a new structure; the input is never mutated)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if _depth >= _MAX_DEPTH or id(value) in _seen:
        return {"$repr": _short_repr(value)}
    if isinstance(value, dict):
        seen = _seen | {id(value)}
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = clean_text(key) if isinstance(key, str) else _key_text(key)
            if name.lower() in SECRET_KEYS:
                out[name] = REDACTED
            else:
                out[name] = json_safe(item, _depth + 1, seen)
        return out
    if isinstance(value, (list, tuple)):
        seen = _seen | {id(value)}
        return [json_safe(item, _depth + 1, seen) for item in value]
    if isinstance(value, (set, frozenset)):
        seen = _seen | {id(value)}
        items = [json_safe(item, _depth + 1, seen) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, enum.Enum):
        return json_safe(value.value, _depth + 1, _seen)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump) and not isinstance(value, type):
        try:
            return json_safe(model_dump(mode="json"), _depth + 1, _seen | {id(value)})
        except Exception:  # a broken model must not break the run
            return {"$repr": _short_repr(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return json_safe(fields, _depth + 1, _seen | {id(value)})
    if type(value).__name__ in {"Decimal", "UUID"} or hasattr(value, "__fspath__"):
        return str(value)
    return {"$repr": _short_repr(value)}


def _key_text(key: Any) -> str:
    safe = json_safe(key)
    return safe if isinstance(safe, str) else json.dumps(safe, sort_keys=True)


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # repr itself can fail on broken objects
        text = f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    return text if len(text) <= 1000 else text[:997] + "..."


def dumps(value: Any) -> str:
    """Compact JSON for span attributes; valid UTF-8 even when strings hold lone surrogates."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # protobuf (OTLP) cannot carry lone surrogates; \\u escapes keep them exactly.
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text
