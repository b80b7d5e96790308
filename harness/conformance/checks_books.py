"""SDK-side properties of the workspace's address books, import, templates and recipients
(smsdk.workspace: FAQ-5.1.2/5.2.5/5.2.6 caps, FAQ-5.2.3/5.2.4 import, FAQ-5.2.7 duplicates,
CLIENT-merge, CLIENT-numbers).  They need no platform: each example runs on a fresh in-memory
workspace and files in a temporary directory."""

from __future__ import annotations

import csv
import importlib
import io
import os
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator

from hypothesis import assume, given
from hypothesis import strategies as st

from smsdk import numbers as nums
from smsdk import text as text_mod
from smsdk.errors import PlanError
from smsdk.workspace.books import BookFullError, Books, CapError
from smsdk.workspace.importer import import_contacts
from smsdk.workspace.recipients import resolve
from smsdk.workspace.store import Workspace
from smsdk.workspace.templates import FIELDS, TemplateError, parse, plan_merge

from .checks_model import cjk, invalid, mobiles, phs
from .registry import check


@contextmanager
def workspace() -> Iterator[tuple[Books, str]]:
    with tempfile.TemporaryDirectory(prefix="smsdk-books-") as tmp, Workspace(":memory:", clock=lambda: 0.0) as ws:
        yield Books(ws), tmp


def written(mobile: str, style: int) -> str:
    """A valid mobile as people write it."""
    return [mobile, "+86" + mobile, f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}", f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}",
            "0086" + mobile][style % 5]


def _xls_writer() -> Any:
    try:  # the test extra's (xlrd only reads; xlwt has no type stubs); without it xls is left out
        return importlib.import_module("xlwt")
    except ImportError:
        return None


FORMATS = [("csv", "utf-8"), ("csv", "utf-8-sig"), ("csv", "gbk"), ("csv", "utf-16"), ("txt", "gbk"),
           ("txt", "utf-8"), ("xlsx", "")] + ([("xls", "")] if _xls_writer() is not None else [])


def write_table(path: str, fmt: str, encoding: str, rows: list[tuple[Any, ...]]) -> None:
    if fmt == "xls":
        xlwt = _xls_writer()
        book = xlwt.Workbook(encoding="utf-8")
        sheet = book.add_sheet("通讯录")
        for i, r in enumerate(rows):
            for j, c in enumerate(r):
                sheet.write(i, j, float(c) if j == 1 and isinstance(c, str) and c.isdigit() and len(c) == 11 else c)
        book.save(path)
        return
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet()
        for r in rows:
            ws.append([int(c) if isinstance(c, str) and c.isdigit() and len(c) == 11 and i == 1 else c
                       for i, c in enumerate(r)])  # mobiles as numbers, as Excel keeps them
        wb.save(path)
        return
    buf = io.StringIO()
    csv.writer(buf, delimiter="," if fmt == "csv" else "\t", lineterminator="\r\n").writerows(rows)
    with open(path, "wb") as fh:
        fh.write(buf.getvalue().encode(encoding))


# -- FAQ-5.1.2, 5.2.5, 5.2.6 (the SDK's address books) ----------------------------------------


@check("FAQ-5.1.2, 5.2.5, 5.2.6")
def sdk_book_caps(ctx):
    """any package and caps the admin tries, then contacts added to any book: the caps never add
    up to more than the package, the public book's cap is package − sum of caps, and a book
    holds at most its cap (the next new contact is refused with BookFullError; a duplicate is
    not refused)"""

    @ctx.settings(40)
    @given(package=st.integers(0, 40),
           caps=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 25)), max_size=6),
           adds=st.lists(st.tuples(st.sampled_from(["public", "a", "b", "c"]), st.integers(0, 30)), max_size=60))
    def prop(package, caps, adds):
        with workspace() as (books, _):
            books.set_package(package)
            for account, cap in caps:
                others = sum(v for k, v in books.caps().items() if k != account)
                try:
                    books.set_cap(account, cap)
                    assert others + cap <= package
                except CapError:
                    assert others + cap > package
                assert sum(books.caps().values()) <= package
                assert books.public_cap() == package - sum(books.caps().values())
            for key, i in adds:
                book = books.book(key)
                cap = book.cap()
                assert cap is not None
                held = book.count()
                try:
                    out = book.add(f"n{i}", f"138{i:08d}")
                    assert out.status == "exists" or held < cap, (key, held, cap)
                except BookFullError:
                    assert held >= cap and not book.find(name=f"n{i}", mobile=f"138{i:08d}")
                assert book.count() <= cap

    prop()


# -- FAQ-5.2.3, 5.2.4 (import) ------------------------------------------------------------------

# a bad mobile holds a digit: a first row whose mobile has none is taken for a header
with_digit = invalid.filter(lambda s: any(ch.isdigit() for ch in s))
cells = st.one_of(
    st.tuples(st.just("ok"), st.integers(0, 4)),
    st.tuples(st.just("ok"), st.integers(0, 4)),
    st.tuples(st.just("no-name"), st.integers(0, 4)),
    st.tuples(st.just("bad-mobile"), with_digit | phs),
    st.tuples(st.just("no-mobile"), st.just("")),
    st.tuples(st.just("empty"), st.just("")),
)


@check("FAQ-5.2.3, 5.2.4")
def sdk_import_rows(ctx):
    """any table of contacts (valid, empty name, empty or invalid mobile, empty rows), written
    as csv (UTF-8, UTF-8 with BOM, GBK, UTF-16), tab-separated txt, xlsx or xls (mobiles stored
    as numbers, xls as floats), with or without a
    header row, imported with header=True/False: exactly the valid rows are added, in order;
    every row with an empty name or an empty/invalid mobile is skipped and reported with its
    row number; the header row is skipped (header=True) or detected (header=False)"""

    @ctx.settings(40)
    @given(kinds=st.lists(cells, min_size=1, max_size=25),
           fmt_enc=st.sampled_from(FORMATS),
           header_row=st.booleans(), header_flag=st.booleans(), name=st.text(cjk, min_size=1, max_size=3),
           base=mobiles)
    def prop(kinds, fmt_enc, header_row, header_flag, name, base):
        fmt, enc = fmt_enc
        rows: list[tuple[Any, ...]] = [("姓名", "手机")] if header_row else []
        expected_added, expected_skipped = [], []
        offset = len(rows) + 1
        for i, (kind, extra) in enumerate(kinds):
            n = f"{name}{i}"
            mobile = f"{base[:3]}{(int(base[3:]) + i) % 10**8:08d}"
            if kind == "ok":
                rows.append((n, written(mobile, extra)))
                expected_added.append((n, mobile))
            elif kind == "no-name":
                rows.append(("", mobile))
                expected_skipped.append(i + offset)
            elif kind in ("bad-mobile", "no-mobile"):
                rows.append((n, extra))
                expected_skipped.append(i + offset)
            else:
                rows.append(("", ""))
        if not header_row and header_flag and kinds[0][0] != "empty":
            # FAQ-5.2.4: the first row is ignored whatever it holds (an empty one is the header)
            if kinds[0][0] == "ok":
                expected_added = expected_added[1:]
            expected_skipped = [s for s in expected_skipped if s != 1]
        with workspace() as (books, tmp):
            path = os.path.join(tmp, f"book.{fmt}")
            write_table(path, fmt, enc, rows)
            r = import_contacts(books.public(), path, header=header_flag)
            got = [(c.name, c.mobile) for c in books.public().contacts()]
            assert got == expected_added, (got, expected_added)
            assert [s.row for s in r.skipped] == expected_skipped, (r.skipped, expected_skipped)
            assert r.added == len(expected_added) and r.skipped_count == len(expected_skipped)
            if header_row:
                assert r.header == ("skipped" if header_flag else "detected"), r.header

    prop()


# -- FAQ-5.2.7 (duplicates) -----------------------------------------------------------------------

pool_names = st.sampled_from(["张三", "李四", "王五", "赵六"])
pool_mobiles = st.sampled_from(["13800138000", "13800138001", "13800138002", "13900139000"])


@check("FAQ-5.2.7")
def sdk_import_duplicates(ctx):
    """any book and any import into a group, names and mobiles drawn from small pools so that
    they collide: an exact duplicate (same name and mobile) keeps the existing record and puts it
    in the group; a partial one (same name or same mobile) is not imported and is listed with
    the existing records it collides with; a new one is added and put in the group (checked
    against a reference model, row by row, the file's own rows included)"""

    @ctx.settings(50)
    @given(existing=st.lists(st.tuples(pool_names, pool_mobiles, st.booleans()), max_size=5),
           rows=st.lists(st.tuples(pool_names, pool_mobiles), min_size=1, max_size=10))
    def prop(existing, rows):
        with workspace() as (books, tmp):
            pub = books.public()
            model: list[tuple[str, str]] = []
            in_group: set[tuple[str, str]] = set()
            for n, m, grouped in existing:
                out = pub.add(n, m, group="客户" if grouped else None, on_conflict="add")
                if out.status == "added":
                    model.append((n, m))
                if grouped:
                    in_group.add((n, m))
            path = os.path.join(tmp, "dups.csv")
            write_table(path, "csv", "utf-8", [("姓名", "手机"), *rows])
            r = import_contacts(pub, path, group="客户")
            want_conflicts = []
            added = existing_n = 0
            for i, (n, m) in enumerate(rows, start=2):
                if (n, m) in model:
                    existing_n += 1
                    in_group.add((n, m))
                elif any(a == n or b == m for a, b in model):
                    want_conflicts.append((i, sorted((a, b) for a, b in model if a == n or b == m)))
                else:
                    model.append((n, m))
                    in_group.add((n, m))
                    added += 1
            assert (r.added, r.existing) == (added, existing_n)
            assert [(c.entry.row, sorted((e.name, e.mobile) for e in c.existing)) for c in r.conflicts] == want_conflicts
            assert sorted((c.name, c.mobile) for c in pub.contacts()) == sorted(model)
            assert sorted((c.name, c.mobile) for c in pub.contacts("客户")) == sorted(in_group)

    prop()


# -- CLIENT-merge -------------------------------------------------------------------------------

literal = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x9FA5, blacklist_characters="{}",
                                blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)
piece = st.one_of(literal, st.sampled_from(FIELDS).map(lambda f: ("field", f)))
person = st.fixed_dictionaries({f: st.text(st.characters(min_codepoint=0x20, max_codepoint=0x9FA5,
                                                            blacklist_categories=("Cs", "Cc")), max_size=20)
                                for f in FIELDS})


@check("CLIENT-merge")
def sdk_template_merge(ctx):
    """any template of text and {name}/{nickname}/{remark} placeholders, any recipients: each
    text is the template with the recipient's fields put in, planned after filling in (the
    plan is smsdk.text's plan of that text with the signature, so a long name costs an extra
    SMS); an unknown placeholder or a lone brace is refused"""

    @ctx.settings(40)
    @given(pieces=st.lists(piece, min_size=1, max_size=8), people=st.lists(person, min_size=1, max_size=4),
           sig=st.builds(lambda s: "【" + s + "】", st.text(cjk, min_size=1, max_size=6)),
           bad=st.sampled_from(["{mobile}", "{姓名}", "{", "}", "{name"]), at=st.integers(0, 8))
    def prop(pieces, people, sig, bad, at):
        body = "".join("{" + p[1] + "}" if isinstance(p, tuple) else p for p in pieces)
        assume(body.strip())
        tpl = parse(body)
        recipients = [dict(p, mobile=f"138{i:08d}") for i, p in enumerate(people)]
        mp = plan_merge(tpl, recipients, signature=sig)
        for who, item in zip(recipients, mp.items):
            want = "".join(who[p[1]] if isinstance(p, tuple) else p for p in pieces)
            assert item.text == want
            try:
                expected = text_mod.plan(want, signature=sig)
            except PlanError:
                assert item.plan is None and item.error
                continue
            assert item.plan is not None and item.sms == expected.sms_per_recipient
            assert [pt.content for pt in item.plan.parts] == [pt.content for pt in expected.parts]
        assert mp.total_sms == sum(i.sms for i in mp.items)
        broken = body[: at % (len(body) + 1)] + bad + body[at % (len(body) + 1):]
        try:
            parse(broken)
        except TemplateError:
            pass
        else:
            raise AssertionError(f"{broken!r} was accepted")

    prop()


# -- CLIENT-numbers ------------------------------------------------------------------------------

typed = st.one_of(st.tuples(st.just("ok"), mobiles, st.integers(0, 4)),
                  st.tuples(st.just("bad"), invalid | phs, st.just(0)))
# in a list file a bad line holds a digit (a first line without one is taken for a header)
listed_numbers = st.one_of(st.tuples(st.just("ok"), mobiles, st.integers(0, 4)),
                           st.tuples(st.just("bad"), with_digit | phs, st.just(0)))


@check("CLIENT-numbers")
def sdk_recipients(ctx):
    """any mix of typed numbers (written any way, invalid, PHS, repeated), an address-book
    group and a list file: every valid number is kept once, in first-seen order, in normal
    form; every empty or invalid input is left out and reported with its source; nothing else
    is dropped"""

    @ctx.settings(40)
    @given(typed_in=st.lists(typed, max_size=12), group=st.lists(mobiles, max_size=5),
           listed=st.lists(listed_numbers, max_size=8))
    def prop(typed_in, group, listed):
        with workspace() as (books, tmp):
            pub = books.public()
            pub.group("客户")
            for i, m in enumerate(group):
                pub.add(f"g{i}", m, group="客户", on_conflict="add")
            path = os.path.join(tmp, "list.txt")
            with open(path, "w", encoding="utf-8") as fh:
                for kind, value, style in listed:
                    fh.write((written(value, style) if kind == "ok" else value) + "\n")
            given_typed = [written(v, s) if k == "ok" else v for k, v, s in typed_in]
            res = resolve(numbers_given=given_typed, groups=["public/客户"], lists=[path], books=books)
            order: list[str] = []
            valid_inputs = 0
            for k, v, _ in typed_in:
                if k == "ok":
                    valid_inputs += 1
                    if v not in order:
                        order.append(v)
            for m in group:
                valid_inputs += 1
                if m not in order:
                    order.append(m)
            for k, v, _ in listed:
                if k == "ok":
                    valid_inputs += 1
                    if v not in order:
                        order.append(v)
            assert res.numbers == order, (res.numbers, order)
            assert all(nums.is_normal(n) for n in res.numbers)
            bad_typed = [v for k, v, _ in typed_in if k == "bad"]
            bad_listed = [k for k, _, _ in listed if k == "bad"]
            assert [r.given for r in res.rejected if r.source == "typed"] == [
                v for i, v in enumerate(bad_typed) if v not in bad_typed[:i]]  # each distinct input once
            assert sum(1 for r in res.rejected if r.source != "typed") == len(bad_listed)
            dropped_typed_dups = len(bad_typed) - len(set(bad_typed))
            assert len(res.duplicates) == valid_inputs - len(order) + dropped_typed_dups

    prop()
