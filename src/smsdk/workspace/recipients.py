"""Recipients from typed numbers, address-book groups and imported lists (CLIENT-numbers).

:func:`resolve` gathers every source in order, normalises each number with
:func:`smsdk.numbers.check`, leaves out the empty and invalid ones with the reason and where
they came from (a bad input given twice is reported once), and keeps each number once (the first time it is seen; a later source that
knows the person's name fills in the fields a typed number lacks, for templates).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from smsdk import numbers
from smsdk.workspace.books import BookError, Books
from smsdk.workspace.importer import iter_list


@dataclass(frozen=True)
class Recipient:
    mobile: str
    name: str = ""
    nickname: str = ""
    remark: str = ""
    source: str = ""


@dataclass(frozen=True)
class Left:
    """An input left out: as given, where from (``typed``, ``public/客户``, ``list.csv:7``), why."""

    given: str
    source: str
    reason: str


@dataclass
class Resolution:
    recipients: list[Recipient] = field(default_factory=list)
    rejected: list[Left] = field(default_factory=list)
    duplicates: list[Left] = field(default_factory=list)

    @property
    def numbers(self) -> list[str]:
        return [r.mobile for r in self.recipients]


def parse_group_ref(ref: str) -> tuple[str, str | None]:
    """``public/客户`` → ("public", "客户"); ``alice/客户`` → alice's personal book, group 客户;
    ``public`` → the whole public book."""
    book, sep, group = ref.partition("/")
    book = book.strip()
    if not book:
        raise BookError(f"{ref!r}: write BOOK/GROUP (public/客户, ACCOUNT/客户) or BOOK")
    return book, (group.strip() or None) if sep else None


class _Collector:
    def __init__(self) -> None:
        self.res = Resolution()
        self.index: dict[str, int] = {}
        self.refused: set[str] = set()

    def add(self, given: object, source: str, name: str = "", nickname: str = "", remark: str = "") -> None:
        checked = numbers.check(given)
        shown = checked.given if len(checked.given) <= 40 else checked.given[:40] + "…"
        if checked.number is None:
            assert checked.rejection is not None
            if checked.given in self.refused:  # the same bad input again: reported once
                self.res.duplicates.append(Left(shown, source, "already left out"))
                return
            self.refused.add(checked.given)
            self.res.rejected.append(Left(shown, source, checked.rejection.value))
            return
        at = self.index.get(checked.number)
        if at is None:
            self.index[checked.number] = len(self.res.recipients)
            self.res.recipients.append(Recipient(checked.number, name, nickname, remark, source))
            return
        first = self.res.recipients[at]
        if not first.name and name:
            self.res.recipients[at] = replace(first, name=name, nickname=nickname, remark=remark)
        self.res.duplicates.append(Left(shown, source, f"already in the list (from {first.source})"))


def resolve(*, numbers_given: Iterable[object] = (), groups: Iterable[str | tuple[str, str | None]] = (),
            lists: Iterable[str | os.PathLike[str]] = (), books: Books | None = None,
            list_header: bool = False) -> Resolution:
    """Every recipient of ``numbers_given`` (typed), ``groups`` (``"public/客户"`` or
    ``(book, group)``; group None for a whole book) and ``lists`` (files, read like an import:
    numbers only, or name then mobile), in that order, each number once."""
    c = _Collector()
    for n in numbers_given:
        c.add(n, "typed")
    for ref in groups:
        if books is None:
            raise BookError("groups need the workspace's address books (books=...)")
        key, group = parse_group_ref(ref) if isinstance(ref, str) else ref
        book = books.book(key)
        source = f"{key}/{group}" if group else key
        for contact in book.contacts(group):
            c.add(contact.mobile, source, contact.name, contact.nickname, contact.remark)
    for path in lists:
        for parsed in iter_list(path, header=list_header):
            where = f"{os.fspath(path)}:{parsed.row}"
            if parsed.entry is None:
                assert parsed.skipped is not None
                c.res.rejected.append(Left(parsed.given, where, parsed.skipped.reason))
                continue
            e = parsed.entry
            c.add(e.mobile, where, e.name, e.nickname, e.remark)
    return c.res
