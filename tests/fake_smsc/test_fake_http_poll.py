"""Polling (FAQ-3.1.4, 3.4.1, 3.4.2; PROTOCOL.md §3b): /httpdeliver.sms, /httpreport.sms,
/queryrptbyid.sms, the once-a-minute limit, report windows, and what HTTP accounts keep."""

from __future__ import annotations

import datetime as dt
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_profiles import examples

from fake_smsc_helpers import MOBILE, MOBILE2
from http_helpers import MAIN, MAIN_PW, SUB, SUB_PW, World

DELIVER, REPORT, QUERY = "/httpdeliver.sms", "/httpreport.sms", "/queryrptbyid.sms"


@pytest.fixture
def world():
    w = World()
    yield w
    w.close()


def minute(w: World, minutes: float = 0) -> str:
    return w.stamp(minutes)


# -- /httpdeliver.sms ------------------------------------------------------------------------

def test_mos_one_a_line_url_encoded_gbk_by_default(world):
    world.platform.inject_mo(MOBILE, MAIN, "你好, 世界")
    world.clock.advance(5)
    world.platform.inject_mo(MOBILE2, MAIN + "88", "two")
    a = world.poll(DELIVER)
    assert a.code == 100 and a.charset == "gbk"
    rows = [line.split(",", 3) for line in a.lines]
    assert [(r[0], r[1], r[2]) for r in rows] == [(MOBILE, MAIN, "20240501080000"),
                                                (MOBILE2, MAIN + "88", "20240501080005")]
    assert unquote_to_bytes(rows[0][3]).decode("gbk") == "你好, 世界" and rows[1][3] == "two"
    assert a.encoded()[1] == "GBK"


def test_urlencoding_off_puts_the_text_with_line_breaks_as_spaces_and_comment_adds_a_header(world):
    world.platform.inject_mo(MOBILE, MAIN, "a,b\r\nc\nd")
    a = world.poll(DELIVER, urlencoding="off", comment="on")
    assert a.lines == ["#mobile,dest_id,time,content", f"{MOBILE},{MAIN},20240501080000,a,b c d"]
    assert a.text() == "100\n#mobile,dest_id,time,content\n" + f"{MOBILE},{MAIN},20240501080000,a,b c d\n"


def test_keepdeliver_true_deletes_what_was_returned_false_keeps_it(world):
    world.platform.inject_mo(MOBILE, MAIN, "one")
    assert len(world.poll(DELIVER, keepdeliver="false").lines) == 1
    world.clock.advance(60)
    assert len(world.poll(DELIVER, keepdeliver="true").lines) == 1
    world.platform.inject_mo(MOBILE, MAIN, "two")
    world.clock.advance(60)
    a = world.poll(DELIVER, keepdeliver="true")
    assert [line.rsplit(",", 1)[1] for line in a.lines] == ["two"]
    world.clock.advance(60)
    assert world.poll(DELIVER).lines == []


def test_a_sub_account_polls_its_own_mos_with_its_own_password(world):
    world.platform.inject_mo(MOBILE, SUB, "to sub")
    world.platform.inject_mo(MOBILE, MAIN, "to main")
    a = world.poll(DELIVER, eid=SUB, password=SUB_PW, urlencoding="off")
    assert [line.rsplit(",", 1)[1] for line in a.lines] == ["to sub"]
    assert world.poll(DELIVER, eid=SUB, password=MAIN_PW).code in (102, 10004)


def test_an_mo_gbk_cannot_hold_is_sent_in_gb18030_never_replaced(world):
    world.platform.inject_mo(MOBILE, MAIN, "hi 😀")
    a = world.poll(DELIVER, urlencoding="off")
    body, charset = a.encoded()
    assert charset == "GB18030" and body.decode("gb18030").endswith(",hi 😀\n")
    world.clock.advance(60)
    a = world.poll(DELIVER, charset="utf-8")
    assert a.charset == "utf-8" and unquote_to_bytes(a.lines[0].rsplit(",", 1)[1]).decode() == "hi 😀"


def test_bad_switch_values_and_unknown_eid(world):
    a = world.poll(DELIVER, keepdeliver="yes")
    assert a.code == 101 and "keepdeliver" in a.reason
    assert world.poll(DELIVER, eid="999").code == 102
    a = world.http.handle(DELIVER, {"eid": MAIN})
    assert a.code == 101 and "auth" in a.reason
    a = world.http.handle(DELIVER, {"eid": MAIN, "pswd": "wrong"})
    assert a.code == 102


def test_eid_may_be_the_enterprise_id_for_its_main_account(world):
    world.platform.inject_mo(MOBILE, MAIN, "x")
    a = world.poll(DELIVER, eid="E1")
    assert a.code == 100 and len(a.lines) == 1


def test_with_the_enterprise_id_the_password_or_accountid_says_which_account_polls(world):
    sid = int(world.send("hi", accountid="01", password=SUB_PW).lines[0])
    world.settle()
    # the sub-account's password proves the sub-account (the SDK sends eid = enterprise id)
    a = world.poll(QUERY, eid="E1", password=SUB_PW, ids=str(sid))
    assert a.code == 100 and len(a.lines) == 1
    assert world.poll(QUERY, eid="E1", password=MAIN_PW, ids=str(sid)).lines == []
    assert len(world.poll(QUERY, eid="E1", password=SUB_PW, accountid="01", ids=str(sid)).lines) == 1
    a = world.poll(QUERY, eid="E1", password=MAIN_PW, accountid="01", ids=str(sid))
    assert a.code == 102 and "wrong password" in a.reason
    a = world.poll(QUERY, eid="E1", password=SUB_PW, accountid="77", ids=str(sid))
    assert a.code == 103
    a = world.poll(QUERY, eid="E1", password="nobody's", ids=str(sid))
    assert a.code == 102 and "no account of enterprise E1" in a.reason


# -- the once-a-minute limit ----------------------------------------------------------------

def test_each_polled_endpoint_answers_once_a_minute_per_enterprise(world):
    start, end = minute(world, -30), minute(world, 0)
    assert world.poll(DELIVER).code == 100
    assert world.poll(REPORT, start=start, end=end).code == 100  # another endpoint: its own minute
    world.clock.advance(59)
    a = world.poll(DELIVER)
    assert a.code == 10004 and "once per 60 s" in a.reason
    # another account of the same enterprise shares the limit
    assert world.poll(DELIVER, eid=SUB, password=SUB_PW).code == 10004
    world.clock.advance(1)
    assert world.poll(DELIVER).code == 100


def test_refused_polls_do_not_use_up_the_minute(world):
    assert world.poll(DELIVER, password="wrong").code == 102
    assert world.poll(DELIVER, urlencoding="maybe").code == 101
    assert world.poll(DELIVER).code == 100


def test_queryrptbyid_has_no_minute_limit(world):
    for _ in range(3):
        assert world.poll(QUERY, ids="1").code == 100


# -- reports ---------------------------------------------------------------------------------

def test_reports_by_window_and_by_id_one_line_per_recipient(world):
    world.platform.network.set_outcome(MOBILE2, "UNDELIV", delay=3)
    sid = int(world.send("hi", f"{MOBILE},{MOBILE2}").lines[0])
    world.settle()
    a = world.poll(REPORT, start=minute(world, -10), end=minute(world, 1), comment="on")
    assert a.code == 100
    assert a.lines == ["#send_id,mobile,stat,time", f"{sid},{MOBILE},DELIVRD,20240501080001",
                       f"{sid},{MOBILE2},UNDELIV,20240501080003"]
    q = world.poll(QUERY, ids=f"{sid},999,{sid}")
    assert q.lines == a.lines[1:]


def test_a_recipients_line_waits_for_every_piece(world):
    sid = int(world.send("x" * 130, MOBILE).lines[0])  # 3 pieces
    assert [r.id for r in world.platform.submissions()] == [sid, sid + 1, sid + 2]
    world.clock.advance(0)
    assert world.poll(QUERY, ids=str(sid)).lines == []
    world.settle()
    assert world.poll(QUERY, ids=str(sid)).lines == [f"{sid},{MOBILE},DELIVRD,20240501080001"]


def test_a_recipients_outcome_is_the_first_failing_piece_and_the_last_time():
    from types import SimpleNamespace as NS

    from smsdk_harness.fake_smsc.http_server import HttpSend

    def piece(*reports):
        return NS(recipients=[NS(report=r) for r in reports])

    def rep(stat, t):
        return NS(stat=stat, generated_at=t)

    send = HttpSend(1, MAIN, "E1", ("a", "b"), [
        piece(rep("DELIVRD", 5.0), rep("DELIVRD", 1.0)),
        piece(rep("UNDELIV", 2.0), None),
        piece(rep("EXPIRED", 9.0), rep("DELIVRD", 3.0)),
    ], 0.0)
    assert send.outcome(0) == ("UNDELIV", 9.0)
    assert send.outcome(1) is None  # the second piece has no report yet


def test_queryrptbyid_leaves_out_other_accounts_sends_and_refuses_bad_ids(world):
    sid = int(world.send("hi", accountid="01", password=SUB_PW).lines[0])
    world.settle()
    assert world.poll(QUERY, ids=str(sid)).lines == []  # the main account asks: not its send
    assert len(world.poll(QUERY, eid=SUB, password=SUB_PW, ids=str(sid)).lines) == 1
    for bad in ("", "1;2", "abc", "1,,2"):
        a = world.poll(QUERY, ids=bad)
        assert a.code == 101 and "ids" in a.reason, bad
    assert world.http.handle(QUERY, {"eid": MAIN, "pswd": MAIN_PW}).code == 101


@pytest.mark.parametrize("start, end, words", [
    (-61, 0, "over 60 min"),
    (0, -1, "before start"),
    (-3 * 24 * 60, -3 * 24 * 60 + 30, "outside today and the 2 days before"),
    (24 * 60 + 1, 24 * 60 + 20, "outside today"),
])
def test_report_windows_over_an_hour_or_outside_three_days_are_101(world, start, end, words):
    a = world.poll(REPORT, start=minute(world, start), end=minute(world, end))
    assert a.code == 101 and words in a.reason


def test_report_window_parameters_must_be_real_minutes(world):
    for start in ("2024050108", "202405010860", "not-a-number"):
        a = world.poll(REPORT, start=start, end=minute(world))
        assert a.code == 101 and "start" in a.reason
    a = world.http.handle(REPORT, {"eid": MAIN, "pswd": MAIN_PW, "start": minute(world)})
    assert a.code == 101 and "'end' is missing" in a.reason


def test_two_days_back_from_midnight_is_still_allowed(world):
    earliest = world.platform.china_now().replace(hour=0, minute=0) - dt.timedelta(days=2)
    s = earliest.strftime("%Y%m%d%H%M")
    e = (earliest + dt.timedelta(minutes=60)).strftime("%Y%m%d%H%M")
    assert world.poll(REPORT, start=s, end=e).code == 100


@examples(30)
@given(gaps=st.lists(st.integers(0, 1500), min_size=1, max_size=6), window=st.integers(1, 60))
def test_property_consecutive_windows_return_every_report_exactly_once(gaps, window):
    """Sends spread over time; half-open windows [start, end) tiling the day return each
    recipient's line exactly once."""
    w = World()
    try:
        sids = []
        for gap in gaps:
            w.clock.advance(gap)
            sids.append(int(w.send("hi", MOBILE).lines[0]))
        w.settle()
        t0 = dt.datetime(2024, 5, 1, 8, 0)
        t_end = w.platform.china_now().replace(tzinfo=None) + dt.timedelta(minutes=2)
        seen = []
        t = t0
        while t < t_end:
            nxt = t + dt.timedelta(minutes=window)
            w.clock.advance(60)  # the once-a-minute limit
            a = w.poll(REPORT, start=t.strftime("%Y%m%d%H%M"), end=nxt.strftime("%Y%m%d%H%M"))
            assert a.code == 100, a.reason
            seen += [int(line.split(",")[0]) for line in a.lines]
            t = nxt
        assert sorted(seen) == sorted(sids)
    finally:
        w.close()


# -- what HTTP accounts keep ---------------------------------------------------------------

def test_reports_of_http_sends_are_kept_for_polling_never_sent_to_empp_or_offline(world):
    from fake_smsc_helpers import MOBILE as N

    class Sink:
        items: list = []

        def deliver(self, item):
            self.items.append(item)

        def kicked(self):
            pass

    sink = Sink()
    assert world.platform.bind(MAIN, sink).ok
    assert world.send("hi", N).code == 100
    world.settle()
    assert sink.items == []
    assert world.platform.offline(MAIN) == []
    assert [r.state for r in world.platform.reports()] == ["stored"]


def test_sends_are_forgotten_after_retention_days(world):
    sid = int(world.send("hi").lines[0])
    world.settle()
    assert sid in world.http.sends
    world.clock.advance(7 * 86400 + 120)
    assert world.poll(QUERY, ids=str(sid)).lines == []
    assert sid not in world.http.sends
