"""Benchmark (not a test): CPU per streamed token, framescope against the OpenAI tracing peers.

One run, side by side, each client in its own venv and a fresh process per measurement:

  * ``raw``           the ``openai`` client alone, no tracing;
  * ``openinference`` openinference-instrumentation-openai (Arize);
  * ``openllmetry``   opentelemetry-instrumentation-openai (Traceloop's OpenLLMetry);
  * ``openai-v2``     opentelemetry-instrumentation-openai-v2 (OpenTelemetry's own);
  * ``framescope``    ``LLM(...).stream_events(...)``, read frame by frame;
  * ``raw-untyped``   not a peer: the ``openai`` client's generic ``post`` with chunks left as
                      JSON objects, which is how framescope's provider reads a stream; the
                      difference to it is framescope's recording cost alone.

A local OpenAI-compatible server (tests/support/openai_server.py) runs in a child process and
streams a 20,000-token answer; every traced client exports its spans over OTLP/HTTP to a local
sink, also a child process.  The figure is the client process's CPU time per token for one
streamed answer, the span export flushed inside the measurement (after one small warm-up call
in the same process).  Message content capture is on wherever a peer has a switch for it,
since framescope records every token.  Each round runs every client once, in a rotated
order; the table shows the median over rounds (and the best).

The venvs live in ``bench/.peers-venvs/<client>`` (gitignored), created on first use with the
``openai`` version of this interpreter when the peer accepts it.

    python bench/compare_peers.py                       # 20,000 tokens, 5 rounds
    python bench/compare_peers.py --tokens 5000 --rounds 3 --only raw framescope
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENVS = HERE / ".peers-venvs"
MESSAGES = [{"role": "user", "content": "Count."}]
WARMUP_TOKENS = 50

#: client -> (pip requirements besides openai, the distributions whose versions the table shows)
PEERS: dict[str, tuple[list[str], list[str]]] = {
    "raw": ([], ["openai"]),
    "openinference": (
        ["openinference-instrumentation-openai", "opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http"],
        ["openai", "openinference-instrumentation-openai", "opentelemetry-sdk"],
    ),
    "openllmetry": (
        ["opentelemetry-instrumentation-openai", "opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http"],
        ["openai", "opentelemetry-instrumentation-openai", "opentelemetry-sdk"],
    ),
    "openai-v2": (
        # It imports httpx, which openai 3.x (on httpx2) no longer brings, and
        # opentelemetry.util.genai.instruments, which util-genai 1.2 and later dropped.
        [
            "opentelemetry-instrumentation-openai-v2",
            "opentelemetry-sdk",
            "opentelemetry-exporter-otlp-proto-http",
            "httpx",
            "opentelemetry-util-genai==1.1b0",
        ],
        ["openai", "opentelemetry-instrumentation-openai-v2", "opentelemetry-sdk"],
    ),
    "framescope": ([f"-e{ROOT}"], ["openai", "framescope", "opentelemetry-sdk"]),
    # Not a peer: the raw client reading the stream the way framescope's provider does (the SDK's
    # generic ``post``, chunks left as JSON objects), so framescope's recording cost shows apart
    # from what it saves by not building the SDK's typed chunk models.
    "raw-untyped": ([], ["openai"]),
}
#: Clients measured in another client's venv.
SHARED_VENV = {"raw-untyped": "raw"}


# =========================================================================================
# child processes: the model server and the OTLP sink
# =========================================================================================

_SERVER = """
import sys
sys.path.insert(0, {tests!r})
from support.openai_server import OpenAICompatibleServer
big = "".join(f" w{{i}}" for i in range({tokens}))
small = "".join(f" w{{i}}" for i in range({warmup}))
with OpenAICompatibleServer(reply=big) as server, OpenAICompatibleServer(reply=small) as warm:
    print(server.base_url, warm.base_url, flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin
"""


class _SinkHandler(BaseHTTPRequestHandler):
    """Accepts any OTLP/HTTP export (traces, metrics) and answers 200 with an empty message."""

    protocol_version = "HTTP/1.1"
    received = 0

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        _SinkHandler.received += len(self.rfile.read(length))
        self.send_response(200)
        self.send_header("Content-Type", self.headers.get("Content-Type") or "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_sink() -> None:
    """The OTLP sink's child process: prints its endpoint, serves until stdin closes."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SinkHandler)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    sys.stdin.read()
    server.shutdown()
    print(_SinkHandler.received, flush=True)


class Child:
    """A helper process that prints one line (its address) and serves until stdin closes."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        self.line = self.proc.stdout.readline().strip()
        if not self.line.startswith("http"):
            self.proc.kill()
            raise SystemExit(f"{argv[-1][:40]!r} did not start (got {self.line!r})")

    def stop(self) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        rest = self.proc.stdout.read().strip()
        self.proc.wait(timeout=30)
        return rest


# =========================================================================================
# venvs
# =========================================================================================


def venv_python(client: str) -> Path:
    return VENVS / SHARED_VENV.get(client, client) / "bin" / "python"


def ensure_venv(client: str, openai_version: str) -> Path:
    """The client's venv, created and installed once (pinned to our openai when it resolves)."""
    client = SHARED_VENV.get(client, client)
    python = venv_python(client)
    marker = VENVS / client / ".installed"
    if marker.exists():
        return python
    requirements, _ = PEERS[client]
    print(f"installing {client} into {VENVS / client} (once) ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENVS / client)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    pinned = subprocess.run([*pip, f"openai=={openai_version}", *requirements])
    if pinned.returncode != 0:
        print(f"{client}: openai=={openai_version} does not resolve; letting pip choose", file=sys.stderr)
        subprocess.run([*pip, "openai", *requirements], check=True)
    marker.write_text("ok\n")
    return python


# =========================================================================================
# one measurement (runs inside the client's venv)
# =========================================================================================


def _tracer_provider(endpoint: str) -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    return provider


def _raw_reader(base_url: str) -> Any:
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)

    def read() -> int:
        count = 0
        stream = client.chat.completions.create(
            model="bench", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                count += 1
        return count

    return read


def _untyped_reader(base_url: str) -> Any:
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)
    body = {"model": "bench", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}

    def read() -> int:
        count = 0
        stream = client.post(
            "/chat/completions", cast_to=object, body=body, stream=True, stream_cls=openai.Stream[object]
        )
        for chunk in stream:
            choices = chunk.get("choices")
            if choices and choices[0].get("delta", {}).get("content"):
                count += 1
        return count

    return read


def side(client: str, base_url: str, warm_url: str, endpoint: str) -> dict[str, Any]:
    """Set the client up, warm it, then measure one streamed answer (CPU of this process)."""
    flush: Any = None
    if client == "framescope":
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
        os.environ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf"
        import framescope
        from framescope.llm import LLM

        framescope.configure(replace=True)

        def reader(url: str) -> Any:
            llm = LLM("openai/bench", base_url=url, api_key="bench", max_retries=0)

            def read() -> int:
                count = 0
                with llm.stream_events(MESSAGES) as session:
                    for frame in session:
                        if frame.type == "llm_stream_chunk":
                            count += 1
                return count

            return read

        flush = framescope.flush
    else:
        if client not in ("raw", "raw-untyped"):
            provider = _tracer_provider(endpoint)
            flush = provider.force_flush
            if client == "openinference":
                from openinference.instrumentation.openai import OpenAIInstrumentor
            elif client == "openllmetry":
                os.environ.setdefault("TRACELOOP_TRACE_CONTENT", "true")
                from opentelemetry.instrumentation.openai import OpenAIInstrumentor  # type: ignore[no-redef]
            else:
                os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true"
                from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor  # type: ignore[no-redef]
            OpenAIInstrumentor().instrument(tracer_provider=provider)
        reader = _untyped_reader if client == "raw-untyped" else _raw_reader

    reader(warm_url)()
    if flush is not None:
        flush()
    read = reader(base_url)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    count = read()
    if flush is not None:
        flush()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    from importlib import metadata

    versions = {name: metadata.version(name) for name in PEERS[client][1]}
    return {"cpu_s": cpu, "wall_s": wall, "tokens": count, "versions": versions}


def run_side(client: str, base_url: str, warm_url: str, endpoint: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FRAMESCOPE_", "TRACELOOP_", "OPENAI_"))}
    env.pop("PYTHONPATH", None)
    child = subprocess.run(
        [str(venv_python(client)), str(Path(__file__).resolve()), "--side", client, base_url, warm_url, endpoint],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    if child.returncode != 0:
        raise SystemExit(f"{client} failed (exit {child.returncode}):\n{child.stderr[-3000:]}")
    return dict(json.loads(child.stdout.strip().splitlines()[-1]))


# =========================================================================================
# the comparison
# =========================================================================================


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", nargs="+", choices=list(PEERS), default=list(PEERS))
    parser.add_argument("--install-only", action="store_true", help="create the venvs and stop")
    args = parser.parse_args()

    from importlib import metadata

    openai_version = metadata.version("openai")
    for client in args.only:
        ensure_venv(client, openai_version)
    if args.install_only:
        return
    load_start = os.getloadavg()
    server = Child(
        [sys.executable, "-c", _SERVER.format(tests=str(ROOT / "tests"), tokens=args.tokens, warmup=WARMUP_TOKENS)]
    )
    sink = Child([sys.executable, str(Path(__file__).resolve()), "--sink"])
    base_url, warm_url = server.line.split()
    runs: dict[str, list[dict[str, Any]]] = {client: [] for client in args.only}
    try:
        for round_index in range(args.rounds):
            shift = round_index % len(args.only)
            for client in args.only[shift:] + args.only[:shift]:
                result = run_side(client, base_url, warm_url, sink.line)
                if result["tokens"] != args.tokens:
                    raise SystemExit(f"{client} read {result['tokens']} tokens, expected {args.tokens}")
                runs[client].append(result)
            print(f"round {round_index + 1}/{args.rounds} done, load {os.getloadavg()[0]:.2f}", file=sys.stderr)
    finally:
        server.stop()
        exported = sink.stop()
    load_end = os.getloadavg()

    print(
        f"machine : {platform.machine()} {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"python {platform.python_version()} (all venvs)"
    )
    print(
        f"load    : {load_start[0]:.2f} / {load_start[1]:.2f} / {load_start[2]:.2f} at start, "
        f"{load_end[0]:.2f} / {load_end[1]:.2f} / {load_end[2]:.2f} at end"
    )
    print(
        f"run     : {args.tokens} tokens per answer, {args.rounds} rounds, fresh process per measurement; "
        f"OTLP/HTTP sink received {exported} bytes"
    )
    raw = statistics.median(r["cpu_s"] for r in runs["raw"]) / args.tokens * 1e6 if "raw" in runs else None
    untyped = runs.get("raw-untyped")
    base = statistics.median(r["cpu_s"] for r in untyped) / args.tokens * 1e6 if untyped else None
    print("| client | versions | CPU µs/token, median (best) | over raw, median | over raw-untyped, median |")
    print("|---|---|---:|---:|---:|")
    for client, results in runs.items():
        cpus = [r["cpu_s"] / args.tokens * 1e6 for r in results]
        median = statistics.median(cpus)
        over = "—" if client == "raw" or raw is None else f"{median - raw:+.1f}"
        over_untyped = "—" if client == "raw-untyped" or base is None else f"{median - base:+.1f}"
        versions = ", ".join(f"{k} {v}" for k, v in results[0]["versions"].items())
        print(f"| {client} | {versions} | {median:.1f} ({min(cpus):.1f}) | {over} | {over_untyped} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--sink":
        serve_sink()
    elif len(sys.argv) > 1 and sys.argv[1] == "--side":
        print(json.dumps(side(*sys.argv[2:6])))
    else:
        main()
