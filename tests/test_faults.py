"""The fault suite: backends that fail, queues that fill, consumers that vanish, processes that die.

In every case the run and its live stream go on, and nothing is lost silently.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import tracemalloc
from pathlib import Path

import pytest

import framescope
from framescope import lifecycle, replay, stream_call
from framescope.telemetry.loss_report import loss_report
from framescope.telemetry.run import emit_token

from support.otlp_receiver import OtlpHttpReceiver

PLUGIN = str(Path(__file__).resolve().parents[1] / "plugin")


def many_spans(count: int) -> int:
    with lifecycle("flow_started", {"flow_name": "Many"}, finished="flow_finished", failed="flow_failed"):
        for i in range(count):
            with lifecycle(
                "method_execution_started",
                {"method_name": f"m{i}"},
                finished="method_execution_finished",
                failed="method_execution_failed",
            ):
                emit_token("llm_stream_chunk", "x")
    return count


def test_a_slow_backend_does_not_slow_the_run():
    gate = threading.Event()
    with OtlpHttpReceiver(gate=gate) as receiver:
        framescope.configure(endpoint=receiver.endpoint, exporter="otlp", replace=True)
        try:
            with stream_call(many_spans, 200) as stream:
                frames = list(stream)
            assert stream.result == 200 and len(frames) == 2 + 3 * 200
            # the backend has not answered anything yet: the run did not wait for it
            assert receiver.spans() == [], "the run waited for the backend"
            gate.set()
            assert framescope.flush(timeout_millis=20000)
            assert receiver.wait_for(lambda r: len(r.spans()) == 201, timeout=10)
        finally:
            gate.set()
            framescope.shutdown()


@pytest.mark.slow
def test_a_full_export_queue_is_counted_summarised_and_metered(monkeypatch, caplog):
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "16")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "16")
    with OtlpHttpReceiver(delay_s=1.0) as receiver:
        runtime = framescope.configure(
            endpoint=receiver.endpoint, exporter="otlp", replace=True, metrics_export_interval_ms=100
        )
        try:
            with caplog.at_level(logging.WARNING, logger="framescope.export"), stream_call(many_spans, 300) as stream:
                frames = list(stream)
            assert stream.result == 300 and len(frames) == 902  # the live stream lost nothing
            (stats,) = runtime.export_stats
            assert stats.spans_dropped_queue_full > 0
            loss_report.flush()
            warnings = [r.getMessage() for r in caplog.records if "export queue was full" in r.getMessage()]
            assert 1 <= len(warnings) <= 2, warnings  # one rate-limited summary, not a line per span
            assert f"{stats.spans_dropped_queue_full} in all" in warnings[-1]
            framescope.flush(timeout_millis=30000)
            assert receiver.wait_for(lambda r: "framescope.spans.dropped" in r.metric_names(), timeout=10)
        finally:
            framescope.shutdown()


@pytest.mark.slow
def test_consumers_that_disconnect_leak_nothing_over_a_thousand_cycles(memory_traces):
    def endless() -> None:
        with lifecycle("flow_started", {"flow_name": "Endless"}, finished="flow_finished", failed="flow_failed"):
            while True:
                emit_token("llm_stream_chunk", "tok")

    def cycle() -> None:
        stream = stream_call(endless)
        iterator = iter(stream)
        for _ in range(5):
            next(iterator)
        stream.close()

    for _ in range(50):  # warm up caches and the exporter's buffers
        cycle()
    framescope.flush()
    memory_traces.exporter.clear()
    gc.collect()
    threads_before = threading.active_count()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(1000):
        cycle()
    framescope.flush()
    memory_traces.exporter.clear()
    gc.collect()
    grown = sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    for thread in [t for t in threading.enumerate() if t.name.startswith("framescope-run-")]:
        thread.join(5)  # each closed run ends at its next emit point
    assert threading.active_count() <= threads_before
    assert grown < 200_000, f"{grown} bytes kept after 1,000 disconnects"


def test_a_killed_process_leaves_a_readable_trace_and_replay_reports_the_gap(tmp_path):
    trace_file = tmp_path / "traces.jsonl"
    code = textwrap.dedent(
        """
        import sys, time, framescope
        from framescope import lifecycle, stream_call
        from framescope.telemetry.run import emit_token

        def run():
            with lifecycle("flow_started", {"flow_name": "Doomed"}, finished="flow_finished", failed="flow_failed"):
                for i in range(1000):
                    with lifecycle("method_execution_started", {"method_name": f"m{i}"},
                                   finished="method_execution_finished", failed="method_execution_failed"):
                        emit_token("llm_stream_chunk", "x")
                    if i in (5, 20):
                        framescope.flush()
                        print("FLUSHED", flush=True)
                    time.sleep(0.01)

        stream = stream_call(run)
        print(stream.run_id, flush=True)
        for frame in stream:
            pass
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FRAMESCOPE_"))}
    env.update(PYTHONPATH=PLUGIN, FRAMESCOPE_TRACE_FILE=str(trace_file))
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    try:
        run_id = child.stdout.readline().strip()
        assert child.stdout.readline().strip() == "FLUSHED"
        assert child.stdout.readline().strip() == "FLUSHED"  # later methods reached the file in a later batch
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    replayed = replay.from_file(trace_file, run_id=run_id, allow_torn=True)
    frames = list(replayed)
    assert frames, "the spans written before the kill must replay"
    assert replayed.gaps and replayed.gaps[0][0] == 0  # flow_started lived on the span that never ended
    assert all(frame.type.startswith(("method_", "llm_")) for frame in frames)
    seqs = [frame.seq for frame in frames]
    assert seqs == sorted(seqs)
