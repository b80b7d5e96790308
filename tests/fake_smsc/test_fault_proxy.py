"""The fault-injecting proxy (harness/fake_smsc/faultproxy.py): each fault does what it says.

Most tests join the proxy to in-memory transports and drive its time with task.Clock; the
last ones run it on loopback in front of the fake platform, with smsdk.Client, and through
the control API and ``smsdk fake-smsc --fault-proxy``."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from smsdk.session import SessionSettings
from smsdk_harness.fake_smsc import Platform, default_config
from smsdk_harness.fake_smsc.control import ControlApi
from smsdk_harness.fake_smsc.faultcontrol import register
from smsdk_harness.fake_smsc.faultproxy import FaultPolicy, FaultProxy
from smsdk_harness.fake_smsc.simclock import ReactorClock


class Transport(StringTransport):
    """A StringTransport that records each write and a half-close."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[tuple[float, bytes]] = []
        self.write_closed = False
        self.aborted = False
        self.clock: Clock | None = None

    def write(self, data: bytes) -> None:
        super().write(data)
        self.chunks.append((self.clock.seconds() if self.clock else 0.0, data))

    def loseWriteConnection(self) -> None:
        self.write_closed = True

    def abortConnection(self) -> None:
        self.aborted = True
        super().abortConnection()


class Upstream:
    """An IStreamClientEndpoint whose connections the test completes by hand."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.pending: list[tuple[object, defer.Deferred]] = []

    def connect(self, factory):
        d: defer.Deferred = defer.Deferred()
        self.pending.append((factory, d))
        return d

    def complete(self):
        factory, d = self.pending.pop(0)
        proto = factory.buildProtocol(None)
        transport = Transport()
        transport.clock = self.clock
        proto.makeConnection(transport)
        d.callback(proto)
        return proto, transport


class Rig:
    def __init__(self, seed: int = 1) -> None:
        self.clock = Clock()
        self.upstream = Upstream(self.clock)
        self.proxy = FaultProxy(self.clock, clock=self.clock, seed=seed, upstream=self.upstream)

    def connect(self, complete: bool = True):
        """A client connection: (client-side protocol of the proxy, its transport, upstream
        protocol, upstream transport)."""
        front = self.proxy.factory().buildProtocol(None)
        ft = Transport()
        ft.clock = self.clock
        front.makeConnection(ft)
        back, bt = self.upstream.complete() if complete else (None, None)
        return front, ft, back, bt


@pytest.fixture
def rig() -> Rig:
    return Rig()


def test_without_faults_bytes_pass_both_ways_at_once_and_unchanged(rig):
    front, ft, back, bt = rig.connect()
    front.dataReceived(b"hello")
    back.dataReceived(b"world")
    assert bt.value() == b"hello" and ft.value() == b"world"
    [conn] = rig.proxy.connections()
    assert conn.state == "open" and conn.up.bytes_out == 5 and conn.down.bytes_out == 5


def test_bytes_sent_before_the_target_answers_wait_for_it(rig):
    front, ft, _, _ = rig.connect(complete=False)
    front.dataReceived(b"CONNECT")
    assert rig.proxy.connections()[0].state == "connecting"
    back, bt = rig.upstream.complete()
    assert bt.value() == b"CONNECT"


def test_delay_holds_each_direction_its_own_time_and_keeps_the_order(rig):
    rig.proxy.set_policy(delay_down=1.5, delay_up=0.25)
    front, ft, back, bt = rig.connect()
    back.dataReceived(b"resp-1")
    rig.clock.advance(1.0)
    front.dataReceived(b"req")
    back.dataReceived(b"resp-2")
    assert ft.value() == b"" and bt.value() == b""
    rig.clock.advance(0.25)
    assert bt.value() == b"req" and ft.value() == b""
    rig.clock.advance(0.25)
    assert ft.value() == b"resp-1"          # 1.5 s after it was read
    rig.clock.advance(1.0)
    assert ft.value() == b"resp-1resp-2"
    assert [t for t, _ in ft.chunks] == [1.5, 2.5]


def test_jitter_never_lets_a_later_chunk_overtake(rig):
    rig.proxy.set_policy(delay_down=0.1, jitter=2.0)
    front, ft, back, bt = rig.connect()
    sent = [f"<{i}>".encode() for i in range(50)]
    for chunk in sent:
        back.dataReceived(chunk)
        rig.clock.advance(0.01)
    rig.clock.advance(3.0)
    assert ft.value() == b"".join(sent)
    times = [t for t, _ in ft.chunks]
    assert times == sorted(times) and len(ft.chunks) > 1


def test_rechunk_moves_the_boundaries_but_never_the_bytes():
    rig = Rig(seed=5)
    rig.proxy.set_policy(rechunk=0.2)
    front, ft, back, bt = rig.connect()
    reads = [bytes(range(i, i + 40)) for i in range(0, 200, 40)]
    for data in reads:
        back.dataReceived(data)
        rig.clock.advance(0.05)
    rig.clock.advance(1.0)
    assert ft.value() == b"".join(reads)
    ends, at = set(), 0
    for _, chunk in ft.chunks:
        at += len(chunk)
        ends.add(at)
    read_ends = {40, 80, 120, 160, 200}
    assert ends - read_ends           # a read was split: a write ends inside it
    assert read_ends - ends           # writes merged pieces of two reads: a read's end is inside a write


def test_stall_forwards_nothing_for_its_duration_then_everything_in_order(rig):
    front, ft, back, bt = rig.connect()
    assert rig.proxy.stall(seconds=5.0, direction="down") == 1
    back.dataReceived(b"a")
    front.dataReceived(b"up-goes")
    rig.clock.advance(2.0)
    back.dataReceived(b"b")
    rig.clock.advance(2.9)
    assert ft.value() == b"" and bt.value() == b"up-goes"
    rig.clock.advance(0.1)
    assert ft.value() == b"ab" and ft.chunks == [(5.0, b"ab")]
    assert rig.proxy.counters["stalls"] == 1


def test_cut_closes_both_sides_at_once_and_what_it_held_is_lost(rig):
    rig.proxy.set_policy(delay_down=1.0)
    front, ft, back, bt = rig.connect()
    back.dataReceived(b"DELIVER")
    assert rig.proxy.cut() == 1
    assert ft.aborted and bt.aborted
    rig.clock.advance(2.0)
    assert ft.value() == b""
    [conn] = rig.proxy.history
    assert conn.state == "closed" and conn.down.bytes_dropped == 7 and rig.proxy.connections() == []
    assert rig.proxy.counters["cuts"] == 1
    back.connectionLost(None)   # the aborts arrive: nothing breaks
    front.connectionLost(None)


def test_cut_after_n_bytes_lets_exactly_n_through_then_cuts_mid_chunk(rig):
    front, ft, back, bt = rig.connect()
    rig.proxy.cut(after_bytes=10, direction="down")
    front.dataReceived(b"up is not counted")
    back.dataReceived(b"0123456")
    assert not ft.aborted
    back.dataReceived(b"789abcdef")
    assert ft.value() == b"0123456789" and ft.aborted and bt.aborted
    assert bt.value() == b"up is not counted"


def test_cut_after_zero_bytes_is_a_cut_now_and_bad_counts_are_refused(rig):
    rig.connect()
    with pytest.raises(ValueError, match="after_bytes"):
        rig.proxy.cut(after_bytes=-1)
    with pytest.raises(ValueError, match="direction"):
        rig.proxy.cut(direction="sideways")
    rig.proxy.cut(after_bytes=0)
    assert rig.proxy.connections() == []


def test_half_close_down_sends_fin_to_the_client_after_what_was_held_and_up_keeps_flowing(rig):
    rig.proxy.set_policy(delay_down=1.0)
    front, ft, back, bt = rig.connect()
    back.dataReceived(b"last words")
    rig.proxy.half_close(direction="down")
    back.dataReceived(b"dropped")
    assert not ft.write_closed
    rig.clock.advance(1.0)
    assert ft.value() == b"last words" and ft.write_closed
    front.dataReceived(b"still going up")
    assert bt.value() == b"still going up" and not bt.write_closed
    [conn] = rig.proxy.connections()
    assert conn.down.bytes_dropped == len(b"dropped") and conn.state == "open"


def test_a_peer_that_closes_gets_its_last_bytes_delivered_then_fin_then_the_connection_ends(rig):
    rig.proxy.set_policy(delay_down=0.5)
    front, ft, back, bt = rig.connect()
    back.dataReceived(b"TERMINATE_RESP")
    back.connectionLost(None)            # the platform closed after writing it
    assert not ft.write_closed
    rig.clock.advance(0.5)
    assert ft.value() == b"TERMINATE_RESP" and ft.write_closed
    [conn] = rig.proxy.history
    assert conn.state == "closed" and not ft.aborted and ft.disconnecting


def test_a_client_that_half_closes_is_half_closed_toward_the_target(rig):
    front, ft, back, bt = rig.connect()
    front.dataReceived(b"bye")
    front.readConnectionLost()
    assert bt.value() == b"bye" and bt.write_closed
    back.dataReceived(b"answer")                    # the other way still flows
    assert ft.value() == b"answer"


def test_clear_ends_stalls_and_delays(rig):
    rig.proxy.set_policy(delay=3.0)
    front, ft, back, bt = rig.connect()
    rig.proxy.stall(seconds=100)
    back.dataReceived(b"x")
    rig.proxy.clear()
    rig.clock.advance(3.0)       # what was read before the clear keeps its delay
    assert ft.value() == b"x"
    back.dataReceived(b"y")      # ... what comes after goes at once
    assert ft.value() == b"xy" and rig.proxy.policy == FaultPolicy()


def test_one_connection_can_have_its_own_policy(rig):
    f1, ft1, b1, bt1 = rig.connect()
    f2, ft2, b2, bt2 = rig.connect()
    c1, c2 = rig.proxy.connections()
    rig.proxy.set_policy(connection=c2.id, delay_down=1.0)
    b1.dataReceived(b"1")
    b2.dataReceived(b"2")
    assert ft1.value() == b"1" and ft2.value() == b""
    rig.clock.advance(1.0)
    assert ft2.value() == b"2"
    with pytest.raises(KeyError, match="#99"):
        rig.proxy.set_policy(connection=99, delay=1.0)


def _cut_times(seed: int, probability: float) -> list[tuple[int, float]]:
    rig = Rig(seed=seed)
    rig.proxy.set_policy(cut_probability=probability)
    for _ in range(6):
        rig.connect()
    for _ in range(30):
        rig.clock.advance(1.0)
    return [(c.id, c.closed_at) for c in rig.proxy.history if c.state == "closed"]


def test_random_cuts_follow_the_seed_and_the_probability():
    some = _cut_times(3, 0.1)
    assert some == _cut_times(3, 0.1)                  # the same seed: the same schedule
    assert 0 < len(some) < 6 or some != _cut_times(4, 0.1)
    assert _cut_times(3, 0.0) == []
    assert [t for _, t in _cut_times(3, 1.0)] == [1.0] * 6  # certain: all at the first tick


def test_random_cuts_can_land_mid_stream_and_random_stalls_hold_then_release():
    rig = Rig(seed=2)
    rig.proxy.set_policy(cut_probability=1.0, cut_bytes_max=8)
    front, ft, back, bt = rig.connect()
    rig.clock.advance(1.0)
    assert rig.proxy.connections()                     # armed, waiting for bytes
    back.dataReceived(b"0123456789")
    assert ft.aborted and len(ft.value()) <= 8
    rig.proxy.clear()
    rig.proxy.set_policy(stall_probability=1.0, stall_min=2.0, stall_max=2.0)
    front, ft, back, bt = rig.connect()
    rig.clock.advance(1.0)
    rig.proxy.set_policy(stall_probability=0.0)
    back.dataReceived(b"held")
    rig.clock.advance(1.9)
    assert ft.value() == b""
    rig.clock.advance(0.1)
    assert ft.value() == b"held" and rig.proxy.counters["random_stalls"] == 1
    assert not rig.clock.getDelayedCalls()              # no random policy: no ticking


@pytest.mark.parametrize("kwargs, message", [
    ({"delay": -1}, "delay_up: must be >= 0"),
    ({"cut_probability": 2}, "cut_probability: a probability"),
    ({"stall_min": 5, "stall_max": 1}, "stall_min"),
    ({"jitter": "1"}, "jitter: must be a finite number"),
    ({"cut_bytes_max": 1.5}, "cut_bytes_max"),
    ({"tick": 0}, "tick"),
    ({"latency": 1}, "unknown fault setting"),
])
def test_bad_fault_settings_are_refused_naming_the_setting(rig, kwargs, message):
    with pytest.raises(ValueError, match=message):
        rig.proxy.set_policy(**kwargs)
    assert rig.proxy.policy == FaultPolicy()


def test_a_proxy_needs_a_target():
    with pytest.raises(ValueError, match="port"):
        FaultProxy(Clock())


def test_the_target_unreachable_closes_the_client(rig):
    front, ft, _, _ = rig.connect(complete=False)
    _factory, d = rig.upstream.pending.pop()
    d.errback(ConnectionRefusedError("refused"))
    assert ft.disconnecting and rig.proxy.counters["upstream_failures"] == 1
    assert "cannot reach the target" in rig.proxy.history[-1].close_reason


# -- the control API ---------------------------------------------------------------------------


@pytest.fixture
def api(rig):
    platform = Platform(default_config(), ReactorClock(Clock()))
    control = ControlApi(platform=platform, server=None)
    register(control, rig.proxy)
    yield control
    platform.close()


def test_control_api_sets_shows_and_clears_faults(rig, api):
    front, ft, back, bt = rig.connect()
    status, body = api.call("POST", "/faults", {"delay": 1.5, "cut_probability": 0.01})
    assert status == 200 and body["policy"]["delay_down"] == 1.5 and body["policy"]["delay_up"] == 1.5
    status, body = api.call("GET", "/faults")
    assert status == 200 and body["policy"]["cut_probability"] == 0.01
    [conn] = body["connections"]
    assert conn["state"] == "open" and conn["up"]["bytes_in"] == 0
    status, body = api.call("POST", "/faults", {"connection": conn["id"], "delay_down": 0.0})
    assert status == 200 and body["connection"] == conn["id"]
    back.dataReceived(b"now")
    assert ft.value() == b"now"
    status, body = api.call("POST", "/faults/clear", {})
    assert status == 200 and body["policy"] == FaultPolicy().as_dict()
    assert "GET /faults" in api.call("GET", "/")[1]["endpoints"]


def test_control_api_cut_stall_and_half_close(rig, api):
    f1, ft1, b1, bt1 = rig.connect()
    f2, ft2, b2, bt2 = rig.connect()
    c1, c2 = rig.proxy.connections()
    assert api.call("POST", "/faults/stall", {"seconds": 2, "direction": "up"}) == (200, {"stalled": 2})
    f1.dataReceived(b"held")
    assert bt1.value() == b""
    rig.clock.advance(2)
    assert bt1.value() == b"held"
    assert api.call("POST", "/faults/half-close", {"connection": c1.id, "direction": "down"}) == \
        (200, {"half_closed": 1})
    assert ft1.write_closed and not ft2.write_closed
    assert api.call("POST", "/faults/cut", {"connection": c2.id, "after_bytes": 3}) == (200, {"cut": 1})
    b2.dataReceived(b"abcdef")
    assert ft2.value() == b"abc" and ft2.aborted
    assert api.call("POST", "/faults/cut", {}) == (200, {"cut": 1})
    assert ft1.aborted


@pytest.mark.parametrize("method, path, body, status, message", [
    ("POST", "/faults", {"latency": 1}, 400, "unknown fault setting"),
    ("POST", "/faults", {}, 400, "at least one"),
    ("POST", "/faults", {"delay": -2}, 400, "must be >= 0"),
    ("POST", "/faults", {"connection": 42, "delay": 1}, 404, "#42"),
    ("POST", "/faults", {"connection": "1", "delay": 1}, 400, "connection"),
    ("POST", "/faults/cut", {"after_bytes": -1}, 400, "after_bytes"),
    ("POST", "/faults/cut", {"direction": "left"}, 400, "direction"),
    ("POST", "/faults/stall", {}, 400, "seconds"),
    ("POST", "/faults/half-close", {}, 400, "direction"),
    ("GET", "/faults/cut", None, 405, "POST"),
])
def test_control_api_refuses_bad_requests_with_a_sentence(rig, api, method, path, body, status, message):
    got_status, got = api.call(method, path, body)
    assert got_status == status and message in got["error"]


# -- loopback, in front of the fake platform ---------------------------------------------------


@pytest.fixture
def live():
    from twisted.internet import reactor

    from smsdk_harness.fake_smsc.runner import FakeSmsc

    fake = FakeSmsc.start(reactor=reactor, port=0, control_port=0, fault_proxy_port=0, fault_seed=9)
    yield fake
    fake.wait(fake.stop())
    fake.run(0.01)


def _client_through_proxy(fake, **kw):
    from twisted.internet import reactor

    return fake.client(endpoint=TCP4ClientEndpoint(reactor, fake.host, fake.fault_proxy_port),
                       retry_policy=lambda attempt: 0.05, **kw)


def test_loopback_a_client_through_the_proxy_sends_and_reconnects_after_a_cut(live):
    fake = live
    assert fake.control.call("GET", "/faults")[1]["seed"] == 9
    client = _client_through_proxy(fake)
    fake.run_until(lambda: client.bound, what="the login through the proxy")
    sub = client.send("经过代理", to=["13800138000"])
    fake.run_until(lambda: sub.done, what="the outcome")
    assert sub.outcomes["13800138000"].status == "DELIVRD"
    [conn] = fake.fault_proxy.connections()
    assert conn.up.bytes_out > 0 and conn.down.bytes_out > 0
    assert fake.control.call("POST", "/faults/cut", {}) == (200, {"cut": 1})
    fake.run_until(lambda: not client.bound, what="the client to see the cut")
    fake.run_until(lambda: client.bound and fake.sessions(), what="the client back")
    assert fake.fault_proxy.counters["connections"] == 2


def test_loopback_a_delay_longer_than_response_timeout_makes_the_client_send_again(live):
    fake = live
    client = _client_through_proxy(fake, session_settings=SessionSettings(response_timeout=0.2, max_attempts=3))
    fake.run_until(lambda: client.bound, what="the login")
    fake.fault_proxy.set_policy(delay_down=0.3)
    sub = client.send("慢链路", to=["13800138001"])
    fake.run_until(lambda: sub.done, what="the outcome")
    accepted = [r for r in fake.platform.submissions() if r.accepted and "13800138001" in r.dest]
    assert len(accepted) >= 2   # the platform took the resent SUBMIT too


def test_loopback_half_close_toward_the_client_ends_its_session(live):
    fake = live
    client = _client_through_proxy(fake)
    fake.run_until(lambda: client.bound, what="the login")
    fake.fault_proxy.half_close(direction="down")
    fake.run_until(lambda: not client.bound, what="the client to see EOF")
    assert fake.fault_proxy.counters["half_closes"] == 1


def test_fake_smsc_command_starts_the_fault_proxy():
    proc = subprocess.Popen(
        [sys.executable, "-m", "smsdk.cli", "fake-smsc", "--port", "0", "--http-port", "0",
         "--control-port", "0", "--fault-proxy", "0", "--fault-seed", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = []
        for line in proc.stdout:
            banner.append(line)
            if line.startswith("Ctrl-C"):
                break
        text = "".join(banner)
        m = re.search(r"fault proxy on 127\.0\.0\.1:(\d+) -> EMPP \(seed 4;", text)
        assert m and int(m.group(1)) > 0, text
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def test_fake_smsc_command_refuses_a_bad_fault_proxy_port():
    result = subprocess.run([sys.executable, "-m", "smsdk.cli", "fake-smsc", "--fault-proxy", "70000"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--fault-proxy" in result.stderr
