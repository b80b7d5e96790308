"""The EMPP front end of the fake platform: a Twisted server over :class:`Platform`.

One :class:`EmppServer` owns the server-side :class:`~smsdk.transport.protocol.SessionProtocol`
of every connection (the SDK's own sans-IO session in the server role) and one
:class:`EmppConnection` per connection, which is also the model's *sink* for that login.

What it does on the wire (PROTOCOL.md §1, RULES.md):

* CONNECT: Version must be ``empp.version`` (0x10), else status 4.  The authenticator is
  checked by the model (``bind(password=lambda pw: codec.check_connect(connect, pw))``):
  unknown account, wrong password or a role that cannot log in → 3.  A second login
  follows ``login_policy``: ``"kick"`` → 20000 and the older session gets TERMINATE and is
  closed; ``"refuse"`` → 10001.  CONNECT_RESP always carries Ability (the account's
  ``ability``, 0 by default): without it the official client sends no SUBMIT (§1.15).
  A refused login is closed right after its CONNECT_RESP.
* SUBMIT → ``platform.submit`` → SUBMIT_RESP with the model's Result and Msg_Id, written
  before any DELIVER of that SUBMIT (the model never delivers inside ``submit``).  An
  account whose Ability is 1 or 3 (SUBMIT2 only) gets UNAUTHORIZATION for a SUBMIT.
* Reports and MOs from the model → DELIVER, written once on a link, never taking a window
  slot: the official client never sends DELIVER_RESP nor answers ACTIVE_TEST (§1.15), so
  an unanswered DELIVER must never cost the link.  A DELIVER is delivered when its
  DELIVER_RESP (same Sequence_Id and Msg_Id) arrives; the last ``empp.deliver_track``
  DELIVERs of a connection wait for it ``empp.deliver_resp_timeout`` seconds (then they
  count as delivered: the official client never answers).  Those still waiting when the
  link ends go back to the account (``platform.requeue``: its offline queue, in order, to
  be sent again after the next login, FAQ-3.1.5), unless ``empp.redeliver_unacked`` is off.
* ACTIVE_TEST and TERMINATE from the client are answered by the session.  The server sends
  no ACTIVE_TEST of its own; it drops a link that has been silent for
  ``empp.silence_timeout`` seconds (no TERMINATE, like the platform's idle timeout).
* CHANGEPASS → ``platform.change_password`` → CHANGEPASS_RESP (0 with the new password,
  or 1).
* Before login only one CONNECT is taken: anything else (a request, ACTIVE_TEST, TERMINATE,
  an unknown Command_Id, an undecodable frame, a second PDU before CONNECT_RESP) closes
  the link, and so does no accepted CONNECT within ``empp.login_timeout``.  The account
  is bound only while its connection is open and logged in: a CONNECT that arrives with
  something that closes the link (in the same read) binds nothing.  Connections over
  ``empp.max_connections`` (or ``max_connections_per_address`` from one address) are
  closed at once; failed logins are throttled per (account, address) and per address
  (:mod:`.guard`).  One log line per refusal.  Requests that arrive after we sent
  TERMINATE (a kicked session) are not processed and not answered
  (``ignored_after_terminate``).
* ``terminate(account)`` sends TERMINATE (closed on TERMINATE_RESP or after
  ``empp.terminate_timeout``); ``drop(account)`` cuts the TCP connection without a word.

The session is unbound from the model the moment it can no longer carry DELIVERs
(TERMINATE either way, dead link, lost connection), so that the model keeps later reports
and MOs as offline messages (FAQ-3.1.5) instead of handing them to a dying link.
"""

from __future__ import annotations

import collections
import itertools
from typing import Any

from twisted.internet.protocol import Factory
from twisted.logger import Logger

from smsdk import codec
from smsdk.codec import Dialect
from smsdk.session import (
    ConnectRequested,
    LinkDead,
    PeerProtocolError,
    RequestReceived,
    Role,
    Session,
    SessionSettings,
    SessionState,
    Terminated,
    UnmatchedResponse,
)
from smsdk.transport.protocol import SessionProtocol

from .config import EmppConfig
from .guard import ConnectionLimits, LoginThrottle
from .items import MoItem, ReportItem
from .model import Platform

__all__ = ["EmppConnection", "EmppServer"]

_log = Logger(namespace="smsdk_harness.fake_smsc.empp")

STATUS_OK = 0
STATUS_AUTH = 3
STATUS_VERSION = 4
SUBMIT2_ONLY = (1, 3)
# read once: an enum member through its class costs ~0.2 us in CPython 3.11, and these are
# looked at for every SUBMIT and DELIVER
_BOUND = SessionState.BOUND
_CLOSING = SessionState.CLOSING
_CLOSED = SessionState.CLOSED
_IDLE = SessionState.IDLE
_CONNECT = codec.Connect
# the per-link counter of each kind of DELIVER (ReportItem.kind, MoItem.kind)
_DELIVERS_OF_KIND = {"report": "delivers_report", "mo": "delivers_mo"}


class EmppConnection:
    """One TCP connection (and, once logged in, the model's sink for its account).

    ``state``: ``"connected"`` (no CONNECT yet), ``"bound"``, ``"refused"``,
    ``"terminating"`` (we sent TERMINATE), ``"closed"``.  ``counters`` counts what
    happened on this link (submits, delivers, deliver_resp, deliver_resp_mismatch,
    deliver_unacked, active_tests, ...).
    """

    def __init__(self, server: EmppServer, proto: SessionProtocol, conn_id: int) -> None:
        self.server = server
        self.proto = proto
        self.id = conn_id
        self.account_id: str | None = None
        self.state = "connected"
        self.login_status: int | None = None
        self.login_reason = ""
        self.was_kicked = False
        self.close_reason = ""
        now = server.platform.now()  # inspection times are model times, like every record
        self.connected_at = now
        self.bound_at: float | None = None
        self.closed_at: float | None = None
        self.opened_at = server.clock.seconds()  # on the server's clock (login deadline)
        self.address, self.peer = _peer_of(proto)
        self.counters: collections.Counter[str] = collections.Counter()
        # DELIVERs written and not (yet) answered: Sequence_Id -> (item, Msg_Id, written at)
        self._awaiting: collections.OrderedDict[int, tuple[ReportItem | MoItem, bytes, float]] = (
            collections.OrderedDict())
        self._held: list[ReportItem | MoItem] | None = None

    # -- the model's Sink ---------------------------------------------------------------------

    def deliver(self, item: ReportItem | MoItem) -> None:
        if self._held is not None:
            # offline items flushed by bind(), before CONNECT_RESP is written: they follow it
            self._held.append(item)
            return
        session = self.proto.session
        if session is None or session.state is not _BOUND:
            # cannot happen while bound (we unbind before the session stops being BOUND)
            self.counters["deliver_lost"] += 1
            self.server.counters["deliver_lost"] += 1
            _log.warn("a {kind} for {account} reached a session that is no longer bound",
                      kind=item.kind, account=self.account_id)
            return
        pdu = item.deliver_pdu()
        now = self.server.clock.seconds()
        seq = session.send(pdu, now, await_response=False)
        counters = self.counters
        counters["delivers"] += 1
        counters[_DELIVERS_OF_KIND[item.kind]] += 1
        server = self.server
        server.counters["delivers"] += 1
        track = server.settings.deliver_track
        if track:
            awaiting = self._awaiting
            awaiting[seq] = (item, pdu.msg_id, now)
            if len(awaiting) > track:
                awaiting.popitem(last=False)
                counters["deliver_unacked"] += 1
        server._schedule_flush(self)

    def kicked(self) -> None:
        """A newer login of the same account took over: TERMINATE this one (20000)."""
        self.was_kicked = True
        self.counters["kicked"] += 1
        self.server.counters["kicked"] += 1
        self.terminate("kicked by a newer login of the same account")

    # -- control -----------------------------------------------------------------------------

    def terminate(self, reason: str = "terminated by the platform") -> None:
        """Send TERMINATE; the link closes on TERMINATE_RESP or after terminate_timeout."""
        session = self.proto.session
        if session is None or session.state in (SessionState.CLOSING, SessionState.CLOSED):
            return
        self._unbind()
        self.close_reason = reason
        self.state = "terminating" if session.state is SessionState.BOUND else "closed"
        session.terminate(self.server.clock.seconds())
        self.proto.flush()

    def drop(self, reason: str = "dropped by the platform") -> None:
        """Cut the TCP connection at once, without TERMINATE."""
        self._unbind()
        self.close_reason = self.close_reason or reason
        transport = self.proto.transport
        if transport is not None:
            abort = getattr(transport, "abortConnection", None)
            (abort or transport.loseConnection)()

    # -- internals ---------------------------------------------------------------------------

    def _unbind(self) -> None:
        """Unbind if this connection is the account's session (a no-op otherwise: the model
        ignores an unbind from a sink that is not the current one)."""
        if self.account_id is not None:
            self.server.platform.unbind(self.account_id, self)

    def _end(self) -> None:
        """The link can carry nothing more: unbind, and hand the DELIVERs still waiting for
        their DELIVER_RESP back to the account (in the order they were written)."""
        self._unbind()
        awaiting = self._awaiting
        if not awaiting:
            return
        items = [entry[0] for entry in awaiting.values()]
        awaiting.clear()
        self.counters["deliver_unacked"] += len(items)
        if self.account_id is not None and self.server.settings.redeliver_unacked:
            self.counters["deliver_requeued"] += len(items)
            self.server.counters["deliver_requeued"] += len(items)
            self.server.platform.requeue(self.account_id, items)

    def _expire_awaiting(self, now: float) -> None:
        limit = now - self.server.settings.deliver_resp_timeout
        awaiting = self._awaiting
        while awaiting:
            seq, entry = next(iter(awaiting.items()))
            if entry[2] > limit:
                break
            del awaiting[seq]
            self.counters["deliver_unacked"] += 1

    def _deliver_resp(self, seq: int, resp: Any) -> None:
        entry = self._awaiting.get(seq)
        if entry is None:
            self.counters["deliver_resp_unknown"] += 1
        elif resp.msg_id != entry[1]:
            self.counters["deliver_resp_mismatch"] += 1  # not its answer: still waiting
        else:
            del self._awaiting[seq]
            self.counters["deliver_resp"] += 1

    @property
    def awaiting_deliver_resp(self) -> int:
        """DELIVERs still remembered without a DELIVER_RESP."""
        return len(self._awaiting)

    def info(self) -> dict[str, Any]:
        """A JSON-ready summary (the control API's ``/sessions``)."""
        return {
            "id": self.id,
            "account": self.account_id,
            "state": self.state,
            "peer": self.peer,
            "login_status": self.login_status,
            "login_reason": self.login_reason,
            "connected_at": self.connected_at,
            "bound_at": self.bound_at,
            "closed_at": self.closed_at,
            "close_reason": self.close_reason,
            "kicked": self.was_kicked,
            "awaiting_deliver_resp": len(self._awaiting),
            "counters": dict(self.counters),
        }

    def __repr__(self) -> str:
        return f"<EmppConnection #{self.id} {self.account_id or '-'} {self.state}>"


class EmppServer:
    """Owner of the EMPP server sessions of one :class:`Platform`.

    ``EmppServer(platform, clock=reactor, settings=None)``: ``clock`` (a Twisted
    ``IReactorTime``) drives the session timers; ``settings`` defaults to
    ``platform.config.empp``.  ``server.factory()`` goes to ``listenTCP`` (or iosim).
    """

    def __init__(self, platform: Platform, *, clock: Any,
                 settings: EmppConfig | None = None) -> None:
        self.platform = platform
        self.clock = clock
        self.settings = settings if settings is not None else platform.config.empp
        self.session_settings = SessionSettings(
            window=1,                       # the server sends no request that awaits a response
            active_test_interval=0,         # the server never starts a heartbeat
            silence_timeout=self.settings.silence_timeout,
            terminate_timeout=self.settings.terminate_timeout,
            max_frame_length=self.settings.max_frame_length,
            expired_memory=0,
        )
        self.counters: collections.Counter[str] = collections.Counter()
        self.limits = ConnectionLimits(self.settings.max_connections,
                                       self.settings.max_connections_per_address)
        self.throttle = LoginThrottle(self.settings.login_max_failures,
                                      self.settings.login_max_failures_per_address,
                                      self.settings.login_failure_window)
        self._connections: dict[SessionProtocol, EmppConnection] = {}
        self._ids = itertools.count(1)
        self._dirty: dict[int, EmppConnection] = {}  # connection id -> connection, to flush
        self._flush_call: Any = None
        #: every connection ever made, most recent last (bounded)
        self.history: collections.deque[EmppConnection] = collections.deque(maxlen=1000)

    # -- wiring ------------------------------------------------------------------------------

    def factory(self) -> Factory[SessionProtocol]:
        factory = Factory.forProtocol(self.build_protocol)
        factory.noisy = False
        return factory

    def build_protocol(self) -> SessionProtocol:
        return _ServerProtocol(self, self._make_session, self.clock)

    def _make_session(self, now: float) -> Session:
        return _ServerSession(Dialect.EMPP, Role.SERVER, self.session_settings, now=now)

    # -- inspection and control --------------------------------------------------------------

    def connections(self, account_id: str | None = None) -> list[EmppConnection]:
        """Open connections (optionally of one account), oldest first."""
        return [c for c in self._connections.values()
                if account_id is None or c.account_id == account_id]

    def sessions(self, account_id: str | None = None) -> list[EmppConnection]:
        """Logged-in connections (optionally of one account)."""
        return [c for c in self.connections(account_id) if c.state == "bound"]

    def terminate(self, account_id: str | None = None) -> int:
        """Send TERMINATE to the account's sessions (all sessions with None); returns how many."""
        targets = self.sessions(account_id)
        for conn in targets:
            conn.terminate()
        return len(targets)

    def drop(self, account_id: str | None = None) -> int:
        """Cut the account's connections (all with None) without TERMINATE."""
        targets = self.connections(account_id)
        for conn in targets:
            conn.drop()
        return len(targets)

    def close_all(self) -> None:
        """Cut every connection now (shutting down)."""
        for conn in list(self._connections.values()):
            conn.drop("the platform is shutting down")

    # -- SessionProtocol owner interface -----------------------------------------------------

    def session_started(self, proto: SessionProtocol) -> None:
        address, peer = _peer_of(proto)
        why = self.limits.admit(address)
        if why is not None:
            # closed before a byte is read (flush() sees the closed session); no
            # EmppConnection, so a flood of them leaves neither history nor state
            self.counters["connections_refused"] += 1
            assert proto.session is not None
            proto.session.terminate(self.clock.seconds())
            _log.info("connection from {peer} refused: {why}", peer=peer, why=why)
            return
        conn = EmppConnection(self, proto, next(self._ids))
        self._connections[proto] = conn
        self.history.append(conn)
        self.counters["connections"] += 1

    def extra_deadline(self, proto: SessionProtocol) -> float | None:
        """When the oldest remembered DELIVER stops waiting for its DELIVER_RESP, or the
        login deadline of a connection not logged in yet."""
        conn = self._connections.get(proto)
        if conn is None:
            return None
        if conn.state == "connected" and self.settings.login_timeout:
            return conn.opened_at + self.settings.login_timeout
        if not conn._awaiting:
            return None
        return next(iter(conn._awaiting.values()))[2] + self.settings.deliver_resp_timeout

    def on_extra_deadline(self, proto: SessionProtocol) -> None:
        conn = self._connections.get(proto)
        if conn is None:
            return
        now = self.clock.seconds()
        timeout = self.settings.login_timeout
        if conn.state == "connected" and timeout and now >= conn.opened_at + timeout:
            self.counters["login_timeouts"] += 1
            conn.close_reason = f"no CONNECT accepted within {timeout:g} s (empp.login_timeout)"
            conn.state = "closed"
            assert proto.session is not None
            proto.session.terminate(now)  # not bound: closes at once (flush() cuts the link)
            return
        conn._expire_awaiting(now)

    def session_events(self, proto: SessionProtocol, events: list[Any]) -> None:
        conn = self._connections.get(proto)
        session = proto.session
        if conn is None or session is None:
            return
        now = self.clock.seconds()
        for event in events:
            if isinstance(event, RequestReceived):
                self._on_request(conn, session, event, now)
            elif isinstance(event, UnmatchedResponse):
                if isinstance(event.response, codec.DeliverResp):
                    conn._deliver_resp(event.sequence_id, event.response)
                else:
                    conn.counters["unmatched_responses"] += 1
            elif isinstance(event, ConnectRequested):
                self._on_connect(conn, session, event, now)
            elif isinstance(event, (Terminated, LinkDead)):
                self._on_closed(conn, event, now)
            elif isinstance(event, PeerProtocolError):
                conn.counters["decode_errors"] += 1
                self.counters["decode_errors"] += 1
                if conn.counters["decode_errors"] == 1:  # one line per link, not per frame
                    _log.info("connection #{id}: undecodable PDU skipped (further ones are only "
                              "counted): {error}", id=conn.id, error=event.error)
        # every path that writes ends in SessionProtocol.flush() (called by the protocol
        # after this method), so nothing more to do here

    # -- login -------------------------------------------------------------------------------

    def _on_connect(self, conn: EmppConnection, session: Session, event: ConnectRequested,
                    now: float) -> None:
        if session.state is not _IDLE or conn.state != "connected" or not conn.proto.connected_flag:
            # the CONNECT came in one read with something that closed the link (TERMINATE,
            # a request, broken framing ...): nothing to log in any more
            conn.counters["connect_on_closed_link"] += 1
            return
        connect = event.pdu
        account_id = connect.source_addr
        conn.account_id = account_id or None
        held: list[ReportItem | MoItem] = []
        throttled = self.throttle.refusal(account_id, conn.address, now)
        if connect.version != self.settings.version:
            status, reason = STATUS_VERSION, (
                f"CONNECT Version 0x{connect.version:02x}; this platform speaks EMPP "
                f"0x{self.settings.version:02x}")
        elif throttled is not None:
            status, reason = STATUS_AUTH, f"throttled: {throttled}"
            self.counters["login_throttled"] += 1
        else:
            conn._held = []
            try:
                result = self.platform.bind(
                    account_id, conn, password=lambda stored: codec.check_connect(connect, stored))
            finally:
                held, conn._held = conn._held, None
            status, reason = result.status, result.reason
            if status == STATUS_AUTH:
                self.throttle.failed(account_id, conn.address, now)
        conn.login_status = status
        conn.login_reason = reason
        self.counters[f"login_status_{status}"] += 1
        if status in (0, 20000):
            acc = self.platform.account(account_id)
            session.accept(event.sequence_id, password=acc.password, status=status,
                           ability=acc.ability, now=now)
            conn.state = "bound"
            conn.bound_at = self.platform.now()
            _log.info("connection #{id}: {account} logged in (status {status}: {reason})",
                      id=conn.id, account=account_id, status=status, reason=reason)
            for item in held:  # the offline messages (FAQ-3.1.5), right after CONNECT_RESP
                conn.deliver(item)
        else:
            # a refusal still carries the 4-byte Ability (0): the official client needs the
            # 37-byte CONNECT_RESP to read the status at all
            session.accept(event.sequence_id, password="", status=status, ability=0, now=now)
            conn.state = "refused"
            conn.close_reason = f"login refused: status {status}: {reason}"
            _log.info("connection #{id}: login of {account!r} refused: {status} ({reason})",
                      id=conn.id, account=account_id, status=status, reason=reason)

    # -- requests ----------------------------------------------------------------------------

    def _on_request(self, conn: EmppConnection, session: Session, event: RequestReceived,
                    now: float) -> None:
        pdu = event.pdu
        seq = event.sequence_id
        if session.state is _CLOSING:
            conn.counters["ignored_after_terminate"] += 1
            return
        if session.state is not _BOUND:
            conn.counters["requests_before_login"] += 1
            conn.close_reason = f"{type(pdu).__name__} before login"
            conn.state = "closed"
            session.terminate(now)  # not bound: closes at once
            return
        if isinstance(pdu, codec.Submit):
            self._on_submit(conn, session, seq, pdu)
        elif isinstance(pdu, codec.ChangePass):
            assert conn.account_id is not None
            result = self.platform.change_password(conn.account_id, pdu.old_password, pdu.new_password)
            conn.counters["changepass"] += 1
            session.respond(seq, codec.ChangePassResp(
                result=result, password=pdu.new_password if result == 0 else ""))
        else:
            # DELIVER from a client, a second CONNECT ...: not something a client may ask
            conn.counters["unexpected_requests"] += 1
            session.respond(seq, codec.Unauthorization(unauth_command_id=int(pdu.command_id)))

    def _on_submit(self, conn: EmppConnection, session: Session, seq: int, pdu: Any) -> None:
        account_id = conn.account_id
        assert account_id is not None
        conn.counters["submits"] += 1
        self.counters["submits"] += 1
        acc = self.platform.account(account_id)
        if acc.ability in SUBMIT2_ONLY:
            conn.counters["unauthorized"] += 1
            session.respond(seq, codec.Unauthorization(unauth_command_id=int(codec.CommandId.SUBMIT)))
            return
        try:
            out = self.platform.submit(account_id, pdu, sequence_id=seq, via="empp")
        except Exception:
            # a bug of the fake: say so loudly, and still answer so the client's window moves
            _log.failure("platform.submit raised; answering 10005")
            conn.counters["internal_errors"] += 1
            self.counters["internal_errors"] += 1
            session.respond(seq, codec.SubmitResp(msg_id=bytes(10), result=10005))
            return
        session.respond(seq, codec.SubmitResp(out.msg_id.raw, out.result))  # (msg_id, result)
        if out.result:
            conn.counters[f"submit_result_{out.result}"] += 1
            _log.info("connection #{id}: SUBMIT (Sequence_Id {seq}) refused with {result}: {reason}",
                      id=conn.id, seq=seq, result=out.result, reason=out.reason)

    # -- the end -----------------------------------------------------------------------------

    def _on_closed(self, conn: EmppConnection, event: Any, now: float) -> None:
        """The session ended (TERMINATE either way, or a dead link): unbind at once."""
        conn._end()
        if conn.state != "refused":
            conn.state = "closed"
        if not conn.close_reason:
            if isinstance(event, Terminated):
                conn.close_reason = "TERMINATE from the client" if event.by_peer else "TERMINATE answered"
            else:
                conn.close_reason = event.reason

    def _lost(self, proto: SessionProtocol) -> None:
        """The TCP connection is gone (every path ends here)."""
        conn = self._connections.pop(proto, None)
        if conn is None:
            return
        self.limits.release(conn.address)
        conn._end()
        if conn.state not in ("refused", "closed"):
            conn.state = "closed"
        conn.close_reason = conn.close_reason or "connection lost"
        conn.closed_at = self.platform.now()
        _log.info("connection #{id} ({account}) closed: {reason}", id=conn.id,
                  account=conn.account_id, reason=conn.close_reason)

    # -- batching writes ---------------------------------------------------------------------

    def _schedule_flush(self, conn: EmppConnection) -> None:
        """DELIVERs are written at the end of the current turn: the model usually hands
        many at once (one timer run), so they go out in one write per connection."""
        self._dirty[conn.id] = conn
        if self._flush_call is None:
            self._flush_call = self.clock.callLater(0, self._flush_dirty)

    def _flush_dirty(self) -> None:
        self._flush_call = None
        dirty, self._dirty = self._dirty, {}
        for conn in dirty.values():
            conn.proto.flush()


def _peer_of(proto: SessionProtocol) -> tuple[str, str]:
    """(address, "address:port") of the peer (any transport: TCP, iosim, StringTransport)."""
    peer = proto.transport.getPeer() if proto.transport is not None else None
    host = getattr(peer, "host", None)
    if host is None:
        return str(peer), str(peer)
    return str(host), f"{host}:{getattr(peer, 'port', '')}"


class _ServerSession(Session):
    """The server role's Session, strict before login: the first CONNECT is the only PDU it
    takes.  Anything else before the CONNECT is accepted (a request, ACTIVE_TEST, TERMINATE,
    an unknown Command_Id or undecodable frame, a second PDU before CONNECT_RESP) closes it
    with ``LinkDead("... before login")``; nothing is answered.  Once bound it is a plain
    Session (the checks are instance attributes, removed at login: no cost afterwards)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dispatch = self._dispatch_before_login  # type: ignore[method-assign]
        self.receive_data = self._receive_before_login  # type: ignore[method-assign]

    def _receive_before_login(self, data: bytes, now: float) -> list[Any]:
        events = Session.receive_data(self, data, now)
        if self.state is not _CLOSED:
            for i, event in enumerate(events):
                if type(event) is PeerProtocolError:
                    del events[i:]  # what followed the bad frame is not looked at
                    events.extend(self._close(f"undecodable PDU before login: {event.error}"))
                    break
        return events

    def _dispatch_before_login(self, seq: int, pdu: Any, now: float, events: list[Any]) -> None:
        if type(pdu) is _CONNECT and self.peer_connect is None:
            Session._dispatch(self, seq, pdu, now, events)
            return
        self.counters.received += 1
        name = type(pdu).__name__.upper()
        if self.peer_connect is not None:
            events.extend(self._close(f"{name} before CONNECT_RESP (before login)"))
        else:
            events.extend(self._close(f"{name} before login"))

    def accept(self, sequence_id: int, **kwargs: Any) -> None:
        super().accept(sequence_id, **kwargs)
        if self.state is _BOUND:
            self.__dict__.pop("_dispatch", None)
            self.__dict__.pop("receive_data", None)


class _ServerProtocol(SessionProtocol):
    """A SessionProtocol that also tells the server when its connection is gone (a session
    already closed by a refused login produces no event at that point)."""

    owner: EmppServer
    no_delay = True  # (see SessionProtocol.no_delay)

    def connectionLost(self, reason: Any = None) -> None:
        try:
            super().connectionLost(reason)
        finally:
            self.owner._lost(self)
