"""Shared fixtures: every test gets a fresh framescope runtime it chose itself."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import framescope
from framescope.replay.decode import DecodedRun, decode_runs
from framescope.replay.records import SpanRecord, from_readable_span

from support.openai_server import OpenAICompatibleServer


class MemoryTraces:
    """Spans exported to memory, read back as records and decoded runs."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    def records(self) -> list[SpanRecord]:
        framescope.flush()
        return [from_readable_span(span) for span in self.exporter.get_finished_spans()]

    def runs(self) -> list[DecodedRun]:
        return decode_runs(self.records())


@pytest.fixture
def memory_traces(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryTraces]:
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    exporter = InMemorySpanExporter()
    framescope.configure(exporter=exporter, replace=True)
    yield MemoryTraces(exporter)
    framescope.shutdown()


@pytest.fixture
def trace_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """framescope configured with the embedded default, writing into a temporary file."""
    path = tmp_path / "traces.jsonl"
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FRAMESCOPE_TRACE_FILE", str(path))
    framescope.configure(replace=True)
    yield path
    framescope.shutdown()


_REPO = Path(__file__).resolve().parents[1]


def _user_files() -> dict[str, tuple[int, int]]:
    """Size and mtime of every file in the checkout's and the working directory's ``.framescope/``."""
    found: dict[str, tuple[int, int]] = {}
    for root in {_REPO, Path.cwd()}:
        folder = root / ".framescope"
        if folder.is_dir():
            for path in folder.iterdir():
                stat = path.stat()
                found[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return found


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_USER_FILES] = _user_files()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Tests never touch the user's files: the run fails if ``.framescope/`` changed under it."""
    before = session.config.stash.get(_USER_FILES, None)
    if before is None:
        return
    changed = sorted(path for path, state in _user_files().items() if before.get(path) != state)
    if changed:
        session.config.get_terminal_writer().line(
            f"ERROR: the tests wrote to the user's files: {', '.join(changed)}; a test is missing an isolated "
            "trace file or store (see the _isolated_user_files fixture)",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_USER_FILES = pytest.StashKey[dict[str, tuple[int, int]]]()


@pytest.fixture(autouse=True)
def _isolated_user_files(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test writes its default trace file and conversation store into a temporary folder.

    A test that configures framescope lazily (no ``configure()``, no fixture) would otherwise
    append to the checkout's ``.framescope/traces.jsonl``.
    """
    folder = tmp_path_factory.mktemp("user-files")
    monkeypatch.setenv("FRAMESCOPE_TRACE_FILE", str(folder / "traces.jsonl"))
    monkeypatch.setenv("FRAMESCOPE_CONVERSATION_STORE", str(folder / "conversations.sqlite3"))
    yield
    framescope.shutdown()  # a runtime configured lazily in this test must not write on in the next


@pytest.fixture(autouse=True)
def _no_ambient_llm_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's own OpenAI and content-capture settings never leak into a test, nor scripts out of one."""
    from framescope.testing.llm_scripts import clear_scripts

    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"):
        monkeypatch.delenv(name, raising=False)
    yield
    clear_scripts()


@pytest.fixture
def server() -> Iterator[OpenAICompatibleServer]:
    """A real OpenAI-compatible server on 127.0.0.1 (tests/support/openai_server.py)."""
    with OpenAICompatibleServer() as running:
        yield running


@pytest.fixture(autouse=True)
def _no_leaked_run_threads() -> Iterator[None]:
    """Every test must leave no framescope run thread behind (C10)."""
    yield
    leftover = [t for t in threading.enumerate() if t.name.startswith("framescope-run-")]
    for thread in leftover:
        thread.join(timeout=2)
    still = [t.name for t in leftover if t.is_alive()]
    assert not still, f"run threads outlived their sessions: {still}"
