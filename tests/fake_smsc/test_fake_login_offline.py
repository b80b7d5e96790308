"""Login bookkeeping (kick → 20000, refuse → 10001, bad credentials → 3) and offline
messages kept 48 h (FAQ-3.1.5, 3.5.1)."""

from __future__ import annotations

from fake_smsc_helpers import MAIN, MAIN_PW, MOBILE, SUB, SUB_PW, RecordingSink, settle, text_submit

from smsdk import codes

H48 = 48 * 3600


def test_bind_statuses_are_the_sdk_codes():
    for status in (0, 3, 10001, 20000):
        assert status in codes.EMPP_CONNECT_STATUS


def test_bind_checks_credentials(platform):
    assert platform.bind(MAIN, RecordingSink(), password="nope").status == 3
    r = platform.bind("10657109999999", RecordingSink(), password="x")
    assert r.status == 3 and "no account" in r.reason
    assert platform.bind(MAIN, RecordingSink(), password=MAIN_PW).status == 0


def test_bind_accepts_a_check_callable(platform):
    seen = []

    def check(stored):
        seen.append(stored)
        return stored == MAIN_PW

    assert platform.bind(MAIN, RecordingSink(), password=check).ok
    assert seen == [MAIN_PW]
    assert platform.authenticate(SUB, lambda pw: False).status == 3


def test_login_policy_kick(platform):
    old, new = RecordingSink("old"), RecordingSink("new")
    assert platform.bind(MAIN, old).status == 0
    r = platform.bind(MAIN, new)
    assert r.status == 20000 and r.ok
    assert old.kicks == 1 and new.kicks == 0
    assert platform.session(MAIN) is new
    # the kicked session's late unbind changes nothing
    assert platform.unbind(MAIN, old) is False
    assert platform.session(MAIN) is new


def test_login_policy_refuse(make_platform):
    p = make_platform(platform='login_policy = "refuse"')
    first = RecordingSink()
    assert p.bind(MAIN, first).status == 0
    r = p.bind(MAIN, RecordingSink())
    assert r.status == 10001 and "already has a session" in r.reason
    assert p.session(MAIN) is first and first.kicks == 0
    p.unbind(MAIN, first)
    assert p.bind(MAIN, RecordingSink()).status == 0


def test_roles_that_cannot_log_in(make_platform):
    p = make_platform(accounts='role = "contact_only"')
    r = p.bind(SUB, RecordingSink(), password=SUB_PW)
    assert r.status == 3 and "contact_only" in r.reason
    # data entry logs in (it edits the address books) but can neither send nor receive
    p2 = make_platform(accounts='role = "data_entry"')
    assert p2.bind(SUB, RecordingSink(), password=SUB_PW).status == 0


def test_change_password(platform):
    assert platform.change_password(MAIN, "wrong", "x") == 1
    assert platform.change_password(MAIN, MAIN_PW, "new-pw") == 0
    assert platform.bind(MAIN, RecordingSink(), password="new-pw").ok


def _report_offline(platform, clock, account=MAIN):
    platform.submit(account, text_submit("hi"))
    settle(clock, 1)


def test_offline_items_flushed_in_order_at_login(platform, clock):
    for text in ("a", "b", "c"):
        platform.submit(MAIN, text_submit(text))
        settle(clock, 1)
    platform.inject_mo(MOBILE, MAIN, "reply")
    assert len(platform.offline(MAIN)) == 4
    sink = RecordingSink()
    r = platform.bind(MAIN, sink)
    assert (r.flushed, r.dropped) == (4, 0)
    assert [i.kind for i in sink.items] == ["report", "report", "report", "mo"]
    ids = [i.msg_id for i in sink.reports]
    assert ids == sorted(ids)
    assert platform.offline(MAIN) == []
    assert all(rr.state == "flushed" for rr in platform.reports())


def test_offline_kept_48h_exactly_then_dropped(platform, clock):
    _report_offline(platform, clock)       # queued at t = 1
    clock.advance(H48)                      # age 48 h: still kept
    sink = RecordingSink()
    assert platform.bind(MAIN, sink).flushed == 1
    platform.unbind(MAIN, sink)
    _report_offline(platform, clock)
    clock.advance(H48 + 0.5)                # older than 48 h: dropped (by housekeeping)
    r = platform.bind(MAIN, RecordingSink())
    assert r.flushed == 0
    assert platform.reports()[-1].state == "dropped"
    assert platform.counters["offline_dropped"] == 1


def test_bind_drops_what_is_too_old(make_platform, clock):
    p = make_platform(platform="housekeeping_interval = 1000000")
    _report_offline(p, clock)
    clock.advance(H48 + 0.5)
    r = p.bind(MAIN, RecordingSink())
    assert (r.flushed, r.dropped) == (0, 1)


def test_offline_items_are_dropped_without_a_login(platform, clock):
    _report_offline(platform, clock)
    clock.advance(H48 + 120)  # housekeeping runs every minute
    assert platform.sizes()["offline"] == 0
    assert platform.offline(MAIN) == []


def test_offline_from_disconnect(make_platform, clock):
    p = make_platform(platform='offline_from = "disconnect"')
    sink = RecordingSink()
    p.bind(MAIN, sink)
    p.unbind(MAIN, sink)                    # disconnected at t = 0
    clock.advance(H48 - 10)
    _report_offline(p, clock)               # queued 1 s later, only seconds old at login
    clock.advance(20)                       # but the logout was over 48 h ago
    r = p.bind(MAIN, RecordingSink())
    assert (r.flushed, r.dropped) == (0, 1)


def test_kicked_login_receives_nothing_more(platform, clock):
    old, new = RecordingSink("old"), RecordingSink("new")
    platform.bind(MAIN, old)
    platform.bind(MAIN, new)
    _report_offline(platform, clock)
    assert old.items == [] and len(new.reports) == 1


def test_sink_errors_do_not_break_the_model(platform, clock, caplog):
    class Broken(RecordingSink):
        def deliver(self, item):
            raise RuntimeError("boom")

    platform.bind(MAIN, Broken())
    with caplog.at_level("ERROR", logger="smsdk_harness.fake_smsc"):
        _report_offline(platform, clock)
    assert platform.counters["sink_errors"] == 1
    # logged through the standard library (the model has no Twisted logger), with the error
    (record,) = caplog.records
    assert record.getMessage() == "a sink's deliver() raised"
    assert record.exc_info is not None and str(record.exc_info[1]) == "boom"
