"""HttpClient / HttpSender over treq's StubTreq and a stub of the wire (tests/http_stub.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from twisted.internet import defer, task
from twisted.internet.error import ConnectionRefusedError

from hypothesis import given, strategies as st
from hypothesis_profiles import examples

from smsdk.dispatch import DispatchSettings, OutcomeState
from smsdk.errors import ClientStopped, PlanError
from smsdk.http import (
    AuthenticationFailed,
    HttpClient,
    HttpRefused,
    HttpSender,
    ReportEvent,
    TextEncodingError,
)
from smsdk.http import codes as C
from smsdk.http import wire
from tests.http_stub import ACCOUNT, EPOCH, HANG, make, wallclock

URL = "http://sms.example:8000"


def client_for(clock=None, *, settings=None, offset=timedelta(0), **options):
    clock, stub, treq = make(clock)
    client = HttpClient(URL, **ACCOUNT, reactor=clock, http=treq, wallclock=wallclock(clock, offset),
                        dispatch_settings=settings, **options)
    return clock, stub, client


def result_of(d: defer.Deferred):
    results = []
    d.addBoth(results.append)
    assert results, "the Deferred has not fired"
    return results[0]


def send_ids(counter=iter(range(1000, 10_000))):
    return lambda seen: f"100\n{next(counter)}\n".encode()


def test_submit_returns_the_send_id_and_signs_with_auth_only():
    clock, stub, client = client_for()
    stub.answer("/httpserver", b"100\n4711\n")
    result = result_of(client.submit("您好", ["+86 138-0013-8000"]))
    assert result.send_id == "4711" and result.send_ids == {"13800138000": "4711"}
    (seen,) = stub.requests
    assert seen.method == "POST" and seen.raw_query == ""
    assert seen.params["timestamp"] == "202405200900"
    assert seen.params["auth"] == wire.auth_token("95102", "secret", "202405200900")
    assert seen.params["msg"] == "您好" and seen.params["mobs"] == "13800138000"
    assert b"secret" not in seen.body and "pswd" not in seen.params


def test_six_numbers_are_chunked_not_refused():
    clock, stub, client = client_for()
    stub.default["/httpserver"] = send_ids()
    numbers = [f"1380013800{i}" for i in range(6)]
    result = result_of(client.submit("hi", numbers))
    requests = stub.of("/httpserver")
    assert [r.params["mobs"].split(",") for r in requests] == [numbers[:5], numbers[5:]]
    assert set(result.send_ids) == set(numbers) and len(set(result.send_ids.values())) == 2
    with pytest.raises(ValueError, match="2 send ids"):
        result.send_id


def test_bad_input_is_refused_before_anything_is_sent():
    clock, stub, client = client_for()
    with pytest.raises(PlanError, match="513 chars"):
        client.submit("a" * 513, ["13800138000"])
    with pytest.raises(ValueError, match="1 number.*'02161234567': PHS"):
        client.submit("hi", ["13800138000", "02161234567"])
    with pytest.raises(ValueError, match="numbers is empty"):
        client.submit("hi", [])
    strict = client_for(charset="gbk")[2]
    with pytest.raises(TextEncodingError, match="GBK cannot hold"):
        strict.submit("hi 😀", ["13800138000"])
    assert stub.requests == []


def test_a_wrong_clock_gets_authentication_failed_with_a_clock_skew_hint():
    clock, stub, client = client_for(offset=timedelta(minutes=15))
    stub.answer("/httpserver", b"102\n")
    failure = result_of(client.submit("hi", ["13800138000"]))
    assert isinstance(failure.value, AuthenticationFailed)
    assert "clock" in str(failure.value) and "10 minutes" in str(failure.value)
    assert stub.requests[0].params["timestamp"] == "202405200915"
    assert len(stub.requests) == 1  # not retried


def test_refusal_codes_map_to_exceptions():
    clock, stub, client = client_for()
    stub.answer("/httpserver", b"105\n")
    failure = result_of(client.submit("hi", ["13800138000"]))
    assert type(failure.value) is HttpRefused and failure.value.code == 105
    assert "quota" in str(failure.value)


def test_10004_pauses_and_resubmits_only_what_was_refused_in_halves():
    settings = DispatchSettings(rate=100, rate_limited_pause=2.0)
    clock, stub, client = client_for(settings=settings)
    numbers = [f"1380013800{i}" for i in range(4)]
    stub.answer("/httpserver", b"10004\n")
    stub.default["/httpserver"] = send_ids()
    d = client.submit("hi", numbers)
    assert len(stub.requests) == 1
    clock.advance(1.9)
    assert len(stub.requests) == 1  # paused
    clock.advance(0.2)
    assert [r.params["mobs"] for r in stub.requests[1:]] == [",".join(numbers[:2]), ",".join(numbers[2:])]
    assert set(result_of(d).send_ids) == set(numbers)


def test_10005_backs_off_and_retries():
    settings = DispatchSettings(busy_backoff_initial=4.0)
    clock, stub, client = client_for(settings=settings)
    stub.answer("/httpserver", b"10005\n", b"10005\n", b"100\n9\n")
    d = client.submit("hi", ["13800138000"])
    clock.advance(1.9)
    assert len(stub.requests) == 1  # backoff 4 s x 0.5..1.5
    clock.pump([0.05] * 600)  # (steps finer than the bounds' margin: the jitter is unseeded)
    assert len(stub.requests) == 3
    gaps = [b.at - a.at for a, b in zip(stub.requests, stub.requests[1:])]
    assert 2.0 <= gaps[0] <= 6.05 and 4.0 <= gaps[1] <= 12.05
    assert result_of(d).send_id == "9"


def test_pacing_keeps_to_the_rate_counting_pieces():
    settings = DispatchSettings(rate=10)
    clock, stub, client = client_for(settings=settings)
    stub.default["/httpserver"] = send_ids()
    text = "x" * 61  # 2 SMS per recipient
    numbers = [f"138001380{i:02d}" for i in range(20)]   # 40 SMS at 10/s
    client.submit(text, numbers)
    clock.pump([0.5] * 12)
    # each request costs its 5 recipients x 2 pieces = 10 tokens: the whole bucket, refilled in 1 s
    assert [round(r.at, 6) for r in stub.requests] == [0.0, 1.0, 2.0, 3.0]


def test_an_unreachable_platform_is_retried_a_lost_answer_follows_on_link_loss():
    clock, stub, treq = make()

    class Refusing:
        calls = 0

        def request(self, *args, **kwargs):
            self.calls += 1
            if self.calls == 1:
                return defer.fail(ConnectionRefusedError())
            return treq.request(*args, **kwargs)

        content = staticmethod(treq.content)

    client = HttpClient(URL, **ACCOUNT, reactor=clock, http=Refusing(), wallclock=wallclock(clock))
    stub.answer("/httpserver", b"100\n5\n")
    d = client.submit("hi", ["13800138000"])
    clock.pump([1.0] * 5)
    assert result_of(d).send_id == "5"
    assert client.pipeline.possible_duplicates == 0

    settings = DispatchSettings(on_link_loss="fail")
    clock, stub, client = client_for(settings=settings, timeout=10.0)
    stub.answer("/httpserver", HANG)
    submission = client.send("hi", ["13800138000"])
    clock.advance(10.5)
    outcome = submission.outcomes["13800138000"]
    assert outcome.state is OutcomeState.FAILED and outcome.status == "LINKLOSS"
    assert "may or may not" in outcome.detail


def test_a_lost_answer_is_resubmitted_and_counted_as_a_possible_duplicate():
    clock, stub, client = client_for(timeout=10.0)
    stub.answer("/httpserver", HANG, b"100\n8\n")
    d = client.submit("hi", ["13800138000"])
    clock.pump([1.0] * 20)
    assert result_of(d).send_id == "8" and client.pipeline.possible_duplicates == 1


def test_a_lost_answer_flags_each_recipient_of_the_resent_request_on_its_outcome():
    # like EMPP: every recipient whose request may have been accepted twice is flagged on its
    # outcome and counted once, per recipient (it was one event per request, and no flag)
    clock, stub, client = client_for(timeout=10.0)
    stub.answer("/httpserver", HANG, b"100\n8\n")
    numbers = ["13800138000", "13900139000"]
    submission = client.send("hi", numbers)
    clock.pump([1.0] * 20)
    assert submission.send_ids == {n: "8" for n in numbers}
    for number in numbers:
        assert client.feed_report(ReportEvent("8", number, "DELIVRD", EPOCH))
    assert all(submission.outcomes[n].possible_duplicate for n in numbers)
    assert submission.possible_duplicates == client.pipeline.possible_duplicates == 2


def test_a_lost_answer_never_sent_again_is_no_possible_duplicate():
    clock, stub, client = client_for(settings=DispatchSettings(on_link_loss="fail"), timeout=10.0)
    stub.answer("/httpserver", HANG)
    submission = client.send("hi", ["13800138000"])
    clock.advance(10.5)
    outcome = submission.outcomes["13800138000"]
    assert outcome.status == "LINKLOSS" and not outcome.possible_duplicate
    assert submission.possible_duplicates == client.pipeline.possible_duplicates == 0


def test_an_http_error_page_fails_the_chunk_clearly():
    clock, stub, client = client_for()
    stub.answer("/httpserver", 404)
    failure = result_of(client.submit("hi", ["13800138000"]))
    assert isinstance(failure.value, C.HttpStatusError) and failure.value.status == 404


def test_submission_outcomes_resolve_from_reports_one_per_recipient():
    clock, stub, client = client_for()
    stub.default["/httpserver"] = send_ids(iter(range(70, 80)))
    numbers = [f"1380013800{i}" for i in range(6)] + ["bad", "13800138000"]
    submission = client.send("hi", numbers)
    assert submission.outcomes["bad"].state is OutcomeState.REJECTED
    assert submission.duplicates_dropped == 1
    assert submission.send_ids == {**{n: "70" for n in numbers[:5]}, numbers[5]: "71"}
    now = EPOCH
    for number in numbers[:5]:
        assert client.feed_report(ReportEvent("70", number, "DELIVRD", now))
    assert not submission.done
    assert client.feed_report(ReportEvent("71", numbers[5], "DTBLACK", now))
    assert submission.done and result_of(submission.deferred) is submission
    assert submission.counts() == {"delivered": 5, "failed": 1, "expired": 0, "rejected": 1, "cancelled": 0}
    assert submission.outcomes[numbers[5]].msg_ids == ("71",)
    # a second copy of a report matches nothing now
    assert not client.feed_report(ReportEvent("70", numbers[0], "DELIVRD", now))


def test_outcomes_expire_after_report_timeout():
    settings = DispatchSettings(report_timeout=3600)
    clock, stub, client = client_for(settings=settings)
    stub.answer("/httpserver", b"100\n1\n")
    submission = client.send("hi", ["13800138000"])
    clock.advance(3599)
    assert not submission.done
    clock.advance(2)
    assert submission.outcomes["13800138000"].state is OutcomeState.EXPIRED


def test_a_report_before_its_answer_is_kept_for_a_while():
    clock, stub, treq = make()
    client = HttpClient(URL, **ACCOUNT, reactor=clock, http=treq, wallclock=wallclock(clock))
    stub.answer("/httpserver", HANG)
    submission = client.send("hi", ["13800138000"])
    assert not client.feed_report(ReportEvent("3", "13800138000", "DELIVRD", EPOCH))
    request = stub.hanging[0]
    request.write(b"100\n3\n")
    request.finish()
    assert not submission.done
    treq.flush()
    assert submission.outcomes["13800138000"].state is OutcomeState.DELIVERED


def test_at_time_is_sent_as_attime():
    clock, stub, client = client_for()
    stub.answer("/httpserver", b"100\n1\n")
    result_of(client.submit("hi", ["13800138000"], at_time=datetime(2024, 5, 21, 8, 0, tzinfo=wire.CHINA)))
    assert stub.requests[0].params["attime"] == "20240521080000"


def test_the_client_refuses_a_second_poll_within_a_minute():
    clock, stub, client = client_for()
    stub.default["/httpdeliver.sms"] = b"100\n"
    result_of(client.fetch_mo())
    clock.advance(59)
    failure = result_of(client.fetch_mo())
    assert isinstance(failure.value, C.PollTooSoon) and "FAQ-3.4.2" in str(failure.value)
    assert len(stub.requests) == 1
    clock.advance(1)
    result_of(client.fetch_mo())
    assert len(stub.requests) == 2
    with pytest.raises(ValueError, match="min_poll_interval"):
        client_for(min_poll_interval=30)


class TickingClock(task.Clock):
    """A clock that moves 1 ms every time it is read, as a real reactor's does."""

    def seconds(self) -> float:
        self.rightNow += 0.001
        return self.rightNow


def test_the_first_poll_reads_the_clock_once_and_is_sent():
    # regression: the limit check read the clock twice, so on a real reactor the first poll
    # was "too soon" (and the message raised KeyError looking up the previous call)
    clock, stub, client = client_for(TickingClock())
    stub.default["/httpdeliver.sms"] = b"100\n"
    stub.default["/queryrptbyid.sms"] = b"100\n"
    assert result_of(client.fetch_mo()).events == ()
    assert result_of(client.query_reports(["1"])).events == ()
    assert len(stub.requests) == 2
    clock.advance(59.9)
    failure = result_of(client.fetch_mo())
    assert isinstance(failure.value, C.PollTooSoon) and "60 s" in str(failure.value)
    clock.advance(0.1)
    assert result_of(client.fetch_mo()).events == ()


def test_sender_with_push_resource_resolves_outcomes():
    clock, stub, treq = make()
    sender = HttpSender(URL, **ACCOUNT, reports="push", reactor=clock, http=treq, wallclock=wallclock(clock))
    stub.answer("/httpserver", b"100\n42\n")
    submission = sender.send("hi", ["13800138000"])
    resource = sender.push_resource()
    from tests.test_http_push import post

    body = wire.encode_push(ReportEvent("42", "13800138000", "DELIVRD", EPOCH))
    assert post(resource, body) == (200, b"100")
    assert submission.outcomes["13800138000"].state is OutcomeState.DELIVERED
    unknown = wire.encode_push(ReportEvent("43", "13900139000", "DELIVRD", EPOCH))
    assert post(resource, unknown) == (200, b"100")
    assert [r.send_id for r in sender.unmatched_reports] == ["43"]


def test_10005_to_every_request_in_flight_doubles_the_backoff_once():
    # max_in_flight requests are refused together: one overload episode, one doubling
    # (per request it was 2**4 at once); an accepted request ends the episode.
    from smsdk.http.pipeline import HttpPipeline

    pipeline = HttpPipeline(DispatchSettings(rate=1000, group_send_limit=1, busy_backoff_initial=1.0,
                                             busy_backoff_max=60.0))
    pipeline.add("hi", [f"138001380{i:02d}" for i in range(5)], now=0.0)
    window = [pipeline.pop_ready(0.0) for _ in range(4)]
    for job in window:
        pipeline.on_refused(job, 10005, 0.2)
    assert 0.5 <= pipeline.next_ready_time(0.2) - 0.2 <= 1.5
    now = pipeline.next_ready_time(0.2)
    retried = pipeline.pop_ready(now)
    pipeline.on_refused(retried, 10005, now)          # written after the backoff: doubles
    assert 1.0 <= pipeline.next_ready_time(now) - now <= 3.0
    now = pipeline.next_ready_time(now)
    accepted, refused = pipeline.pop_ready(now), pipeline.pop_ready(now)
    pipeline.on_accepted(accepted, "7", now)
    pipeline.on_refused(refused, 10005, now)           # a new episode: the initial backoff again
    assert 0.5 <= pipeline.next_ready_time(now) - now <= 1.5


# -- stop(): one outcome per recipient, like the EMPP client's stop (issue 10 item 4) --------

NUMBERS = [f"138001380{i:02d}" for i in range(15)]   # three requests of 5 at rate 5: t=0, 1, 2


def test_stop_cancels_queued_recipients_and_those_awaiting_reports():
    clock, stub, treq = make()
    client = HttpClient(URL, **ACCOUNT, reactor=clock, http=treq, wallclock=wallclock(clock),
                        dispatch_settings=DispatchSettings(rate=5))
    stub.answer("/httpserver", b"100\n1\n", HANG)
    submission = client.send("hi", NUMBERS)
    clock.advance(1)                                   # the second request is in flight
    assert len(stub.requests) == 2 and not submission.outcomes
    stopped = client.stop()
    with pytest.raises(ClientStopped, match="the client stopped"):
        client.send("hi", ["13900139000"])
    with pytest.raises(ClientStopped):
        client.submit("hi", ["13900139000"])
    queued = NUMBERS[10:]                               # never sent: cancelled at once
    assert {n: submission.outcomes[n].detail for n in submission.outcomes} == {
        n: "not sent: the client stopped first" for n in queued}
    assert not stopped.called                          # the request in flight is answered first
    request = stub.hanging[0]
    request.write(b"100\n2\n")
    request.finish()
    treq.flush()
    assert stopped.called and result_of(submission.deferred) is submission
    assert submission.counts() == {"delivered": 0, "failed": 0, "expired": 0, "rejected": 0, "cancelled": 15}
    for number in NUMBERS[:10]:
        outcome = submission.outcomes[number]
        assert outcome.state is OutcomeState.CANCELLED and outcome.status == "CANCELLED"
        assert outcome.detail == "accepted by the platform; the client stopped before its status report"
        assert outcome.msg_ids == (submission.send_ids[number],)
    assert client.pipeline.tracked == 0 and client.stopped
    clock.advance(60)
    assert len(stub.requests) == 2                     # nothing more is sent
    assert result_of(client.stop()) is None            # again: the same end


def test_stop_aborts_a_request_still_unanswered_after_timeout():
    clock, stub, client = client_for(timeout=30.0)
    stub.answer("/httpserver", HANG)
    submission = client.send("hi", ["13800138000"])
    stopped = client.stop(timeout=5)
    clock.advance(4.9)
    assert not stopped.called and not submission.outcomes
    clock.advance(0.1)
    assert stopped.called and submission.done
    outcome = submission.outcomes["13800138000"]
    assert outcome.state is OutcomeState.CANCELLED and outcome.msg_ids == ()
    assert outcome.detail == "the client stopped before the platform answered; it may or may not have been accepted"
    clock.advance(60)
    assert len(stub.requests) == 1 and submission.counts()["cancelled"] == 1


def test_stop_with_drain_sends_what_is_queued_first():
    clock, stub, client = client_for(settings=DispatchSettings(rate=5))
    stub.default["/httpserver"] = send_ids(iter(range(10, 20)))
    submission = client.send("hi", NUMBERS)
    stopped = client.stop(drain=True, timeout=30)
    with pytest.raises(ClientStopped):                 # nothing new once stopping began
        client.send("hi", ["13900139000"])
    assert client.feed_report(ReportEvent("10", NUMBERS[0], "DELIVRD", EPOCH))
    clock.advance(1)
    assert not stopped.called and len(stub.requests) == 2
    clock.advance(1)
    assert stopped.called and len(stub.requests) == 3 and submission.done
    assert submission.counts()["delivered"] == 1 and submission.counts()["cancelled"] == 14
    assert all(o.detail == "accepted by the platform; the client stopped before its status report"
               for o in submission.outcomes.values() if o.state is OutcomeState.CANCELLED)


def test_stop_with_drain_gives_up_after_timeout():
    clock, stub, client = client_for(settings=DispatchSettings(rate=5))
    stub.default["/httpserver"] = send_ids(iter(range(10, 30)))
    numbers_ = [f"138001380{i:02d}" for i in range(50)]   # ten requests: 9 s at rate 5
    submission = client.send("hi", numbers_)
    stopped = client.stop(drain=True, timeout=3.5)
    clock.pump([0.5] * 7)
    assert stopped.called and submission.done and len(stub.requests) == 4
    details = [submission.outcomes[n].detail for n in numbers_]
    assert details == (["accepted by the platform; the client stopped before its status report"] * 20
                       + ["not sent: the client stopped first"] * 30)
    assert submission.counts()["cancelled"] == 50
    clock.advance(30)
    assert len(stub.requests) == 4


def test_stop_fails_a_pending_submit_with_client_stopped():
    clock, stub, client = client_for(settings=DispatchSettings(rate=5))
    stub.default["/httpserver"] = send_ids()
    d = client.submit("hi", NUMBERS[5:])               # two requests: t=0 and t=1
    stopped = client.stop()
    assert stopped.called
    result = result_of(d)
    assert set(result.send_ids) == set(NUMBERS[5:10])
    assert all(isinstance(e, ClientStopped) for e in result.refused.values())
    assert set(result.refused) == set(NUMBERS[10:])
    clock2, stub2, client2 = client_for(settings=DispatchSettings(rate=5))
    stub2.answer("/httpserver", HANG)
    d2 = client2.submit("hi", NUMBERS[:5])
    client2.stop(timeout=0)
    clock2.advance(0)
    assert isinstance(result_of(d2).value, ClientStopped)


def test_sender_stop_cancels_every_open_recipient_and_stops_the_pollers():
    clock, stub, treq = make()
    sender = HttpSender(URL, **ACCOUNT, reports="query", mo="poll", reactor=clock, http=treq,
                        wallclock=wallclock(clock), dispatch_settings=DispatchSettings(rate=5))
    stub.default["/httpserver"] = send_ids(iter(range(40, 50)))
    submission = sender.send("hi", NUMBERS)
    sender.start(first_report_poll=5)
    stopped = sender.stop()
    assert stopped.called and submission.done and submission.counts()["cancelled"] == 15
    assert not sender.report_poller.running and not sender.mo_poller.running
    with pytest.raises(ClientStopped):
        sender.send("hi", ["13900139000"])
    seen = len(stub.requests)
    clock.advance(600)
    assert len(stub.requests) == seen


@examples(40)
@given(answers=st.lists(st.sampled_from(["ok", "hang", "10004", "10005", "105", "404", "garbled", "unreachable"]),
                        min_size=1, max_size=30),
       n=st.integers(min_value=1, max_value=23),
       stop_at=st.floats(min_value=0, max_value=40), drain=st.booleans(),
       timeout=st.floats(min_value=0, max_value=60), link_loss=st.sampled_from(["resubmit", "fail"]))
def test_stop_gives_every_recipient_exactly_one_outcome(answers, n, stop_at, drain, timeout, link_loss):
    """Whatever the platform answers and whenever stop() comes: stop() fires by ``timeout``,
    every recipient then has one final outcome, and nothing more is sent."""
    clock, stub, treq = make()
    script = iter(answers)
    bodies = {"ok": None, "hang": HANG, "10004": b"10004\n", "10005": b"10005\n", "105": b"105\n",
              "404": 404, "garbled": b"\n"}

    class Scripted:
        def request(self, *args, **kwargs):
            kind = next(script, "ok")
            if kind == "unreachable":
                return defer.fail(ConnectionRefusedError())
            stub.answer("/httpserver", bodies[kind] or f"100\n{len(stub.requests)}\n".encode())
            return treq.request(*args, **kwargs)

        content = staticmethod(treq.content)

    settings = DispatchSettings(rate=5, rate_limited_pause=1.0, busy_backoff_initial=1.0,
                                on_link_loss=link_loss, max_resubmits=3)
    client = HttpClient(URL, **ACCOUNT, reactor=clock, http=Scripted(), wallclock=wallclock(clock),
                        timeout=10.0, dispatch_settings=settings)
    submission = client.send("hi", [f"139{i:08d}" for i in range(n)])
    clock.pump([0.25] * int(stop_at * 4))
    stopped = client.stop(drain=drain, timeout=timeout)
    clock.pump([0.25] * int(timeout * 4 + 4))
    assert stopped.called and submission.done and client.pipeline.tracked == 0
    assert len(submission.outcomes) == n and sum(submission.counts().values()) == n
    sent = len(stub.requests)
    clock.advance(3600)
    assert len(stub.requests) == sent
