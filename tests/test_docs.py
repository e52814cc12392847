"""Docs that state facts the code decides must agree with the code."""

from __future__ import annotations

import re
from pathlib import Path

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
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "tool_usage_started" in result.stdout and "You said: Summarise" in result.stdout
