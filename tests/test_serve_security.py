"""framescope serve's security: loopback by default, the token, the Host check, CORS, no path
reaching the file system, and traces recorded with content capture off showing no content."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

import framescope
from framescope.cli import main
from framescope.demo import ANSWER
from framescope.errors import FramescopeError, ServeConfigError
from framescope.serve import create_app
from framescope.serve.security import check_bind, is_loopback

from support.serve_helpers import UvicornThread, frames_of, parse_sse, record_demo, sse_text

TOKEN = "correct-horse-battery-staple-42"


@pytest.fixture
def guarded(trace_file):
    run_id, _ = record_demo()
    with UvicornThread(create_app(trace_file, token=TOKEN)) as server:
        yield server.url, run_id


@pytest.mark.parametrize("path", ["/", "/runs/x", "/static/app.js", "/api/runs", "/api/runs/x/frames"])
def test_every_request_without_the_token_is_a_401(guarded, path):
    url, _run_id = guarded
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-wrong-token"},
        {"Authorization": TOKEN},
        {"Cookie": "framescope_token=nope"},
    ):
        response = httpx.get(url + path, headers=headers)
        assert response.status_code == 401, (path, headers)
        assert "token" in response.json()["error"]
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_token_works_as_bearer_query_and_cookie(guarded):
    url, run_id = guarded
    bearer = httpx.get(f"{url}/api/runs", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 200 and bearer.json()[0]["run_id"] == run_id
    with httpx.Client(base_url=url) as browser:
        page = browser.get("/", params={"token": TOKEN})
        assert page.status_code == 200 and "framescope" in page.text
        assert "HttpOnly" in page.headers["set-cookie"] and "SameSite=Strict" in page.headers["set-cookie"]
        frames = frames_of(parse_sse(sse_text(browser, f"/api/runs/{run_id}/frames")))  # the cookie, as EventSource
        assert frames and frames[-1].json()["type"] == "flow_finished"


def test_binding_beyond_loopback_needs_a_token():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.8.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.com")
    with pytest.raises(ServeConfigError, match="--token or FRAMESCOPE_SERVE_TOKEN") as caught:
        check_bind("0.0.0.0", None)
    assert isinstance(caught.value, FramescopeError) and isinstance(caught.value, ValueError)
    for bad in ("short", "sixteen chars; with a semicolon", 'quote"quote"quote"quote'):
        with pytest.raises(ServeConfigError, match="at least 16"):
            check_bind("0.0.0.0", bad)
        with pytest.raises(ServeConfigError, match="at least 16"):
            create_app("traces.jsonl", token=bad)
    check_bind("0.0.0.0", TOKEN)
    check_bind("127.0.0.1", None)


def test_the_command_refuses_a_public_bind_without_a_token(trace_file, monkeypatch):
    record_demo()
    monkeypatch.delenv("FRAMESCOPE_SERVE_TOKEN", raising=False)
    result = CliRunner().invoke(main, ["serve", str(trace_file), "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "Error: binding to 0.0.0.0" in result.output and "--token" in result.output
    missing = CliRunner().invoke(main, ["serve", str(trace_file.parent / "nope.jsonl")])
    assert missing.exit_code == 1 and "no trace file at" in missing.output
    bad_cors = CliRunner().invoke(main, ["serve", str(trace_file), "--cors-origin", "evil"])
    assert bad_cors.exit_code == 1 and "--cors-origin 'evil'" in bad_cors.output


def test_without_a_token_only_loopback_host_names_are_answered(trace_file):
    record_demo()
    with UvicornThread(create_app(trace_file)) as server:
        assert httpx.get(f"{server.url}/api/runs", headers={"Host": "localhost"}).status_code == 200
        rebound = httpx.get(f"{server.url}/api/runs", headers={"Host": "attacker.example:8765"})
        assert rebound.status_code == 403 and "loopback" in rebound.json()["error"]


def test_cors_is_off_unless_configured(trace_file):
    record_demo()
    origin = {"Origin": "https://ui.example"}
    with UvicornThread(create_app(trace_file)) as server:
        response = httpx.get(f"{server.url}/api/runs", headers=origin)
        assert "access-control-allow-origin" not in response.headers
    with UvicornThread(create_app(trace_file, token=TOKEN, cors_origins=["https://ui.example"])) as server:
        preflight = httpx.options(
            f"{server.url}/api/runs",
            headers={
                **origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://ui.example"
        denied = httpx.get(f"{server.url}/api/runs", headers=origin)
        assert denied.status_code == 401 and denied.headers["access-control-allow-origin"] == "https://ui.example"
        allowed = httpx.get(f"{server.url}/api/runs", headers={**origin, "Authorization": f"Bearer {TOKEN}"})
        assert allowed.status_code == 200
        other = httpx.get(
            f"{server.url}/api/runs", headers={"Origin": "https://evil.example", "Authorization": f"Bearer {TOKEN}"}
        )
        assert "access-control-allow-origin" not in other.headers


class _Opens:
    """Every file the process opens while ``active`` (a Python audit hook: it sees every open)."""

    active = False
    paths: list[str] = []

    @classmethod
    def hook(cls, event: str, args: tuple) -> None:
        if cls.active and event == "open" and isinstance(args[0], (str, bytes, Path)):
            cls.paths.append(str(args[0]))


sys.addaudithook(_Opens.hook)

HOSTILE = [
    "/api/runs/..%2f..%2f..%2fetc%2fpasswd/frames",
    "/api/runs/%2e%2e/frames",
    "/api/runs/..%5c..%5cwindows/frames",
    "/runs/..%2f..%2fpyproject.toml",
    "/static/..%2f__init__.py",
    "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/static/%2e%2e%2fruns.py",
    "/static/app.js%00.py",
    "/api/runs/%2fetc%2fpasswd",
    "/static//etc/passwd",
]


def test_no_path_from_a_request_reaches_the_file_system(trace_file):
    run_id, _ = record_demo()
    with UvicornThread(create_app(trace_file)) as server, httpx.Client(base_url=server.url) as client:
        client.get("/api/runs")  # read the source once
        _Opens.paths, _Opens.active = [], True
        try:
            for path in HOSTILE:
                response = client.get(path)
                assert response.status_code in (404, 400), path
                assert "root:" not in response.text and "[project]" not in response.text
            assert client.get(f"/api/runs/{run_id}/frames").status_code == 200
            assert client.get("/static/app.css").status_code == 200
        finally:
            _Opens.active = False
        assert _Opens.paths == [], f"requests opened files: {_Opens.paths}"
        trace_file.write_text(trace_file.read_text())  # touched: the next request re-reads it, and only it
        _Opens.paths, _Opens.active = [], True
        try:
            client.get("/api/runs")
        finally:
            _Opens.active = False
        assert {Path(p).resolve() for p in _Opens.paths} == {trace_file.resolve()}


def test_a_trace_recorded_with_capture_off_shows_no_content(trace_file, monkeypatch):
    from framescope.flow import Flow, start
    from framescope.llm import LLM
    from framescope.llm.providers import ScriptedReply, ScriptedToolCall, register_script
    from framescope.tools import tool

    secret_args = {"service": "billing-secret-7"}

    @tool
    def lookup(service: str) -> str:
        """Look a service up."""
        return f"owner of {service} is dana-secret"

    class Quiet(Flow):
        @start()
        def ask(self) -> str:
            LLM("scripted/quiet", stream=True).call("who owns billing-secret-7?", tools=[lookup])
            return "done"

    framescope.configure(replace=True, capture_message_content=False)
    register_script("quiet", [ScriptedToolCall("lookup", secret_args), ScriptedReply(text=ANSWER, thinking="hmm")])
    with Quiet().stream_events() as session:
        frames = list(session)
    framescope.flush()
    assert any(f.type == "llm_stream_chunk" for f in frames)
    with UvicornThread(create_app(trace_file)) as server, httpx.Client(base_url=server.url) as client:
        run_id = client.get("/api/runs").json()[0]["run_id"]
        bodies = [
            sse_text(client, f"/api/runs/{run_id}/frames"),
            sse_text(client, f"/api/runs/{run_id}/frames", params={"protocol": "ag-ui"}),
        ]
    for body in bodies:
        for secret in ("billing-secret-7", "dana-secret", "Checkout p99", "hmm", "who owns"):
            assert secret not in body
        assert "[REDACTED]" in body
