"""Item 11 of the hardening issue: SQLite store failures are ConversationStoreError naming the real cause.

Faults are injected portably: a path through a regular file (a folder that cannot be made),
a connection opened read-only through SQLite's own URI (a read-only file system, as seen by
SQLite), and ``PRAGMA max_page_count`` (SQLite's SQLITE_FULL, exactly what a full disk gives).
"""

from __future__ import annotations

import sqlite3

import pytest

from framescope.errors import ConversationStoreError
from framescope.experimental import _store_errors
from framescope.experimental._store import ConversationStore


def test_a_folder_that_cannot_be_made_is_a_store_error(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(ConversationStoreError, match="not a folder") as info:
        ConversationStore(blocker / "sub" / "store.db")
    assert "backup" not in str(info.value)


def test_a_read_only_store_says_read_only_not_restore_from_backup(tmp_path, monkeypatch):
    path = tmp_path / "store.db"
    ConversationStore(path).close()  # a good store
    real_connect = sqlite3.connect

    def read_only(database, *args, **kwargs):
        return real_connect(f"file:{database}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr(_store_errors.sqlite3, "connect", read_only)
    with pytest.raises(ConversationStoreError, match="read-only") as info:
        store = ConversationStore(path)
        store.begin_turn("s-1", "hello")
    assert "backup" not in str(info.value)


def test_a_full_disk_is_a_store_error_naming_the_disk(tmp_path):
    store = ConversationStore(tmp_path / "store.db")
    try:
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        store._conn.execute(f"PRAGMA max_page_count = {pages}")  # no room for one more page
        with pytest.raises(ConversationStoreError, match="the disk is full") as info:
            store.begin_turn("s-1", "x" * 100_000)
        assert isinstance(info.value.__cause__, sqlite3.OperationalError)
        assert "backup" not in str(info.value)
    finally:
        store.close()


def test_a_damaged_file_still_gets_the_backup_advice(tmp_path):
    path = tmp_path / "store.db"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(ConversationStoreError, match="backup"):
        ConversationStore(path)
