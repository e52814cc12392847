"""The ASGI app: ``create_app(source)`` builds the Starlette application ``framescope serve`` runs.

Mount it in another application (``Mount("/framescope", app=create_app(...))``) or run it
with uvicorn.  The middleware order is deliberate: CORS outermost, so a preflight request
and an error response both get their CORS headers; then the token (or Host) check, so no
route runs for a request that did not prove it may.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from framescope.serve.published import LiveRuns
from framescope.serve.routes import ROUTES, ServeSettings, exception_handlers, load_page
from framescope.serve.runs import RunSource
from framescope.serve.security import LOCAL_HOSTS, TokenMiddleware, check_cors_origins, check_token

__all__ = ["create_app"]


def create_app(
    source: str | os.PathLike[str],
    *,
    token: str | None = None,
    cors_origins: list[str] | None = None,
    allowed_hosts: list[str] | None = None,
    jaeger_url: str | None = None,
    grafana_url: str | None = None,
    fetch: dict[str, Any] | None = None,
    live: LiveRuns | None = None,
) -> Starlette:
    """The app serving the runs of ``source`` (a trace file, or a Jaeger/Tempo trace URL).

    ``token``: required on every request when set.  Without a token only requests whose
    ``Host`` is loopback (or in ``allowed_hosts``; ``["*"]`` for any) are answered.
    ``cors_origins``: origins allowed to call the API from a browser (none by default).
    ``jaeger_url`` / ``grafana_url``: base URLs the page links each run's trace to.
    ``fetch``: :func:`framescope.replay.from_url`'s connection options for a URL source.
    ``live``: runs the application publishes while they stream (listed first, followed live);
    the app closes those still running when it shuts down.
    """
    if token is not None:
        check_token(token)
    hosts = None if token else frozenset(allowed_hosts or LOCAL_HOSTS)
    middleware = []
    if cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=check_cors_origins(list(cors_origins)),
                allow_methods=["GET"],
                allow_headers=["Authorization", "Last-Event-ID"],
            )
        )
    middleware.append(Middleware(TokenMiddleware, token=token, allowed_hosts=hosts))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        if live is not None:
            await live.close()

    app = Starlette(routes=ROUTES, middleware=middleware, exception_handlers=exception_handlers(), lifespan=lifespan)
    app.state.source = RunSource(source, fetch=fetch)
    app.state.settings = ServeSettings(jaeger_url=jaeger_url, grafana_url=grafana_url)
    app.state.page = load_page()
    app.state.live = live
    return app
