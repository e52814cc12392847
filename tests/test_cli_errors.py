"""Item 9 of the hardening issue: every CLI error is one line saying what to do.

The broken-pipe case runs the real command in a subprocess piped into a reader that stops
after one line, as ``| head -1`` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import framescope
from framescope.cli import main

from support.recorded_runs import stream_named_runs

PLUGIN = str(Path(__file__).resolve().parents[1] / "plugin")


@pytest.fixture
def three_runs(trace_file: Path) -> tuple[Path, list[str]]:
    ids = stream_named_runs("first", "second", "third")
    framescope.flush()
    return trace_file, ids


def one_line_error(result, *needles: str) -> str:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_deeply_nested_json_is_one_line(tmp_path):
    path = tmp_path / "nested.json"
    path.write_text("[" * 200_000)
    one_line_error(CliRunner().invoke(main, ["replay", str(path)]), "Error:")


def test_speed_zero_says_what_to_do_without_python_words(three_runs):
    path, _ = three_runs
    line = one_line_error(CliRunner().invoke(main, ["replay", str(path), "--speed", "0"]), "--speed 0", "above 0")
    assert "None" not in line


def test_non_hex_trace_ids_are_refused(three_runs):
    path, _ = three_runs
    one_line_error(CliRunner().invoke(main, ["replay", str(path), "--trace-id", "not-hex!"]), "32 hex characters")
    with pytest.raises(ValueError, match="32 hex characters"):
        framescope.replay.from_file(path, "xyz")


def test_unknown_trace_lists_the_newest_first(three_runs):
    path, ids = three_runs
    line = one_line_error(CliRunner().invoke(main, ["replay", str(path), "--trace-id", "ab" * 16]), "newest first")
    assert line.index(ids[2]) < line.index(ids[1]) < line.index(ids[0])


def test_the_run_id_hint_is_a_runnable_command(three_runs):
    path, _ = three_runs
    line = one_line_error(CliRunner().invoke(main, ["replay", str(path), "--run-id", "nope"]))
    assert f"framescope replay {path} --list" in line


def test_cli_errors_use_cli_words(tmp_path):
    line = one_line_error(CliRunner().invoke(main, ["replay", "http://127.0.0.1:9/"]), "--trace-id")
    assert "find_traces()" not in line and "trace_id (" not in line
    torn = tmp_path / "torn.jsonl"
    torn.write_text('{"resourceSpans": [')
    line = one_line_error(CliRunner().invoke(main, ["replay", str(torn)]), "--allow-torn")
    assert "allow_torn" not in line


def test_a_non_trace_file_is_a_short_line(tmp_path):
    path = tmp_path / "photo.bin"
    path.write_bytes(b"\n\x89PNG garbage " * 1000)
    line = one_line_error(CliRunner().invoke(main, ["replay", str(path)]), "not a readable trace")
    assert len(line) < 400


def test_other_url_schemes_are_not_paths():
    one_line_error(CliRunner().invoke(main, ["replay", "ftp://example.com/t.json"]), "ftp:// sources are not supported")


def test_list_into_a_reader_that_stops_early_is_no_error(three_runs):
    path, _ = three_runs
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FRAMESCOPE_"))}
    env["PYTHONPATH"] = PLUGIN
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from framescope.cli import main; main()",
            "replay",
            str(path),
            "--list",
            "--format",
            "jsonl",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None and child.stderr is not None
    first = child.stdout.readline()
    child.stdout.close()  # like `| head -1`
    stderr = child.stderr.read().decode()
    assert child.wait(30) == 0, stderr
    assert json.loads(first)["run_id"]
    assert "Broken pipe" not in stderr and "Error" not in stderr


def test_doctor_calls_a_directory_what_it_is(tmp_path, monkeypatch):
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FRAMESCOPE_TRACE_FILE", str(tmp_path))
    framescope.configure(replace=True)
    try:
        result = CliRunner().invoke(main, ["doctor", "--json"])
    finally:
        framescope.shutdown()
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    (check,) = [c for c in document["checks"] if c["name"] == "trace file"]
    assert check["ok"] is False and "is a directory" in check["detail"]


def test_the_demo_prints_next_commands_unwrapped_runnable_and_no_jaeger_link_for_a_file_only_run(
    trace_file, monkeypatch
):
    import shlex

    monkeypatch.setenv("COLUMNS", "60")  # a narrow terminal must not split a command
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    result = CliRunner().invoke(main, ["demo", "--token-delay", "0", "--replay-speed", "0"])
    assert result.exit_code == 0, result.output
    lines = result.output.split("Next", 1)[1].strip().splitlines()
    assert "16686" not in result.output  # no Jaeger link: this run went only to the file
    replay_line = next(line for line in lines if line.strip().startswith("replay it again:"))
    command = shlex.split(replay_line.split(":", 1)[1])
    assert "--trace-id" in command and len(command[command.index("--trace-id") + 1]) == 32
    start = command.index("replay")
    again = CliRunner().invoke(main, command[start:])  # runnable as printed
    assert again.exit_code == 0, again.output


def test_the_demo_names_a_compose_file_that_exists_wherever_it_runs(trace_file, monkeypatch, tmp_path):
    import shlex

    monkeypatch.chdir(tmp_path)  # not the checkout: a relative collector-config/ path would not exist here
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    result = CliRunner().invoke(main, ["demo", "--token-delay", "0", "--replay-speed", "0"])
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.output.splitlines() if "docker compose" in line]
    command = shlex.split(line.split(":", 1)[1])
    compose = Path(command[command.index("-f") + 1])
    assert compose.is_file() and compose.name == "compose.yaml"
