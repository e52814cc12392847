"""The real cause of a conversation-store failure, in words a user can act on.

SQLite reports a read-only file system, a missing folder, a full disk and a damaged file all
as ``OperationalError``/``DatabaseError`` with terse texts, and the store used to answer
every one of them with "restore it from a backup", which sent users looking for corruption
that was not there.  :func:`store_error` names the cause and the fix, and only damage gets
the backup advice.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from framescope.errors import ConversationStoreError

__all__ = ["cause_of", "connect", "is_damage", "store_error"]

_CAUSES = (
    (
        ("readonly", "read-only", "read only"),
        "the file or its file system is read-only",
        "make it writable, or pass a store on a writable disk as ConversationConfig(store=...)",
    ),
    (
        ("database or disk is full", "disk is full", "no space"),
        "the disk is full",
        "free some space, or pass a store on another disk as ConversationConfig(store=...)",
    ),
    (
        ("unable to open", "cannot open"),
        "SQLite cannot open the file (a missing folder or no permission)",
        "check that the folder exists and is writable, or pass another path as ConversationConfig(store=...)",
    ),
    (
        ("locked", "busy"),
        "another process holds the store locked",
        "wait for it to finish, or pass another file as ConversationConfig(store=...)",
    ),
    (
        ("disk i/o error",),
        "the disk reported an I/O error (it may be full or failing)",
        "check the disk, or pass a store on another disk as ConversationConfig(store=...)",
    ),
    (
        ("not a database", "malformed", "corrupt"),
        "the file is damaged or is not a SQLite database",
        "move it aside (or restore it from a backup), or pass another file as ConversationConfig(store=...)",
    ),
)

_ERRNO_CAUSES = {
    errno.EROFS: ("the file system is read-only", "pass a store on a writable disk as ConversationConfig(store=...)"),
    errno.ENOSPC: ("the disk is full", "free some space, or pass a store on another disk"),
    errno.EACCES: (
        "permission denied",
        "make the folder writable, or pass another path as ConversationConfig(store=...)",
    ),
    errno.ENOENT: ("a folder on the way does not exist", "create it, or pass another path"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "pass another path as ConversationConfig(store=...)"),
}


def cause_of(exc: BaseException) -> tuple[str, str]:
    """(what went wrong, what to do) for an ``sqlite3.Error`` or an ``OSError``."""
    if isinstance(exc, OSError) and exc.errno in _ERRNO_CAUSES:
        return _ERRNO_CAUSES[exc.errno]
    text = str(exc).lower()
    for needles, cause, fix in _CAUSES:
        if any(needle in text for needle in needles):
            return cause, fix
    return f"{type(exc).__name__}: {exc}", "pass another file as ConversationConfig(store=...)"


def is_damage(exc: BaseException) -> bool:
    """Whether SQLite's error means a damaged file (rather than a read-only, full or locked one)."""
    return cause_of(exc)[0] == _CAUSES[-1][1]


def store_error(path: str, doing: str, exc: BaseException) -> ConversationStoreError:
    """A :class:`ConversationStoreError` for ``doing`` (e.g. "open", "write to") that names the cause."""
    cause, fix = cause_of(exc)
    detail = f" ({exc})" if isinstance(exc, sqlite3.Error) else ""
    return ConversationStoreError(f"cannot {doing} the conversation store {path}: {cause}{detail}; {fix}")


def connect(path: str, *, in_memory: bool) -> sqlite3.Connection:
    """The store's one connection (its folder created first); failures name their cause."""
    try:
        if not in_memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    except (sqlite3.Error, OSError) as exc:
        raise store_error(path, "open", exc) from exc
