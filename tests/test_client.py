"""smsdk.Client end to end, in memory: the client's protocol and a MinimalServer's protocol
joined by Twisted's iosim, time on a task.Clock (no sockets, no sleeps)."""

from __future__ import annotations

from datetime import datetime

import pytest
from twisted.internet import task

from smsdk import codec
from smsdk._layouts import Dialect
from smsdk.client import Client
from smsdk.china_time import CHINA
from smsdk.dispatch import DispatchSettings, OutcomeState
from smsdk.session import LoginError, SessionSettings
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
