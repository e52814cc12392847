"""Fetching traces from Jaeger/Tempo over HTTP, against a local server on 127.0.0.1 that
answers with the backends' real payloads (and with failures)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from framescope.errors import TraceFetchError, TraceNotFoundError
from framescope.replay.fetch import (
    TraceFetcher,
    build_traceql,
    detect_backend,
    fetch_trace,
    search_jaeger_trace_ids,
    search_tempo_trace_ids,
)
from framescope.replay.sources import (
    parse_jaeger_v1,
    parse_otlp_json,
)
from framescope.testing import (
    sort_like_tempo,
    spans_to_otlp_protobuf,
    spans_to_tempo_v2,
)

FIXTURES = Path(__file__).parent / "fixtures" / "backends"
JAEGER_ID = "83a9efd15c1c98a977e0711cc93ee28b"  # otlp2jaeger-out.json
V3_ID = "0" * 31 + "1"  # GetTrace.json
TEMPO_ID = "5b8efff798038103d269b633813fc60c"  # batches-trace.json
FAST = {"retries": 2, "backoff": 0.01, "timeout": 2.0}


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay: float = 0.0
    times: int | None = None  # answer like this this many times, then fall through


@dataclass
class Backend:
    """Routes path -> list of answers; records every request."""

    routes: dict[str, list[Answer]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def route(self, path: str, *answers: Answer) -> None:
        self.routes[path] = list(answers)

    def answer_for(self, path: str) -> Answer:
        answers = self.routes.get(path)
        if not answers:
            return Answer(404, b"404 page not found\n", "text/plain")
        head = answers[0]
        if head.times is not None:
            head.times -= 1
            if head.times <= 0 and len(answers) > 1:
                answers.pop(0)
        return head

    def paths(self) -> list[str]:
        return [p for p, _, _ in self.requests]


@pytest.fixture
def backend() -> Iterator[Backend]:
    state = Backend()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            state.requests.append((parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()}))
            answer = state.answer_for(parts.path)
            if answer.delay:
                time.sleep(answer.delay)
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            try:
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ----------------------------------------------------------------- Jaeger


def test_jaeger_v3_is_preferred_and_asked_for_raw_traces(backend):
    backend.route(f"/api/v3/traces/{V3_ID}", Answer(body=fixture_bytes("jaeger/GetTrace.json")))
    records = fetch_trace(backend.url, "1", backend="jaeger", **FAST)  # trimmed id is padded
    assert [(r.name, r.status_code) for r in records] == [("foobar", "ERROR")]
    path, query, _ = backend.requests[0]
    assert path == f"/api/v3/traces/{V3_ID}"
    assert query["rawTraces"] == ["true"] and query["raw_traces"] == ["true"]


def test_jaeger_v1_fallback_asks_for_raw(backend):
    body = fixture_bytes("jaeger/otlp2jaeger-out.json")
    backend.route(f"/api/traces/{JAEGER_ID}", Answer(body=body))
    records = fetch_trace(backend.url, JAEGER_ID, backend="jaeger", **FAST)
    assert records == parse_jaeger_v1(json.loads(body))
    assert records == parse_otlp_json(json.loads(fixture_bytes("otlp/otlp2jaeger-in.json")))
    assert backend.paths() == [f"/api/v3/traces/{JAEGER_ID}", f"/api/traces/{JAEGER_ID}"]
    assert backend.requests[1][1]["raw"] == ["true"]


def test_jaeger_search_returns_unique_padded_ids(backend):
    backend.route(
        "/api/traces",
        Answer(
            body=json.dumps(
                {
                    "data": [
                        json.loads(fixture_bytes("jaeger/ui_01.json")),
                        json.loads(fixture_bytes("jaeger/genaiTestTrace.json")),
                        {"traceID": "1", "spans": []},
                    ]
                }
            ).encode()
        ),
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = search_jaeger_trace_ids(
        backend.url,
        service="crew",
        tags={"gen_ai.conversation.id": "session-1"},
        start=start,
        end=start.timestamp() + 60,
        limit=5,
        **FAST,
    )
    assert ids == ["0" * 31 + "1", "4a1b2c3d4e5f60718293a4b5c6d7e8f9"]
    path, query, _ = backend.requests[0]
    assert path == "/api/traces"
    assert query["service"] == ["crew"] and query["limit"] == ["5"]
    assert json.loads(query["tags"][0]) == {"gen_ai.conversation.id": "session-1"}
    assert query["start"] == [str(int(start.timestamp() * 1_000_000))]
    assert int(query["end"][0]) > int(query["start"][0])


# ----------------------------------------------------------------- Tempo


def test_tempo_v2_then_v1_fallback(backend):
    spans = parse_otlp_json(json.loads(fixture_bytes("otlp/otel_traces_01.json")))
    trace_id = spans[0].trace_id
    backend.route(f"/api/v2/traces/{trace_id}", Answer(body=json.dumps(spans_to_tempo_v2(spans)).encode()))
    mine = [s for s in sort_like_tempo(spans)]
    assert fetch_trace(backend.url, trace_id, backend="tempo", **FAST) == mine

    backend.route(f"/api/traces/{TEMPO_ID}", Answer(body=fixture_bytes("tempo/batches-trace.json")))
    (span,) = fetch_trace(backend.url, TEMPO_ID, backend="tempo", **FAST)
    assert span.name == "I'm a server span"
    assert backend.paths()[-2:] == [f"/api/v2/traces/{TEMPO_ID}", f"/api/traces/{TEMPO_ID}"]


def test_tempo_protobuf_answer_is_read(backend):
    spans = parse_otlp_json(json.loads(fixture_bytes("otlp/trace.json")))
    body = spans_to_otlp_protobuf(spans)
    backend.route(f"/api/v2/traces/{TEMPO_ID}", Answer(body=body, content_type="application/protobuf"))
    assert fetch_trace(backend.url, TEMPO_ID, backend="tempo", **FAST) == spans


def test_tempo_search_builds_traceql_and_pads_trimmed_ids(backend):
    backend.route(
        "/api/search",
        Answer(
            body=json.dumps(
                {
                    "traces": [
                        {"traceID": "2f3e0cee77ae5dc9c17ade3689eb2e54", "rootServiceName": "crew"},
                        {"traceID": "abc"},
                        {"traceID": "abc"},
                    ]
                }
            ).encode()
        ),
    )
    ids = search_tempo_trace_ids(
        backend.url,
        attributes={"framescope.flow.name": "ReportFlow", "gen_ai.conversation.id": 's"1'},
        start=1_700_000_000,
        end=1_700_000_100.5,
        limit=7,
        token="secret",
        **FAST,
    )
    assert ids == ["2f3e0cee77ae5dc9c17ade3689eb2e54", "0" * 29 + "abc"]
    _, query, headers = backend.requests[0]
    assert query["q"] == ['{ .framescope.flow.name = "ReportFlow" && .gen_ai.conversation.id = "s\\"1" }']
    assert query["start"] == ["1700000000"] and query["end"] == ["1700000101"] and query["limit"] == ["7"]
    assert headers["authorization"] == "Bearer secret"


def test_build_traceql():
    assert build_traceql({}) == "{}"
    assert build_traceql({"n": 3, "ok": True, "odd key": "v"}) == '{ .n = 3 && .ok = true && ."odd key" = "v" }'
    with pytest.raises(ValueError):
        build_traceql({"x": [1]})  # type: ignore[dict-item]


# ----------------------------------------------------------------- detection and auth


def test_auto_backend_tries_known_endpoints(backend):
    backend.route(f"/api/traces/{TEMPO_ID}", Answer(body=fixture_bytes("tempo/batches-trace.json")))
    (span,) = fetch_trace(backend.url, TEMPO_ID, **FAST)
    assert span.resource == {"service.name": "my.service"}
    assert backend.paths() == [f"/api/v3/traces/{TEMPO_ID}", f"/api/v2/traces/{TEMPO_ID}", f"/api/traces/{TEMPO_ID}"]
    assert backend.requests[-1][1]["raw"] == ["true"]


def test_detect_backend_from_url():
    assert detect_backend("http://jaeger:16686") == "jaeger"
    assert detect_backend("http://localhost:16686") == "jaeger"
    assert detect_backend("https://tempo.example.com") == "tempo"
    assert detect_backend("http://localhost:3200") == "tempo"
    assert detect_backend("http://127.0.0.1:8080/grafana/proxy") == "auto"


def test_headers_and_bearer_token_are_sent(backend):
    backend.route(f"/api/v2/traces/{TEMPO_ID}", Answer(body=fixture_bytes("tempo/batches-trace.json")))
    fetch_trace(backend.url, TEMPO_ID, backend="tempo", token="t0k", headers={"X-Scope-OrgID": "team-a"}, **FAST)
    headers = backend.requests[0][2]
    assert headers["authorization"] == "Bearer t0k"
    assert headers["x-scope-orgid"] == "team-a"
    assert headers["accept"] == "application/json"


# ----------------------------------------------------------------- failures


def test_not_found_names_the_id_and_urls(backend):
    with pytest.raises(TraceNotFoundError) as info:
        fetch_trace(backend.url, JAEGER_ID, backend="jaeger", **FAST)
    message = str(info.value)
    assert JAEGER_ID in message and f"{backend.url}/api/traces/{JAEGER_ID}?raw=true" in message
    assert info.value.status_code == 404 and isinstance(info.value, TraceFetchError)


def test_empty_trace_is_not_found(backend):
    backend.route(f"/api/v2/traces/{TEMPO_ID}", Answer(body=b'{"trace": {}}'))
    with pytest.raises(TraceNotFoundError, match="came back empty"):
        fetch_trace(backend.url, TEMPO_ID, backend="tempo", **FAST)


def test_5xx_is_retried_with_backoff_then_succeeds(backend):
    backend.route(
        f"/api/v2/traces/{TEMPO_ID}",
        Answer(503, b"overloaded", "text/plain", times=2),
        Answer(body=fixture_bytes("tempo/batches-trace.json")),
    )
    delays: list[float] = []
    with TraceFetcher(backend.url, backend="tempo", retries=3, backoff=0.5, sleep=delays.append) as fetcher:
        (span,) = fetcher.fetch(TEMPO_ID)
    assert span.name == "I'm a server span"
    assert delays == [0.5, 1.0]
    assert len(backend.requests) == 3


def test_5xx_after_retries_is_a_clear_error(backend):
    backend.route(f"/api/v2/traces/{TEMPO_ID}", Answer(500, b"internal error: disk on fire", "text/plain"))
    with pytest.raises(TraceFetchError) as info:
        fetch_trace(backend.url, TEMPO_ID, backend="tempo", **FAST)
    assert info.value.status_code == 500
    assert "HTTP 500" in str(info.value) and "disk on fire" in str(info.value) and "3 attempts" in str(info.value)
    assert len(backend.requests) == 3


def test_timeout_is_a_clear_error_and_not_retried(backend):
    backend.route(f"/api/v2/traces/{TEMPO_ID}", Answer(body=b"{}", delay=1.5))
    with pytest.raises(TraceFetchError, match=r"did not send its whole answer within 0.3s.*larger timeout"):
        fetch_trace(backend.url, TEMPO_ID, backend="tempo", retries=2, timeout=0.3)
    assert len(backend.requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"<html>Bad Gateway page</html>",
        b'{"foo": 1}',
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
    ],
)
def test_malformed_body_names_the_url(backend, body):
    backend.route(f"/api/v2/traces/{TEMPO_ID}", Answer(body=body))
    with pytest.raises(TraceFetchError, match="not a trace") as info:
        fetch_trace(backend.url, TEMPO_ID, backend="tempo", **FAST)
    assert f"/api/v2/traces/{TEMPO_ID}" in str(info.value)


def test_malformed_search_answers(backend):
    backend.route("/api/search", Answer(body=b"not json"))
    with pytest.raises(TraceFetchError, match="not JSON"):
        search_tempo_trace_ids(backend.url, traceql="{}", **FAST)
    backend.route("/api/search", Answer(body=b'{"traces": [{"rootServiceName": "x"}]}'))
    with pytest.raises(TraceFetchError, match="without a valid traceID"):
        search_tempo_trace_ids(backend.url, traceql="{}", **FAST)
    backend.route("/api/traces", Answer(body=b'{"data": null, "errors": [{"code": 400, "msg": "bad service"}]}'))
    with pytest.raises(TraceFetchError, match="bad service"):
        search_jaeger_trace_ids(backend.url, service="x", **FAST)


def test_auth_failure_says_what_to_pass(backend):
    backend.route(f"/api/v2/traces/{TEMPO_ID}", Answer(401, b"unauthorized", "text/plain"))
    with pytest.raises(TraceFetchError, match="token=") as info:
        fetch_trace(backend.url, TEMPO_ID, backend="tempo", **FAST)
    assert info.value.status_code == 401


def test_connection_refused_is_retried_then_clear():
    import socket

    with socket.socket() as sock:  # find a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    delays: list[float] = []
    fetcher = TraceFetcher(f"http://127.0.0.1:{port}", backend="tempo", retries=2, backoff=0.1, sleep=delays.append)
    pattern = r"could not reach http://127.0.0.1:\d+/api/v2/traces/.* after 3 attempts"
    with fetcher, pytest.raises(TraceFetchError, match=pattern):
        fetcher.fetch(TEMPO_ID)
    assert delays == [0.1, 0.2]


def test_bad_arguments():
    with pytest.raises(ValueError, match="http://"):
        TraceFetcher("localhost:16686")
    with TraceFetcher("http://127.0.0.1:9", backend="jaeger") as fetcher:
        with pytest.raises(ValueError, match="32 hex"):
            fetcher.fetch("not-an-id")
        with pytest.raises(ValueError, match="service"):
            fetcher.search_jaeger(service="")
        with pytest.raises(ValueError, match="timezone"):
            fetcher.search_tempo(traceql="{}", start=datetime(2026, 1, 1))
