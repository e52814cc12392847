"""Item 5 of the hardening issue: remote replay has a total deadline, a body limit and bounded decompression.

Hostile servers on 127.0.0.1 trickle bytes, stream huge bodies, declare huge lengths and
send gzip bombs; every fetch must end with one clear error, in bounded memory.
"""

from __future__ import annotations

import threading
import tracemalloc
from typing import Any

import pytest

from framescope.errors import TraceFetchError
from framescope.replay.fetch import TraceFetcher

from support.hostile_server import HostileServer

TRACE_ID = "0" * 31 + "1"
BOUND_S = 20.0  # the fetch thread must be done long before this (the old behaviour never ended)


def fetch_in_thread(url: str, **options: Any) -> BaseException | None:
    """Run one fetch in a thread; return what it raised.  The join bound is the test's time limit."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            with TraceFetcher(url, backend="tempo", retries=0, **options) as fetcher:
                fetcher.fetch(TRACE_ID)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(BOUND_S)
    assert not thread.is_alive(), "the fetch did not end: no total deadline"
    return outcome[0]


def test_a_trickling_server_hits_the_total_deadline():
    with HostileServer(trickle_s=0.05) as server:
        error = fetch_in_thread(server.url + "/trickle", timeout=1.0)
    assert isinstance(error, TraceFetchError)
    assert "did not send its whole answer within 1s (the total time allowed)" in str(error)


@pytest.mark.parametrize("path", ["/huge", "/declared"])
def test_a_huge_body_is_refused_at_the_limit_in_bounded_memory(monkeypatch, path):
    monkeypatch.setenv("FRAMESCOPE_MAX_TRACE_BYTES", str(1024 * 1024))
    with HostileServer(huge_bytes=64 * 1024 * 1024) as server:
        tracemalloc.start()
        try:
            error = fetch_in_thread(server.url + path, timeout=15.0)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert isinstance(error, TraceFetchError) and "1.0 MiB limit" in str(error)
    assert "FRAMESCOPE_MAX_TRACE_BYTES" in str(error)
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for a 1 MiB limit"


def test_a_gzip_bomb_is_inflated_only_up_to_the_limit():
    with HostileServer(bomb_bytes=200 * 1024 * 1024) as server:
        tracemalloc.start()
        try:
            error = fetch_in_thread(server.url + "/bomb", timeout=15.0, max_bytes=2 * 1024 * 1024)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert isinstance(error, TraceFetchError) and "inflates to more than the 2.0 MiB limit" in str(error)
    assert peak < 12 * 1024 * 1024, f"peak {peak} bytes while refusing a 200 MiB bomb"


def test_the_limit_is_documented_with_its_default():
    from pathlib import Path

    from framescope.replay.limits import DEFAULT_MAX_TRACE_BYTES

    doc = (Path(__file__).resolve().parents[1] / "docs" / "replay.md").read_text()
    assert DEFAULT_MAX_TRACE_BYTES == 128 * 1024 * 1024
    assert "FRAMESCOPE_MAX_TRACE_BYTES" in doc and "128 MiB" in doc
