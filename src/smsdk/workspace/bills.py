"""Bills (CLIENT-bill): how many SMS the workspace's campaigns were billed, per month, for the
last three months, by type and by account or address-book group; exported as text or csv.

The 优信通 manual (帐单查询): "the total of SMS the account sent in the last three months and
the detail per type of SMS", a chosen month, narrowed to a group or user, exported as .txt.

What is counted (decided, see docs/workspace.md "Bills"):

* **Billed SMS** are the pieces the platform *accepted*: every Msg_Id a recipient's row holds
  is one SMS (a part of a long concatenated message, or a piece, each billed on its own:
  RULES.md "Billing counts every SMS a handset receives (per recipient, per piece or part)").
  A personal campaign's rows are billed each from its own text (its own Msg_Ids).
  Recipients never sent (queued, cancelled, rejected numbers) and those whose SUBMIT was
  never answered (unknown after a crash) cost nothing.  A piece accepted and later reported
  failed (UNDELIV, DTBLACK ...) was still submitted successfully (FAQ-2.1.4) and is billed;
  the bill shows how many of the billed SMS had a failure report.
* **Month**: a campaign's SMS fall in the month (China time) of its At_Time when it was
  scheduled (the platform sends it then), else of when it was handed to the platform.
* **Type**, one per recipient, first that applies: ``birthday`` (a greeting scheduled by
  :mod:`smsdk.workspace.birthdays`), ``scheduled`` (At_Time), ``long`` (more than one SMS for
  the recipient), ``normal``.  The types add up to the total.
* **Received** MOs are not billed (the manual bills what the account *sent*); the bill shows
  how many were received in the month for information.
* **Account**: the campaign's account (``(default)`` when none was named).  **Group**: the
  address-book groups (``BOOK/GROUP``) holding a contact with the recipient's mobile; a number
  in two groups counts in both, one in none under ``(no group)``.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from smsdk.china_time import CHINA
from smsdk.workspace import books as _books
from smsdk.workspace import outbox as _outbox
from smsdk.workspace.store import Workspace, WorkspaceError

MONTHS = 3
TYPES = ("normal", "long", "scheduled", "birthday")
BY = ("type", "account", "group")
NO_GROUP = "(no group)"
DEFAULT_ACCOUNT = "(default)"
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


class BillError(WorkspaceError, ValueError):
    """A bill was asked for wrongly (a month outside the last three, an unknown group ...)."""


@dataclass
class Line:
    """One line of a bill: its key (a type, account or group) and its counts."""

    key: str
    recipients: int = 0   # recipients billed (at least one SMS accepted)
    sms: int = 0          # SMS billed (accepted pieces / parts)
    failed: int = 0       # of those SMS, how many had a failure report

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "recipients": self.recipients, "sms": self.sms, "failed": self.failed}


@dataclass
class MonthBill:
    """The bill of one month, broken down ``by`` type, account or group."""

    month: str
    by: str
    lines: list[Line] = field(default_factory=list)
    total_sms: int = 0
    total_recipients: int = 0
    total_failed: int = 0
    received: int = 0  # MOs received that month (not billed)

    def as_dict(self) -> dict[str, Any]:
        return {"month": self.month, "by": self.by, "total_sms": self.total_sms,
                "total_recipients": self.total_recipients, "total_failed": self.total_failed,
                "received": self.received,
                "lines": [ln.as_dict() for ln in self.lines]}


def months_back(now: float, count: int = MONTHS) -> list[str]:
    """``YYYY-MM`` of the current month (China time) and the ``count - 1`` before, newest first."""
    d = datetime.fromtimestamp(now, CHINA)
    y, m = d.year, d.month
    out = []
    for _ in range(count):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out


def _month_bounds(month: str) -> tuple[float, float]:
    y, m = int(month[:4]), int(month[5:])
    start = datetime(y, m, 1, tzinfo=CHINA)
    end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=CHINA)
    return start.timestamp(), end.timestamp()


class Bills:
    """The bills of one workspace, read from the outbox (and the inbox, for received counts)."""

    def __init__(self, ws: Workspace) -> None:
        if not isinstance(ws, Workspace):
            raise TypeError(f"ws must be a Workspace, not {type(ws).__name__}")
        self.ws = ws
        ws.ensure(_outbox.COMPONENT)
        ws.ensure(_books.SCHEMA)

    def months(self) -> list[str]:
        """The months a bill can be asked for: this month and the two before, newest first."""
        return months_back(self.ws.now())

    def check_month(self, month: object) -> str:
        """``month`` as ``YYYY-MM`` if it is one of :meth:`months`; else BillError saying which are."""
        allowed = self.months()
        if not isinstance(month, str) or not _MONTH_RE.match(month.strip()) \
                or not 1 <= int(month.strip()[5:]) <= 12:
            raise BillError(f"month {month!r} is not a month: write YYYY-MM, one of {', '.join(allowed)}")
        month = month.strip()
        if month not in allowed:
            raise BillError(f"the bill covers the last {MONTHS} months only ({', '.join(allowed)}), "
                            f"not {month}")
        return month

    def bill(self, month: str | None = None, *, by: str = "type", group: str | None = None,
             account: str | None = None) -> list[MonthBill]:
        """The bill of ``month`` (``YYYY-MM``, one of :meth:`months`), or of each of the last
        three months (newest first); ``by`` ``type`` / ``account`` / ``group``.  ``group``
        (``BOOK/GROUP``) or ``account`` narrows it to recipients in that group / that
        account's campaigns ("查询用户").  BillError for a bad month, ``by``, or group."""
        if by not in BY:
            raise BillError(f"cannot break a bill down by {by!r}: one of {', '.join(BY)}")
        months = [self.check_month(month)] if month is not None else self.months()
        only: set[str] | None = None
        if group is not None:
            only = self._group_members(group)
        groups = self._groups_by_mobile() if by == "group" else {}
        return [self._month(m, by, only, account, groups) for m in months]

    # -- reading ------------------------------------------------------------------------------

    def _group_members(self, ref: str) -> set[str]:
        from smsdk.workspace.recipients import parse_group_ref

        book_key, name = parse_group_ref(ref)
        if name is None:
            raise BillError(f"{ref!r}: name a group as BOOK/GROUP (public/客户, ACCOUNT/客户)")
        book = _books.Books(self.ws).book(book_key)
        try:
            return {c.mobile for c in book.contacts(name)}
        except _books.BookError as e:
            raise BillError(f"unknown group {ref!r}: {e}") from None

    def _groups_by_mobile(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        rows = self.ws.db.execute(
            "SELECT DISTINCT c.mobile, g.book, g.name FROM book_members m "
            "JOIN book_groups g ON g.id = m.group_id JOIN book_contacts c ON c.id = m.contact_id "
            "ORDER BY g.book, g.name")
        for mobile, book, name in rows:
            shown = book[len("personal:"):] if book.startswith("personal:") else book
            label = f"{shown}/{name}"
            if label not in out[mobile]:
                out[mobile].append(label)
        return out

    def _birthday_campaigns(self) -> set[int]:
        exists = self.ws.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'birthday_greetings'").fetchone()
        if not exists:
            return set()
        return {int(r[0]) for r in self.ws.db.execute("SELECT campaign_id FROM birthday_greetings")}

    def _month(self, month: str, by: str, only: set[str] | None, account: str | None,
               groups: dict[str, list[str]]) -> MonthBill:
        start, end = _month_bounds(month)
        db = self.ws.db
        birthday = self._birthday_campaigns()
        lines: dict[str, Line] = {}
        if by == "type":
            for t in TYPES:
                lines[t] = Line(t)
        result = MonthBill(month, by)
        campaigns = db.execute(
            "SELECT id, at_time, account, first_row, last_row FROM campaigns "
            "WHERE dispatched IS NOT NULL AND COALESCE(at_time, dispatched) >= ? "
            "AND COALESCE(at_time, dispatched) < ? ORDER BY id", (start, end)).fetchall()
        for cid, at_time, acct, first, last in campaigns:
            if account is not None and acct != account:
                continue
            for number, state, msg_ids in db.execute(
                    "SELECT number, state, msg_ids FROM campaign_recipients WHERE id BETWEEN ? AND ? "
                    "AND msg_ids != '' ORDER BY id", (first, last)):
                if only is not None and number not in only:
                    continue
                sms = len(msg_ids.split())
                failed = sms if state == "failed" else 0
                if by == "type":
                    keys = ["birthday" if cid in birthday else "scheduled" if at_time is not None
                            else "long" if sms > 1 else "normal"]
                elif by == "account":
                    keys = [acct or DEFAULT_ACCOUNT]
                else:
                    keys = groups.get(number) or [NO_GROUP]
                for key in keys:
                    line = lines.setdefault(key, Line(key))
                    line.recipients += 1
                    line.sms += sms
                    line.failed += failed
                result.total_sms += sms
                result.total_recipients += 1
                result.total_failed += failed
        if account is None and only is None:
            result.received = int(self._received(start, end))
        result.lines = [lines[k] for k in (TYPES if by == "type" else sorted(lines))]
        return result

    def _received(self, start: float, end: float) -> int:
        exists = db_has(self.ws, "inbox_messages")
        if not exists:
            return 0
        return int(self.ws.db.execute("SELECT COUNT(*) FROM inbox_messages WHERE received_at >= ? "
                                      "AND received_at < ?", (start, end)).fetchone()[0])


def db_has(ws: Workspace, table: str) -> bool:
    return ws.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                         (table,)).fetchone() is not None


# -- export -----------------------------------------------------------------------------------


def _width(s: str) -> int:
    """Columns ``s`` takes in a terminal (a CJK character takes two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, width: int) -> str:
    return s + " " * (width - _width(s))


def to_text(bills: list[MonthBill]) -> str:
    """The bill as a text table (what the manual's 导出帐单 saves as .txt)."""
    out = []
    for b in bills:
        out.append(f"Bill {b.month} by {b.by}")
        width = max([_width(ln.key) for ln in b.lines] + [len(b.by), 5])
        out.append(f"  {_pad(b.by, width)}  {'recipients':>10}  {'SMS':>8}  {'failed':>8}")
        for ln in b.lines:
            out.append(f"  {_pad(ln.key, width)}  {ln.recipients:>10}  {ln.sms:>8}  {ln.failed:>8}")
        out.append(f"  {_pad('total', width)}  {b.total_recipients:>10}  {b.total_sms:>8}  {b.total_failed:>8}")
        out.append(f"  received (MO, not billed): {b.received}")
        out.append("")
    return "\n".join(out)


def to_csv(bills: list[MonthBill]) -> str:
    """The bill as csv: month, by, key, recipients, sms, failed (one row per line, plus a
    ``total`` row per month)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["month", "by", "key", "recipients", "sms", "failed"])
    for b in bills:
        for ln in b.lines:
            w.writerow([b.month, b.by, ln.key, ln.recipients, ln.sms, ln.failed])
        w.writerow([b.month, b.by, "total", b.total_recipients, b.total_sms, b.total_failed])
    return buf.getvalue()
