"""Benchmark (not a test): framescope against CrewAI 1.15.30's own frame streaming, in one run.

The same workloads run on both, each workload in a fresh process per side (CrewAI's with
CrewAI's venv python, framescope's with this python), and a table prints both figures, the
ratio and the project's target:

  * frames/s, 1k / 10k / 100k token frames streamed through a flow session
    (CrewAI: a Flow whose @start method emits ``LLMStreamChunkEvent``s through its LLM's event
    helpers, read through ``flow.stream_events()``; framescope: a Flow whose @start method calls
    ``emit_token("llm_stream_chunk", ...)`` inside an ``llm_call_started`` lifecycle), with
    framescope's OTel recording and export on: the default OTLP-JSON file exporter (into a temp
    file), and OTLP/HTTP to a local receiver in its own process.  The time counts until the
    session is consumed AND the exporter flushed;
  * emit -> consumer latency p50/p99 with a paced producer (sleeping between tokens);
  * ``close()`` on a flow that would stream a token every 10 ms for 5 s more (CrewAI's close
    waits for the run: the wait is capped, see ``--close-cap``);
  * memory kept per frame (tracemalloc around a consumed session kept with its frames), and a
    slow consumer (flat-out producer, consumer sleeping 1 ms a frame): peak frames queued and
    RSS growth;
  * import time of the package and of its flow module (fresh processes, best of 5).

CrewAI is installed into ``bench/.crewai-venv`` the first time (``python -m venv`` and
``pip install crewai==1.15.30``); ``--crewai-venv PATH`` or ``FRAMESCOPE_BENCH_CREWAI_VENV``
points at an existing one instead.

    PYTHONPATH=plugin python bench/compare_crewai.py --quick        # ~1 min, small sizes
    PYTHONPATH=plugin python bench/compare_crewai.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CREWAI_VERSION = "1.15.30"
DEFAULT_VENV = HERE / ".crewai-venv"
VENV_ENV = "FRAMESCOPE_BENCH_CREWAI_VENV"

# Targets (ARCHITECTURE.md "Performance, measured against the reference" and the issues).
TARGET_THROUGHPUT = 6.0  # framescope frames/s >= 6x CrewAI's, recording and exporting
TARGET_CLOSE_S = 0.050  # close() <= 50 ms
TARGET_MEMORY = 4.0  # kept bytes per frame <= 1/4 of CrewAI's
TARGET_IMPORT = 10.0  # import <= 1/10 of CrewAI's

FULL = {
    "sizes": [1_000, 10_000, 100_000],
    "repeats": {"1000": 5, "10000": 3, "100000": 1},
    "latency_count": 5_000,
    "close_run_s": 5.0,
    "memory_count": 100_000,
    "slow_window_s": 5.0,
}
QUICK = {
    "sizes": [1_000, 10_000],
    "repeats": {"1000": 3, "10000": 1},
    "latency_count": 1_000,
    "close_run_s": 5.0,
    "memory_count": 10_000,
    "slow_window_s": 2.0,
}
PACE_HZ = 2000.0
CLOSE_INTERVAL_S = 0.010
CLOSE_READ = 3
SLOW_SLEEP_S = 0.001
IMPORT_ROUNDS = 5

_RECEIVER = """
import sys
sys.path.insert(0, {tests!r})
from support.otlp_receiver import OtlpHttpReceiver
with OtlpHttpReceiver() as rx:
    print(rx.endpoint, flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin
    print(len(rx.spans()), flush=True)
"""


# -- environments ------------------------------------------------------------------------


def _clean_env() -> dict[str, str]:
    """The parent's environment without OTel/framescope settings (each side sets its own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FRAMESCOPE_", "CREWAI_"))}


def crewai_env() -> dict[str, str]:
    env = _clean_env()
    env.pop("PYTHONPATH", None)
    # No phone-home or CrewAI-platform tracing: CrewAI's frames stay in the process (as framescope's
    # would with no exporter), so its figures are its pipeline alone.
    env["CREWAI_DISABLE_TELEMETRY"] = "true"
    env["CREWAI_TRACING_ENABLED"] = "false"
    return env


def framescope_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = _clean_env()
    env["PYTHONPATH"] = str(ROOT / "plugin")
    env.update(extra or {})
    return env


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _installed_crewai(python: Path) -> str | None:
    if not python.exists():
        return None
    probe = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('crewai'))"],
        capture_output=True,
        text=True,
        env=crewai_env(),
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def ensure_crewai(venv: Path) -> Path:
    """CrewAI 1.15.30's python: the given venv, installed into (once) when it lacks CrewAI."""
    python = _venv_python(venv)
    version = _installed_crewai(python)
    if version == CREWAI_VERSION:
        return python
    if version is not None:
        raise SystemExit(f"{venv} has crewai {version}, not {CREWAI_VERSION}; pick another --crewai-venv")
    print(f"installing crewai=={CREWAI_VERSION} into {venv} (once; a few minutes) ...", file=sys.stderr)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"crewai=={CREWAI_VERSION}"], check=True)
    if _installed_crewai(python) != CREWAI_VERSION:
        raise SystemExit(f"installing crewai=={CREWAI_VERSION} into {venv} failed")
    return python


class OtlpReceiver:
    """``OtlpHttpReceiver`` (tests/support) in its own process, so it does not share our GIL."""

    def __enter__(self) -> OtlpReceiver:
        code = _RECEIVER.format(tests=str(ROOT / "tests"))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=framescope_env()
        )
        assert self.proc.stdout is not None
        self.endpoint = self.proc.stdout.readline().strip()
        if not self.endpoint.startswith("http"):
            self.proc.kill()
            raise RuntimeError(f"the OTLP receiver did not start (got {self.endpoint!r})")
        self.spans_received: int | None = None
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        line = self.proc.stdout.readline().strip()
        self.spans_received = int(line) if line.isdigit() else None
        self.proc.wait(timeout=30)


# -- running one side ------------------------------------------------------------------


def run_side(
    python: Path, script: str, workload: str, params: dict[str, Any], env: dict[str, str], variant: str = "default"
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    try:
        child = subprocess.run(
            [
                str(python),
                str(HERE / script),
                "--workload",
                workload,
                "--params",
                json.dumps(params),
                "--variant",
                variant,
                "--out",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=str(ROOT),
        )
        if child.returncode != 0 or out.stat().st_size == 0:
            raise RuntimeError(f"{script} {workload} failed (exit {child.returncode}):\n{child.stderr[-4000:]}")
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


def import_time(python: Path, module: str, env: dict[str, str]) -> dict[str, float]:
    """Best of IMPORT_ROUNDS fresh processes: the import itself, and the whole ``python -c`` process."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    inside, process = [], []
    for _ in range(IMPORT_ROUNDS):
        started = time.perf_counter()
        child = subprocess.run([str(python), "-c", code], capture_output=True, text=True, env=env, cwd=str(ROOT))
        process.append(time.perf_counter() - started)
        if child.returncode != 0:
            raise RuntimeError(f"import {module} failed:\n{child.stderr[-2000:]}")
        inside.append(float(child.stdout.strip().splitlines()[-1]))
    return {"import_s": min(inside), "process_s": min(process), "import_s_all": inside}


def machine(crewai_python: Path) -> dict[str, Any]:
    fs = run_side(Path(sys.executable), "_compare_framescope_side.py", "versions", {}, framescope_env())
    cw = run_side(crewai_python, "_compare_crewai_side.py", "versions", {}, crewai_env())
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "framescope_side": fs,
        "crewai_side": cw,
    }


# -- the comparison ---------------------------------------------------------------------------


def compare(crewai_python: Path, cfg: dict[str, Any], otlp: bool, log: Any) -> dict[str, Any]:
    fs_python = Path(sys.executable)
    cw_script, fs_script = "_compare_crewai_side.py", "_compare_framescope_side.py"
    results: dict[str, Any] = {"config": cfg}

    def both(workload: str, params: dict[str, Any]) -> dict[str, Any]:
        log(f"  {workload}: crewai ...")
        cw = run_side(crewai_python, cw_script, workload, params, crewai_env())
        log(f"  {workload}: framescope (file export) ...")
        fs = run_side(fs_python, fs_script, workload, params, framescope_env(), variant="file")
        return {"crewai": cw, "framescope": fs}

    def per_size(python: Path, script: str, env: dict[str, str], variant: str = "default") -> dict[str, Any]:
        """Each size in its own fresh process, so a long run never follows (or is warmed by) another."""
        merged: dict[str, Any] = {"per_process": {}}
        for size in cfg["sizes"]:
            key = str(size)
            one = run_side(
                python, script, "throughput", {"sizes": [size], "repeats": {key: cfg["repeats"][key]}}, env, variant
            )
            merged[key] = one.pop(key)
            merged["per_process"][key] = one
        exported = [stats for one in merged["per_process"].values() for stats in one.get("side", {}).get("export", [])]
        merged["spans_exported"] = sum(stats.get("spans_exported", 0) for stats in exported if isinstance(stats, dict))
        merged["spans_failed"] = sum(stats.get("spans_failed", 0) for stats in exported if isinstance(stats, dict))
        merged["trace_file_bytes"] = sum(
            one.get("side", {}).get("trace_file_bytes", 0) for one in merged["per_process"].values()
        )
        return merged

    log("import time")
    results["import"] = {
        "crewai": import_time(crewai_python, "crewai", crewai_env()),
        "framescope": import_time(fs_python, "framescope", framescope_env()),
        "crewai_flow": import_time(crewai_python, "crewai.flow", crewai_env()),
        "framescope_flow": import_time(fs_python, "framescope.flow", framescope_env()),
    }
    log("throughput")
    log("  throughput: crewai ...")
    results["throughput"] = {"crewai": per_size(crewai_python, cw_script, crewai_env())}
    log("  throughput: framescope (file export) ...")
    results["throughput"]["framescope"] = per_size(fs_python, fs_script, framescope_env(), "file")
    if otlp:
        log("  throughput: framescope (OTLP/HTTP to a local receiver) ...")
        with OtlpReceiver() as rx:
            env = framescope_env(
                {"OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
            )
            fs_otlp = per_size(fs_python, fs_script, env, "otlp")
        fs_otlp["spans_received_by_receiver"] = rx.spans_received
        results["throughput"]["framescope_otlp"] = fs_otlp
    log("latency")
    results["latency"] = both("latency", {"count": cfg["latency_count"], "pace_hz": PACE_HZ})
    log("close")
    results["close"] = both(
        "close",
        {"run_s": cfg["close_run_s"], "interval_s": CLOSE_INTERVAL_S, "read": CLOSE_READ, "cap_s": cfg["close_cap_s"]},
    )
    log("memory")
    results["memory"] = both("memory", {"count": cfg["memory_count"]})
    log("slow consumer")
    results["slow"] = both("slow", {"consumer_sleep_s": SLOW_SLEEP_S, "window_s": cfg["slow_window_s"]})
    return results


# -- the report ------------------------------------------------------------------------------


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "MISSED")


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """(measure, CrewAI, framescope, framescope's advantage, target, verdict)."""
    out: list[tuple[str, str, str, str, str, str]] = []
    tp = results["throughput"]
    for size in results["config"]["sizes"]:
        key = str(size)
        cw = tp["crewai"][key]["frames_per_s"]
        variants = [("file export", tp["framescope"])]
        if "framescope_otlp" in tp:
            variants.append(("OTLP export", tp["framescope_otlp"]))
        for label, fs_result in variants:
            fs = fs_result[key]["frames_per_s"]
            out.append(
                (
                    f"frames/s, {size:,} tokens ({label})",
                    f"{cw:,.0f}",
                    f"{fs:,.0f}",
                    f"{fs / cw:.1f}x",
                    f">= {TARGET_THROUGHPUT:.0f}x",
                    _verdict(fs / cw >= TARGET_THROUGHPUT),
                )
            )
    lat = results["latency"]
    cw_l, fs_l = lat["crewai"]["latency_us"], lat["framescope"]["latency_us"]
    for p in ("p50", "p99"):
        out.append(
            (
                f"latency paced {PACE_HZ:,.0f}/s, {p} (µs)",
                f"{cw_l[p]:,.0f}",
                f"{fs_l[p]:,.0f}",
                f"{cw_l[p] / fs_l[p]:.1f}x",
                "-",
                "-",
            )
        )
    cl = results["close"]
    cw_c, fs_c = cl["crewai"], cl["framescope"]
    cw_close = f"{cw_c['close_s'] * 1e3:,.0f}" + (" (capped)" if cw_c["capped"] else "")
    out.append(
        (
            "close() on a run with 5 s to go (ms)",
            cw_close,
            f"{fs_c['close_s'] * 1e3:,.1f}",
            f"{cw_c['close_s'] / fs_c['close_s']:.0f}x",
            f"<= {TARGET_CLOSE_S * 1e3:.0f} ms",
            _verdict(fs_c["close_s"] <= TARGET_CLOSE_S and not fs_c["capped"]),
        )
    )
    out.append(
        (
            "  tokens the run emitted after close()",
            str(cw_c["tokens_after_close"]),
            str(fs_c["tokens_after_close"]),
            "-",
            "-",
            "-",
        )
    )
    mem = results["memory"]
    cw_m, fs_m = mem["crewai"]["kept_bytes_per_frame"], mem["framescope"]["kept_bytes_per_frame"]
    out.append(
        (
            f"memory kept per frame, {mem['framescope']['frames']:,} frames (B)",
            f"{cw_m:,.0f}",
            f"{fs_m:,.0f}",
            f"{cw_m / fs_m:.1f}x",
            f">= {TARGET_MEMORY:.0f}x (<= 1/4)",
            _verdict(cw_m / fs_m >= TARGET_MEMORY),
        )
    )
    sl = results["slow"]
    cw_s, fs_s = sl["crewai"], sl["framescope"]
    out.append(
        (
            f"slow consumer ({SLOW_SLEEP_S * 1e3:.0f} ms/frame, {fs_s['window_s']:.0f} s): peak queued",
            f"{cw_s['peak_queued_frames']:,}",
            f"{fs_s['peak_queued_frames']:,}",
            "-",
            "bounded",
            _verdict(fs_s["peak_queued_frames"] <= 1024),
        )
    )
    out.append(
        (
            "  peak RSS growth (MB, kept frames included)",
            f"{cw_s['peak_rss_growth_bytes'] / 1e6:,.1f}",
            f"{fs_s['peak_rss_growth_bytes'] / 1e6:,.1f}",
            "-",
            "-",
            "-",
        )
    )
    imp = results["import"]
    for label, cw_key, fs_key, target in (
        ("import (s)", "crewai", "framescope", True),
        ("import flow module (s)", "crewai_flow", "framescope_flow", False),
    ):
        cw_i, fs_i = imp[cw_key]["import_s"], imp[fs_key]["import_s"]
        out.append(
            (
                label,
                f"{cw_i:.3f}",
                f"{fs_i:.3f}",
                f"{cw_i / fs_i:.1f}x",
                f">= {TARGET_IMPORT:.0f}x (<= 1/10)" if target else "-",
                _verdict(cw_i / fs_i >= TARGET_IMPORT) if target else "-",
            )
        )
    return out


def print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(
        f"machine: {m['platform']}, {m['cpus']} cpus ({m['processor']}), "
        f"load average at start {', '.join(f'{x:.2f}' for x in m['loadavg'])}, "
        f"at end {', '.join(f'{x:.2f}' for x in report['loadavg_end'])}"
    )
    print(f"crewai side:     {json.dumps(m['crewai_side'])}")
    print(f"framescope side: {json.dumps(m['framescope_side'])}")
    print(
        f"mode: {'quick' if report['quick'] else 'full'}; each workload in a fresh process per side; "
        f"total {report['wall_s']:.0f} s\n"
    )
    table = rows(report["results"])
    header = ("measure", f"CrewAI {CREWAI_VERSION}", "framescope", "advantage", "target", "")
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(cells, widths)))

    print(line(header))
    print(line(tuple("-" * w for w in widths)))
    for row in table:
        print(line(row))
    r = report["results"]
    tp = r["throughput"]
    biggest = str(r["config"]["sizes"][-1])
    print("\nnotes:")
    print(
        f"  frames/s: each size in a fresh process; time until the session is consumed AND the exporter "
        f"flushed (best of "
        f"{', '.join(f'{k}: {v}' for k, v in r['config']['repeats'].items())} runs); stream only, "
        f"{biggest} tokens: CrewAI {tp['crewai'][biggest]['frames_per_s_stream_only']:,.0f}, "
        f"framescope {tp['framescope'][biggest]['frames_per_s_stream_only']:,.0f}"
    )
    fs = tp["framescope"]
    print(
        f"  framescope file export: {fs['spans_exported']} spans exported ({fs['spans_failed']} failed), "
        f"trace files {fs['trace_file_bytes']:,} B"
    )
    if "framescope_otlp" in tp:
        fo = tp["framescope_otlp"]
        print(
            f"  framescope OTLP export: {fo['spans_exported']} spans exported ({fo['spans_failed']} failed), "
            f"receiver got {fo.get('spans_received_by_receiver')} spans"
        )
    print("  CrewAI exports nothing (telemetry and platform tracing off): its figures are its pipeline alone")
    lat = r["latency"]
    print(
        f"  paced producer achieved {lat['crewai']['achieved_hz']:,.0f}/s on CrewAI, "
        f"{lat['framescope']['achieved_hz']:,.0f}/s on framescope (sleep {1e6 / PACE_HZ:.0f} µs + emit)"
    )
    cl = r["close"]
    for side in ("crewai", "framescope"):
        stopped = cl[side]["producer_stopped_after_s"]
        print(
            f"  close, {side}: the run's method stopped "
            f"{'(not within the cap)' if stopped is None else f'{stopped * 1e3:,.1f} ms'} after close() was called"
        )
    sl = r["slow"]
    for side in ("crewai", "framescope"):
        s = sl[side]
        print(
            f"  slow consumer, {side}: {s['tokens_produced_in_window']:,} tokens produced, "
            f"{s['frames_consumed_in_window']:,} frames consumed in {s['window_s']:.1f} s"
        )
    for side in ("crewai", "framescope"):
        top = ", ".join(
            f"{'/'.join(t['file'].split('/')[-2:])} {t['bytes'] / 1e6:.1f} MB"
            for t in r["memory"][side]["top_files"][:3]
        )
        print(f"  kept memory, {side}, largest: {top}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (1k/10k tokens), about a minute")
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        help="token counts for frames/s, comma-separated (default 1000,10000,100000)",
    )
    parser.add_argument("--memory-frames", type=int, help="tokens in the kept-memory session")
    parser.add_argument(
        "--close-cap", type=float, default=10.0, help="longest wait for CrewAI's close() in seconds (default 10)"
    )
    parser.add_argument("--no-otlp", action="store_true", help="skip the OTLP/HTTP export variant")
    parser.add_argument(
        "--crewai-venv",
        type=Path,
        default=Path(os.environ.get(VENV_ENV) or DEFAULT_VENV),
        help=f"venv with crewai=={CREWAI_VERSION} (created when missing; env {VENV_ENV})",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the raw results as JSON")
    args = parser.parse_args()

    cfg = dict(QUICK if args.quick else FULL)
    if args.sizes:
        cfg["sizes"] = args.sizes
        cfg["repeats"] = {str(s): max(1, min(5, 20_000 // s)) for s in args.sizes}
    if args.memory_frames:
        cfg["memory_count"] = args.memory_frames
    cfg["close_cap_s"] = args.close_cap

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.perf_counter()
    crewai_python = ensure_crewai(args.crewai_venv)
    report: dict[str, Any] = {"quick": args.quick, "machine": machine(crewai_python)}
    report["results"] = compare(crewai_python, cfg, not args.no_otlp, log)
    report["loadavg_end"] = os.getloadavg()
    report["wall_s"] = time.perf_counter() - started
    report["targets"] = [
        {"measure": r[0], "crewai": r[1], "framescope": r[2], "advantage": r[3], "target": r[4], "verdict": r[5]}
        for r in rows(report["results"])
    ]
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
        print(f"\nraw results: {args.json}")


if __name__ == "__main__":
    main()
