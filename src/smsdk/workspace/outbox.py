"""Durable campaigns: an outbox in the workspace's SQLite file that survives a crash.

A *campaign* is one text (signature, optional At_Time, account) and one row per recipient
with its state.  A *personal* campaign (:meth:`Outbox.create_personal`: a template filled in
per recipient, one mailing) keeps the template as its text and each row's own text; it is
sent as one submission per text, in row order, and ``continue`` / ``resend`` keep each
row's text::

    queued ──► submitted ──► accepted ──► delivered / failed / expired
      │        (written to      (Msg_Id)
      │         the link, no
      │         answer yet)
      └──► rejected (invalid / PHS number: never sent)       cancelled (by you, before sending)

Every change comes from the client's pipeline through a
:class:`~smsdk.dispatch.SubmissionListener` and is written in batches (one transaction per
pass of the sending loop, plus one every ``flush_interval`` seconds while reports come in),
never one commit per recipient.  A SUBMIT's recipients are committed as ``submitted``
*before* its bytes go to the connection (``before_write``), so after a crash (kill -9) the
file knows every recipient whose SUBMIT may have reached the platform.

After a crash the campaign is *unsent*:

* :meth:`Outbox.start` (``smsdk campaign continue``) sends only to recipients still
  ``queued``.  A recipient left ``submitted`` (written, never answered: the platform may or
  may not have accepted it) is **not** sent again by default: it is listed as *unknown* and
  stays so until you choose.  ``resend_unknown=True`` (``--resend-unknown``) sends it again
  and flags it ``possible_duplicate`` (the handset may get the text twice).  Recipients
  already ``accepted`` are never sent again by a continue.
* :meth:`Outbox.resend` (``smsdk campaign resend``, also "send again" from the sent list)
  makes a new campaign with the same text to every (valid) recipient and sends it all.

Scheduled campaigns (``at`` in the future) stay in the workspace until they are due:
:meth:`Outbox.due` lists those whose time is within ``lead`` seconds, and sending one puts
At_Time on its SUBMITs, so the platform holds it and sends it at that time (CLIENT-schedule).
Until it is handed to the platform it is listed by :meth:`Outbox.scheduled` and can be
cancelled (:meth:`Outbox.cancel`); once handed over it cannot: EMPP has no command to
withdraw a held SUBMIT (only the platform's web interface can).
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import socket
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain
from operator import attrgetter
from typing import Any, cast

from smsdk import numbers as _numbers
from smsdk import text as _text
from smsdk.china_time import CHINA
from smsdk.codes import describe_stat
from smsdk.dispatch import DELIVERED_STAT, Outcome, OutcomeState, Submission
from smsdk.errors import PlanError
from smsdk.workspace.store import Workspace, WorkspaceError, component

log = logging.getLogger("smsdk.workspace.outbox")

# -- schema -----------------------------------------------------------------------------------

COMPONENT = component(
    "outbox",
    """
    CREATE TABLE campaigns (
        id          INTEGER PRIMARY KEY,
        text        TEXT NOT NULL,
        signature   TEXT,              -- NULL: the client's own signature
        at_time     REAL,              -- epoch seconds of At_Time; NULL: send at once
        account     TEXT NOT NULL DEFAULT '',
        created     REAL NOT NULL,
        dispatched  REAL,              -- first handed to a client (sent, or held by the platform)
        cancelled   REAL,
        resent_from INTEGER REFERENCES campaigns (id),
        runner_pid  INTEGER,           -- the process sending it now (NULL: none)
        runner_host TEXT,
        first_row   INTEGER NOT NULL DEFAULT 0,  -- its recipients are the campaign_recipients
        last_row    INTEGER NOT NULL DEFAULT -1, -- rows first_row..last_row (one insert)
        written_through INTEGER NOT NULL DEFAULT 0  -- every row up to it was written once
    );
    -- No secondary index: a campaign's rows are one rowid range (first_row..last_row, in
    -- recipient order), so inserting 100 000 of them and updating their states touches
    -- nothing but the table itself.
    CREATE TABLE campaign_recipients (
        id          INTEGER PRIMARY KEY,
        campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
        number      TEXT NOT NULL,     -- normalised; as given when rejected
        state       TEXT NOT NULL DEFAULT 'queued',
        status      TEXT NOT NULL DEFAULT '',
        detail      TEXT NOT NULL DEFAULT '',
        msg_ids     TEXT NOT NULL DEFAULT '',   -- space separated, as Outcome.msg_ids
        possible_duplicate INTEGER NOT NULL DEFAULT 0,
        updated     REAL NOT NULL
    );
    CREATE INDEX campaigns_dispatched ON campaigns (dispatched);
    """,
    # Rows awaiting a status report, for matching reports that reach a later session (see
    # LateReports).  Partial: a row enters it when stored 'accepted' and leaves it with its
    # outcome; a row whose answer and report are written in the same batch never enters it.
    """
    CREATE INDEX campaign_recipients_awaiting ON campaign_recipients (id) WHERE state = 'accepted';
    """,
    # Personal campaigns (a template filled in per recipient): each row may carry its own
    # text, NULL meaning the campaign's text; the campaign's text keeps the template and
    # ``personal`` says its rows have texts of their own (see Outbox.create_personal).
    """
    ALTER TABLE campaign_recipients ADD COLUMN text TEXT;
    ALTER TABLE campaigns ADD COLUMN personal INTEGER NOT NULL DEFAULT 0;
    """,
)

QUEUED = "queued"
SUBMITTED = "submitted"
ACCEPTED = "accepted"
REJECTED = "rejected"
CANCELLED = "cancelled"
FINAL_STATES = ("delivered", "failed", "expired", REJECTED, CANCELLED)
#: Every recipient state, in the order of the diagram above.
STATES = (QUEUED, SUBMITTED, ACCEPTED, "delivered", "failed", "expired", REJECTED, CANCELLED)

#: A row's state as read: one still stored 'queued' at or below its campaign's
#: written_through mark (parameter) was written to the link: 'submitted' (see CampaignRun).
_EFFECTIVE = "CASE WHEN state = 'queued' AND id <= ? THEN 'submitted' ELSE state END"

DEFAULT_LEAD = 300.0  # seconds before At_Time a scheduled campaign is handed to the platform


class CampaignError(WorkspaceError):
    """A campaign operation was refused (unknown id, already running, not cancellable ...)."""


@dataclass(frozen=True)
class Campaign:
    """One campaign as listed: its row and how many recipients are in each state.

    ``personal``: a text per recipient (:meth:`Outbox.create_personal`, a template filled in
    per recipient); ``text`` is then the template, what lists show."""

    id: int
    text: str
    signature: str | None
    at: float | None
    account: str
    created: float
    dispatched: float | None
    cancelled: float | None
    resent_from: int | None
    runner_pid: int | None
    counts: dict[str, int]
    personal: bool = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def unknown(self) -> int:
        """Recipients written to the link but never answered (after a crash: maybe accepted)."""
        return self.counts.get(SUBMITTED, 0)

    @property
    def unsent(self) -> int:
        """Recipients not yet accepted or final: queued, or unknown."""
        return self.counts.get(QUEUED, 0) + self.counts.get(SUBMITTED, 0)

    @property
    def state(self) -> str:
        """``cancelled``, ``scheduled`` (waiting for its At_Time in the workspace), ``sent``
        (every recipient accepted or final; reports may still come), ``running`` (a process
        is sending it) or ``unsent`` (recipients queued or unknown, nobody sending)."""
        if self.cancelled is not None:
            return "cancelled"
        if self.dispatched is None and self.at is not None:
            return "scheduled"
        if not self.unsent:
            return "sent"
        if self.runner_pid is not None:
            return "running"
        return "unsent"

    @property
    def at_datetime(self) -> datetime | None:
        return None if self.at is None else datetime.fromtimestamp(self.at, CHINA)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "signature": self.signature, "at": self.at,
                "account": self.account, "created": self.created, "dispatched": self.dispatched,
                "cancelled": self.cancelled, "resent_from": self.resent_from, "state": self.state,
                "counts": dict(self.counts), "total": self.total, "personal": self.personal}


@dataclass(frozen=True)
class RecipientRow:
    """One recipient of a campaign, as stored; ``text``: its own text in a personal campaign
    (None: the campaign's text)."""

    number: str
    state: str
    status: str
    detail: str
    msg_ids: tuple[str, ...]
    possible_duplicate: bool
    text: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"recipient": self.number, "state": self.state, "status": self.status,
                "detail": self.detail, "msg_ids": list(self.msg_ids),
                "possible_duplicate": self.possible_duplicate, "text": self.text}


# -- the outbox -------------------------------------------------------------------------------


class Outbox:
    """The campaigns of one workspace (see the module docstring).

    ``ws`` is an open :class:`~smsdk.workspace.store.Workspace`; its clock dates every row.
    ``pid`` and ``pid_alive`` say which process runs a campaign (tests inject them).
    """

    def __init__(self, ws: Workspace, *, pid: int | None = None,
                 pid_alive: Callable[[int], bool] | None = None) -> None:
        if not isinstance(ws, Workspace):
            raise TypeError(f"ws must be a Workspace, not {type(ws).__name__}")
        ws.ensure(COMPONENT)
        self.ws = ws
        self.pid = os.getpid() if pid is None else pid
        self.host = socket.gethostname()
        self._pid_alive = pid_alive or _pid_alive
        self._running: set[int] = set()  # campaigns run by this Outbox object
        self._late: dict[int, LateReports] = {}  # id(client) -> its listener
        # the campaign this object created last, as stored: (id, first row, numbers), so that
        # a start() right after create() does not read 100 000 rows back (see _to_send)
        # (and, for a personal campaign, each row's own text: None for the campaign's)
        self._created: tuple[int, int, tuple[str, ...], tuple[str | None, ...] | None] | None = None

    # -- creating ----------------------------------------------------------------------------

    def create(self, text: str, to: Iterable[object], *, signature: str | None = None,
               at: datetime | None = None, account: str = "",
               resent_from: int | None = None) -> Campaign:
        """Store a new campaign (nothing is sent yet): one ``queued`` row per valid number,
        in first-seen order, each number once; invalid and PHS numbers are stored
        ``rejected`` with the reason.  Raises ValueError / TypeError for a bad argument and
        :class:`~smsdk.errors.PlanError` for a text that can never be sent."""
        at_epoch = _check_campaign_args(text, signature, account, at)
        if isinstance(to, (str, bytes, bytearray)) or not isinstance(to, Iterable):
            raise TypeError(f"to must be a list (or other iterable) of numbers, not {type(to).__name__}")
        _text.plan(text, signature=signature or "")  # PlanError now rather than when sending
        checked = _numbers.check_all(to)
        _need_recipients(len(checked.numbers), checked.rejected)
        return self._store(text, signature, at_epoch, account, resent_from, checked.numbers, None,
                           [(c, None) for c in checked.rejected])

    def _store(self, text: str, signature: str | None, at_epoch: float | None, account: str,
               resent_from: int | None, numbers: Sequence[str], own: Sequence[str | None] | None,
               rejected: Sequence[tuple[_numbers.Checked, str | None]]) -> Campaign:
        """Insert a checked campaign: its row, one ``queued`` row per number (with its own
        text from ``own`` when personal, else ``own`` is None) then the rejected ones."""
        now = self.ws.now()
        # Every row's campaign_id is the campaign inserted just before in this transaction:
        # SQLite's check of it (one lookup per row) is a third of the insert; skipped.  (The
        # pragma can only change outside a transaction: within an outer one, it stays on.)
        self.ws.db.execute("PRAGMA foreign_keys = OFF")
        try:
            cid, first = self._insert(text, signature, at_epoch, account, resent_from, numbers, own, rejected,
                                      now)
        finally:
            self.ws.db.execute("PRAGMA foreign_keys = ON")
        self._created = (cid, first, tuple(numbers), None if own is None else tuple(own))
        # (as self.campaign(cid) would read it, without counting 100 000 rows again)
        counts = {QUEUED: len(numbers)}
        if rejected:
            counts[REJECTED] = len(rejected)
        return Campaign(cid, text, signature, at_epoch, account, now, None, None, resent_from, None, counts,
                        own is not None)

    def _insert(self, text: str, signature: str | None, at_epoch: float | None, account: str,
                resent_from: int | None, numbers: Sequence[str], own: Sequence[str | None] | None,
                rejected: Sequence[tuple[_numbers.Checked, str | None]], now: float) -> tuple[int, int]:
        """The transaction of _store: returns the campaign's id and its first row."""
        with self.ws.transaction() as db:
            cur = db.execute(
                "INSERT INTO campaigns (text, signature, at_time, account, created, resent_from, personal) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (text, signature, at_epoch, account, now, resent_from, int(own is not None)))
            cid = int(cur.lastrowid or 0)
            first = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM campaign_recipients").fetchone()[0]
            # (one statement over a JSON array: a third faster than executemany for 100 000)
            if own is None:
                db.execute("INSERT INTO campaign_recipients (id, campaign_id, number, updated) "
                           "SELECT ? + key, ?, value, ? FROM json_each(?)",
                           (first, cid, now, json.dumps(numbers)))
            else:
                db.execute("INSERT INTO campaign_recipients (id, campaign_id, number, text, updated) "
                           "SELECT ? + key, ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), ? "
                           "FROM json_each(?)", (first, cid, now, json.dumps(list(zip(numbers, own)))))
            start = first + len(numbers)
            db.executemany(
                "INSERT INTO campaign_recipients (id, campaign_id, number, text, state, detail, updated) "
                "VALUES (?, ?, ?, ?, 'rejected', ?, ?)",
                ((start + i, cid, c.given, body, c.rejection.value if c.rejection else "", now)
                 for i, (c, body) in enumerate(rejected)))
            db.execute("UPDATE campaigns SET first_row = ?, last_row = ? WHERE id = ?",
                       (first, start + len(rejected) - 1, cid))
        return cid, first

    def create_personal(self, template: str, to: Iterable[tuple[object, str]], *,
                        signature: str | None = None, at: datetime | None = None, account: str = "",
                        resent_from: int | None = None) -> Campaign:
        """Store a new *personal* campaign: one mailing with a text per recipient (a template
        filled in per recipient), nothing sent yet.  ``template`` is the campaign's own text
        (what the lists show: the template as written); ``to`` gives ``(number, text)`` pairs.

        Numbers are checked and de-duplicated as :meth:`create` does: one ``queued`` row per
        valid number, and **for a number given twice the first pair's text wins** (the later
        pair is dropped); invalid and PHS numbers are stored ``rejected`` with the reason.
        Every distinct text of a valid number is checked with :func:`smsdk.text.plan`: one
        that can never be sent raises :class:`~smsdk.errors.PlanError` naming the (first)
        recipient it was meant for, and nothing is stored.

        The rows are stored grouped by text (the rows of one text contiguous, the groups in
        the order their text was first seen, the numbers of a group in the order given), so
        :meth:`start` sends one submission per text in row order (see :class:`CampaignRun`).
        A row's text is stored NULL when it equals ``template``."""
        at_epoch = _check_campaign_args(template, signature, account, at)
        if isinstance(to, (str, bytes, bytearray)) or not isinstance(to, Iterable):
            raise TypeError("to must be a list (or other iterable) of (number, text) pairs, "
                            f"not {type(to).__name__}")
        texts: dict[str, str] = {}  # valid number -> its text (the first given)
        groups: dict[str, list[str]] = {}  # text -> its numbers, in first-seen order
        rejected: dict[str, tuple[_numbers.Checked, str]] = {}  # given -> (check, text)
        for item in to:
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise TypeError(f"to must hold (number, text) pairs, not {item!r}")
            given, body = item
            if not isinstance(body, str):
                raise TypeError(f"the text for {given!r} must be str, not {type(body).__name__}")
            if not body:
                raise ValueError(f"the text for {given!r} is empty")
            checked = _numbers.check(given)
            number = checked.number
            if number is None:
                rejected.setdefault(checked.given, (checked, body))
            elif number not in texts:
                texts[number] = body
                group = groups.get(body)
                if group is None:
                    group = groups[body] = []
                group.append(number)
        _need_recipients(len(texts), [c for c, _ in rejected.values()])
        for body, group in groups.items():
            try:
                _text.plan(body, signature=signature or "")
            except PlanError as exc:
                raise PlanError(f"the text for {group[0]} cannot be sent: {exc} ({body!r})") from None
        numbers = [n for group in groups.values() for n in group]
        own = [None if body == template else body for body, group in groups.items() for _ in group]
        return self._store(template, signature, at_epoch, account, resent_from, numbers, own,
                           [(c, None if body == template else body) for c, body in rejected.values()])

    def resend(self, campaign_id: int) -> Campaign:
        """A new campaign with the same text, signature and account to every valid recipient
        of ``campaign_id`` ("resend" / "send again"); its At_Time is kept only if still ahead.
        A personal campaign is sent again as one, each recipient with its own text."""
        old = self.campaign(campaign_id)
        rows = self.ws.db.execute(
            "SELECT number, text FROM campaign_recipients WHERE id BETWEEN ? AND ? AND state != 'rejected' "
            "ORDER BY id", self._range(campaign_id)[:2]).fetchall()
        if not rows:
            raise CampaignError(f"campaign {campaign_id} has no valid recipient to send again")
        at = old.at_datetime if old.at is not None and old.at > self.ws.now() else None
        if old.personal:
            return self.create_personal(old.text, [(r[0], r[1] or old.text) for r in rows],
                                        signature=old.signature, at=at, account=old.account,
                                        resent_from=old.id)
        return self.create(old.text, [r[0] for r in rows], signature=old.signature, at=at,
                           account=old.account, resent_from=old.id)

    # -- reading -----------------------------------------------------------------------------

    def campaign(self, campaign_id: int, *, count: bool = True) -> Campaign:
        """One campaign; :class:`CampaignError` if there is none with that id (``count=False``:
        its ``counts`` not read, see :meth:`_campaigns`)."""
        if isinstance(campaign_id, bool) or not isinstance(campaign_id, int):
            raise TypeError(f"campaign id must be int, not {type(campaign_id).__name__}")
        found = self._campaigns("WHERE c.id = ?", (campaign_id,), count=count)
        if not found:
            raise CampaignError(f"no campaign {campaign_id} in {self.ws.path}")
        return found[0]

    def campaigns(self) -> list[Campaign]:
        """Every campaign, newest first."""
        return self._campaigns("", ())

    def unsent(self) -> list[Campaign]:
        """Campaigns with recipients not yet accepted (queued or unknown), not cancelled and
        not waiting for their time: what ``continue`` is for (running ones included)."""
        return [c for c in self.campaigns() if c.state in ("unsent", "running") and c.unsent]

    def sent(self, *, today: bool = False) -> list[Campaign]:
        """Campaigns handed to the platform whose every recipient was accepted or has its
        outcome; ``today``: only those sent today (China time, by the workspace's clock)."""
        where, args = "WHERE c.dispatched IS NOT NULL AND c.cancelled IS NULL", ()
        if today:
            start = self.today_start()
            where += " AND c.dispatched >= ? AND c.dispatched < ?"
            args = (start, start + 86400.0)  # type: ignore[assignment]
        return [c for c in self._campaigns(where, args) if c.state == "sent"]

    def scheduled(self) -> list[Campaign]:
        """Campaigns waiting for their At_Time in the workspace (cancellable), soonest first."""
        found = self._campaigns("WHERE c.at_time IS NOT NULL AND c.dispatched IS NULL "
                                "AND c.cancelled IS NULL", ())
        return sorted(found, key=lambda c: (c.at or 0.0, c.id))

    def due(self, *, lead: float = DEFAULT_LEAD) -> list[Campaign]:
        """Scheduled campaigns whose At_Time is at most ``lead`` seconds away (or past)."""
        if isinstance(lead, bool) or not isinstance(lead, (int, float)) or not lead >= 0:
            raise ValueError(f"lead must be a number of seconds >= 0, got {lead!r}")
        horizon = self.ws.now() + lead
        return [c for c in self.scheduled() if c.at is not None and c.at <= horizon]

    def recipients(self, campaign_id: int, *, state: str | None = None) -> list[RecipientRow]:
        """The recipients of a campaign in their order (only those in ``state`` if given)."""
        self.campaign(campaign_id)
        if state is not None and state not in STATES:
            raise ValueError(f"unknown recipient state {state!r}: one of {', '.join(STATES)}")
        first, last, mark = self._range(campaign_id)
        sql = (f"SELECT number, {_EFFECTIVE}, status, detail, msg_ids, possible_duplicate, text "
               "FROM campaign_recipients WHERE id BETWEEN ? AND ?")
        args: tuple[Any, ...] = (mark, first, last)
        if state is not None:
            sql += f" AND {_EFFECTIVE} = ?"
            args += (mark, state)
        return [RecipientRow(r[0], r[1], r[2], r[3], tuple(r[4].split()), bool(r[5]), r[6])
                for r in self.ws.db.execute(sql + " ORDER BY id", args)]

    def _range(self, campaign_id: int) -> tuple[int, int, int]:
        """The rowids of a campaign's recipients (first, last) and its written-through mark."""
        row = self.ws.db.execute("SELECT first_row, last_row, written_through FROM campaigns WHERE id = ?",
                                 (campaign_id,)).fetchone()
        if row is None:
            raise CampaignError(f"no campaign {campaign_id} in {self.ws.path}")
        return int(row[0]), int(row[1]), int(row[2])

    def today_start(self) -> float:
        """Midnight today, China time, by the workspace's clock (epoch seconds)."""
        now = datetime.fromtimestamp(self.ws.now(), CHINA)
        return now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()

    def _campaigns(self, where: str, args: tuple[Any, ...], *, count: bool = True) -> list[Campaign]:
        """Campaigns as listed; ``count=False``: with empty ``counts`` (for start, which
        reads the rows it sends itself, and must not count 100 000 rows first)."""
        db = self.ws.db
        rows = db.execute(
            "SELECT c.id, c.text, c.signature, c.at_time, c.account, c.created, c.dispatched, "
            f"c.cancelled, c.resent_from, c.runner_pid, c.runner_host, c.first_row, c.last_row, "
            f"c.written_through, c.personal FROM campaigns c {where} ORDER BY c.id DESC", args).fetchall()
        counts: dict[int, dict[str, int]] = {}
        for r in rows if count else ():
            counts[r[0]] = dict(db.execute(
                f"SELECT {_EFFECTIVE} AS s, COUNT(*) FROM campaign_recipients WHERE id BETWEEN ? AND ? "
                "GROUP BY s", (r[13], r[11], r[12])).fetchall())
        out = []
        for r in rows:
            pid = r[9]
            if pid is not None and not self._runner_alive(r[0], pid, r[10]):
                pid = None  # the process that ran it is gone (killed): not running any more
            out.append(Campaign(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], pid, counts.get(r[0], {}),
                                bool(r[14])))
        return out

    def _runner_alive(self, campaign_id: int, pid: int, host: str | None) -> bool:
        if pid == self.pid and host == self.host:
            return campaign_id in self._running
        if host != self.host:
            return True  # another machine's process: we cannot tell, assume it runs
        return self._pid_alive(pid)

    # -- changing ----------------------------------------------------------------------------

    def cancel(self, campaign_id: int) -> Campaign:
        """Cancel a campaign not yet handed to the platform (a scheduled one, or one never
        started): its queued recipients become ``cancelled``.  Refused (CampaignError) once
        any of it was sent: the platform holds or sent it, and EMPP cannot withdraw it."""
        found = self.campaign(campaign_id)
        if found.cancelled is not None:
            raise CampaignError(f"campaign {campaign_id} is already cancelled")
        if found.dispatched is not None:
            when = datetime.fromtimestamp(found.dispatched, CHINA).strftime("%Y-%m-%d %H:%M:%S")
            raise CampaignError(
                f"campaign {campaign_id} was handed to the platform at {when} and cannot be "
                "cancelled any more (EMPP has no command to withdraw a SUBMIT; the platform's "
                "web interface can cancel a scheduled one)")
        now = self.ws.now()
        with self.ws.transaction() as db:
            db.execute("UPDATE campaigns SET cancelled = ? WHERE id = ?", (now, campaign_id))
            db.execute("UPDATE campaign_recipients SET state = 'cancelled', detail = 'cancelled before sending', "
                       "updated = ? WHERE id BETWEEN ? AND ? AND state = 'queued'",
                       (now, *self._range(campaign_id)[:2]))
        return self.campaign(campaign_id)

    def start(self, client: Any, campaign_id: int, *, resend_unknown: bool = False,
              flush_interval: float = 0.5) -> CampaignRun:
        """Send (or continue) a campaign with ``client`` (a started :class:`smsdk.Client`):
        every ``queued`` recipient, plus with ``resend_unknown`` every ``submitted`` one
        (written before a crash, never answered), flagged possible duplicate.  Returns the
        :class:`CampaignRun`; its ``done`` Deferred fires when every recipient sent has its
        outcome or the client stopped.  Raises CampaignError when the campaign is cancelled,
        already running, or has nothing left to send.

        A personal campaign goes as one ``client.send`` per text (each run of rows with the
        same text, in row order: the rows of a text are stored together), all with the same
        :class:`CampaignRun` as listener, each row with its own text.  Should the client
        refuse one after the first (ClientStopped, Backpressure, a text too long with the
        client's signature), the texts handed over go on, the rest stay ``queued`` for a
        ``continue``, and the refusal is kept in ``run.error``; a refusal of the first one
        is raised, as for any campaign."""
        if not (isinstance(flush_interval, (int, float)) and flush_interval > 0):
            raise ValueError(f"flush_interval must be a positive number of seconds, got {flush_interval!r}")
        found, ids, numbers, texts = self._to_send(campaign_id, resend_unknown)
        now = self.ws.now()
        at = found.at_datetime if found.at is not None and found.at > now else None
        self._created = None
        run = CampaignRun(self, campaign_id, ids, numbers, flush_interval, client.reactor)
        first, last, mark = self._range(campaign_id)
        with self.ws.transaction() as db:
            db.execute("UPDATE campaigns SET runner_pid = ?, runner_host = ?, "
                       "dispatched = COALESCE(dispatched, ?) WHERE id = ?",
                       (self.pid, self.host, now, campaign_id))
            # rows a crashed run wrote (below its mark) but never recorded: store what they are
            db.execute("UPDATE campaign_recipients SET state = 'submitted', updated = ? "
                       "WHERE id BETWEEN ? AND ? AND state = 'queued'", (now, first, min(last, mark)))
            if resend_unknown:
                db.execute("UPDATE campaign_recipients SET possible_duplicate = 1, updated = ? "
                           "WHERE id BETWEEN ? AND ? AND state = 'submitted'", (now, first, last))
        self._running.add(campaign_id)
        self.listen_reports(client, flush_interval=flush_interval).exclude(run._ids)  # (earlier sessions')
        run._unhold = _hold_report_acks(client, run.flush, flush_interval)
        if texts is not None:
            self._send_personal(client, run, found, ids, numbers, texts, at)
            return run
        try:
            # (stored checked and normalised: the client need not check them again)
            to = _numbers.Recipients(tuple(numbers), (), ())
            run.submissions.append(client.send(found.text, to, signature=found.signature, at=at, listener=run))
        except BaseException:
            run.finish()
            raise
        run.started()
        return run

    def _send_personal(self, client: Any, run: CampaignRun, found: Campaign, ids: Sequence[int],
                       numbers: Sequence[str], texts: Sequence[str | None], at: datetime | None) -> None:
        """One ``client.send`` per run of rows with the same text, in row order (start)."""
        subs = run.submissions
        i, n = 0, len(ids)
        while i < n:
            body = texts[i]
            j = i + 1
            while j < n and texts[j] == body:
                j += 1
            to = _numbers.Recipients(tuple(numbers[i:j]), (), ())
            try:
                subs.append(client.send(found.text if body is None else body, to,
                                        signature=found.signature, at=at, listener=run))
            except BaseException as exc:
                if not subs or not isinstance(exc, Exception):
                    run.finish()
                    raise
                # the texts handed over go on; the rest stay queued (a continue sends them)
                run.error = exc
                run.total = i
                break
            i = j
        run.started()

    def listen_reports(self, client: Any, *, flush_interval: float = 0.5) -> LateReports:
        """Match the status reports ``client`` cannot match itself (rows accepted by an
        earlier session: offline reports after the login, late ones) to their rows and write
        their outcomes (see :class:`LateReports`).  Call it before ``client.start()``; once
        per client (a second call returns the same listener).  ``close()`` it when done."""
        if not (isinstance(flush_interval, (int, float)) and flush_interval > 0):
            raise ValueError(f"flush_interval must be a positive number of seconds, got {flush_interval!r}")
        late = self._late.get(id(client))
        if late is None or late.client is not client:
            late = LateReports(self, client, flush_interval)
            self._late[id(client)] = late
        return late

    def check_startable(self, campaign_id: int, *, resend_unknown: bool = False) -> Campaign:
        """What :meth:`start` checks before sending (CampaignError if it would refuse), so
        a command line can say so before connecting."""
        self._to_send(campaign_id, resend_unknown)
        return self.campaign(campaign_id)

    def _to_send(self, campaign_id: int, resend_unknown: bool
                 ) -> tuple[Campaign, Sequence[int], Sequence[str], Sequence[str | None] | None]:
        """The campaign (its counts not read) and the recipients to send: their row ids
        (ascending) and numbers, in the same order; for a personal campaign also each row's
        own text (None: the campaign's), else None."""
        found = self.campaign(campaign_id, count=False)
        if found.cancelled is not None:
            raise CampaignError(f"campaign {campaign_id} was cancelled")
        if found.runner_pid is not None:
            raise CampaignError(f"campaign {campaign_id} is being sent by process {found.runner_pid}; "
                                "wait for it to end (or kill it) before continuing")
        first, last, mark = self._range(campaign_id)
        created = self._created
        if (created is not None and created[0] == campaign_id and found.dispatched is None
                and mark == 0):
            # Created by this object and never handed to a client (nor cancelled, checked
            # above): every valid row is still queued, rows first.. in the order given.
            numbers = created[2]
            return found, range(created[1], created[1] + len(numbers)), numbers, created[3]
        # (plain tuples, not sqlite3.Row: a third of the time for 100 000 rows)
        cur = self.ws.db.cursor()
        cur.row_factory = None
        # queued: stored 'queued' above the mark; unknown: 'submitted', or 'queued' up to it
        columns = "id, number, text" if found.personal else "id, number"
        rows = cur.execute(
            f"SELECT {columns} FROM campaign_recipients WHERE id BETWEEN ? AND ? AND state = 'queued' "
            "ORDER BY id", (max(first, mark + 1), last)).fetchall()
        if resend_unknown:
            rows += cur.execute(
                f"SELECT {columns} FROM campaign_recipients WHERE id BETWEEN ? AND ? AND "
                "(state = 'submitted' OR (state = 'queued' AND id <= ?))", (first, last, mark)).fetchall()
            rows.sort(key=lambda r: r[0])
        if not rows:
            unknown = self.campaign(campaign_id).unknown
            hint = (f"; {unknown} recipient(s) are unknown (written before a crash, never "
                    "answered): resend them with resend_unknown / --resend-unknown"
                    if unknown and not resend_unknown else "")
            raise CampaignError(f"campaign {campaign_id} has nothing left to send{hint}")
        texts = tuple(r[2] for r in rows) if found.personal else None
        return found, [r[0] for r in rows], tuple(r[1] for r in rows), texts

    def _release(self, campaign_id: int) -> None:
        self._running.discard(campaign_id)
        with self.ws.transaction() as db:
            db.execute("UPDATE campaigns SET runner_pid = NULL, runner_host = NULL WHERE id = ? "
                       "AND runner_pid = ?", (campaign_id, self.pid))


class _RetriedWrites:
    """A store that writes in batches on a timer (``flush``).  A batch whose transaction
    fails with WorkspaceError is kept by ``flush`` and tried again every ``flush_interval``
    (a warning each time) until it is written."""

    reactor: Any
    flush_interval: float
    _timer: Any

    def flush(self) -> None:
        raise NotImplementedError

    def _what(self) -> str:
        raise NotImplementedError

    def _after_timed_write(self) -> None:
        """Called after a timed write that succeeded."""

    def _timed_flush(self) -> None:
        self._timer = None
        if self._write_or_retry() is None:
            self._after_timed_write()

    def _write_or_retry(self) -> WorkspaceError | None:
        """flush(); should the file refuse it, the batch is kept and tried again later: the
        error is returned."""
        try:
            self.flush()
        except WorkspaceError as exc:
            log.warning("%s could not be written (%s); kept, and tried again in %g s",
                        self._what(), exc, self.flush_interval)
            self._schedule()
            return exc
        return None

    def _schedule(self) -> None:
        """The next write in flush_interval, unless one is due already."""
        if self._timer is None:
            self._timer = self.reactor.callLater(self.flush_interval, self._timed_flush)


class CampaignRun(_RetriedWrites):
    """One pass of sending a campaign: the listener of its submissions (one; a personal
    campaign's: one per text, ``submissions`` in row order), writing every change to the
    outbox in batches (see the module docstring).  Counters for a progress display
    (recipients of this run, as of the last write): ``written``, ``accepted``, ``finished``,
    ``unanswered`` (neither accepted nor final yet); ``commits``: transactions so far.

    Durability: before a pass of SUBMITs is written, one small transaction raises the
    campaign's ``written_through`` to the highest recipient row they carry.  The client
    sends a campaign's recipients in row order (retries go to the front of the queue, never
    past a later row; the dispatcher's queue is first in, first out across submissions, so
    the submissions of a personal campaign, handed over in row order, keep that order), so
    every row up to that mark has been written at least once: a row
    still stored ``queued`` at or below the mark reads as ``submitted``.  Should the order
    ever change, a row below the mark that was not written would read ``submitted`` too:
    unknown, never lost and never silently resent.  Answers (``accepted`` and its Msg_Ids),
    outcomes and flags are buffered as they come and written every ``flush_interval``
    seconds in one transaction, an answer and its outcome in the same batch as one row
    update.  Nothing is kept per recipient but its row id, so a 100 000-recipient campaign
    adds few objects to the process.
    """

    def __init__(self, outbox: Outbox, campaign_id: int, ids: Sequence[int], numbers: Sequence[str],
                 flush_interval: float, reactor: Any) -> None:
        from twisted.internet import defer

        self.outbox = outbox
        self.campaign_id = campaign_id
        self.reactor = reactor
        self.flush_interval = flush_interval
        self.submissions: list[Submission] = []
        self.error: BaseException | None = None  # a personal campaign's later send refused (start)
        self._pending = 0  # submissions not done yet
        self._rid: dict[str, int] = dict(zip(numbers, ids))  # number -> row id
        self._ids = ids  # ascending
        # answers as the client gives them, one list per SUBMIT_RESP, flattened:
        # (number, msg_id, every part accepted)
        self._accepts: list[tuple[str, str, bool]] = []
        self._outcomes: list[Outcome] = []
        self._flags: list[int] = []  # row ids flagged possible duplicate
        self._answered: set[str] = set()  # numbers accepted or final
        self._high = 0        # highest row id written (this run)
        self._told: list[list[str]] = []  # numbers of the SUBMITs of this pass (on_written)
        self._committed = 0   # highest row id committed as written_through
        self._timer: Any = None
        self._finished = False  # finish() was called
        self._closed = False    # ... and its last write is done: released
        self._unhold: Callable[[], None] | None = None
        self.total = len(ids)
        self.accepted = 0
        self.finished = 0
        self.commits = 0
        self.done: defer.Deferred[CampaignRun] = defer.Deferred()

    @property
    def written(self) -> int:
        """Recipients of this run written to the link at least once."""
        return bisect.bisect_right(self._ids, self._high)

    @property
    def submission(self) -> Submission | None:
        """The first submission (the only one unless personal); None before start() made it."""
        return self.submissions[0] if self.submissions else None

    @property
    def closed(self) -> bool:
        """The run finished and its last write is done: the campaign is released."""
        return self._closed

    @property
    def unanswered(self) -> int:
        """Recipients of this run neither accepted nor final (as of the last write)."""
        return self.total - len(self._answered)

    # -- SubmissionListener (cheap: the work is done when writing) ---------------------------

    def on_written(self, submission: Submission, numbers: list[str]) -> None:
        self._told.append(numbers)  # (their rows are looked up once per pass: before_write)

    def before_write(self) -> None:
        """Commit the written-through mark of the SUBMITs about to be written."""
        if self._told:
            high = max(map(self._rid.__getitem__, chain.from_iterable(self._told)), default=0)
            self._told.clear()
            if high > self._high:
                self._high = high
        if self._high > self._committed:
            high = self._high
            with self.outbox.ws.transaction() as db:
                db.execute("UPDATE campaigns SET written_through = MAX(written_through, ?) WHERE id = ?",
                           (high, self.campaign_id))
            self._committed = high
            self.commits += 1

    def on_accepted(self, submission: Submission, accepted: list[tuple[str, str, bool]]) -> None:
        self._accepts += accepted
        if self._timer is None:
            self._arm()

    def on_possible_duplicate(self, submission: Submission, number: str) -> None:
        row = self._rid.get(number)
        if row is not None:
            self._flags.append(row)
            if self._timer is None:
                self._arm()

    def on_outcome(self, submission: Submission, outcome: Outcome) -> None:
        self._outcomes.append(outcome)
        if self._timer is None:
            self._arm()

    # -- writing -----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write every answer, outcome and flag buffered so far, in one transaction.  When
        the file cannot be written (WorkspaceError: disk full, read-only, locked too long)
        nothing of the batch is dropped: it is kept for the next write and the error is
        raised (the client then keeps the reports' answers held)."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        accepts, self._accepts = self._accepts, []
        outcomes, self._outcomes = self._outcomes, []
        flags, self._flags = self._flags, []
        if not (accepts or outcomes or flags):
            return
        try:
            final_numbers, every_part = self._write(accepts, outcomes, flags)
        except BaseException:
            # (rolled back: kept, ahead of anything that came since)
            self._accepts[:0] = accepts
            self._outcomes[:0] = outcomes
            self._flags[:0] = flags
            raise
        self.finished += len(final_numbers)
        self.accepted += len(every_part)
        answered = self._answered
        answered |= final_numbers
        answered.update(every_part)
        self.commits += 1

    def _write(self, accepts: list[tuple[str, str, bool]], outcomes: list[Outcome],
               flags: list[int]) -> tuple[set[str], list[str]]:
        """One transaction for a batch (flush); returns the numbers given a final outcome
        and those with every part accepted."""
        rid = self._rid
        # finals grouped by (state, status, detail, flag): one UPDATE per group (a batch's
        # outcomes are nearly all alike: DELIVRD)
        finals: dict[tuple[str, str, str, bool], dict[int, str]] = {}
        notes: list[tuple[Any, ...]] = []
        final_numbers: set[str] = set()
        cancelled = OutcomeState.CANCELLED
        numbers = list(map(_RECIPIENT, outcomes))
        rows = list(map(rid.get, numbers))
        kinds = set(map(_KIND, outcomes))
        if len(kinds) == 1 and None not in rows and next(iter(kinds))[0] != cancelled._value_:
            # (all alike, all of this run: the same, at C speed; the loop below does it
            # outcome by outcome)
            finals[next(iter(kinds))] = dict(zip(cast("list[int]", rows), map(" ".join, map(_MSG_IDS, outcomes))))
            final_numbers.update(numbers)
            outcomes = []
        for outcome, number, row in zip(outcomes, numbers, rows):
            if row is None:
                continue
            state = outcome.state
            if state is cancelled:
                # the client stopped first: the row keeps what is known (queued: never
                # written; submitted: fate unknown; accepted: awaiting a report) and can be
                # continued; the reason is noted
                notes.append((outcome.detail, outcome.possible_duplicate, row))
                continue
            # (the enum's value read directly: hashing the member would call Python code)
            key = (state._value_, outcome.status, outcome.detail, outcome.possible_duplicate)
            group = finals.get(key)
            if group is None:
                group = finals[key] = {}
            group[row] = " ".join(outcome.msg_ids)
            final_numbers.add(number)
        # answers: written only for rows without an outcome in this batch (an outcome
        # carries its Msg_Ids), merged per row (one per part)
        every_part = [a[0] for a in accepts if a[2]]
        merged: dict[int, list[Any]] = {}  # row id -> [msg_ids, every part accepted]
        for number, msg_id, complete in [a for a in accepts if a[0] not in final_numbers]:
            row = rid[number]
            entry = merged.get(row)
            if entry is None:
                merged[row] = [msg_id, complete]
            else:
                entry[0] += " " + msg_id
                entry[1] = entry[1] or complete
        now = self.outbox.ws.now()
        with self.outbox.ws.transaction() as db:
            if merged:
                _write_answers(db, merged, now)
            for (state_name, status, detail, dup), group in finals.items():
                _write_finals(db, group, state_name, status, detail, dup, now)
            if notes:
                db.executemany(
                    "UPDATE campaign_recipients SET detail = ?, possible_duplicate = MAX(possible_duplicate, ?), "
                    "updated = ? WHERE id = ?", [(n[0], n[1], now, n[2]) for n in notes])
            if flags:
                db.executemany("UPDATE campaign_recipients SET possible_duplicate = 1, updated = ? WHERE id = ?",
                               [(now, row) for row in flags])
        return final_numbers, every_part

    def _arm(self) -> None:
        if not self._finished:
            self._schedule()

    def _what(self) -> str:
        return f"campaign {self.campaign_id}: its outcomes"

    def _after_timed_write(self) -> None:
        if self._finished and not self._closed:
            self._close()  # (its last write had failed: done now)

    # -- life cycle --------------------------------------------------------------------------

    def started(self) -> None:
        """Called by Outbox.start once the client has the submissions: the run finishes
        when every one of them is done."""
        subs = self.submissions
        assert subs
        self._pending = len(subs)
        for sub in subs:
            # numbers the client refused itself (none normally: the outbox stored them checked)
            for outcome in list(sub.outcomes.values()):
                if outcome.recipient in self._rid and outcome.state is OutcomeState.REJECTED:
                    self.on_outcome(sub, outcome)
            sub.add_done_callback(self._submission_done)

    def _submission_done(self, _sub: Submission) -> None:
        self._pending -= 1
        if self._pending <= 0:
            self.finish()

    def finish(self) -> None:
        """Write what is left and release the campaign (the submission is done, or the
        client stopped).  Idempotent.  Should that last write fail, ``done`` fails with the
        WorkspaceError at once, while the run keeps what it could not write, and the reports'
        answers stay held (the platform sends those reports again after the next login); it
        tries again every ``flush_interval`` and releases the campaign once written."""
        if self._finished:
            return
        self._finished = True
        self._close()

    def _close(self) -> None:
        failed = self._write_or_retry()
        if failed is not None:
            if not self.done.called:
                self.done.errback(failed)
            return
        self._closed = True
        if self._unhold is not None:
            self._unhold()
        try:
            self.outbox._release(self.campaign_id)
        except WorkspaceError as exc:  # (another process may take it over once this one ends)
            log.warning("campaign %d: could not record that this process stopped sending it (%s)",
                        self.campaign_id, exc)
        if not self.done.called:
            self.done.callback(self)


class LateReports(_RetriedWrites):
    """Status reports that reach a later session: rows stored ``accepted`` (awaiting a
    report) whose Msg_Ids the live client does not know, because they were accepted by an
    earlier process (killed, stopped, or ended before the report came).  The platform keeps
    undelivered reports for the account and sends them after its next login (FAQ-3.1.5),
    and a report may come up to 48 h after its SUBMIT; this matches each one to its row by
    Msg_Id and writes the outcome (``delivered``, ``failed`` or ``expired``).

    Made by :meth:`Outbox.listen_reports` (before ``client.start()``, so that the offline
    reports right after the login are not missed; :meth:`Outbox.start` does it too).  The
    Msg_Ids of the awaiting rows of the client's account (and of campaigns stored without
    one) are read once, through a partial index, into a dict; a report that matches none is
    kept until the next write, which first reads rows accepted since (by another process)
    and tries it again; then it is dropped (``unknown``).  A multi-part row is ``delivered``
    once every part is reported DELIVRD, ``failed``/``expired`` at the first part that is not.
    Writes are batched like :class:`CampaignRun`'s: one transaction every ``flush_interval``
    seconds while reports come.  A row still awaiting a report ``report_timeout`` seconds
    after it was last written (the client's, 48 h + 1 h by default) becomes ``expired``.

    Both this and :class:`CampaignRun` register with ``client.hold_report_acks``: a status
    report's DELIVER_RESP is sent only once its outcome is written, so a report heard but
    not written by a process that dies is sent again by the platform after the next login.

    Counters: ``resolved`` rows given an outcome, ``matched`` reports matched, ``unknown``
    reports that matched no row, ``expired`` rows expired, ``commits``.
    """

    def __init__(self, outbox: Outbox, client: Any, flush_interval: float) -> None:
        self.outbox = outbox
        self.client = client
        self.reactor = client.reactor
        self.flush_interval = flush_interval
        self.account = str(getattr(client, "account", ""))
        # (by name: the workspace never imports the codec's layouts)
        self.empp = getattr(getattr(client, "dialect", None), "name", "EMPP") == "EMPP"
        settings = getattr(getattr(client, "dispatcher", None), "settings", None)
        self.report_timeout = float(getattr(settings, "report_timeout", 49 * 3600.0))
        self._by_key: dict[bytes, int] = {}          # Msg_Id (8 bytes) -> row id
        self._parts: dict[int, list[bytes]] = {}     # row id -> keys still awaiting a report
        self._deadlines: list[tuple[float, int]] = []  # (expiry, row id), ascending
        self._high = 0  # highest row id read
        self._misses: list[Any] = []
        self._own: list[Sequence[int]] = []  # row ids (ascending) sent by this client: it matches those
        self._finals: list[tuple[str, str, str, int]] = []  # (state, status, detail, row id)
        self._timer: Any = None
        self._closed = False
        self.resolved = 0
        self.matched = 0
        self.unknown = 0
        self.expired = 0
        self.commits = 0
        self._load()
        self._expire(self.reactor.seconds())
        self._remove = client.add_unmatched_report_handler(self.on_report)
        self._unhold = _hold_report_acks(client, self.flush, flush_interval)
        if self._finals:
            self.flush()

    @property
    def awaiting(self) -> int:
        """Rows of earlier sessions still awaiting a report."""
        return len(self._parts)

    def exclude(self, rows: Sequence[int]) -> None:
        """Rows (ascending ids) this client sends itself: their reports are the client's."""
        self._own.append(rows)
        # rows being resent: their old Msg_Ids no longer count (the awaiting rows are few)
        for row in [r for r in self._parts if self._is_own(r)]:
            for key in self._parts.pop(row):
                self._by_key.pop(key, None)

    def _is_own(self, row: int) -> bool:
        for ids in self._own:
            i = bisect.bisect_left(ids, row)
            if i < len(ids) and ids[i] == row:
                return True
        return False

    def awaiting_in(self, campaign_ids: Iterable[int]) -> int:
        """Rows of these campaigns, accepted by earlier sessions, still awaiting a report."""
        ranges = [self.outbox._range(cid)[:2] for cid in campaign_ids]
        return sum(1 for row in self._parts if any(a <= row <= b for a, b in ranges))

    def _key(self, shown: str) -> bytes | None:
        """A Msg_Id as stored (Outcome.msg_ids: hex for EMPP, decimal for CMPP) → its 8-byte key."""
        try:
            return bytes.fromhex(shown)[:8] if self.empp else int(shown).to_bytes(8, "big")
        except (ValueError, OverflowError):
            return None

    def _load(self) -> None:
        """Read the awaiting rows above the highest row read so far (partial index)."""
        rows = self.outbox.ws.db.execute(
            "SELECT r.id, r.msg_ids, r.updated FROM campaign_recipients r "
            "INDEXED BY campaign_recipients_awaiting "
            "JOIN campaigns c ON c.id = r.campaign_id "
            "WHERE r.state = 'accepted' AND r.id > ? AND c.account IN (?, '') ORDER BY r.id",
            (self._high, self.account)).fetchall()
        fresh = []
        for row, shown, updated in rows:
            self._high = max(self._high, row)
            if row in self._parts or (self._own and self._is_own(row)):
                continue
            keys = [k for k in (self._key(s) for s in shown.split()) if k is not None]
            if not keys:
                continue
            self._parts[row] = keys
            for key in keys:
                self._by_key[key] = row
            fresh.append((updated + self.report_timeout, row))
        if fresh:
            self._deadlines = sorted(self._deadlines + fresh)

    def on_report(self, report: Any) -> None:
        """The client's unmatched-report handler."""
        if self._closed:
            return
        if not self._match(report):
            self._misses.append(report)
            if len(self._misses) > 100_000:
                del self._misses[0]
                self.unknown += 1
        self._schedule()

    def _match(self, report: Any) -> bool:
        key = bytes(report.msg_id[:8])
        row = self._by_key.pop(key, None)
        if row is None:
            return False
        self.matched += 1
        keys = self._parts.get(row)
        if keys is None:
            return True
        stat = report.stat
        if stat == DELIVERED_STAT:
            if key in keys:
                keys.remove(key)
            if not keys:
                self._resolve(row, "delivered", stat, "delivered (report received by a later session)")
        elif stat == "EXPIRED":
            self._resolve(row, "expired", stat, "the platform reported no delivery within 48 h")
        else:
            self._resolve(row, "failed", stat, describe_stat(stat))
        return True

    def _resolve(self, row: int, state: str, status: str, detail: str) -> None:
        for key in self._parts.pop(row, ()):
            self._by_key.pop(key, None)
        self._finals.append((state, status, detail, row))
        self.resolved += 1

    def _expire(self, now: float) -> None:
        deadlines = self._deadlines
        done = 0
        for deadline, row in deadlines:
            if deadline > now:
                break
            done += 1
            if row in self._parts:
                self._resolve(row, "expired", "EXPIRED",
                              f"no status report within {self.report_timeout / 3600:g} h")
                self.expired += 1
        if done:
            del deadlines[:done]

    def flush(self) -> None:
        """Retry the reports that matched nothing against rows accepted since, expire what is
        due, and write every outcome so far in one transaction."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self._misses:
            misses, self._misses = self._misses, []
            self._load()
            for report in misses:
                if not self._match(report):
                    self.unknown += 1
        self._expire(self.reactor.seconds())
        finals, self._finals = self._finals, []
        if not finals:
            return
        now = self.outbox.ws.now()
        try:
            with self.outbox.ws.transaction() as db:
                # (only rows still awaiting: a row another process resolved meanwhile keeps its outcome)
                db.executemany("UPDATE campaign_recipients SET state = ?, status = ?, detail = ?, updated = ? "
                               "WHERE id = ? AND state = 'accepted'",
                               [(f[0], f[1], f[2], now, f[3]) for f in finals])
        except BaseException:
            self._finals[:0] = finals  # (rolled back: kept for the next write)
            raise
        self.commits += 1

    def _what(self) -> str:
        return "late status reports"

    def _after_timed_write(self) -> None:
        if self._closed:
            self._unregister()  # (closed while its write failed: it stops holding answers now)

    def close(self) -> None:
        """Write what is left and stop listening (idempotent).  Should that write fail, the
        reports' answers stay held (the platform sends them again after the next login) and
        the write is tried again every ``flush_interval`` while the client runs."""
        if self._closed:
            return
        self._closed = True
        self._remove()
        self.outbox._late.pop(id(self.client), None)
        if self._write_or_retry() is None:
            self._unregister()

    def _unregister(self) -> None:
        unhold, self._unhold = self._unhold, None
        if unhold is not None:
            unhold()


# (attrgetter: read in C; the state's value directly, as hashing the enum member would call
# Python code)
_RECIPIENT = attrgetter("recipient")
_KIND = attrgetter("state._value_", "status", "detail", "possible_duplicate")
_MSG_IDS = attrgetter("msg_ids")

# A batch's rows are nearly one range of row ids (reports come in about the order of the
# SUBMITs), so it is written as one UPDATE over that range: each row's new Msg_Ids in a slot
# of a fixed width in one BLOB, read with substr() (SQLite steps through the range in the
# table's order, with no join and no seek per row: a third less time than over json_each).  A
# slot is a flag byte ('+', '-', or ' ' for a row of the range not in the batch: untouched)
# then the Msg_Ids, space-padded.
_SLOT_FLAG = "substr(:slots, (id - :lo) * :width + 1, 1)"
_SLOT_TEXT = "rtrim(CAST(substr(:slots, (id - :lo) * :width + 2, :width - 1) AS TEXT))"

_FINALS_BY_RANGE = (
    "UPDATE campaign_recipients SET state = :state, status = :status, detail = :detail, "
    f"msg_ids = {_SLOT_TEXT}, possible_duplicate = MAX(possible_duplicate, :dup), updated = :now "
    f"WHERE id BETWEEN :lo AND :hi AND {_SLOT_FLAG} = x'2b'")
_FINALS_BY_JSON = (
    "UPDATE campaign_recipients AS r SET state = ?, status = ?, detail = ?, "
    "msg_ids = j.value, possible_duplicate = MAX(r.possible_duplicate, ?), updated = ? "
    "FROM json_each(?) AS j WHERE r.id = CAST(j.key AS INTEGER)")
_FINALS_BY_ROW = (
    "UPDATE campaign_recipients SET state = ?, status = ?, detail = ?, msg_ids = ?, "
    "possible_duplicate = MAX(possible_duplicate, ?), updated = ? WHERE id = ?")
# an answer: 'accepted' once every part is ('+'; '-': not yet), its Msg_Ids added
_ANSWERS_BY_RANGE = (
    "UPDATE campaign_recipients SET "
    f"state = CASE WHEN {_SLOT_FLAG} = x'2b' AND state IN ('queued', 'submitted') THEN 'accepted' "
    "ELSE state END, "
    f"msg_ids = CASE WHEN msg_ids = '' THEN {_SLOT_TEXT} ELSE msg_ids || ' ' || {_SLOT_TEXT} END, "
    f"updated = :now WHERE id BETWEEN :lo AND :hi AND {_SLOT_FLAG} != x'20'")
_ANSWERS_BY_ROW = (
    "UPDATE campaign_recipients SET "
    "state = CASE WHEN ? AND state IN ('queued', 'submitted') THEN 'accepted' ELSE state END, "
    "msg_ids = CASE WHEN msg_ids = '' THEN ? ELSE msg_ids || ' ' || ? END, updated = ? WHERE id = ?")


def _slots(entries: dict[int, str], flag: str = "") -> dict[str, Any] | None:
    """The parameters of a by-range statement for ``entries`` (row id -> flag and Msg_Ids;
    ``flag`` is put before each), or None when the rows are too scattered for one range
    (it would be more than half blank) or a text is not ASCII (Msg_Ids are digits)."""
    lo, hi = min(entries), max(entries)
    if hi - lo >= 2 * len(entries):
        return None
    width = max(map(len, entries.values())) + len(flag)
    blank = " " * width
    slots = [blank] * (hi - lo + 1)
    for row, text in entries.items():
        slots[row - lo] = (flag + text).ljust(width)
    try:
        packed = "".join(slots).encode("ascii")
    except UnicodeEncodeError:
        return None
    return {"slots": packed, "lo": lo, "hi": hi, "width": width}


def _write_finals(db: sqlite3.Connection, group: dict[int, str], state: str, status: str, detail: str,
                  dup: bool, now: float) -> None:
    """One outcome for every row of ``group`` (row id -> its Msg_Ids)."""
    by_range = _slots(group, "+")
    if by_range is not None:
        db.execute(_FINALS_BY_RANGE, {"state": state, "status": status, "detail": detail, "dup": dup, "now": now,
                                      **by_range})
    elif _UPDATE_FROM:
        # (one statement over a JSON object: faster than executemany, as in create)
        db.execute(_FINALS_BY_JSON, (state, status, detail, dup, now, _msg_ids_object(group)))
    else:
        db.executemany(_FINALS_BY_ROW, [(state, status, detail, msg_ids, dup, now, row)
                                        for row, msg_ids in group.items()])


def _write_answers(db: sqlite3.Connection, merged: dict[int, list[Any]], now: float) -> None:
    """The answers of ``merged`` (row id -> [Msg_Ids, every part accepted])."""
    by_range = _slots({row: ("+" if e[1] else "-") + e[0] for row, e in merged.items()})
    if by_range is not None:
        db.execute(_ANSWERS_BY_RANGE, {"now": now, **by_range})
    else:
        db.executemany(_ANSWERS_BY_ROW, [(e[1], e[0], e[0], now, row) for row, e in merged.items()])


def _msg_ids_object(group: dict[int, str]) -> str:
    """``json.dumps(group)``, four times as fast: the keys are row ids (ints) and the values
    Msg_Ids as Outcome.msg_ids has them, hex or decimal digits joined by spaces (the
    dispatcher writes them), which JSON takes as they are (json.dumps spends most of its
    time on a dict's int keys)."""
    return "{" + ",".join([f'"{row}":"{msg_ids}"' for row, msg_ids in group.items()]) + "}"


def _hold_report_acks(client: Any, flush: Callable[[], None], delay: float) -> Callable[[], None] | None:
    """Have ``client`` answer status reports only once ``flush`` wrote them (EMPP/CMPP
    clients: ``Client.hold_report_acks``); returns the unregister function, None when the
    client has no such thing."""
    hold = getattr(client, "hold_report_acks", None)
    return None if hold is None else hold(flush, delay=delay)


#: UPDATE ... FROM (SQLite 3.33+): a batch of outcomes as one statement over a JSON array.
_UPDATE_FROM = sqlite3.sqlite_version_info >= (3, 33)



def _need_recipients(valid: int, rejected: Sequence[_numbers.Checked]) -> None:
    """ValueError for a campaign with no valid recipient (none at all, or only refused ones)."""
    if valid:
        return
    if not rejected:
        raise ValueError("a campaign needs at least one recipient")
    first = rejected[0]
    raise ValueError(f"no valid recipient among the {len(rejected)} given "
                     f"({first.given!r}: {first.rejection.value if first.rejection else 'refused'})")


def _check_campaign_args(text: object, signature: object, account: object, at: object) -> float | None:
    """The checks :meth:`Outbox.create` and :meth:`Outbox.create_personal` share; the
    At_Time as epoch seconds (None: at once)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    if not text:
        raise ValueError("text must not be empty")
    if signature is not None and not isinstance(signature, str):
        raise TypeError(f"signature must be str or None, not {type(signature).__name__}")
    if not isinstance(account, str):
        raise TypeError(f"account must be str, not {type(account).__name__}")
    if at is None:
        return None
    if not isinstance(at, datetime):
        raise TypeError(f"at must be a datetime or None, not {type(at).__name__}")
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware (e.g. datetime(..., tzinfo=smsdk.china_time.CHINA))")
    return at.timestamp()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def china_day(ts: float) -> str:
    """``YYYY-MM-DD`` of an epoch time in China time (for listings)."""
    return (datetime.fromtimestamp(ts, CHINA)).strftime("%Y-%m-%d")


def parse_at(value: str, *, now: float) -> datetime:
    """``--at`` of the CLI: ``YYYY-MM-DD HH:MM[:SS]`` (China time), an ISO time with its
    offset, or ``+N`` minutes / ``+Nh`` hours from now.  ValueError says what is accepted."""
    v = value.strip()
    try:
        if v.startswith("+"):
            unit = v[-1] if v[-1] in "smh" else "m"
            amount = float(v[1:-1] if v[-1] in "smh" else v[1:])
            seconds = amount * {"s": 1, "m": 60, "h": 3600}[unit]
            return datetime.fromtimestamp(now, CHINA) + timedelta(seconds=seconds)
        parsed = datetime.fromisoformat(v)
    except ValueError:
        raise ValueError(f"cannot read the time {value!r}: write 'YYYY-MM-DD HH:MM' (China time), "
                         "an ISO time with offset, or +30m / +2h") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=CHINA)
