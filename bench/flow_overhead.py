"""Benchmark (not a test): what a trivial flow's kickoff costs, streamed and not streamed.

Prints microseconds per kickoff for a one-method flow and a three-method flow:
``kickoff()`` (recorded run, no session), ``stream_events()`` consumed to the end, and
``astream()`` consumed from an event loop.  Traces go to a temporary local file, the
embedded default.  Run: ``PYTHONPATH=plugin python bench/flow_overhead.py [iterations]``.

Wall time is what a caller waits; process CPU time (all threads) is printed beside it because
it is far less sensitive to other load on a shared machine.  The ratio line compares
``stream_events()`` with ``kickoff()`` on both (target: at most 1.15x).
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version

import framescope
from framescope.flow import Flow, listen, start


class Trivial(Flow):
    @start()
    def only(self):
        return 1


class ThreeSteps(Flow):
    @start()
    def one(self):
        return 1

    @listen(one)
    def two(self, value):
        return value + 1

    @listen(two)
    async def three(self, value):
        return value + 1


def plain(cls: type[Flow]) -> None:
    cls().kickoff()


def streamed(cls: type[Flow]) -> None:
    with cls().stream_events() as stream:
        for _ in stream:
            pass
    stream.result  # noqa: B018 - the result is part of the work


def astreamed(cls: type[Flow]) -> None:
    async def read() -> None:
        async with cls().astream() as stream:
            async for _ in stream:
                pass

    asyncio.run(read())


def measure(fn: Callable[[type[Flow]], None], cls: type[Flow], iterations: int) -> dict[str, float]:
    for _ in range(max(20, iterations // 10)):
        fn(cls)
    walls, cpus = [], []
    for _ in range(5):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(iterations):
            fn(cls)
        walls.append((time.perf_counter() - wall) / iterations * 1e6)
        cpus.append((time.process_time() - cpu) / iterations * 1e6)
    return {
        "wall": statistics.median(walls),
        "wall_best": min(walls),
        "cpu": statistics.median(cpus),
        "cpu_best": min(cpus),
    }


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with tempfile.TemporaryDirectory() as directory:
        os.environ["FRAMESCOPE_TRACE_FILE"] = os.path.join(directory, "traces.jsonl")
        for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED"):
            os.environ.pop(name, None)
        framescope.configure(replace=True)
        print(
            f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} CPUs, "
            f"{platform.system()} {platform.release()}"
        )
        print(
            f"python {platform.python_version()}, framescope {framescope.__version__}, "
            f"opentelemetry-sdk {version('opentelemetry-sdk')}, pydantic {version('pydantic')}"
        )
        print(
            f"{iterations} kickoffs x 5 rounds, median (best) microseconds per kickoff; traces to a local file; "
            f"load {os.getloadavg()[0]:.2f}"
        )
        for cls, label in ((Trivial, "1 method"), (ThreeSteps, "3 methods")):
            figures = {}
            for fn, how in ((plain, "kickoff()"), (streamed, "stream_events()"), (astreamed, "astream()")):
                figures[how] = got = measure(fn, cls, iterations)
                print(
                    f"  {label:9} {how:16} wall {got['wall']:8.1f} us ({got['wall_best']:.1f})   "
                    f"cpu {got['cpu']:8.1f} us ({got['cpu_best']:.1f})"
                )
            base, streamed_run = figures["kickoff()"], figures["stream_events()"]
            print(
                f"  {label:9} stream_events()/kickoff(): wall {streamed_run['wall'] / base['wall']:.2f}x "
                f"(best {streamed_run['wall_best'] / base['wall_best']:.2f}x), "
                f"cpu {streamed_run['cpu'] / base['cpu']:.2f}x "
                f"(best {streamed_run['cpu_best'] / base['cpu_best']:.2f}x); target <= 1.15x"
            )
        print(f"load at end {os.getloadavg()[0]:.2f}")
        framescope.shutdown()


if __name__ == "__main__":
    main()
