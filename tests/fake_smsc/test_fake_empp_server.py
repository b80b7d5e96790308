"""The EMPP front end on the wire: a raw peer on a StringTransport, time on a task.Clock.

The raw peer behaves like the official client where PROTOCOL.md §1.15 says so: it never
answers DELIVER nor the server's ACTIVE_TEST, sends its own ACTIVE_TEST every 5 s, and
its CONNECT Sequence_Id is whatever its process-wide counter says."""

from __future__ import annotations

import pytest
from frontend_helpers import Raw, make_platform, text_submit
from twisted.internet.task import Clock

from fake_smsc_helpers import MAIN, MAIN_PW, SIG, SUB, SUB_PW
from smsdk import codec
from smsdk_harness.fake_smsc.empp_server import EmppServer


@pytest.fixture
def clock() -> Clock:
    return Clock()


def build(clock: Clock, **sections: str):
    platform = make_platform(clock, **sections)
    return platform, EmppServer(platform, clock=clock)


def deliver_pdus(frames):
    return [(s, p) for s, p in frames if isinstance(p, codec.Deliver)]


# ---------------------------------------------------------------------------------- login


def test_login_ok_carries_ability_and_a_valid_authenticator(clock):
    platform, server = build(clock)
    raw = Raw(server)
    connect = codec.build_connect(MAIN, MAIN_PW, 1122150405, codec.Dialect.EMPP)
    raw.send(connect, 77)  # the official client's CONNECT Sequence_Id is not always 1
    data = raw.transport.value()
    assert len(data) == 37  # CONNECT_RESP with the 4-byte Ability (PROTOCOL.md §1.15)
    ((seq, resp),) = raw.read()
    assert seq == 77 and resp.status == 0 and resp.ability == 0 and resp.version == 0x10
    assert resp.authenticator_ismg == codec.connect_resp_authenticator(
        0, connect.authenticator_source, MAIN_PW, codec.Dialect.EMPP)
    assert platform.session(MAIN) is server.sessions(MAIN)[0]
    assert not raw.closed


@pytest.mark.parametrize("account, password, why", [
    (MAIN, "wrong", "wrong password"),
    ("10657109000009", MAIN_PW, "no account"),
])
def test_bad_credentials_get_status_3_and_the_link_is_closed(clock, account, password, why):
    platform, server = build(clock)
    raw = Raw(server)
    resp = raw.login(account, password)
    assert resp.status == 3 and resp.ability == 0
    assert raw.closed
    conn = server.history[-1]
    assert conn.state == "refused" and why in conn.login_reason
    assert server.connections() == []
    assert platform.session(MAIN) is None


def test_a_role_that_cannot_log_in_gets_status_3(clock):
    platform, server = build(clock, accounts='role = "contact_only"')
    resp = Raw(server).login(SUB, SUB_PW)
    assert resp.status == 3
    assert "cannot log in" in server.history[-1].login_reason


@pytest.mark.parametrize("version", [0x20, 0x30, 0x00])
def test_another_version_gets_status_4(clock, version):
    platform, server = build(clock)
    raw = Raw(server)
    resp = raw.login(version=version)
    assert resp.status == 4 and raw.closed
    assert platform.counters["logins"] == 0


def test_ability_is_the_accounts_setting_and_submit2_only_accounts_may_not_submit(clock):
    platform, server = build(clock, accounts="ability = 1")
    raw = Raw(server)
    assert raw.login(SUB, SUB_PW).ability == 1
    raw.send(text_submit("hi", src_id=SUB), 2)
    ((seq, pdu),) = raw.read()
    assert seq == 2 and isinstance(pdu, codec.Unauthorization)
    assert pdu.unauth_command_id == codec.CommandId.SUBMIT
    assert platform.counters["submits"] == 0
    other = Raw(server, 40001)
    assert other.login().ability == 0


def test_kick_policy_terminates_the_older_session(clock):
    platform, server = build(clock)
    first, second = Raw(server, 40001), Raw(server, 40002)
    assert first.login().status == 0
    assert second.login().status == 20000
    ((seq, pdu),) = first.read()
    assert isinstance(pdu, codec.Terminate)
    assert platform.session(MAIN) is server.sessions(MAIN)[0]
    assert server.sessions(MAIN)[0].proto is second.proto
    # the kicked client answers; its link is closed
    first.send(codec.TerminateResp(), seq)
    assert first.closed
    old = server.history[0]
    assert old.was_kicked and old.state == "closed"
    # a SUBMIT the kicked peer had in flight is not processed
    assert platform.counters["login_kicked"] == 1


def test_a_kicked_session_that_never_answers_is_closed_after_the_timeout(clock):
    platform, server = build(clock)
    first, second = Raw(server, 40001), Raw(server, 40002)
    first.login()
    second.login()
    first.read()
    first.send(text_submit("late"), 9)  # after TERMINATE: ignored, not answered
    assert first.read() == [] and platform.counters["submits"] == 0
    clock.advance(platform.config.empp.terminate_timeout)
    assert first.closed and not second.closed
    assert server.history[0].counters["ignored_after_terminate"] == 1


def test_refuse_policy_answers_10001_and_keeps_the_first_session(clock):
    platform, server = build(clock, platform='login_policy = "refuse"')
    first, second = Raw(server, 40001), Raw(server, 40002)
    assert first.login().status == 0
    assert second.login().status == 10001
    assert second.closed and not first.closed
    assert first.read() == []
    assert server.sessions(MAIN)[0].proto is first.proto


# ---------------------------------------------------------------------------------- SUBMIT


def test_submit_resp_carries_the_models_result_and_comes_before_any_deliver(clock):
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    raw.send(text_submit("您好"), 5)
    clock.advance(0)  # the model hands "at once" reports on the next turn
    clock.advance(1.0)  # the test config's network delay
    frames = raw.read()
    assert isinstance(frames[0][1], codec.SubmitResp)
    seq, resp = frames[0]
    assert seq == 5 and resp.result == 0
    out = platform.submissions()[-1]
    assert resp.msg_id == out.msg_id.raw
    ((_, deliver),) = deliver_pdus(frames)
    assert deliver.registered_delivery == 1 and deliver.report.stat == "DELIVRD"
    assert deliver.report.msg_id == resp.msg_id and deliver.report.smsc_sequence == 5
    assert deliver.dest_id == MAIN
    assert platform.handset("13800138000").texts == ["您好" + SIG]


def test_refused_submits_answer_with_the_rule_code_and_a_zero_msg_id(clock):
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    raw.send(text_submit("hi", to=tuple(f"1380013800{i}" for i in range(6))), 2)  # group of 6
    raw.send(text_submit("hi", to=("02112345678",)), 3)                             # PHS
    raw.send(text_submit("长" * 71), 4)                                               # > 70 chars
    raw.send(text_submit("hi", src_id="10657109000002"), 5)                          # Src_Id
    results = {s: (p.result, p.msg_id) for s, p in raw.read()}
    assert {s: r for s, (r, _) in results.items()} == {2: 15, 3: 13, 4: 6, 5: 10}
    assert all(m == bytes(10) for _, m in results.values())
    clock.advance(5)
    assert deliver_pdus(raw.read()) == []


def test_reports_of_a_group_carry_consecutive_msg_ids(clock):
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    to = ("13800138000", "13800138001", "13800138666")  # the last is blacklisted
    raw.send(text_submit("hi", to=to), 2)
    clock.advance(0)
    clock.advance(1)
    frames = raw.read()
    resp = frames[0][1]
    reports = {p.report.dest_terminal_id: p.report for _, p in deliver_pdus(frames)}
    base = int.from_bytes(resp.msg_id[:8], "big")
    assert {n: int.from_bytes(r.msg_id[:8], "big") - base for n, r in reports.items()} == {
        "13800138000": 0, "13800138001": 1, "13800138666": 2}
    assert reports["13800138666"].stat == "DTBLACK"


def test_official_client_style_submits_are_accepted(clock):
    """Service_Id 000000000, a hard-coded Fee_terminal_Id, Pk 1/1 on UDH parts (§1.15)."""
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    text = "long message " * 10  # 130 chars, ASCII: still UCS2 parts with UDH
    chunks = [text[:67], text[67:124], text[124:]]
    for i, chunk in enumerate(chunks, 1):
        raw.send(codec.Submit(
            dest_terminal_id=("13800138000",), msg_fmt=8, tp_udhi=1,
            msg_content=bytes((5, 0, 3, 7, 3, i)) + chunk.encode("utf-16-be"),
            service_id="000000000", fee_terminal_id="13900000000", fee_type="01", fee_code="0",
            src_id=MAIN), 100 + i)
    assert [p.result for _, p in raw.read()] == [0, 0, 0]
    clock.advance(0)
    clock.advance(1)
    assert platform.handset("13800138000").texts == [text + SIG]


def test_changepass(clock):
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    raw.send(codec.ChangePass(old_password="nope", new_password="x"), 2)
    raw.send(codec.ChangePass(old_password=MAIN_PW, new_password="new-pw"), 3)
    (s1, r1), (s2, r2) = raw.read()
    assert (s1, r1.result, s2, r2.result, r2.password) == (2, 1, 3, 0, "new-pw")
    assert platform.account(MAIN).password == "new-pw"
    raw.send(codec.Terminate(), 4)
    assert Raw(server, 40001).login(MAIN, "new-pw").status == 0


def test_a_request_before_login_closes_the_link(clock):
    platform, server = build(clock)
    raw = Raw(server)
    raw.send(text_submit("hi"), 1)
    assert raw.closed and raw.read() == []
    assert platform.counters["submits"] == 0


def test_undecodable_submit_is_answered_with_result_1(clock):
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    good = codec.encode(text_submit("hi"), 9, codec.Dialect.EMPP)
    bad = good[:-2]  # the body ends 2 bytes early; Total_Length says so (a bad but framed PDU)
    bad = len(bad).to_bytes(4, "big") + bad[4:]
    raw.send_bytes(bad)
    ((seq, resp),) = raw.read()
    assert seq == 9 and resp.result == 1
    assert not raw.closed


# ---------------------------------------------------------------------------------- DELIVER


def test_unanswered_delivers_never_cost_the_link_nor_come_twice(clock):
    """The official client: heartbeat every 5 s, never a DELIVER_RESP, never answers the
    server.  Ten minutes of it with 40 reports: each DELIVER exactly once, link up."""
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    seq = 2
    numbers = [f"1380013{i:04d}" for i in range(40)]
    for n in numbers:
        raw.send(text_submit("hi", to=(n,)), seq)
        seq += 1
    for _ in range(120):  # 10 minutes
        clock.advance(5)
        raw.send(codec.ActiveTest(), seq)
        seq += 1
    frames = raw.read()
    delivers = deliver_pdus(frames)
    assert sorted(p.report.dest_terminal_id for _, p in delivers) == numbers
    assert len({s for s, _ in delivers}) == 40
    assert not raw.closed
    assert not any(isinstance(p, codec.ActiveTest) for _, p in frames)  # the server never asks
    conn = server.sessions(MAIN)[0]
    assert conn.counters["delivers"] == 40 and conn.counters["deliver_unacked"] == 40
    assert conn.awaiting_deliver_resp == 0
    assert sum(isinstance(p, codec.ActiveTestResp) for _, p in frames) == 120


def test_deliver_resps_are_matched_and_counted(clock):
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    raw.send(text_submit("hi", to=("13800138000", "13800138001")), 2)
    clock.advance(0)
    clock.advance(1)
    d1, d2 = deliver_pdus(raw.read())
    raw.send(codec.DeliverResp(msg_id=d1[1].msg_id, result=0), d1[0])
    raw.send(codec.DeliverResp(msg_id=bytes(10), result=0), d2[0])  # wrong Msg_Id
    raw.send(codec.DeliverResp(msg_id=bytes(10), result=0), 999)    # nothing sent with 999
    c = server.sessions(MAIN)[0].counters
    assert (c["deliver_resp"], c["deliver_resp_mismatch"], c["deliver_resp_unknown"]) == (1, 1, 1)
    assert not raw.closed


def test_mo_goes_out_as_a_deliver(clock):
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    platform.inject_mo("13900139000", MAIN + "88", "退订")
    ((_, d),) = deliver_pdus(raw.read())
    assert d.registered_delivery == 0 and d.src_terminal_id == "13900139000"
    assert d.dest_id == MAIN + "88" and d.msg_content.decode("gbk") == "退订"


# ---------------------------------------------------------------------------------- liveness


def test_active_test_is_answered_with_its_sequence_id(clock):
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    raw.send(codec.ActiveTest(), 4242)
    data = raw.transport.value()
    assert len(data) == 13
    ((seq, pdu),) = raw.read()
    assert seq == 4242 and isinstance(pdu, codec.ActiveTestResp)


def test_a_silent_link_is_dropped_and_later_reports_wait_offline(clock):
    platform, server = build(clock, platform="[platform.empp]\nsilence_timeout = 30")
    raw = Raw(server)
    raw.login()
    platform.network.set_outcome("13800138000", "DELIVRD", delay=60)
    raw.send(text_submit("hi"), 2)
    raw.read()
    clock.advance(29)
    assert not raw.closed
    clock.advance(1)
    assert raw.closed
    assert raw.read() == []  # dropped without TERMINATE
    assert server.history[-1].close_reason == "nothing received for 30 s"
    assert platform.session(MAIN) is None
    clock.advance(60)
    assert [i.stat for i in platform.offline(MAIN)] == ["DELIVRD"]
    again = Raw(server, 40001)
    again.login()
    ((_, d),) = deliver_pdus(again.read())
    assert d.report.stat == "DELIVRD" and d.report.dest_terminal_id == "13800138000"


def test_heartbeats_keep_a_link_up_past_the_silence_timeout(clock):
    platform, server = build(clock, platform="[platform.empp]\nsilence_timeout = 30")
    raw = Raw(server)
    raw.login()
    for i in range(30):
        clock.advance(20)
        raw.send(codec.ActiveTest(), 10 + i)
    assert not raw.closed


def test_terminate_from_the_client(clock):
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    raw.send(codec.Terminate(), 8)
    ((seq, pdu),) = raw.read()
    assert seq == 8 and isinstance(pdu, codec.TerminateResp)
    assert raw.closed
    assert platform.session(MAIN) is None
    assert server.history[-1].close_reason == "TERMINATE from the client"


def test_terminate_from_the_platform(clock):
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    assert server.terminate(MAIN) == 1
    ((seq, pdu),) = raw.read()
    assert isinstance(pdu, codec.Terminate)
    assert platform.session(MAIN) is None  # unbound at once: reports now wait offline
    platform.inject_mo("13900139000", MAIN, "hi")
    assert deliver_pdus(raw.read()) == []
    raw.send(codec.TerminateResp(), seq)
    assert raw.closed
    assert len(platform.offline(MAIN)) == 1


def test_drop_cuts_without_terminate(clock):
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    assert server.drop(MAIN) == 1
    assert raw.transport.disconnecting and raw.read() == []
    assert platform.session(MAIN) is None


def test_a_lost_connection_unbinds(clock):
    platform, server = build(clock)
    raw = Raw(server)
    raw.login()
    raw.cut()
    assert platform.session(MAIN) is None and server.connections() == []
    assert server.history[-1].close_reason == "connection lost"
