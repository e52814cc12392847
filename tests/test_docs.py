"""Docs that state facts the code decides must agree with the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from framescope.types.routing import CHANNELS, routing_table

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_channel_routing_table_in_the_docs_matches_the_code():
    text = (DOCS / "frames.md").read_text()
    documented: dict[str, str] = {}
    for channel, types in re.findall(r"^\| `(\w+)` \| (`.*`) \|$", text, flags=re.MULTILINE):
        if channel in CHANNELS:
            for event_type in re.findall(r"`([^`]+)`", types):
                documented[event_type] = channel
    assert documented == routing_table()


def test_the_readme_sample_runs_as_written(tmp_path):
    import os
    import subprocess
    import sys

    readme = (DOCS.parent / "README.md").read_text()
    (sample,) = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)[:1]
    script = tmp_path / "sample.py"
    script.write_text(sample)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FRAMESCOPE_", "OPENAI_"))}
    env["PYTHONPATH"] = str(DOCS.parent / "plugin")
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "tool_usage_started" in result.stdout and "You said: Summarise" in result.stdout


#: pages whose samples need a running service: their own test starts it and runs every block
RUN_BY_THEIR_OWN_TEST = {"serve.md": "tests/test_serve_docs.py"}


def _python_blocks() -> list[tuple[str, int, str]]:
    """Every ```python block of README.md and docs/*.md: (file, block number, code)."""
    blocks = []
    for path in [DOCS.parent / "README.md", *sorted(DOCS.glob("*.md"))]:
        if path.name in RUN_BY_THEIR_OWN_TEST:
            continue
        for number, code in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.DOTALL), 1):
            blocks.append((path.name, number, code))
    return blocks


@pytest.mark.parametrize(("name", "number", "code"), _python_blocks(), ids=lambda v: str(v)[:30])
def test_every_python_block_of_the_docs_runs_as_written_offline(tmp_path, name, number, code):
    """Each block runs alone, in a fresh process and an empty folder, with no network settings:
    what a reader who copies it gets (offline: the docs use the scripted models)."""
    import os
    import subprocess
    import sys

    script = tmp_path / f"{name}-{number}.py"
    script.write_text(code)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FRAMESCOPE_", "OPENAI_"))}
    env["PYTHONPATH"] = str(DOCS.parent / "plugin")
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{name} block {number} fails as written:\n{code}\n{result.stderr[-3000:]}"
