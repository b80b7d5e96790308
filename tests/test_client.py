"""smsdk.Client end to end, in memory: the client's protocol and a MinimalServer's protocol
joined by Twisted's iosim, time on a task.Clock (no sockets, no sleeps)."""

from __future__ import annotations

from datetime import datetime

import pytest
from twisted.internet import task

from smsdk import codec
from smsdk._layouts import Dialect
from smsdk.client import Client
from twisted.internet.error import ConnectionRefusedError

from smsdk.china_time import CHINA
from smsdk.dispatch import DispatchSettings, OutcomeState
from smsdk.errors import ClientStopped
from smsdk.session import LinkDead, LoginError, SessionSettings, Terminated
from smsdk.testing import MemoryEndpoint, MinimalServer, run_clock

ACCOUNT = "10657109000001"
PASSWORD = "secret"
SIG = "【示例科技】"


class Harness:
    def __init__(self, *, server_kwargs=None, **client_kwargs):
        self.clock = task.Clock()
        self.clock.advance(1_000_000)
        self.server = MinimalServer(password=PASSWORD, reactor=self.clock, **(server_kwargs or {}))
        self.endpoint = MemoryEndpoint(lambda: self.server.factory().buildProtocol(None), self.clock)
        client_kwargs.setdefault("dispatch_settings", DispatchSettings(rate=1000))
        client_kwargs.setdefault("password", PASSWORD)
        client_kwargs.setdefault("account", ACCOUNT)
        self.client = Client(
            endpoint=self.endpoint, reactor=self.clock, signature=SIG,
            wallclock=lambda: datetime(2026, 11, 22, 15, 4, 5, tzinfo=CHINA), **client_kwargs,
        )

    def run(self, seconds: float = 0.0, step: float = 0.05) -> None:
        """Advance the clock in small steps, moving bytes both ways at each."""
        run_clock(self.clock, [self.endpoint], seconds, step)


def started(h: Harness):
    d = h.client.start()
    h.run()
    return d


def test_campaign_end_to_end_one_outcome_per_recipient():
    h = Harness()
    d = started(h)
    assert d.called and h.client.bound
    to = [f"138{i:08d}" for i in range(12)] + ["02161234567", "not a number", "13800000000"]
    sub = h.client.send("长" * 130, to=to)
    done = sub.deferred
    h.run(1.0)
    assert done.called
    counts = sub.counts()
    assert counts["delivered"] == 12 and counts["rejected"] == 2
    assert sub.duplicates_dropped == 1
    # 12 numbers in chunks of 5 → 3 chunks × 3 parts (130 chars + a 6-char signature: 67+61+2)
    assert len(h.server.submits) == 9
    assert all(len(s.dest_terminal_id) <= 5 for s in h.server.submits)
    joined = {}
    for s in h.server.submits:
        joined.setdefault(s.dest_terminal_id, []).append(s.msg_content[6:].decode("utf-16-be"))
    assert all("".join(parts) == "长" * 130 for parts in joined.values())


def test_failed_reports_come_out_with_their_status():
    stats = {"13800000001": "DTBLACK", "13800000002": "UNDELIV"}
    h = Harness(server_kwargs={"report_stat": lambda n: stats.get(n, "DELIVRD")})
    started(h)
    sub = h.client.send("hi", to=["13800000000", "13800000001", "13800000002"])
    h.run(0.5)
    assert {n: o.status for n, o in sub.outcomes.items()} == {
        "13800000000": "DELIVRD", "13800000001": "DTBLACK", "13800000002": "UNDELIV"}


def test_no_report_means_expired_after_48_hours():
    h = Harness(server_kwargs={"report_stat": lambda n: None},
                session_settings=SessionSettings(active_test_interval=0, silence_timeout=0),
                dispatch_settings=DispatchSettings(rate=1000, report_timeout=48 * 3600 + 600))
    started(h)
    sub = h.client.send("hi", to=["13800000000"])
    h.run(0.5)
    assert not sub.done
    h.clock.advance(48 * 3600 + 600)
    h.run(0.1)
    assert sub.outcomes["13800000000"].state is OutcomeState.EXPIRED


def test_outcomes_expire_on_time_while_disconnected():
    h = Harness(server_kwargs={"report_stat": lambda n: None},
                dispatch_settings=DispatchSettings(rate=1000, report_timeout=3600))
    started(h)
    sub = h.client.send("hi", to=["13800000000"])
    h.run(0.5)
    h.endpoint.refuse = True  # the platform is unreachable from now on
    h.endpoint.drop()
    assert not sub.done
    h.clock.advance(3600)
    assert sub.outcomes["13800000000"].state is OutcomeState.EXPIRED


def test_fatal_login_refusal_fails_start_and_never_reconnects():
    h = Harness(password="wrong")
    d = started(h)
    failures = []
    d.addErrback(failures.append)
    assert failures and failures[0].check(LoginError)
    assert failures[0].value.status == 3 and not failures[0].value.retryable
    h.run(600, step=5)
    assert h.endpoint.attempts == 1


def test_retryable_login_refusal_backs_off():
    h = Harness(server_kwargs={"login_status": 10001})
    d = started(h)
    assert not d.called
    h.run(60, step=0.5)
    attempts = h.endpoint.attempts
    assert 3 <= attempts <= 5  # 5 s, 10 s, 20 s ... (with jitter): backoff, not a reconnect storm
    h.server.login_status = 0
    h.run(300, step=0.5)
    assert d.called and h.client.bound


def test_kick_of_another_session_is_counted_and_still_bound():
    h = Harness(server_kwargs={"login_status": 20000})
    started(h)
    assert h.client.bound and h.client.kicked_other_session == 1


def test_link_drop_mid_window_resubmits_and_every_recipient_gets_one_outcome():
    h = Harness()
    started(h)
    sub = h.client.send("hi", to=[f"139{i:08d}" for i in range(10)])
    # the SUBMITs were written; take them off the wire so the server never sees them
    lost = h.endpoint.pumps[-1].clientIO.getOutBuffer()
    assert len(codec.FrameDecoder(Dialect.EMPP).feed(lost)) == 2
    h.endpoint.drop()
    assert not h.client.bound and not sub.done
    h.run(10)  # reconnect with backoff, then resubmit (policy "resubmit", the default)
    assert h.endpoint.attempts == 2 and h.client.bound
    assert len(h.server.submits) == 2
    assert sub.done and sub.counts()["delivered"] == 10


def test_link_drop_with_fail_policy_fails_unanswered_recipients_explicitly():
    h = Harness(dispatch_settings=DispatchSettings(rate=1000, on_link_loss="fail"))
    started(h)
    sub = h.client.send("hi", to=["13900000000"])
    h.endpoint.pumps[-1].clientIO.getOutBuffer()
    h.endpoint.drop()
    outcome = sub.outcomes["13900000000"]
    assert outcome.state is OutcomeState.FAILED and outcome.status == "LINKLOSS"
    h.run(10)
    assert h.server.submits == []


def test_server_terminate_stops_reconnecting():
    h = Harness()
    started(h)
    proto = h.server.protocols[-1]
    proto.session.terminate(h.clock.seconds())
    proto.flush()
    h.run(120, step=1)
    assert h.endpoint.attempts == 1
    assert not h.client.bound


def test_mo_is_reassembled_and_handed_to_the_handler():
    received = []
    h = Harness(on_mo=received.append)
    started(h)
    proto = h.server.protocols[-1]
    text = "回复内容" * 20
    raw = text.encode("utf-16-be")
    chunks = [raw[i:i + 134] for i in range(0, len(raw), 134)]
    for index in reversed(range(len(chunks))):  # out of order
        udh = bytes([5, 0, 3, 0x42, len(chunks), index + 1])
        proto.session.send(codec.Deliver(
            msg_id=bytes(10), dest_id=ACCOUNT + "01", src_terminal_id="8613900139000", tp_udhi=1,
            msg_fmt=8, msg_content=udh + chunks[index]), h.clock.seconds(), await_response=False)
    proto.flush()
    h.run(0.2)
    (mo,) = received
    assert mo.text == text and mo.sender == "13900139000" and mo.dest_id == ACCOUNT + "01"


def test_report_matching_nothing_goes_to_the_report_handler():
    reports = []
    h = Harness(on_report=reports.append)
    started(h)
    proto = h.server.protocols[-1]
    report = codec.StatusReport(msg_id=bytes.fromhex("00112233445566770000"), stat="DELIVRD",
                                submit_time="2611200000", done_time="2611200001",
                                dest_terminal_id="13800138000", smsc_sequence=1)
    proto.session.send(codec.Deliver(msg_id=bytes(10), dest_id=ACCOUNT, registered_delivery=1,
                                     src_terminal_id="13800138000", msg_content=report),
                       h.clock.seconds(), await_response=False)
    proto.flush()
    h.run(0.2)
    assert reports == [report]


@pytest.mark.parametrize("dialect", [Dialect.CMPP2, Dialect.CMPP3])
def test_cmpp_dialects_end_to_end(dialect):
    h = Harness(dialect=dialect, server_kwargs={"dialect": dialect}, service_id="MSD0010500",
                account="901234", src_id="1065710900")
    started(h)
    sub = h.client.send("hello", to=["13800000000", "13800000001"])
    h.run(0.5)
    assert sub.counts()["delivered"] == 2


# -- stopping: every recipient gets an outcome ---------------------------------------------


def _server_terminates(h: Harness) -> None:
    proto = h.server.protocols[-1]
    proto.session.terminate(h.clock.seconds())
    proto.flush()


def test_stop_cancels_queued_recipients_and_those_awaiting_reports():
    h = Harness(server_kwargs={"report_stat": lambda n: None},
                dispatch_settings=DispatchSettings(rate=100, group_send_limit=5))
    started(h)
    sub = h.client.send("hi", to=[f"138{i:08d}" for i in range(20_000)])
    h.run(1.0)  # about 200 sent and accepted (100/s, burst 100); no reports come
    accepted = set(sub.accepted)
    assert 100 <= len(accepted) < 20_000 and not sub.outcomes
    stopped = h.client.stop()
    h.run(1.0)
    assert stopped.called and sub.deferred.called and h.client.dispatcher.tracked == 0
    assert sub.counts()["cancelled"] == 20_000
    for number, outcome in sub.outcomes.items():
        if number in accepted:
            assert outcome.msg_ids and outcome.status == "CANCELLED"
            assert outcome.detail == "accepted by the platform; the client stopped before its status report"
        else:
            assert not outcome.msg_ids and outcome.detail == "not sent: the client stopped first"
    with pytest.raises(ClientStopped, match="the client stopped"):
        h.client.send("hi", to=["13800000000"])
    h.run(120, step=1)
    assert h.endpoint.attempts == 1  # never reconnects


def test_stop_with_drain_sends_what_is_queued_first():
    h = Harness(dispatch_settings=DispatchSettings(rate=100, group_send_limit=5))
    started(h)
    sub = h.client.send("hi", to=[f"138{i:08d}" for i in range(500)])
    stopped = h.client.stop(drain=True, timeout=30)
    with pytest.raises(ClientStopped):  # nothing new once stopping began
        h.client.send("hi", to=["13900000000"])
    h.run(10)
    assert stopped.called and sub.done
    assert sub.counts()["delivered"] == 500


def test_stop_with_drain_gives_up_after_its_timeout():
    h = Harness(dispatch_settings=DispatchSettings(rate=100, group_send_limit=5))
    started(h)
    sub = h.client.send("hi", to=[f"138{i:08d}" for i in range(1_000)])
    stopped = h.client.stop(drain=True, timeout=2)
    h.run(4)
    assert stopped.called and sub.done
    counts = sub.counts()
    assert 200 <= counts["delivered"] < 1_000 and counts["delivered"] + counts["cancelled"] == 1_000


def test_stop_before_the_first_login_fails_start_and_cancels_everything():
    h = Harness()
    h.endpoint.refuse = True  # nothing listening
    d = h.client.start()
    sub = h.client.send("hi", to=["13800000000"])
    h.run(5)
    failures = []
    d.addErrback(failures.append)
    assert not failures and isinstance(h.client.last_connect_error, ConnectionRefusedError)
    stopped = h.client.stop()
    h.run(0.1)
    assert stopped.called and failures and failures[0].check(ClientStopped)
    assert sub.outcomes["13800000000"].state is OutcomeState.CANCELLED


def test_platform_terminate_gives_every_recipient_an_outcome_and_stops():
    h = Harness(dispatch_settings=DispatchSettings(rate=500, group_send_limit=5))
    started(h)
    sub = h.client.send("hi", to=[f"138{i:08d}" for i in range(5_000)])
    h.run(1.0)
    delivered = sub.counts()["delivered"]
    assert 0 < delivered < 5_000
    _server_terminates(h)
    h.run(120, step=1)
    assert sub.deferred.called and h.client.dispatcher.tracked == 0
    assert sub.counts()["delivered"] + sub.counts()["cancelled"] == 5_000
    assert {o.detail for o in sub.outcomes.values() if o.state is OutcomeState.CANCELLED} == {
        "not sent: the platform sent TERMINATE first"}
    assert h.endpoint.attempts == 1 and h.client.stopped
    with pytest.raises(ClientStopped, match="TERMINATE"):
        h.client.send("hi", to=["13900000000"])
    assert h.client.stop().called  # stopping again: already done


def test_platform_terminate_with_reconnect_after_terminate_keeps_sending():
    h = Harness(dispatch_settings=DispatchSettings(rate=500, group_send_limit=5), reconnect_after_terminate=True)
    started(h)
    sub = h.client.send("hi", to=[f"138{i:08d}" for i in range(2_000)])
    h.run(1.0)
    _server_terminates(h)
    h.run(30, step=0.1)
    assert h.endpoint.attempts == 2 and not h.client.stopped
    assert sub.done and sub.counts()["delivered"] == 2_000


def test_a_late_terminate_or_loss_of_an_old_connection_changes_nothing():
    h = Harness()
    started(h)
    old = h.client._protocol
    h.endpoint.drop()
    h.run(10)  # reconnected
    current = h.client._protocol
    assert h.endpoint.attempts == 2 and current is not None and current is not old
    # what the old connection's protocol would still report, arriving late
    h.client.session_events(old, [Terminated(by_peer=True)])
    h.client.session_events(old, [LinkDead("connection lost")])
    old.connectionLost(None)
    h.run(5)
    assert h.client._protocol is current and h.client.bound and not h.client.stopped
    sub = h.client.send("hi", to=["13800000000"])
    h.run(0.5)
    assert sub.counts()["delivered"] == 1


def test_a_fatal_login_refusal_cancels_what_was_sent_before_it():
    h = Harness(password="wrong")
    d = h.client.start()
    d.addErrback(lambda f: None)
    sub = h.client.send("hi", to=["13800000000"])
    h.run(1)
    (outcome,) = sub.outcomes.values()
    assert outcome.state is OutcomeState.CANCELLED and "refused for good" in outcome.detail
    with pytest.raises(ClientStopped, match="refused"):
        h.client.send("hi", to=["13800000000"])


# -- possible duplicates and repeated reports, end to end ----------------------------------


class SlowServer(MinimalServer):
    """A platform whose SUBMIT_RESP comes ``delay`` seconds late, and that accepts (and
    delivers) every copy of a SUBMIT it receives."""

    def __init__(self, *, delay: float, **kwargs):
        super().__init__(**kwargs)
        self.delay = delay

    def _on_submit(self, session, event, now):
        proto = next(p for p in self.protocols if p.session is session)

        def later():
            if session.state.value == "bound":
                super(SlowServer, self)._on_submit(session, event, self.reactor.seconds())
                proto.flush()

        self.reactor.callLater(self.delay, later)


def test_slow_responses_the_session_resends_are_flagged_as_possible_duplicates():
    clock = task.Clock()
    clock.advance(1_000_000)
    server = SlowServer(delay=1.5, password=PASSWORD, reactor=clock)
    endpoint = MemoryEndpoint(lambda: server.factory().buildProtocol(None), clock)
    client = Client(endpoint=endpoint, reactor=clock, account=ACCOUNT, password=PASSWORD, signature=SIG,
                    wallclock=lambda: datetime(2026, 11, 22, 15, 4, 5, tzinfo=CHINA),
                    session_settings=SessionSettings(response_timeout=1.0, window=64),
                    dispatch_settings=DispatchSettings(rate=1000, group_send_limit=1))
    client.start()
    to = [f"138{i:08d}" for i in range(300)]
    sub = client.send("hi", to=to)
    run_clock(clock, [endpoint], 20, 0.05)
    assert sub.done
    copies: dict[str, int] = {}
    for pdu in server.submits:
        for number in pdu.dest_terminal_id:
            copies[number] = copies.get(number, 0) + 1
    twice = {n for n, c in copies.items() if c >= 2}
    assert twice  # the platform accepted these twice
    flagged = {n for n, o in sub.outcomes.items() if o.possible_duplicate}
    assert twice <= flagged
    assert sub.possible_duplicates == len(flagged) == client.dispatcher.possible_duplicates


def test_a_report_the_platform_sends_again_is_ignored():
    reports = []
    h = Harness(on_report=reports.append)
    started(h)
    sub = h.client.send("hi", to=["13800000000"])
    h.run(0.5)
    assert sub.counts()["delivered"] == 1
    (outcome,) = sub.outcomes.values()
    again = codec.StatusReport(msg_id=bytes.fromhex(outcome.msg_ids[0]), stat="UNDELIV",
                               submit_time="2611200000", done_time="2611200001",
                               dest_terminal_id="13800000000", smsc_sequence=1)
    proto = h.server.protocols[-1]
    proto.session.send(codec.Deliver(msg_id=bytes(10), dest_id=ACCOUNT, registered_delivery=1,
                                     src_terminal_id="13800000000", msg_content=again),
                       h.clock.seconds(), await_response=False)
    proto.flush()
    h.run(0.2)
    assert sub.outcomes["13800000000"] is outcome and outcome.state is OutcomeState.DELIVERED
    assert reports == [] and list(h.client.unmatched_reports) == []
    assert h.client.dispatcher.ignored_reports == 1


# -- arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, error, name", [
    ({"password": None}, TypeError, "password"),
    ({"password": 123}, TypeError, "password"),
    ({"password": "\ud800"}, ValueError, "password"),
    ({"account": "账号"}, ValueError, "account"),
    ({"account": "1" * 30}, ValueError, "account"),
    ({"account": ""}, ValueError, "account"),
    ({"account": 10657109000001}, TypeError, "account"),
    ({"account": "1234567", "dialect": "cmpp2", "service_id": "MSD"}, ValueError, "account"),
    ({"account": "ABC"}, ValueError, "src_id"),  # EMPP: the account is the default Src_Id
    ({"src_id": "1065710900000x"}, ValueError, "src_id"),
    ({"src_id": "1" * 22}, ValueError, "src_id"),
    ({"service_id": "x" * 11}, ValueError, "service_id"),
    ({"service_id": "服务"}, ValueError, "service_id"),
    ({"signature": "示例科技"}, ValueError, "signature"),
    ({"signature": "【一二三四五六七八九十】"}, ValueError, "signature"),
    ({"signature": "【\ud800】"}, ValueError, "signature"),
    ({"signature": None}, TypeError, "signature"),
    ({"dialect": "smpp"}, ValueError, "dialect"),
    ({"port": "9981"}, TypeError, "port"),
    ({"port": 70000}, ValueError, "port"),
    ({"host": 127}, TypeError, "host"),
    ({"on_mo": "print"}, TypeError, "on_mo"),
    ({"mo_timeout": 0}, ValueError, "mo_timeout"),
    ({"session_settings": {"window": 4}}, TypeError, "session_settings"),
    ({"reconnect_after_terminate": "no"}, TypeError, "reconnect_after_terminate"),
])
def test_bad_arguments_are_refused_at_construction(kwargs, error, name):
    arguments = {"account": ACCOUNT, "password": PASSWORD, "reactor": task.Clock(), "host": "127.0.0.1",
                 "signature": SIG, **kwargs}
    with pytest.raises(error, match=rf"\b{name}\b"):
        Client(**arguments)


def test_a_bare_string_recipient_is_refused_not_split_into_characters():
    h = Harness()
    started(h)
    with pytest.raises(TypeError, match=r"to must be .*write to=\['13800138000'\]"):
        h.client.send("hi", to="13800138000")
    with pytest.raises(TypeError, match=r"\bto must be"):
        h.client.send("hi", to=None)
    with pytest.raises(ValueError, match="src_id"):
        h.client.send("hi", to=["13800138000"], src_id="not digits")
    assert h.client.dispatcher.tracked == 0 and h.server.submits == []


def test_reports_resent_by_the_fake_platform_after_a_link_drop_count_once():
    """The client read the DELIVERs but its DELIVER_RESPs were lost with the link: the fake
    platform sends them again after the next login; every recipient keeps its one outcome."""
    from smsdk_harness.conformance.world import World

    with World(delay=(1.0, 1.0)) as w:
        c = w.started()
        to = [f"1370013{i:04d}" for i in range(40)]
        sub = c.send("您好", to=to)
        w.run(0.5)
        assert len(sub.accepted) == 40 and not sub.outcomes
        w.clock.advance(1.0)  # the platform writes the 40 reports
        pump = w.endpoints[-1].pumps[-1]
        pump.client.dataReceived(pump.serverIO.getOutBuffer())  # the client reads them ...
        assert sub.counts()["delivered"] == 40
        pump.clientIO.getOutBuffer()  # ... but its DELIVER_RESPs never reach the platform
        w.endpoints[-1].drop()
        w.run(30)  # reconnect; the platform sends the unacknowledged reports again
        assert c.bound and w.endpoints[-1].attempts == 2
        assert c.dispatcher.ignored_reports == 40
        assert list(c.unmatched_reports) == [] and sub.counts()["delivered"] == 40


def test_a_terminate_while_draining_stops_once():
    h = Harness(dispatch_settings=DispatchSettings(rate=100, group_send_limit=5))
    started(h)
    sub = h.client.send("hi", to=[f"138{i:08d}" for i in range(1_000)])
    stopped = h.client.stop(drain=True, timeout=30)
    h.run(1.0)
    _server_terminates(h)
    h.run(2.0)
    assert stopped.called and sub.done and h.endpoint.attempts == 1
    counts = sub.counts()
    assert counts["delivered"] + counts["cancelled"] == 1_000 and counts["cancelled"]
    assert h.client.stopped_because == "the client stopped"  # the first reason stands
