"""Benchmark (not a test): framescope's cost per streamed LLM token over the raw ``openai`` client.

Both sides read the same local OpenAI-compatible SSE stream (tests/support/openai_server.py,
run in a child process so it does not share this process's GIL):

  * raw:        ``openai.OpenAI().chat.completions.create(stream=True)``, reading each delta;
  * framescope: ``LLM(...).stream_events(...)`` consumed frame by frame, with OTel recording
                on and the embedded file exporter (trace flushed inside the measurement).

The figure that matters is CPU time of this process per token (all its threads: the reader,
which also drives the call in pull mode, and the span exporter), because wall time is paced by
the server.  The difference is framescope's cost per token against the typed client: its own
reading of the stream (chunks left as JSON objects, no model per chunk), frames, span encoding
and export.  bench/compare_peers.py also shows the same untyped read without framescope, which
isolates the recording cost.

    python bench/llm_tokens.py                  # 20,000 tokens, 5 rounds each
    python bench/llm_tokens.py --tokens 5000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "plugin"))

_SERVER = """
import sys
sys.path.insert(0, {tests!r})
from support.openai_server import OpenAICompatibleServer
reply = "".join(f" w{{i}}" for i in range({tokens}))
with OpenAICompatibleServer(reply=reply) as server:
    print(server.base_url, flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin
"""

MESSAGES = [{"role": "user", "content": "Count."}]


def start_server(tokens: int) -> tuple[subprocess.Popen[str], str]:
    code = _SERVER.format(tests=str(ROOT / "tests"), tokens=tokens)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    base_url = proc.stdout.readline().strip()
    if not base_url.startswith("http"):
        proc.kill()
        raise SystemExit(f"the local server did not start (got {base_url!r})")
    return proc, base_url


def measure(fn: Callable[[], int]) -> tuple[float, float, int]:
    """(cpu seconds, wall seconds, tokens) of one run."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    count = fn()
    return time.process_time() - cpu0, time.perf_counter() - wall0, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    trace_dir = tempfile.mkdtemp(prefix="framescope-bench-")
    os.environ["FRAMESCOPE_TRACE_FILE"] = str(Path(trace_dir) / "traces.jsonl")
    for name in (
        "OTEL_SDK_DISABLED",
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
    ):
        os.environ.pop(name, None)

    import openai

    import framescope
    from framescope.llm import LLM

    proc, base_url = start_server(args.tokens)
    try:
        runtime = framescope.configure(replace=True)
        assert runtime.tracer is not None and runtime.trace_file is not None, "OTel recording must be on"
        client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)
        llm = LLM("openai/bench", base_url=base_url, api_key="bench", max_retries=0)

        def raw() -> int:
            count = 0
            stream = client.chat.completions.create(
                model="bench",
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},  # type: ignore[arg-type]
            )
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    count += 1
            return count

        def framed() -> int:
            count = 0
            with llm.stream_events(MESSAGES) as session:
                for frame in session:
                    if frame.type == "llm_stream_chunk":
                        count += 1
            framescope.flush()
            return count

        raw(), framed()  # warm up: connections, imports, first spans
        results: dict[str, list[tuple[float, float, int]]] = {"raw openai": [], "framescope": []}
        for _ in range(args.rounds):
            results["raw openai"].append(measure(raw))
            results["framescope"].append(measure(framed))
        trace_bytes = Path(runtime.trace_file).stat().st_size
    finally:
        framescope.shutdown()
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=10)

    print(
        f"machine : {platform.machine()} {platform.processor() or ''} {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.release()}"
    )
    print(
        f"versions: python {platform.python_version()}, openai {metadata.version('openai')}, "
        f"opentelemetry-sdk {metadata.version('opentelemetry-sdk')}, httpx {metadata.version('httpx')}, "
        f"framescope {framescope.__version__}"
    )
    print(f"run     : {args.tokens} tokens per answer, {args.rounds} rounds, median; OTel recording on, file exporter")
    per_token: dict[str, float] = {}
    for name, runs in results.items():
        counts = {count for _, _, count in runs}
        assert counts == {args.tokens}, f"{name} read {counts} tokens, expected {args.tokens}"
        cpu = statistics.median(c for c, _, _ in runs) / args.tokens * 1e6
        wall = statistics.median(w for _, w, _ in runs) / args.tokens * 1e6
        per_token[name] = cpu
        print(f"{name:<11}: {cpu:7.2f} µs/token CPU   {wall:7.2f} µs/token wall")
    overhead = per_token["framescope"] - per_token["raw openai"]
    print(f"overhead   : {overhead:7.2f} µs/token CPU (target: at most +3)")
    print(f"trace file : {trace_bytes / (args.tokens * (args.rounds + 1)):.1f} bytes/token")


if __name__ == "__main__":
    main()
