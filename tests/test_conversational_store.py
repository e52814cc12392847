"""The SQLite transcript store: restarts, SIGKILL between and during turns, corrupted files.

Each "process" is a real Python subprocess on the same store file, so persistence is tested
across interpreters, not across objects.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from framescope import Flow
from framescope.experimental.conversational import (
    ConversationConfig,
    ConversationState,
    ConversationStore,
    ConversationStoreError,
)

PLUGIN = Path(__file__).resolve().parents[1] / "plugin"

SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from framescope import Flow
    from framescope.experimental.conversational import ConversationConfig, ConversationState
    from framescope.llm.providers import register_script

    store, mode, *words = sys.argv[1:]
    register_script("slow", lambda messages: "a slow answer " * 100, token_delay_s=0.01)
    model = "scripted/slow" if mode == "midturn" else "scripted/echo"

    @ConversationConfig(llm=model, store=store)
    class ChatFlow(Flow[ConversationState]):
        conversational = True

    flow = ChatFlow()
    if mode == "turns":          # one finished turn per word, then wait to be killed
        for word in words:
            flow.turn(word, session_id="s")
            print("done", word, flush=True)
        time.sleep(60)
    elif mode == "midturn":      # killed while the reply streams
        with flow.stream_turn(words[0], session_id="s") as stream:
            for frame in stream.events:
                if frame.type == "llm_stream_chunk":
                    print("streaming", flush=True)
                    time.sleep(0.05)
    elif mode == "next":         # a new process: the transcript, then one more turn's frames
        before = [[m.role, m.content, m.turn] for m in flow.transcript("s")]
        with flow.stream_turn(words[0], session_id="s") as stream:
            frames = [[f.type, f.data] for f in stream.events if f.type != "llm_stream_chunk"]
        print(json.dumps({"before": before, "frames": frames, "reply": stream.result}), flush=True)
    """
)


def python(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    script = tmp_path / "conversation_process.py"
    if not script.exists():  # rewriting it while a process started just before reads it runs an empty script
        script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(PLUGIN), "OTEL_SDK_DISABLED": "true"}
    return subprocess.Popen(
        [sys.executable, str(script), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def run_next(tmp_path: Path, store: Path, message: str) -> dict[str, Any]:
    process = python(tmp_path, str(store), "next", message)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return json.loads(out)


def kill_after(process: subprocess.Popen[str], lines: list[str]) -> None:
    """Wait for each expected stdout line, then SIGKILL the process."""
    assert process.stdout is not None
    for expected in lines:
        line = process.stdout.readline().strip()
        assert line == expected, f"expected {expected!r}, got {line!r}; stderr: {process.stderr.read()[-2000:]}"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    process.stdout.close()
    process.stderr.close()  # type: ignore[union-attr]


def rows(store: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(store) as conn:
        return conn.execute(sql).fetchall()


def test_a_new_process_reads_the_transcript_and_reports_it_loaded(tmp_path: Path) -> None:
    store = tmp_path / "conversations.sqlite3"
    kill_after(python(tmp_path, str(store), "turns", "hello", "again"), ["done hello", "done again"])
    result = run_next(tmp_path, store, "third")
    assert result["before"] == [
        ["user", "hello", 1],
        ["assistant", "You said: hello", 1],
        ["user", "again", 2],
        ["assistant", "You said: again", 2],
    ]
    assert result["reply"] == "You said: third"
    types = [t for t, _ in result["frames"]]
    assert types[:3] == ["conversation_turn_started", "conversation_transcript_loaded", "conversation_message_added"]
    loaded = result["frames"][1][1]
    assert loaded["message_count"] == 4 and loaded["interrupted"] == []
    assert [m["content"] for m in loaded["messages"]] == ["hello", "You said: hello", "again", "You said: again"]
    assert result["frames"][0][1]["turn"] == 3


def test_sigkill_between_turns_loses_and_doubles_nothing(tmp_path: Path) -> None:
    store = tmp_path / "conversations.sqlite3"
    words = [f"w{i}" for i in range(6)]
    kill_after(python(tmp_path, str(store), "turns", *words), [f"done {w}" for w in words])
    result = run_next(tmp_path, store, "after")
    contents = [content for _, content, _ in result["before"]]
    assert contents == [text for w in words for text in (w, f"You said: {w}")]
    assert rows(store, "SELECT COUNT(*), COUNT(DISTINCT id) FROM messages") == [(14, 14)]
    assert rows(store, "SELECT turn, status FROM turns ORDER BY turn") == [(n, "finished") for n in range(1, 8)]
    assert rows(store, "PRAGMA integrity_check") == [("ok",)]


def test_sigkill_mid_turn_keeps_the_question_out_of_the_transcript_and_reports_it(tmp_path: Path) -> None:
    store = tmp_path / "conversations.sqlite3"
    kill_after(python(tmp_path, str(store), "turns", "first"), ["done first"])
    kill_after(python(tmp_path, str(store), "midturn", "cut off question"), ["streaming"])
    assert rows(store, "SELECT turn, status FROM turns ORDER BY turn") == [(1, "finished"), (2, "open")]

    result = run_next(tmp_path, store, "next question")
    assert [content for _, content, _ in result["before"]] == ["first", "You said: first"]
    loaded = next(data for t, data in result["frames"] if t == "conversation_transcript_loaded")
    assert [(m["turn"], m["content"]) for m in loaded["interrupted"]] == [(2, "cut off question")]
    assert result["frames"][0][1]["turn"] == 3
    started = next(data for t, data in result["frames"] if t == "llm_call_started")
    assert [m["content"] for m in started["messages"]] == ["first", "You said: first", "next question"]
    assert rows(store, "SELECT turn, status FROM turns ORDER BY turn") == [
        (1, "finished"),
        (2, "interrupted"),
        (3, "finished"),
    ]
    assert rows(store, "SELECT COUNT(*) FROM messages WHERE turn = 2") == [(1,)]  # the question is kept, unanswered
    assert rows(store, "PRAGMA integrity_check") == [("ok",)]


def test_concurrent_processes_on_one_session_never_share_a_turn_number(tmp_path: Path) -> None:
    store = tmp_path / "conversations.sqlite3"
    ConversationStore(store).close()  # created once, so both processes open an existing store
    processes = [python(tmp_path, str(store), "next", f"from {i}") for i in range(3)]
    for process in processes:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
    assert rows(store, "SELECT turn, status FROM turns ORDER BY turn") == [(n, "finished") for n in (1, 2, 3)]
    assert rows(store, "SELECT COUNT(*), COUNT(DISTINCT turn) FROM messages WHERE role = 'user'") == [(3, 3)]


def test_the_schema_itself_refuses_a_doubled_message(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "s.sqlite3")
    message = store.begin_turn("s", "hello")
    with sqlite3.connect(store.path) as conn, pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute(
            "INSERT INTO messages (id, session_id, turn, position, role, content, created_at) "
            "VALUES ('other-id', 's', ?, 0, 'user', 'hello', '')",
            (message.turn,),
        )
    with sqlite3.connect(store.path) as conn, pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute("INSERT INTO turns (session_id, turn, status, owner, started_at) VALUES ('s', 1, 'open', 'x', '')")
    store.close()


def chat_flow(store: Any) -> Any:
    @ConversationConfig(llm="scripted/echo", store=store)
    class ChatFlow(Flow[ConversationState]):
        conversational = True

    return ChatFlow()


@pytest.mark.parametrize(
    "content",
    [b"this is not a database at all" * 40, b"SQLite format 3\x00" + b"\xff" * 4080],
    ids=["garbage", "damaged-header"],
)
def test_a_corrupted_store_file_is_refused_and_left_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.sqlite3"
    path.write_bytes(content)
    with pytest.raises(ConversationStoreError, match=r"broken\.sqlite3 is not a usable .* left untouched"):
        chat_flow(path).stream_turn("Hi", session_id="s")
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.sqlite3"]


def test_another_programs_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "theirs.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    before = path.read_bytes()
    with pytest.raises(ConversationStoreError, match="another program.*invoices"):
        chat_flow(path).turn("Hi", session_id="s")
    assert path.read_bytes() == before


def test_memory_stores_are_private_and_file_stores_shared_per_path(tmp_path: Path) -> None:
    first, second = chat_flow(":memory:"), chat_flow(":memory:")
    first.turn("only here", session_id="s")
    assert second.transcript("s") == []
    path = tmp_path / "shared.sqlite3"
    a, b = chat_flow(path), chat_flow(str(path))
    assert type(a)._framescope_conversation.resolved_store() is type(b)._framescope_conversation.resolved_store()


def test_the_default_store_lives_under_dot_framescope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRAMESCOPE_CONVERSATION_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    chat_flow(None).turn("Hi", session_id="s")
    assert (tmp_path / ".framescope" / "conversations.sqlite3").is_file()
    assert rows(tmp_path / ".framescope" / "conversations.sqlite3", "SELECT COUNT(*) FROM messages") == [(2,)]
