"""Keeping credentials out of frames and traces: secret keys, secret URLs and secret-shaped values.

Why more than a list of exact key names: real payloads spell the same secret many ways
(``X-Auth-Token``, ``"Authorization "``, ``aws_secret_access_key``, ``db_password``), put it in
a URL (``?api_key=...``, ``https://user:pass@host``) or in free text (an error message quoting
a header), or nest it deep.  So (docs/frames.md, "Secrets", states the rule):

* a key is *normalised* (lower case, every character that is not a letter or a digit
  removed: ``"X-Auth-Token "`` -> ``xauthtoken``) and matched against :data:`KEY_PATTERNS`,
  shell-style globs over normalised keys; a matching key's value is ``"[REDACTED]"`` unless it
  is a number, a bool or null (``max_tokens`` is no secret);
* every string is scanned for secret *shapes*: URL userinfo (``scheme://user:pass@``), URL
  query parameters whose name matches the key patterns, ``Bearer <token>``, ``sk-...`` API
  keys, JWTs, AWS access key ids, GitHub/Slack/Google key formats, and ``name=value`` /
  ``name: value`` pairs whose name matches the key patterns;
* users extend both lists: ``FRAMESCOPE_REDACT_KEYS`` (comma-separated globs) and
  ``FRAMESCOPE_REDACT_PATTERNS`` (a JSON list of regular expressions), or
  :func:`add_redaction_rules` from code.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import threading
from collections.abc import Iterable
from functools import lru_cache

__all__ = [
    "KEY_PATTERNS",
    "REDACTED",
    "VALUE_PATTERNS",
    "add_redaction_rules",
    "is_secret_key",
    "left_as_they_are",
    "may_hold_secret",
    "normalise_key",
    "redact_text",
    "redact_url",
]

REDACTED = "[REDACTED]"

#: Globs over normalised keys (lower case, letters and digits only) whose values are secrets.
KEY_PATTERNS: tuple[str, ...] = (
    "*password*",
    "*passwd*",
    "pwd",
    "*pwd",
    "*passphrase*",
    "*secret*",
    "*token",
    "*credential*",
    "*authorization*",
    "auth",
    "*authkey*",
    "bearer",
    "*apikey*",
    "*privatekey*",
    "*accesskey*",
    "*subscriptionkey*",
    "*signingkey*",
    "*encryptionkey*",
    "*cookie*",
    "*signature",
    "sig",
    "jwt",
    "dsn",
)

#: Normalised keys that match a pattern above but are no secret (framescope's own flow resume
#: handle, token counts).
NOT_SECRET_KEYS: frozenset[str] = frozenset({"resumetoken", "maxtoken", "maxtokens", "nexttoken", "pagetoken"})

#: Regular expressions for secret-shaped text; the whole match (or group ``secret``) is replaced.
VALUE_PATTERNS: tuple[str, ...] = (
    r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/=\-]{6,})",
    r"(?i)\bbasic\s+(?P<secret>[A-Za-z0-9+/]{8,}={0,2})",
    r"\bsk-[A-Za-z0-9_\-]{12,}",
    r"\beyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*",
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    r"\bgh[pousr]_[A-Za-z0-9]{20,}",
    r"\bgithub_pat_[A-Za-z0-9_]{20,}",
    r"\bxox[abprs]-[A-Za-z0-9\-]{10,}",
    r"\bAIza[0-9A-Za-z_\-]{30,}",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
)

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# Both scans below look at each maximal run of name characters at most once: linear in the
# text.  (A single expression like "[A-Za-z_][A-Za-z0-9_.-]*[=:]" restarts at every character
# of a long run that is not followed by a separator: quadratic, so a base64 image after
# "data:" took minutes.)
# scheme://userinfo@ : the scheme is a run of these characters that starts with a letter at a
# word boundary; userinfo is everything up to the "@" before the host part.
_SCHEME_RUN = re.compile(r"[a-zA-Z0-9+.\-]+")
_USERINFO_AT = re.compile(r"[^/\s@?#]+@")
# name=value in URLs and text; name: value in headers and messages.  A name starts with a
# letter or "_" and runs on through letters, digits, "_", "." and "-"; it is found backwards
# from its separator.
_NAME_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NAME_CHARS = _NAME_FIRST | frozenset("0123456789.-")
_SEPARATOR_CHAR = re.compile(r"[=:]")
_WORD = re.compile(r"\w")
_VALUE = re.compile(r"[\"']?(?P<value>[^\s\"'&#,;]+)")
# An Authorization header's value runs to the end of the line ("token abc", "Digest ...").
_AUTH_HEADER = re.compile(r"(?i)\b((?:proxy-)?authorization)(\s*[:=]\s*)(?!\[REDACTED\]$)([^\r\n\"',;]+)")
_lock = threading.Lock()
_extra_keys: list[str] = []
_extra_values: list[str] = []
_compiled: tuple[tuple[str, ...], tuple[re.Pattern[str], ...]] | None = None


def normalise_key(key: str) -> str:
    """``key`` as matched: lower case, letters and digits only (``"X-Api-Key "`` -> ``xapikey``)."""
    return _NON_ALNUM.sub("", key.lower())


def add_redaction_rules(*, keys: Iterable[str] = (), patterns: Iterable[str] = ()) -> None:
    """Add key globs (over normalised keys) and value regular expressions, process-wide.

    For what the environment variables cannot say, e.g. a company's own token format.
    """
    new_patterns = list(patterns)
    for pattern in new_patterns:
        re.compile(pattern)  # a bad expression fails here, at the caller, not mid-run
    global _compiled
    with _lock:
        _extra_keys.extend(normalise_key(k) if not any(c in k for c in "*?[") else k.lower() for k in keys)
        _extra_values.extend(new_patterns)
        _compiled = None
        _forget()
    is_secret_key.cache_clear()


def _rules() -> tuple[tuple[str, ...], tuple[re.Pattern[str], ...]]:
    global _compiled
    compiled = _compiled
    if compiled is not None:
        return compiled
    with _lock:
        env_keys = [k.strip().lower() for k in os.environ.get("FRAMESCOPE_REDACT_KEYS", "").split(",") if k.strip()]
        keys = KEY_PATTERNS + tuple(_extra_keys) + tuple(env_keys)
        values = list(VALUE_PATTERNS) + _extra_values + _env_value_patterns()
        _compiled = (keys, tuple(re.compile(v) for v in values))
        return _compiled


def _env_value_patterns() -> list[str]:
    raw = os.environ.get("FRAMESCOPE_REDACT_PATTERNS", "").strip()
    if not raw:
        return []
    try:
        patterns = json.loads(raw)
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise ValueError("not a list of strings")
        for pattern in patterns:
            re.compile(pattern)
    except (ValueError, re.error) as exc:
        from framescope.errors import ConfigurationError

        raise ConfigurationError(
            f"FRAMESCOPE_REDACT_PATTERNS must be a JSON list of regular expressions ({exc}); "
            'for example ["acme_[0-9a-f]{32}"]'
        ) from None
    return patterns


def reset_rules_cache() -> None:
    """Re-read the environment variables (tests, or after changing them at run time)."""
    global _compiled
    with _lock:
        _compiled = None
        _forget()
    is_secret_key.cache_clear()


@lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """Whether a payload key names a secret (after normalising it)."""
    name = normalise_key(key)
    if not name or name in NOT_SECRET_KEYS:
        return False
    keys, _ = _rules()
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in keys)


def may_hold_secret(text: str) -> bool:
    """False when :func:`redact_text` would certainly return ``text`` unchanged.

    Every built-in shape contains one of a few substrings (compared in lower case, so ``BEARER x``
    counts); text with none of them (most payload strings: ids, words, token chunks) needs no
    regular expression at all.  The user's own shapes have no such hint.  Callers with many
    strings join them with ``"\\x00"`` (no hint spans it) and ask once.  Written as one chain
    of ``in`` tests: several times faster than a regular expression alternation or a generator.
    """
    _, shapes = _rules()
    return len(shapes) > len(VALUE_PATTERNS) or _has_hint(text.lower())


def _has_hint(low: str) -> bool:
    """Whether lower-cased text holds a marker of a built-in shape (or a ``:``/``=`` pair)."""
    return ":" in low or "=" in low or _has_shape_hint(low)


def _has_shape_hint(low: str) -> bool:
    """Whether lower-cased text holds a marker of a built-in shape (without one, none can match)."""
    return (
        "bearer" in low
        or "basic" in low
        or "sk-" in low
        or "eyj" in low
        or "akia" in low
        or "asia" in low
        or "gh" in low
        or "github_pat_" in low
        or "xox" in low
        or "aiza" in low
        or "-----begin" in low
    )


#: For each of :data:`VALUE_PATTERNS`, in order: substrings (of the lower-cased text) one of
#: which any text the shape matches contains.  A shape whose hints are all absent cannot match,
#: so its expression is not run (most of the cost of a scan: many texts hold a ":" but no shape).
_SHAPE_HINTS: tuple[tuple[str, ...], ...] = (
    ("bearer",),
    ("basic",),
    ("sk-",),
    ("eyj",),
    ("akia", "asia"),
    ("gh",),
    ("github_pat_",),
    ("xox",),
    ("aiza",),
    ("-----begin",),
)
#: Texts already scanned and what they became: agents, tasks, tools and conversations repeat the
#: same long strings in event after event, run after run.  Bounded (entries, text length and
#: characters in all: a few MiB at most), emptied when full and when the rules change.
_MEMO: dict[str, str] = {}
_MEMO_ENTRIES = 4096
_MEMO_TEXT_MAX = 16384
_MEMO_CHARS_MAX = 1 << 20
_memo_chars = 0


def redact_text(text: str) -> str:
    """``text`` with every secret shape in it replaced by ``[REDACTED]`` (cheap when none can be there)."""
    _, shapes = _rules()
    custom = len(shapes) > len(VALUE_PATTERNS)  # the user's shapes have no cheap hint
    if not custom and len(text) < 6:
        return text
    low = text.lower()
    if not custom and not _has_hint(low):
        return text
    known = _MEMO.get(text)
    if known is not None:
        return known
    generation = _generation
    redacted = _scan(text, low)
    if len(text) <= _MEMO_TEXT_MAX:
        _remember(text, redacted, generation)
    return redacted


def _scan(text: str, low: str) -> str:
    """:func:`redact_text`'s work, without its memo: ``low`` is ``text.lower()``."""
    _, shapes = _rules()
    custom = len(shapes) > len(VALUE_PATTERNS)
    if custom or _has_shape_hint(low):  # most texts get here for a ":" or "=" only
        # shapes first: "Authorization: Bearer x" must lose x, not the word Bearer
        for index, shape in enumerate(shapes):
            if index < len(_SHAPE_HINTS):  # the user's own shapes have no hints: always run
                for hint in _SHAPE_HINTS[index]:
                    if hint in low:
                        break
                else:
                    continue
            text = shape.sub(_redact_shape, text)
    if "://" in text:
        text = _redact_userinfo(text)
    if "=" in text or ":" in text:
        if "authorization" in low:
            text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
        text = _redact_pairs(text)
    return text


def left_as_they_are(texts: list[str]) -> bool:
    """Whether :func:`redact_text` returns every one of ``texts`` unchanged: one scan of them all.

    Texts already found unchanged (a bounded set, emptied with the memo) are not scanned again:
    an agent's role, a task's description and a tool's schema come back in event after event.
    The others are joined with ``"\\x00"``, which no built-in shape, scheme or name contains and
    which, like the start or end of a text, is no word character: whatever would change in one
    text changes in the joined one too (a match that now runs across two texts only makes the
    answer False, and the caller scans each).  The user's own expressions promise no such
    thing, so with those the answer is True only when no text can hold a secret at all.
    """
    known = _UNCHANGED
    unknown = [text for text in texts if text not in known]
    if not unknown:
        return True
    generation = _generation
    if len(_rules()[1]) > len(VALUE_PATTERNS):
        return False
    joined = unknown[0] if len(unknown) == 1 else "\x00".join(unknown)
    low = joined.lower()
    if _has_hint(low) and _scan(joined, low) != joined:
        return False
    _remember_unchanged(unknown, generation)
    return True


#: Texts :func:`left_as_they_are` found unchanged.  Short ones count as much as long ones: most
#: of an event's strings are names, models and flags that come back in every event, and each
#: one left out makes the joined scan of its container run again.  Bounded like :data:`_MEMO`
#: (CrewAI's frame data holds no event ids or times, so few new texts come per run).
_UNCHANGED: set[str] = set()
_unchanged_chars = 0
#: Counts the times the rules changed: a scan made under older rules is not remembered.
_generation = 0


def _remember_unchanged(texts: list[str], generation: int) -> None:
    global _unchanged_chars
    if generation != _generation:
        return  # scanned under rules that changed since
    for text in texts:
        size = len(text)
        if size > _MEMO_TEXT_MAX:
            continue
        if len(_UNCHANGED) >= _MEMO_ENTRIES or _unchanged_chars >= _MEMO_CHARS_MAX:
            _UNCHANGED.clear()
            _unchanged_chars = 0
        _UNCHANGED.add(text)
        _unchanged_chars += size


def _forget() -> None:
    """Empty the memos (the rules changed: what was unchanged may not be any more)."""
    global _memo_chars, _unchanged_chars, _generation
    _generation += 1
    _MEMO.clear()
    _UNCHANGED.clear()
    _memo_chars = _unchanged_chars = 0


def _remember(original: str, redacted: str, generation: int) -> None:
    global _memo_chars
    if generation != _generation:
        return  # scanned under rules that changed since
    if len(_MEMO) >= _MEMO_ENTRIES or _memo_chars >= _MEMO_CHARS_MAX:
        _MEMO.clear()
        _memo_chars = 0
    _MEMO[original] = redacted
    _memo_chars += len(original) + (0 if redacted is original else len(redacted))


def redact_url(url: str) -> str:
    """A URL without its userinfo and with secret query parameters redacted."""
    return redact_text(url)


def _redact_userinfo(text: str) -> str:
    """Replace the userinfo of every ``scheme://userinfo@host`` with ``[REDACTED]``."""
    parts: list[str] = []
    position = 0
    for run in _SCHEME_RUN.finditer(text):
        end = run.end()
        if run.start() < position or not text.startswith("://", end):
            continue
        start = _scheme_start(text, run.start(), end)
        userinfo = _USERINFO_AT.match(text, end + 3) if start is not None else None
        if userinfo is None:
            continue
        parts.append(text[position : end + 3])
        parts.append(REDACTED + "@")
        position = userinfo.end()
    if not parts:
        return text
    parts.append(text[position:])
    return "".join(parts)


def _scheme_start(text: str, start: int, end: int) -> int | None:
    """The first letter in ``text[start:end]`` that begins a word (where a scheme can begin)."""
    for index in range(start, end):
        letter = text[index].isascii() and text[index].isalpha()
        if letter and (index == 0 or not _WORD.match(text, index - 1)):
            return index
    return None


def _redact_pairs(text: str) -> str:
    """Replace the value of every ``name=value`` / ``name: value`` whose name is a secret key.

    Found from the separators (``=``, ``:``), which are few, rather than from the names: the
    name is the run of name characters just before a separator (whitespace between, or a
    closing quote before a ``:``).  Each run is looked at once, by the separator right after
    it, so the scan stays linear; most words of a text are never visited.
    """
    parts: list[str] = []
    position = 0
    for separator in _SEPARATOR_CHAR.finditer(text):
        at = separator.start()
        end = at
        while end and text[end - 1].isspace():
            end -= 1
        if end and text[end - 1] == '"' and text[at] == ":":
            end -= 1  # "name": value
        start = end
        while start and text[start - 1] in _NAME_CHARS:
            start -= 1
        first = start
        while first < end and text[first] not in _NAME_FIRST:
            first += 1
        if first == end or first < position or not is_secret_key(text[first:end]):
            continue
        after = at + 1
        while after < len(text) and text[after].isspace():
            after += 1
        value = _VALUE.match(text, after)
        if value is None or value.group("value").startswith(("//", REDACTED)):
            continue
        parts.append(text[position : value.start("value")])
        parts.append(REDACTED)
        position = value.end("value")
    if not parts:
        return text
    parts.append(text[position:])
    return "".join(parts)


def _redact_shape(match: re.Match[str]) -> str:
    secret = match.groupdict().get("secret")
    if secret:
        start = match.start("secret") - match.start()
        return match.group(0)[:start] + REDACTED
    return REDACTED
