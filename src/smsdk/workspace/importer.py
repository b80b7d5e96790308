"""Import contacts into an address book from xls, xlsx, csv or txt, and export them.

The rules (RULES.md FAQ-5.2.3, 5.2.4, 5.2.7):

* Two columns by default, name then mobile; ``columns`` maps others (nickname, remark,
  birthday; ``None`` or ``"-"`` skips a column, as the client's "不导入").  With a header row
  whose titles are known (姓名/手机/昵称/备注/生日, name/mobile/...) and no ``columns``
  given, the header decides the mapping.
* ``header=True`` (the default, FAQ-5.2.4): the first row is a header and is skipped (a first
  row that holds a contact is skipped all the same, with a warning).  ``header=False`` (the
  client manual's csv, read from row 1): a first row that is plainly a header (its mobile cell
  holds no digit) is detected and skipped rather than reported.
* A row with an empty or invalid name or mobile (or a bad birthday, or a cell too long) is
  skipped and reported with its row number and the reason; empty rows are counted only.
* Duplicates follow FAQ-5.2.7 (:mod:`smsdk.workspace.books`): exact → kept, put in the group;
  partial → not imported, listed side by side in ``conflicts``; new → added, put in the group.
* Rows are read lazily and written in batches, each one transaction, so memory stays bounded
  and a 100 000-row file costs a few dozen commits.  Reports keep at most ``report_limit``
  entries each (the counts are always exact).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from smsdk.workspace.books import (
    Book,
    BookError,
    Conflict,
    ContactError,
    Entry,
    Merger,
    entry,
)
from smsdk.workspace.sheets import (
    Cell,
    ProgressFn,
    Rows,
    SheetError,
    cell_text,
    escape_cell,
    mobile_text,
    open_rows,
)

FIELDS = ("name", "mobile", "nickname", "remark", "birthday")
DEFAULT_COLUMNS: tuple[str, ...] = ("name", "mobile")

#: Header titles the importer recognises (lower-cased, spaces removed).
HEADER_TITLES: dict[str, str] = {
    **{t: "name" for t in ("姓名", "名字", "名称", "联系人", "name", "fullname", "contact")},
    **{t: "mobile" for t in ("手机", "手机号", "手机号码", "号码", "电话", "电话号码", "移动电话",
                              "mobile", "phone", "number", "msisdn", "tel", "cellphone")},
    **{t: "nickname" for t in ("昵称", "nickname", "nick")},
    **{t: "remark" for t in ("备注", "说明", "remark", "note", "notes", "comment")},
    **{t: "birthday" for t in ("生日", "出生日期", "birthday", "birthdate", "dob")},
}

#: Titles of the exported columns (the importer maps them back).
EXPORT_TITLES = ("姓名", "手机", "昵称", "备注", "生日")

BATCH = 2000


class ImportFileError(SheetError):
    """An import that cannot start: a bad column mapping, a header without a mobile column ..."""


@dataclass(frozen=True)
class Skipped:
    """A row not imported: its number in the file, why, and its first cells (shortened)."""

    row: int
    reason: str
    cells: tuple[str, ...] = ()


@dataclass
class ImportResult:
    book: str
    group: str | None
    path: str
    format: str
    encoding: str | None = None
    rows: int = 0           # data rows read (header and empty rows excluded)
    added: int = 0          # new contacts
    existing: int = 0       # exact duplicates kept (FAQ-5.2.7)
    grouped: int = 0        # existing contacts put in the group now
    conflict_count: int = 0
    skipped_count: int = 0
    full: int = 0           # new contacts not added because the book is full
    empty_rows: int = 0
    header: str = "none"    # "skipped" (header=True), "detected" (header=False but one was there), "none"
    columns: dict[str, int] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.added


# -- column mapping ---------------------------------------------------------------------------


def parse_columns(columns: Sequence[str | None] | Mapping[str, int] | str | None,
                  *, required: Sequence[str] = ("name", "mobile")) -> dict[str, int] | None:
    """``"name,mobile,-,remark"``, ``["name", "mobile", None, "remark"]`` or
    ``{"mobile": 0}`` → field → 0-based column; None stays None (decide from the file)."""
    if columns is None:
        return None
    if isinstance(columns, str):
        columns = [c.strip() or None for c in columns.split(",")]
    mapping: dict[str, int] = {}
    if isinstance(columns, Mapping):
        for fld, idx in columns.items():
            if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
                raise ImportFileError(f"column of {fld!r} must be a 0-based index, not {idx!r}")
            mapping[str(fld)] = idx
    else:
        for idx, item in enumerate(columns):
            if item is None or item in ("-", "", "skip"):
                continue
            if item in mapping:
                raise ImportFileError(f"column mapping names {item!r} twice")
            mapping[item] = idx
    unknown = set(mapping) - set(FIELDS)
    if unknown:
        raise ImportFileError(f"unknown column field(s) {', '.join(sorted(unknown))}: "
                              f"the fields are {', '.join(FIELDS)} ('-' skips a column)")
    missing = [f for f in required if f not in mapping]
    if missing:
        raise ImportFileError(f"the column mapping has no {' or '.join(missing)} column")
    return mapping


def header_mapping(cells: Sequence[Cell]) -> dict[str, int] | None:
    """Field → column from a header row whose titles are known; None if it has no mobile title."""
    found: dict[str, int] = {}
    for idx, c in enumerate(cells):
        title = cell_text(c).lower().replace(" ", "").replace("_", "").rstrip(":：")
        fld = HEADER_TITLES.get(title)
        if fld is not None and fld not in found:
            found[fld] = idx
    return found if "mobile" in found else None


def _looks_like_header(cells: Sequence[Cell], mapping: Mapping[str, int]) -> bool:
    """A first row is plainly a header when its titles are known, or its mobile cell holds no
    digit at all (``手机``, ``Mobile``)."""
    if header_mapping(cells) is not None:
        return True
    idx = mapping.get("mobile", 1)
    text = cell_text(cells[idx]) if idx < len(cells) else ""
    return bool(text) and not any(ch.isdigit() for ch in text)


def _cells_preview(cells: Sequence[Cell]) -> tuple[str, ...]:
    out = []
    for c in list(cells)[:8]:
        t = cell_text(c)
        out.append(t if len(t) <= 40 else t[:40] + "…")
    return tuple(out)


def _get(cells: Sequence[Cell], mapping: Mapping[str, int], fld: str) -> Cell:
    idx = mapping.get(fld)
    return cells[idx] if idx is not None and idx < len(cells) else None


@dataclass
class Parsed:
    """A data row turned into an entry, or skipped with a reason."""

    row: int
    entry: Entry | None
    skipped: Skipped | None
    given: str = ""  # the mobile cell as text


class Table:
    """The data rows of an open file under the header and column rules (shared by the address
    book import and the recipient lists)."""

    def __init__(self, rows: Rows, *, header: bool, columns: dict[str, int] | None,
                 default: Sequence[str], required: Sequence[str]) -> None:
        self.src = rows
        self.header_given = header
        self.columns = columns
        self.default = tuple(default)
        self.required = tuple(required)
        self.header = "none"
        self.warnings: list[str] = []
        self.empty_rows = 0
        self.read = 0  # rows read from the file so far, header and empty ones included
        self.mapping: dict[str, int] = {}

    def _decide(self, first: Sequence[Cell]) -> dict[str, int]:
        if self.columns is not None:
            return self.columns
        by_title = header_mapping(first) if (self.header_given or _looks_like_header(first, {})) else None
        if by_title is not None:
            missing = [f for f in self.required if f not in by_title]
            if missing:
                raise ImportFileError(
                    f"{self.src.path}: the header row names no {' or '.join(missing)} column: "
                    "pass columns (e.g. name,mobile)")
            return by_title
        filled = [c for c in first if cell_text(c)]
        if len(filled) == 1 and "name" not in self.required:
            return {"mobile": next(i for i, c in enumerate(first) if cell_text(c))}
        return {f: i for i, f in enumerate(self.default)}

    def __iter__(self) -> Iterator[Parsed]:
        mapping: dict[str, int] | None = None
        for n, cells in self.src.rows:
            self.read += 1
            if mapping is None:
                if not any(cell_text(c) for c in cells):
                    self.empty_rows += 1
                    if n == 1 and self.header_given:
                        self.header = "skipped"
                    continue
                first = n == 1
                mapping = self.mapping = self._decide(cells)
                if first and self.header_given:
                    self.header = "skipped"
                    if not _looks_like_header(cells, mapping):
                        p = self._parse(n, cells, mapping)
                        if p.entry is not None:
                            self.warnings.append(
                                f"row 1 was skipped as a header but holds a contact ({p.entry.name} "
                                f"{p.entry.mobile}): pass header=False to import it")
                    continue
                if first and _looks_like_header(cells, mapping):
                    self.header = "detected"
                    continue
            if not any(cell_text(c) for c in cells):
                self.empty_rows += 1
                continue
            yield self._parse(n, cells, mapping)

    def _parse(self, n: int, cells: Sequence[Cell], mapping: Mapping[str, int]) -> Parsed:
        mobile = cell_text(_get(cells, mapping, "mobile"))
        try:
            mobile, hint = mobile_text(_get(cells, mapping, "mobile"))
            if hint is not None:
                raise ContactError(hint)
            e = entry(cell_text(_get(cells, mapping, "name")), mobile,
                      cell_text(_get(cells, mapping, "nickname")), cell_text(_get(cells, mapping, "remark")),
                      _birthday(_get(cells, mapping, "birthday")), row=n,
                      require_name="name" in self.required)
            return Parsed(n, e, None, mobile)
        except ContactError as exc:
            return Parsed(n, None, Skipped(n, str(exc), _cells_preview(cells)), mobile[:40])


def _birthday(value: Cell) -> Cell:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return cell_text(value)
    return value


# -- import -------------------------------------------------------------------------------------


def import_contacts(book: Book, path: str | os.PathLike[str], *, group: str | None = None,
                    header: bool = True, columns: Sequence[str | None] | Mapping[str, int] | str | None = None,
                    format: str | None = None, encoding: str | None = None, sheet: str | int | None = None,
                    delimiter: str | None = None, on_conflict: str = "report", batch: int = BATCH,
                    report_limit: int = 10_000, progress: ProgressFn | None = None) -> ImportResult:
    """Import the contacts of ``path`` into ``book`` (and ``group``); see the module docstring."""
    if batch < 1:
        raise ImportFileError("batch must be at least 1")
    mapping = parse_columns(columns)
    merger = Merger(book, group=group, on_conflict=on_conflict)
    with open_rows(path, format=format, encoding=encoding, sheet=sheet, delimiter=delimiter) as rows:
        result = ImportResult(book.key, group, str(path), rows.format, rows.encoding)
        table = Table(rows, header=header, columns=mapping, default=DEFAULT_COLUMNS, required=("name", "mobile"))
        it = iter(table)
        while True:
            chunk = list(islice(it, batch))
            if not chunk:
                break
            with book.ws.transaction() as db:
                for parsed in chunk:
                    result.rows += 1
                    if parsed.entry is None:
                        assert parsed.skipped is not None
                        _skip(result, parsed.skipped, report_limit)
                        continue
                    outcome = merger.merge(db, parsed.entry)
                    if outcome is None:
                        result.full += 1
                        _skip(result, Skipped(parsed.row, merger.full_message()), report_limit)
                    elif outcome.status == "added":
                        result.added += 1
                    elif outcome.status == "exists":
                        result.existing += 1
                        result.grouped += outcome.grouped
                    else:
                        assert outcome.conflict is not None
                        result.conflict_count += 1
                        if len(result.conflicts) < report_limit:
                            result.conflicts.append(outcome.conflict)
            if progress is not None:
                progress(table.read, rows.total)
        result.header = table.header
        result.empty_rows = table.empty_rows
        result.warnings.extend(table.warnings)
        if result.full:
            result.warnings.append(merger.full_message() + f": {result.full} new contact(s) not added")
        result.columns = dict(table.mapping)
    return result


def _skip(result: ImportResult, s: Skipped, limit: int) -> None:
    result.skipped_count += 1
    if len(result.skipped) < limit:
        result.skipped.append(s)


# -- lists (for recipients) ------------------------------------------------------------------


def iter_list(path: str | os.PathLike[str], *, header: bool = False,
              columns: Sequence[str | None] | Mapping[str, int] | str | None = None,
              format: str | None = None, encoding: str | None = None,
              sheet: str | int | None = None) -> Iterator[Parsed]:
    """The rows of a recipient list file (the client's "导入列表"): numbers only, or name then
    mobile; a name is optional.  ``header`` defaults to False (a header row is detected)."""
    mapping = parse_columns(columns, required=("mobile",))
    with open_rows(path, format=format, encoding=encoding, sheet=sheet) as rows:
        table = Table(rows, header=header, columns=mapping, default=DEFAULT_COLUMNS, required=("mobile",))
        yield from table


# -- export -------------------------------------------------------------------------------------


def export_contacts(book: Book, path: str | os.PathLike[str], *, group: str | None = None,
                    format: str | None = None, encoding: str = "utf-8-sig") -> int:
    """Write the book's (or a group's) contacts to ``path`` (csv or xlsx, by ``format`` or the
    extension) with a header row the importer reads back; returns the number written.

    csv: UTF-8 with a BOM (Excel opens it as UTF-8; ``encoding="gb18030"`` for old tools); a
    cell a spreadsheet would run as a formula gets a leading quote.  xlsx: written row by row
    (openpyxl's write-only mode), every cell as text."""
    p = Path(path)
    fmt = format or p.suffix.lower().lstrip(".")
    if fmt not in ("csv", "xlsx"):
        raise ImportFileError(f"cannot export to {fmt or 'a file without an extension'!r}: csv or xlsx")
    contacts = book.contacts(group)
    n = 0
    tmp = p.with_name(p.name + ".part")
    try:
        if fmt == "csv":
            with open(tmp, "w", encoding=encoding, newline="") as fh:
                w = csv.writer(fh)
                w.writerow(EXPORT_TITLES)
                for c in contacts:
                    w.writerow([escape_cell(c.name), c.mobile, escape_cell(c.nickname),
                                escape_cell(c.remark), c.birthday or ""])
                    n += 1
        else:
            from openpyxl import Workbook
            from openpyxl.cell import WriteOnlyCell

            wb = Workbook(write_only=True)
            ws = wb.create_sheet("contacts")
            ws.append(list(EXPORT_TITLES))
            for c in contacts:
                row = []
                for value in (c.name, c.mobile, c.nickname, c.remark, c.birthday or ""):
                    cell = WriteOnlyCell(ws, value=value)
                    cell.data_type = "s"  # text, never a formula, whatever it starts with
                    row.append(cell)
                ws.append(row)
                n += 1
            wb.save(tmp)
        os.replace(tmp, p)
    except OSError as e:
        raise BookError(f"cannot write {p}: {e.strerror or e}") from e
    finally:
        if tmp.exists():
            tmp.unlink()
    return n
