"""Load on loopback for ``framescope serve`` (a benchmark, not a test).

1. 200 concurrent SSE clients read a 10,000-frame run; every one must receive every frame
   (the exact bytes of a reference read, and 10,000 ``id:`` lines) and the server's RSS may
   grow by at most 100 MB (sampled every 20 ms from /proc while the clients read).
2. One client reads the same run as fast as it can; it must get at least 50,000 frames/s.

The server is the real command (``framescope serve FILE``) in its own process, so its memory
is measured apart from the clients'.  Usage: ``python bench/serve_load.py [--clients 200]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

FRAMES = 10_000


def record_run(path: Path, frames: int) -> str:
    """A streamed LLM answer of ``frames`` frames (call started + tokens + completed)."""
    os.environ["FRAMESCOPE_TRACE_FILE"] = str(path)
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED"):
        os.environ.pop(name, None)
    import framescope
    from framescope.llm import LLM
    from framescope.llm.providers import register_script

    framescope.configure(replace=True)
    register_script("bench-serve", ["".join(f" w{i}" for i in range(frames - 2))])
    with LLM("scripted/bench-serve").stream_events("write a lot") as session:
        count = sum(1 for _ in session)
    framescope.flush()
    framescope.shutdown()
    assert count == frames, f"recorded {count} frames, wanted {frames}"
    assert session.run_id is not None
    return session.run_id


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def read_stream(client: httpx.AsyncClient, url: str) -> tuple[str, int, int]:
    """(sha256 of the body, number of frames, bytes)."""
    digest = hashlib.sha256()
    frames = 0
    size = 0
    tail = b""
    async with client.stream("GET", url) as response:
        response.raise_for_status()
        async for chunk in response.aiter_raw():
            digest.update(chunk)
            size += len(chunk)
            window = tail + chunk
            frames += window.count(b"\nid: ") - tail.count(b"\nid: ")
            tail = window[-8:]
    return digest.hexdigest(), frames, size


async def main_async(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="framescope-serve-bench-"))
    trace = workdir / "traces.jsonl"
    run_id = record_run(trace, FRAMES)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "framescope.cli", "serve", str(trace), "--port", str(port)],
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/api/runs/{run_id}/frames"
    try:
        async with httpx.AsyncClient(timeout=120) as probe:
            for _ in range(200):
                try:
                    await probe.get(f"{base}/static/app.css")  # ready, before the source is read
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        baseline = rss_mb(server.pid)
        limits = httpx.Limits(max_connections=args.clients + 10, max_keepalive_connections=args.clients + 10)
        async with httpx.AsyncClient(timeout=300, limits=limits) as client:
            # the first read decodes the run and encodes its frames once (then shared)
            started = time.perf_counter()
            reference, frames, size = await read_stream(client, url)
            cold = time.perf_counter() - started
            assert frames == FRAMES, f"reference read got {frames} frames"
            warm_rates = []
            for _ in range(5):
                started = time.perf_counter()
                digest, frames, _ = await read_stream(client, url)
                warm_rates.append(FRAMES / (time.perf_counter() - started))
                assert digest == reference and frames == FRAMES
            after_warmup = rss_mb(server.pid)

            peak = after_warmup
            sampling = True

            async def sample() -> None:
                nonlocal peak
                while sampling:
                    peak = max(peak, rss_mb(server.pid))
                    await asyncio.sleep(0.02)

            sampler = asyncio.create_task(sample())
            started = time.perf_counter()
            results = await asyncio.gather(*(read_stream(client, url) for _ in range(args.clients)))
            elapsed = time.perf_counter() - started
            sampling = False
            await sampler
        complete = sum(1 for digest, count, _ in results if digest == reference and count == FRAMES)
        growth = peak - baseline
        load = os.getloadavg()
        print(
            f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        )
        print(f"run: {FRAMES} frames, {size / 1e6:.2f} MB of SSE")
        print(f"one client, first read (decode + encode): {FRAMES / cold:,.0f} frames/s")
        print(f"one client, warm: best {max(warm_rates):,.0f} frames/s, worst {min(warm_rates):,.0f} frames/s")
        print(
            f"{args.clients} clients: {complete}/{args.clients} received every frame, "
            f"{args.clients * FRAMES / elapsed:,.0f} frames/s in total ({elapsed:.1f} s)"
        )
        print(
            f"server RSS: {baseline:.1f} MB at start (source not read yet), "
            f"{after_warmup:.1f} MB after the first reads, "
            f"peak {peak:.1f} MB under load: growth {growth:.1f} MB"
        )
        ok = complete == args.clients and growth <= 100 and max(warm_rates) >= 50_000
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        server.terminate()
        server.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
