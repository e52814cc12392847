"""Replay throughput: frames/s from a 100,000-frame trace file back to a consumer.

Target: >= 200,000 frames/s for the whole path (read file -> parse OTLP/JSON -> decode
frames -> iterate the replay session).  The machine may be shared, so each measure is the
best of N runs and the load average is printed next to it.  Each variant runs in a fresh
process, so one variant's objects do not slow the next one's allocations.

    PYTHONPATH=plugin python bench/replay_throughput.py [--runs 5] [--frames 100000] [--profile]

Variants:
  tokens   one streamed LLM call: 100,000 llm_stream_chunk frames (what replay mostly sees)
  mixed    10,000 tool calls with a custom frame and 7 tokens each (30% non-token frames)
  events   100,000 non-token frames, 100 per lifecycle (one span event per frame)
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import framescope
from framescope import emit, lifecycle, replay, stream_call
from framescope.replay._gc import paused_gc
from framescope.replay.decode import decode_runs
from framescope.replay.session import replay_run
from framescope.replay.sources import parse_trace_document
from framescope.telemetry.run import emit_token
from framescope.testing import spans_to_otlp_protobuf


def tokens_run(n: int) -> None:
    with lifecycle("llm_call_started", {"model": "bench"}, finished="llm_call_completed", failed="llm_call_failed"):
        for i in range(n - 2):
            emit_token("llm_stream_chunk", f" w{i}")


def mixed_run(n: int) -> None:
    for i in range(n // 10):
        with lifecycle(
            "tool_usage_started", {"tool_name": "t", "i": i}, finished="tool_usage_finished", failed="tool_usage_error"
        ):
            emit("progress", {"i": i})
        for j in range(7):
            emit_token("llm_stream_chunk", f" t{j}")


def events_run(n: int) -> None:
    for block in range(n // 100):
        with lifecycle("flow_started", {"flow_name": f"b{block}"}, finished="flow_finished", failed="flow_failed"):
            for i in range(98):
                emit("step", {"i": i})


VARIANTS: dict[str, Callable[[int], None]] = {"tokens": tokens_run, "mixed": mixed_run, "events": events_run}


def record(variant: str, frames: int, directory: Path) -> tuple[Path, int]:
    path = directory / f"{variant}.jsonl"
    os.environ["FRAMESCOPE_TRACE_FILE"] = str(path)
    framescope.configure(replace=True)
    with stream_call(VARIANTS[variant], frames) as stream:
        count = sum(1 for _ in stream)
    framescope.flush()
    framescope.shutdown()
    return path, count


def _paused(fn: Callable[[object], object], arg: object) -> object:
    """As replay calls them: with cyclic GC paused (framescope/replay/_gc.py says why)."""
    with paused_gc():
        return fn(arg)


def best_of(runs: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--protobuf", action="store_true", help="also time parsing the trace as OTLP protobuf")
    parser.add_argument("--profile", action="store_true", help="profile one full replay of each variant")
    parser.add_argument("--variant", choices=sorted(VARIANTS), help="measure only this one, in this process")
    args = parser.parse_args()
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED"):
        os.environ.pop(name, None)
    if args.variant:
        measure(args.variant, args)
        return
    from importlib.metadata import version

    libraries = f"orjson {version('orjson')}, msgspec {version('msgspec')}"
    print(f"python {sys.version.split()[0]}, {libraries}, {os.cpu_count()} cpus, best of {args.runs}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{'variant':<8} {'frames':>8} {'file MB':>8} {'parse ms':>9} {'decode ms':>10} "
        f"{'iterate ms':>11} {'total ms':>9} {'frames/s':>10}"
    )
    sys.stdout.flush()
    passed = sys.argv[1:]
    for variant in VARIANTS:
        subprocess.run([sys.executable, __file__, *passed, "--variant", variant], check=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("target: >= 200,000 frames/s (total: read + parse + decode + iterate); tokens >= 500,000")


def measure(variant: str, args: argparse.Namespace) -> None:
    """One variant's row (and optional protobuf time and profile), in this process."""
    with tempfile.TemporaryDirectory() as tmp:
        path, count = record(variant, args.frames, Path(tmp))
        data = path.read_bytes()
        records = parse_trace_document(data)
        runs = decode_runs(records)
        assert len(runs) == 1 and len(runs[0].frames) == count and not runs[0].gaps, "bad trace"
        parse = best_of(args.runs, lambda: _paused(parse_trace_document, data))
        decode = best_of(args.runs, lambda records=records: _paused(decode_runs, records))
        run = runs[0]
        iterate = best_of(args.runs, lambda run=run: sum(1 for _ in replay_run(run)))
        proto = spans_to_otlp_protobuf(records) if args.protobuf else b""
        del records, runs, run  # the total is what a process replaying the file sees: nothing else held
        gc.collect()
        total = best_of(args.runs, lambda: sum(1 for _ in replay.from_file(path)))
        print(
            f"{variant:<8} {count:>8,} {len(data) / 1e6:>8.2f} {parse * 1e3:>9.1f} {decode * 1e3:>10.1f} "
            f"{iterate * 1e3:>11.1f} {total * 1e3:>9.1f} {count / total:>10,.0f}"
        )
        if args.protobuf:
            took = best_of(args.runs, lambda: _paused(parse_trace_document, proto))
            print(f"{'':<8} {'':>8} {len(proto) / 1e6:>8.2f} {took * 1e3:>9.1f}  <- as OTLP protobuf")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(lambda: sum(1 for _ in replay.from_file(path)))
            pstats.Stats(profiler).sort_stats("tottime").print_stats(8)


if __name__ == "__main__":
    main()
