"""Address books: the public book and one personal book per account, groups, contacts, caps.

The rules come from the 企信通 FAQ chapter 5 (RULES.md):

* FAQ-5.2.2 — a public book shared by every account of the enterprise, and a personal book
  per account (:meth:`Books.public`, :meth:`Books.personal`).
* FAQ-5.1.2, 5.2.5, 5.2.6 — the admin gives each account's personal book a cap; the caps add
  up to at most the package's contacts; the public book may hold the package's contacts less
  the sum of the caps.  With no package set (:meth:`Books.set_package`) nothing is capped.
* FAQ-5.2.7 — adding or importing a contact: an *exact* duplicate (same name and mobile) keeps
  the existing record and puts it in the target group if it is not there yet; a *partial*
  duplicate (same name or same mobile) is not added and comes back as a conflict, the existing
  records side by side with the new one; anything else is *new*: added, and put in the group.

Mobiles are kept in normal form (:func:`smsdk.numbers.check`); a birthday is ``YYYY-MM-DD`` or,
without a year, ``--MM-DD`` (ISO 8601), so :meth:`Book.birthdays_on` finds them by day.
"""

from __future__ import annotations

import datetime as _dt
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from smsdk import numbers
from smsdk.workspace.store import Workspace, WorkspaceError, component

SCHEMA = component(
    "books",
    """
    CREATE TABLE book_settings (
        key   TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    CREATE TABLE book_caps (
        account TEXT PRIMARY KEY,
        cap     INTEGER NOT NULL CHECK (cap >= 0)
    );
    CREATE TABLE book_groups (
        id   INTEGER PRIMARY KEY,
        book TEXT NOT NULL,
        name TEXT NOT NULL,
        UNIQUE (book, name)
    );
    CREATE TABLE book_contacts (
        id         INTEGER PRIMARY KEY,
        book       TEXT NOT NULL,
        name       TEXT NOT NULL,
        mobile     TEXT NOT NULL,
        nickname   TEXT NOT NULL DEFAULT '',
        remark     TEXT NOT NULL DEFAULT '',
        birthday   TEXT,
        created_at REAL NOT NULL
    );
    CREATE INDEX book_contacts_name ON book_contacts (book, name);
    CREATE INDEX book_contacts_mobile ON book_contacts (book, mobile);
    CREATE INDEX book_contacts_birthday ON book_contacts (book, substr(birthday, -5));
    CREATE TABLE book_members (
        group_id   INTEGER NOT NULL REFERENCES book_groups (id) ON DELETE CASCADE,
        contact_id INTEGER NOT NULL REFERENCES book_contacts (id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, contact_id)
    );
    CREATE INDEX book_members_contact ON book_members (contact_id);
    """,
)

PUBLIC = "public"
_PERSONAL = "personal:"

#: The decided packages (FAQ-5.1.1, RULES.md): contacts per enterprise.
PACKAGES: dict[str, int] = {"basic": 500, "standard": 2000, "premium": 10000}

NAME_MAX = 64
NICKNAME_MAX = 64
REMARK_MAX = 256
GROUP_MAX = 64


class BookError(WorkspaceError):
    """An address-book operation was refused; the message says why."""


class ContactError(BookError, ValueError):
    """A contact's fields are not acceptable (empty name, invalid mobile, bad birthday ...)."""


class CapError(BookError):
    """A cap or package setting that breaks FAQ-5.1.2 / 5.2.6 (sum of caps over the package,
    or a cap below what a book already holds)."""


class BookFullError(BookError):
    """The book holds as many contacts as its cap allows (FAQ-5.2.5 / 5.2.6)."""


@dataclass(frozen=True)
class Contact:
    id: int
    book: str
    name: str
    mobile: str
    nickname: str = ""
    remark: str = ""
    birthday: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Contact:
        return cls(row["id"], row["book"], row["name"], row["mobile"], row["nickname"],
                   row["remark"], row["birthday"])


@dataclass(frozen=True)
class Entry:
    """A contact to add: its fields as validated, and where it came from (import row number)."""

    name: str
    mobile: str
    nickname: str = ""
    remark: str = ""
    birthday: str | None = None
    row: int | None = None


@dataclass(frozen=True)
class Conflict:
    """A partial duplicate (FAQ-5.2.7): the record not added, and the existing records that
    share its name or its mobile, to show side by side."""

    entry: Entry
    existing: tuple[Contact, ...]


Status = Literal["added", "exists", "conflict"]


@dataclass(frozen=True)
class Outcome:
    """What adding one entry did: ``added`` (new), ``exists`` (exact duplicate kept; ``grouped``
    says whether it was put in the target group now) or ``conflict``."""

    status: Status
    contact: Contact | None
    conflict: Conflict | None = None
    grouped: bool = False


@dataclass(frozen=True)
class Group:
    id: int
    book: str
    name: str


@dataclass
class BookInfo:
    key: str
    contacts: int
    cap: int | None
    groups: int = 0

    @property
    def room(self) -> int | None:
        return None if self.cap is None else max(0, self.cap - self.contacts)


# -- validation -------------------------------------------------------------------------------

_BIRTHDAY_FORMS = (
    re.compile(r"(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?"),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"),
    re.compile(r"(?:--)?(?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?"),
)


def parse_birthday(value: object) -> str | None:
    """``YYYY-MM-DD`` or ``--MM-DD`` (no year) from a date, or text such as ``1990-05-01``,
    ``1990/5/1``, ``1990年5月1日``, ``19900501``, ``05-01``, ``5月1日``; empty gives None;
    anything else is a :class:`ContactError`."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return value.isoformat()
    text = str(value).strip()
    if not text:
        return None
    for form in _BIRTHDAY_FORMS:
        m = form.fullmatch(text)
        if m is None:
            continue
        month, day = int(m["m"]), int(m["d"])
        year = int(m["y"]) if "y" in m.groupdict() and m["y"] else None
        try:
            _dt.date(year if year is not None else 2000, month, day)  # 2000: Feb 29 allowed
        except ValueError:
            break
        if year is None:
            return f"--{month:02d}-{day:02d}"
        return f"{year:04d}-{month:02d}-{day:02d}"
    raise ContactError(f"birthday {text[:40]!r} is not a date (write 1990-05-01, or 05-01 without a year)")


def _text(value: object, what: str, limit: int, *, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ContactError(f"empty {what}")
    if len(text) > limit:
        raise ContactError(f"{what} longer than {limit} characters ({len(text)})")
    return text


def entry(name: object, mobile: object, nickname: object = "", remark: object = "",
          birthday: object = None, *, row: int | None = None, require_name: bool = True) -> Entry:
    """Validate one contact's fields (the name and mobile are required: FAQ-5.2.4; a recipient
    list may leave the name out: ``require_name=False``)."""
    name_t = _text(name, "name", NAME_MAX, required=require_name)
    checked = numbers.check("" if mobile is None else str(mobile).strip())
    if checked.number is None:
        assert checked.rejection is not None
        given = checked.given if len(checked.given) <= 40 else checked.given[:40] + "…"
        if checked.rejection is numbers.Rejection.EMPTY:
            raise ContactError("empty mobile")
        raise ContactError(f"mobile {given!r}: {checked.rejection.value}")
    return Entry(name_t, checked.number, _text(nickname, "nickname", NICKNAME_MAX),
                 _text(remark, "remark", REMARK_MAX), parse_birthday(birthday), row)


def _check_account(account: str) -> str:
    account = str(account).strip()
    if not account:
        raise BookError("an account name is required for a personal book")
    return account


# -- the books ----------------------------------------------------------------------------------


class Books:
    """The address books of one workspace: caps and the books themselves."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        ws.ensure(SCHEMA)

    # books
    def public(self) -> Book:
        return Book(self, PUBLIC)

    def personal(self, account: str) -> Book:
        return Book(self, _PERSONAL + _check_account(account))

    def book(self, key: str) -> Book:
        """``"public"``, ``"personal:ACCOUNT"``, or a bare account name (its personal book)."""
        if key == PUBLIC:
            return self.public()
        if key.startswith(_PERSONAL):
            return self.personal(key[len(_PERSONAL):])
        return self.personal(key)

    def list(self) -> list[BookInfo]:
        """Every book that holds a contact or a group, or has a cap; the public book first."""
        db = self.ws.db
        keys = {PUBLIC}
        keys.update(r[0] for r in db.execute("SELECT DISTINCT book FROM book_contacts"))
        keys.update(r[0] for r in db.execute("SELECT DISTINCT book FROM book_groups"))
        keys.update(_PERSONAL + r[0] for r in db.execute("SELECT account FROM book_caps"))
        ordered = [PUBLIC] + sorted(k for k in keys if k != PUBLIC)
        out = []
        for key in ordered:
            book = Book(self, key)
            groups = db.execute("SELECT COUNT(*) FROM book_groups WHERE book = ?", (key,)).fetchone()[0]
            out.append(BookInfo(key, book.count(), book.cap(), groups))
        return out

    # caps (FAQ-5.1.2, 5.2.5, 5.2.6)
    def package(self) -> int | None:
        row = self.ws.db.execute("SELECT value FROM book_settings WHERE key = 'package_contacts'").fetchone()
        return None if row is None else int(row[0])

    def set_package(self, contacts: int | str | None) -> None:
        """The package's contacts: a number, a package name (basic 500, standard 2 000,
        premium 10 000), or None (nothing capped).  Refused when the caps set already add up to
        more, or when the public book would be left a cap below what it holds."""
        if isinstance(contacts, str):
            if contacts.isdigit():
                contacts = int(contacts)
            elif contacts in PACKAGES:
                contacts = PACKAGES[contacts]
            else:
                raise CapError(f"unknown package {contacts!r}: one of {', '.join(PACKAGES)} or a number")
        with self.ws.transaction() as db:
            if contacts is None:
                db.execute("DELETE FROM book_settings WHERE key = 'package_contacts'")
                return
            if isinstance(contacts, bool) or not isinstance(contacts, int) or contacts < 0:
                raise CapError(f"the package's contacts must be a number ≥ 0, not {contacts!r}")
            total = self._sum_caps(db)
            if total > contacts:
                raise CapError(f"the personal caps already add up to {total}, more than {contacts}: "
                               "lower them first (FAQ-5.1.2)")
            held = self.public().count()
            if contacts - total < held:
                raise CapError(f"the public book holds {held} contacts; a package of {contacts} less "
                               f"the personal caps ({total}) would leave it room for {contacts - total}")
            db.execute("INSERT OR REPLACE INTO book_settings (key, value) VALUES ('package_contacts', ?)",
                       (contacts,))

    def caps(self) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self.ws.db.execute("SELECT account, cap FROM book_caps ORDER BY account")}

    def set_cap(self, account: str, cap: int) -> None:
        """The admin sets ``account``'s personal cap (FAQ-5.1.2).  Refused when the caps would
        add up to more than the package, when the public book would be left less room than it
        holds, or when the personal book already holds more than ``cap``."""
        account = _check_account(account)
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
            raise CapError(f"a cap must be a number ≥ 0, not {cap!r}")
        with self.ws.transaction() as db:
            package = self.package()
            others = self._sum_caps(db, excluding=account)
            if package is not None:
                if others + cap > package:
                    raise CapError(
                        f"cap {cap} for {account!r}: the caps would add up to {others + cap}, more than "
                        f"the package's {package} contacts (FAQ-5.1.2); {package - others} at most")
                held = self.public().count()
                if package - others - cap < held:
                    raise CapError(
                        f"cap {cap} for {account!r} would leave the public book room for "
                        f"{package - others - cap} contacts, but it holds {held} (FAQ-5.2.6)")
            held_personal = self.personal(account).count()
            if held_personal > cap:
                raise CapError(f"{account!r}'s personal book holds {held_personal} contacts, more than "
                               f"cap {cap}: delete some first")
            db.execute("INSERT OR REPLACE INTO book_caps (account, cap) VALUES (?, ?)", (account, cap))

    def public_cap(self) -> int | None:
        """Package − sum of personal caps (FAQ-5.2.6), or None with no package."""
        package = self.package()
        return None if package is None else package - self._sum_caps(self.ws.db)

    def _sum_caps(self, db: sqlite3.Connection, excluding: str | None = None) -> int:
        row = db.execute("SELECT COALESCE(SUM(cap), 0) FROM book_caps WHERE account IS NOT ?",
                         (excluding,)).fetchone()
        return int(row[0])


class Book:
    """One address book (``key`` is ``"public"`` or ``"personal:ACCOUNT"``)."""

    def __init__(self, books: Books, key: str) -> None:
        self.books = books
        self.ws = books.ws
        self.key = key

    def __repr__(self) -> str:
        return f"Book({self.key!r})"

    @property
    def account(self) -> str | None:
        return self.key[len(_PERSONAL):] if self.key.startswith(_PERSONAL) else None

    def cap(self) -> int | None:
        """How many contacts this book may hold (None: no package set)."""
        if self.books.package() is None:
            return None
        if self.account is None:
            return self.books.public_cap()
        row = self.ws.db.execute("SELECT cap FROM book_caps WHERE account = ?", (self.account,)).fetchone()
        return 0 if row is None else int(row[0])

    def count(self) -> int:
        return int(self.ws.db.execute("SELECT COUNT(*) FROM book_contacts WHERE book = ?", (self.key,)).fetchone()[0])

    # groups
    def group(self, name: str, *, create: bool = True) -> Group:
        """The group ``name`` of this book, created if missing (``create=False``: BookError)."""
        name = str(name).strip()
        if not name:
            raise BookError("a group needs a name")
        if len(name) > GROUP_MAX:
            raise BookError(f"group name longer than {GROUP_MAX} characters")
        row = self.ws.db.execute("SELECT id FROM book_groups WHERE book = ? AND name = ?",
                                 (self.key, name)).fetchone()
        if row is None:
            if not create:
                raise BookError(f"no group {name!r} in the {self.key} book")
            with self.ws.transaction() as db:
                cur = db.execute("INSERT INTO book_groups (book, name) VALUES (?, ?)", (self.key, name))
                assert cur.lastrowid is not None
                return Group(cur.lastrowid, self.key, name)
        return Group(int(row[0]), self.key, name)

    def groups(self) -> list[tuple[Group, int]]:
        """Every group with its member count, by name."""
        rows = self.ws.db.execute(
            "SELECT g.id, g.name, COUNT(m.contact_id) FROM book_groups g "
            "LEFT JOIN book_members m ON m.group_id = g.id WHERE g.book = ? GROUP BY g.id ORDER BY g.name",
            (self.key,))
        return [(Group(r[0], self.key, r[1]), int(r[2])) for r in rows]

    def delete_group(self, name: str) -> None:
        """Delete a group; its contacts stay in the book."""
        g = self.group(name, create=False)
        with self.ws.transaction() as db:
            db.execute("DELETE FROM book_groups WHERE id = ?", (g.id,))

    def add_to_group(self, contact_id: int, group: str) -> bool:
        g = self.group(group)
        self.get(contact_id)
        with self.ws.transaction() as db:
            cur = db.execute("INSERT OR IGNORE INTO book_members (group_id, contact_id) VALUES (?, ?)",
                             (g.id, contact_id))
            return cur.rowcount == 1

    def remove_from_group(self, contact_id: int, group: str) -> bool:
        g = self.group(group, create=False)
        with self.ws.transaction() as db:
            cur = db.execute("DELETE FROM book_members WHERE group_id = ? AND contact_id = ?", (g.id, contact_id))
            return cur.rowcount == 1

    def groups_of(self, contact_id: int) -> list[str]:
        return [r[0] for r in self.ws.db.execute(
            "SELECT g.name FROM book_members m JOIN book_groups g ON g.id = m.group_id "
            "WHERE m.contact_id = ? ORDER BY g.name", (contact_id,))]

    # contacts
    def get(self, contact_id: int) -> Contact:
        row = self.ws.db.execute("SELECT * FROM book_contacts WHERE id = ? AND book = ?",
                                 (contact_id, self.key)).fetchone()
        if row is None:
            raise BookError(f"no contact {contact_id} in the {self.key} book")
        return Contact.from_row(row)

    def contacts(self, group: str | None = None) -> Iterator[Contact]:
        """The book's contacts (or a group's), in the order they were added; lazily."""
        if group is None:
            cur = self.ws.db.execute("SELECT * FROM book_contacts WHERE book = ? ORDER BY id", (self.key,))
        else:
            g = self.group(group, create=False)
            cur = self.ws.db.execute(
                "SELECT c.* FROM book_contacts c JOIN book_members m ON m.contact_id = c.id "
                "WHERE m.group_id = ? ORDER BY c.id", (g.id,))
        for row in cur:
            yield Contact.from_row(row)

    def find(self, *, name: str | None = None, mobile: str | None = None) -> list[Contact]:
        clauses, args = ["book = ?"], [self.key]
        if name is not None:
            clauses.append("name = ?")
            args.append(name.strip())
        if mobile is not None:
            clauses.append("mobile = ?")
            args.append(numbers.check(mobile).number or mobile)
        rows = self.ws.db.execute(f"SELECT * FROM book_contacts WHERE {' AND '.join(clauses)} ORDER BY id", args)
        return [Contact.from_row(r) for r in rows]

    def birthdays_on(self, day: _dt.date) -> list[Contact]:
        """Contacts whose birthday (with or without a year) falls on ``day``'s month and day."""
        rows = self.ws.db.execute(
            "SELECT * FROM book_contacts WHERE book = ? AND substr(birthday, -5) = ? ORDER BY id",
            (self.key, f"{day.month:02d}-{day.day:02d}"))
        return [Contact.from_row(r) for r in rows]

    def delete(self, contact_id: int) -> None:
        self.get(contact_id)
        with self.ws.transaction() as db:
            db.execute("DELETE FROM book_contacts WHERE id = ?", (contact_id,))

    def update(self, contact_id: int, **fields: object) -> Contact:
        """Change some of name, mobile, nickname, remark, birthday (validated as on add)."""
        old = self.get(contact_id)
        unknown = set(fields) - {"name", "mobile", "nickname", "remark", "birthday"}
        if unknown:
            raise ContactError(f"unknown contact field(s): {', '.join(sorted(unknown))}")
        merged: dict[str, object] = {"name": old.name, "mobile": old.mobile, "nickname": old.nickname,
                                     "remark": old.remark, "birthday": old.birthday, **fields}
        e = entry(merged["name"], merged["mobile"], merged["nickname"], merged["remark"], merged["birthday"])
        with self.ws.transaction() as db:
            db.execute("UPDATE book_contacts SET name = ?, mobile = ?, nickname = ?, remark = ?, birthday = ? "
                       "WHERE id = ?", (e.name, e.mobile, e.nickname, e.remark, e.birthday, contact_id))
        return self.get(contact_id)

    def add(self, name: object, mobile: object, nickname: object = "", remark: object = "",
            birthday: object = None, *, group: str | None = None, on_conflict: str = "report") -> Outcome:
        """Add one contact under the duplicate rules of FAQ-5.2.7 (see :class:`Outcome`).

        ``on_conflict="add"`` adds a partial duplicate anyway (two people called 张伟 are
        common); the default reports it.  A full book raises :class:`BookFullError`."""
        e = entry(name, mobile, nickname, remark, birthday)
        merger = Merger(self, group=group, on_conflict=on_conflict)
        with self.ws.transaction() as db:
            outcome = merger.merge(db, e)
        if outcome is None:
            raise BookFullError(merger.full_message())
        return outcome


# -- merging (shared by add and import) ---------------------------------------------------------


@dataclass
class Merger:
    """Applies FAQ-5.2.7 to entries one by one inside the caller's transaction, tracking the
    book's room so that an import of many rows checks the cap once."""

    book: Book
    group: str | None = None
    on_conflict: str = "report"
    group_id: int | None = field(default=None, init=False)
    held: int = field(default=0, init=False)
    cap: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.on_conflict not in ("report", "add"):
            raise BookError(f"on_conflict must be 'report' or 'add', not {self.on_conflict!r}")
        if self.group is not None:
            self.group_id = self.book.group(self.group).id
        self.held = self.book.count()
        self.cap = self.book.cap()

    def full_message(self) -> str:
        who = "the public book" if self.book.account is None else f"{self.book.account!r}'s personal book"
        hint = ("raise the package or lower the personal caps (FAQ-5.2.6)" if self.book.account is None
                else "ask the admin to raise its cap (FAQ-5.2.5)")
        return f"{who} is full: it holds {self.held} contacts, its cap is {self.cap}; {hint}"

    def merge(self, db: sqlite3.Connection, e: Entry) -> Outcome | None:
        """The outcome for ``e``, or None when it is new but the book is full."""
        # Two indexed look-ups (an OR lets the planner pick the wrong index and scan the book).
        rows = db.execute("SELECT * FROM book_contacts WHERE book = ? AND name = ? UNION "
                          "SELECT * FROM book_contacts WHERE book = ? AND mobile = ? ORDER BY id",
                          (self.book.key, e.name, self.book.key, e.mobile)).fetchall()
        same = [Contact.from_row(r) for r in rows]
        exact = next((c for c in same if c.name == e.name and c.mobile == e.mobile), None)
        if exact is not None:
            grouped = False
            if self.group_id is not None:
                cur = db.execute("INSERT OR IGNORE INTO book_members (group_id, contact_id) VALUES (?, ?)",
                                 (self.group_id, exact.id))
                grouped = cur.rowcount == 1
            return Outcome("exists", exact, grouped=grouped)
        if same and self.on_conflict == "report":
            return Outcome("conflict", None, Conflict(e, tuple(same)))
        if self.cap is not None and self.held >= self.cap:
            return None
        cur = db.execute(
            "INSERT INTO book_contacts (book, name, mobile, nickname, remark, birthday, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.book.key, e.name, e.mobile, e.nickname, e.remark, e.birthday, self.book.ws.now()))
        assert cur.lastrowid is not None
        self.held += 1
        grouped = False
        if self.group_id is not None:
            db.execute("INSERT INTO book_members (group_id, contact_id) VALUES (?, ?)", (self.group_id, cur.lastrowid))
            grouped = True
        contact = Contact(cur.lastrowid, self.book.key, e.name, e.mobile, e.nickname, e.remark, e.birthday)
        return Outcome("added", contact, grouped=grouped)


def merge_all(book: Book, entries: Iterable[Entry], *, group: str | None = None,
              on_conflict: str = "report") -> list[Outcome | None]:
    """Add many entries in one transaction (a helper for tests and small lists)."""
    merger = Merger(book, group=group, on_conflict=on_conflict)
    with book.ws.transaction() as db:
        return [merger.merge(db, e) for e in entries]
