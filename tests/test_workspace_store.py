"""The workspace store: WAL file created on first use, per-component migrations, transactions."""

from __future__ import annotations

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
