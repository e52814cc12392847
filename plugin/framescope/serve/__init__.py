"""``framescope serve``: live and recorded runs in the browser, over SSE and AG-UI.

``create_app(source)`` is the ASGI app (Starlette) behind ``framescope serve``;
``sse_response(session)`` streams a live session from any Starlette/FastAPI route to its one
client; ``LiveRuns.publish(session)`` shows a live run in the page to any number of viewers.
Needs the ``serve`` extra: ``pip install 'framescope[serve]'``.  docs/serve.md is the guide.
"""

from __future__ import annotations

try:
    import ag_ui  # noqa: F401
    import starlette  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the serve extra
    raise ImportError(
        f"framescope.serve needs the 'serve' extra ({exc.name} is missing): pip install 'framescope[serve]'"
    ) from exc

from framescope.serve.app import create_app
from framescope.serve.live import sse_response
from framescope.serve.published import LiveRuns

__all__ = ["LiveRuns", "create_app", "sse_response"]
