"""``smsdk book``, ``smsdk template`` and ``smsdk recipients`` on a workspace file."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from smsdk.cli import main


@pytest.fixture
def run(tmp_path):
    ws = str(tmp_path / "ws.sqlite3")

    def invoke(*args: str, code: int = 0):
        result = CliRunner().invoke(main, [args[0], *args[1:2], "--workspace", ws, *args[2:]]
                                    if args[0] in ("book", "template") else [args[0], "--workspace", ws, *args[1:]])
        assert result.exit_code == code, result.output
        return result.output

    return invoke


def test_add_list_and_duplicates(run):
    assert "added #1 张三 13800138000" in run("book", "add", "张三", "13800138000", "--group", "客户")
    assert "exists #1" in run("book", "add", "张三", "138-0013-8000")
    out = run("book", "add", "张三", "13900139000", code=1)
    assert "partial duplicate of" in out and "#1 张三 13800138000" in out
    assert "added #2" in run("book", "add", "张三", "13900139000", "--force")
    listed = json.loads(run("book", "list", "--json"))
    assert listed == {"package": None, "books": [{"book": "public", "contacts": 2, "groups": 1, "cap": None}]}
    lines = run("book", "contacts", "--group", "客户", "--json").splitlines()
    assert [json.loads(x)["mobile"] for x in lines] == ["13800138000"]
    assert "not a mainland mobile number" in run("book", "add", "李四", "12345", code=1)


def test_groups_and_delete(run):
    run("book", "add", "张三", "13800138000", "-b", "alice")
    assert "group 朋友" in run("book", "group", "add", "朋友", "-b", "alice")
    assert "#1 changed" in run("book", "group", "put", "朋友", "1", "-b", "alice")
    assert "朋友\t1" in run("book", "group", "list", "-b", "alice")
    assert "group put NAME ID" in run("book", "group", "put", "朋友", "-b", "alice", code=2)
    run("book", "delete", "1", "-b", "alice")
    assert "朋友\t0" in run("book", "group", "list", "-b", "alice")


def test_caps(run):
    out = run("book", "caps", "--package", "basic", "--set", "alice=300")
    assert "package: 500" in out and "personal:alice\t0/300" in out and "public\t0/200" in out
    assert "more than the package's 500" in run("book", "caps", "--set", "bob=201", code=1)
    assert "ACCOUNT=CAP" in run("book", "caps", "--set", "bob", code=2)


def test_import_and_export(run, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes("姓名,手机\n张三,13800138000\n李四,bad\n".encode("gbk"))
    out = json.loads(run("book", "import", str(src), "--group", "客户", "--json"))
    assert (out["added"], out["skipped"], out["encoding"]) == (1, 1, "gb18030")
    assert out["skipped_rows"] == [{"row": 3, "reason": "mobile 'bad': not a mainland mobile number",
                                    "cells": ["李四", "bad"]}]
    text = run("book", "import", str(src), "--no-progress")
    assert "1 already there" in text and "Skipped rows" in text
    assert "exported 1 contacts" in run("book", "export", str(tmp_path / "out.xlsx"))
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a zip at all")
    assert "not an Excel file" in run("book", "import", str(bad), code=1)


def test_templates_and_recipients(run, tmp_path):
    run("book", "add", "张三", "13800138000", "--group", "客户")
    assert "saved 生日" in run("template", "save", "生日", "{name}，生日快乐")
    assert "unknown placeholder" in run("template", "save", "x", "{phone}", code=1)
    assert "生日\t{name}，生日快乐" in run("template", "list")
    out = json.loads(run("template", "preview", "生日", "-g", "public/客户", "--to", "123", "-s", "【公司】", "--json"))
    assert out["items"] == [{"mobile": "13800138000", "text": "张三，生日快乐", "sms": 1, "error": None}]
    assert out["left_out"][0]["reason"] == "not a mainland mobile number"
    assert "张三您好" in run("template", "preview", "{name}您好", "-g", "public")
    run("template", "delete", "生日")
    lst = tmp_path / "list.txt"
    lst.write_text("13800138000\n13900139000\n", encoding="utf-8")
    res = json.loads(run("recipients", "--to", "13900139000", "--list", str(lst), "-g", "public/客户", "--json"))
    assert [r["mobile"] for r in res["recipients"]] == ["13900139000", "13800138000"]
    assert len(res["duplicates"]) == 2  # both list numbers were already in
    assert "give --to" in run("recipients", code=2)


def test_import_with_a_progress_bar(run, tmp_path):
    src = tmp_path / "in.xlsx"
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["姓名", "手机"])
    for i in range(30):
        wb.active.append([f"n{i}", 13800000000 + i])
    wb.save(src)
    out = run("book", "import", str(src), "--progress")
    assert "30 added" in out


def test_import_force_adds_partial_duplicates(run, tmp_path):
    run("book", "add", "张三", "13800138000")
    src = tmp_path / "in.csv"
    src.write_text("姓名,手机\n张三,13900139000\n", encoding="utf-8")
    assert json.loads(run("book", "import", str(src), "--json"))["conflicts"] == 1
    assert json.loads(run("book", "import", str(src), "--json", "--force"))["added"] == 1
