"""The EMPP front end against hostile and broken peers (issue 11) and DELIVERs that are not
acknowledged when a link ends (issue 10, item 2).  Raw peers on StringTransports, time
on a task.Clock."""

from __future__ import annotations

import pytest
from frontend_helpers import Raw, make_platform, text_submit
from twisted.internet.task import Clock
from twisted.logger import globalLogPublisher

from fake_smsc_helpers import MAIN, MAIN_PW, SUB, SUB_PW
from smsdk import codec
from smsdk_harness.fake_smsc.empp_server import EmppServer

EMPP = codec.Dialect.EMPP


@pytest.fixture
def clock() -> Clock:
    return Clock()


def build(clock: Clock, empp: str = "", **sections: str):
    if empp:
        sections["platform"] = sections.get("platform", "") + "\n[platform.empp]\n" + empp
    platform = make_platform(clock, **sections)
    return platform, EmppServer(platform, clock=clock)


def connect_bytes(account: str = MAIN, password: str = MAIN_PW, seq: int = 1) -> bytes:
    return codec.encode(codec.build_connect(account, password, 1122150405, EMPP), seq, EMPP)


def frame(pdu, seq: int) -> bytes:
    return codec.encode(pdu, seq, EMPP)


def delivers(frames):
    return [(s, p) for s, p in frames if isinstance(p, codec.Deliver)]


@pytest.fixture
def empp_log():
    """Log events of the EMPP front end, as text."""
    lines: list[str] = []

    def observe(event):
        if event.get("log_namespace") == "smsdk_harness.fake_smsc.empp":
            from twisted.logger import formatEvent

            lines.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    yield lines
    globalLogPublisher.removeObserver(observe)


# ------------------------------------------------------------------ 1. no ghost login


BROKEN_FRAMING = (10**6).to_bytes(4, "big") + bytes(8)  # Total_Length far over the limit


@pytest.mark.parametrize("name, data", [
    ("CONNECT + TERMINATE", connect_bytes() + frame(codec.Terminate(), 2)),
    ("CONNECT + broken framing", connect_bytes() + BROKEN_FRAMING),
    ("SUBMIT + CONNECT", frame(text_submit("hi"), 1) + connect_bytes(seq=2)),
    ("ACTIVE_TEST + CONNECT", frame(codec.ActiveTest(), 1) + connect_bytes(seq=2)),
    ("CONNECT + SUBMIT", connect_bytes() + frame(text_submit("hi"), 2)),
])
def test_a_connect_read_together_with_what_closes_the_link_binds_nothing(clock, name, data):
    platform, server = build(clock)
    raw = Raw(server)
    raw.send_bytes(data)  # raised SessionError("accept() without a pending CONNECT") before
    assert raw.closed
    assert not any(isinstance(p, codec.ConnectResp) for _, p in raw.read())
    assert not platform.account(MAIN).bound and server.connections() == []
    platform.inject_mo("13900139000", MAIN, "hi")
    assert [r.state for r in platform.mos()] == ["offline"]  # not "delivered" to a ghost
    assert Raw(server, 40001).login().status == 0  # not 20000: nobody was logged in


def test_the_account_is_unbound_however_the_connection_ends(clock):
    platform, server = build(clock)
    for end in ("cut", "terminate", "drop", "silence", "kicked"):
        raw = Raw(server, 40000)
        assert raw.login().status == 0
        if end == "cut":
            raw.cut()
        elif end == "terminate":
            raw.send(codec.Terminate(), 5)
        elif end == "drop":
            server.drop(MAIN)
            raw.check_closed()
        elif end == "silence":
            clock.advance(platform.config.empp.silence_timeout)
        else:
            newer = Raw(server, 40001)
            assert newer.login().status == 20000
            assert platform.session(MAIN) is server.sessions(MAIN)[0]
            newer.cut()
            raw.cut()
        assert raw.closed, end
        assert not platform.account(MAIN).bound and server.connections() == [], end


# ------------------------------------------------------------------ 2. nothing but CONNECT before login


@pytest.mark.parametrize("name, data", [
    ("unknown Command_Id", (12).to_bytes(4, "big") + (0x7777).to_bytes(4, "big") + (1).to_bytes(4, "big")),
    ("undecodable SUBMIT", None),
    ("ACTIVE_TEST", frame(codec.ActiveTest(), 1)),
    ("TERMINATE", frame(codec.Terminate(), 1)),
    ("DELIVER_RESP", frame(codec.DeliverResp(msg_id=bytes(10), result=0), 1)),
    ("CHANGEPASS", frame(codec.ChangePass(old_password=MAIN_PW, new_password="x"), 1)),
])
def test_anything_but_connect_before_login_closes_the_link_unanswered(clock, name, data):
    platform, server = build(clock)
    if data is None:
        good = frame(text_submit("hi"), 9)
        data = (len(good) - 2).to_bytes(4, "big") + good[4:-2]  # framed, body 2 bytes short
    raw = Raw(server)
    raw.send_bytes(data)
    assert raw.closed, name
    assert raw.read() == []  # not answered (ACTIVE_TEST_RESP, SUBMIT_RESP ... before)
    assert "before login" in server.history[-1].close_reason


def test_a_pdu_after_connect_in_the_same_read_is_before_login_too(clock):
    platform, server = build(clock)
    raw = Raw(server)
    raw.send_bytes(connect_bytes() + frame(codec.ActiveTest(), 2))
    assert raw.closed and raw.read() == []
    assert "before CONNECT_RESP" in server.history[-1].close_reason
    assert not platform.account(MAIN).bound


def test_login_deadline_closes_a_slowloris_connection(clock, empp_log):
    platform, server = build(clock)
    assert platform.config.empp.login_timeout == 10.0
    raw = Raw(server)
    data = connect_bytes()
    for i in range(9):  # one byte a second: the silence timeout alone never fires
        raw.send_bytes(data[i:i + 1])
        clock.advance(1)
    assert not raw.closed
    clock.advance(1)
    assert raw.closed
    conn = server.history[-1]
    assert "login_timeout" in conn.close_reason and server.counters["login_timeouts"] == 1
    assert len([line for line in empp_log if f"#{conn.id}" in line]) == 1


def test_login_deadline_is_a_setting_and_a_login_in_time_is_kept(clock):
    platform, server = build(clock, empp="login_timeout = 3")
    late, early = Raw(server, 40001), Raw(server, 40002)
    clock.advance(2)
    assert early.login().status == 0
    clock.advance(1)
    assert late.closed and not early.closed
    clock.advance(60)
    early.send(codec.ActiveTest(), 7)
    assert not early.closed


def test_connection_caps_in_total_and_per_address(clock, empp_log):
    platform, server = build(clock, empp="max_connections = 4\nmax_connections_per_address = 2")
    a1, a2 = Raw(server, 1, "10.0.0.1"), Raw(server, 2, "10.0.0.1")
    a3 = Raw(server, 3, "10.0.0.1")
    assert not a1.closed and not a2.closed and a3.closed  # the third from one address
    b1, b2 = Raw(server, 1, "10.0.0.2"), Raw(server, 2, "10.0.0.3")
    assert not b1.closed and not b2.closed
    c1 = Raw(server, 1, "10.0.0.4")
    assert c1.closed  # five would be over the total
    assert server.counters["connections_refused"] == 2
    assert len(server.connections()) == 4 and len(server.history) == 4
    refusals = [line for line in empp_log if "refused" in line]
    assert len(refusals) == 2 and "max_connections_per_address" in refusals[0]
    a1.cut()
    a4 = Raw(server, 4, "10.0.0.1")
    assert not a4.closed and a4.login().status == 0


def test_decode_errors_after_login_are_logged_once_per_link_not_per_frame(clock, empp_log):
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    good = frame(text_submit("hi"), 9)
    bad = (len(good) - 2).to_bytes(4, "big") + good[4:-2]
    raw.send_bytes(bad * 30)
    assert [p.result for _, p in raw.read()] == [1] * 30  # each still answered
    assert server.sessions(MAIN)[0].counters["decode_errors"] == 30
    assert len([line for line in empp_log if "undecodable" in line]) == 1


# ------------------------------------------------------------------ 3. login throttling


def test_failed_logins_are_throttled_per_account_and_address_not_for_the_real_user(clock):
    platform, server = build(clock)
    attacker = "10.6.6.6"
    for i in range(5):
        assert Raw(server, i, attacker).login(MAIN, f"guess-{i}").status == 3
    # the next attempt from there is refused without looking at the password, even the right one
    throttled = Raw(server, 99, attacker)
    assert throttled.login(MAIN, MAIN_PW).status == 3 and throttled.closed
    assert "throttled" in server.history[-1].login_reason
    assert server.counters["login_throttled"] == 1
    # the real user, from their own address, is not locked out
    assert Raw(server, 1, "10.1.1.1").login(MAIN, MAIN_PW).status == 0
    # another account from the attacker's address is not throttled by these five either
    assert Raw(server, 100, attacker).login(SUB, SUB_PW).status == 0
    # after the window the attacker's address may try that account again
    clock.advance(platform.config.empp.login_failure_window)
    assert Raw(server, 101, attacker).login(MAIN, MAIN_PW).status == 20000


def test_failed_logins_are_throttled_per_address_across_accounts(clock):
    platform, server = build(clock, empp="login_max_failures_per_address = 6")
    for i in range(6):  # six account ids, one failure each
        assert Raw(server, i, "10.6.6.6").login(f"1065710900{i:04d}", "x").status == 3
    assert "login_max_failures_per_address" in (
        Raw(server, 50, "10.6.6.6").login(SUB, SUB_PW).status == 3 and server.history[-1].login_reason)
    assert Raw(server, 50, "10.7.7.7").login(SUB, SUB_PW).status == 0


def test_throttling_can_be_turned_off(clock):
    platform, server = build(clock, empp="login_failure_window = 0")
    for i in range(30):
        assert Raw(server, i, "10.6.6.6").login(MAIN, "wrong").status == 3
    assert Raw(server, 31, "10.6.6.6").login(MAIN, MAIN_PW).status == 0


def test_throttle_memory_is_bounded_when_account_ids_are_cycled():
    from smsdk_harness.fake_smsc.guard import LoginThrottle

    throttle = LoginThrottle(5, 20, 60.0, max_keys=100)
    for i in range(10_000):
        throttle.failed(f"acc{i}", f"10.0.{i % 250}.{i // 250}", float(i) / 1000)
    assert max(throttle.sizes().values()) <= 100


def test_changepass_compares_the_old_password_in_constant_time(clock, monkeypatch):
    import hmac

    from smsdk_harness.fake_smsc import model

    calls = []
    compare = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(model.hmac, "compare_digest", spy)
    platform, server = build(clock)
    assert platform.change_password(MAIN, "wrong", "new") == 1
    assert platform.change_password(MAIN, MAIN_PW, "new-pw") == 0
    assert calls == [(b"wrong", MAIN_PW.encode()), (MAIN_PW.encode(), MAIN_PW.encode())]


# ------------------------------------------------------------------ issue 10.2: unacknowledged DELIVERs


def test_unacknowledged_delivers_come_again_after_the_next_login_in_order(clock):
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    for i in range(4):
        platform.inject_mo("13900139000", MAIN, f"mo {i}")
    sent = delivers(raw.read())
    assert [p.msg_content for _, p in sent] == [f"mo {i}".encode() for i in range(4)]
    seq, first = sent[0]
    raw.send(codec.DeliverResp(msg_id=first.msg_id, result=0), seq)  # only the first is acked
    raw.send(codec.DeliverResp(msg_id=bytes(10), result=0), sent[1][0])  # not its Msg_Id: no ack
    raw.cut()
    assert [i.text for i in platform.offline(MAIN)] == ["mo 1", "mo 2", "mo 3"]
    assert [r.state for r in platform.mos()] == ["delivered", "offline", "offline", "offline"]
    platform.inject_mo("13900139000", MAIN, "mo 4")  # while away: after the requeued ones
    again = Raw(server, 40001)
    again.login()
    got = delivers(again.read())
    assert [p.msg_content for _, p in got] == [b"mo 1", b"mo 2", b"mo 3", b"mo 4"]
    for s, p in got:
        again.send(codec.DeliverResp(msg_id=p.msg_id, result=0), s)
    again.send(codec.Terminate(), 99)
    assert again.closed and platform.offline(MAIN) == []
    third = Raw(server, 40002)
    assert third.login().status == 0 and delivers(third.read()) == []  # nothing comes a third time


def test_unacknowledged_reports_of_a_terminated_link_come_again(clock):
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    raw.send(text_submit("hi", to=("13800138000", "13800138001")), 2)
    clock.advance(0)
    clock.advance(1)
    reports = [p.report.dest_terminal_id for _, p in delivers(raw.read())]
    assert reports == ["13800138000", "13800138001"]
    raw.send(codec.Terminate(), 3)  # the client leaves without answering them
    assert raw.closed
    again = Raw(server, 40001)
    again.login()
    assert [p.report.dest_terminal_id for _, p in delivers(again.read())] == reports
    assert server.counters["deliver_requeued"] == 2


def test_unacknowledged_delivers_of_a_kicked_session_go_to_the_newer_one(clock):
    platform, server = build(clock)
    old = Raw(server, 40001)
    old.login()
    platform.inject_mo("13900139000", MAIN, "one")
    assert len(delivers(old.read())) == 1
    new = Raw(server, 40002)
    assert new.login().status == 20000
    ((tseq, _),) = old.read()  # TERMINATE
    old.send(codec.TerminateResp(), tseq)
    assert old.closed
    assert [p.msg_content for _, p in delivers(new.read())] == [b"one"]


def test_acks_during_our_terminate_count(clock):
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    platform.inject_mo("13900139000", MAIN, "one")
    ((seq, d),) = delivers(raw.read())
    server.terminate(MAIN)
    ((tseq, _),) = raw.read()
    raw.send(codec.DeliverResp(msg_id=d.msg_id, result=0), seq)  # answered while closing
    raw.send(codec.TerminateResp(), tseq)
    assert raw.closed and platform.offline(MAIN) == []


def test_redeliver_unacked_off_keeps_fire_and_forget(clock):
    platform, server = build(clock, empp="redeliver_unacked = false")
    raw = Raw(server)
    raw.login()
    platform.inject_mo("13900139000", MAIN, "one")
    assert len(delivers(raw.read())) == 1
    raw.cut()
    assert platform.offline(MAIN) == []
    assert server.history[-1].counters["deliver_unacked"] == 1
