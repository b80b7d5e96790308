"""The workspace inbox (CLIENT-inbox): storing MOs from the client, unread count, read,
reply through Client.send, delete, export; and its CLI (``smsdk inbox``, ``smsdk password
change``) against the in-process fake platform."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections import deque
from datetime import datetime

import pytest
from click.testing import CliRunner
from twisted.internet.task import Clock

from smsdk.china_time import CHINA
from smsdk.cli import main
from smsdk.client import MoMessage
from smsdk.workspace import Workspace
from smsdk.workspace.inbox import Inbox, InboxError

ACCOUNT = "10657109000001"
T0 = datetime(2024, 5, 1, 8, 0, 0, tzinfo=CHINA).timestamp()


@pytest.fixture
def clock() -> Clock:
    c = Clock()
    c.advance(T0)
    return c


@pytest.fixture
def box(tmp_path, clock):
    ws = Workspace(tmp_path / "ws.sqlite3", clock=clock.seconds)
    yield Inbox(ws, ACCOUNT)
    ws.close()


def mo(text="你好", sender="13900139000", dest=ACCOUNT + "01") -> MoMessage:
    return MoMessage(sender=sender, dest_id=dest, text=text, content=text.encode("utf-16-be"),
                     msg_fmt=8, parts=1, received_at=0.0)


def test_stores_mos_with_sender_time_text_account_and_extension(box, clock):
    m = box.on_mo(mo())
    assert (m.sender, m.text, m.account, m.extension, m.dest_id) == (
        "13900139000", "你好", ACCOUNT, "01", ACCOUNT + "01")
    assert m.time_text == "2024-05-01 08:00:00" and not m.read
    clock.advance(5)
    m2 = box.add("+86 138-0013-8000", "hi")
    assert m2.sender == "13800138000" and m2.received_at == T0 + 5 and m2.extension == ""
    assert [x.id for x in box.list()] == [m2.id, m.id]  # newest first


def test_unread_count_read_and_mark(box):
    a, b = box.on_mo(mo("a")), box.on_mo(mo("b"))
    assert box.unread_count() == 2
    assert box.read(a.id).read and box.unread_count() == 1
    assert box.mark_read([b.id]) == 1 and box.unread_count() == 0
    assert box.mark_read([b.id], read=False) == 1 and box.unread_count() == 1
    assert [m.id for m in box.list(unread_only=True)] == [b.id]
    assert box.mark_all_read() == 1 and box.unread_count() == 0


def test_accounts_are_kept_apart(box):
    box.on_mo(mo())
    other = box.receiver("10657109000002")(mo(dest="10657109000002"))
    assert other.account == "10657109000002"
    assert box.unread_count() == 1 and box.unread_count("10657109000002") == 1
    assert len(Inbox(box.ws).list()) == 2  # an inbox without an account sees all


def test_drain_stores_the_clients_queue_once(box):
    q = deque([mo("1"), mo("2")])
    assert box.drain(q) == 2 and not q
    assert [m.text for m in box.list()] == ["2", "1"]


def test_http_events_keep_their_own_time(box):
    from smsdk.http.wire import MoEvent

    when = datetime(2024, 4, 30, 12, 0, tzinfo=CHINA)
    m = box.on_http_mo(MoEvent("13900139000", ACCOUNT + "7", when, "http mo"))
    assert m.time == when and m.extension == "7"


def test_delete_is_all_or_nothing(box):
    a = box.on_mo(mo())
    with pytest.raises(InboxError, match="no received message has id 999"):
        box.delete([a.id, 999])
    assert box.count() == 1
    assert box.delete([a.id]) == 1 and box.count() == 0


@pytest.mark.parametrize("call, match", [
    (lambda b: b.get(5), "no received message has id 5"),
    (lambda b: b.mark_read(["x"]), "whole numbers"),
    (lambda b: b.add("", "x"), "needs its sender"),
    (lambda b: b.add("13900139000", None), "needs a text"),
    (lambda b: b.list(limit=-1), "limit must be"),
    (lambda b: b.export(io.StringIO(), "xls"), "export format must be one of csv, txt"),
])
def test_refusals_are_inbox_errors(box, call, match):
    with pytest.raises(InboxError, match=match):
        call(box)


def test_inbox_needs_a_workspace():
    with pytest.raises(TypeError, match="Workspace"):
        Inbox("ws.sqlite3")  # type: ignore[arg-type]


def test_export_csv_and_txt(box, tmp_path):
    box.on_mo(mo("第一,行\n第二行"))
    box.add("13800138000", None, content=b"\xff\xfe", msg_fmt=15)
    path = tmp_path / "inbox.csv"
    assert box.export(path, "csv") == 2
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with a BOM
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["id", "time", "sender", "account", "extension", "to", "text", "read"]
    assert rows[1][2:7] == ["13900139000", ACCOUNT, "01", ACCOUNT + "01", "第一,行\n第二行"]
    assert rows[2][6].startswith("<undecodable Msg_Fmt 15")
    txt = box.export_text("txt")
    assert "发信人: 13900139000" in txt and "内容: 第一,行\n      第二行" in txt
    with pytest.raises(InboxError, match="cannot write"):
        box.export(tmp_path / "missing" / "x.csv")


def test_reply_goes_through_client_send_and_marks_read(box):
    from smsdk_harness.conformance.world import MAIN, World

    with World() as w:
        c = w.started()
        m = box.on_mo(mo("在吗", sender="13900139000"))
        sub = box.reply(m.id, "在的", c)
        assert w.run_until(lambda: sub.deferred.called)
        assert sub.outcomes["13900139000"].state.value == "delivered"
        assert w.platform.handset("13900139000").texts == ["在的【示例科技】"]
        assert box.get(m.id).read
        assert w.platform.submissions(MAIN)[-1].dest == ("13900139000",)
        with pytest.raises(InboxError, match="non-empty"):
            box.reply(m.id, "", c)


def test_client_on_mo_feeds_the_inbox_end_to_end(tmp_path, clock):
    from smsdk_harness.conformance.world import MAIN, MAIN_PW, World

    ws = Workspace(tmp_path / "ws.sqlite3", clock=clock.seconds)
    box = Inbox(ws, MAIN)
    with World() as w:
        w.platform.inject_mo("13900139000", MAIN + "5", "offline one")  # kept until login
        w.started(MAIN, MAIN_PW, on_mo=box.on_mo)
        w.platform.inject_mo("13900139001", MAIN, "长" * 100)  # concatenated: one message
        w.run(5)
    texts = sorted(m.text for m in box.list())
    assert texts == ["offline one", "长" * 100] and box.unread_count() == 2
    ws.close()


# ------------------------------------------------------------------ CLI


def cli(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def test_cli_list_read_delete_export(box, tmp_path):
    a = box.on_mo(mo("hello"))
    box.on_mo(mo("again"))
    path = str(box.ws.path)
    out = cli("inbox", "list", "--workspace", path, "--json")
    data = json.loads(out.stdout)
    assert out.exit_code == 0 and data["unread"] == 2 and [m["text"] for m in data["messages"]] == ["again", "hello"]
    out = cli("inbox", "read", "--workspace", path, str(a.id))
    assert out.exit_code == 0 and "hello" in out.stdout and "13900139000" in out.stdout
    out = cli("inbox", "list", "--workspace", path)
    assert "1 unread" in out.stderr and "*" in out.stdout
    out = cli("inbox", "export", "--workspace", path, "--format", "txt", "-o", "-")
    assert out.exit_code == 0 and out.stdout.count("发信人") == 2
    target = tmp_path / "out.csv"
    assert cli("inbox", "export", "--workspace", path, "-o", str(target), "--id", str(a.id)).exit_code == 0
    assert "hello" in target.read_text(encoding="utf-8-sig")
    out = cli("inbox", "delete", "--workspace", path, str(a.id), "12345")
    assert out.exit_code == 1 and "no received message has id 12345" in out.stderr
    assert cli("inbox", "delete", "--workspace", path, str(a.id)).stdout.strip() == "deleted 1 message"
    out = cli("inbox", "read", "--workspace", path, str(a.id))
    assert out.exit_code == 1 and "Traceback" not in out.output


def test_cli_workspace_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SMSDK_WORKSPACE", str(tmp_path / "env.sqlite3"))
    out = cli("inbox", "list", "--json")
    assert out.exit_code == 0 and json.loads(out.stdout) == {"unread": 0, "messages": []}
    assert (tmp_path / "env.sqlite3").exists()


def test_cli_unusable_workspace_is_one_sentence(tmp_path):
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"not a database" * 100)
    out = cli("inbox", "list", "--workspace", str(bad))
    assert out.exit_code == 1 and "not a usable workspace" in out.output and "Traceback" not in out.output


def _run_against(fake, args, timeout=60):
    proc = subprocess.Popen([sys.executable, "-m", "smsdk.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        fake.run_until(lambda: proc.poll() is not None, timeout=timeout, what="the CLI to exit")
        out, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_cli_receive_prints_unread_at_login_and_stores_mos(fake_smsc, tmp_path):
    acc = fake_smsc.account()
    path = str(tmp_path / "ws.sqlite3")
    ws = Workspace(path)
    Inbox(ws, acc.id).add("13700137000", "old unread")
    ws.close()
    fake_smsc.platform.inject_mo("13900139000", acc.id, "来自手机")  # offline until the login
    login = ["--host", fake_smsc.host, "--port", str(fake_smsc.port), "--account", acc.id,
             "--password", acc.password]
    result = _run_against(fake_smsc, ["inbox", "receive", "--workspace", path, *login, "--duration", "2",
                                      "--settle", "0.5"])
    assert result.returncode == 0, result.stderr
    assert "你有 2 条未读短信" in result.stderr and "-- 2 unread" in result.stderr
    assert "来自手机" in result.stdout
    ws = Workspace(path)
    [m] = Inbox(ws, acc.id).list(limit=1)
    assert m.text == "来自手机" and m.sender == "13900139000"
    ws.close()
    result = _run_against(fake_smsc, ["inbox", "reply", "--workspace", path, str(m.id), "收到", *login,
                                      "-s", acc.signature, "--wait", "10"])
    assert result.returncode == 0, result.stderr
    assert "13900139000  delivered DELIVRD" in result.stdout
    assert fake_smsc.platform.handset("13900139000").texts == ["收到" + acc.signature]


def _receive_in_memory(w, box, **kw):
    """``inbox receive`` joined to the World's fake in memory, on its simulated clock."""
    from twisted.internet import defer

    from smsdk.cli_inbox import _receive
    from smsdk.testing import MemoryEndpoint
    from smsdk_harness.conformance.world import MAIN, MAIN_PW

    endpoint = MemoryEndpoint(w.server.build_protocol, w.clock)
    w.endpoints.append(endpoint)
    return defer.ensureDeferred(_receive(w.clock, box, "in-memory", 9981, MAIN, MAIN_PW, "empp", 30.0,
                                         endpoint=endpoint, **kw))


def test_receive_counts_the_offline_mos_delivered_after_the_login(tmp_path, clock, capsys):
    # the platform holds two MOs for the account; the count printed at login includes them
    # (it used to be printed as soon as the login answered, before they had arrived: 1)
    from smsdk_harness.conformance.world import MAIN, World

    ws = Workspace(tmp_path / "ws.sqlite3", clock=clock.seconds)
    box = Inbox(ws, MAIN)
    box.add("13700137000", "old unread")
    with World() as w:
        w.platform.inject_mo("13900139000", MAIN, "离线一")   # offline until the login
        w.platform.inject_mo("13900139001", MAIN + "5", "离线二")
        assert len(w.platform.offline(MAIN)) == 2
        d = _receive_in_memory(w, box, duration=30.0, settle=2.0)
        w.run(1.0)
        w.platform.inject_mo("13900139002", MAIN, "登录后一秒")  # still within the settle: counted
        w.run(1.0)
        assert "未读短信" not in capsys.readouterr().err      # not quiet for 2 s yet
        w.run(2.5)
        out = capsys.readouterr()
        assert "你有 4 条未读短信 (4 unread messages)" in out.err
        assert [line.split()[-1] for line in out.out.splitlines()] == ["离线一", "离线二", "登录后一秒"]
        w.platform.inject_mo("13900139003", MAIN, "后来的")   # after the count: printed as it comes
        w.run_until(lambda: d.called, limit=60)
        out = capsys.readouterr()
        assert d.result == 0 and "后来的" in out.out and "未读短信" not in out.err and "-- 5 unread" in out.err
    ws.close()


def test_receive_prints_the_count_at_duration_if_the_mos_never_settle(tmp_path, clock, capsys):
    from smsdk_harness.conformance.world import MAIN, World

    ws = Workspace(tmp_path / "ws.sqlite3", clock=clock.seconds)
    box = Inbox(ws, MAIN)
    with World() as w:
        w.platform.inject_mo("13900139000", MAIN, "离线")
        t0 = w.clock.seconds()
        d = _receive_in_memory(w, box, duration=3.0, settle=60.0)
        w.run_until(lambda: d.called, limit=60)
        err = capsys.readouterr().err
        assert d.result == 0 and w.clock.seconds() - t0 < 10
        assert err.index("你有 1 条未读短信") < err.index("-- 1 unread")
    ws.close()


def test_receive_prints_the_count_at_the_settle_limit_if_mos_keep_coming(tmp_path, clock, capsys):
    from smsdk.cli_inbox import SETTLE_LIMIT
    from smsdk_harness.conformance.world import MAIN, World

    ws = Workspace(tmp_path / "ws.sqlite3", clock=clock.seconds)
    box = Inbox(ws, MAIN)
    with World() as w:
        d = _receive_in_memory(w, box, duration=SETTLE_LIMIT + 20, settle=1.0)
        w.run(0.25)
        t0 = w.clock.seconds()
        printed_at = None
        for i in range(int(SETTLE_LIMIT * 2) + 10):  # one MO every 0.5 s: never quiet for 1 s
            w.platform.inject_mo(f"139{i:08d}", MAIN, f"第{i}条")
            w.run(0.5)
            if printed_at is None and "未读短信" in capsys.readouterr().err:
                printed_at = w.clock.seconds() - t0
        assert printed_at is not None and SETTLE_LIMIT - 1 <= printed_at <= SETTLE_LIMIT + 1
        w.run_until(lambda: d.called, limit=60)
        assert d.result == 0
    ws.close()


def test_cli_password_change(fake_smsc):
    acc = fake_smsc.account()
    login = ["--host", fake_smsc.host, "--port", str(fake_smsc.port), "--account", acc.id]
    result = _run_against(fake_smsc, ["password", "change", *login, "--password", acc.password, "--new", "new-pw-1"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"password of {acc.id} changed"
    assert fake_smsc.platform.authenticate(acc.id, "new-pw-1").ok
    result = _run_against(fake_smsc, ["password", "change", *login, "--password", "wrong", "--new", "x"])
    assert result.returncode == 3 and "login refused" in result.stderr


def test_cli_password_change_refuses_a_bad_new_password_before_connecting():
    out = cli("password", "change", "--host", "127.0.0.1", "--account", "1", "--password", "p", "--new", "x" * 17)
    assert out.exit_code == 2 and "1 to 16" in out.output
    out = cli("password", "change", "--host", "127.0.0.1", "--account", "1", "--password", "p",
              "--dialect", "cmpp3", "--new", "x")
    assert out.exit_code == 2 and "only EMPP" in out.output
