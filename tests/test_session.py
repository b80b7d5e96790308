"""The sans-IO session, with bytes only: a client session talks to a server session."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
import typing

import pytest
from hypothesis import given, strategies as st
from hypothesis_profiles import examples

from smsdk import codec
from smsdk.codec import Dialect
from smsdk.session import (
    Bound,
    ConnectRequested,
    DeliverReceived,
    Event,
    LateResponse,
    LinkDead,
    LoginRefused,
    PeerProtocolError,
    RequestAbandoned,
    RequestExpired,
    RequestResent,
    RequestReceived,
    ResponseReceived,
    Role,
    Session,
    SessionError,
    SessionSettings,
    SessionState,
    Terminated,
    Unauthorized,
    WindowFull,
)

ACCOUNT = "10657109000001"
SP_ID = "901234"  # CMPP's Source_Addr holds a 6-digit SP id
PASSWORD = "secret"
TS = 1122150405


def msg_id(dialect: Dialect, n: int) -> bytes:
    width = 10 if dialect == Dialect.EMPP else 8
    return n.to_bytes(8, "big") + bytes(width - 8)


def submit(number: str = "13800138000") -> codec.Submit:
    return codec.Submit(dest_terminal_id=(number,), msg_content="hi".encode(), msg_fmt=0, src_id=ACCOUNT)


def pump(src: Session, dst: Session, now: float) -> list:
    return dst.receive_data(src.data_to_send(), now)


def bound_pair(dialect=Dialect.EMPP, settings=None, server_settings=None, status=0):
    client = Session(dialect, Role.CLIENT, settings)
    server = Session(dialect, Role.SERVER, server_settings or settings)
    client.connect(ACCOUNT if dialect == Dialect.EMPP else SP_ID, PASSWORD, timestamp=TS, now=0.0)
    (request,) = pump(client, server, 0.0)
    assert isinstance(request, ConnectRequested)
    assert codec.check_connect(request.pdu, PASSWORD)
    server.accept(request.sequence_id, password=PASSWORD, status=status, now=0.0)
    events = pump(server, client, 0.0)
    return client, server, events


@pytest.mark.parametrize("dialect", list(Dialect))
def test_login_binds_both_roles(dialect):
    client, server, events = bound_pair(dialect)
    (event,) = events
    assert isinstance(event, Bound) and not event.kicked_other_session
    assert client.state is SessionState.BOUND and server.state is SessionState.BOUND


def test_status_20000_binds_and_says_another_session_was_kicked():
    client, _server, events = bound_pair(status=20000)
    assert client.state is SessionState.BOUND
    assert events == [Bound(status=20000, version=0x10, ability=0, kicked_other_session=True)]


@pytest.mark.parametrize(
    "status, retryable, words",
    [(3, False, "authentication"), (4, False, "version"), (10001, True, "maximum number of logins"),
     (10002, True, "limit")],
)
def test_refused_login_is_a_clear_error_and_closes(status, retryable, words):
    client = Session(Dialect.EMPP, Role.CLIENT)
    server = Session(Dialect.EMPP, Role.SERVER)
    client.connect(ACCOUNT, PASSWORD, timestamp=TS, now=0.0)
    (request,) = pump(client, server, 0.0)
    server.refuse(request.sequence_id, status, now=0.0)
    (event,) = pump(server, client, 0.0)
    assert isinstance(event, LoginRefused)
    assert event.error.status == status and event.error.retryable is retryable
    assert words in str(event.error)
    assert client.state is SessionState.CLOSED and server.state is SessionState.CLOSED
    assert client.next_deadline() is None


def test_connect_without_answer_is_a_dead_link():
    client = Session(Dialect.EMPP, Role.CLIENT, SessionSettings(connect_timeout=5))
    client.connect(ACCOUNT, PASSWORD, timestamp=TS, now=0.0)
    assert client.next_deadline() == 5
    assert client.on_timer(4.9) == []
    (event,) = client.on_timer(5.0)
    assert isinstance(event, LinkDead) and "CONNECT_RESP" in event.reason


def test_sending_before_login_is_refused():
    client = Session(Dialect.EMPP, Role.CLIENT)
    with pytest.raises(SessionError):
        client.send(submit(), 0.0)


def test_submit_and_response_are_matched_by_sequence_id():
    client, server, _ = bound_pair()
    seqs = [client.send(submit(), 1.0, tag=i) for i in range(3)]
    requests = pump(client, server, 1.0)
    assert [type(e) for e in requests] == [RequestReceived] * 3
    assert [e.sequence_id for e in requests] == seqs
    for i, request in enumerate(reversed(requests)):  # answered out of order
        server.respond(request.sequence_id, codec.SubmitResp(msg_id=msg_id(Dialect.EMPP, i), result=0))
    responses = pump(server, client, 1.5)
    assert sorted(e.tag for e in responses) == [0, 1, 2]
    for event in responses:
        assert isinstance(event, ResponseReceived) and event.request == submit()
    assert client.in_flight == 0


def test_window_is_enforced_and_frees_on_response():
    client, server, _ = bound_pair(settings=SessionSettings(window=2))
    client.send(submit(), 0)
    client.send(submit(), 0)
    assert not client.can_send
    with pytest.raises(WindowFull):
        client.send(submit(), 0)
    first = pump(client, server, 0)[0]
    server.respond(first.sequence_id, codec.SubmitResp(msg_id=msg_id(Dialect.EMPP, 1), result=0))
    pump(server, client, 0)
    assert client.can_send and client.in_flight == 1


def test_unanswered_request_is_resent_n_times_then_expires_and_late_answer_is_flagged():
    settings = SessionSettings(response_timeout=60, max_attempts=3, active_test_interval=0, silence_timeout=0)
    client, server, _ = bound_pair(settings=settings)
    seq = client.send(submit(), 0.0, tag="job")
    first = client.data_to_send()
    assert client.next_deadline() == 60
    assert client.on_timer(60) == [RequestResent(seq, submit(), "job", 2)]  # the caller knows
    assert client.data_to_send() == first  # the same bytes, the same Sequence_Id
    assert client.on_timer(120) == [RequestResent(seq, submit(), "job", 3)]
    assert client.data_to_send() == first
    (expired,) = client.on_timer(180)
    assert expired == RequestExpired(seq, submit(), "job", 3)
    assert client.data_to_send() == b"" and client.in_flight == 0
    assert client.counters.resent == 2
    # the platform answers after all: the caller learns the SUBMIT was accepted
    server.receive_data(first, 181)
    server.respond(seq, codec.SubmitResp(msg_id=msg_id(Dialect.EMPP, 7), result=0))
    (late,) = pump(server, client, 181)
    assert isinstance(late, LateResponse) and late.tag == "job"


def test_heartbeat_after_idle_and_dead_link_after_missed_ones():
    settings = SessionSettings(active_test_interval=30, active_test_timeout=10, active_test_max_missed=3,
                               silence_timeout=0)
    client, server, _ = bound_pair(settings=settings)
    assert client.next_deadline() == 30
    assert client.on_timer(30) == []
    beat = client.data_to_send()
    assert codec.decode(beat, Dialect.EMPP)[1] == codec.ActiveTest()
    # the server answers: the link is alive, the next heartbeat is 30 s after that answer
    server.receive_data(beat, 31)
    client.receive_data(server.data_to_send(), 31)
    assert client.next_deadline() == 61
    # now the server goes silent
    client.on_timer(61)
    assert client.data_to_send()
    assert client.on_timer(71) == []  # first miss: sent again
    assert client.on_timer(81) == []  # second miss
    (dead,) = client.on_timer(91)
    assert isinstance(dead, LinkDead) and "ACTIVE_TEST" in dead.reason
    assert client.state is SessionState.CLOSED


def test_silence_timeout_drops_the_link_and_abandons_requests_in_flight():
    settings = SessionSettings(active_test_interval=0, silence_timeout=180)
    client, _server, _ = bound_pair(settings=settings)
    seq = client.send(submit(), 0.0, tag="t")
    events = client.on_timer(180)
    assert isinstance(events[0], LinkDead)
    assert events[1:] == [RequestAbandoned(seq, submit(), "t", True)]


def test_server_answers_active_test_and_client_answers_server_active_test():
    client, server, _ = bound_pair()
    server.send(codec.ActiveTest(), 1.0, await_response=False)
    assert pump(server, client, 1.0) == []
    seq, resp = codec.decode(client.data_to_send(), Dialect.EMPP)
    assert resp == codec.ActiveTestResp()


def test_client_answers_deliver_with_same_sequence_id():
    client, server, _ = bound_pair()
    report = codec.StatusReport(msg_id=msg_id(Dialect.EMPP, 5), stat="DELIVRD", submit_time="2611221500",
                                done_time="2611221501", dest_terminal_id="13800138000", smsc_sequence=9)
    deliver = codec.Deliver(msg_id=msg_id(Dialect.EMPP, 99), dest_id=ACCOUNT, registered_delivery=1,
                            msg_content=report, src_terminal_id="13800138000")
    seq = server.send(deliver, 2.0)
    (event,) = pump(server, client, 2.0)
    assert isinstance(event, DeliverReceived) and event.pdu.report == report
    (answer,) = pump(client, server, 2.0)
    assert isinstance(answer, ResponseReceived) and answer.sequence_id == seq
    assert answer.response == codec.DeliverResp(msg_id=deliver.msg_id, result=0)


def test_a_holding_client_leaves_a_reports_answer_to_its_caller_but_answers_an_mo_itself():
    client, server, _ = bound_pair()
    client.hold_report_resps = True
    report = codec.StatusReport(msg_id=msg_id(Dialect.EMPP, 5), stat="DELIVRD", submit_time="2611221500",
                                done_time="2611221501", dest_terminal_id="13800138000", smsc_sequence=9)
    held = codec.Deliver(msg_id=msg_id(Dialect.EMPP, 99), dest_id=ACCOUNT, registered_delivery=1,
                         msg_content=report, src_terminal_id="13800138000")
    mo = codec.Deliver(msg_id=msg_id(Dialect.EMPP, 98), dest_id=ACCOUNT, registered_delivery=0,
                       msg_content=b"hi", src_terminal_id="13800138000")
    seq = server.send(held, 2.0, await_response=False)
    server.send(mo, 2.0, await_response=False)
    events = pump(server, client, 2.0)
    assert [(type(e), e.held) for e in events] == [(DeliverReceived, True), (DeliverReceived, False)]
    (answer,) = pump(client, server, 2.0)  # the MO's only
    assert answer.response.msg_id == mo.msg_id
    assert client.held_resps == [(events[0].sequence_id, held.msg_id)]
    assert client.answer_held() == 1 and client.held_resps == []
    (answer,) = pump(client, server, 2.5)
    assert answer.sequence_id == seq and answer.response == codec.DeliverResp(msg_id=held.msg_id, result=0)
    server.send(held, 2.6, await_response=False)
    pump(server, client, 2.6)
    client.connection_lost(3.0)
    assert client.answer_held() == 0 and client.held_resps == []  # the link is gone: dropped


def test_peer_terminate_is_answered_and_closes():
    client, server, _ = bound_pair()
    seq = client.send(submit(), 0.0, tag="x")
    client.data_to_send()
    server.terminate(1.0)
    events = pump(server, client, 1.0)
    assert events[0] == Terminated(by_peer=True)
    assert events[1] == RequestAbandoned(seq, submit(), "x", True)
    (done,) = pump(client, server, 1.0)
    assert done == Terminated(by_peer=False)
    assert server.state is SessionState.CLOSED


def test_own_terminate_closes_after_timeout_without_answer():
    client, _server, _ = bound_pair(settings=SessionSettings(terminate_timeout=5))
    client.terminate(10.0)
    assert client.state is SessionState.CLOSING
    assert client.next_deadline() == 15.0
    assert client.on_timer(15.0) == [Terminated(by_peer=False)]


def test_unauthorization_is_surfaced():
    client, server, _ = bound_pair()
    server.send(codec.Unauthorization(unauth_command_id=0x16), 0, await_response=False)
    assert pump(server, client, 0) == [Unauthorized(0x16)]


def test_undecodable_pdu_is_reported_and_the_link_goes_on():
    client, server, _ = bound_pair()
    bad = (12).to_bytes(4, "big") + (0x00000077).to_bytes(4, "big") + (5).to_bytes(4, "big")
    good = codec.encode(codec.ActiveTest(), 6, Dialect.EMPP)
    events = client.receive_data(bad + good, 1.0)
    assert len(events) == 1 and isinstance(events[0], PeerProtocolError)
    assert codec.decode(client.data_to_send(), Dialect.EMPP) == (6, codec.ActiveTestResp())
    assert client.state is SessionState.BOUND


def test_thousands_of_bad_frames_in_one_chunk_are_each_reported_without_recursion():
    client, _server, _ = bound_pair()
    bad = (12).to_bytes(4, "big") + (0x00000077).to_bytes(4, "big") + (5).to_bytes(4, "big")
    events = client.receive_data(bad * 5000 + codec.encode(codec.ActiveTest(), 6, Dialect.EMPP), 1.0)
    assert len(events) == 5000 and all(isinstance(e, PeerProtocolError) for e in events)
    assert codec.decode(client.data_to_send(), Dialect.EMPP) == (6, codec.ActiveTestResp())


def test_broken_framing_kills_the_link():
    client, _server, _ = bound_pair()
    events = client.receive_data((5).to_bytes(4, "big") + bytes(8), 1.0)
    assert isinstance(events[-1], LinkDead) or isinstance(events[0], LinkDead)
    assert client.state is SessionState.CLOSED


def test_sequence_ids_wrap_and_skip_ids_in_flight():
    client, _server, _ = bound_pair(settings=SessionSettings(window=4, active_test_interval=0, silence_timeout=0))
    client._next_sequence = 0x7FFFFFFE
    a = client.send(submit(), 0)
    b = client.send(submit(), 0)
    c = client.send(submit(), 0)
    assert (a, b) == (0x7FFFFFFE, 0x7FFFFFFF)
    assert c == 1  # wrapped past the top (1 was the CONNECT's, answered long ago)
    client._next_sequence = a
    d = client.send(submit(), 0)
    assert d == 2  # a, b and 1 are still in flight: skipped


@examples(60)
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=30))
def test_any_chunking_of_the_byte_stream_gives_the_same_events(cuts):
    client, server, _ = bound_pair()
    for i in range(5):
        server.send(codec.Deliver(msg_id=msg_id(Dialect.EMPP, i), dest_id=ACCOUNT, src_terminal_id="13800138000",
                                  msg_content=f"mo {i}".encode(), msg_fmt=0), 0.0, await_response=False)
    stream = server.data_to_send()
    events = []
    pos = 0
    for cut in cuts:
        events += client.receive_data(stream[pos:pos + cut], 0.0)
        pos += cut
    events += client.receive_data(stream[pos:], 0.0)
    assert [e.pdu.msg_content for e in events] == [f"mo {i}".encode() for i in range(5)]


@pytest.mark.parametrize("cls", typing.get_args(Event), ids=lambda cls: cls.__name__)
def test_events_are_immutable_hashable_dataclasses(cls):
    names = [f.name for f in dataclasses.fields(cls)]
    values = list(range(len(names)))
    event = cls(*values)
    assert dataclasses.is_dataclass(event)
    assert cls(**dict(zip(names, values))) == event
    assert hash(cls(*values)) == hash(event)
    assert event != cls(*[v + 1 for v in values])
    assert [getattr(event, n) for n in names] == values
    assert repr(event) == f"{cls.__name__}({', '.join(f'{n}={v!r}' for n, v in zip(names, values))})"
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(event, names[0], 99)
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(event, names[0])
    assert dataclasses.replace(event, **{names[0]: 99}) == cls(99, *values[1:])
    assert pickle.loads(pickle.dumps(event)) == event
    assert copy.copy(event) == event
    assert list(inspect.signature(cls).parameters) == names
    with pytest.raises(TypeError):
        cls(*values, 0)
    with pytest.raises(TypeError):
        cls(*values[1:])
