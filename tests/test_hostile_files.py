"""Item 7 of the hardening issue: damaged and hostile trace files.

The format is recognised from a bounded prefix, a line is never held whole beyond the line
limit, and what is not a trace is refused at once with one clear line.
"""

from __future__ import annotations

import json
import logging
import tracemalloc
from pathlib import Path

import pytest

import framescope
from framescope import replay
from framescope.replay import TornTraceFileError, TraceFormatError
from framescope.replay.limits import DETECT_PREFIX_BYTES

from support.recorded_runs import stream_named_runs


@pytest.fixture
def two_runs(trace_file: Path) -> tuple[Path, list[str]]:
    ids = []
    for name in ("one", "two"):  # one flush per run: each run is a line of its own
        ids += stream_named_runs(name)
        framescope.flush()
    framescope.shutdown()
    return trace_file, ids


def listed(path: Path) -> set[str]:
    return {run.trace_ids[0] for run in replay.list_runs(path)}


def test_a_trailing_stray_byte_does_not_turn_json_lines_into_protobuf(two_runs, caplog):
    path, ids = two_runs
    with path.open("ab") as file:
        file.write(b"\xff")
    with caplog.at_level(logging.WARNING, logger="framescope.replay"):
        assert listed(path) == set(ids)
    assert "not valid UTF-8" in caplog.text


def test_a_stray_byte_inside_a_line_loses_that_line_only(two_runs, caplog):
    path, ids = two_runs
    lines = path.read_bytes().splitlines(keepends=True)
    damaged = lines[0][:50] + b"\x00\xff" + lines[0][52:]
    path.write_bytes(damaged + b"".join(lines[1:]))
    with caplog.at_level(logging.WARNING, logger="framescope.replay"):
        runs = replay.list_runs(path)
    assert ids[1] in {run.trace_ids[0] for run in runs}
    assert "line 1" in caplog.text


def test_a_garbage_line_in_the_middle_is_skipped(two_runs, caplog):
    path, ids = two_runs
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + b"garbage \x01\x02 not json\n" + b"".join(lines[1:]))
    with caplog.at_level(logging.WARNING, logger="framescope.replay"):
        assert listed(path) == set(ids)
    assert "skipped damaged line 2" in caplog.text


def test_a_gigabyte_of_zeros_is_refused_from_its_first_bytes(tmp_path):
    path = tmp_path / "zeros.jsonl"
    with path.open("wb") as file:
        file.truncate(1024**3)  # sparse: costs no disk, reads as a gigabyte of zero bytes
    tracemalloc.start()
    try:
        with pytest.raises(TraceFormatError, match="not a trace: it starts with bytes 00 00") as info:
            replay.load_records(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * DETECT_PREFIX_BYTES + 1024 * 1024
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


def test_a_huge_line_is_skipped_in_bounded_memory(two_runs, monkeypatch, caplog):
    path, ids = two_runs
    monkeypatch.setenv("FRAMESCOPE_MAX_LINE_BYTES", str(256 * 1024))
    lines = path.read_bytes().splitlines(keepends=True)
    huge = b'{"resourceSpans":[' + b" " * (8 * 1024 * 1024) + b"]}\n"
    path.write_bytes(lines[0] + huge + b"".join(lines[1:]))
    tracemalloc.start()
    try:
        with caplog.at_level(logging.WARNING, logger="framescope.replay"):
            found = listed(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found == set(ids)
    assert "longer than 256.0 KiB" in caplog.text or "longer than 262144 bytes" in caplog.text
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes: the huge line was held in memory"


def test_deeply_nested_json_is_one_clear_error_not_a_recursion_error(tmp_path):
    path = tmp_path / "nested.json"
    path.write_text("[" * 200_000)
    with pytest.raises(TraceFormatError) as info:
        replay.load_records(path)
    assert "nested too deeply" in str(info.value) or "not valid JSON" in str(info.value)
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(TraceFormatError, match="nested too deeply"):
        replay.load_records(path)


def test_a_file_of_many_unreadable_lines_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "log.txt"
    path.write_bytes(b"{not json at all}\n" * 1_000_000)
    with pytest.raises(TraceFormatError, match="not a trace file"):
        replay.load_records(path)


def test_a_torn_last_line_still_reports_torn(two_runs):
    path, _ = two_runs
    with path.open("ab") as file:
        file.write(b'{"resourceSpans":[{"scopeSpans":[{"spa')
    with pytest.raises(TornTraceFileError):
        replay.load_records(path)
    assert len(replay.load_records(path, allow_torn=True)) > 0


def test_a_single_document_larger_than_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMESCOPE_MAX_TRACE_BYTES", "1000")
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"resourceSpans": [], "pad": "x" * 5000}, indent=1))
    with pytest.raises(TraceFormatError, match="FRAMESCOPE_MAX_TRACE_BYTES"):
        replay.load_records(path)
