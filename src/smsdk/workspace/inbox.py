"""The inbox (CLIENT-inbox): received messages (MOs) kept in the workspace, with the sender,
the time, the text and the account / extension they were sent to; unread count, mark read,
reply, delete, export.

Feed it from a client::

    from smsdk import Client
    from smsdk.workspace import Workspace
    from smsdk.workspace.inbox import Inbox

    ws = Workspace("work.sqlite3")
    inbox = Inbox(ws)
    client = Client(host, port, account=A, password=W, on_mo=inbox.on_mo)

(or ``inbox.drain(client.mo_inbox)`` now and then; or ``inbox.on_http_mo`` for the HTTP
poller / PUSH receiver).  ``inbox.unread_count(A)`` is what the client manual shows at
login ("你有 N 条未读短信"); ``inbox.reply(id, text, client)`` answers the sender through
``Client.send``.  Times are the workspace clock's (seconds since the epoch), shown in China
time.
"""

from __future__ import annotations

import csv
import io
import os
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from smsdk import numbers
from smsdk.china_time import CHINA
from smsdk.workspace.store import Workspace, WorkspaceError, component

if TYPE_CHECKING:
    from smsdk.client import Client, MoMessage
    from smsdk.dispatch import Submission
    from smsdk.http.wire import MoEvent

__all__ = ["EXPORT_FORMATS", "Inbox", "InboxError", "InboxMessage"]

COMPONENT = component(
    "inbox",
    """
    CREATE TABLE inbox_messages (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        account     TEXT NOT NULL,            -- the receiving account's login id ('' unknown)
        sender      TEXT NOT NULL,            -- the handset, normalised when it is a mobile
        dest_id     TEXT NOT NULL,            -- the number it was sent to (service code + ext)
        text        TEXT,                     -- NULL: the content could not be decoded
        content     BLOB NOT NULL,
        msg_fmt     INTEGER NOT NULL,
        parts       INTEGER NOT NULL,
        received_at REAL NOT NULL,            -- workspace clock, seconds since the epoch
        read_at     REAL                      -- NULL: unread
    );
    CREATE INDEX inbox_by_account ON inbox_messages (account, received_at);
    CREATE INDEX inbox_unread ON inbox_messages (account) WHERE read_at IS NULL;
    """,
)

#: ``Inbox.export`` formats: ``csv`` (UTF-8 with a BOM, so Excel reads the Chinese) and
#: ``txt`` (one block per message, for people).
EXPORT_FORMATS = ("csv", "txt")
CSV_COLUMNS = ("id", "time", "sender", "account", "extension", "to", "text", "read")


class InboxError(WorkspaceError):
    """An inbox operation was refused (an unknown message id, a bad export format ...)."""


@dataclass(frozen=True)
class InboxMessage:
    """One received message."""

    id: int
    account: str
    sender: str
    dest_id: str
    text: str | None
    content: bytes
    msg_fmt: int
    parts: int
    received_at: float
    read_at: float | None

    @property
    def read(self) -> bool:
        return self.read_at is not None

    @property
    def extension(self) -> str:
        """The digits after the account's number in the number the MO was sent to (the
        sub-number it was sent to; '' when it went to the account's own number)."""
        if self.account and self.dest_id.startswith(self.account):
            return self.dest_id[len(self.account):]
        return ""

    @property
    def shown_text(self) -> str:
        """The text, or the raw content in hex when it could not be decoded."""
        return self.text if self.text is not None else f"<undecodable Msg_Fmt {self.msg_fmt}: {self.content.hex()}>"

    @property
    def time(self) -> datetime:
        """When it was stored, in China time."""
        return datetime.fromtimestamp(self.received_at, CHINA)

    @property
    def time_text(self) -> str:
        return self.time.strftime("%Y-%m-%d %H:%M:%S")


_Ids = list[int]
_Args = list[Any]
_Strs = list[str]
_Messages = list[InboxMessage]

_COLUMNS = "id, account, sender, dest_id, text, content, msg_fmt, parts, received_at, read_at"


def _row(r: Any) -> InboxMessage:
    return InboxMessage(int(r["id"]), r["account"], r["sender"], r["dest_id"], r["text"],
                        bytes(r["content"]), int(r["msg_fmt"]), int(r["parts"]),
                        float(r["received_at"]), None if r["read_at"] is None else float(r["read_at"]))


class Inbox:
    """The workspace's received messages.  ``account`` (optional) is the default account
    new messages are stored under and that :meth:`list` / :meth:`unread_count` look at
    (None: every account)."""

    def __init__(self, workspace: Workspace, account: str | None = None) -> None:
        if not isinstance(workspace, Workspace):
            raise TypeError(f"workspace must be a smsdk.workspace.Workspace, not {type(workspace).__name__}")
        self.ws = workspace
        self.account = account
        workspace.ensure(COMPONENT)

    # -- storing -------------------------------------------------------------------------

    def add(self, sender: str, text: str | None, *, account: str | None = None,
            dest_id: str = "", content: bytes | None = None, msg_fmt: int = 8, parts: int = 1,
            received_at: float | None = None) -> InboxMessage:
        """Store one received message (unread); returns it.  ``received_at`` defaults to the
        workspace clock's now."""
        if not str(sender or "").strip():
            raise InboxError(f"a received message needs its sender, got {sender!r}")
        if text is None and not content:
            raise InboxError("a received message needs a text or its raw content")
        acc = account if account is not None else (self.account or "")
        checked = numbers.check(sender)
        sender = checked.number or str(sender).strip()
        if content is None:
            content = (text or "").encode("utf-16-be")
        when = self.ws.now() if received_at is None else float(received_at)
        with self.ws.transaction() as db:
            cur = db.execute(
                "INSERT INTO inbox_messages (account, sender, dest_id, text, content, msg_fmt, parts, "
                "received_at, read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (acc, sender, dest_id, text, content, msg_fmt, parts, when))
            new_id = cur.lastrowid
        assert new_id is not None
        return self.get(new_id)

    def on_mo(self, mo: MoMessage) -> InboxMessage:
        """The ``on_mo`` callback of :class:`smsdk.Client`: store a reassembled MO under the
        inbox's account (or the number it was sent to when the inbox has none)."""
        return self.add(mo.sender, mo.text, account=self.account if self.account is not None else mo.dest_id,
                        dest_id=mo.dest_id, content=mo.content, msg_fmt=mo.msg_fmt, parts=mo.parts)

    def receiver(self, account: str) -> Callable[[MoMessage], InboxMessage]:
        """An ``on_mo`` callback that stores MOs under ``account`` (one client per account)."""
        def store(mo: MoMessage) -> InboxMessage:
            return self.add(mo.sender, mo.text, account=account, dest_id=mo.dest_id,
                            content=mo.content, msg_fmt=mo.msg_fmt, parts=mo.parts)
        return store

    def on_http_mo(self, event: MoEvent) -> InboxMessage:
        """For the HTTP MO poller / PUSH receiver (``smsdk.http``): store a ``MoEvent``
        (its own time is kept)."""
        return self.add(event.mobile, event.text, dest_id=event.dest_id,
                        received_at=event.time.timestamp())

    def drain(self, messages: deque[MoMessage], account: str | None = None) -> int:
        """Store and remove every MO waiting in ``messages`` (e.g. ``client.mo_inbox``), in one
        transaction; returns how many.  Do not also pass ``on_mo=inbox.on_mo`` to that client
        (each MO would be stored twice)."""
        n = 0
        with self.ws.transaction():
            while messages:
                mo = messages.popleft()
                acc = account if account is not None else (self.account if self.account is not None else mo.dest_id)
                self.add(mo.sender, mo.text, account=acc, dest_id=mo.dest_id, content=mo.content,
                         msg_fmt=mo.msg_fmt, parts=mo.parts)
                n += 1
        return n

    # -- reading ---------------------------------------------------------------------------

    def _where(self, account: str | None, unread_only: bool) -> tuple[str, _Args]:
        acc = account if account is not None else self.account
        clauses: _Strs = []
        args: _Args = []
        if acc is not None:
            clauses.append("account = ?")
            args.append(acc)
        if unread_only:
            clauses.append("read_at IS NULL")
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def list(self, *, account: str | None = None, unread_only: bool = False,
             limit: int | None = None) -> _Messages:
        """Messages, newest first."""
        where, args = self._where(account, unread_only)
        sql = f"SELECT {_COLUMNS} FROM inbox_messages{where} ORDER BY received_at DESC, id DESC"
        if limit is not None:
            if limit < 0:
                raise InboxError(f"limit must be >= 0, got {limit}")
            sql += " LIMIT ?"
            args.append(limit)
        return [_row(r) for r in self.ws.db.execute(sql, args)]

    def unread_count(self, account: str | None = None) -> int:
        where, args = self._where(account, True)
        return int(self.ws.db.execute(f"SELECT COUNT(*) FROM inbox_messages{where}", args).fetchone()[0])

    def count(self, account: str | None = None) -> int:
        where, args = self._where(account, False)
        return int(self.ws.db.execute(f"SELECT COUNT(*) FROM inbox_messages{where}", args).fetchone()[0])

    def get(self, message_id: int) -> InboxMessage:
        row = self.ws.db.execute(f"SELECT {_COLUMNS} FROM inbox_messages WHERE id = ?",
                                 (message_id,)).fetchone()
        if row is None:
            raise InboxError(f"no received message has id {message_id} (smsdk inbox list shows them)")
        return _row(row)

    def read(self, message_id: int) -> InboxMessage:
        """The message, marked read."""
        self.mark_read([message_id])
        return self.get(message_id)

    def mark_read(self, message_ids: Iterable[int], *, read: bool = True) -> int:
        """Mark messages read (or unread again with ``read=False``); an unknown id is an
        error and nothing changes.  Returns how many changed."""
        ids = self._known(message_ids)
        when = self.ws.now() if read else None
        with self.ws.transaction() as db:
            changed = 0
            for i in ids:
                cur = db.execute(
                    "UPDATE inbox_messages SET read_at = ? WHERE id = ? AND "
                    + ("read_at IS NULL" if read else "read_at IS NOT NULL"), (when, i))
                changed += cur.rowcount
        return changed

    def mark_all_read(self, account: str | None = None) -> int:
        where, args = self._where(account, True)
        with self.ws.transaction() as db:
            return db.execute(f"UPDATE inbox_messages SET read_at = ?{where}",
                              [self.ws.now(), *args]).rowcount

    def delete(self, message_ids: Iterable[int]) -> int:
        """Delete messages for good; an unknown id is an error and nothing is deleted."""
        ids = self._known(message_ids)
        with self.ws.transaction() as db:
            deleted = 0
            for i in ids:
                deleted += db.execute("DELETE FROM inbox_messages WHERE id = ?", (i,)).rowcount
            return deleted

    def _known(self, message_ids: Iterable[int]) -> _Ids:
        ids = []
        for i in message_ids:
            if isinstance(i, bool) or not isinstance(i, int):
                raise InboxError(f"message ids are whole numbers, got {i!r}")
            ids.append(i)
        missing = [i for i in ids if self.ws.db.execute(
            "SELECT 1 FROM inbox_messages WHERE id = ?", (i,)).fetchone() is None]
        if missing:
            raise InboxError(f"no received message has id {missing[0]} (smsdk inbox list shows them)")
        return ids

    # -- replying --------------------------------------------------------------------------

    def reply(self, message_id: int, text: str, client: Client, *,
              src_id: str | None = None) -> Submission:
        """Answer the sender of a message through ``client.send`` (the message is marked
        read).  ``src_id`` as for ``Client.send`` (None: the client's; pass the message's
        ``dest_id`` to answer from the sub-number it was sent to)."""
        msg = self.get(message_id)
        if not text:
            raise InboxError("a reply needs a non-empty text")
        checked = numbers.check(msg.sender)
        if checked.number is None:
            assert checked.rejection is not None
            raise InboxError(f"cannot reply to {msg.sender!r}: {checked.rejection.value}")
        submission = client.send(text, to=[checked.number], src_id=src_id)
        self.mark_read([message_id])
        return submission

    # -- export ----------------------------------------------------------------------------

    def export(self, target: str | os.PathLike[str] | IO[str], fmt: str = "csv", *,
               message_ids: Sequence[int] | None = None, account: str | None = None) -> int:
        """Write messages (the given ids, else every one of ``account`` / the inbox's account)
        to a path or an open text stream, oldest first; returns how many.  ``fmt`` is "csv"
        (UTF-8 with BOM when writing a path) or "txt"."""
        if fmt not in EXPORT_FORMATS:
            raise InboxError(f"export format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
        if message_ids is not None:
            msgs = [self.get(i) for i in self._known(message_ids)]
        else:
            msgs = self.list(account=account)
        msgs.sort(key=lambda m: (m.received_at, m.id))
        if isinstance(target, (str, os.PathLike)):
            path = Path(target)
            try:
                with path.open("w", encoding="utf-8-sig" if fmt == "csv" else "utf-8",
                               newline="") as f:
                    _write(f, msgs, fmt)
            except OSError as e:
                raise InboxError(f"cannot write {path}: {e.strerror or e}") from e
        else:
            _write(target, msgs, fmt)
        return len(msgs)

    def export_text(self, fmt: str = "csv", **kw: Any) -> str:
        buf = io.StringIO()
        self.export(buf, fmt, **kw)
        return buf.getvalue()


def _write(f: IO[str], msgs: _Messages, fmt: str) -> None:
    if fmt == "csv":
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(CSV_COLUMNS)
        for m in msgs:
            w.writerow([m.id, m.time_text, m.sender, m.account, m.extension, m.dest_id,
                        m.shown_text, "yes" if m.read else "no"])
        return
    for m in msgs:
        to = m.dest_id or m.account
        f.write(f"时间: {m.time_text}\n发信人: {m.sender}\n接收号码: {to}\n")
        f.write("内容: " + m.shown_text.replace("\r\n", "\n").replace("\n", "\n      ") + "\n\n")
