"""Pollers keep to FAQ-3.4.2 by construction: ≥ 60 s between calls per endpoint, report windows
≤ 1 h within today and the 2 days before, no gap and no duplicate after downtime."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdk.dispatch import OutcomeState
from smsdk.http import HttpClient, HttpSender, MoPoller, QueryPoller, ReportPoller, ReportWindows, wire
from tests.http_stub import ACCOUNT, EPOCH, make, wallclock

URL = "http://sms.example:8000"


def setup(**options):
    clock, stub, treq = make()
    client = HttpClient(URL, **ACCOUNT, reactor=clock, http=treq, wallclock=wallclock(clock), **options)
    return clock, stub, client


def at_minute(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H%M").replace(tzinfo=wire.CHINA)


def gaps(requests) -> list[float]:
    return [b.at - a.at for a, b in zip(requests, requests[1:])]


def test_mo_poller_every_5_minutes_with_keepdeliver_and_each_mo_once():
    clock, stub, client = setup()
    mos = []
    line = "13800138000,106571090001,20240520085900,%C4%FA%BA%C3\n"
    stub.answer("/httpdeliver.sms", ("100\n" + line).encode(), ("100\n" + line).encode(), b"100\n")
    stub.default["/httpdeliver.sms"] = b"100\n"
    poller = MoPoller(client, mos.append)
    poller.start()
    clock.advance(0)
    clock.pump([30.0] * 40)  # 20 minutes
    requests = stub.of("/httpdeliver.sms")
    assert [r.at for r in requests] == [0.0, 300.0, 600.0, 900.0, 1200.0]
    assert all(r.params["keepdeliver"] == "true" and r.params["urlencoding"] == "on" for r in requests)
    assert [m.text for m in mos] == ["您好"] and poller.duplicates == 1
    poller.stop()
    clock.pump([60.0] * 10)
    assert len(stub.of("/httpdeliver.sms")) == 5


def test_intervals_under_a_minute_are_refused():
    clock, stub, client = setup()
    with pytest.raises(ValueError, match="at least 60 s"):
        MoPoller(client, print, interval=30)
    with pytest.raises(ValueError, match="at least 60 s"):
        ReportPoller(client, print, catch_up_interval=59)
    with pytest.raises(ValueError, match="window must be"):
        ReportWindows(EPOCH, window=7200)


def reports_stub(platform_reports):
    """Answer /httpreport.sms with the reports whose minute is in [start, end)."""
    def answer(seen):
        start, end = at_minute(seen.params["start"]), at_minute(seen.params["end"])
        assert timedelta(0) < end - start <= timedelta(hours=1)
        lines = [f"{r.send_id},{r.mobile},{r.stat},{wire.format_time(r.time)}"
                 for r in platform_reports if start <= r.time.replace(second=0) < end]
        return ("100\n" + "".join(line + "\n" for line in lines)).encode()
    return answer


def test_report_poller_catches_up_after_downtime_without_gaps_or_duplicates():
    clock, stub, client = setup()
    since = EPOCH - timedelta(hours=5, minutes=30)   # last window end persisted before a restart
    platform = [wire.ReportEvent(str(i), "13800138000", "DELIVRD", since + timedelta(minutes=7 * i, seconds=13))
                for i in range(60)]                  # one every 7 minutes, into the future
    stub.default["/httpreport.sms"] = reports_stub(platform)
    got = []
    poller = ReportPoller(client, got.append, since=since)
    poller.start()
    clock.pump([1.0] * 3600 * 3)   # 3 hours
    requests = stub.of("/httpreport.sms")
    assert min(gaps(requests)) >= 60.0
    windows = [(at_minute(r.params["start"]), at_minute(r.params["end"])) for r in requests]
    assert windows[0][0] == since
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:]))   # contiguous: no gap, no overlap
    assert all(end - start <= timedelta(hours=1) for start, end in windows)
    # 5 h 30 behind: 5 full windows one catch-up interval apart, then every 10 minutes
    assert gaps(requests)[:4] == [61.0] * 4 and set(gaps(requests)[4:]) == {600.0}
    end = windows[-1][1]
    expected = [r for r in platform if r.time < end]
    assert got == expected and len(got) == len({r.key for r in got})
    assert poller.last_end == end


def test_report_poller_after_more_than_two_days_starts_at_the_earliest_allowed():
    clock, stub, client = setup()
    stub.default["/httpreport.sms"] = b"100\n"
    poller = ReportPoller(client, print, since=EPOCH - timedelta(days=4))
    poller.start()
    clock.advance(0)
    first = stub.of("/httpreport.sms")[0]
    assert first.params["start"] == "202405180000"   # 2024-05-20 minus two days, midnight
    assert poller.windows.skipped == [(EPOCH - timedelta(days=4), at_minute("202405180000"))]


def test_report_poller_retries_a_window_after_10004_and_skips_one_refused_three_times():
    clock, stub, client = setup()
    stub.answer("/httpreport.sms", b"10004\n", b"100\n")
    poller = ReportPoller(client, print, since=EPOCH - timedelta(minutes=20))
    poller.start()
    clock.pump([1.0] * 62)
    first, second = stub.of("/httpreport.sms")
    assert second.at - first.at == 61.0 and first.params["start"] == second.params["start"]
    assert poller.last_end == EPOCH + timedelta(minutes=1)

    clock, stub, client = setup()
    stub.default["/httpreport.sms"] = b"101\n"
    poller = ReportPoller(client, print, since=EPOCH - timedelta(minutes=20))
    poller.start()
    clock.pump([1.0] * 200)
    assert len(stub.of("/httpreport.sms")) >= 4
    (start, end), *_ = poller.windows.skipped
    assert start == EPOCH - timedelta(minutes=20) and end > start
    assert poller.last_end == end   # moved on past the refused window


def test_pollers_share_no_limit_but_each_endpoint_keeps_its_own():
    clock, stub, client = setup()
    stub.default["/httpdeliver.sms"] = b"100\n"
    stub.default["/httpreport.sms"] = b"100\n"
    MoPoller(client, print, interval=60).start()
    ReportPoller(client, print, interval=60, since=EPOCH - timedelta(minutes=5)).start()
    clock.pump([5.0] * 12 * 30)
    for path in ("/httpdeliver.sms", "/httpreport.sms"):
        assert min(gaps(stub.of(path))) >= 60.0 and len(stub.of(path)) >= 25


@given(st.lists(st.one_of(st.integers(0, 3_600), st.integers(3_600, 4 * 86_400)), min_size=1, max_size=30),
       st.integers(0, 3 * 86_400))
def test_report_windows_cover_time_without_gaps_or_overlaps(steps, back):
    since = EPOCH - timedelta(seconds=back)
    windows = ReportWindows(since)
    now = EPOCH
    covered = []
    for step in steps:
        now += timedelta(seconds=step)
        while True:
            window = windows.next_window(now)
            if window is None:
                break
            start, end = window
            assert timedelta(0) < end - start <= timedelta(hours=1)
            assert start >= wire.earliest_report_time(now)
            assert end <= now
            wire.check_window(start, end, now)   # the client would send it
            covered.append(window)
            windows.done(end)
    pieces = sorted(covered + windows.skipped)
    if pieces:
        assert pieces[0][0] == since.replace(second=0)
        assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))
        assert pieces[-1][1] == now.replace(second=0)


def test_query_poller_asks_for_send_ids_awaiting_reports():
    clock, stub, treq = make()
    sender = HttpSender(URL, **ACCOUNT, reports="query", reactor=clock, http=treq, wallclock=wallclock(clock))
    stub.answer("/httpserver", b"100\n500\n", b"100\n501\n")
    submission = sender.send("hi", [f"1380013800{i}" for i in range(7)])
    stub.answer("/queryrptbyid.sms",
                b"100\n500,13800138000,DELIVRD,20240520090010\n501,13800138005,DELIVRD,20240520090011\n")
    stub.default["/queryrptbyid.sms"] = lambda seen: ("100\n" + "".join(
        f"{sid},{m},DELIVRD,20240520090100\n" for sid in seen.params["ids"].split(",")
        for m in [f"1380013800{i}" for i in range(7)])).encode()
    sender.start(first_report_poll=5)
    clock.advance(5)
    first = stub.of("/queryrptbyid.sms")[0]
    assert dict(parse_qsl(first.raw_query))["ids"] == "500,501"
    assert len(submission.outcomes) == 2
    clock.advance(60)
    assert submission.done and all(o.state is OutcomeState.DELIVERED for o in submission.outcomes.values())
    clock.advance(120)
    assert len(stub.of("/queryrptbyid.sms")) == 2   # nothing awaiting: no more calls
    sender.stop()
