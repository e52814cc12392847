"""Helpers for the ``framescope serve`` tests: a real uvicorn server on 127.0.0.1, an SSE
parser, and recorded runs (the demo flow, a failing run) written to a trace file."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

import framescope
from framescope import emit, lifecycle, stream_call
from framescope.cli import main
from framescope.demo import IncidentTriage, register_demo_script
from framescope.serve import LiveRuns, create_app


class UvicornThread:
    """An ASGI app served by uvicorn on a free 127.0.0.1 port, in a thread, for one test."""

    def __init__(self, app: Any) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="auto", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, name="serve-test-uvicorn", daemon=True
        )

    def __enter__(self) -> UvicornThread:
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            self._thread.join(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(10)
        self._socket.close()
        assert not self._thread.is_alive(), "the test server did not stop"


@dataclass
class SseEvent:
    data: str
    id: str | None = None
    event: str = "message"

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class SseParser:
    """Incremental SSE parsing (the subset the server writes, plus comments)."""

    buffer: str = ""
    events: list[SseEvent] = field(default_factory=list)

    def feed(self, text: str) -> list[SseEvent]:
        self.buffer += text
        found: list[SseEvent] = []
        while "\n\n" in self.buffer:
            block, self.buffer = self.buffer.split("\n\n", 1)
            event = SseEvent(data="")
            data_lines = []
            for line in block.split("\n"):
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "data":
                    data_lines.append(value)
                elif name == "id":
                    event.id = value
                elif name == "event":
                    event.event = value
            if data_lines:
                event.data = "\n".join(data_lines)
                found.append(event)
        self.events.extend(found)
        return found


def parse_sse(text: str) -> list[SseEvent]:
    parser = SseParser()
    parser.feed(text)
    assert parser.buffer == "", f"the stream ended inside an event: {parser.buffer[:200]!r}"
    return parser.events


def frames_of(events: list[SseEvent]) -> list[SseEvent]:
    return [event for event in events if event.event == "message"]


def replay_jsonl(path: Path, run_id: str) -> list[str]:
    """What ``framescope replay PATH --run-id RUN --format jsonl`` prints, line by line (for a
    failed run too: the command prints its frames, then fails naming the failure)."""
    result = CliRunner().invoke(main, ["replay", str(path), "--run-id", run_id, "--format", "jsonl"])
    assert result.exit_code == 0 or "the replayed run failed" in result.stderr, result.output
    return result.stdout.splitlines()


def record_demo(token_delay_s: float = 0.0) -> tuple[str, str]:
    """Run the demo flow into the configured trace file; returns (run id, trace id)."""
    register_demo_script(token_delay_s)
    with IncidentTriage().stream_events() as session:
        for _frame in session:
            pass
    framescope.flush()
    assert session.run_id is not None and session.trace_id is not None
    return session.run_id, session.trace_id


def _breaks(name: str) -> None:
    with lifecycle("flow_started", {"flow_name": name}, finished="flow_finished", failed="flow_failed"):
        emit("step", {"name": name})
        raise RuntimeError(f"{name} broke")


def record_failure(name: str = "bad") -> str:
    """A run that fails, recorded to the trace file; returns its run id."""
    stream = stream_call(_breaks, name)
    try:
        list(stream)
    except RuntimeError:
        pass
    framescope.flush()
    assert stream.run_id is not None
    return stream.run_id


def sse_text(client: Any, url: str, **kwargs: Any) -> str:
    response = client.get(url, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return response.text


def iter_sse(client: Any, url: str, **kwargs: Any) -> Iterator[SseEvent]:
    """Events as they arrive (a streaming read)."""
    parser = SseParser()
    with client.stream("GET", url, **kwargs) as response:
        assert response.status_code == 200
        for text in response.iter_text():
            yield from parser.feed(text)


class PublishingApp:
    """An application that publishes each run it starts to the page (LiveRuns), under its own routes."""

    def __init__(self, trace_file: Path) -> None:
        self.live = LiveRuns()
        self.sessions: list = []

        @contextlib.asynccontextmanager
        async def lifespan(_app: Starlette) -> Any:
            yield
            await self.live.close()  # a mounted app's lifespan does not run: the host closes live runs

        self.app = Starlette(
            routes=[
                Route("/start", self.start, methods=["POST"]),
                Mount("/", app=create_app(trace_file, live=self.live)),
            ],
            lifespan=lifespan,
        )

    async def start(self, request: Request) -> Response:
        session = IncidentTriage().astream()
        self.sessions.append(session)
        run = await self.live.publish(session)
        return JSONResponse({"run_id": run.run_id})
