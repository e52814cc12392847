"""Post-hoc replay: rebuild, frame for frame, what a run streamed, from its exported trace (docs/contract.md D5).

Sources: ``from_file`` (the embedded trace file or any saved trace document, format
recognised by content), ``from_url``/``from_jaeger``/``from_tempo`` (a trace backend),
``from_records`` (spans already parsed).  Each returns a session with the live API; the
``afrom_*`` coroutines return the async session.  One run is replayed by default;
``all_runs=True`` (the one way to replay several) gives every run of a trace, a whole
conversation, as one session.  ``list_runs`` says which runs a source holds and
``find_traces`` searches a backend for trace ids.  Errors are in :mod:`framescope.errors`.
docs/replay.md is the user's guide.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypedDict, Unpack, overload

from framescope.errors import ReplayError, TornTraceFileError, TraceFormatError
from framescope.replay._gc import paused_gc
from framescope.replay.catalog import RunInfo, describe_run, select_runs
from framescope.replay.decode import DecodedRun, decode_runs
from framescope.replay.fetch import Backend
from framescope.replay.reconstruct import reconstruct_runs
from framescope.replay.records import SpanRecord, normalize_trace_id
from framescope.replay.remote import DEFAULT_TIMEOUT, fetch_records, find_traces
from framescope.replay.session import AsyncReplaySession, ReplaySession, describe_gaps, replay_runs
from framescope.replay.sources.detect import read_trace_file

logger = logging.getLogger("framescope.replay")

__all__ = [
    "AsyncReplaySession",
    "ReplaySession",
    "RunInfo",
    "afrom_file",
    "afrom_url",
    "find_traces",
    "from_file",
    "from_jaeger",
    "from_records",
    "from_tempo",
    "from_url",
    "list_runs",
    "load_records",
]

#: What a replay source may be: a trace file path, a backend URL, or parsed span records.
Source = str | os.PathLike[str] | Iterable[SpanRecord]


def load_records(path: str | os.PathLike[str], *, allow_torn: bool = False) -> list[SpanRecord]:
    """Parse a trace file of any accepted format into span records."""
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.\-]*)://", str(path))
    if scheme and scheme.group(1).lower() not in ("http", "https"):
        raise ValueError(f"{path}: {scheme.group(1)}:// is not supported; pass a trace file or an http(s) backend URL")
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(
            f"no trace file at {file}; run something first (traces go to .framescope/traces.jsonl "
            "by default, or FRAMESCOPE_TRACE_FILE), or check the path"
        )
    if file.is_dir():
        raise IsADirectoryError(f"{file} is a directory; pass the trace file inside it")
    try:
        with file.open("rb") as stream, paused_gc():
            return read_trace_file(stream)
    except TornTraceFileError as exc:
        if not allow_torn:
            raise TornTraceFileError(
                f"{file}: {exc}. Pass allow_torn=True to replay the complete lines before it.",
                line_number=exc.line_number,
                records=exc.records,
            ) from None
        logger.warning("%s: %s; replaying the %d complete spans before it", file, exc, len(exc.records))
        return exc.records
    except TraceFormatError as exc:
        raise TraceFormatError(f"{file}: {exc}") from None


def load_runs(records: Iterable[SpanRecord], *, reconstruct: bool = False) -> list[DecodedRun]:
    """Every framescope run in ``records``, oldest first.

    With ``reconstruct=True`` and no framescope run in ``records``, the runs rebuilt from
    other instrumentations' GenAI spans (one per trace; see ``replay.reconstruct``).
    """
    runs, _ = _runs_of(list(records), None, reconstruct)
    return runs


def _runs_of(records: list[SpanRecord], trace_id: str | None, reconstruct: bool) -> tuple[list[DecodedRun], bool]:
    """Decoded runs, or reconstructed ones when allowed and the wanted trace has none."""
    with paused_gc():
        runs = decode_runs(records)
    if not reconstruct:
        return runs, False
    if trace_id is not None:
        wanted = normalize_trace_id(trace_id)
        if any(wanted in run.trace_ids for run in runs):
            return runs, False
        return reconstruct_runs(r for r in records if r.trace_id == wanted), True
    if runs:
        return runs, False
    return reconstruct_runs(records), True


def _warn_gaps(runs: list[DecodedRun], source: str) -> None:
    for run in runs:
        if run.gaps:
            logger.warning(
                "run %s in %s is missing frames with seq %s; replaying the %d frames that are there",
                run.run_id,
                source,
                describe_gaps(run.gaps),
                len(run.frames),
            )


class ReplayOptions(TypedDict, total=False):
    """What :func:`from_records` (and so every source) takes besides the records."""

    trace_id: str | None
    run_id: str | None
    all_runs: bool
    speed: float | None
    strict: bool
    reconstruct: bool
    source: str


@overload
def from_records(
    records: Iterable[SpanRecord], *, asynchronous: Literal[False] = False, **options: Unpack[ReplayOptions]
) -> ReplaySession: ...


@overload
def from_records(
    records: Iterable[SpanRecord], *, asynchronous: Literal[True], **options: Unpack[ReplayOptions]
) -> AsyncReplaySession: ...


def from_records(
    records: Iterable[SpanRecord], *, asynchronous: bool = False, **options: Unpack[ReplayOptions]
) -> ReplaySession | AsyncReplaySession:
    """Replay from span records: one run (``run_id``, else the newest, of ``trace_id`` if
    given), or with ``all_runs=True`` every run of the trace in order, as one session.

    Missing frames are logged as a warning naming their ``seq`` and kept in
    ``session.gaps``; ``strict=True`` raises :class:`IncompleteTraceError` instead.
    ``reconstruct=True`` allows a best-effort replay of a trace that holds no framescope run
    (``session.reconstructed`` is then True).  ``asynchronous=True`` returns an
    :class:`AsyncReplaySession` instead of a :class:`ReplaySession`.
    """
    unknown = sorted(set(options).difference(ReplayOptions.__annotations__))
    if unknown:
        raise TypeError(
            f"replay got unexpected keyword argument(s) {', '.join(unknown)}; "
            f"the replay options are {', '.join(ReplayOptions.__annotations__)}"
        )
    trace_id, run_id, all_runs = options.get("trace_id"), options.get("run_id"), options.get("all_runs", False)
    speed, strict, source = options.get("speed"), options.get("strict", False), options.get("source", "the trace")
    runs, reconstructed = _runs_of(list(records), trace_id, options.get("reconstruct", False))
    if reconstructed and not runs:
        raise ReplayError(
            f"{source} holds neither a framescope run nor GenAI spans (no span has "
            "gen_ai.operation.name) to reconstruct one from"
            + (f" in trace {normalize_trace_id(trace_id)}" if trace_id else "")
        )
    chosen = select_runs(runs, trace_id=trace_id, run_id=run_id, all_runs=all_runs, source=source)
    if reconstructed:
        logger.info("%s holds no framescope run; replaying frames reconstructed from its GenAI spans", source)
    if not strict:
        _warn_gaps(chosen, source)
    return replay_runs(chosen, speed=speed, strict=strict, asynchronous=asynchronous, reconstructed=reconstructed)


def from_file(
    path: str | os.PathLike[str],
    trace_id: str | None = None,
    *,
    run_id: str | None = None,
    all_runs: bool = False,
    speed: float | None = None,
    strict: bool = False,
    allow_torn: bool = False,
    reconstruct: bool = False,
) -> ReplaySession:
    """Replay a run from a trace file: by ``trace_id`` (hex), else the newest run in the file.

    ``speed`` paces frames at the original timing (``1.0``, ``2.0`` ...; ``None`` = as fast as
    possible).  A missing file, a torn last line (unless ``allow_torn``), a file with no
    framescope run and an unknown trace id each raise a clear error.  The other options are
    :func:`from_records`'.
    """
    with paused_gc():  # one pause for reading and decoding: the records die inside it, unscanned
        return from_records(
            load_records(path, allow_torn=allow_torn),
            trace_id=trace_id,
            run_id=run_id,
            all_runs=all_runs,
            speed=speed,
            strict=strict,
            reconstruct=reconstruct,
            source=str(path),
        )


def from_url(
    url_or_base: str,
    trace_id: str | None = None,
    *,
    backend: Backend = "auto",
    run_id: str | None = None,
    all_runs: bool = False,
    speed: float | None = None,
    strict: bool = False,
    reconstruct: bool = False,
    headers: Mapping[str, str] | None = None,
    token: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> ReplaySession:
    """Replay a run from Jaeger or Tempo.

    ``url_or_base`` is a query base URL (``http://jaeger:16686``, ``http://tempo:3200``) with
    ``trace_id``, or a full trace URL (``.../trace/<id>``, ``.../api/traces/<id>``,
    ``.../api/v3/traces/<id>``, ``.../api/v2/traces/<id>``).  The raw trace is asked for (no
    backend rewriting); ``token`` is sent as a bearer token, ``headers`` as given (e.g.
    ``{"X-Scope-OrgID": "tenant"}``).  Fetch failures raise :class:`TraceFetchError` (or
    :class:`TraceNotFoundError`) naming the URL; the other options are :func:`from_records`'.
    """
    return _from_url(
        url_or_base,
        trace_id,
        backend=backend,
        run_id=run_id,
        all_runs=all_runs,
        speed=speed,
        strict=strict,
        reconstruct=reconstruct,
        headers=headers,
        token=token,
        timeout=timeout,
    )


def _from_url(
    url_or_base: str,
    trace_id: str | None,
    *,
    backend: Backend = "auto",
    headers: Mapping[str, str] | None = None,
    token: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    **options: Any,
) -> Any:
    records, location = fetch_records(
        url_or_base, trace_id, backend=backend, headers=headers, token=token, timeout=timeout
    )
    return from_records(
        records, trace_id=location.trace_id, source=f"trace {location.trace_id} at {location.base_url}", **options
    )


def from_jaeger(base_url: str, trace_id: str, **options: Any) -> ReplaySession:
    """:func:`from_url` with ``backend="jaeger"`` (v3 API first, then v1; raw traces)."""
    return from_url(base_url, trace_id, backend="jaeger", **options)


def from_tempo(base_url: str, trace_id: str, **options: Any) -> ReplaySession:
    """:func:`from_url` with ``backend="tempo"`` (v2 API first, then v1)."""
    return from_url(base_url, trace_id, backend="tempo", **options)


async def afrom_file(path: str | os.PathLike[str], trace_id: str | None = None, **options: Any) -> AsyncReplaySession:
    """:func:`from_file` for asyncio: reads and decodes in a worker thread, returns an
    :class:`AsyncReplaySession` (``async for frame in session``)."""
    allow_torn = options.pop("allow_torn", False)

    def build() -> AsyncReplaySession:
        records = load_records(path, allow_torn=allow_torn)
        return from_records(records, trace_id=trace_id, asynchronous=True, source=str(path), **options)

    return await asyncio.to_thread(build)


async def afrom_url(url_or_base: str, trace_id: str | None = None, **options: Any) -> AsyncReplaySession:
    """:func:`from_url` for asyncio: fetches and decodes in a worker thread (one HTTP code
    path for both), returns an :class:`AsyncReplaySession`."""
    return await asyncio.to_thread(_from_url, url_or_base, trace_id, asynchronous=True, **options)


def _records_of(
    source: Source,
    trace_id: str | None,
    *,
    allow_torn: bool = False,
    fetch: Mapping[str, Any] | None = None,
) -> tuple[list[SpanRecord], str | None, str]:
    """(records, trace id, label) from a path, a backend URL or records."""
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        records, location = fetch_records(source, trace_id, **dict(fetch or {}))
        return records, location.trace_id, f"trace {location.trace_id} at {location.base_url}"
    if isinstance(source, (str, os.PathLike)):
        return load_records(source, allow_torn=allow_torn), trace_id, str(source)
    return list(source), trace_id, "the trace"


def list_runs(
    source: Source,
    trace_id: str | None = None,
    *,
    reconstruct: bool = False,
    allow_torn: bool = False,
    **fetch: Any,
) -> list[RunInfo]:
    """The runs a file, a backend trace URL or records hold, oldest first (of ``trace_id``
    if given); ``fetch`` takes :func:`from_url`'s connection options."""
    records, trace_id, _ = _records_of(source, trace_id, allow_torn=allow_torn, fetch=fetch)
    found, reconstructed = _runs_of(records, trace_id, reconstruct)
    if trace_id is not None:
        wanted = normalize_trace_id(trace_id)
        found = [run for run in found if wanted in run.trace_ids]
    return [describe_run(run, reconstructed=reconstructed) for run in found]
