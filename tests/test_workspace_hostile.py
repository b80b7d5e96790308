"""Hostile input across the workspace commands, as a demanding new user tries them: each is
one line on stderr with the documented exit status (book / template / recipients / inbox:
1; campaign: 2; demo: 1), never a traceback."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from smsdk.cli import main
from smsdk.workspace.books import Books
from smsdk.workspace.store import Workspace, WorkspaceError


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.output


def one_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


# -- the workspace file itself ---------------------------------------------------------------

WORKSPACE_COMMANDS = [
    (["book", "list"], 1), (["template", "list"], 1), (["recipients", "--to", "13800138000"], 1),
    (["inbox", "list"], 1), (["campaign", "list"], 2), (["campaign", "sent"], 2),
    (["bill"], 1), (["birthday", "list"], 1),
]


@pytest.mark.parametrize("command, code", WORKSPACE_COMMANDS)
def test_workspace_pointing_at_a_directory(tmp_path, command, code):
    got, out = cli(*command, "--workspace", str(tmp_path))
    assert got == code
    assert f"{tmp_path} is a directory: the workspace is a file, e.g. {tmp_path / 'workspace.sqlite3'}" in one_line(out)


@pytest.mark.parametrize("command, code", WORKSPACE_COMMANDS)
def test_workspace_file_that_is_not_sqlite(tmp_path, command, code):
    bad = tmp_path / "notes.sqlite3"
    bad.write_text("这不是数据库\n" * 50, encoding="utf-8")
    got, out = cli(*command, "--workspace", str(bad))
    assert got == code
    assert "is not a usable workspace file: file is not a database" in one_line(out)
    assert bad.read_text(encoding="utf-8").startswith("这不是数据库")  # left as it was


def test_workspace_in_a_directory_that_cannot_be_made(tmp_path):
    (tmp_path / "file").write_text("x")
    got, out = cli("book", "list", "--workspace", str(tmp_path / "file" / "sub" / "ws.sqlite3"))
    assert got == 1 and "cannot create the workspace directory" in one_line(out)
    got, out = cli("campaign", "list", "--workspace", str(tmp_path / "file" / "sub" / "ws.sqlite3"))
    assert got == 2 and "cannot create the workspace directory" in one_line(out)


def test_demo_with_a_directory_as_workspace(tmp_path):
    pytest.importorskip("smsdk_harness")
    got, out = cli("demo", "--workspace", str(tmp_path))
    assert got == 1 and "is a directory" in one_line(out)


# -- permissions: run as a user the permissions apply to ------------------------------------


def _unprivileged() -> list[str]:
    """A command prefix under which file permissions apply: nothing for a normal user; for
    root (CI containers), setpriv without capabilities (root then obeys the mode bits of its
    own files)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]


def smsdk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*_unprivileged(), sys.executable, "-m", "smsdk.cli", *args], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.fixture
def locked(tmp_path):
    made: list[Path] = []
    yield made
    for p in made:  # let pytest clean up
        p.chmod(0o755 if p.is_dir() else 0o644)


def test_workspace_directory_without_write_permission(tmp_path, locked):
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    locked.append(d)
    out = smsdk("book", "list", "--workspace", str(d / "ws.sqlite3"))
    assert out.returncode == 1 and "SQLite cannot open or create it" in one_line(out.stderr), out.stderr
    out = smsdk("campaign", "list", "--workspace", str(d / "sub" / "ws.sqlite3"))
    assert out.returncode == 2 and "cannot create the workspace directory" in one_line(out.stderr)
    assert "Permission denied" in out.stderr


def test_read_only_workspace_file(tmp_path, locked):
    path = tmp_path / "ws.sqlite3"
    with Workspace(path) as ws:
        Books(ws).public().add("张三", "13800138000")
    path.chmod(0o444)
    locked.append(path)
    for args in (["book", "list", "--json"], ["inbox", "list"], ["campaign", "list"]):  # reading still works
        out = smsdk(*args, "--workspace", str(path))
        assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    for args, code in ((["book", "add", "李四", "13800138001"], 1), (["template", "save", "t", "hi"], 1),
                       (["book", "group", "add", "VIP"], 1), (["campaign", "send", "--to", "13800138000", "--at", "+2h", "hi"], 2)):
        out = smsdk(*args, "--workspace", str(path))
        assert out.returncode == code, (args, out.stderr)
        assert "cannot be written: it is read-only" in one_line(out.stderr), out.stderr


def test_a_write_refused_by_sqlite_is_a_workspace_error(tmp_path):
    with Workspace(tmp_path / "ws.sqlite3") as ws:
        ws.db.execute("PRAGMA query_only = ON")  # what a read-only file does to a write
        with pytest.raises(WorkspaceError, match="cannot be written: it is read-only"):
            with ws.transaction() as db:
                db.execute("CREATE TABLE t (x)")
        assert not ws.db.in_transaction
        ws.db.execute("PRAGMA query_only = OFF")
        with pytest.raises(sqlite3.OperationalError, match="syntax error"):  # our own bugs stay bugs
            with ws.transaction() as db:
                db.execute("CREATE TABEL t (x)")


# -- contents: empty files, unknown groups and campaigns --------------------------------------


@pytest.mark.parametrize("content, what", [(b"", "no rows"), ("姓名,手机\n".encode(), "only a header row"),
                                           (b"\n\n\n", "only empty rows")])
def test_importing_a_file_with_no_contact(tmp_path, content, what):
    f = tmp_path / "contacts.csv"
    f.write_bytes(content)
    got, out = cli("book", "import", str(f), "--workspace", str(tmp_path / "ws.sqlite3"))
    assert got == 1
    assert one_line(out) == f"Error: {f}: nothing to import: the file has {what}"


@pytest.mark.parametrize("command", [["recipients", "--group", "public/不存在"],
                                     ["book", "contacts", "--group", "不存在"],
                                     ["template", "preview", "{name}您好", "--group", "public/不存在"]])
def test_a_group_that_does_not_exist(tmp_path, command):
    got, out = cli(*command, "--workspace", str(tmp_path / "ws.sqlite3")) if command[0] == "recipients" else \
        cli(command[0], command[1], "--workspace", str(tmp_path / "ws.sqlite3"), *command[2:])
    assert got == 1 and "no group '不存在' in the public book" in one_line(out)


@pytest.mark.parametrize("command", [["show", "42"], ["cancel", "42"],
                                     ["continue", "42", "--host", "h", "--account", "a", "--password", "p"],
                                     ["resend", "42", "--host", "h", "--account", "a", "--password", "p"]])
def test_a_campaign_that_does_not_exist(tmp_path, command):
    got, out = cli("campaign", *command, "--workspace", str(tmp_path / "ws.sqlite3"))
    assert got == 2 and "no campaign 42 in" in one_line(out)
