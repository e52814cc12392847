"""Benchmark (not a test): the frame pipeline's throughput, latency, wire size and memory.

Measures, for 100,000 token frames streamed through a real session:
  * frames/s, live only (OTEL_SDK_DISABLED=true) and with OTel recording + the file exporter;
  * emit -> consumer latency p50/p99, flat out and with a paced producer (2,000 frames/s, sleeping
    between tokens as a producer waiting on a socket does);
  * bytes per token frame in the exported trace (OTLP protobuf, and the OTLP/JSON file);
  * memory kept per frame by a session (tracemalloc), and the RSS growth.
Each mode runs in its own process so one does not warm or pollute the other.

    python bench/frames.py            # all modes, prints a table
    python bench/frames.py --frames 20000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACE_HZ = 2000.0
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "plugin"))


def _producer(count: int, pace_hz: float | None) -> int:
    from framescope.telemetry.run import emit_token, lifecycle

    interval = 1.0 / pace_hz if pace_hz else 0.0
    with lifecycle(
        "llm_call_started",
        {"model": "bench", "provider": "bench"},
        finished="llm_call_completed",
        failed="llm_call_failed",
    ) as call:
        if interval:
            # Sleep between tokens, as a producer waiting on a model's socket does (it releases the GIL).
            for i in range(count):
                time.sleep(interval)
                emit_token("llm_stream_chunk", f"tok{i % 1000} ")
        else:
            for i in range(count):
                emit_token("llm_stream_chunk", f"tok{i % 1000} ")
        call.data["result"] = count
    return count


def run_mode(mode: str, count: int) -> dict:
    """One measurement, in this process (called in a child process)."""
    import datetime as dt

    import framescope
    from framescope import stream_call

    trace_file = Path(tempfile.mkdtemp()) / "traces.jsonl"
    if mode == "live":
        os.environ["OTEL_SDK_DISABLED"] = "true"
        framescope.configure()
    else:
        os.environ["FRAMESCOPE_TRACE_FILE"] = str(trace_file)
        framescope.configure()
    out: dict = {"mode": mode, "frames": count + 2}
    # warm-up
    with stream_call(_producer, 2000, None) as stream:
        for _ in stream:
            pass
    framescope.flush()
    if trace_file.exists():
        trace_file.write_text("")

    started = time.perf_counter()
    latencies: list[float] = []
    now = dt.datetime.now
    utc = dt.UTC
    with stream_call(_producer, count, None) as stream:
        for i, frame in enumerate(stream):
            if i % 50 == 0:
                latencies.append((now(utc) - frame.timestamp).total_seconds() * 1e6)
    elapsed = time.perf_counter() - started
    out["frames_per_s"] = (count + 2) / elapsed
    out["latency_flat_out_us"] = _percentiles(latencies)
    framescope.flush()
    if mode != "live":
        size = trace_file.stat().st_size
        out["otlp_json_bytes_per_token_frame"] = size / count
        out["otlp_protobuf_bytes_per_token_frame"] = _protobuf_bytes(trace_file) / count

    paced_count = min(count, 5000)
    latencies = []
    with stream_call(_producer, paced_count, PACE_HZ) as stream:
        for frame in stream:
            latencies.append((now(utc) - frame.timestamp).total_seconds() * 1e6)
    out["latency_paced_us"] = _percentiles(latencies)

    out.update(_kept_memory(count))
    framescope.shutdown()
    return out


def _protobuf_bytes(trace_file: Path) -> int:
    from framescope.replay.sources.detect import parse_trace_document
    from framescope.testing import spans_to_otlp_protobuf

    return len(spans_to_otlp_protobuf(parse_trace_document(trace_file.read_bytes())))


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def _kept_memory(count: int) -> dict:
    """Memory a session keeps for its frames: RSS growth, then tracemalloc's exact count."""
    import gc
    import tracemalloc

    from framescope import stream_call

    gc.collect()
    rss_before = _rss_bytes()
    stream = stream_call(_producer, count, None)
    for _ in stream:
        pass
    gc.collect()
    rss_growth = _rss_bytes() - rss_before
    frames = len(stream.frames)
    del stream
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    stream = stream_call(_producer, count, None)
    for _ in stream:
        pass
    gc.collect()
    after = tracemalloc.take_snapshot()
    kept = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    tracemalloc.stop()
    del stream
    return {"kept_bytes_per_frame": kept / frames, "rss_growth_bytes_per_frame": rss_growth / frames}


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
    }


def machine() -> dict:
    import importlib.metadata as md

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "opentelemetry-sdk": md.version("opentelemetry-sdk"),
        "pydantic": md.version("pydantic"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--mode", choices=["live", "recorded"], help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print raw JSON results")
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(run_mode(args.mode, args.frames)))
        return
    results = []
    for mode in ("live", "recorded"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        child = subprocess.run(
            [sys.executable, __file__, "--mode", mode, "--frames", str(args.frames)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    if args.json:
        print(json.dumps({"machine": machine(), "results": results}, indent=2))
        return
    print(f"machine: {json.dumps(machine())}")
    print(f"{args.frames} token frames per run\n")
    for r in results:
        print(f"[{r['mode']}]")
        print(f"  frames/s                      {r['frames_per_s']:>12,.0f}")
        print(
            f"  latency flat out p50/p99 µs   {r['latency_flat_out_us']['p50']:>8.0f} / "
            f"{r['latency_flat_out_us']['p99']:.0f}"
        )
        print(
            f"  latency paced ({PACE_HZ:.0f}/s) p50/p99 µs {r['latency_paced_us']['p50']:>5.0f} / "
            f"{r['latency_paced_us']['p99']:.0f}"
        )
        if "otlp_protobuf_bytes_per_token_frame" in r:
            print(f"  bytes/token frame (protobuf)  {r['otlp_protobuf_bytes_per_token_frame']:>12.1f}")
            print(f"  bytes/token frame (OTLP/JSON) {r['otlp_json_bytes_per_token_frame']:>12.1f}")
        print(f"  kept bytes per frame          {r['kept_bytes_per_frame']:>12.0f}")
        print(f"  RSS growth per kept frame     {r['rss_growth_bytes_per_frame']:>12.0f}")


if __name__ == "__main__":
    main()
