"""A stateful (hypothesis RuleBasedStateMachine) test of the EMPP front end: several raw
peers on StringTransports send random PDU sequences (valid and wrong logins, TERMINATE,
requests before login, broken framing, undecodable and unknown PDUs, half frames) cut
into random chunks, ack some DELIVERs, vanish; the platform injects MOs and produces
reports; the server drops and terminates sessions; time moves on a task.Clock.

After every step:
* the accounts bound are exactly the accounts of the open, logged-in connections (one
  each, and that connection is the account's sink);
* nothing queued for an account is lost: every report and MO is either acknowledged by a
  client (its DELIVER_RESP reached the server), waiting for its DELIVER_RESP on an open
  connection, or in an offline queue; and an acknowledged one never comes again.
"""

from __future__ import annotations

from frontend_helpers import Raw, make_platform, text_submit
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from hypothesis_profiles import examples
from twisted.internet.task import Clock

from fake_smsc_helpers import MAIN, MAIN_PW, SUB, SUB_PW
from smsdk import codec
from smsdk.session import SessionState
from smsdk_harness.fake_smsc.empp_server import EmppServer

EMPP = codec.Dialect.EMPP
ADDRESSES = ("10.0.0.1", "10.0.0.2", "10.0.0.3")
KINDS = ("connect_main", "connect_sub", "connect_wrong", "connect_v30", "terminate",
         "terminate_resp", "active_test", "submit", "bad_submit", "unknown", "broken_framing",
         "half_frame", "changepass", "deliver")
CONFIG = """
[platform.empp]
max_connections_per_address = 3
max_connections = 8
deliver_resp_timeout = 100000
"""


def pdu_bytes(kind: str, seq: int) -> bytes:
    def enc(pdu):
        return codec.encode(pdu, seq, EMPP)

    if kind.startswith("connect"):
        account, password = {"connect_main": (MAIN, MAIN_PW), "connect_sub": (SUB, SUB_PW),
                             "connect_wrong": (MAIN, "wrong"), "connect_v30": (MAIN, MAIN_PW)}[kind]
        connect = codec.build_connect(account, password, 1122150405, EMPP)
        if kind == "connect_v30":
            connect = connect.replace(version=0x30)
        return enc(connect)
    if kind == "terminate":
        return enc(codec.Terminate())
    if kind == "terminate_resp":
        return enc(codec.TerminateResp())
    if kind == "active_test":
        return enc(codec.ActiveTest())
    if kind == "submit":
        return enc(text_submit("hi", to=("13800138000", "13800138001")))
    if kind == "bad_submit":
        good = enc(text_submit("hi"))
        return (len(good) - 2).to_bytes(4, "big") + good[4:-2]
    if kind == "unknown":
        return (12).to_bytes(4, "big") + (0x7777).to_bytes(4, "big") + seq.to_bytes(4, "big")
    if kind == "broken_framing":
        return (10**6).to_bytes(4, "big") + bytes(8)
    if kind == "half_frame":
        return enc(codec.ActiveTest())[:7]
    if kind == "changepass":
        return enc(codec.ChangePass(old_password=MAIN_PW, new_password=MAIN_PW))
    if kind == "deliver":  # a DELIVER from the client: UNAUTHORIZATION when logged in
        return enc(codec.Deliver(msg_id=bytes(10), dest_id=MAIN, src_terminal_id="13900139000",
                                 registered_delivery=0, msg_content=b"x"))
    raise AssertionError(kind)


class EmppServerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.platform = make_platform(self.clock, platform=CONFIG)
        self.server = EmppServer(self.platform, clock=self.clock)
        self.raws: list[Raw] = []
        self.port = 1
        self.seq = 1
        # per raw peer: DELIVERs received and not acked yet, (Sequence_Id, Msg_Id)
        self.unacked: dict[int, list[tuple[int, bytes]]] = {}
        self.acked: set[bytes] = set()
        # raw peers whose stream lost its framing (a half frame was written and the link stayed
        # open): what they write next is read as part of another frame, so an "ack" from them
        # is not an ack
        self.misaligned: set[int] = set()

    # -- helpers -------------------------------------------------------------------------

    def _pump(self) -> None:
        for i, raw in enumerate(self.raws):
            if raw.lost:
                continue
            for seq, pdu in raw.read():
                if isinstance(pdu, codec.Deliver):
                    assert pdu.msg_id not in self.acked, "an acknowledged DELIVER came again"
                    self.unacked[i].append((seq, pdu.msg_id))

    def _raw(self, index: int) -> tuple[int, Raw] | None:
        if not self.raws:
            return None
        i = index % len(self.raws)
        return i, self.raws[i]

    # -- rules ---------------------------------------------------------------------------

    @rule(address=st.sampled_from(ADDRESSES))
    def open_connection(self, address: str) -> None:
        self.raws.append(Raw(self.server, self.port, address))
        self.unacked[len(self.raws) - 1] = []
        self.port += 1
        self._pump()

    @precondition(lambda self: self.raws)
    @rule(index=st.integers(0, 50), kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=4),
          cuts=st.lists(st.integers(1, 80), max_size=4))
    def send(self, index: int, kinds: list[str], cuts: list[int]) -> None:
        self._send(index, kinds, cuts)

    @precondition(lambda self: self.raws)
    @rule(index=st.integers(0, 50), login=st.sampled_from(("connect_main", "connect_sub", "connect_wrong")),
          then=st.lists(st.sampled_from(KINDS), max_size=2), cuts=st.lists(st.integers(1, 80), max_size=3))
    def login(self, index: int, login: str, then: list[str], cuts: list[int]) -> None:
        """A CONNECT first (a likelier login), maybe followed in the same write by more."""
        self._send(index, [login, *then], cuts)

    @precondition(lambda self: self.server.sessions())
    @rule(index=st.integers(0, 50), numbers=st.integers(1, 3))
    def submit(self, index: int, numbers: int) -> None:
        """A logged-in peer submits (its reports come as DELIVERs a second later)."""
        sessions = self.server.sessions()
        conn = sessions[index % len(sessions)]
        raw = next(r for r in self.raws if r.proto is conn.proto)
        to = tuple(f"1380013800{n}" for n in range(numbers))
        raw.send(text_submit("hi", to=to, src_id=conn.account_id), self.seq)
        self.seq += 1
        self._pump()

    def _send(self, index: int, kinds: list[str], cuts: list[int]) -> None:
        i, raw = self._raw(index)
        data = b""
        for kind in kinds:
            data += pdu_bytes(kind, self.seq)
            self.seq += 1
        chunks, pos = [], 0
        for size in cuts:
            if pos >= len(data):
                break
            chunks.append(data[pos:pos + size])
            pos += size
        chunks.append(data[pos:])
        if "half_frame" in kinds:
            self.misaligned.add(i)
        for chunk in chunks:
            if raw.closed:
                break
            if chunk:
                raw.send_bytes(chunk)
        self._pump()

    @precondition(lambda self: self.raws)
    @rule(index=st.integers(0, 50), how_many=st.integers(1, 5))
    def ack(self, index: int, how_many: int) -> None:
        i, raw = self._raw(index)
        pending = self.unacked[i]
        session = raw.proto.session
        if raw.closed or not pending or i in self.misaligned or session.state not in (SessionState.BOUND, SessionState.CLOSING):
            return
        conn = self.server._connections[raw.proto]
        for seq, msg_id in pending[:how_many]:
            assert seq in conn._awaiting, "a DELIVER of an open link stopped waiting for its answer"
            raw.send(codec.DeliverResp(msg_id=msg_id, result=0), seq)
            self.acked.add(msg_id)
            assert seq not in conn._awaiting
        del pending[:how_many]
        self._pump()

    @precondition(lambda self: self.raws)
    @rule(index=st.integers(0, 50))
    def cut(self, index: int) -> None:
        self._raw(index)[1].cut()
        self._pump()

    @rule(account=st.sampled_from((MAIN, SUB, None)), terminate=st.booleans())
    def platform_ends_sessions(self, account: str | None, terminate: bool) -> None:
        (self.server.terminate if terminate else self.server.drop)(account)
        self._pump()

    @rule(account=st.sampled_from((MAIN, SUB)), parts=st.integers(1, 2))
    def inject_mo(self, account: str, parts: int) -> None:
        self.platform.inject_mo("13900139000", account, "退订" * (40 * parts - 39))
        self._pump()

    @rule(seconds=st.sampled_from((0.0, 1.0, 4.0, 11.0, 100.0)))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self._pump()

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def bound_accounts_are_the_open_logged_in_connections(self) -> None:
        for raw in self.raws:
            raw.check_closed()  # the reactor would deliver connectionLost
        logged_in = [c for c in self.server.connections() if c.state == "bound"]
        by_account = {c.account_id: c for c in logged_in}
        assert len(by_account) == len(logged_in), "two logged-in connections for one account"
        bound = {acc.id: acc.sink for acc in self.platform.accounts() if acc.bound}
        assert set(bound) == set(by_account)
        for account_id, sink in bound.items():
            assert sink is by_account[account_id]
            assert sink.proto.session.state is SessionState.BOUND

    @invariant()
    def nothing_queued_is_lost(self) -> None:
        p = self.platform
        items = {r.item.msg_id.raw for r in p.reports() if r.state not in ("not_requested", "stored")}
        items |= {m.item.msg_id.raw for m in p.mos()}
        offline = [i.msg_id.raw for acc in p.accounts() for i in p.offline(acc.id)]
        awaiting = [entry[1] for c in self.server.connections() for entry in c._awaiting.values()]
        assert len(set(offline)) == len(offline) and len(set(awaiting)) == len(awaiting)
        queued = set(offline) | set(awaiting)
        assert not (queued & self.acked), "an acknowledged DELIVER is queued again"
        assert items - self.acked - queued == set(), "reports or MOs were lost"
        assert p.counters["sink_errors"] == 0 and self.server.counters["deliver_lost"] == 0

    def teardown(self) -> None:
        self.platform.close()


EmppServerMachine.TestCase.settings = settings(
    examples(150), stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
test_empp_server_state_machine = EmppServerMachine.TestCase
