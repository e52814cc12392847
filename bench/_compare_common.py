"""Workloads shared by both sides of ``bench/compare_crewai.py`` (runs under either venv).

This module imports nothing but the standard library: it is loaded by the CrewAI side (in
CrewAI's own venv, without framescope) and by the framescope side.  Each side supplies a
small adapter (``Side``) that knows how to start a flow whose ``@start`` method opens an LLM
call and emits token frames, and how to look at its session's queue; the measurement loops
below are the same code for both, so the two sides are measured the same way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

TokenFn = Callable[[str], None]
Producer = Callable[[TokenFn], Any]

TOKEN_TYPE = "llm_stream_chunk"
_UTC = dt.UTC
_now = dt.datetime.now
_perf = time.perf_counter


class Side(Protocol):
    name: str

    def versions(self) -> dict[str, str]: ...

    def configure(self, variant: str) -> None: ...

    def flush(self) -> None: ...

    def stream(self, producer: Producer) -> Any:
        """A flow session whose @start method runs ``producer(token)`` inside one LLM call."""

    def queue_len(self, session: Any) -> int:
        """Frames waiting between the run and the consumer right now."""

    def kept_frames(self, session: Any) -> int: ...

    def describe(self) -> dict[str, Any]:
        """Where this side's records went (export counts, trace file size), for the report."""


# -- producers ------------------------------------------------------------------------


def flat_out(count: int) -> Producer:
    def produce(token: TokenFn) -> int:
        for i in range(count):
            token(f"tok{i % 1000} ")
        return count

    return produce


def paced(count: int, interval_s: float) -> Producer:
    """Sleep between tokens, as a producer waiting on a model's socket does."""

    def produce(token: TokenFn) -> int:
        sleep = time.sleep
        for i in range(count):
            sleep(interval_s)
            token(f"tok{i % 1000} ")
        return count

    return produce


class Probe:
    """What a producer did, seen from outside (tokens emitted, when it stopped)."""

    def __init__(self) -> None:
        self.emitted = 0
        self.ended: float | None = None
        self.stop = threading.Event()


def probed(probe: Probe, count: int, interval_s: float = 0.0, duration_s: float | None = None) -> Producer:
    def produce(token: TokenFn) -> int:
        started = _perf()
        try:
            for i in range(count):
                if probe.stop.is_set() or (duration_s is not None and _perf() - started >= duration_s):
                    break
                if interval_s:
                    time.sleep(interval_s)
                token(f"tok{i % 1000} ")
                probe.emitted += 1
        finally:
            probe.ended = _perf()
        return probe.emitted

    return produce


# -- helpers ----------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "max": ordered[-1],
        "n": len(ordered),
    }


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def consume(session: Any) -> int:
    count = 0
    for _ in session:
        count += 1
    return count


# -- workloads --------------------------------------------------------------------------


def throughput(side: Side, sizes: list[int], repeats: dict[str, int] | None = None) -> dict[str, Any]:
    """frames/s through a flow session: consumed to the end, then (timed too) the export flushed."""
    consume(side.stream(flat_out(min(2000, max(sizes)))))  # warm-up
    side.flush()
    out: dict[str, Any] = {}
    for size in sizes:
        runs = []
        for _ in range((repeats or {}).get(str(size), 1)):
            gc.collect()
            started = _perf()
            session = side.stream(flat_out(size))
            frames = consume(session)
            consumed = _perf() - started
            side.flush()
            flushed = _perf() - started
            if session.result != size:
                raise RuntimeError(f"{side.name}: the flow returned {session.result!r}, expected {size}")
            runs.append({"frames": frames, "consume_s": consumed, "consume_and_flush_s": flushed})
        best = min(runs, key=lambda r: r["consume_and_flush_s"])
        out[str(size)] = {
            "frames": best["frames"],
            "runs": len(runs),
            "frames_per_s": best["frames"] / best["consume_and_flush_s"],
            "frames_per_s_stream_only": best["frames"] / best["consume_s"],
            "frames_per_s_median": statistics.median(r["frames"] / r["consume_and_flush_s"] for r in runs),
        }
    return out


def latency(side: Side, count: int, pace_hz: float) -> dict[str, Any]:
    """emit -> consumer latency of token frames with a paced producer (frame.timestamp to receipt)."""
    consume(side.stream(paced(200, 1.0 / pace_hz)))  # warm-up
    values: list[float] = []
    started = _perf()
    session = side.stream(paced(count, 1.0 / pace_hz))
    for frame in session:
        received = _now(_UTC)
        if frame.type == TOKEN_TYPE:
            values.append((received - frame.timestamp).total_seconds() * 1e6)
    elapsed = _perf() - started
    return {"pace_hz": pace_hz, "achieved_hz": count / elapsed, "latency_us": percentiles(values)}


def close_time(side: Side, run_s: float, interval_s: float, read: int, cap_s: float) -> dict[str, Any]:
    """close() on a run that would go on for ``run_s``; the call is capped at ``cap_s``."""
    consume(side.stream(flat_out(10)))  # warm-up
    probe = Probe()
    session = side.stream(probed(probe, 10**9, interval_s, run_s))
    opened = _perf()
    tokens = 0
    for frame in session:
        if frame.type == TOKEN_TYPE:
            tokens += 1
            if tokens >= read:
                break
    done = threading.Event()
    timing: dict[str, float] = {}

    def closer() -> None:
        started = _perf()
        session.close()
        timing["close_s"] = _perf() - started
        done.set()

    emitted_at_close = probe.emitted
    started = _perf()
    threading.Thread(target=closer, daemon=True).start()
    capped = not done.wait(cap_s)
    waited = _perf() - started
    end_deadline = _perf() + cap_s
    while probe.ended is None and _perf() < end_deadline:
        time.sleep(0.001)
    return {
        "run_s": run_s,
        "read_before_close": read,
        "opened_to_close_s": started - opened,
        "close_s": timing.get("close_s", waited),
        "capped": capped,
        "cap_s": cap_s,
        "producer_stopped_after_s": (probe.ended - started) if probe.ended is not None else None,
        "tokens_after_close": probe.emitted - emitted_at_close,
    }


def kept_memory(side: Side, count: int) -> dict[str, Any]:
    """tracemalloc: bytes still allocated after a consumed ``count``-token session is kept."""
    import tracemalloc

    consume(side.stream(flat_out(2000)))  # warm-up: imports, caches, pools
    side.flush()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    session = side.stream(flat_out(count))
    consume(session)
    side.flush()
    gc.collect()
    after = tracemalloc.take_snapshot()
    kept = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    top = [
        {"file": str(stat.traceback[0].filename).rsplit("site-packages/", 1)[-1], "bytes": stat.size_diff}
        for stat in after.compare_to(before, "filename")[:5]
    ]
    tracemalloc.stop()
    frames = side.kept_frames(session)
    return {"frames": frames, "kept_bytes": kept, "kept_bytes_per_frame": kept / frames, "top_files": top}


def slow_consumer(side: Side, consumer_sleep_s: float, window_s: float) -> dict[str, Any]:
    """A flat-out producer, a consumer that sleeps after each frame, for ``window_s``.

    Reports the most frames ever waiting in the session's queue and the RSS growth (which
    also holds the frames the session keeps); then the producer is told to stop and the rest
    is drained.
    """
    consume(side.stream(flat_out(2000)))  # warm-up
    side.flush()
    gc.collect()
    rss_before = rss_bytes()
    probe = Probe()
    session = side.stream(probed(probe, 10**9))
    peak_queued = 0
    peak_rss = rss_before
    consumed = 0
    started = _perf()
    iterator = iter(session)
    for _ in iterator:
        consumed += 1
        queued = side.queue_len(session)
        if queued > peak_queued:
            peak_queued = queued
        rss = rss_bytes()  # every frame: the consumer sleeps a millisecond a frame anyway
        if rss > peak_rss:
            peak_rss = rss
        if _perf() - started >= window_s:
            break
        time.sleep(consumer_sleep_s)
    window = _perf() - started
    produced_in_window = probe.emitted
    consumed_in_window = consumed
    probe.stop.set()
    for _ in iterator:
        consumed += 1
    return {
        "consumer_sleep_s": consumer_sleep_s,
        "window_s": window,
        "tokens_produced_in_window": produced_in_window,
        "frames_consumed_in_window": consumed_in_window,
        "peak_queued_frames": peak_queued,
        "peak_rss_growth_bytes": peak_rss - rss_before,
        "frames_total": consumed,
    }


WORKLOADS: dict[str, Callable[..., dict[str, Any]]] = {
    "throughput": throughput,
    "latency": latency,
    "close": close_time,
    "memory": kept_memory,
    "slow": slow_consumer,
}


def main(side: Side, argv: list[str] | None = None) -> None:
    """``side.py --workload NAME --params JSON --out FILE [--variant V]``; writes JSON to FILE.

    The result goes to a file, not stdout: CrewAI's flows print panels to the console.
    """
    parser = argparse.ArgumentParser()
    parser.add_argument("--workload", choices=[*WORKLOADS, "versions"], required=True)
    parser.add_argument("--params", default="{}")
    parser.add_argument("--variant", default="default")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.workload == "versions":
        result: dict[str, Any] = side.versions()
    else:
        side.configure(args.variant)
        load_before = os.getloadavg()
        started = _perf()
        result = WORKLOADS[args.workload](side, **json.loads(args.params))
        result["wall_s"] = _perf() - started
        result["loadavg_before"] = load_before
        result["loadavg_after"] = os.getloadavg()
        result["side"] = side.describe()
    with open(args.out, "w") as out:
        json.dump(result, out)
    sys.stdout.flush()
    # A capped close() may leave a run thread behind: do not wait for it at exit.
    os._exit(0)
