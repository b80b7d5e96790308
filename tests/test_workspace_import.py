"""Import and export of address books: formats, encodings, header and column rules,
FAQ-5.2.7 duplicates, hostile input, bounded memory."""

from __future__ import annotations

import codecs
import gc
import tracemalloc
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from smsdk.workspace.books import Books
from smsdk.workspace.importer import (
    ImportFileError,
    export_contacts,
    import_contacts,
    iter_list,
    parse_columns,
)
from smsdk.workspace.sheets import SheetError, cell_text, detect_encoding
from smsdk.workspace.store import Workspace

ROWS = [("张三", "13800138000"), ("李四", "13800138001"), ("王五", "13800138002")]


@pytest.fixture
def books():
    ws = Workspace(":memory:", clock=lambda: 1000.0)
    yield Books(ws)
    ws.close()


def write_csv(path, rows, encoding="utf-8", header=("姓名", "手机"), sep=","):
    lines = ([sep.join(header)] if header else []) + [sep.join(str(c) for c in r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def write_xlsx(path, rows, header=("姓名", "手机")):
    wb = Workbook()
    ws = wb.active
    if header:
        ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


def write_xls(path, rows, header=("姓名", "手机")):
    xlwt = pytest.importorskip("xlwt")
    wb = xlwt.Workbook(encoding="utf-8")
    sh = wb.add_sheet("通讯录")
    all_rows = ([list(header)] if header else []) + [list(r) for r in rows]
    for i, r in enumerate(all_rows):
        for j, v in enumerate(r):
            sh.write(i, j, v)
    wb.save(str(path))
    return path


def names(book):
    return [(c.name, c.mobile) for c in book.contacts()]


# -- formats and encodings --------------------------------------------------------------------


@pytest.mark.parametrize("encoding,want", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("gbk", "gb18030"),
])
def test_csv_in_every_encoding(books, tmp_path, encoding, want):
    path = write_csv(tmp_path / "a.csv", ROWS, encoding)
    r = import_contacts(books.public(), path)
    assert (r.encoding, r.added, r.header) == (want, 3, "skipped")
    assert names(books.public()) == ROWS


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom(books, tmp_path, encoding):
    path = write_csv(tmp_path / "a.csv", ROWS, encoding)
    assert import_contacts(books.public(), path).encoding == encoding
    assert names(books.public()) == ROWS


def test_encoding_detection_on_a_sample_cut_mid_character():
    text = ("张三,13800138000\n" * 5000).encode("utf-8")
    assert detect_encoding(text[:64 * 1024 - 1]) == "utf-8"
    assert detect_encoding(("张三,13800138000\n" * 5000).encode("gbk")[:1001]) == "gb18030"


def test_an_explicit_encoding_wins(books, tmp_path):
    path = write_csv(tmp_path / "a.csv", ROWS, "gbk")
    r = import_contacts(books.public(), path, encoding="gbk")
    assert r.added == 3 and r.encoding == "gbk"
    with pytest.raises(SheetError, match="unknown encoding"):
        import_contacts(books.public(), path, encoding="klingon")


def test_a_wrong_encoding_later_in_the_file_is_a_clear_error(books, tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"name,mobile\n" + b"a,13800138000\n" * 6000 + "张三,13800138001\n".encode("gbk"))
    with pytest.raises(SheetError, match="not valid utf-8"):
        import_contacts(books.public(), path)


@pytest.mark.parametrize("sep", ["\t", ",", ";", " "])
def test_txt_with_any_delimiter(books, tmp_path, sep):
    path = write_csv(tmp_path / "a.txt", ROWS, sep=sep)
    r = import_contacts(books.public(), path)
    assert r.format == "txt" and r.added == 3
    assert names(books.public()) == ROWS


def test_xlsx(books, tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", [("张三", 13800138000), ("李四", "13800138001"), ("王五", 13800138002.0)])
    r = import_contacts(books.public(), path, group="客户")
    assert (r.format, r.added) == ("xlsx", 3)
    assert names(books.public()) == ROWS
    assert len(list(books.public().contacts("客户"))) == 3


def test_xls(books, tmp_path):
    path = write_xls(tmp_path / "a.xls", [("张三", 13800138000.0), ("李四", "13800138001"), ("王五", 13800138002)])
    r = import_contacts(books.public(), path)
    assert (r.format, r.added) == ("xls", 3)
    assert names(books.public()) == ROWS


def test_birthdays_from_date_cells(books, tmp_path):
    import datetime as dt

    xlwt = pytest.importorskip("xlwt")
    wb = xlwt.Workbook(encoding="utf-8")
    sh = wb.add_sheet("a")
    style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for i, title in enumerate(("姓名", "手机", "生日")):
        sh.write(0, i, title)
    sh.write(1, 0, "张三")
    sh.write(1, 1, 13800138000.0)
    sh.write(1, 2, dt.date(1990, 5, 1), style)
    wb.save(str(tmp_path / "a.xls"))
    write_xlsx(tmp_path / "a.xlsx", [("李四", 13800138001, dt.datetime(1991, 6, 2))], header=("姓名", "手机", "生日"))
    assert import_contacts(books.public(), tmp_path / "a.xls").added == 1
    assert import_contacts(books.public(), tmp_path / "a.xlsx").added == 1
    assert [c.birthday for c in books.public().contacts()] == ["1990-05-01", "1991-06-02"]


def test_a_cell_far_to_the_right_is_refused(books, tmp_path):
    wb = Workbook()
    wb.active.append(["姓名", "手机"])
    wb.active.cell(row=2, column=5000, value="x")
    wb.save(tmp_path / "a.xlsx")
    with pytest.raises(SheetError, match="column 5000, past 1024"):
        import_contacts(books.public(), tmp_path / "a.xlsx")


def test_format_told_by_content_not_extension(books, tmp_path):
    path = write_xlsx(tmp_path / "really-xlsx.xls", ROWS)
    assert import_contacts(books.public(), path).format == "xlsx"


def test_sheet_choice(books, tmp_path):
    wb = Workbook()
    wb.active.title = "first"
    wb.active.append(["x", "y"])
    second = wb.create_sheet("second")
    second.append(["姓名", "手机"])
    second.append(["张三", "13800138000"])
    wb.save(tmp_path / "a.xlsx")
    assert import_contacts(books.public(), tmp_path / "a.xlsx", sheet="second").added == 1
    assert import_contacts(books.public(), tmp_path / "a.xlsx", sheet=1).existing == 1
    with pytest.raises(SheetError, match="no sheet 'third'.*first, second"):
        import_contacts(books.public(), tmp_path / "a.xlsx", sheet="third")


# -- header and columns (FAQ-5.2.4) ---------------------------------------------------------------


def test_first_row_is_skipped_by_default_even_if_it_is_a_contact(books, tmp_path):
    path = write_csv(tmp_path / "a.csv", ROWS, header=None)
    r = import_contacts(books.public(), path)
    assert r.added == 2 and r.header == "skipped"
    assert "row 1 was skipped as a header but holds a contact (张三 13800138000)" in r.warnings[0]


def test_header_false_reads_row_one(books, tmp_path):
    path = write_csv(tmp_path / "a.csv", ROWS, header=None)
    r = import_contacts(books.public(), path, header=False)
    assert r.added == 3 and r.header == "none" and not r.warnings


@pytest.mark.parametrize("header", [("姓名", "手机"), ("Name", "Mobile"), ("客户", "联系方式")])
def test_header_false_detects_a_header_row(books, tmp_path, header):
    path = write_csv(tmp_path / "a.csv", ROWS, header=header)
    r = import_contacts(books.public(), path, header=False)
    assert r.added == 3 and r.header == "detected" and r.skipped_count == 0


def test_columns_mapped_by_the_header_titles(books, tmp_path):
    path = write_csv(tmp_path / "a.csv", [("x", "VIP", "13800138000", "张三", "1990-05-01")],
                     header=("昵称", "备注", "手机号码", "姓名", "生日"))
    r = import_contacts(books.public(), path)
    assert r.columns == {"nickname": 0, "remark": 1, "mobile": 2, "name": 3, "birthday": 4}
    (c,) = books.public().contacts()
    assert (c.name, c.mobile, c.nickname, c.remark, c.birthday) == ("张三", "13800138000", "x", "VIP", "1990-05-01")


def test_explicit_column_mapping(books, tmp_path):
    path = write_csv(tmp_path / "a.csv", [("1", "13800138000", "junk", "张三", "备注")], header=("a", "b", "c", "d", "e"))
    r = import_contacts(books.public(), path, columns="-,mobile,-,name,remark")
    assert r.added == 1 and r.columns == {"mobile": 1, "name": 3, "remark": 4}
    assert next(books.public().contacts()).remark == "备注"


@pytest.mark.parametrize("columns,message", [
    ("name,name,mobile", "names 'name' twice"),
    ("name,phone", "unknown column field"),
    ("name", "no mobile column"),
    ({"mobile": -1, "name": 0}, "0-based index"),
])
def test_bad_column_mappings(columns, message):
    with pytest.raises(ImportFileError, match=message):
        parse_columns(columns)


def test_a_header_without_a_name_column(books, tmp_path):
    path = write_csv(tmp_path / "a.csv", [("13800138000",)], header=("手机",))
    with pytest.raises(ImportFileError, match="names no name column"):
        import_contacts(books.public(), path)


def test_empty_and_invalid_rows_are_reported(books, tmp_path):
    path = write_csv(tmp_path / "a.csv", [("张三", "13800138000"), ("", "13800138001"), ("李四", ""),
                                          ("", ""), ("王五", "12345"), ("赵六", "01062345678"),
                                          ("钱七", "1.38001E+10")])
    r = import_contacts(books.public(), path)
    assert r.added == 1 and r.empty_rows == 1 and r.rows == 6
    assert [(s.row, s.reason) for s in r.skipped] == [
        (3, "empty name"), (4, "empty mobile"), (6, "mobile '12345': not a mainland mobile number"),
        (7, "mobile '01062345678': PHS (小灵通) and fixed-line numbers are not supported (FAQ-2.1.9)"),
        (8, "mobile '1.38001E+10' is in scientific notation and has lost its last digits: "
            "format the column as text in Excel and save again"),
    ]
    assert r.skipped[0].cells == ("", "13800138001")


def test_report_limit_keeps_counts_exact(books, tmp_path):
    path = write_csv(tmp_path / "a.csv", [("x", "1")] * 50)
    r = import_contacts(books.public(), path, report_limit=10)
    assert r.skipped_count == 50 and len(r.skipped) == 10


# -- duplicates (FAQ-5.2.7) -----------------------------------------------------------------------


def test_duplicate_rules_on_import(books, tmp_path):
    pub = books.public()
    pub.add("张三", "13800138000")
    pub.add("李四", "13800138001", group="客户")
    path = write_csv(tmp_path / "a.csv", [
        ("张三", "13800138000"),   # exact: kept, put in the group
        ("李四", "13800138001"),   # exact, already in the group
        ("张三", "13900139000"),   # same name: conflict
        ("孙八", "13800138001"),   # same mobile: conflict
        ("王五", "13800138002"),   # new
        ("王五", "13800138002"),   # exact duplicate of the row before
    ])
    r = import_contacts(pub, path, group="客户")
    assert (r.added, r.existing, r.grouped, r.conflict_count) == (1, 3, 1, 2)
    assert [(c.entry.row, c.entry.name, c.entry.mobile, [(e.name, e.mobile) for e in c.existing])
            for c in r.conflicts] == [
        (4, "张三", "13900139000", [("张三", "13800138000")]),
        (5, "孙八", "13800138001", [("李四", "13800138001")]),
    ]
    assert sorted(c.name for c in pub.contacts("客户")) == ["张三", "李四", "王五"]
    again = import_contacts(pub, path, group="客户")  # importing again changes nothing
    assert (again.added, again.conflict_count) == (0, 2) and pub.count() == 3


def test_the_cap_stops_new_contacts_with_a_clear_report(books, tmp_path):
    books.set_package(10)
    books.set_cap("alice", 2)
    path = write_csv(tmp_path / "a.csv", ROWS)
    r = import_contacts(books.personal("alice"), path)
    assert r.added == 2 and r.full == 1
    assert r.skipped[0].row == 4 and "personal book is full" in r.skipped[0].reason
    assert any("1 new contact(s) not added" in w for w in r.warnings)


# -- hostile input --------------------------------------------------------------------------------


def test_not_a_spreadsheet(books, tmp_path):
    png = tmp_path / "photo.xlsx"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10)
    with pytest.raises(SheetError, match="not an Excel file"):
        import_contacts(books.public(), png)
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 10)
    with pytest.raises(SheetError, match="binary data, not text"):
        import_contacts(books.public(), binary)
    fake_zip = tmp_path / "a.xlsx"
    with zipfile.ZipFile(fake_zip, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    with pytest.raises(SheetError, match="not a readable xlsx file"):
        import_contacts(books.public(), fake_zip)
    ole = tmp_path / "a.xls"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(SheetError, match="not a readable xls file"):
        import_contacts(books.public(), ole)
    with pytest.raises(SheetError, match="cannot read"):
        import_contacts(books.public(), tmp_path / "missing.csv")


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_truncated_xlsx(books, tmp_path, keep):
    path = write_xlsx(tmp_path / "a.xlsx", [(f"n{i}", 13800000000 + i) for i in range(2000)])
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(SheetError, match="xlsx"):
        import_contacts(books.public(), path)


def test_truncated_xls(books, tmp_path):
    path = write_xls(tmp_path / "a.xls", ROWS)
    path.write_bytes(path.read_bytes()[:700])
    with pytest.raises(SheetError, match="not a readable xls file"):
        import_contacts(books.public(), path)


def test_a_10_mb_cell(books, tmp_path):
    big = "x" * (10 * 1024 * 1024)
    path = tmp_path / "a.csv"
    path.write_text(f"name,mobile\n张三,13800138000\n{big},13800138001\n", encoding="utf-8")
    with pytest.raises(SheetError, match=r"row 3: .*longer than 131072 characters"):
        import_contacts(books.public(), path)
    txt = tmp_path / "a.txt"
    txt.write_text(f"name mobile\n{big} 13800138001\n", encoding="utf-8")
    with pytest.raises(SheetError, match="row 2 is longer than 131072"):
        import_contacts(books.public(), txt)
    xlsx = write_xlsx(tmp_path / "a.xlsx", [("张三", "13800138000"), ("PLACEHOLDER", "13800138001")])
    _replace_in_zip(xlsx, b"PLACEHOLDER", big.encode())  # openpyxl itself cuts a cell to 32 767
    r = import_contacts(books.public(), xlsx)  # past Excel's own limit (32 767): read, then refused
    assert r.added == 1 and r.skipped[0].reason == f"name longer than 64 characters ({len(big)})"
    assert r.skipped[0].cells[0].endswith("…") and len(r.skipped[0].cells[0]) == 41


def _replace_in_zip(path, old, new):
    with zipfile.ZipFile(path) as z:
        parts = {i: z.read(i) for i in z.infolist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in parts.items():
            z.writestr(info, data.replace(old, new))


def test_formulas(books, tmp_path):
    """A formula cell gives the value Excel saved with it; one no program computed (this file
    is written by openpyxl) reads as empty and its row is reported; a csv cell that looks like
    a formula is text."""
    path = write_xlsx(tmp_path / "a.xlsx", [("张三", "=13800138000+0"), ("李四", "13800138001")])
    r = import_contacts(books.public(), path)
    assert r.added == 1 and [(s.row, s.reason) for s in r.skipped] == [(2, "empty mobile")]
    csv_path = write_csv(tmp_path / "a.csv", [("=HYPERLINK(1)", "13800138002")])
    assert import_contacts(books.public(), csv_path).added == 1
    assert books.public().find(mobile="13800138002")[0].name == "=HYPERLINK(1)"


@pytest.mark.parametrize("value,text", [
    (13800138000.0, "13800138000"), (13800138000, "13800138000"), ("13800138000.0", "13800138000.0"),
    (1.5, "1.5"), (None, ""), (True, "TRUE"), ("  x  ", "x"), ("'=1", "=1"),
])
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_numbers_stored_as_float_text(books, tmp_path):
    path = write_csv(tmp_path / "a.csv", [("张三", "13800138000.0"), ("李四", " 138 0013 8001 ")])
    assert import_contacts(books.public(), path).added == 2
    assert names(books.public()) == [("张三", "13800138000"), ("李四", "13800138001")]


def test_empty_file(books, tmp_path):
    (tmp_path / "a.csv").write_bytes(b"")
    r = import_contacts(books.public(), tmp_path / "a.csv")
    assert r.rows == 0 and r.added == 0


# -- progress, batches, memory --------------------------------------------------------------------


def test_progress_is_reported_per_batch(books, tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", [(f"n{i}", 13800000000 + i) for i in range(25)])
    seen = []
    r = import_contacts(books.public(), path, batch=10, progress=lambda done, total: seen.append((done, total)))
    assert r.added == 25
    assert seen == [(11, 26), (21, 26), (26, 26)]
    with pytest.raises(ImportFileError, match="batch"):
        import_contacts(books.public(), path, batch=0)


def _generated_xlsx(path, n):
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(["姓名", "手机"])
    for i in range(n):
        ws.append([f"用户{i}", 13000000000 + i])
    wb.save(path)
    return path


def _peak(books, path):
    gc.collect()  # garbage left by earlier tests must not be freed (and counted) in the middle
    tracemalloc.start()
    try:
        r = import_contacts(books.public(), path, batch=500)
        return r, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_bounded(tmp_path):
    """Four times the rows cost no more memory: rows are streamed (each row element dropped
    from the XML tree once read) and written in batches.  (A file with a shared-string table
    holds its distinct texts in memory: openpyxl loads that table whole.)"""
    small, big = _generated_xlsx(tmp_path / "s.xlsx", 1500), _generated_xlsx(tmp_path / "b.xlsx", 6000)
    with Workspace(":memory:") as ws1, Workspace(":memory:") as ws2:
        r1, p1 = _peak(Books(ws1), small)
        r2, p2 = _peak(Books(ws2), big)
    assert (r1.added, r2.added) == (1500, 6000)
    assert (p2 - p1) / 4500 < 60, (p1, p2)  # holding the rows would cost several hundred bytes each
    assert p2 < 4 * 1024 * 1024, p2


# -- export ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_and_import_back(books, tmp_path, fmt):
    pub = books.public()
    pub.add("张三", "13800138000", nickname="=1+1", remark="-VIP", birthday="05-01", group="客户")
    pub.add("李四", "13800138001", birthday="1990-05-01")
    path = tmp_path / f"out.{fmt}"
    assert export_contacts(pub, path) == 2
    assert export_contacts(pub, tmp_path / f"group.{fmt}", group="客户") == 1
    mine = books.personal("alice")
    r = import_contacts(mine, path)
    assert r.added == 2
    assert [(c.name, c.mobile, c.nickname, c.remark, c.birthday) for c in mine.contacts()] == [
        (c.name, c.mobile, c.nickname, c.remark, c.birthday) for c in pub.contacts()]
    if fmt == "csv":
        assert path.read_bytes().startswith(codecs.BOM_UTF8)
        assert "'=1+1" in path.read_text(encoding="utf-8-sig")
    else:
        wb = load_workbook(path)
        assert wb.active["C2"].data_type == "s" and wb.active["C2"].value == "=1+1"


def test_export_refuses_other_formats(books, tmp_path):
    with pytest.raises(ImportFileError, match="csv or xlsx"):
        export_contacts(books.public(), tmp_path / "a.pdf")


# -- lists ----------------------------------------------------------------------------------------


def test_a_list_of_numbers_only(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("13800138000\n\n+86 13800138001\nbad\n", encoding="utf-8")
    parsed = list(iter_list(path))
    assert [(p.entry.name, p.entry.mobile) if p.entry else p.skipped.reason for p in parsed] == [
        ("", "13800138000"), ("", "13800138001"), "mobile 'bad': not a mainland mobile number"]


def test_the_workspace_never_imports_the_codec():
    """ARCHITECTURE.md: layer 6 uses the client API and the text planner, never the codec."""
    import ast
    from pathlib import Path

    import smsdk.workspace

    for path in Path(smsdk.workspace.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(("smsdk.codec", "smsdk._codec", "smsdk.session", "smsdk._layouts")), \
                    (path.name, name)
