"""Address books: public and personal books, groups, caps (FAQ-5.1.2, 5.2.5, 5.2.6) and the
duplicate rules of FAQ-5.2.7 on add."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_profiles import examples

from smsdk.workspace.books import (
    BookError,
    BookFullError,
    Books,
    CapError,
    ContactError,
    parse_birthday,
)
from smsdk.workspace.store import Workspace


@pytest.fixture
def books():
    ws = Workspace(":memory:", clock=lambda: 1000.0)
    yield Books(ws)
    ws.close()


def test_public_and_personal_books_are_separate(books):
    pub, mine = books.public(), books.personal("alice")
    pub.add("张三", "13800138000")
    mine.add("张三", "+86 139-0013-9000", nickname="小张", remark="VIP", birthday="1990/5/1")
    assert [c.mobile for c in pub.contacts()] == ["13800138000"]
    (c,) = mine.contacts()
    assert (c.name, c.mobile, c.nickname, c.remark, c.birthday) == ("张三", "13900139000", "小张", "VIP", "1990-05-01")
    assert [b.key for b in books.list()] == ["public", "personal:alice"]
    assert books.book("alice").key == books.book("personal:alice").key == "personal:alice"


def test_contact_fields_are_validated(books):
    pub = books.public()
    with pytest.raises(ContactError, match="empty name"):
        pub.add("  ", "13800138000")
    with pytest.raises(ContactError, match="empty mobile"):
        pub.add("张三", "")
    with pytest.raises(ContactError, match="not a mainland mobile"):
        pub.add("张三", "12345")
    with pytest.raises(ContactError, match="PHS"):
        pub.add("张三", "01062345678")
    with pytest.raises(ContactError, match="name longer than 64"):
        pub.add("x" * 65, "13800138000")
    with pytest.raises(ContactError, match="not a date"):
        pub.add("张三", "13800138000", birthday="1990-02-30")
    with pytest.raises(BookError, match="account name"):
        books.personal(" ")
    assert pub.count() == 0


@pytest.mark.parametrize("text,want", [
    ("1990-05-01", "1990-05-01"), ("1990/5/1", "1990-05-01"), ("1990年5月1日", "1990-05-01"),
    ("19900501", "1990-05-01"), ("05-01", "--05-01"), ("5月1日", "--05-01"), ("--02-29", "--02-29"),
    (dt.date(1990, 5, 1), "1990-05-01"), (dt.datetime(1990, 5, 1, 0, 0), "1990-05-01"), ("", None), (None, None),
])
def test_birthdays(text, want):
    assert parse_birthday(text) == want


@pytest.mark.parametrize("text", ["13/01", "1990-13-01", "soon", "1991-02-29"])
def test_bad_birthdays_are_errors(text):
    with pytest.raises(ContactError, match="not a date"):
        parse_birthday(text)


def test_birthdays_on_a_day(books):
    pub = books.public()
    pub.add("a", "13800138000", birthday="1990-05-01")
    pub.add("b", "13800138001", birthday="05-01")
    pub.add("c", "13800138002", birthday="1990-05-02")
    assert [c.name for c in pub.birthdays_on(dt.date(2026, 5, 1))] == ["a", "b"]


def test_duplicate_rules_on_add(books):
    pub = books.public()
    first = pub.add("张三", "13800138000", group="客户")
    assert first.status == "added" and first.grouped
    again = pub.add("张三", "138 0013 8000", group="朋友")
    assert again.status == "exists" and again.contact == first.contact and again.grouped
    assert pub.add("张三", "13800138000", group="朋友").grouped is False  # already there
    same_name = pub.add("张三", "13900139000", group="客户")
    assert same_name.status == "conflict" and same_name.contact is None
    assert same_name.conflict is not None and same_name.conflict.existing == (first.contact,)
    same_mobile = pub.add("李四", "13800138000")
    assert same_mobile.status == "conflict"
    assert pub.count() == 1
    forced = pub.add("张三", "13900139000", on_conflict="add", group="客户")
    assert forced.status == "added"
    assert [c.mobile for c in pub.contacts("客户")] == ["13800138000", "13900139000"]
    assert pub.groups_of(first.contact.id) == ["客户", "朋友"]
    with pytest.raises(BookError, match="on_conflict"):
        pub.add("王五", "13700137000", on_conflict="merge")


def test_groups(books):
    pub = books.public()
    c = pub.add("张三", "13800138000").contact
    assert c is not None
    assert pub.add_to_group(c.id, "客户") is True
    assert pub.add_to_group(c.id, "客户") is False
    assert [(g.name, n) for g, n in pub.groups()] == [("客户", 1)]
    assert pub.remove_from_group(c.id, "客户") is True
    pub.delete_group("客户")
    assert pub.groups() == [] and pub.count() == 1
    with pytest.raises(BookError, match="no group"):
        list(pub.contacts("客户"))
    with pytest.raises(BookError, match="needs a name"):
        pub.group(" ")
    with pytest.raises(BookError, match="no contact 99"):
        pub.add_to_group(99, "x")


def test_update_and_delete(books):
    pub = books.public()
    c = pub.add("张三", "13800138000", group="g").contact
    assert c is not None
    c2 = pub.update(c.id, nickname="老张", mobile="+8613900139000")
    assert (c2.nickname, c2.mobile) == ("老张", "13900139000")
    with pytest.raises(ContactError, match="unknown contact field"):
        pub.update(c.id, email="x")
    pub.delete(c.id)
    assert pub.count() == 0 and [(g.name, n) for g, n in pub.groups()] == [("g", 0)]
    with pytest.raises(BookError, match="no contact"):
        pub.delete(c.id)


def test_caps_follow_the_package(books):
    assert books.public().cap() is None  # no package: nothing capped
    books.set_package("standard")
    assert books.package() == 2000 and books.public_cap() == 2000
    assert books.personal("bob").cap() == 0  # no cap set by the admin yet
    books.set_cap("alice", 1500)
    assert books.public_cap() == 500
    with pytest.raises(CapError, match=r"add up to 2001, more than the package's 2000.*500 at most"):
        books.set_cap("bob", 501)
    books.set_cap("bob", 500)
    assert books.public_cap() == 0 and books.caps() == {"alice": 1500, "bob": 500}
    with pytest.raises(CapError, match="already add up to 2000"):
        books.set_package("basic")
    with pytest.raises(CapError, match="unknown package"):
        books.set_package("gold")
    with pytest.raises(CapError, match="≥ 0"):
        books.set_cap("bob", -1)
    books.set_package(None)
    assert books.public().cap() is None


def test_the_cap_is_a_clear_error_when_full(books):
    books.set_package(3)
    books.set_cap("alice", 1)
    mine = books.personal("alice")
    mine.add("a", "13800138000")
    with pytest.raises(BookFullError, match=r"'alice''s personal book is full: it holds 1 contacts, its cap is 1"):
        mine.add("b", "13800138001")
    assert mine.add("a", "13800138000").status == "exists"  # a duplicate costs no room
    pub = books.public()
    pub.add("a", "13800138000")
    pub.add("b", "13800138001")
    with pytest.raises(BookFullError, match="public book is full.*FAQ-5.2.6"):
        pub.add("c", "13800138002")
    with pytest.raises(CapError, match="would leave the public book room for 1 contacts, but it holds 2"):
        books.set_cap("alice", 2)
    with pytest.raises(CapError, match="holds 1 contacts, more than cap 0"):
        books.set_cap("alice", 0)


@examples(40)
@given(caps=st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 300)), max_size=10),
       package=st.integers(0, 1000))
def test_caps_never_exceed_the_package(caps, package):
    """FAQ-5.1.2/5.2.6: whatever caps the admin tries, the sum stays ≤ package and the public
    cap is package − sum."""
    with Workspace(":memory:") as ws:
        b = Books(ws)
        b.set_package(package)
        for account, cap in caps:
            before = b.caps()
            others = sum(v for k, v in before.items() if k != account)
            try:
                b.set_cap(account, cap)
                assert others + cap <= package
            except CapError:
                assert others + cap > package
                assert b.caps() == before
            assert sum(b.caps().values()) <= package
            assert b.public_cap() == package - sum(b.caps().values())
