"""Where a trace lives on a backend: trace URLs, fetching, and searching for trace ids.

Users copy what they have at hand: a Jaeger UI link (``.../trace/<id>``), an API URL
(``/api/traces/<id>``, ``/api/v3/traces/<id>``, ``/api/v2/traces/<id>``) or a base URL plus
an id.  :func:`parse_trace_url` turns any of these into (base URL, trace id, backend) so
:class:`~framescope.replay.fetch.TraceFetcher` can ask for the raw trace itself, whatever
endpoint the link pointed at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from framescope.errors import TraceFetchError
from framescope.replay.fetch import Backend, TimeBound, TraceFetcher, build_traceql
from framescope.replay.records import SpanRecord

__all__ = ["TraceLocation", "fetch_records", "find_traces", "parse_trace_url"]

DEFAULT_TIMEOUT = 10.0
_ID_PATH = re.compile(
    r"^(?P<base>.*?)/(?:(?P<api>api(?:/(?P<version>v[23]))?/traces)|(?P<ui>trace))/(?P<id>[0-9a-fA-F]{1,32})/?$"
)
_BACKENDS = ("auto", "jaeger", "tempo")


@dataclass(frozen=True, slots=True)
class TraceLocation:
    base_url: str
    trace_id: str
    backend: Backend


def parse_trace_url(url: str, trace_id: str | None = None, backend: Backend = "auto") -> TraceLocation:
    """Split ``url`` into base URL, trace id and backend (see the module docstring)."""
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(_BACKENDS)}, got {backend!r}")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"a backend URL must start with http:// or https://, got {url!r}")
    parts = urlsplit(url)
    match = _ID_PATH.match(parts.path)
    if match is None:
        if trace_id is None:
            raise ValueError(
                f"{url} holds no trace id; pass trace_id (or --trace-id), or a trace URL such as "
                f"{url.rstrip('/')}/api/traces/<id>; find ids with find_traces()"
            )
        base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        return TraceLocation(base, trace_id, backend)
    found = match.group("id")
    if trace_id is not None and trace_id.strip().lower().lstrip("0") != found.lower().lstrip("0"):
        raise ValueError(f"{url} names trace {found} but trace_id={trace_id!r} was passed; pass one of them")
    if backend == "auto":
        version = match.group("version")
        if match.group("ui") or version == "v3":
            backend = "jaeger"
        elif version == "v2":
            backend = "tempo"
    base = urlunsplit((parts.scheme, parts.netloc, match.group("base"), "", ""))
    return TraceLocation(base, found, backend)


def fetch_records(
    url: str,
    trace_id: str | None = None,
    *,
    backend: Backend = "auto",
    headers: Mapping[str, str] | None = None,
    token: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = 3,
) -> tuple[list[SpanRecord], TraceLocation]:
    """The spans of one trace, and where they came from."""
    location = parse_trace_url(url, trace_id, backend)
    with TraceFetcher(
        location.base_url, backend=location.backend, headers=headers, token=token, timeout=timeout, retries=retries
    ) as fetcher:
        return fetcher.fetch(location.trace_id), location


def find_traces(
    base_url: str,
    *,
    session_id: str | None = None,
    flow_name: str | None = None,
    start: TimeBound = None,
    end: TimeBound = None,
    service: str | None = None,
    backend: Backend = "auto",
    limit: int = 20,
    headers: Mapping[str, str] | None = None,
    token: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[str]:
    """Ids of traces with framescope runs, newest as the backend ranks them.

    ``session_id`` matches ``gen_ai.conversation.id`` (conversation turns), ``flow_name``
    matches ``framescope.flow.name``.  Tempo is asked with TraceQL (one spanset per
    condition, so the two may sit on different spans of the trace); Jaeger with a tag
    search, which needs ``service`` (the ``OTEL_SERVICE_NAME`` of the run, ``framescope``
    by default) and matches tags on one span.  ``backend="auto"`` asks Tempo's search
    and falls back to Jaeger's when the server does not serve it.
    """
    tags = {
        key: value
        for key, value in (("gen_ai.conversation.id", session_id), ("framescope.flow.name", flow_name))
        if value is not None
    }
    options: dict[str, Any] = {"headers": headers, "token": token, "timeout": timeout}
    with TraceFetcher(base_url, backend=backend, **options) as fetcher:
        chosen = fetcher.backend
        if chosen in ("tempo", "auto"):
            try:
                return fetcher.search_tempo(traceql=_traceql(tags), start=start, end=end, limit=limit)
            except TraceFetchError as exc:
                if chosen == "tempo" or exc.status_code != 404:
                    raise
        return fetcher.search_jaeger(
            service=service or "framescope", tags=tags or None, start=start, end=end, limit=limit
        )


def _traceql(tags: Mapping[str, str]) -> str:
    if not tags:
        return "{ .framescope.format >= 1 }"  # any framescope trace, whatever its format version
    return " && ".join(build_traceql({key: value}) for key, value in tags.items())
