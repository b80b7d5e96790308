"""``smsdk campaign`` as a person runs it: a real process against the minimal EMPP server
(``server`` fixture, tests/conftest.py), the workspace in a temporary file."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

ACCOUNT = "10657109000001"


def smsdk(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smsdk.cli", "campaign", *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture
def ws(tmp_path):
    return str(tmp_path / "ws.sqlite3")


def conn(port: int) -> list[str]:
    return ["--host", "127.0.0.1", "--port", str(port), "--account", ACCOUNT, "--password", "secret",
            "--wait", "5"]


def test_send_lists_and_send_again(server, ws):
    out = smsdk("send", "--workspace", ws, *conn(server), "--to", "13800138000", "--to", "13800138001",
                "--to", "12345", "--json", "你好")
    assert out.returncode == 0, out.stderr
    made = json.loads(out.stdout)["campaigns"][0]
    assert made["state"] == "sent" and made["counts"] == {"delivered": 2, "rejected": 1}
    sent = json.loads(smsdk("sent", "--today", "--json", "--workspace", ws).stdout)["campaigns"]
    assert [c["id"] for c in sent] == [made["id"]]
    assert json.loads(smsdk("unsent", "--json", "--workspace", ws).stdout) == {"campaigns": []}
    again = smsdk("send-again", str(made["id"]), "--workspace", ws, *conn(server), "--json")
    assert again.returncode == 0, again.stderr
    new = json.loads(again.stdout)["campaigns"][0]
    assert new["resent_from"] == made["id"] and new["counts"] == {"delivered": 2}
    shown = json.loads(smsdk("show", str(made["id"]), "--json", "--workspace", ws).stdout)
    assert [r["state"] for r in shown["recipients"]] == ["delivered", "delivered", "rejected"]
    table = smsdk("list", "--workspace", ws)
    assert table.returncode == 0 and "again 1" in table.stdout


def test_scheduled_listed_cancelled_and_due(server, ws):
    out = smsdk("send", "--workspace", ws, "--to", "13800138000", "--at", "+2h", "明天见")
    assert out.returncode == 0, out.stderr  # no connection needed to store a scheduled campaign
    assert "scheduled for" in out.stdout
    listed = json.loads(smsdk("scheduled", "--json", "--workspace", ws).stdout)["campaigns"]
    assert [c["state"] for c in listed] == ["scheduled"]
    assert "no scheduled campaign is due" in smsdk("due", "--workspace", ws).stdout
    soon = smsdk("send", "--workspace", ws, "--to", "13800138001", "--at", "+1m", "--lead", "0", "--json", "马上")
    soon_id = json.loads(soon.stdout)["campaign"]["id"]
    due = smsdk("due", "--workspace", ws, *conn(server), "--json")  # within the 300 s lead
    assert due.returncode == 0, due.stderr
    assert [c["id"] for c in json.loads(due.stdout)["campaigns"]] == [soon_id]
    cancelled = smsdk("cancel", str(listed[0]["id"]), "--workspace", ws)
    assert cancelled.returncode == 0 and "cancelled (1 recipients)" in cancelled.stdout
    assert json.loads(smsdk("scheduled", "--json", "--workspace", ws).stdout) == {"campaigns": []}
    again = smsdk("cancel", str(soon_id), "--workspace", ws)
    assert again.returncode == 2 and "cannot be cancelled any more" in again.stderr


@pytest.mark.parametrize("args, message", [
    (["send", "--to", "13800138000", "hi"], "sending needs --host, --account, --password"),
    (["send", "hi"], "give at least one --to NUMBER"),
    (["send", "--to", "13800138000", "--at", "soon", "hi"], "cannot read the time 'soon'"),
    (["send", "--to", "bad", "--at", "+1h", "hi"], "no valid recipient among the 1 given"),
    (["send", "--to", "13800138000", "--at", "+1h", "-s", "nobrackets", "hi"], "cannot send this text"),
    (["continue", "7", "--host", "h", "--account", "a", "--password", "p"], "no campaign 7"),
    (["cancel", "7"], "no campaign 7"),
    (["show", "1", "--state", "lost"], "no campaign 1"),
])
def test_bad_input_is_one_clear_line(ws, args, message):
    out = smsdk(*args, "--workspace", ws)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_nothing_left_to_send_is_said_before_connecting(server, ws):
    out = smsdk("send", "--workspace", ws, *conn(server), "--to", "13800138000", "hi")
    assert out.returncode == 0, out.stderr
    again = smsdk("continue", "1", "--workspace", ws, "--host", "127.0.0.1", "--port", "1",
                  "--account", ACCOUNT, "--password", "secret", timeout=20)
    assert again.returncode == 2 and "nothing left to send" in again.stderr


def test_wrong_password_is_exit_3_and_the_campaign_stays_unsent(server, ws):
    out = smsdk("send", "--workspace", ws, "--host", "127.0.0.1", "--port", str(server), "--account",
                ACCOUNT, "--password", "wrong", "--to", "13800138000", "hi")
    assert out.returncode == 3 and "login refused" in out.stderr
    unsent = json.loads(smsdk("unsent", "--json", "--workspace", ws).stdout)["campaigns"]
    assert [c["counts"] for c in unsent] == [{"queued": 1}]


def _book(ws: str) -> None:
    from smsdk.workspace.books import Books
    from smsdk.workspace.store import Workspace
    from smsdk.workspace.templates import Templates

    with Workspace(ws) as w:
        book = Books(w).public()
        book.add("张三", "13800138000", remark="北京", group="客户")
        book.add("李四", "13800138001", remark="上海", group="客户")
        book.add("王五", "13800138002", group="VIP")
        book.group("空")
        Templates(w).save("问候", "{name}您好，{remark}门店周末满 200 减 50。")


def test_send_to_a_group_with_a_template_makes_one_personal_campaign(server, ws):
    _book(ws)
    out = smsdk("send", "--workspace", ws, *conn(server), "--group", "public/客户", "--to", "13800138002",
                "--to", "138-0013-8000", "--to", "12345", "--template", "问候", "--json")
    assert out.returncode == 0, out.stderr
    (made,) = json.loads(out.stdout)["campaigns"]  # one mailing, one campaign
    assert made["text"] == "{name}您好，{remark}门店周末满 200 减 50。" and made["personal"] is True
    assert made["counts"] == {"delivered": 3, "rejected": 1}
    shown = json.loads(smsdk("show", str(made["id"]), "--json", "--workspace", ws).stdout)
    # typed first, then the group, each number once; a typed number takes the name its group knows
    assert [(r["recipient"], r["text"], r["state"]) for r in shown["recipients"]] == [
        ("13800138002", "您好，门店周末满 200 减 50。", "delivered"),
        ("13800138000", "张三您好，北京门店周末满 200 减 50。", "delivered"),
        ("13800138001", "李四您好，上海门店周末满 200 减 50。", "delivered"),
        ("12345", None, "rejected")]
    text = smsdk("show", str(made["id"]), "--workspace", ws).stdout
    assert "personal: a text per recipient, from the template {name}您好" in text
    assert "«张三您好，北京门店周末满 200 减 50。»" in text
    assert "(personal)" in smsdk("sent", "--workspace", ws).stdout
    # plain output: the campaign's id once
    again = smsdk("resend", str(made["id"]), "--workspace", ws, *conn(server))
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("campaign ") == 1 and "delivered 3" in again.stdout


def test_a_template_that_cannot_be_sent_is_refused_naming_a_recipient(ws):
    _book(ws)
    out = smsdk("send", "--workspace", ws, "--host", "127.0.0.1", "--port", "1", "--account", ACCOUNT,
                "--password", "p", "--group", "public/客户", "--template", "问候", "-s", "no brackets")
    assert out.returncode == 2, (out.stdout, out.stderr)
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("smsdk campaign: cannot send this text: the text for 13800138000 cannot be sent")
    assert json.loads(smsdk("list", "--json", "--workspace", ws).stdout) == {"campaigns": []}


def test_send_a_text_to_groups(server, ws):
    _book(ws)
    out = smsdk("send", "--workspace", ws, *conn(server), "--group", "public/客户", "--group", "public/VIP",
                "--to", "13800138001", "--json", "周末促销")
    assert out.returncode == 0, out.stderr
    (made,) = json.loads(out.stdout)["campaigns"]
    assert made["text"] == "周末促销" and made["counts"] == {"delivered": 3}


@pytest.mark.parametrize("args, message", [
    (["--group", "public/空", "hi"], "group public/空 has no contacts: nothing to send to them"),
    (["--group", "public/不存在", "hi"], "no group '不存在' in the public book"),
    (["--group", "public/客户", "--template", "没有"], "no template '没有'"),
    (["--to", "12345", "--template", "问候"], "no valid recipient among the 1 given"),
])
def test_bad_groups_and_templates_are_one_line_before_connecting(ws, args, message):
    _book(ws)
    out = smsdk("send", "--workspace", ws, "--host", "127.0.0.1", "--port", "1", "--account", ACCOUNT,
                "--password", "p", *args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stderr.strip().splitlines() == [f"smsdk campaign: {message}"]
    assert json.loads(smsdk("list", "--json", "--workspace", ws).stdout) == {"campaigns": []}  # nothing stored


@pytest.mark.parametrize("args", [["--group", "public/客户"], ["--group", "public/客户", "--template", "问候", "hi"]])
def test_text_or_template_exactly_one(ws, args):
    out = smsdk("send", "--workspace", ws, "--host", "h", "--account", "a", "--password", "p", *args)
    assert out.returncode == 2 and "give the TEXT to send or --template NAME" in out.stderr
