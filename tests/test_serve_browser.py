"""The page in real headless Chromium (Debian's ``chromium``, driven by playwright): it lists
the runs, plays a recorded demo run to the end, shows the answer and the tool calls, seeks.

Locally these tests skip when Chromium or playwright is missing; in CI (``CI=true``) they fail,
so a CI image without a browser cannot pass silently.  ``.ci/run`` installs both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from framescope.demo import ANSWER, register_demo_script
from framescope.serve import create_app

from support.serve_helpers import (
    PublishingApp,
    UvicornThread,
    frames_of,
    parse_sse,
    record_demo,
    record_failure,
    sse_text,
)

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("FRAMESCOPE_CHROMIUM", "/usr/bin/chromium")
JAEGER = "http://jaeger.test:16686"


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package (pip install playwright)"
    if not Path(CHROMIUM).exists():
        return f"Chromium at {CHROMIUM} (apt-get install -y chromium, or set FRAMESCOPE_CHROMIUM)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _missing()
    if missing:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"browser tests need {missing}; .ci/run must install it", pytrace=False)
        pytest.skip(f"browser tests need {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture
def site(trace_file: Path) -> Iterator[tuple[str, str, str, list[dict[str, Any]]]]:
    run_id, trace_id = record_demo(token_delay_s=0.002)
    with UvicornThread(create_app(trace_file, jaeger_url=JAEGER)) as server:
        frames = [e.json() for e in frames_of(parse_sse(sse_text(httpx, f"{server.url}/api/runs/{run_id}/frames")))]
        yield server.url, run_id, trace_id, frames


def offsets(frames: list[dict[str, Any]]) -> list[int]:
    """Each frame's offset from the first, in microseconds, as the page computes it."""
    stamps = [datetime.fromisoformat(frame["timestamp"]) for frame in frames]
    out: list[int] = []
    for stamp in stamps:
        offset = (
            (stamp - stamps[0]).days * 86_400_000_000
            + (stamp - stamps[0]).seconds * 1_000_000
            + (stamp - stamps[0]).microseconds
        )
        out.append(max([offset, *out[-1:]]))
    return out


def answer(page: Any) -> str:
    return page.locator("#llm-calls .answer").all_inner_texts()[0] if page.locator("#llm-calls .answer").count() else ""


def test_the_page_lists_the_runs(page, trace_file, tmp_path):
    first, _ = record_demo()
    failed = record_failure()
    with UvicornThread(create_app(trace_file, jaeger_url=JAEGER)) as server:
        page.goto(server.url + "/")
        page.wait_for_selector("#runs tbody tr")
        rows = page.locator("#runs tbody tr")
        assert [rows.nth(i).get_attribute("data-run-id") for i in range(rows.count())] == [failed, first]
        assert page.locator(".run-link").nth(1).get_attribute("href") == f"/runs/{first}"
        assert page.locator("#runs .badge").all_inner_texts() == ["failed", "ok"]
        page.screenshot(path=tmp_path / "runs.png", full_page=True)
        page.locator(".run-link").nth(1).click()
        page.wait_for_function("document.body.dataset.state === 'ended'")
        assert page.url.endswith(f"/runs/{first}")


def test_a_recorded_demo_run_plays_to_the_end(page, site, tmp_path):
    url, run_id, _trace_id, frames = site
    page.goto(f"{url}/runs/{run_id}?speed=0.05")  # about 20x slower than it ran: it is seen playing
    page.wait_for_function("document.body.dataset.state === 'playing' && Number(document.body.dataset.applied) > 0")
    assert ANSWER.startswith(answer(page))
    page.screenshot(path=tmp_path / "playing.png", full_page=True)
    page.select_option("#speed", "20")
    page.wait_for_function("document.body.dataset.state === 'ended'", timeout=60_000)
    assert answer(page) == ANSWER
    assert page.locator("#count").inner_text() == f"{len(frames)} / {len(frames)} frames"
    assert page.locator("#outcome").inner_text() == "ok"
    page.screenshot(path=tmp_path / "ended.png", full_page=True)


def test_speed_zero_shows_the_whole_answer_tool_calls_details_and_trace_link(page, site, tmp_path):
    url, run_id, trace_id, frames = site
    page.goto(f"{url}/runs/{run_id}?speed=0")
    page.wait_for_function("document.body.dataset.state === 'ended'")
    assert answer(page) == ANSWER
    assert "Latency after a deploy" in page.locator("#llm-calls .thinking").inner_text()
    cards = page.locator(".tool-card")
    assert cards.count() == 2
    runbook, metrics = cards.nth(0).inner_text(), cards.nth(1).inner_text()
    assert "search_runbooks" in runbook and '"service": "checkout"' in runbook and "Runbook checkout-latency" in runbook
    assert "get_service_metrics" in metrics and '"p99_ms": 2400' in metrics and "done" in metrics
    assert cards.nth(1).get_attribute("data-tool-call-id") == "call_demo_0"
    assert page.locator("#errors .error-card").count() == 0
    assert page.locator(".trace-link").get_attribute("href") == f"{JAEGER}/trace/{trace_id}"
    lanes = page.locator("#timeline .lane-label").all_text_contents()
    assert lanes == ["flow", "llm", "tools", "custom"]
    finished = next(
        i for i, f in enumerate(frames) if f["type"] == "tool_usage_finished" and f["data"].get("tool_call_id")
    )
    page.locator(f'#log li[data-index="{finished}"]').click()
    assert json.loads(page.locator("#details").inner_text()) == frames[finished]
    page.locator(f'#timeline [data-index="{finished - 1}"]').first.click()  # a bar: the tool call's opener
    assert json.loads(page.locator("#details").inner_text()) == frames[finished - 1]
    page.screenshot(path=tmp_path / "speed0.png", full_page=True)


def test_seeking_shows_the_run_as_it_was_at_that_moment(page, site, tmp_path):
    url, run_id, _trace_id, frames = site
    page.goto(f"{url}/runs/{run_id}?speed=0")
    page.wait_for_function("document.body.dataset.state === 'ended'")
    at = offsets(frames)
    chunks = [i for i, f in enumerate(frames) if f["type"] == "llm_stream_chunk"]

    def seek(position: int) -> int:
        page.locator("#seek").evaluate(
            "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input')); }", position
        )
        expected = sum(1 for offset in at if offset <= position)
        page.wait_for_function(f"document.body.dataset.applied === '{expected}'")
        return expected

    middle = chunks[len(chunks) // 2]
    shown = seek(at[middle])
    assert answer(page) == "".join(f["data"]["chunk"] for f in frames[:shown] if f["type"] == "llm_stream_chunk")
    assert 0 < len(answer(page)) < len(ANSWER)
    assert page.locator(".tool-card").count() == 2  # both tools ran before the answer
    page.screenshot(path=tmp_path / "seek-middle.png", full_page=True)
    before_tools = next(i for i, f in enumerate(frames) if f["type"] == "tool_usage_started")
    shown = seek(at[before_tools] - 1 if at[before_tools] > 0 else 0)
    assert page.locator(".tool-card").count() == 0 and answer(page) == ""
    assert page.locator("#log li").count() == shown
    seek(at[-1])
    assert answer(page) == ANSWER and page.locator(".tool-card").count() == 2
    page.select_option("#speed", "20")
    seek(0)
    page.locator("#play").click()  # seeking paused the player; play resumes it from there to the end
    page.wait_for_function("document.body.dataset.state === 'ended'", timeout=60_000)
    assert answer(page) == ANSWER


def test_a_failed_run_shows_its_error(page, trace_file, tmp_path):
    failed = record_failure()
    with UvicornThread(create_app(trace_file)) as server:
        page.goto(f"{server.url}/runs/{failed}?speed=0")
        page.wait_for_function("document.body.dataset.state === 'ended'")
        assert page.locator("#outcome").inner_text() == "failed"
        assert (
            "RuntimeError" in page.locator("#errors").inner_text()
            and "bad broke" in page.locator("#errors").inner_text()
        )
        page.goto(f"{server.url}/runs/0123456789abcdef")
        page.wait_for_function("document.body.dataset.state === 'missing'")
        assert "is not in the served source" in page.locator(".notice").inner_text()
        page.screenshot(path=tmp_path / "failed.png", full_page=True)


def test_the_page_follows_a_published_live_run(page, trace_file, tmp_path):
    register_demo_script(0.01)
    publisher = PublishingApp(trace_file)
    with UvicornThread(publisher.app) as server:
        run_id = httpx.post(f"{server.url}/start", timeout=30).json()["run_id"]
        page.goto(f"{server.url}/runs/{run_id}")
        page.wait_for_function("document.body.dataset.state === 'ended'", timeout=60_000)
        assert answer(page) == ANSWER
        assert page.locator("#outcome").inner_text() == "ok"
        assert page.locator(".tool-card").count() == 2
        page.screenshot(path=tmp_path / "live.png", full_page=True)
