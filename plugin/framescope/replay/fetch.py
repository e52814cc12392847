"""Fetch exported traces back from Jaeger or Tempo, and find their ids.

Replay is only exact if the backend hands back what was stored, so every request asks
for the raw trace where a backend would otherwise rewrite it: Jaeger's query service
reorders span events and attributes and adjusts clock skew unless asked for ``raw``.
Jaeger's v3 API is preferred because it returns OTLP with nanosecond times and link
attributes; v1 (microseconds, no link attributes) is the fallback for older servers.

Failures are :class:`TraceFetchError` (or :class:`TraceNotFoundError`) naming the URL and
what to do.  Connection errors and 5xx answers are retried with exponential backoff;
a read timeout is not (a slow backend would only get slower), it fails with a clear
message instead.  Retrying is a dozen lines here, not worth a dependency.

``timeout`` is the *total* deadline of one operation (every attempt, retry pause and the
whole body), and bodies are limited in size after decompression (``max_bytes``, default
``FRAMESCOPE_MAX_TRACE_BYTES``, 128 MiB): see :mod:`.bounded_http` and :mod:`.limits`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

try:
    import httpx

    from framescope.replay.bounded_http import ACCEPT_ENCODING, BodyTooLarge, DeadlinePassed, get_within
except ImportError:  # fetching is the 'backends' extra; files replay without it
    httpx = None  # type: ignore[assignment]

from framescope.errors import TraceFetchError, TraceFormatError, TraceNotFoundError
from framescope.replay._gc import paused_gc
from framescope.replay.limits import max_trace_bytes
from framescope.replay.records import SpanRecord, normalize_trace_id
from framescope.replay.sources.detect import parse_trace_document

__all__ = [
    "TraceFetcher",
    "build_traceql",
    "detect_backend",
    "fetch_trace",
    "search_jaeger_trace_ids",
    "search_tempo_trace_ids",
]

Backend = Literal["auto", "jaeger", "tempo"]
TimeBound = datetime | float | int | None

_HEX_ID = re.compile(r"^[0-9a-fA-F]{1,32}$")
_SIMPLE_ATTR = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_RETRY_STATUS = frozenset({500, 502, 503, 504})


def detect_backend(base_url: str) -> Backend:
    """Guess the backend from the URL (name or default port); ``"auto"`` if it can't tell."""
    parts = urlsplit(base_url)
    text = f"{parts.hostname or ''}{parts.path}".lower()
    if "jaeger" in text or parts.port == 16686:
        return "jaeger"
    if "tempo" in text or parts.port == 3200:
        return "tempo"
    return "auto"


def _endpoints(backend: Backend, trace_id: str) -> list[tuple[str, dict[str, str]]]:
    """(path, query) pairs to try, best first; each asks for the raw trace."""
    jaeger_v3 = (f"/api/v3/traces/{trace_id}", {"rawTraces": "true", "raw_traces": "true"})
    jaeger_v1 = (f"/api/traces/{trace_id}", {"raw": "true"})
    tempo_v2: tuple[str, dict[str, str]] = (f"/api/v2/traces/{trace_id}", {})
    tempo_v1: tuple[str, dict[str, str]] = (f"/api/traces/{trace_id}", {})
    if backend == "jaeger":
        return [jaeger_v3, jaeger_v1]
    if backend == "tempo":
        return [tempo_v2, tempo_v1]
    # Unknown: Jaeger v1 and Tempo v1 share a path; raw=true is harmless to Tempo.
    return [jaeger_v3, tempo_v2, jaeger_v1]


def _to_seconds(value: TimeBound) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{value!r} has no timezone; pass an aware datetime (e.g. UTC)")
        return value.timestamp()
    return float(value)


def build_traceql(attributes: Mapping[str, str | int | float | bool]) -> str:
    """A TraceQL query matching spans (or resources) with all the given attribute values.

    Keys are unscoped (``.gen_ai.conversation.id``) so they match span and resource
    attributes alike; strings are quoted and escaped.
    """
    if not attributes:
        return "{}"
    conditions = []
    for key, value in attributes.items():
        name = f".{key}" if _SIMPLE_ATTR.match(key) else "." + json.dumps(key)
        if isinstance(value, bool):
            literal = "true" if value else "false"
        elif isinstance(value, (int, float)):
            literal = repr(value)
        elif isinstance(value, str):
            literal = json.dumps(value)
        else:
            raise ValueError(f"TraceQL value for {key!r} must be str, int, float or bool")
        conditions.append(f"{name} = {literal}")
    return "{ " + " && ".join(conditions) + " }"


class TraceFetcher:
    """A connection to one Jaeger or Tempo query endpoint.

    ``token`` becomes ``Authorization: Bearer <token>``; ``headers`` are sent as given
    (e.g. ``{"X-Scope-OrgID": "tenant"}`` for a multi-tenant Tempo).  ``transport`` lets
    tests plug in an ``httpx.MockTransport``.  Use as a context manager or call
    :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        backend: Backend = "auto",
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_bytes: int | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.backend: Backend = detect_backend(base_url) if backend == "auto" else backend
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.timeout = timeout
        self.max_bytes = max_bytes if max_bytes is not None else max_trace_bytes()
        self._deadline = time.monotonic() + timeout
        self._attempts = 0
        self.retries = max(0, retries)
        self.backoff = backoff
        self._sleep = sleep
        if httpx is None:
            raise TraceFetchError(
                "fetching traces from Jaeger or Tempo needs httpx, which is not installed: "
                "pip install 'framescope[backends]' (replaying files needs nothing more)",
                url=self.base_url,
            )
        all_headers = {"Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        self._client = httpx.Client(base_url=self.base_url, headers=all_headers, timeout=timeout, transport=transport)

    def __enter__(self) -> TraceFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ fetching

    def fetch(self, trace_id: str) -> list[SpanRecord]:
        """All spans of ``trace_id`` (hex, leading zeros may be trimmed)."""
        if not isinstance(trace_id, str) or not _HEX_ID.match(trace_id.strip()):
            raise ValueError(f"trace id must be up to 32 hex characters, got {trace_id!r}")
        trace_id = normalize_trace_id(trace_id)
        self._deadline = time.monotonic() + self.timeout
        tried: list[str] = []
        for path, params in _endpoints(self.backend, trace_id):
            response = self._get(path, params)
            url = str(response.request.url)
            if response.status_code == 404:
                tried.append(url)
                continue  # trace not there, or this API not served: try the next one
            self._raise_for_status(response)
            records = self._parse(response, url)
            if not records:
                raise TraceNotFoundError(
                    f"trace {trace_id} came back empty from {url}; the spans may not be "
                    "flushed or indexed yet (Tempo needs a few seconds): retry shortly",
                    url=url,
                    status_code=response.status_code,
                )
            return records
        raise TraceNotFoundError(
            f"trace {trace_id} not found (HTTP 404 from {', '.join(tried)}); check the id, "
            f"that the run's spans were exported to this backend and that {self.base_url} "
            "is its query URL",
            url=tried[-1] if tried else self.base_url,
            status_code=404,
        )

    def _parse(self, response: httpx.Response, url: str) -> list[SpanRecord]:
        try:
            with paused_gc():
                return parse_trace_document(response.content)
        except TraceFormatError as exc:
            raise TraceFetchError(
                f"{url} answered HTTP {response.status_code} with a body that is not a "
                f"trace ({exc}); is {self.base_url} a Jaeger or Tempo query URL?",
                url=url,
                status_code=response.status_code,
            ) from exc

    # ------------------------------------------------------------------ searching

    def search_tempo(
        self,
        *,
        attributes: Mapping[str, str | int | float | bool] | None = None,
        traceql: str | None = None,
        start: TimeBound = None,
        end: TimeBound = None,
        limit: int = 20,
    ) -> list[str]:
        """Trace ids (32 hex chars, padded) matching a TraceQL query or attribute values."""
        self._deadline = time.monotonic() + self.timeout
        query = traceql if traceql is not None else build_traceql(attributes or {})
        params: dict[str, str] = {"q": query, "limit": str(limit)}
        start_s, end_s = _to_seconds(start), _to_seconds(end)
        if start_s is not None:
            params["start"] = str(int(start_s))
        if end_s is not None:
            params["end"] = str(int(end_s) + 1)  # Tempo's end is whole seconds; include the last one
        body, url = self._get_json("/api/search", params)
        traces = body.get("traces") if isinstance(body, Mapping) else None
        if traces is None and isinstance(body, Mapping) and "traces" not in body:
            raise TraceFetchError(f'{url} answered without a "traces" list; is {self.base_url} a Tempo URL?', url=url)
        return _ids_from(traces or [], "traceID", url)

    def search_jaeger(
        self,
        *,
        service: str,
        tags: Mapping[str, str] | None = None,
        operation: str | None = None,
        start: TimeBound = None,
        end: TimeBound = None,
        limit: int = 20,
    ) -> list[str]:
        """Trace ids matching a Jaeger v1 search (service is required by Jaeger)."""
        if not service:
            raise ValueError("Jaeger search needs a service name")
        self._deadline = time.monotonic() + self.timeout
        params: dict[str, str] = {"service": service, "limit": str(limit)}
        if operation:
            params["operation"] = operation
        if tags:
            params["tags"] = json.dumps(dict(tags), separators=(",", ":"))
        start_s, end_s = _to_seconds(start), _to_seconds(end)
        if start_s is not None:
            params["start"] = str(int(start_s * 1_000_000))
        if end_s is not None:
            params["end"] = str(int(end_s * 1_000_000) + 1)
        body, url = self._get_json("/api/traces", params)
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, list):
            if isinstance(body, Mapping) and body.get("errors"):
                raise TraceFetchError(f"{url} answered with errors: {body['errors']!r}", url=url)
            raise TraceFetchError(
                f'{url} answered without a "data" list; is {self.base_url} a Jaeger query URL?',
                url=url,
            )
        return _ids_from(data, "traceID", url)

    # ------------------------------------------------------------------ HTTP

    def _get_json(self, path: str, params: Mapping[str, str]) -> tuple[Any, str]:
        response = self._get(path, params)
        url = str(response.request.url)
        self._raise_for_status(response)
        try:
            return response.json(), url
        except ValueError as exc:
            raise TraceFetchError(
                f"{url} answered HTTP {response.status_code} with a body that is not JSON ({exc})",
                url=url,
                status_code=response.status_code,
            ) from exc

    def _get(self, path: str, params: Mapping[str, str]) -> httpx.Response:
        url = f"{self.base_url}{path}"
        attempts = self.retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = get_within(self._client, path, params, deadline=self._deadline, max_bytes=self.max_bytes)
            except BodyTooLarge as exc:
                raise TraceFetchError(
                    f"{url}: {exc}; raise FRAMESCOPE_MAX_TRACE_BYTES (or max_bytes=) if the trace really is that large",
                    url=url,
                    status_code=exc.status_code,
                ) from None
            except DeadlinePassed:
                raise self._deadline_error(url) from None
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                delay = self._delay(attempt, None)
                if last or not self._time_for(delay):
                    raise TraceFetchError(
                        f"could not reach {url} after {attempt + 1} attempt{'s' if attempt else ''} "
                        f"({exc.__class__.__name__}: "
                        f"{exc}); is the backend running and is the URL right?",
                        url=url,
                    ) from exc
                self._pause(delay)
                continue
            except httpx.TimeoutException:
                raise self._deadline_error(url) from None
            except httpx.HTTPError as exc:
                raise TraceFetchError(f"request to {url} failed: {exc}", url=url) from exc
            if response.status_code in _RETRY_STATUS and not last:
                delay = self._delay(attempt, response.headers.get("Retry-After"))
                if self._time_for(delay):
                    self._pause(delay)
                    continue
            self._attempts = attempt + 1
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _time_for(self, delay: float) -> bool:
        """Whether a retry after ``delay`` seconds still fits before the deadline."""
        return self._deadline - time.monotonic() > delay

    def _pause(self, delay: float) -> None:
        """Sleep before a retry, never past the deadline (the next attempt then fails at once)."""
        self._sleep(max(0.0, min(delay, self._deadline - time.monotonic())))

    def _deadline_error(self, url: str) -> TraceFetchError:
        return TraceFetchError(
            f"{url} did not send its whole answer within {self.timeout:g}s (the total time allowed); "
            "pass a larger timeout (--timeout) or check the backend's load",
            url=url,
        )

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.strip().isdigit():
            return min(float(retry_after), 30.0)
        return min(self.backoff * (2**attempt), 30.0)

    def _raise_for_status(self, response: httpx.Response) -> None:
        code = response.status_code
        if 200 <= code < 300:
            return
        url = str(response.request.url)
        snippet = response.text[:300].strip()
        if code in (401, 403):
            hint = "pass token= (bearer) or headers= with the credentials the backend expects"
        elif code >= 500:
            hint = (
                f"the backend kept failing after {self._attempts} attempt{'s' if self._attempts != 1 else ''}; "
                "check its logs "
                "or retry later"
            )
        else:
            hint = "check the URL and the query"
        raise TraceFetchError(
            f"{url} answered HTTP {code}: {snippet or '(empty body)'}; {hint}",
            url=url,
            status_code=code,
        )


def _ids_from(items: Sequence[Any], key: str, url: str) -> list[str]:
    ids: list[str] = []
    for i, item in enumerate(items):
        value = item.get(key) if isinstance(item, Mapping) else None
        if not isinstance(value, str) or not _HEX_ID.match(value):
            raise TraceFetchError(
                f"{url} answered a search result without a valid {key} at index {i}: {item!r:.200}",
                url=url,
            )
        trace_id = normalize_trace_id(value)  # Tempo trims leading zeros
        if trace_id not in ids:
            ids.append(trace_id)
    return ids


def fetch_trace(base_url: str, trace_id: str, **options: Any) -> list[SpanRecord]:
    """Fetch one trace; ``options`` are :class:`TraceFetcher`'s keyword arguments."""
    with TraceFetcher(base_url, **options) as fetcher:
        return fetcher.fetch(trace_id)


def search_tempo_trace_ids(base_url: str, **query: Any) -> list[str]:
    """Tempo search; keyword arguments of :meth:`TraceFetcher.search_tempo` and of the
    constructor (``timeout``, ``token``, ...) may be mixed."""
    search_keys = {"attributes", "traceql", "start", "end", "limit"}
    search = {k: v for k, v in query.items() if k in search_keys}
    options = {k: v for k, v in query.items() if k not in search_keys}
    with TraceFetcher(base_url, backend="tempo", **options) as fetcher:
        return fetcher.search_tempo(**search)


def search_jaeger_trace_ids(base_url: str, **query: Any) -> list[str]:
    """Jaeger search; keyword arguments of :meth:`TraceFetcher.search_jaeger` and of the
    constructor may be mixed."""
    search_keys = {"service", "tags", "operation", "start", "end", "limit"}
    search = {k: v for k, v in query.items() if k in search_keys}
    options = {k: v for k, v in query.items() if k not in search_keys}
    with TraceFetcher(base_url, backend="jaeger", **options) as fetcher:
        return fetcher.search_jaeger(**search)
