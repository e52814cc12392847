"""The transcript store: every session's turns and messages in an embedded SQLite database.

Why SQLite: it is in the standard library, it survives process restarts and kills (a
committed transaction is on disk; an uncommitted one never happened), and several processes
can share one file, serialized by its write lock.  Each step of a turn is one short
``BEGIN IMMEDIATE`` transaction, and the keys make a lost or doubled message impossible
rather than unlikely: a turn number is ``UNIQUE`` per session, a message is ``UNIQUE`` per
(session, turn, position), every message has a unique id.

A turn's user message is written *before* the model is asked (so it is never lost), with the
turn ``open``; the reply and the turn's ``finished`` status are written together.  The
transcript is the messages of finished turns only, so a turn that failed, was cancelled or
whose process was killed never leaves a question without its answer in what the model
reads next.  Its user message stays in the store under the turn's status
(``failed``/``cancelled``/``interrupted``) for whoever wants to offer a retry.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from framescope.errors import ConversationStoreError
from framescope.experimental._models import ConversationMessage
from framescope.experimental._store_errors import connect, is_damage, store_error

#: Marks a database as a framescope conversation store ("FSCV"), so another program's
#: SQLite file is refused instead of being written into.
APPLICATION_ID = 0x46534356
SCHEMA_VERSION = 1
MEMORY = ":memory:"
#: Where transcripts go by default (relative to the working directory), unless
#: FRAMESCOPE_CONVERSATION_STORE names another file (or ":memory:").
DEFAULT_PATH = Path(".framescope") / "conversations.sqlite3"
STORE_ENV = "FRAMESCOPE_CONVERSATION_STORE"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id              TEXT PRIMARY KEY,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT '{}',
    anchor_trace_id TEXT,
    anchor_span_id  TEXT
);
CREATE TABLE IF NOT EXISTS turns (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    turn       INTEGER NOT NULL CHECK (turn >= 1),
    status     TEXT NOT NULL CHECK (status IN ('open', 'finished', 'failed', 'cancelled', 'interrupted')),
    owner      TEXT NOT NULL,
    route      TEXT,
    trace_id   TEXT,
    span_id    TEXT,
    error      TEXT,
    started_at TEXT NOT NULL,
    ended_at   TEXT,
    PRIMARY KEY (session_id, turn)
);
CREATE TABLE IF NOT EXISTS messages (
    id         TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    turn       INTEGER NOT NULL,
    position   INTEGER NOT NULL CHECK (position IN (0, 1)),
    role       TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (session_id, turn, position),
    FOREIGN KEY (session_id, turn) REFERENCES turns(session_id, turn)
);
"""

_OWNER = f"{socket.gethostname()}:{os.getpid()}"


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class SpanRef:
    """A turn span's ids as hex, enough to parent or link a later turn to it."""

    trace_id: str
    span_id: str


@dataclass
class TurnRecord:
    """One turn as the store keeps it (for inspection and tests)."""

    turn: int
    status: str
    route: str | None
    error: str | None
    trace_id: str | None
    span_id: str | None


@dataclass
class LoadedSession:
    """What a turn starts from: the transcript, the saved state fields, what was interrupted."""

    exists: bool
    messages: list[ConversationMessage]
    state: dict[str, Any]
    last_finished_turn: int
    interrupted: list[ConversationMessage] = field(default_factory=list)


class _SessionLock:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0


class ConversationStore:
    """A SQLite transcript store: a file path, or ``":memory:"`` (one process, for tests).

    Opening checks the file first and raises :class:`ConversationStoreError` (naming the real
    cause: damage, another program's database, read-only, full) without writing anything.
    One connection, used under a lock; processes are serialized by ``BEGIN IMMEDIATE``.
    """

    def __init__(self, path: str | os.PathLike[str] = MEMORY) -> None:
        self.path = MEMORY if str(path) == MEMORY else str(Path(path).expanduser().resolve())
        self._lock = threading.RLock()
        self._session_locks: dict[str, _SessionLock] = {}
        self._locks_guard = threading.Lock()
        #: the last finished turn this process knows of, per session (decides whether a
        #: turn reports a transcript loaded from the store)
        self._known: dict[str, int] = {}
        self._conn = connect(self.path, in_memory=self.path == MEMORY)
        try:
            self._check_and_prepare()
        except BaseException as exc:
            self._conn.close()
            if isinstance(exc, sqlite3.Error):  # not damage (refused above): read-only, full, locked
                raise store_error(self.path, "open", exc) from exc
            raise

    def __repr__(self) -> str:
        return f"ConversationStore({self.path!r})"

    # -- opening --------------------------------------------------------------------------
    def _refuse(self, why: str) -> ConversationStoreError:
        return ConversationStoreError(
            f"{self.path} is not a usable framescope conversation store: {why}. It was left untouched; "
            "move it aside (or restore it from a backup), or pass another file as ConversationConfig(store=...)"
        )

    def _check_and_prepare(self) -> None:
        conn = self._conn
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise  # read-only, full, locked: not damage, named by the caller
            raise self._refuse(f"SQLite cannot read it ({exc})") from None
        if app_id == 0 and not tables:
            self._create()
        elif app_id != APPLICATION_ID:
            raise self._refuse(f"it is a SQLite database of another program (tables: {', '.join(sorted(tables))})")
        else:
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
            except sqlite3.DatabaseError as exc:
                raise self._refuse(f"SQLite cannot read it ({exc})") from None
            if problems != ["ok"]:
                raise self._refuse(f"SQLite reports damage ({'; '.join(problems[:3])})")
            if version > SCHEMA_VERSION:
                raise self._refuse(
                    f"it was written by a newer framescope (schema {version}, this one knows "
                    f"{SCHEMA_VERSION}); upgrade framescope"
                )
        if self.path != MEMORY:
            conn.execute("PRAGMA journal_mode = WAL")  # readers never wait for a writing turn
            conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")

    def _create(self) -> None:
        with self._write() as conn:  # executescript would commit early: one statement at a time
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- transactions ---------------------------------------------------------------------
    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: all of it is committed, or none of it."""
        return self._transaction("BEGIN IMMEDIATE", on_failure="ROLLBACK")

    def _read(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """A consistent snapshot for several SELECTs."""
        return self._transaction("BEGIN", on_failure="COMMIT")

    @contextlib.contextmanager
    def _transaction(self, begin: str, *, on_failure: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            try:
                conn.execute(begin)
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute(on_failure)
                if isinstance(exc, sqlite3.OperationalError):  # full disk, read-only, locked: name it
                    raise store_error(self.path, "write to" if "IMMEDIATE" in begin else "read", exc) from exc
                raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- per-session serialization (this process) ------------------------------------------
    def acquire_session(self, session_id: str, cancelled: Callable[[], bool] | None = None) -> Callable[[], None]:
        """Wait until no other turn of ``session_id`` runs in this process; returns ``release``.

        ``cancelled`` is polled while waiting, so a closed stream stops waiting promptly.
        Raises :class:`InterruptedError` when it turns true.
        """
        with self._locks_guard:
            entry = self._session_locks.get(session_id)
            if entry is None:
                entry = self._session_locks[session_id] = _SessionLock()
            entry.users += 1
        try:
            while not entry.lock.acquire(timeout=0.05):
                if cancelled is not None and cancelled():
                    raise InterruptedError(f"stopped waiting for session {session_id!r}: the stream was closed")
        except BaseException:
            self._drop_lock(session_id, entry)
            raise

        def release() -> None:
            entry.lock.release()
            self._drop_lock(session_id, entry)

        return release

    def _drop_lock(self, session_id: str, entry: _SessionLock) -> None:
        with self._locks_guard:
            entry.users -= 1
            if entry.users == 0 and self._session_locks.get(session_id) is entry:
                del self._session_locks[session_id]

    # -- reading --------------------------------------------------------------------------
    def session_exists(self, session_id: str) -> bool:
        with self._lock:
            row = self._conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return row is not None

    def sessions(self) -> list[str]:
        """Every session id, oldest first."""
        with self._lock:
            rows = self._conn.execute("SELECT id FROM sessions ORDER BY created_at, id").fetchall()
        return [row[0] for row in rows]

    def transcript(self, session_id: str) -> list[ConversationMessage]:
        """The messages of the session's finished turns, in order."""
        with self._read() as conn:
            return _finished_messages(conn, session_id)

    def turns(self, session_id: str) -> list[TurnRecord]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT turn, status, route, error, trace_id, span_id FROM turns WHERE session_id = ? ORDER BY turn",
                (session_id,),
            ).fetchall()
        return [TurnRecord(*row) for row in rows]

    def unfinished(self, session_id: str) -> list[tuple[int, str, ConversationMessage]]:
        """``(turn, status, user message)`` of every turn that did not finish."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT t.turn, t.status, m.id, m.role, m.content, m.turn, m.created_at FROM turns t "
                "JOIN messages m ON m.session_id = t.session_id AND m.turn = t.turn AND m.position = 0 "
                "WHERE t.session_id = ? AND t.status != 'finished' ORDER BY t.turn",
                (session_id,),
            ).fetchall()
        return [(row[0], row[1], _message(row[2:])) for row in rows]

    def integrity(self) -> str:
        """SQLite's ``integrity_check`` verdict (``"ok"`` when sound)."""
        with self._lock:
            return "; ".join(row[0] for row in self._conn.execute("PRAGMA integrity_check"))

    def trace_refs(self, session_id: str) -> tuple[SpanRef | None, SpanRef | None]:
        """The session's anchor (its first turn's span) and its latest recorded turn span."""
        with self._read() as conn:
            anchor = conn.execute(
                "SELECT anchor_trace_id, anchor_span_id FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            last = conn.execute(
                "SELECT trace_id, span_id FROM turns WHERE session_id = ? AND span_id IS NOT NULL "
                "ORDER BY turn DESC LIMIT 1",
                (session_id,),
            ).fetchone()
        return (
            SpanRef(*anchor) if anchor and anchor[0] else None,
            SpanRef(*last) if last else None,
        )

    def load(self, session_id: str) -> LoadedSession:
        """The session as a new turn starts from it (empty when it does not exist yet)."""
        with self._read() as conn:
            row = conn.execute("SELECT state FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                return LoadedSession(False, [], {}, 0)
            messages = _finished_messages(conn, session_id)
            last = conn.execute(
                "SELECT COALESCE(MAX(turn), 0) FROM turns WHERE session_id = ? AND status = 'finished'", (session_id,)
            ).fetchone()[0]
        return LoadedSession(True, messages, json.loads(row[0]), last)

    # -- writing --------------------------------------------------------------------------
    def reap_interrupted(self, session_id: str) -> list[ConversationMessage]:
        """Mark ``interrupted`` the open turns whose process is gone; their user messages.

        Called with the session held by this process, so an open turn owned by this very
        process is left over too.  Turns owned by live processes (or on another host, which
        cannot be checked) stay open.
        """
        with self._lock:
            rows = self._conn.execute(
                "SELECT turn, owner FROM turns WHERE session_id = ? AND status = 'open'", (session_id,)
            ).fetchall()
        dead = [turn for turn, owner in rows if not _owner_alive(owner)]
        if not dead:
            return []
        with self._write() as conn:
            for turn in dead:
                conn.execute(
                    "UPDATE turns SET status = 'interrupted', ended_at = ?, error = ? "
                    "WHERE session_id = ? AND turn = ? AND status = 'open'",
                    (_now(), "the process running this turn ended before the turn did", session_id, turn),
                )
            marks = ",".join("?" * len(dead))
            found = conn.execute(
                f"SELECT id, role, content, turn, created_at FROM messages WHERE session_id = ? AND position = 0 "
                f"AND turn IN ({marks}) ORDER BY turn",
                (session_id, *dead),
            ).fetchall()
        return [_message(row) for row in found]

    def begin_turn(self, session_id: str, content: str) -> ConversationMessage:
        """Create the session if needed, number the turn, and save its user message (one transaction)."""
        now = _now()
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO sessions (id, created_at, updated_at) VALUES (?, ?, ?)", (session_id, now, now)
            )
            turn = conn.execute(
                "SELECT COALESCE(MAX(turn), 0) + 1 FROM turns WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO turns (session_id, turn, status, owner, started_at) VALUES (?, ?, 'open', ?, ?)",
                (session_id, turn, _OWNER, now),
            )
            message = _insert_message(conn, session_id, turn, "user", content, now)
        return message

    def record_span(self, session_id: str, turn: int, ref: SpanRef) -> None:
        """Remember the turn's span; the session's first recorded one becomes its anchor."""
        with self._write() as conn:
            conn.execute(
                "UPDATE turns SET trace_id = ?, span_id = ? WHERE session_id = ? AND turn = ?",
                (ref.trace_id, ref.span_id, session_id, turn),
            )
            conn.execute(
                "UPDATE sessions SET anchor_trace_id = ?, anchor_span_id = ? WHERE id = ? AND anchor_trace_id IS NULL",
                (ref.trace_id, ref.span_id, session_id),
            )

    def finish_turn(
        self, session_id: str, turn: int, reply: str, route: str, state: dict[str, Any]
    ) -> ConversationMessage:
        """Save the reply, the turn's ``finished`` status and the state fields (one transaction)."""
        now = _now()
        state_json = json.dumps(state)
        with self._write() as conn:
            updated = conn.execute(
                "UPDATE turns SET status = 'finished', route = ?, ended_at = ? "
                "WHERE session_id = ? AND turn = ? AND status = 'open'",
                (route, now, session_id, turn),
            ).rowcount
            if updated != 1:
                raise ConversationStoreError(
                    f"turn {turn} of session {session_id!r} is no longer open in {self.path} (another process "
                    "marked it interrupted); its reply was not saved. Run the turn again"
                )
            message = _insert_message(conn, session_id, turn, "assistant", reply, now)
            conn.execute("UPDATE sessions SET state = ?, updated_at = ? WHERE id = ?", (state_json, now, session_id))
        self._known[session_id] = turn
        return message

    def end_turn(self, session_id: str, turn: int, status: str, error: str | None = None) -> None:
        """Close an open turn as ``failed`` or ``cancelled`` (a finished turn is left alone)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE turns SET status = ?, error = ?, ended_at = ? WHERE session_id = ? AND turn = ? "
                "AND status = 'open'",
                (status, error, _now(), session_id, turn),
            )

    # -- what this process has seen ---------------------------------------------------------
    def is_news(self, session_id: str, loaded: LoadedSession) -> bool:
        """Whether ``loaded`` holds finished turns this process has not seen (restart, other process)."""
        news = bool(loaded.messages) and self._known.get(session_id) != loaded.last_finished_turn
        self._known[session_id] = loaded.last_finished_turn
        return news


def _insert_message(
    conn: sqlite3.Connection, session_id: str, turn: int, role: str, content: str, now: str
) -> ConversationMessage:
    message_id = uuid.uuid4().hex
    conn.execute(
        "INSERT INTO messages (id, session_id, turn, position, role, content, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (message_id, session_id, turn, 0 if role == "user" else 1, role, content, now),
    )
    return ConversationMessage(
        id=message_id, role=role, content=content, turn=turn, created_at=datetime.fromisoformat(now)
    )


def _message(row: tuple[Any, ...]) -> ConversationMessage:
    message_id, role, content, turn, created_at = row
    return ConversationMessage(
        id=message_id, role=role, content=content, turn=turn, created_at=datetime.fromisoformat(created_at)
    )


def _finished_messages(conn: sqlite3.Connection, session_id: str) -> list[ConversationMessage]:
    rows = conn.execute(
        "SELECT m.id, m.role, m.content, m.turn, m.created_at FROM messages m "
        "JOIN turns t ON t.session_id = m.session_id AND t.turn = m.turn "
        "WHERE m.session_id = ? AND t.status = 'finished' ORDER BY m.turn, m.position",
        (session_id,),
    ).fetchall()
    return [_message(row) for row in rows]


def _owner_alive(owner: str) -> bool:
    host, _, pid_text = owner.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return True  # cannot be checked from here: leave it open
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # the caller holds the session, so this process runs no turn of it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_stores: dict[str, ConversationStore] = {}
_stores_guard = threading.Lock()


def open_store(spec: str | os.PathLike[str] | ConversationStore | None) -> ConversationStore:
    """The store for a ``ConversationConfig(store=...)`` value; file stores are shared per path.

    Sharing matters: the per-session lock lives in the store object, so two flows of this
    process on one file must get the same object to serialize each other's turns.
    """
    if isinstance(spec, ConversationStore):
        return spec
    if spec is None:
        spec = os.environ.get(STORE_ENV) or DEFAULT_PATH
    if str(spec) == MEMORY:
        return ConversationStore(MEMORY)
    key = str(Path(spec).expanduser().resolve())
    with _stores_guard:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = ConversationStore(key)
        return store


__all__ = ["DEFAULT_PATH", "STORE_ENV", "ConversationStore", "LoadedSession", "SpanRef", "TurnRecord", "open_store"]
