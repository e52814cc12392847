"""The cheap paths of redaction give exactly what a full scan gives.

``redact_text`` skips work three ways (docs/frames.md, "Secrets"): text with none of the
shapes' hint substrings is returned unscanned, a shape whose own hints are absent is not run,
and a text already scanned is answered from a bounded memo.  The CrewAI integration also
checks all the strings of a payload in one joined scan.  Each shortcut is checked here
against a reference that runs every expression on every text.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from typing import Any

import pytest

from framescope.types import redaction
from framescope.types.redaction import REDACTED, may_hold_secret, redact_text

SECRET = "s3cr3tVALUE42xyz"

#: pieces that build texts on both sides of every shortcut (hints, near-misses, separators)
PIECES = [
    "Bearer ",
    "bearer ",
    "BEARER ",
    "Basic ",
    "BASIC ",
    "QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
    "sk-",
    "SK-",
    "abcdEFGH1234ijkl5678",
    "eyJhbGciOiJIUzI1NiJ9.",
    "eyJzdWIiOiIxMjM0In0.",
    "AKIA",
    "ASIA",
    "ABCDEFGHIJKLMNOP",
    "ghp_",
    "gho_",
    "github_pat_",
    "xoxb-",
    "AIza",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "https://",
    "user:pw@",
    "host/x?",
    "api_key",
    "password",
    "Authorization",
    "Proxy-Authorization",
    "token",
    "max_tokens",
    ":",
    "=",
    " ",
    "\n",
    "&",
    '"',
    "weather",
    "high",
    "1",
    "-",
    ".",
    "_x",
    "9a",
    "+",
    "ftp",
    "://",
    "@",
    "/",
    "é",
    "--password",
    "\t",
    "\u00a0",  # whitespace to a regular expression's \s, not to a byte-minded scan
    '"api_key"',
    "'",
    SECRET,
]


#: the single expressions the linear scans replaced: the reference for what they must find
REFERENCE_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<userinfo>[^/\s@?#]+)@")
REFERENCE_PAIR = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)(?P<sep>\s*[=:]\s*|\"\s*:\s*)")


def reference_pairs(text: str) -> str:
    parts: list[str] = []
    position = 0
    for match in REFERENCE_PAIR.finditer(text):
        if match.start() < position or not redaction.is_secret_key(match.group("name")):
            continue
        value = redaction._VALUE.match(text, match.end())
        if value is None or value.group("value").startswith(("//", REDACTED)):
            continue
        parts += [text[position : value.start("value")], REDACTED]
        position = value.end("value")
    return "".join([*parts, text[position:]]) if parts else text


def full_scan(text: str) -> str:
    """Every expression on ``text``, no hint, gate or memo: what the shortcuts must equal."""
    _, shapes = redaction._rules()
    for shape in shapes:
        text = shape.sub(redaction._redact_shape, text)
    text = REFERENCE_USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    text = redaction._AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return reference_pairs(text)


def generated_texts(count: int, seed: int = 20261130) -> list[str]:
    chooser = random.Random(seed)
    return ["".join(chooser.choice(PIECES) for _ in range(chooser.randint(1, 8))) for _ in range(count)]


def test_every_shape_has_hints_and_its_samples_carry_them() -> None:
    assert len(redaction._SHAPE_HINTS) == len(redaction.VALUE_PATTERNS)
    samples = [
        f"Bearer {SECRET}",
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        "sk-" + "a1B2c3D4e5F6g7H8",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig",
        "AKIAABCDEFGHIJKLMNOP",
        "ghp_" + "a" * 30,
        "github_pat_" + "b" * 30,
        "xoxb-1234567890abc",
        "AIza" + "c" * 35,
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
    ]
    for index, (sample, hints) in enumerate(zip(samples, redaction._SHAPE_HINTS, strict=True)):
        assert redaction._rules()[1][index].search(sample), sample
        assert any(hint in sample.lower() for hint in hints), sample
        assert may_hold_secret(sample)
        assert redact_text(sample) != sample


def test_the_quick_check_knows_every_shape_hint() -> None:
    """``may_hold_secret`` is written out by hand for speed: it must not forget a shape."""
    for hints in redaction._SHAPE_HINTS:
        for hint in hints:
            assert may_hold_secret(f"xx{hint.upper()}yy") and may_hold_secret(f"xx{hint}yy"), hint
            assert redaction._has_shape_hint(f"xx{hint}yy"), hint  # the gate before the shapes run


@pytest.mark.parametrize("text", [f"BEARER {SECRET}", f"bearer {SECRET}", "BASIC QWxhZGRpbjpvcGVuIHNlc2FtZQ=="])
def test_case_insensitive_shapes_are_found_in_any_case(text: str) -> None:
    assert SECRET not in redact_text(text) and "QWxhZGRp" not in redact_text(text)


def test_the_shortcuts_equal_a_full_scan_on_generated_texts() -> None:
    redaction.reset_rules_cache()
    for text in generated_texts(6000):
        expected = full_scan(text)
        assert redact_text(text) == expected, text
        assert redact_text(text) == expected, text  # the second time, from the memo
        if not may_hold_secret(text):
            assert expected == text, text


def test_one_scan_of_joined_texts_never_misses_what_a_scan_of_each_finds() -> None:
    """``left_as_they_are`` answers for many texts with one scan of them joined: when it says
    they stay as they are, a full scan of each must agree; and it must say so often."""
    chooser = random.Random(7)
    texts = generated_texts(3000, seed=11)
    redaction.reset_rules_cache()
    said_unchanged = 0
    for _ in range(3000):  # texts recur: later answers also come from texts remembered unchanged
        group = chooser.sample(texts, chooser.randint(1, 5))
        redaction._MEMO.clear()
        if redaction.left_as_they_are(group):
            said_unchanged += 1
            assert all(full_scan(text) == text for text in group), group
    assert said_unchanged > 300  # the shortcut is taken, not always declined
    assert redaction._UNCHANGED and all(full_scan(text) == text for text in redaction._UNCHANGED)


def test_texts_remembered_unchanged_are_scanned_again_once_the_rules_change() -> None:
    texts = ["ticket ZZ-4242 opened", "by the support desk"]
    redaction.reset_rules_cache()
    assert redaction.left_as_they_are(texts) and texts[0] in redaction._UNCHANGED
    try:
        redaction.add_redaction_rules(patterns=[r"\bZZ-\d{4}\b"])
        assert not redaction._UNCHANGED
        assert not redaction.left_as_they_are(texts)
    finally:
        redaction._extra_values.clear()
        redaction.reset_rules_cache()
    assert redaction.left_as_they_are(texts)


def test_a_scan_made_while_the_rules_change_is_not_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another thread adding a rule mid-scan: what the scan found under the old rules is not
    kept, neither as unchanged nor in the memo (the next call scans under the new rules)."""
    scan = redaction._scan

    def scan_while_rules_change(text: str, low: str) -> str:
        redaction._forget()  # what add_redaction_rules and reset_rules_cache do
        return scan(text, low)

    redaction.reset_rules_cache()
    monkeypatch.setattr(redaction, "_scan", scan_while_rules_change)
    joined = ["ticket: ZZ-4242", "opened: today"]
    assert redaction.left_as_they_are(joined)
    assert not redaction._UNCHANGED
    assert redact_text("ticket: ZZ-4243") == "ticket: ZZ-4243"
    assert "ticket: ZZ-4243" not in redaction._MEMO


def test_the_memo_is_emptied_when_the_rules_change() -> None:
    text = "ticket ZZ-4242 opened"
    assert redact_text(text) == text
    try:
        redaction.add_redaction_rules(patterns=[r"\bZZ-\d{4}\b"])
        assert redact_text(text) == f"ticket {REDACTED} opened"
    finally:
        redaction._extra_values.clear()
        redaction.reset_rules_cache()
    assert redact_text(text) == text


def test_the_memo_stays_bounded() -> None:
    redaction.reset_rules_cache()
    for index in range(redaction._MEMO_ENTRIES * 2 + 10):
        redact_text(f"note {index}: nothing secret here")
    assert 0 < len(redaction._MEMO) <= redaction._MEMO_ENTRIES
    for index in range(200):  # long texts: the memo is bounded in characters too
        redact_text(f"note {index}: " + "z" * 16000)
    assert sum(map(len, redaction._MEMO)) <= redaction._MEMO_CHARS_MAX + 16100
    long_text = "x: " + "y" * (redaction._MEMO_TEXT_MAX + 1)
    redact_text(long_text)
    assert long_text not in redaction._MEMO
    for index in range(redaction._MEMO_ENTRIES * 2 + 10):  # and so is the set of texts found unchanged
        assert redaction.left_as_they_are([f"note {index}: nothing secret", "z" * 2000])
    assert 0 < len(redaction._UNCHANGED) <= redaction._MEMO_ENTRIES
    assert redaction._unchanged_chars == sum(map(len, redaction._UNCHANGED)) <= redaction._MEMO_CHARS_MAX + 2100
    redaction.left_as_they_are([long_text])
    assert long_text not in redaction._UNCHANGED


class TestPayloadCleaning:
    """The CrewAI integration's one-pass cleaning of a frame's data (``without_secrets``)."""

    @pytest.fixture(autouse=True)
    def _crewai(self) -> None:
        pytest.importorskip("crewai")

    def clean(self, data: Any) -> Any:
        from framescope.integrations.crewai.frames import without_secrets

        return without_secrets(data)

    def test_data_with_nothing_to_hide_is_returned_as_it_is(self) -> None:
        data = {"call_id": "fa2a4a33-16a2", "chunk": "tok0 ", "nested": {"list": ["a: b", {"x": 1}]}, "n": None}
        assert self.clean(data) is data

    def test_secrets_at_any_depth_are_redacted_and_the_input_is_untouched(self) -> None:
        data = {
            "agent": {"llm": {"api_key": SECRET, "model": "gpt"}, "tools": [{"description": f"uses Bearer {SECRET}"}]},
            "headers": [{"Authorization": SECRET}],
            "text": f"see https://u:{SECRET}@host/x",
            "password": None,
            "ok": "plain",
        }
        snapshot = repr(data)
        cleaned = self.clean(data)
        assert repr(data) == snapshot
        assert SECRET not in repr(cleaned)
        assert cleaned["agent"]["llm"] == {"api_key": REDACTED, "model": "gpt"}
        assert cleaned["agent"]["tools"][0]["description"] == f"uses Bearer {REDACTED}"
        assert cleaned["headers"] == [{"Authorization": REDACTED}]
        assert cleaned["password"] is None and cleaned["ok"] == "plain"
        assert list(cleaned) == list(data)  # key order kept

    def test_values_of_every_type_under_a_secret_key_are_redacted_but_null(self) -> None:
        data = {"api_key": 123456, "secret": True, "auth_token": ["a"], "cookie": {"s": "x"}, "password": None, "n": 7}
        cleaned = self.clean(data)
        assert cleaned == {
            "api_key": REDACTED,
            "secret": REDACTED,
            "auth_token": REDACTED,
            "cookie": REDACTED,
            "password": None,
            "n": 7,
        }

    def test_the_joined_scan_equals_cleaning_each_string(self) -> None:
        for text in generated_texts(500, seed=7):
            data = {"a": text, "b": "plain words", "c": [text, "more"]}
            cleaned = self.clean(data)
            assert cleaned["a"] == full_scan(text) and cleaned["c"] == [full_scan(text), "more"]


def test_long_runs_are_scanned_in_linear_time() -> None:
    """A long run of name characters near a ':' (a base64 image after ``data:``, a dashed id
    after a URL) once made the scan quadratic: minutes for a few hundred KiB.  Here 4 MiB of
    each must come back redacted; run in a child so a regression fails instead of hanging."""
    code = (
        "import sys; from framescope.types.redaction import redact_text\n"
        "blob = 'QUJD' * (1 << 20)\n"
        "out = redact_text('data:image/png;base64,' + blob + ' password=hunter2')\n"
        "assert out.endswith('password=[REDACTED]'), out[-40:]\n"
        "out = redact_text('see https://u:pw@h/ ' + 'a-' * (1 << 21) + '://x')\n"
        "assert out.startswith('see https://[REDACTED]@h/'), out[:40]\n"
        "out = redact_text('1' * (1 << 22) + 'a://user@h')\n"
        "assert out.endswith('1a://user@h'), out[-20:]\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
