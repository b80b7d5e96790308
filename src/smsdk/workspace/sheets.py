"""Reading rows out of the files people keep contacts in: xls, xlsx, csv and txt.

:func:`open_rows` gives the rows of a file lazily, one ``(row_number, cells)`` pair at a time,
so a 100 000-row file is never held in memory: xlsx through openpyxl's read-only mode, csv and
txt through an incremental decoder.  The format is told by the file's first bytes (an xlsx
is a zip, an xls an OLE2 compound file), the extension deciding only between csv and txt;
the text encoding is a BOM (UTF-8, UTF-16), else UTF-8 if the start of the file is valid
UTF-8, else GBK (GB 18030) if it reads as Chinese, else charset-normalizer's best guess.

Every failure is a :class:`SheetError` that names the file and says what is wrong.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import io
import os
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from smsdk import numbers
from smsdk.workspace.store import WorkspaceError

#: Formats :func:`open_rows` reads.
FORMATS = ("xlsx", "xls", "csv", "txt")
#: Bytes looked at to tell the format, the encoding and the delimiter.
SAMPLE = 64 * 1024
#: The longest cell a csv or txt file may hold (the csv module's default limit).
CELL_MAX = 131072

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class SheetError(WorkspaceError, ValueError):
    """A file that cannot be read as a table of contacts; the message says why."""


Cell = Any  # str, int, float, bool, date/datetime or None, as the file holds it


@dataclass
class Rows:
    """An open file: ``rows`` yields ``(row_number, cells)`` (1-based, as a spreadsheet numbers
    them); ``total`` is the number of rows when the format tells it up front (else None)."""

    path: str
    format: str
    rows: Iterator[tuple[int, list[Cell]]]
    total: int | None = None
    encoding: str | None = None
    delimiter: str | None = None


def detect_format(path: str | os.PathLike[str], head: bytes) -> str:
    """``xlsx`` / ``xls`` by content (whatever the extension says), else ``csv`` or ``txt``."""
    ext = Path(path).suffix.lower().lstrip(".")
    if head.startswith(_ZIP):
        return "xlsx"
    if head.startswith(_OLE):
        return "xls"
    if ext in ("xlsx", "xlsm", "xls"):
        raise SheetError(f"{path}: not an Excel file (the extension says {ext}, but the content is "
                         "neither an xlsx zip nor an xls workbook): save it again from Excel, or as .csv")
    return "txt" if ext == "txt" else "csv"


@contextmanager
def open_rows(path: str | os.PathLike[str], *, format: str | None = None, encoding: str | None = None,
              sheet: str | int | None = None, delimiter: str | None = None) -> Iterator[Rows]:
    """Open ``path`` and yield its :class:`Rows`; the file is closed on leaving the block.

    ``format`` (xlsx, xls, csv, txt) overrides the detection, ``encoding`` the text
    encoding's, ``delimiter`` the csv/txt delimiter's; ``sheet`` picks a worksheet by name or
    0-based index (default: the first)."""
    p = str(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(SAMPLE)
    except OSError as e:
        raise SheetError(f"cannot read {p}: {e.strerror or e}") from e
    if format is None:
        format = detect_format(p, head)
    elif format not in FORMATS:
        raise SheetError(f"unknown format {format!r}: one of {', '.join(FORMATS)}")
    if not head:
        yield Rows(p, format, iter(()), 0)
        return
    if format == "xlsx":
        with _xlsx(p, sheet) as rows:
            yield rows
    elif format == "xls":
        yield _xls(p, sheet)
    else:
        with _text(p, format, head, encoding, delimiter) as rows:
            yield rows


# -- xlsx -------------------------------------------------------------------------------------


@contextmanager
def _xlsx(path: str, sheet: str | int | None) -> Iterator[Rows]:
    """The rows of an xlsx sheet, streamed with bounded memory.

    openpyxl reads the workbook's parts (sheet list, shared strings, date styles) and parses
    each row (``WorkSheetParser.parse_row``); the sheet's XML is walked here, each row removed
    from the tree once read.  openpyxl's own read-only iterator leaves every emptied row element
    attached to ``<sheetData>`` (about 100 bytes a row, 100 MB for a full sheet) and, when the
    sheet records no dimension, parses the whole sheet once more just to size it."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet
    from openpyxl.utils.exceptions import InvalidFileException
    from openpyxl.worksheet._reader import WorkSheetParser
    from openpyxl.xml.functions import iterparse

    fh = open(path, "rb")  # a file object: openpyxl would judge a path by its extension
    try:
        reader = ExcelReader(fh, read_only=True, data_only=True)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        targets = {s.name: rel.target for s, rel in reader.parser.find_sheets()
                   if rel.target in reader.valid_files and "chartsheet" not in rel.Type}
    except (zipfile.BadZipFile, InvalidFileException, KeyError, EOFError, zlib.error, OSError) as e:
        fh.close()
        raise SheetError(f"{path}: not a readable xlsx file (truncated or damaged?): {e}") from e
    except Exception as e:  # openpyxl raises many kinds on malformed XML
        fh.close()
        raise SheetError(f"{path}: not a readable xlsx file: {type(e).__name__}: {e}") from e
    try:
        target = targets[_pick(list(targets), sheet, path)]
        wb = reader.wb
        total = _xlsx_rows_declared(reader.archive, target, iterparse)

        def rows() -> Iterator[tuple[int, list[Cell]]]:
            n = 0
            try:
                with reader.archive.open(target) as src:
                    # the date styles apply_stylesheet() put on the workbook (no stub knows them)
                    parser = WorkSheetParser(src, reader.shared_strings, data_only=True, epoch=wb.epoch,
                                             date_formats=getattr(wb, "_date_formats"),
                                             timedelta_formats=getattr(wb, "_timedelta_formats"))
                    parent = None
                    for event, el in iterparse(src, events=("start", "end")):
                        if event == "start":
                            if el.tag == _SHEETDATA:
                                parent = el
                            continue
                        if el.tag != _ROW:
                            continue
                        n, cells = parser.parse_row(el)
                        parser.row_dimensions.clear()  # row heights and styles: not needed
                        el.clear()
                        if parent is not None:
                            parent.remove(el)  # keep the tree from growing a row at a time
                        values: list[Cell] = []
                        for c in cells:
                            col = c["column"]
                            if col > _MAX_COLUMNS:
                                raise SheetError(f"{path}: row {n} has a cell in column {col}, past "
                                                 f"{_MAX_COLUMNS}: not an address-book sheet")
                            if col > len(values):
                                values.extend([None] * (col - len(values)))
                            values[col - 1] = c["value"]
                        yield n, values
            except SheetError:
                raise
            except (zipfile.BadZipFile, EOFError, zlib.error, OSError, KeyError) as e:
                raise SheetError(f"{path}: the xlsx file is damaged after row {n}: {e}") from e
            except Exception as e:  # malformed XML, a bad cell value ...
                raise SheetError(f"{path}: cannot read the xlsx file after row {n}: "
                                 f"{type(e).__name__}: {e}") from e

        yield Rows(path, "xlsx", rows(), total)
    finally:
        reader.archive.close()
        fh.close()


_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_SHEETDATA = _MAIN_NS + "sheetData"
_ROW = _MAIN_NS + "row"
_DIMENSION = _MAIN_NS + "dimension"
_MAX_COLUMNS = 1024


def _xlsx_rows_declared(archive: zipfile.ZipFile, target: str, iterparse: Any) -> int | None:
    """The last row of the sheet's ``<dimension ref="A1:D100001">``, read from the start of its
    XML (None when there is none before the data: the progress bar then has no total)."""
    try:
        with archive.open(target) as src:
            for event, el in iterparse(src, events=("start",)):
                if el.tag == _DIMENSION:
                    m = re.search(r"(\d+)$", el.get("ref", ""))
                    return int(m.group(1)) if m else None
                if el.tag == _SHEETDATA:
                    return None
    except Exception:
        return None  # the row pass reports the damage
    return None


def _pick(names: list[str], sheet: str | int | None, path: str) -> str:
    if not names:
        raise SheetError(f"{path}: the workbook has no worksheet")
    if sheet is None:
        return names[0]
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise SheetError(f"{path}: no sheet {sheet} (it has {len(names)}: {', '.join(names)})")
        return names[sheet]
    if sheet not in names:
        raise SheetError(f"{path}: no sheet {sheet!r} (it has {', '.join(names)})")
    return sheet


# -- xls ----------------------------------------------------------------------------------------


def _xls(path: str, sheet: str | int | None) -> Rows:
    import xlrd

    try:
        book = xlrd.open_workbook(path, on_demand=True)
    except Exception as e:  # xlrd.XLRDError, struct.error, AssertionError, ... on damaged files
        raise SheetError(f"{path}: not a readable xls file (truncated or damaged?): {type(e).__name__}: {e}") from e
    names = book.sheet_names()
    try:
        sh = book.sheet_by_name(_pick(names, sheet, path))
    except SheetError:
        book.release_resources()
        raise
    except Exception as e:
        book.release_resources()
        raise SheetError(f"{path}: cannot read the sheet: {type(e).__name__}: {e}") from e

    def cell(ctype: int, value: Any) -> Cell:
        if ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
            return None
        if ctype == xlrd.XL_CELL_DATE:
            try:
                return xlrd.xldate_as_datetime(value, book.datemode)
            except Exception:
                return value
        if ctype == xlrd.XL_CELL_BOOLEAN:
            return bool(value)
        if ctype == xlrd.XL_CELL_ERROR:
            return xlrd.error_text_from_code.get(value, "#ERROR")
        return value

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        try:
            for r in range(sh.nrows):
                yield r + 1, [cell(t, v) for t, v in zip(sh.row_types(r), sh.row_values(r))]
        finally:
            book.release_resources()

    return Rows(path, "xls", rows(), sh.nrows)


# -- csv and txt --------------------------------------------------------------------------------

_GBK_FAMILY = {"gb2312", "gbk", "gb18030", "cp936", "hz", "big5", "big5hkscs", "cp950"}


def detect_encoding(sample: bytes, *, path: str = "the file") -> str:
    """The encoding of a text file from its first bytes (see the module docstring)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _decodes(sample, "utf-8"):
        # A short GBK text can be valid UTF-8 by chance (two-byte sequences), decoding to
        # Latin or Cyrillic letters: if it reads as Chinese in GBK, it is GBK.
        text = codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        if (not text.isascii() and not _mostly_chinese(text) and _decodes(sample, "gb18030")
                and _mostly_chinese(sample.decode("gb18030", errors="ignore"))):
            return "gb18030"
        return "utf-8"
    if b"\x00" in sample:
        guess = _utf16_without_bom(sample)
        if guess is not None:
            return guess
        raise SheetError(f"{path}: binary data, not text (is it a spreadsheet or another kind of file "
                         "under a .csv/.txt name?)")
    if _decodes(sample, "gb18030") and _mostly_chinese(sample.decode("gb18030", errors="ignore")):
        return "gb18030"
    import charset_normalizer

    best = charset_normalizer.from_bytes(sample).best()
    if best is None:
        raise SheetError(f"{path}: cannot tell the text encoding (not UTF-8, UTF-16 or GBK): "
                         "save it as UTF-8, or pass the encoding")
    enc = str(best.encoding).lower()
    return "gb18030" if enc in _GBK_FAMILY - {"big5", "big5hkscs", "cp950"} else enc


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 written without a BOM: its ASCII characters put every NUL byte on the same side
    (odd offsets little-endian, even offsets big-endian)."""
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    if odd and not even and _decodes(sample, "utf-16-le"):
        return "utf-16-le"
    if even and not odd and _decodes(sample, "utf-16-be"):
        return "utf-16-be"
    return None


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _mostly_chinese(text: str) -> bool:
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return False
    cjk = sum(1 for ch in wide if unicodedata.name(ch, "").startswith(("CJK", "FULLWIDTH", "IDEOGRAPHIC"))
              or 0x3000 <= ord(ch) <= 0x303F)
    return cjk >= 0.8 * len(wide)


_DELIMITERS = (",", "\t", ";", "|")


def detect_delimiter(lines: list[str], format: str) -> str | None:
    """The delimiter found on most of the first lines; None (txt: split on white space) when
    there is none; csv falls back to a comma."""
    lines = [ln for ln in lines if ln.strip()][:50]
    best, best_n = None, 0
    for d in _DELIMITERS:
        n = sum(1 for ln in lines if d in ln)
        if n > best_n:
            best, best_n = d, n
    if best is not None and best_n * 2 >= len(lines):
        return best
    return "," if format == "csv" else None


@contextmanager
def _text(path: str, format: str, head: bytes, encoding: str | None,
          delimiter: str | None) -> Iterator[Rows]:
    if encoding is None:
        encoding = detect_encoding(head, path=path)
    else:
        try:
            codecs.lookup(encoding)
        except LookupError as e:
            raise SheetError(f"unknown encoding {encoding!r}") from e
    fh: IO[bytes] = open(path, "rb")
    try:
        text = io.TextIOWrapper(fh, encoding=encoding, newline="")
        if delimiter is None:
            decoded = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)
            delimiter = detect_delimiter(decoded.splitlines()[:-1] or decoded.splitlines(), format)

        def rows() -> Iterator[tuple[int, list[Cell]]]:
            n = 0
            try:
                if delimiter is None:
                    for n, line in enumerate(text, start=1):
                        if len(line) > CELL_MAX:
                            raise SheetError(f"{path}: row {n} is longer than {CELL_MAX} characters: "
                                             "not an address-book file")
                        yield n, _split_words(line)
                else:
                    reader = csv.reader(text, delimiter=delimiter)
                    for n, cells in enumerate(reader, start=1):
                        yield n, list(cells)
            except csv.Error as e:
                raise SheetError(f"{path}: row {n + 1}: {e} (a cell longer than {CELL_MAX} characters, "
                                 "or not a csv file)") from e
            except UnicodeDecodeError as e:
                raise SheetError(f"{path}: after row {n} the text is not valid {encoding} ({e.reason}): "
                                 "save the file as UTF-8, or pass the right encoding") from e

        yield Rows(path, format, rows(), None, encoding, delimiter)
    finally:
        fh.close()


_WHITESPACE = re.compile(r"[\s\u3000]+")


def _split_words(line: str) -> list[str]:
    """A txt line without a delimiter: one cell if it is a number as written (``+86 138 0013
    8000``), else its words (``张三 13800138000``)."""
    line = line.strip()
    if not line:
        return []
    if numbers.check(line).ok:
        return [line]
    return _WHITESPACE.split(line)


# -- cells to text ---------------------------------------------------------------------------

_FLOAT_TEXT = re.compile(r"(\d+)\.0*")
_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE]\+?\d+")


def cell_text(value: Cell) -> str:
    """A cell as text: whole floats without ``.0`` (Excel stores 13800138000 as a float),
    dates as ``YYYY-MM-DD``, text stripped, an empty cell as ``""``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat(sep=" ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    text = str(value).strip()
    if text.startswith("'") and text[1:2] in ("=", "+", "-", "@"):
        text = text[1:]  # the quote our csv export puts before a formula-like cell
    return text


def mobile_text(value: Cell) -> tuple[str, str | None]:
    """A mobile cell as text, and a hint when it was mangled by a spreadsheet (a whole number
    written as ``13800138000.0`` is fixed; scientific notation has lost digits and is not)."""
    text = cell_text(value)
    m = _FLOAT_TEXT.fullmatch(text)
    if m is not None:
        return m.group(1), None
    if _SCIENTIFIC.fullmatch(text):
        return text, (f"mobile {text!r} is in scientific notation and has lost its last digits: "
                      "format the column as text in Excel and save again")
    return text, None


def escape_cell(text: str) -> str:
    """A csv cell that a spreadsheet would run as a formula gets a leading quote (the importer
    takes it off again)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


ProgressFn = Callable[[int, "int | None"], None]
