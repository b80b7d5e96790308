"""The workspace's SQLite file: one file, WAL, created on first use, time injected.

Every part of the workspace (address books, outbox, inbox, ...) declares its tables as a
:class:`Component`: a name and an ordered list of migrations (SQL scripts).  Opening a
:class:`Workspace` applies each registered component's migrations it has not applied yet,
recorded in ``schema_migrations``, so parts are added without touching each other's schema.

Writes go through :meth:`Workspace.transaction` (one ``BEGIN IMMEDIATE`` ... ``COMMIT``), so a
batch of rows costs one append to the WAL, and a crash leaves either all of a batch or none
of it.  Copying the WAL back into the file (a checkpoint, with its fsyncs) is done by a
:class:`Checkpointer` thread, off the writing one.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("smsdk.workspace.store")

#: Where the workspace lives when neither an argument nor ``SMSDK_WORKSPACE`` says.
DEFAULT_PATH = Path("~/.smsdk/workspace.sqlite3")


class WorkspaceError(Exception):
    """A workspace operation was refused; the message says why and what to do."""


@dataclass(frozen=True)
class Component:
    """A part of the workspace and its schema: ``migrations[i]`` is version ``i + 1``."""

    name: str
    migrations: tuple[str, ...]


_COMPONENTS: dict[str, Component] = {}


def component(name: str, *migrations: str) -> Component:
    """Declare (at import time) the tables of one workspace part.

    Migrations are append-only: a released one is never edited, a change is a new one.
    """
    if not migrations:
        raise ValueError(f"component {name!r} declares no migrations")
    existing = _COMPONENTS.get(name)
    comp = Component(name, tuple(migrations))
    if existing is not None and existing != comp:
        raise ValueError(f"workspace component {name!r} declared twice with different schemas")
    _COMPONENTS[name] = comp
    return comp


def default_path() -> Path:
    """``$SMSDK_WORKSPACE`` if set, else ``~/.smsdk/workspace.sqlite3``."""
    env = os.environ.get("SMSDK_WORKSPACE")
    return Path(env).expanduser() if env else DEFAULT_PATH.expanduser()


_BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    component TEXT NOT NULL,
    version   INTEGER NOT NULL,
    applied_at REAL NOT NULL,
    PRIMARY KEY (component, version)
)
"""


class Workspace:
    """An open workspace file.

    ``path`` is a file path, or ``":memory:"`` for tests; ``clock`` returns seconds since the
    epoch (``time.time`` by default; tests pass a ``task.Clock().seconds``).  Use as a context
    manager or call :meth:`close`.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        if path is None:
            path = default_path()
        self.path = str(path)
        self.clock = clock
        if self.path != ":memory:":
            if Path(self.path).is_dir():
                raise WorkspaceError(f"{self.path} is a directory: the workspace is a file, e.g. "
                                     f"{Path(self.path) / 'workspace.sqlite3'}")
            parent = Path(self.path).parent
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise WorkspaceError(f"cannot create the workspace directory {parent}: "
                                     f"{e.strerror or e}") from e
        try:
            # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE in transaction()).
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA busy_timeout = 5000")
            if self.path != ":memory:":
                mode = self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise WorkspaceError(f"{self.path}: SQLite refused WAL mode (got {mode!r})")
            self.db.execute("PRAGMA synchronous = NORMAL")
            if self.path != ":memory:":
                # checkpoints (copying the WAL into the file, two fsyncs) are the Checkpointer's,
                # off the writing thread; this is only a backstop should it fall far behind
                self.db.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")
            self.db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as e:
            raise WorkspaceError(self.describe(e, "is not a usable workspace file")) from e
        self._depth = 0
        self._checkpointer = None if self.path == ":memory:" else Checkpointer(self.path)
        try:
            self.migrate()
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise WorkspaceError(self.describe(e, "cannot be set up")) from e

    def describe(self, error: sqlite3.DatabaseError, what: str) -> str:
        """One sentence for an SQLite error on this file: what failed and what to check."""
        text = str(error)
        parent = Path(self.path).parent
        if "readonly" in text or "read-only" in text:
            return (f"{self.path} {what}: it is read-only (SQLite needs to write the file and, "
                    f"beside it in {parent}, its -wal and -shm files: check their permissions)")
        if "unable to open" in text:
            return (f"{self.path} {what}: SQLite cannot open or create it (does {parent} exist, "
                    "and may you write there?)")
        if "locked" in text or "busy" in text:
            return f"{self.path} {what}: another process holds it locked ({text}); try again"
        return f"{self.path} {what}: {text}"

    # -- schema -----------------------------------------------------------------------------

    def migrate(self) -> None:
        """Apply every registered component's pending migrations (idempotent)."""
        self.db.execute(_BOOTSTRAP)
        for comp in list(_COMPONENTS.values()):
            self.ensure(comp)

    def ensure(self, comp: Component) -> None:
        """Apply ``comp``'s pending migrations (for components imported after opening).
        The version is read again inside the write transaction: two processes opening a
        file at once apply each migration once."""
        if self._version(comp) == len(comp.migrations):
            return
        with self.transaction() as db:
            done = self._version(comp)
            for version, script in enumerate(comp.migrations[done:], start=done + 1):
                for statement in _statements(script):
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_migrations (component, version, applied_at) VALUES (?, ?, ?)",
                    (comp.name, version, self.clock()),
                )

    def _version(self, comp: Component) -> int:
        """The schema version of ``comp`` in the file; WorkspaceError if newer than this
        smsdk knows (checked before any write, so a read-only file says so too)."""
        row = self.db.execute(
            "SELECT MAX(version) FROM schema_migrations WHERE component = ?", (comp.name,)
        ).fetchone()
        done = int(row[0] or 0)
        if done > len(comp.migrations):
            raise WorkspaceError(
                f"{self.path}: component {comp.name!r} is at schema version {done}, newer than "
                f"this smsdk knows ({len(comp.migrations)}); upgrade smsdk"
            )
        return done

    # -- transactions -----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (nested calls join the outer one)."""
        if self._depth:
            self._depth += 1
            try:
                yield self.db
            finally:
                self._depth -= 1
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise WorkspaceError(self.describe(e, "cannot be written")) from e
        self._depth = 1
        try:
            yield self.db
        except sqlite3.OperationalError as e:
            # the file went read-only, the disk is full, it is locked ...: a sentence, not a
            # traceback (an error in our own SQL stays one)
            self._depth = 0
            if not _environmental(e):
                self._rollback()
                raise
            self._rollback()
            raise WorkspaceError(self.describe(e, "cannot be written")) from e
        except BaseException:
            self._depth = 0
            self._rollback()
            raise
        else:
            self._depth = 0
            try:
                self.db.execute("COMMIT")
            except sqlite3.OperationalError as e:
                self._rollback()
                raise WorkspaceError(self.describe(e, "cannot be written")) from e
            if self._checkpointer is not None:
                self._checkpointer.wake()

    def _rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def now(self) -> float:
        return self.clock()

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.db.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: The WAL's size (pages, 4 KiB) at which a commit checkpoints it itself, should the
#: Checkpointer fall behind (SQLite's default: every commit past 1000 pages does).
BACKSTOP_PAGES = 10_000


class Checkpointer:
    """Copies a workspace's WAL back into its file from a thread of its own, so that a
    commit costs only its append to the WAL.  (SQLite's automatic checkpoint runs inside
    the commit that takes the WAL past 1000 pages, with two fsyncs: 10 ms to a third of a
    second on a busy disk, every 50 000 recipients or so of a campaign being written.)

    Woken by every commit; at most one checkpoint every ``pace`` seconds, PASSIVE: it never
    waits for, nor blocks, a writer or a reader, and copies what it can.  Its thread (with
    its own connection) ends after ``idle`` seconds without a commit and starts again with
    the next one.  A checkpoint that fails (the file locked, the disk full) is logged and
    tried again after the next commit; the WAL keeps every change meanwhile, and a commit
    checkpoints by itself past BACKSTOP_PAGES.  ``checkpoints`` counts those done."""

    def __init__(self, path: str, *, pace: float = 0.25, idle: float = 5.0) -> None:
        self.path = path
        self.pace = pace
        self.idle = idle
        self.checkpoints = 0
        self._wanted = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def wake(self) -> None:
        """A commit was made: checkpoint soon."""
        self._wanted.set()
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._stopping.is_set():
                    self._thread = threading.Thread(target=self._run, name=f"smsdk checkpoints {self.path}",
                                                    daemon=True)
                    self._thread.start()

    def stop(self) -> None:
        """End the thread, once the checkpoint it may be in is done (the workspace's own
        connection checkpoints what is left when it closes)."""
        with self._lock:
            self._stopping.set()
            thread = self._thread
        self._wanted.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        db: sqlite3.Connection | None = None
        try:
            while True:
                if not self._wanted.wait(self.idle):
                    with self._lock:
                        if not self._wanted.is_set():  # (else woken just now: stay)
                            self._thread = None
                            return
                if self._stopping.is_set():
                    return
                self._wanted.clear()
                try:
                    if db is None:
                        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as e:
                    log.info("%s: WAL not checkpointed now (%s); it keeps every change", self.path, e)
                if self._stopping.wait(self.pace):
                    return
        finally:
            if db is not None:
                db.close()
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None


_ENVIRONMENTAL = ("readonly", "read-only", "locked", "busy", "disk", "full", "unable to open", "i/o")


def _environmental(error: sqlite3.OperationalError) -> bool:
    """An error of the file's surroundings (permissions, disk, locks), not of our SQL."""
    text = str(error).lower()
    return any(word in text for word in _ENVIRONMENTAL)


def _statements(script: str) -> Iterator[str]:
    """Split a migration script into statements (sqlite3.complete_statement aware)."""
    buf = ""
    for piece in script.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip():
                yield buf.strip()
            buf = ""
    if buf.strip(" \t\r\n;"):
        raise ValueError(f"incomplete SQL statement in a workspace migration: {buf.strip()[:60]!r}")
