"""Benchmark (not a test): RSS growth of a session reading an endless token stream.

A session opened with ``keep_history=False`` keeps no frames, so memory should stay flat however
long the stream runs.  This pushes ``--tokens`` token frames through one session and samples the
process's resident set size (``/proc/self/statm``) as it goes; the figure is the growth from
just after the first ``--warmup`` tokens (imports, first spans, allocator pools) to the peak.

Sources of tokens (each in a fresh process):

  * ``emit``: a run emitting ``llm_stream_chunk`` frames in one lifecycle (``stream_call``),
    the pipeline alone, fast;
  * ``llm``:  ``LLM(...).stream_events(...)`` reading a local OpenAI-compatible server (child
    process) that streams the whole answer, the real path.

Tracing is off by default (``OTEL_SDK_DISABLED=true``): an OpenTelemetry span is exported whole
when it ends, so a single call of a million tokens holds its packed token events (~12 bytes a
token) in its span until then, whatever the session keeps.  ``--record`` turns recording (file
exporter) on to show that part too.

    python bench/memory_endless.py                          # 1,000,000 tokens, emit, no history
    python bench/memory_endless.py --source llm --tokens 200000
    python bench/memory_endless.py --keep-history --tokens 100000   # the default, for contrast
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_EVERY = 10_000


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Runs in the fresh child process: stream the tokens, sample RSS, report."""
    if not args.record:
        os.environ["OTEL_SDK_DISABLED"] = "true"
    else:
        os.environ["FRAMESCOPE_TRACE_FILE"] = str(Path(tempfile.mkdtemp(prefix="framescope-mem-")) / "t.jsonl")
    sys.path.insert(0, str(ROOT / "plugin"))
    import framescope
    from framescope import emit_token, lifecycle, stream_call

    framescope.configure(replace=True)
    keep = args.keep_history
    server = None
    if args.source == "emit":

        def produce(count: int) -> str:
            with lifecycle(
                "llm_call_started", {"model": "endless"}, finished="llm_call_completed", failed="llm_call_failed"
            ):
                for _ in range(count):
                    emit_token("llm_stream_chunk", " w")
            return "done"

        session = stream_call(produce, args.tokens, keep_history=keep)
    else:
        from framescope.llm import LLM

        server = subprocess.Popen(
            [sys.executable, "-c", _SERVER.format(tests=str(ROOT / "tests"), tokens=args.tokens)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        llm = LLM("openai/endless", base_url=base_url, api_key="bench", max_retries=0)
        session = llm.stream_events([{"role": "user", "content": "Go on."}], keep_history=keep)

    samples: list[tuple[int, int]] = []
    start_rss = 0
    tokens = 0
    started = time.perf_counter()
    with session:
        for frame in session:
            if frame.type != "llm_stream_chunk":
                continue
            tokens += 1
            if tokens == args.warmup:
                start_rss = rss_bytes()
            if tokens % SAMPLE_EVERY == 0:
                samples.append((tokens, rss_bytes()))
        result_ok = session.result is not None
    elapsed = time.perf_counter() - started
    framescope.shutdown()
    if server is not None:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)
    peak = max(rss for _, rss in samples)
    return {
        "tokens": tokens,
        "start_mb": start_rss / 1e6,
        "peak_mb": peak / 1e6,
        "end_mb": samples[-1][1] / 1e6,
        "growth_mb": (peak - start_rss) / 1e6,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
        "seconds": elapsed,
        "result_ok": result_ok,
        "curve": [(count, round(rss / 1e6, 1)) for count, rss in samples[:: max(1, len(samples) // 10)]],
    }


_SERVER = """
import sys
sys.path.insert(0, {tests!r})
from support.openai_server import OpenAICompatibleServer
with OpenAICompatibleServer(reply="".join(f" w{{i}}" for i in range({tokens}))) as server:
    print(server.base_url, flush=True)
    sys.stdin.read()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--warmup", type=int, default=10_000)
    parser.add_argument("--source", choices=["emit", "llm"], default="emit")
    parser.add_argument("--keep-history", action="store_true", help="the default session, for contrast")
    parser.add_argument("--record", action="store_true", help="OTel recording on (file exporter)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import json

        print(json.dumps(measure(args)))
        return
    child = subprocess.run([sys.executable, __file__, "--child", *sys.argv[1:]], capture_output=True, text=True)
    if child.returncode != 0:
        raise SystemExit(f"the measuring process failed:\n{child.stderr[-3000:]}")
    import json

    report = json.loads(child.stdout.strip().splitlines()[-1])
    load = os.getloadavg()
    history = "kept (default)" if args.keep_history else "keep_history=False"
    print(
        f"source {args.source}, {report['tokens']:,} tokens, history {history}, "
        f"recording {'on' if args.record else 'off'}; load {load[0]:.2f}"
    )
    print(
        f"RSS after {args.warmup:,} tokens {report['start_mb']:.1f} MB, peak {report['peak_mb']:.1f} MB, "
        f"end {report['end_mb']:.1f} MB: growth {report['growth_mb']:.1f} MB "
        f"(target <= 10 MB with keep_history=False); {report['seconds']:.1f} s"
    )
    print("curve (tokens, MB):", report["curve"])
    if not report["result_ok"]:
        raise SystemExit("the session had no result")


if __name__ == "__main__":
    main()
