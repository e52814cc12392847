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
* ints of more than 4,000 digits (which Python will not turn into decimal text) ->
  ``{"$bigint": "<hex>"}``, exact (``int(text, 16)`` reads it back);
* anything else -> ``{"$repr": repr(value)}`` (truncated to 1,000 characters, secrets redacted);
* secrets (:mod:`framescope.types.redaction`): values under a secret-looking key (matched
  after normalising case, separators and spaces: ``api_key``, ``X-Auth-Token``,
  ``aws_secret_access_key``, ...) -> ``"[REDACTED]"``; every value of a ``*headers`` mapping
  except harmless ones (``content-type``, ``accept``, ``user-agent``...) -> ``"[REDACTED]"``;
  secret shapes inside strings (URL userinfo and secret query parameters, ``Bearer ...``,
  ``sk-...``, JWTs...) -> ``[REDACTED]``;
* containers nested deeper than 64 levels -> ``{"$truncated": "nested deeper than 64 levels"}``,
  cycles -> ``{"$cycle": "<type>"}``: neither repeats any content, so depth never gets a
  secret past redaction.
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

from framescope.types.redaction import REDACTED, is_secret_key, normalise_key, redact_text

_MAX_DEPTH = 64
_BIG_INT = 10**4000  # below sys.get_int_max_str_digits() (4300), so int -> str never raises
_SAFE_HEADERS = frozenset(
    {
        "accept",
        "acceptencoding",
        "acceptlanguage",
        "contenttype",
        "contentlength",
        "useragent",
        "xrequestid",
        "xscopeorgid",
        "connection",
        "host",
    }
)
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
        return redact_text(clean_text(value))
    if isinstance(value, _SCALARS):
        if isinstance(value, int) and (value >= _BIG_INT or value <= -_BIG_INT):
            return {"$bigint": hex(value)}
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if id(value) in _seen:
        return {"$cycle": type(value).__name__}
    if _depth >= _MAX_DEPTH:
        return {"$truncated": f"nested deeper than {_MAX_DEPTH} levels"}
    if isinstance(value, dict):
        seen = _seen | {id(value)}
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = clean_text(key) if isinstance(key, str) else _key_text(key)
            if item is not None and not isinstance(item, bool) and is_secret_key(name):
                out[name] = REDACTED
            elif isinstance(item, dict) and normalise_key(name).endswith("headers"):
                out[name] = {
                    str(k): (json_safe(v, _depth + 2, seen) if normalise_key(str(k)) in _SAFE_HEADERS else REDACTED)
                    for k, v in item.items()
                }
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
    text = redact_text(text)
    return text if len(text) <= 1000 else text[:997] + "..."


#: ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` without making an encoder
#: per call (most of the cost of the short values recorded by the dozen per run: ids, seqs)
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps(value: Any) -> str:
    """Compact JSON for span attributes; valid UTF-8 even when strings hold lone surrogates.

    Never raises: a value JSON cannot hold (one that skipped :func:`json_safe`) is written as
    ``{"$unencodable": "<why>"}``, so recording a frame can never fail a run.
    """
    try:
        text = _COMPACT.encode(value)
    except (ValueError, TypeError, RecursionError) as exc:
        return json.dumps({"$unencodable": f"{type(exc).__name__}: {exc}"[:300]}, separators=(",", ":"))
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # protobuf (OTLP) cannot carry lone surrogates; \\u escapes keep them exactly.
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text
