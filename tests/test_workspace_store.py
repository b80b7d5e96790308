"""The workspace store: WAL file created on first use, per-component migrations, transactions."""

from __future__ import annotations

import logging
import threading

import pytest

from smsdk.workspace import store
from smsdk.workspace.store import Workspace, WorkspaceError, component


@pytest.fixture
def fresh_registry(monkeypatch):
    monkeypatch.setattr(store, "_COMPONENTS", {})


def test_created_on_first_use_in_wal_mode(tmp_path, fresh_registry):
    path = tmp_path / "sub" / "ws.sqlite3"
    with Workspace(path, clock=lambda: 100.0) as ws:
        assert ws.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert path.exists()


def test_migrations_applied_once_and_in_order(tmp_path, fresh_registry):
    comp = component("things", "CREATE TABLE t (a INTEGER);",
                     "ALTER TABLE t ADD COLUMN b TEXT; CREATE INDEX t_b ON t (b);")
    with Workspace(tmp_path / "ws", clock=lambda: 5.0) as ws:
        ws.db.execute("INSERT INTO t (a, b) VALUES (1, 'x')")
    with Workspace(tmp_path / "ws") as ws:  # reopening applies nothing again
        rows = ws.db.execute("SELECT component, version, applied_at FROM schema_migrations").fetchall()
        assert [tuple(r) for r in rows] == [("things", 1, 5.0), ("things", 2, 5.0)]
        assert ws.db.execute("SELECT a, b FROM t").fetchone()[:] == (1, "x")
    assert comp.migrations[0].startswith("CREATE")


def test_a_migration_another_process_applied_meanwhile_is_not_applied_again(tmp_path, fresh_registry,
                                                                             monkeypatch):
    """Two processes opening a new file at once: each reads the version before its write
    transaction; the one that comes second must read it again inside (else 'table u
    already exists')."""
    component("things", "CREATE TABLE t (a INTEGER);", "CREATE TABLE u (a INTEGER);")
    Workspace(tmp_path / "ws").close()  # the other process, first
    real = Workspace._version
    stale = iter([1])  # what this one read before the other's commit

    def version(self, comp):
        return next(stale, None) or real(self, comp)

    monkeypatch.setattr(Workspace, "_version", version)
    with Workspace(tmp_path / "ws") as ws:
        assert [tuple(r) for r in ws.db.execute("SELECT component, version FROM schema_migrations")] == [
            ("things", 1), ("things", 2)]


def test_newer_schema_refused(tmp_path, fresh_registry):
    component("things", "CREATE TABLE t (a INTEGER);", "CREATE TABLE u (a INTEGER);")
    Workspace(tmp_path / "ws").close()
    store._COMPONENTS["things"] = store.Component("things", ("CREATE TABLE t (a INTEGER);",))
    with pytest.raises(WorkspaceError, match="newer than this smsdk knows"):
        Workspace(tmp_path / "ws")


def test_conflicting_declarations_refused(fresh_registry):
    component("things", "CREATE TABLE t (a INTEGER);")
    component("things", "CREATE TABLE t (a INTEGER);")  # the same declaration again is fine
    with pytest.raises(ValueError, match="declared twice"):
        component("things", "CREATE TABLE t (b INTEGER);")


def test_transaction_rolls_back_on_error(fresh_registry):
    component("things", "CREATE TABLE t (a INTEGER);")
    ws = Workspace(":memory:")
    with pytest.raises(RuntimeError):
        with ws.transaction() as db:
            db.execute("INSERT INTO t VALUES (1)")
            with ws.transaction() as inner:  # nested joins the outer transaction
                inner.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("boom")
    assert ws.db.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0
    with ws.transaction() as db:
        db.execute("INSERT INTO t VALUES (3)")
    assert ws.db.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 1


def test_not_a_database_is_a_clear_error(tmp_path, fresh_registry):
    bad = tmp_path / "ws"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(WorkspaceError, match="not a usable workspace file"):
        Workspace(bad)


def test_incomplete_statement_refused():
    with pytest.raises(ValueError, match="incomplete SQL"):
        list(store._statements("INSERT INTO t VALUES ('unterminated; x"))


def test_default_path_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SMSDK_WORKSPACE", str(tmp_path / "w.db"))
    assert store.default_path() == tmp_path / "w.db"
    monkeypatch.delenv("SMSDK_WORKSPACE")
    assert store.default_path().name == "workspace.sqlite3"


# -- checkpoints: off the committing thread ----------------------------------------------------

def _wait_for_checkpoint(checkpointer: store.Checkpointer, done_before: int) -> None:
    """Until the checkpointer's thread has done another checkpoint (bounded: a join)."""
    thread = checkpointer._thread
    assert thread is not None
    for _ in range(500):
        if checkpointer.checkpoints > done_before:
            return
        thread.join(0.02)
    raise AssertionError("no checkpoint within 10 s")


def test_a_commit_leaves_the_checkpoint_to_the_checkpointer_thread(tmp_path, fresh_registry):
    """8 MB in one transaction (2 000 pages: SQLite's own automatic checkpoint, past 1 000,
    would copy them into the file inside the commit): the commit only appends to the WAL,
    and the Checkpointer, once woken, copies them."""
    component("blobs", "CREATE TABLE b (x BLOB);")
    path = tmp_path / "ws.sqlite3"
    ws = Workspace(path)
    try:
        assert ws.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == store.BACKSTOP_PAGES
        checkpointer = ws._checkpointer
        assert checkpointer is not None
        woken: list[bool] = []
        real_wake = checkpointer.wake
        checkpointer.wake = lambda: woken.append(True)  # type: ignore[method-assign]
        with ws.transaction() as db:
            db.executemany("INSERT INTO b VALUES (?)", ([bytes(4000)] for _ in range(2000)))
        assert woken == [True]
        assert path.stat().st_size < 1_000_000 < 8_000_000 < (tmp_path / "ws.sqlite3-wal").stat().st_size
        checkpointer.wake = real_wake  # type: ignore[method-assign]
        done = checkpointer.checkpoints
        checkpointer.wake()
        _wait_for_checkpoint(checkpointer, done)
        assert path.stat().st_size > 8_000_000  # copied into the file
        assert ws.db.execute("SELECT COUNT(*) FROM b").fetchone()[0] == 2000
    finally:
        ws.close()
    assert not checkpointer.running
    assert not [t for t in threading.enumerate() if t.name.startswith("smsdk checkpoints")]


def test_the_checkpointer_thread_ends_when_idle_and_comes_back_with_a_commit(tmp_path, fresh_registry):
    path = tmp_path / "ws.sqlite3"
    Workspace(path).close()
    checkpointer = store.Checkpointer(str(path), pace=0.0, idle=0.01)
    assert not checkpointer.running
    checkpointer.wake()
    thread = checkpointer._thread
    assert thread is not None
    thread.join(10)  # idle 10 ms after its checkpoint: it ends
    assert not thread.is_alive() and not checkpointer.running and checkpointer.checkpoints == 1
    checkpointer.wake()
    assert checkpointer.running
    checkpointer.stop()
    assert not checkpointer.running
    checkpointer.wake()  # stopped: stays stopped
    assert not checkpointer.running


def test_a_checkpoint_that_fails_is_logged_and_tried_again(tmp_path, caplog):
    garbage = tmp_path / "not-a-workspace.sqlite3"
    garbage.write_bytes(b"this is not an SQLite file" * 100)
    checkpointer = store.Checkpointer(str(garbage), pace=0.0, idle=5.0)

    def logged(count: int) -> None:
        thread = checkpointer._thread
        assert thread is not None  # (the thread lives on)
        for _ in range(500):
            if len(caplog.records) >= count:
                return
            thread.join(0.02)
        raise AssertionError(f"{count} failures not logged within 10 s")

    with caplog.at_level(logging.INFO, logger="smsdk.workspace.store"):
        checkpointer.wake()
        logged(1)
        checkpointer.wake()  # the next commit: it tries again
        logged(2)
        checkpointer.stop()
    assert checkpointer.checkpoints == 0 and not checkpointer.running
    assert all("WAL not checkpointed now" in r.getMessage() and "not a database" in r.getMessage()
               for r in caplog.records)


def test_a_workspace_in_memory_has_no_checkpointer(fresh_registry):
    with Workspace(":memory:") as ws:
        assert ws._checkpointer is None
