"""Bills (smsdk.workspace.bills) and birthday greetings (smsdk.workspace.birthdays): campaigns
really sent to a MinimalServer on a task.Clock (the Rig of test_workspace_outbox), the
workspace's clock injected; the CLI through click's CliRunner."""

from __future__ import annotations

import csv
import io
import time
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_profiles import examples
from test_workspace_outbox import SIG, T0, Rig, numbers

from smsdk import text as text_mod
from smsdk.china_time import CHINA
from smsdk.cli import main
from smsdk.workspace.bills import BillError, Bills, months_back, to_csv, to_text
from smsdk.workspace.birthdays import BirthdayError, Birthdays, month_days, parse_time
from smsdk.workspace.books import Books
from smsdk.workspace.store import Workspace

LONG = "长" * 100  # > 60 chars: concatenated parts, each billed


@pytest.fixture
def rig(tmp_path):
    r = Rig(tmp_path / "ws.sqlite3")
    yield r
    r.ws.close()


def send(rig: Rig, text: str, to: list[str], **kw) -> int:
    c = rig.outbox.create(text, to, **kw)
    run = rig.outbox.start(rig.client(), c.id)
    rig.run(2.0)
    assert run.done.called
    return c.id


def lines(bill) -> dict[str, int]:
    return {ln.key: ln.sms for ln in bill.lines}


# -- bills ----------------------------------------------------------------------------------------


def test_bill_counts_every_accepted_piece_by_type_account_and_group(rig):
    book = Books(rig.ws).public()
    book.add("甲", numbers(1)[0], group="客户")
    parts = text_mod.plan(LONG, signature=SIG).sms_per_recipient
    assert parts > 1
    send(rig, "验证码 1234", numbers(3) + ["12345"], account="alice")  # the invalid one is never billed
    send(rig, LONG, numbers(2))
    bills = Bills(rig.ws)
    (nov,) = bills.bill("2026-11")
    assert lines(nov) == {"normal": 3, "long": 2 * parts, "scheduled": 0, "birthday": 0}
    assert nov.total_sms == 3 + 2 * parts and nov.total_recipients == 5
    (acc,) = bills.bill("2026-11", by="account")
    assert lines(acc) == {"(default)": 2 * parts, "alice": 3}
    (grp,) = bills.bill("2026-11", by="group")
    assert lines(grp) == {"public/客户": 1 + parts, "(no group)": 2 + parts}
    (only,) = bills.bill("2026-11", group="public/客户")
    assert only.total_sms == 1 + parts and only.total_recipients == 2  # one row in each campaign
    (alice,) = bills.bill("2026-11", account="alice")
    assert alice.total_sms == 3
    assert [b.month for b in bills.bill()] == ["2026-11", "2026-10", "2026-09"]
    text = to_text(bills.bill("2026-11"))
    assert "Bill 2026-11 by type" in text and f"{3 + 2 * parts}" in text
    rows = list(csv.DictReader(io.StringIO(to_csv(bills.bill()))))
    total = [r for r in rows if r["month"] == "2026-11" and r["key"] == "total"]
    assert total and total[0]["sms"] == str(3 + 2 * parts)


def test_a_personal_campaign_is_billed_per_row_from_its_own_text(rig):
    """One campaign, a text per recipient: a recipient whose filled-in text is long is
    billed its parts, the others one SMS each (the template itself is short)."""
    parts = text_mod.plan(LONG, signature=SIG).sms_per_recipient
    short, long_ = numbers(3), numbers(2, base=50)
    c = rig.outbox.create_personal("{name}您好", [(short[0], "张三您好"), (long_[0], LONG),
                                                 (short[1], "李四您好"), (long_[1], LONG + "!"),
                                                 (short[2], "王五您好"), ("12345", LONG)])
    run = rig.outbox.start(rig.client(), c.id)
    rig.run(2.0)
    assert run.done.called and len(run.submissions) == 5
    rows = {r.number: r for r in rig.outbox.recipients(c.id)}
    assert [len(rows[n].msg_ids) for n in short + long_] == [1, 1, 1, parts, parts]
    (nov,) = Bills(rig.ws).bill("2026-11")
    assert lines(nov) == {"normal": 3, "long": 2 * parts, "scheduled": 0, "birthday": 0}
    assert nov.total_sms == 3 + 2 * parts and nov.total_recipients == 5  # the bad number: nothing


def test_unsent_cancelled_and_unanswered_recipients_cost_nothing(rig):
    rig.outbox.create("never started", numbers(4))
    cancelled = rig.outbox.create("cancelled", numbers(2), at=datetime.fromtimestamp(T0 + 3600, CHINA))
    rig.outbox.cancel(cancelled.id)
    (nov,) = Bills(rig.ws).bill("2026-11")
    assert nov.total_sms == 0 and nov.total_recipients == 0


def test_month_is_the_at_time_month_and_only_three_months_are_billed(rig):
    at = datetime(2026, 12, 1, 8, 0, tzinfo=CHINA)  # scheduled into next month
    send(rig, "月初提醒", numbers(2), at=at)
    assert lines(Bills(rig.ws).bill("2026-11")[0])["scheduled"] == 0
    rig.clock.advance(at.timestamp() - rig.clock.seconds() + 60)
    (dec,) = Bills(rig.ws).bill("2026-12")
    assert lines(dec)["scheduled"] == 2
    rig.clock.advance(90 * 86400)  # March 2027: December is more than three months back
    bills = Bills(rig.ws)
    assert bills.months() == ["2027-03", "2027-02", "2027-01"]
    with pytest.raises(BillError, match="last 3 months only"):
        bills.bill("2026-12")


@pytest.mark.parametrize("month, match", [
    ("2026-13", "not a month"), ("2026-1", "not a month"), ("11/2026", "not a month"), ("", "not a month"),
    ("2026-00", "not a month"), ("2026-08", "last 3 months only"), ("2026-12", "last 3 months only"),
])
def test_bad_months_refused(rig, month, match):
    with pytest.raises(BillError, match=match):
        Bills(rig.ws).bill(month)


def test_bad_breakdowns_and_groups_refused(rig):
    bills = Bills(rig.ws)
    with pytest.raises(BillError, match="cannot break a bill down by 'day'"):
        bills.bill(by="day")
    with pytest.raises(BillError, match="unknown group 'public/nobody'"):
        bills.bill(group="public/nobody")
    with pytest.raises(BillError, match="BOOK/GROUP"):
        bills.bill(group="public")
    with pytest.raises(TypeError):
        Bills("ws.sqlite3")  # type: ignore[arg-type]


@given(st.floats(0, 4e9))
@examples(30)
def test_months_back_are_this_month_and_the_two_before(now):
    got = months_back(now)
    here = datetime.fromtimestamp(now, CHINA)
    assert got[0] == here.strftime("%Y-%m") and len(set(got)) == 3
    for newer, older in zip(got, got[1:]):
        y, m = int(newer[:4]), int(newer[5:])
        assert older == (f"{y:04d}-{m - 1:02d}" if m > 1 else f"{y - 1:04d}-12")


# -- birthdays ------------------------------------------------------------------------------------


def test_greetings_scheduled_once_sent_at_their_time_and_billed_as_birthday(rig):
    book = Books(rig.ws).public()
    book.add("张三", numbers(1)[0], nickname="小张", birthday="1990-11-23", group="朋友")
    book.add("李四", numbers(1, 1)[0], birthday="--11-23")
    book.add("王五", numbers(1, 2)[0], birthday="1985-11-24")
    bd = Birthdays(rig.ws, rig.outbox)
    assert [c.name for c in bd.on("2026-11-23")] == ["张三", "李四"]
    assert [c.name for c in bd.on("2026-11-23", group="朋友")] == ["张三"]
    done = bd.schedule("{nickname}{name}，生日快乐！", "2026-11-23", at="09:30")
    assert [(s.text, s.skipped) for s in done] == [("小张张三，生日快乐！", ""), ("李四，生日快乐！", "")]
    assert all(s.campaign_id is not None for s in done)
    # the daily cron job runs again (and the next day): nothing twice
    again = bd.schedule("{name}，生日快乐！", "2026-11-23", at="10:00")
    assert [s.skipped for s in again] == ["already greeted in 2026"] * 2
    assert len(rig.outbox.scheduled()) == 2
    assert bd.greeted(done[0].contact, 2026) == done[0].campaign_id
    at = datetime(2026, 11, 23, 9, 30, tzinfo=CHINA).timestamp()
    assert [c.at for c in rig.outbox.scheduled()] == [at, at]
    # cron on the day: campaign due hands them over with At_Time
    rig.clock.advance(at - 300 - rig.clock.seconds())
    client = rig.client()
    for c in rig.outbox.due(lead=300):
        rig.outbox.start(client, c.id)
    rig.run(1.0)
    assert all(s.at_time.startswith("261123093000") for s in rig.server.submits)
    assert lines(Bills(rig.ws).bill("2026-11")[0])["birthday"] == 2


def test_february_29_is_greeted_on_the_28th_without_a_leap_day():
    assert month_days(date(2027, 2, 28)) == [(2, 28), (2, 29)]
    assert month_days(date(2028, 2, 28)) == [(2, 28)]
    assert month_days(date(2028, 2, 29)) == [(2, 29)]
    now = datetime(2027, 1, 10, tzinfo=CHINA).timestamp()
    with Workspace(":memory:", clock=lambda: now) as ws:
        book = Books(ws).public()
        book.add("闰", "13800000001", birthday="1992-02-29")
        book.add("平", "13800000002", birthday="--02-28")
        bd = Birthdays(ws)
        assert [c.name for c in bd.on("2027-02-28")] == ["闰", "平"]
        assert [c.name for c in bd.on("2028-02-28")] == ["平"]
        assert [c.name for c in bd.on("2028-02-29")] == ["闰"]
        assert [c.name for c in bd.on("2027-03-01")] == []
        done = bd.schedule("{name}生日快乐", "2027-02-28")
        assert len([s for s in done if s.campaign_id]) == 2


def test_one_greeting_per_mobile_in_a_run():
    now = datetime(2026, 5, 1, tzinfo=CHINA).timestamp()
    with Workspace(":memory:", clock=lambda: now) as ws:
        Books(ws).public().add("父", "13800000001", birthday="--05-02")
        Books(ws).personal("alice").add("父亲", "13800000001", birthday="--05-02")
        bd = Birthdays(ws)
        assert len([s for s in bd.schedule("生日快乐", "2026-05-02") if s.campaign_id]) == 1
        done = bd.schedule("生日快乐", "2026-05-02", book="alice")
        assert [s.campaign_id is not None for s in done] == [True]  # another book's contact: its own greeting


@pytest.mark.parametrize("kwargs, match", [
    ({"day": "2026-11-21"}, "in the past"),
    ({"day": "2026-02-30"}, "not a date"),
    ({"day": "tomorrow"}, "not a date"),
    ({"at": "24:00"}, "not a time of day"),
    ({"at": "9.30"}, "not a time of day"),
    ({"at": "09:60"}, "not a time of day"),
    ({"template": "{name"}, "bad greeting template"),
    ({"template": "{age}"}, "bad greeting template"),
    ({"group": "nobody"}, "unknown group 'nobody'"),
])
def test_bad_birthday_requests_refused(rig, kwargs, match):
    args = {"template": "{name}生日快乐", "day": "2026-11-23", **kwargs}
    with pytest.raises(BirthdayError, match=match):
        Birthdays(rig.ws, rig.outbox).schedule(args.pop("template"), args.pop("day"), **args)


def test_parse_time_bounds():
    assert parse_time("0:00").hour == 0 and parse_time("23:59").minute == 59


# -- the command line -----------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path):
    ws = str(tmp_path / "cli.sqlite3")

    def invoke(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(main, [*args, "--workspace", ws])
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    return invoke


def test_cli_bill_and_export(cli, tmp_path):
    months = months_back(time.time())
    out = cli("bill")
    assert all(f"Bill {m} by type" in out for m in months)
    assert "received (MO, not billed): 0" in out
    target = tmp_path / "bill.csv"
    assert "written to" in cli("bill", "--month", months[1], "--by", "account", "--export", str(target))
    assert target.read_text(encoding="utf-8").splitlines()[0] == "month,by,key,recipients,sms,failed"
    txt = tmp_path / "bill.txt"
    cli("bill", "--export", str(txt))
    assert f"Bill {months[2]} by type" in txt.read_text(encoding="utf-8")
    assert '"month"' in cli("bill", "--format", "json")


@pytest.mark.parametrize("args, match", [
    (("--month", "2026-13"), "not a month"),
    (("--month", "1999-01"), "last 3 months only"),
    (("--group", "public/nobody"), "unknown group"),
])
def test_cli_bill_bad_input(cli, args, match):
    assert match in cli("bill", *args, code=2)


def test_cli_birthday_list_and_schedule(cli):
    day = (datetime.fromtimestamp(time.time(), CHINA).date() + timedelta(days=2))
    cli("book", "add", "张三", "13800138000", "--birthday", day.strftime("%m-%d"))
    assert "张三" in cli("birthday", "list", "--date", day.isoformat())
    out = cli("birthday", "schedule", "--date", day.isoformat(), "--at", "08:15", "--template", "{name}生日快乐")
    assert "scheduled  campaign 1  张三" in out and "1 greeting scheduled" in out
    out = cli("birthday", "schedule", "--date", day.isoformat(), "--template", "{name}生日快乐")
    assert "already greeted" in out and "0 greetings scheduled" in out
    assert "campaign 1" in cli("birthday", "list", "--date", day.isoformat())
    cli("template", "save", "祝福", "{name}，生日快乐")
    day2 = day + timedelta(days=1)
    cli("book", "add", "李四", "13800138001", "--birthday", day2.isoformat())
    assert "李四，生日快乐" in cli("birthday", "schedule", "--date", day2.isoformat(), "--template-name", "祝福")


@pytest.mark.parametrize("args, match", [
    (("schedule", "--at", "25:00", "--template", "x"), "not a time of day"),
    (("schedule", "--date", "2000-01-01", "--template", "x"), "in the past"),
    (("schedule",), "--template TEXT or --template-name NAME"),
    (("schedule", "--template-name", "nope"), "no template 'nope'"),
    (("list", "--date", "2026-02-30"), "not a date"),
    (("list", "--group", "nobody"), "unknown group"),
])
def test_cli_birthday_bad_input(cli, args, match):
    assert match in cli("birthday", *args, code=2)
