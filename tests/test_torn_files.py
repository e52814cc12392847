"""Item 1 of the hardening issue: a failed write never tears the trace file for good.

Faults are injected with a write function that writes part of a line and then fails with
ENOSPC, as a full disk does; readers must skip a damaged line and replay every intact run.
"""

from __future__ import annotations

import errno
import json
import logging

import pytest

import framescope
from framescope import emit, lifecycle, replay, stream_call
from framescope.telemetry import safe_append
from framescope.telemetry.file_exporter import OtlpJsonFileExporter


def named_run(name: str) -> str:
    with lifecycle("flow_started", {"flow_name": name}, finished="flow_finished", failed="flow_failed") as flow:
        emit("step", {"name": name, "padding": "x" * 2000})
        flow.data["result"] = name
    return name


def replayed_result(path, trace_id: str) -> object:
    session = replay.from_file(path, trace_id)
    list(session)
    return session.result


def run_and_flush(name: str) -> str:
    with stream_call(named_run, name) as stream:
        list(stream)
    framescope.flush()
    assert stream.trace_id is not None
    return stream.trace_id


class FullDisk:
    """``os.write`` that writes ``allow`` bytes of the next call, then fails with ENOSPC."""

    def __init__(self, allow: int) -> None:
        self.allow = allow
        self.failures = 0
        self.real = safe_append.write

    def __call__(self, fd: int, data: bytes | memoryview) -> int:
        if self.allow <= 0:
            self.failures += 1
            raise OSError(errno.ENOSPC, "No space left on device")
        part = bytes(data[: self.allow])
        self.allow -= len(part)
        return self.real(fd, part)


def test_a_write_that_fails_part_way_is_cut_back_and_every_other_run_replays(trace_file, monkeypatch, caplog):
    before = [run_and_flush(f"before-{i}") for i in range(3)]
    size = trace_file.stat().st_size
    disk = FullDisk(allow=700)  # part of the next line reaches the disk, then the disk is full
    monkeypatch.setattr(safe_append, "write", disk)
    with caplog.at_level(logging.WARNING, logger="framescope.file_exporter"):
        run_and_flush("lost")
    assert disk.failures >= 1
    assert trace_file.stat().st_size == size, "the partial line was left in the file"
    monkeypatch.setattr(safe_append, "write", disk.real)  # the disk has room again
    after = [run_and_flush(f"after-{i}") for i in range(2)]
    content = trace_file.read_bytes()
    assert content.endswith(b"\n")
    for line in content.splitlines():
        json.loads(line)  # no torn line anywhere
    listed = {run.trace_ids[0] for run in replay.list_runs(trace_file)}
    assert set(before + after) <= listed
    for trace_id in before + after:
        assert replayed_result(trace_file, trace_id) is not None


def test_a_torn_tail_left_by_a_killed_writer_never_glues_to_the_next_line(trace_file, caplog):
    first = run_and_flush("first")
    framescope.shutdown()
    with trace_file.open("ab") as file:  # what a writer killed mid-line leaves behind
        file.write(b'{"resourceSpans":[{"resource":{"attri')
    framescope.configure(replace=True)
    second = run_and_flush("second")
    lines = trace_file.read_bytes().splitlines()
    assert lines[-1].startswith(b'{"resourceSpans"') and json.loads(lines[-1])
    with caplog.at_level(logging.WARNING, logger="framescope.replay"):
        assert replayed_result(trace_file, first) == "first"
        assert replayed_result(trace_file, second) == "second"
    assert "skipped damaged line" in caplog.text


def test_a_line_glued_to_a_fragment_is_recovered_and_later_lines_still_read(trace_file, caplog):
    first = run_and_flush("first")
    second = run_and_flush("second")
    framescope.shutdown()
    lines = trace_file.read_bytes().splitlines(keepends=True)
    glued = lines[0][: len(lines[0]) // 2] + lines[-1]  # the old failure mode: fragment + next batch
    trace_file.write_bytes(b"".join(lines[:-1]) + glued + lines[-1])
    with caplog.at_level(logging.WARNING, logger="framescope.replay"):
        runs = replay.list_runs(trace_file)
    assert {first, second} <= {run.trace_ids[0] for run in runs}
    assert "recovered" in caplog.text


def test_exporter_without_faults_appends_whole_lines(tmp_path):
    exporter = OtlpJsonFileExporter(tmp_path / "t.jsonl")
    assert exporter.export([]).name == "SUCCESS"
    exporter.shutdown()


@pytest.mark.parametrize("allow", [0, 1, 5000])
def test_append_line_is_all_or_nothing(tmp_path, monkeypatch, allow):
    path = tmp_path / "f"
    path.write_bytes(b'{"a":1}\n')
    import os

    fd = os.open(path, os.O_RDWR | os.O_APPEND)
    try:
        monkeypatch.setattr(safe_append, "write", FullDisk(allow))
        with pytest.raises(OSError):
            safe_append.append_line(fd, b'{"b":"' + b"y" * 10000 + b'"}\n')
    finally:
        os.close(fd)
    assert path.read_bytes() == b'{"a":1}\n'
