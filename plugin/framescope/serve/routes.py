"""The HTTP routes: the run list, a run's frames (SSE or AG-UI), and the page's files.

Every route answers JSON errors (``{"error": ..., "status": ...}``): 404 for an unknown
run, 400 for a malformed ``Last-Event-ID`` or ``speed``, 503 when the source cannot be read.
The page's files are a fixed set read from the package when the app is built; no path a
client sends is ever joined to a directory.
"""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from framescope.errors import ServeRequestError, UnknownRunError
from framescope.serve.published import LiveRun, LiveRuns
from framescope.serve.runs import SOURCE_ERRORS, RecordedRun, RunSource
from framescope.serve.sse import (
    comment,
    encode_end,
    encode_frame,
    paced_ranges,
    parse_last_event_id,
    parse_speed,
    resume_index,
)

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
AGUI_MEDIA_PREFIX = "application/vnd.ag-ui"
STATIC_FILES = {"app.js": "text/javascript", "timeline.js": "text/javascript", "app.css": "text/css"}


@dataclass(frozen=True)
class ServeSettings:
    """What the routes need besides the source: where trace links point."""

    jaeger_url: str | None = None
    grafana_url: str | None = None
    grafana_datasource: str = "framescope-tempo"

    def trace_links(self, trace_id: str | None) -> dict[str, str]:
        if not trace_id:
            return {}
        links: dict[str, str] = {}
        if self.jaeger_url:
            links["jaeger"] = f"{self.jaeger_url.rstrip('/')}/trace/{trace_id}"
        if self.grafana_url:
            pane = {
                "t": {
                    "datasource": self.grafana_datasource,
                    "queries": [
                        {
                            "refId": "A",
                            "datasource": {"type": "tempo", "uid": self.grafana_datasource},
                            "queryType": "traceql",
                            "query": trace_id,
                        }
                    ],
                    "range": {"from": "now-24h", "to": "now"},
                }
            }
            links["grafana"] = (
                f"{self.grafana_url.rstrip('/')}/explore?schemaVersion=1&panes="
                f"{quote(json.dumps(pane, separators=(',', ':')))}"
            )
        return links


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, "status": status, **extra}, status_code=status)


def wants_agui(request: Request) -> bool:
    """AG-UI when asked by ``?protocol=ag-ui`` or an ``Accept`` naming an AG-UI media type."""
    protocol = request.query_params.get("protocol", "frames")
    if protocol not in ("frames", "ag-ui"):
        raise ServeRequestError(f"protocol must be 'frames' or 'ag-ui', got {protocol[:40]!r}")
    return protocol == "ag-ui" or AGUI_MEDIA_PREFIX in request.headers.get("accept", "")


#: a run the routes can serve: recorded (complete) or published live (growing)
AnyRun = RecordedRun | LiveRun


def run_json(run: AnyRun, settings: ServeSettings) -> dict[str, Any]:
    live = isinstance(run, LiveRun) and not run.done
    outcome = "live" if live else "failed" if run.error else "cancelled" if run.cancelled else "ok"
    return {**run.info, "trace_id": run.trace_id, "outcome": outcome, "links": settings.trace_links(run.trace_id)}


def outcome_json(run: AnyRun) -> dict[str, Any]:
    if run.error is not None:
        return {"outcome": "failed", "error_type": run.error[0], "error": run.error[1]}
    if run.cancelled:
        return {"outcome": "cancelled"}
    return {"outcome": "ok", "result": run.result}


async def find_run(request: Request, run_id: str) -> AnyRun:
    """A published live run by that id, else the recorded one (UnknownRunError: 404)."""
    live: LiveRuns | None = request.app.state.live
    found = live.get(run_id) if live is not None else None
    if found is not None:
        return found
    recorded: RecordedRun = await request.app.state.source.get(run_id)
    return recorded


async def list_runs(request: Request) -> Response:
    source: RunSource = request.app.state.source
    settings: ServeSettings = request.app.state.settings
    live: LiveRuns | None = request.app.state.live
    published = live.runs() if live is not None else []
    shown = {run.run_id for run in published}
    recorded = [run for run in await source.runs() if run.run_id not in shown]
    runs: list[AnyRun] = [*published, *recorded]
    return JSONResponse([run_json(run, settings) for run in runs])


async def get_run(request: Request) -> Response:
    run = await find_run(request, request.path_params["run_id"])
    return JSONResponse(run_json(run, request.app.state.settings))


async def run_frames(request: Request) -> Response:
    run = await find_run(request, request.path_params["run_id"])
    speed = parse_speed(request.query_params.get("speed"))
    agui = wants_agui(request)
    last_seq = parse_last_event_id(request.headers.get("last-event-id"))
    if agui:
        if last_seq is not None:
            raise ServeRequestError(
                "an AG-UI stream cannot resume mid-run (open messages would be cut); "
                "reconnect without Last-Event-ID, or use the frames protocol"
            )
        body = _agui_stream(run, speed)
    else:
        body = _frame_stream(run, last_seq, speed)
    return StreamingResponse(body, media_type="text/event-stream", headers=SSE_HEADERS)


async def _frame_stream(run: AnyRun, last_seq: int | None, speed: float) -> AsyncIterator[bytes]:
    yield comment(f"run {run.run_id}, {len(run.frames)} frames" + (" so far" if isinstance(run, LiveRun) else ""))
    start = resume_index(run.frames, last_seq)
    if isinstance(run, LiveRun):  # live: each frame as it comes (pacing is the run's own)
        async for first, stop in follow(run, start):
            yield b"".join(run.encoded()[first:stop])
    else:
        encoded = await asyncio.to_thread(run.encoded, encode_frame)  # once per run, off the event loop
        async for first, stop in paced_ranges(run.frames, start, speed):
            yield b"".join(encoded[first:stop])
    yield encode_end(outcome_json(run))


async def follow(run: LiveRun, index: int) -> AsyncIterator[tuple[int, int]]:
    """``(first, stop)`` ranges of a live run's frames from ``index`` on, as they arrive."""
    while True:
        count = len(run.frames)
        if index < count:
            yield index, count
            index = count
        elif run.done:
            return
        else:
            await run.wait_beyond(index)


def thread_id_of(frames: list[Any], fallback: str) -> str:
    """AG-UI's threadId: the conversation the run belongs to when its frames say so, else the trace."""
    for frame in frames[:1]:
        for key in ("conversation_id", "session_id"):
            if frame.data.get(key):
                return str(frame.data[key])
    return fallback


async def _agui_stream(run: AnyRun, speed: float) -> AsyncIterator[bytes]:
    from framescope.serve.agui import AguiMapper, encode_event

    mapper = AguiMapper(
        run_id=run.run_id,
        thread_id=thread_id_of(run.frames, run.trace_id or run.run_id),
        trace_id=run.trace_id,
        traceparent=run.traceparent,
    )
    yield b"".join(encode_event(event) for event in mapper.start())
    ranges = follow(run, 0) if isinstance(run, LiveRun) else paced_ranges(run.frames, 0, speed)
    async for first, stop in ranges:
        yield b"".join(encode_event(event) for frame in run.frames[first:stop] for event in mapper.frame(frame))
    yield b"".join(
        encode_event(event) for event in mapper.finish(result=run.result, error=run.error, cancelled=run.cancelled)
    )


async def index_page(request: Request) -> Response:
    """The page; ``{{ROOT}}`` becomes the mount prefix, so the page works mounted anywhere."""
    root = html.escape(request.scope.get("root_path", "").rstrip("/"), quote=True)
    page = request.app.state.page["index.html"].replace(b"{{ROOT}}", root.encode())
    return Response(page, media_type="text/html; charset=utf-8")


async def static_file(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC_FILES:  # a fixed set: the name is a dict key, never a path
        return error_response(404, f"no static file {name[:60]!r}")
    return Response(request.app.state.page[name], media_type=f"{STATIC_FILES[name]}; charset=utf-8")


def load_page() -> dict[str, bytes]:
    """The page's files, read from the package once (they ship as package data)."""
    folder = resources.files("framescope.serve") / "static"
    return {name: (folder / name).read_bytes() for name in ("index.html", *STATIC_FILES)}


ROUTES = [
    Route("/", index_page),
    Route("/runs/{run_id}", index_page),
    Route("/static/{name}", static_file),
    Route("/api/runs", list_runs),
    Route("/api/runs/{run_id}", get_run),
    Route("/api/runs/{run_id}/frames", run_frames),
]


def exception_handlers() -> dict[Any, Any]:
    async def unknown_run(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, UnknownRunError)
        return error_response(404, str(exc), run_id=exc.run_id)

    async def bad_request(_request: Request, exc: Exception) -> Response:
        return error_response(400, str(exc))

    async def http_error(_request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        return error_response(status, str(getattr(exc, "detail", "")) or "not found")

    async def unreadable(_request: Request, exc: Exception) -> Response:
        return error_response(503, f"the source cannot be read: {exc}")

    from starlette.exceptions import HTTPException

    handlers: dict[Any, Any] = {UnknownRunError: unknown_run, ServeRequestError: bad_request, HTTPException: http_error}
    handlers.update(dict.fromkeys(SOURCE_ERRORS, unreadable))
    return handlers
