"""Birthday greetings (CLIENT-birthday): find the contacts whose birthday is on a day and
schedule a greeting for that day through the outbox's scheduled campaigns.

The 优信通 manual (设置生日短信): find the address book's birthday contacts, write the
greeting, it is kept with the scheduled messages ("定时短信") and the platform sends it on
the day; the time can be changed.

* :meth:`Birthdays.on` lists the contacts of a book (or one of its groups) born on a day.
  **29 February** (decided): in a year without one, those contacts are greeted on
  **28 February** (the last day of their birth month), so nobody is skipped for three years.
* :meth:`Birthdays.schedule` fills a template (``{name}``, ``{nickname}``, ``{remark}``:
  :mod:`smsdk.workspace.templates`) for each and stores one scheduled campaign per contact
  with At_Time = the day at the chosen time (China time); ``smsdk campaign due`` hands it to
  the platform.  Each (book, contact, year) is greeted at most once: the greeting is recorded
  in the same transaction as its campaign, so running it daily from cron, twice, or again
  after a crash schedules nothing twice.  A mobile shared by two contacts of the run gets one
  greeting.  A day before today is refused; today at a time already past is allowed (the
  campaign is due at once and sent by the next ``campaign due``).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time

from smsdk.china_time import CHINA
from smsdk.errors import PlanError
from smsdk.workspace import books as _books
from smsdk.workspace import outbox as _outbox
from smsdk.workspace import templates as _templates
from smsdk.workspace.store import Workspace, WorkspaceError, component

COMPONENT = component(
    "birthdays",
    """
    CREATE TABLE birthday_greetings (
        book        TEXT NOT NULL,
        contact_id  INTEGER NOT NULL,
        year        INTEGER NOT NULL,
        mobile      TEXT NOT NULL,
        campaign_id INTEGER NOT NULL,
        created     REAL NOT NULL,
        PRIMARY KEY (book, contact_id, year)
    );
    CREATE INDEX birthday_greetings_campaign ON birthday_greetings (campaign_id);
    """,
)

DEFAULT_TIME = "09:00"
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


class BirthdayError(WorkspaceError, ValueError):
    """A birthday request was refused (a bad date or time, a day in the past, no template ...)."""


@dataclass(frozen=True)
class Scheduled:
    """What :meth:`Birthdays.schedule` did for one contact."""

    contact: _books.Contact
    campaign_id: int | None    # the new campaign; None when skipped
    text: str
    skipped: str = ""          # why nothing was scheduled ("already greeted in 2026 ..."), else ""


def parse_day(value: object) -> date:
    """``YYYY-MM-DD`` (or a date) → date; BirthdayError otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise BirthdayError(f"{value!r} is not a date: write YYYY-MM-DD") from None


def parse_time(value: object) -> time:
    """``HH:MM`` (24 h, China time) → time; BirthdayError otherwise."""
    if isinstance(value, time):
        return value
    m = _TIME_RE.match(str(value).strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise BirthdayError(f"{value!r} is not a time of day: write HH:MM (00:00 to 23:59, China time)")
    return time(int(m.group(1)), int(m.group(2)))


def month_days(day: date) -> list[tuple[int, int]]:
    """The (month, day) birthdays greeted on ``day``: its own, plus 02-29 on 28 February of a
    year without a 29th."""
    out = [(day.month, day.day)]
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        out.append((2, 29))
    return out


class Birthdays:
    """Birthday greetings of one workspace (see the module docstring)."""

    def __init__(self, ws: Workspace, outbox: _outbox.Outbox | None = None) -> None:
        if not isinstance(ws, Workspace):
            raise TypeError(f"ws must be a Workspace, not {type(ws).__name__}")
        self.ws = ws
        ws.ensure(COMPONENT)
        self.books = _books.Books(ws)
        self.outbox = outbox if outbox is not None else _outbox.Outbox(ws)

    def today(self) -> date:
        return datetime.fromtimestamp(self.ws.now(), CHINA).date()

    def on(self, day: object = None, *, book: str = _books.PUBLIC, group: str | None = None) -> list[_books.Contact]:
        """Contacts of ``book`` (``public``, or an account's personal book), only ``group``'s
        when given, whose birthday is greeted on ``day`` (default today), in the book's order.
        BirthdayError for an unknown group."""
        d = self.today() if day is None else parse_day(day)
        b = self._book(book)
        found: dict[int, _books.Contact] = {}
        for month, dd in month_days(d):
            for c in b.birthdays_on(date(2000, month, dd)):  # 2000: a leap year (only month/day count)
                found[c.id] = c
        if group is not None:
            try:
                members = {c.id for c in b.contacts(group)}
            except _books.BookError as e:
                raise BirthdayError(f"unknown group {group!r} in the {b.key} book: {e}") from None
            found = {k: v for k, v in found.items() if k in members}
        return [found[k] for k in sorted(found)]

    def greeted(self, contact: _books.Contact, year: int) -> int | None:
        """The campaign greeting ``contact`` in ``year``, or None."""
        row = self.ws.db.execute("SELECT campaign_id FROM birthday_greetings WHERE book = ? AND contact_id = ? "
                                 "AND year = ?", (contact.book, contact.id, year)).fetchone()
        return None if row is None else int(row[0])

    def schedule(self, template: str | _templates.Template, day: object = None, *, at: object = DEFAULT_TIME,
                 book: str = _books.PUBLIC, group: str | None = None, signature: str | None = None,
                 account: str = "") -> list[Scheduled]:
        """Schedule a greeting (``template`` filled in per contact) at ``at`` (``HH:MM``) on
        ``day`` (default today) for every contact :meth:`on` finds and not yet greeted that
        year.  Returns what was done per contact (skipped ones with the reason).
        BirthdayError for a bad day/time, a day before today, or a bad template."""
        d = self.today() if day is None else parse_day(day)
        t = parse_time(at)
        if d < self.today():
            raise BirthdayError(f"{d.isoformat()} is in the past (today is {self.today().isoformat()}, China time)")
        try:
            tpl = _templates.parse(template) if isinstance(template, str) else template
        except _templates.TemplateError as e:
            raise BirthdayError(f"bad greeting template: {e}") from None
        if not isinstance(tpl, _templates.Template):
            raise TypeError(f"template must be str or Template, not {type(template).__name__}")
        when = datetime.combine(d, t, tzinfo=CHINA)
        done: list[Scheduled] = []
        mobiles: set[str] = set()
        for c in self.on(d, book=book, group=group):
            text = tpl.fill(c)
            if self.greeted(c, d.year) is not None:
                done.append(Scheduled(c, None, text, f"already greeted in {d.year}"))
                continue
            if c.mobile in mobiles:
                done.append(Scheduled(c, None, text, "same mobile as another contact greeted in this run"))
                continue
            if not text.strip():
                done.append(Scheduled(c, None, text, "the greeting is empty once filled in"))
                continue
            try:
                with self.ws.transaction() as db:
                    campaign = self.outbox.create(text, [c.mobile], signature=signature, at=when, account=account)
                    db.execute("INSERT INTO birthday_greetings (book, contact_id, year, mobile, campaign_id, created) "
                               "VALUES (?, ?, ?, ?, ?, ?)",
                               (c.book, c.id, d.year, c.mobile, campaign.id, self.ws.now()))
            except (PlanError, ValueError) as e:
                done.append(Scheduled(c, None, text, f"cannot be sent: {e}"))
                continue
            mobiles.add(c.mobile)
            done.append(Scheduled(c, campaign.id, text))
        return done

    def _book(self, key: str) -> _books.Book:
        try:
            return self.books.book(key)
        except _books.BookError as e:
            raise BirthdayError(str(e)) from None
