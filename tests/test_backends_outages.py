"""Outages of the real Collector: no run breaks, losses are counted, a short restart loses nothing.

* Exporter down: framescope exports to a Collector that is not running.  The run and its
  live stream complete; every span is counted as lost (ExportStats, the warning log).
* Collector restart mid-run: the Collector is stopped while a run is in flight, with spans
  waiting for export, and started again.  framescope's OTLP exporters retry with
  exponential backoff (1 s, 2 s, 4 s, ±20 %, within their 10 s timeout: about 5.6 s
  covered at the least), so once the Collector is back within 5 s every span reaches
  Jaeger and the run replays from Jaeger exactly as it streamed live.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import framescope
from framescope import replay
from framescope.flow import Flow, listen, start
from framescope.llm import LLM
from framescope.llm.providers import register_script, unregister_script
from framescope.telemetry.config import get_telemetry_setup
from framescope.telemetry.loss_report import SDK_EXPORTER_LOGGERS
from framescope.tools import tool

from support.backends import (
    Stack,
    jaeger_get,
    locate_binaries,
    running_stack,
    start_collector,
    wait_for_trace,
    wait_until,
)

pytestmark = pytest.mark.backends

PROTOCOLS = ["http/protobuf", "grpc"]
#: The longest restart the export path is meant to ride out without losing a span.
MAX_RESTART_S = 5.0
#: How long the Collector stays down after the exporter's first failed attempt; its start
#: (waited for on the health endpoint) adds the rest of MAX_RESTART_S.
OUTAGE_S = 4.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(locate_binaries(), tmp_path_factory.mktemp("outage-stack"))


class RetryWatch(logging.Handler):
    """Counts the OTLP exporter's "transient error ... retrying in N s" reports."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.retries = 0
        self.changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        # HTTP says "exporting spans batch", gRPC "exporting traces"; metrics retry too
        if "retrying in" in message and ("spans" in message or "traces" in message):
            with self.changed:
                self.retries += 1
                self.changed.notify_all()

    def wait_for(self, retries: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.retries >= retries, timeout)


class Outage:
    """Stops the Collector, waits until the exporter has hit the outage, starts it again."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.downtime_s: float | None = None

    def restart_collector(self) -> None:
        collector = self.stack.collector
        assert collector is not None
        watch = RetryWatch()
        # on the exporters' own loggers: framescope keeps their lines from propagating (loss_report)
        exporter_loggers = [logging.getLogger(name) for name in SDK_EXPORTER_LOGGERS]
        for exporter_logger in exporter_loggers:
            exporter_logger.addHandler(watch)
        try:
            stopped_at = time.monotonic()
            collector.program.stop()
            # the batch processor's worker (every 200 ms here) sends the spans ended so far
            # into the outage; no other thread exports meanwhile, as in a real process
            assert watch.wait_for(1, 30), "the exporter never met the outage"
            # The outage itself: the Collector stays down this long after the exporter first
            # failed against it (the scenario's length, not a wait for something to happen).
            time.sleep(OUTAGE_S)
            collector.program.start()  # waits on the health endpoint
            self.downtime_s = time.monotonic() - stopped_at
        finally:
            for exporter_logger in exporter_loggers:
                exporter_logger.removeHandler(watch)


OUTAGE: dict[str, Outage] = {}


@tool
def restart_collector(reason: str) -> str:
    """Restart the Collector (the test's outage, as a tool of the run); nothing without one."""
    outage = OUTAGE.get("current")
    if outage is not None:
        outage.restart_collector()
    return f"restarted: {reason}"


class RestartFlow(Flow):
    """Streams, restarts the Collector in the middle, then streams on."""

    @start()
    def before(self) -> str:
        return LLM("scripted/outage-before", stream=True).call("first half")

    @listen(before)
    def during(self, first: str) -> str:
        return restart_collector(reason=first[:20])

    @listen(during)
    def after(self, note: str) -> str:
        return LLM("scripted/outage-after", stream=True).call(f"second half after {note}")


def run_restart_flow() -> tuple[Any, list[Any], str, str]:
    register_script("outage-before", ["".join(f" b{i}" for i in range(300))])
    register_script("outage-after", ["".join(f" a{i}" for i in range(300))])
    try:
        with RestartFlow().stream_events() as stream:
            frames = list(stream)
        assert stream.run_id and stream.trace_id
        return stream.result, frames, stream.run_id, stream.trace_id
    finally:
        unregister_script("outage-before")
        unregister_script("outage-after")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_collector_restart_mid_run_loses_nothing(
    stack: Stack, protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stack.collector is not None
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")  # spans leave during the outage, not after it
    OUTAGE["current"] = outage = Outage(stack)
    framescope.configure(
        endpoint=stack.collector.endpoint(protocol),
        protocol=protocol,
        exporter="otlp",
        service_name=f"outage-{protocol.split('/')[0]}",
        replace=True,
    )
    try:
        result, frames, run_id, trace_id = run_restart_flow()
        assert result.startswith(" a0")  # the run did not break
        assert framescope.flush()
        [stats] = get_telemetry_setup().export_stats
    finally:
        framescope.shutdown()
        OUTAGE.clear()
    assert outage.downtime_s is not None
    print(f"Collector ({protocol}) down for {outage.downtime_s:.2f}s")
    assert stats.spans_lost == 0, (
        stats.as_dict(),
        f"Collector down for {outage.downtime_s:.1f}s; the export path is meant to cover {MAX_RESTART_S}s",
    )
    wait_for_trace(stack, trace_id, stats.spans_exported)
    assert stack.jaeger is not None
    replayed = replay.from_url(f"{stack.jaeger.query_url}/trace/{trace_id}", run_id=run_id, strict=True)
    assert list(replayed) == frames
    assert jaeger_get(stack, f"/api/traces/{trace_id}").status_code == 200


def test_jaeger_down_behind_the_collector_loses_nothing_once_it_is_back(stack: Stack) -> None:
    """The backend side: the shipped Collector config queues and retries what Jaeger refuses
    (sending queue, retry_on_failure defaults), so a Jaeger restart loses no span either."""
    assert stack.collector is not None and stack.jaeger is not None
    collector_log = stack.collector.program.log_path
    failures_before = collector_log.read_text().count("Exporting failed")
    stack.jaeger.program.stop()
    try:
        framescope.configure(
            endpoint=stack.collector.endpoint("http/protobuf"),
            exporter="otlp",
            service_name="outage-jaeger",
            replace=True,
        )
        try:
            result, frames, run_id, trace_id = run_restart_flow()
            assert framescope.flush()  # framescope -> Collector works; Jaeger behind it is down
            [stats] = get_telemetry_setup().export_stats
        finally:
            framescope.shutdown()
        assert result.startswith(" a0") and stats.spans_lost == 0
        wait_until(
            lambda: collector_log.read_text().count("Exporting failed") > failures_before,
            30,
            "the Collector's Jaeger exporter to fail and schedule a retry",
        )
    finally:
        stack.jaeger.program.start()  # same ports, empty in-memory storage
    # the Collector's retry (5 s initial interval, backing off) delivers the queued spans
    wait_for_trace(stack, trace_id, stats.spans_exported, timeout=90)
    replayed = replay.from_url(f"{stack.jaeger.query_url}/trace/{trace_id}", run_id=run_id, strict=True)
    assert list(replayed) == frames


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_exporter_that_is_down_never_breaks_the_run_and_counts_every_loss(
    stack: Stack, protocol: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # a Collector that is configured but not running: its ports are free, nobody listens
    assert stack.jaeger is not None
    down = start_collector(stack.binaries.otelcol, tmp_path, jaeger_otlp=stack.jaeger.otlp_grpc)
    down.program.stop()
    # give up after 1 s instead of 10 s of retries, to keep the test short
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1")
    framescope.configure(
        endpoint=down.endpoint(protocol),
        protocol=protocol,
        exporter="otlp",
        metrics_export_interval_ms=60000,
        replace=True,
    )
    try:
        with caplog.at_level(logging.WARNING, logger="framescope.export"):
            result, frames, _, _ = run_restart_flow()
            framescope.flush(timeout_millis=10000)
        [stats] = get_telemetry_setup().export_stats
        assert result.startswith(" a0") and frames[-1].type == "flow_finished"
        assert stats.spans_exported == 0 and stats.spans_failed > 0
        assert stats.spans_lost == stats.spans_failed
    finally:
        with caplog.at_level(logging.WARNING, logger="framescope.export"):
            framescope.shutdown()  # what the rate-limited summary still holds is logged here
    # one rate-limited summary with running totals (telemetry/loss_report.py), not a line per span
    warned = [r.getMessage() for r in caplog.records if r.getMessage().startswith("framescope lost")]
    assert warned and f"{stats.spans_failed} in all" in warned[-1]
