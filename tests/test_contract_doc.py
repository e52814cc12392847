"""Every contract code the code cites (C1–C11, D1–D6, P1–P9) is a section of docs/contract.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = re.compile(r"(?<![\w-])([CDP](?:1[01]|[1-9]))(?![\w-])")


def _defined_codes() -> set[str]:
    text = (ROOT / "docs" / "contract.md").read_text()
    headings = re.findall(r"^### ([CD]\d+) ", text, flags=re.MULTILINE)
    properties = re.findall(r"^- \*\*(P\d) ", text, flags=re.MULTILINE)
    return {*headings, *properties}


def test_the_contract_page_defines_every_point_of_the_contract() -> None:
    defined = _defined_codes()
    assert {f"C{n}" for n in range(1, 12)} <= defined
    assert {f"D{n}" for n in range(1, 7)} <= defined
    assert {f"P{n}" for n in range(1, 10)} <= defined


def test_every_code_cited_in_the_package_is_defined() -> None:
    defined = _defined_codes()
    cited: dict[str, str] = {}
    for path in (ROOT / "plugin" / "framescope").rglob("*.py"):
        for line_number, line in enumerate(path.read_text().splitlines(), 1):
            for code in CODE.findall(line):
                cited.setdefault(code, f"{path.relative_to(ROOT)}:{line_number}")
    assert cited, "the package cites no contract code at all: the scan is broken"
    undefined = {code: where for code, where in cited.items() if code not in defined}
    assert undefined == {}


def test_nothing_points_outside_the_repository_for_the_contract() -> None:
    for path in [*(ROOT / "plugin" / "framescope").rglob("*.py"), ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = path.read_text()
        assert "docs/channels.md" not in text, path
