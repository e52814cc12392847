"""docs/crewai.md's samples run as printed (against real CrewAI, offline)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.crewai

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "crewai.md"


def test_the_crewai_guide_samples_run_as_written(tmp_path: Path) -> None:
    text = DOC.read_text()
    python_blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    commands = [
        line.split("#")[0].strip()
        for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)
        for line in block.splitlines()
        if line.startswith("framescope ")
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FRAMESCOPE_", "OPENAI_", "CREWAI_"))}
    env["PYTHONPATH"] = str(ROOT / "plugin")
    env["CREWAI_DISABLE_TELEMETRY"] = "true"
    script = tmp_path / "sample.py"
    script.write_text(python_blocks[0])
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "report on facts" in result.stdout and "report_progress" in result.stdout
    cli = Path(sys.executable).with_name("framescope")
    for command in commands:
        done = subprocess.run(
            [str(cli), *command.split()[1:]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert "flow_started" in done.stdout
    follow_sample = tmp_path / "follow.py"  # what a follower does with it: test_crewai_robustness.py
    follow_sample.write_text(python_blocks[1] + "\nassert not session.is_exhausted\nsession.close()\n")
    result = subprocess.run(
        [sys.executable, str(follow_sample)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
