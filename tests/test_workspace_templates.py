"""Templates (CLIENT-merge) and recipients (CLIENT-numbers)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_profiles import examples

from smsdk import text as text_mod
from smsdk.workspace.books import BookError, Books
from smsdk.workspace.recipients import Recipient, parse_group_ref, resolve
from smsdk.workspace.store import Workspace
from smsdk.workspace.templates import Field, TemplateError, Templates, parse, plan_merge


@pytest.fixture
def ws():
    w = Workspace(":memory:", clock=lambda: 1000.0)
    yield w
    w.close()


def test_fill_in():
    t = parse("{name}您好，{{会员}}{nickname}：{remark}")
    assert t.fields == ("name", "nickname", "remark")
    assert t.fill({"name": "张三", "nickname": "老张", "remark": None}) == "张三您好，{会员}老张："
    assert t.fill(Recipient("13800138000", "李四")) == "李四您好，{会员}："
    assert parse("{ name }").pieces == (Field("name"),)


@pytest.mark.parametrize("body,message", [
    ("Hi {mobile}", r"unknown placeholder \{mobile\} at position 4: the fields are \{name\}, \{nickname\}, \{remark\}"),
    ("Hi {name", "'{' at position 4 is never closed"),
    ("Hi {na{name}", "'{' at position 4 is never closed"),
    ("Hi name}", "'}' at position 8 closes nothing"),
    ("Hi {}", "unknown placeholder {}"),
    ("   ", "empty template"),
    ("x" * 1001, "longer than 1000"),
])
def test_template_errors(body, message):
    with pytest.raises(TemplateError, match=message):
        parse(body)


def test_lengths_are_planned_after_filling_in():
    t = parse("{name}：" + "通" * 60)
    short, long_ = {"name": "张", "mobile": "13800138000"}, {"name": "欧" * 12, "mobile": "13800138001"}
    mp = plan_merge(t, [short, long_], signature="【公司】")
    assert [m.sms for m in mp.items] == [1, 2]
    assert mp.total_sms == 3
    assert mp.items[1].plan == text_mod.plan(t.fill(long_), signature="【公司】")
    mp = plan_merge("{remark}", [{"remark": "", "mobile": "13800138000"}, {"remark": "x" * 20000, "mobile": "13800138001"},
                                 {"remark": "hi", "mobile": "13800138002"}])
    assert [m.mobile for m in mp.refused] == ["13800138000", "13800138001"]
    assert "empty" in mp.refused[0].error and "at most 255" in mp.refused[1].error
    assert [m.mobile for m in mp.sendable] == ["13800138002"] and mp.total_sms == 1


@examples(60)
@given(name=st.text(max_size=30), nickname=st.text(max_size=10), remark=st.text(max_size=30),
       lit=st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=20))
def test_fill_is_plain_substitution(name, nickname, remark, lit):
    t = parse(lit + "{name}|{nickname}|{remark}{{}}")
    assert t.fill({"name": name, "nickname": nickname, "remark": remark}) == f"{lit}{name}|{nickname}|{remark}{{}}"


def test_stored_templates(ws):
    ts = Templates(ws)
    ts.save("生日", "{name}生日快乐")
    ts.save("生日", "{name}，生日快乐！")
    assert [(s.name, s.body) for s in ts.list()] == [("生日", "{name}，生日快乐！")]
    assert ts.get("生日").template.fields == ("name",)
    with pytest.raises(TemplateError, match="unknown placeholder"):
        ts.save("bad", "{phone}")
    with pytest.raises(TemplateError, match="needs a name"):
        ts.save(" ", "x")
    ts.delete("生日")
    with pytest.raises(TemplateError, match="no template '生日'"):
        ts.get("生日")


def test_recipients_from_every_source(ws, tmp_path):
    books = Books(ws)
    pub = books.public()
    pub.add("张三", "13800138000", nickname="老张", group="客户")
    pub.add("李四", "13800138001", group="客户")
    books.personal("alice").add("王五", "13800138002", group="朋友")
    lst = tmp_path / "list.csv"
    lst.write_text("姓名,手机\n赵六,13800138003\n钱七,bad\n重复,13800138001\n", encoding="utf-8")
    res = resolve(numbers_given=["+86 138 0013 8000", "", "01062345678", "13900139000", "13900139000"],
                  groups=["public/客户", "alice/朋友"], lists=[lst], books=books)
    assert res.numbers == ["13800138000", "13900139000", "13800138001", "13800138002", "13800138003"]
    assert res.recipients[0] == Recipient("13800138000", "张三", "老张", "", "typed")  # fields filled in
    assert [(r.given, r.source, r.reason) for r in res.rejected] == [
        ("", "typed", "empty number"),
        ("01062345678", "typed", "PHS (小灵通) and fixed-line numbers are not supported (FAQ-2.1.9)"),
        ("bad", f"{lst}:3", "mobile 'bad': not a mainland mobile number"),
    ]
    assert [(d.given, d.source) for d in res.duplicates] == [
        ("13900139000", "typed"), ("13800138000", "public/客户"), ("13800138001", f"{lst}:4")]


def test_group_refs(ws):
    assert parse_group_ref("public/客户") == ("public", "客户")
    assert parse_group_ref("alice") == ("alice", None)
    with pytest.raises(BookError, match="BOOK/GROUP"):
        parse_group_ref("/客户")
    with pytest.raises(BookError, match="need the workspace"):
        resolve(groups=["public"])
    with pytest.raises(BookError, match="no group"):
        resolve(groups=["public/none"], books=Books(ws))
