"""Benchmark (not a test): what recording a non-token frame into OpenTelemetry costs.

Two measures, each in its own fresh process so one does not warm or pollute the other:

  recorder  the codec alone: pre-built frames handed to ``RunRecorder`` (telemetry/encode.py)
            on a real SDK TracerProvider with no exporter attached.  "inner" is the cost of one
            frame recorded inside an open span (``RunRecorder.event``); "all" divides the whole
            time, span starts and ends included, by every frame.
  emit      the user's view: ``emit("step", {...})`` inside lifecycles of a run without a live
            session, with OTel recording on (SDK TracerProvider, no exporter) minus the same
            with ``OTEL_SDK_DISABLED=true``; the difference is what recording adds per frame.

Both run two shapes: spans of 100 frames (opener, 98 inner frames, closer) and spans of 3
frames (opener, one inner frame, closer: a tool call reporting progress once).  Target:
<= 5 us per recorded non-token frame.

    PYTHONPATH=plugin python bench/record_frames.py [--frames 50000] [--runs 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "plugin"))

SHAPES = (100, 3)


def _recorder_once(frames: int, per_span: int) -> tuple[float, float, int, int]:
    """(seconds in inner ``event`` calls, seconds overall, inner frames, all frames)."""
    from datetime import UTC, datetime

    from opentelemetry.sdk.trace import TracerProvider

    from framescope.telemetry.encode import RunRecorder
    from framescope.telemetry.spans import LifecycleSpan
    from framescope.types.routing import channel_for
    from framescope.types.streaming import make_frame

    run_id = "0123456789abcdef"
    prefix = run_id + "-"
    tracer = TracerProvider().get_tracer("bench")
    recorder = RunRecorder(run_id, tracer)
    spans = frames // per_span
    plan: list[tuple[LifecycleSpan, list[Any]]] = []
    ordinal = 0
    last: str | None = None
    for block in range(spans):
        scope = LifecycleSpan(None, [], None)
        built = []
        for position in range(per_span):
            if position == 0:
                type_, data, parent = "tool_usage_started", {"tool_name": "t", "block": block}, None
                scope.opener_id = prefix + str(ordinal)
            elif position == per_span - 1:
                type_, data, parent = "tool_usage_finished", {"result": block}, scope.opener_id
            else:
                type_, data, parent = "progress", {"i": position, "note": "working"}, scope.opener_id
            frame_id = prefix + str(ordinal)
            built.append(
                make_frame(frame_id, ordinal, type_, channel_for(type_), [], datetime.now(UTC), parent, last, data)
            )
            last = frame_id
            ordinal += 1
        plan.append((scope, built))
    perf = time.perf_counter
    inner_time = 0.0
    inner = 0
    gc.collect()
    gc.freeze()  # the pre-built frames are the bench's, not the recorder's: keep them out of GC passes
    started = perf()
    for scope, built in plan:
        recorder.open(built[0], scope)
        body = built[1:-1]
        t0 = perf()
        for frame in body:
            recorder.event(frame, scope)
        inner_time += perf() - t0
        inner += len(body)
        recorder.close(built[-1], scope)
    recorder.finish()
    took = perf() - started
    gc.unfreeze()
    return inner_time, took, inner, ordinal


def _emit_once(frames: int, per_span: int) -> tuple[float, int]:
    """Seconds to emit ``frames`` frames in spans of ``per_span``, and the frame count."""
    from framescope.telemetry.run import current_or_new_run, emit, lifecycle

    spans = frames // per_span
    started = time.perf_counter()
    with current_or_new_run():
        for block in range(spans):
            with lifecycle(
                "tool_usage_started",
                {"tool_name": "t", "block": block},
                finished="tool_usage_finished",
                failed="tool_usage_error",
            ) as call:
                for i in range(per_span - 2):
                    emit("progress", {"i": i, "note": "working"})
                call.data["result"] = block
    return time.perf_counter() - started, spans * per_span


def child(mode: str, frames: int, runs: int) -> dict[str, Any]:
    """One process's measures: the best of ``runs`` for every shape."""
    out: dict[str, Any] = {}
    if mode == "recorder":
        for per_span in SHAPES:
            _recorder_once(2000, per_span)  # warm-up
            best_inner = best_all = float("inf")
            for _ in range(runs):
                inner_time, all_time, inner, total = _recorder_once(frames, per_span)
                best_inner = min(best_inner, inner_time / inner)
                best_all = min(best_all, all_time / total)
            out[str(per_span)] = {"inner_us": best_inner * 1e6, "all_us": best_all * 1e6}
        return out
    from opentelemetry.sdk.trace import TracerProvider

    import framescope

    if mode == "emit-off":
        os.environ["OTEL_SDK_DISABLED"] = "true"
        framescope.configure()
    else:
        framescope.configure(tracer_provider=TracerProvider())
    for per_span in SHAPES:
        _emit_once(2000, per_span)
        best = float("inf")
        for _ in range(runs):
            took, count = _emit_once(frames, per_span)
            best = min(best, took / count)
        out[str(per_span)] = {"us": best * 1e6}
    return out


def _spawn(mode: str, frames: int, runs: int) -> dict[str, Any]:
    env = dict(os.environ)
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED", "FRAMESCOPE_TRACE_FILE"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--frames", str(frames), "--runs", str(runs)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.frames, args.runs)))
        return
    from importlib.metadata import version

    print(
        f"python {platform.python_version()}, opentelemetry-sdk {version('opentelemetry-sdk')}, "
        f"{os.cpu_count()} cpus, {args.frames:,} frames, best of {args.runs}"
    )
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    recorder = _spawn("recorder", args.frames, args.runs)
    on = _spawn("emit-on", args.frames, args.runs)
    off = _spawn("emit-off", args.frames, args.runs)
    print(
        f"{'frames per span':<16} {'recorder inner us':>18} {'recorder all us':>16} "
        f"{'emit on us':>11} {'emit off us':>12} {'recording adds us':>18}"
    )
    for per_span in SHAPES:
        key = str(per_span)
        print(
            f"{per_span:<16} {recorder[key]['inner_us']:>18.2f} {recorder[key]['all_us']:>16.2f} "
            f"{on[key]['us']:>11.2f} {off[key]['us']:>12.2f} {on[key]['us'] - off[key]['us']:>18.2f}"
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("target: <= 5 us per recorded non-token frame")


if __name__ == "__main__":
    main()
