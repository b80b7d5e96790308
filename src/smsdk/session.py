"""Sans-IO session: one EMPP/CMPP connection as a pure state machine (layer 3).

In the style of h11: no sockets, no reactor, no clock of its own.  The caller

* feeds received bytes: ``events = session.receive_data(data, now)``;
* asks for requests to be sent: ``seq = session.send(pdu, now, tag=...)``;
* drains what must be written: ``session.data_to_send() -> bytes``;
* drives time: ``session.next_deadline()`` says when ``session.on_timer(now)`` must be called;
* reports a closed connection: ``session.connection_lost(now)``.

``now`` is any monotonic clock in seconds (``twisted.internet.task.Clock.seconds`` in tests).
The same class serves the client role (the SDK) and the server role (the fake platform).

What the session does by itself: login (client: CONNECT with the authenticator; server:
surfaces ``ConnectRequested`` and answers with :meth:`Session.accept`), sequence ids with
wrap-around, the window, per-request timeout and resend (T, N), heartbeat (ACTIVE_TEST after
idle, dead-link detection), answering the peer's ACTIVE_TEST and TERMINATE, answering DELIVER
with a DELIVER_RESP of the same Sequence_Id (client role), and matching every response to its
request.  Nothing is dropped silently: a request either gets a ``ResponseReceived``, a
``RequestExpired`` (no answer after N sends) or a ``RequestAbandoned`` (the link ended first),
and every resend is surfaced as a ``RequestResent``.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Union

from smsdk import codec
from smsdk.frozen_dataclass import frozen
from smsdk._layouts import Dialect
from smsdk.codes import LoginOutcome, connect_status
from smsdk.errors import FrameLengthError, ProtocolError, SmsdkError

_RESP_BIT = 0x80000000
_MAX_SEQUENCE = 0x7FFFFFFF  # wrap well before 0xFFFFFFFF; some peers treat the id as signed


class Role(enum.Enum):
    CLIENT = "client"
    SERVER = "server"


class SessionState(enum.Enum):
    IDLE = "idle"                # client: not logged in yet; server: waiting for CONNECT
    CONNECTING = "connecting"    # client: CONNECT sent, waiting for CONNECT_RESP
    BOUND = "bound"              # logged in: requests may flow
    CLOSING = "closing"          # we sent TERMINATE, waiting for TERMINATE_RESP
    CLOSED = "closed"            # terminated, refused, or the link is dead: drop the connection


# Enum members read through their class cost ~0.2 us each on CPython 3.11 (EnumType has a
# __getattr__, which sends every attribute read of the class down the slow path), so the
# code run for every PDU compares with these names.
_BOUND = SessionState.BOUND
_CLOSED = SessionState.CLOSED
_CLIENT = Role.CLIENT
_DELIVERING = (SessionState.BOUND, SessionState.CLOSING)  # a client still answers DELIVER


class SessionError(SmsdkError):
    """A call that the session's state does not allow (sending before login, ...)."""


class WindowFull(SessionError):
    """The window of unanswered requests is full; wait for a response or a timeout."""


class LoginError(SmsdkError):
    """The platform refused the login.  ``retryable`` is False for credentials/version."""

    def __init__(self, status: int, name: str, meaning: str, retryable: bool) -> None:
        super().__init__(f"login refused: status {status} ({name}): {meaning}")
        self.status = status
        self.name = name
        self.meaning = meaning
        self.retryable = retryable


@dataclass(frozen=True)
class SessionSettings:
    """Timers and limits of one connection; defaults follow PROTOCOL.md §1.12 and §2.1."""

    window: int = 16                     # W: unanswered requests in flight
    response_timeout: float = 60.0       # T: seconds before a request is sent again
    max_attempts: int = 3                # N: sends of one request before it expires
    connect_timeout: float = 30.0        # CONNECT without CONNECT_RESP: the link is dead
    active_test_interval: float = 30.0   # inbound silence before we send ACTIVE_TEST (0: never)
    active_test_timeout: float = 10.0    # an ACTIVE_TEST unanswered this long counts as missed
    active_test_max_missed: int = 3      # missed heartbeats in a row: the link is dead
    silence_timeout: float = 180.0       # no inbound byte this long: the link is dead (0: never)
    terminate_timeout: float = 5.0       # TERMINATE unanswered this long: closed anyway
    max_frame_length: int = 4096         # Total_Length refused above this
    expired_memory: int = 4096           # expired requests remembered to match late responses

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError("window must be at least 1")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        for name in ("response_timeout", "connect_timeout", "active_test_timeout", "terminate_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("active_test_interval", "silence_timeout"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 (off) or positive")


# ---------------------------------------------------------------------------------------
# Events (made for every PDU: @frozen is a frozen slotted dataclass that is cheap to make)


@frozen
class Bound:
    """Client: the login succeeded.  ``kicked_other_session`` for EMPP status 20000."""

    status: int
    version: int
    ability: int | None
    kicked_other_session: bool


@frozen
class LoginRefused:
    """Client: CONNECT_RESP with a refusal; the session is closed.  Do not reconnect when
    ``error.retryable`` is False (wrong credentials or version)."""

    error: LoginError


@frozen
class ConnectRequested:
    """Server: a CONNECT arrived; answer with :meth:`Session.accept` or :meth:`Session.refuse`."""

    sequence_id: int
    pdu: Any


@frozen
class RequestReceived:
    """A request from the peer that the caller must answer with :meth:`Session.respond`
    (server: SUBMIT, CHANGEPASS ...; client: anything but DELIVER, ACTIVE_TEST, TERMINATE)."""

    sequence_id: int
    pdu: Any


@frozen
class DeliverReceived:
    """Client: an MO or a status report; the DELIVER_RESP has already been queued, except
    for a report while ``Session.hold_report_resps`` is set (see ``answer_held``)."""

    sequence_id: int
    pdu: Any
    held: bool  # its DELIVER_RESP is left to the caller (hold_report_resps)


@frozen
class ResponseReceived:
    """The response to one of our requests (``tag`` is what was passed to ``send``)."""

    sequence_id: int
    request: Any
    response: Any
    tag: Any


@frozen
class LateResponse:
    """A response to a request that had already expired.  For a SUBMIT this matters: the
    platform did accept it after all, so it must not be submitted again."""

    sequence_id: int
    request: Any
    response: Any
    tag: Any


@frozen
class UnmatchedResponse:
    """A response whose Sequence_Id matches nothing we sent (ignored)."""

    sequence_id: int
    response: Any


@frozen
class RequestResent:
    """A request got no response within response_timeout and was written again under the
    same Sequence_Id (send number ``attempts``).  The peer may process both copies: for a
    SUBMIT, the platform may accept it twice."""

    sequence_id: int
    request: Any
    tag: Any
    attempts: int


@frozen
class RequestExpired:
    """No response after ``attempts`` sends; the request left the window."""

    sequence_id: int
    request: Any
    tag: Any
    attempts: int


@frozen
class RequestAbandoned:
    """The link ended while the request was in flight: it may or may not have been
    processed by the peer (the caller decides: resubmit or fail)."""

    sequence_id: int
    request: Any
    tag: Any
    written: bool


@frozen
class Unauthorized:
    """EMPP UNAUTHORIZATION: the platform does not allow this account ``command_id``."""

    command_id: int


@frozen
class PeerProtocolError:
    """A PDU from the peer could not be decoded; it was skipped and the link goes on."""

    error: ProtocolError


@frozen
class Terminated:
    """The session ended with a TERMINATE exchange (``by_peer``: the peer asked)."""

    by_peer: bool


@frozen
class LinkDead:
    """The link is unusable (silence, missed heartbeats, broken framing, connection lost)."""

    reason: str


Event = Union[
    Bound,
    LoginRefused,
    ConnectRequested,
    RequestReceived,
    DeliverReceived,
    ResponseReceived,
    LateResponse,
    UnmatchedResponse,
    RequestResent,
    RequestExpired,
    RequestAbandoned,
    Unauthorized,
    PeerProtocolError,
    Terminated,
    LinkDead,
]


@dataclass(slots=True)
class _InFlight:
    sequence_id: int
    request: Any
    tag: Any
    packet: bytes
    deadline: float
    attempts: int = 1
    resend: bool = True


@dataclass(slots=True)
class _Heartbeat:
    sequence_id: int | None = None   # the ACTIVE_TEST awaiting its RESP
    deadline: float = 0.0
    missed: int = 0


@dataclass
class SessionCounters:
    sent: int = 0
    received: int = 0
    resent: int = 0
    expired: int = 0
    heartbeats_sent: int = 0
    decode_errors: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class Session:
    """One EMPP/CMPP connection's protocol state, for the client or the server role."""

    def __init__(
        self,
        dialect: Dialect = Dialect.EMPP,
        role: Role = Role.CLIENT,
        settings: SessionSettings | None = None,
        *,
        now: float = 0.0,
    ) -> None:
        self.dialect = Dialect(dialect)
        self.role = role
        self.settings = settings or SessionSettings()
        self.state = SessionState.IDLE
        self.counters = SessionCounters()
        self._decoder = codec.FrameDecoder(self.dialect, max_length=self.settings.max_frame_length)
        self._out: list[bytes] = []  # packets queued for the wire, in order
        # Client: keep the DELIVER_RESP of a status report in held_resps until the caller has
        # stored the report and calls answer_held() (the platform sends an unanswered one
        # again after the next login); MOs and everything else are answered at once.
        self.hold_report_resps = False
        self.held_resps: list[tuple[int, bytes]] = []  # (Sequence_Id, Msg_Id) of those kept
        self._next_sequence = 1
        self._in_flight: OrderedDict[int, _InFlight] = OrderedDict()  # by deadline order
        self._expired: OrderedDict[int, _InFlight] = OrderedDict()
        self._heartbeat = _Heartbeat()
        self._last_received = now
        self._connect: _InFlight | None = None
        self._terminate_deadline: float | None = None
        self._password_for_resp: str | None = None
        self.peer_connect: Any = None  # server: the CONNECT we answered

    # -- introspection -------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet answered, expired or abandoned."""
        return len(self._in_flight)

    @property
    def can_send(self) -> bool:
        """True when :meth:`send` would accept a request now."""
        return self.state is SessionState.BOUND and len(self._in_flight) < self.settings.window

    @property
    def free_slots(self) -> int:
        """How many more requests :meth:`send` would accept now (0 unless bound)."""
        if self.state is not SessionState.BOUND:
            return 0
        return max(0, self.settings.window - len(self._in_flight))

    def data_to_send(self) -> bytes:
        """Everything queued for the wire since the last call (maybe empty)."""
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return data

    # -- sequence ids ------------------------------------------------------------------------

    def _take_sequence(self) -> int:
        """The next free Sequence_Id: counting up from the last one, wrapping to 1 after
        _MAX_SEQUENCE, skipping ids still in flight."""
        seq = self._next_sequence
        in_flight = self._in_flight
        heartbeat = self._heartbeat.sequence_id
        skipped = 0
        while seq in in_flight or seq == heartbeat:
            skipped += 1
            if skipped == _MAX_SEQUENCE:  # pragma: no cover - needs 2**31 in flight
                raise SessionError("no free Sequence_Id")
            seq = 1 if seq >= _MAX_SEQUENCE else seq + 1
        self._next_sequence = 1 if seq >= _MAX_SEQUENCE else seq + 1
        return seq

    def answer_held(self) -> int:
        """Client: queue the DELIVER_RESPs kept while ``hold_report_resps`` was set (once
        the reports are stored).  Returns how many; none when the link can no longer carry
        them (the platform keeps an unanswered DELIVER and sends it again after the next
        login): they are dropped."""
        self._require_role(Role.CLIENT, "answer_held")
        held, self.held_resps = self.held_resps, []
        if self.state not in _DELIVERING:
            return 0
        write = self._write
        resp = codec.DeliverResp
        for seq, msg_id in held:
            write(resp(msg_id, 0), seq)
        return len(held)

    def _write(self, pdu: Any, sequence_id: int) -> bytes:
        packet = codec.encode(pdu, sequence_id, self.dialect)
        self._out.append(packet)
        self.counters.sent += 1
        return packet

    # -- client: login -----------------------------------------------------------------------

    def connect(self, source_addr: str, password: str, *, timestamp: int, now: float) -> int:
        """Client: queue CONNECT with the authenticator for ``timestamp`` (MMDDhhmmss as an
        int, China time).  Returns its Sequence_Id."""
        self._require_role(Role.CLIENT, "connect")
        if self.state is not SessionState.IDLE:
            raise SessionError(f"connect() in state {self.state.value}")
        pdu = codec.build_connect(source_addr, password, timestamp, self.dialect)
        seq = self._take_sequence()
        packet = self._write(pdu, seq)
        self._connect = _InFlight(seq, pdu, None, packet, now + self.settings.connect_timeout)
        self.state = SessionState.CONNECTING
        self._last_received = now
        return seq

    # -- server: login -------------------------------------------------------------------------

    def accept(
        self,
        sequence_id: int,
        *,
        password: str,
        status: int = 0,
        ability: int | None = 0,
        now: float,
    ) -> None:
        """Server: answer the CONNECT with ``status`` (0 or 20000 bind the session; anything
        else refuses it and closes).  The authenticator is computed from ``password``."""
        self._require_role(Role.SERVER, "accept")
        if self.state is not SessionState.IDLE or self.peer_connect is None:
            raise SessionError("accept() without a pending CONNECT")
        auth_source = self.peer_connect.authenticator_source
        bound = status in (0, 20000) if self.dialect == Dialect.EMPP else status == 0
        authenticator = (
            codec.connect_resp_authenticator(status, auth_source, password, self.dialect)
            if bound
            else bytes(16)
        )
        resp = codec.ConnectResp(
            status=status,
            authenticator_ismg=authenticator,
            version=self.peer_connect.version,
            ability=ability if self.dialect == Dialect.EMPP else 0,
        )
        self._write(resp, sequence_id)
        self.state = SessionState.BOUND if bound else SessionState.CLOSED
        self._last_received = now

    def refuse(self, sequence_id: int, status: int, *, now: float) -> None:
        """Server: refuse the CONNECT with ``status`` and close."""
        self.accept(sequence_id, password="", status=status, now=now)

    # -- requests ----------------------------------------------------------------------------

    def send(self, pdu: Any, now: float, *, tag: Any = None, await_response: bool = True,
             resend: bool = True) -> int:
        """Queue a request (SUBMIT, DELIVER, CHANGEPASS ...) and return its Sequence_Id.

        With ``await_response`` the request takes a window slot until its response, its
        expiry after N sends (``resend``) or the end of the link.  Without it (a server's
        DELIVER to a peer known never to answer) it is written and forgotten.
        Raises :class:`WindowFull` or :class:`SessionError` instead of queueing.
        """
        if self.state is not _BOUND:
            raise SessionError(f"cannot send {type(pdu).__name__} in state {self.state.value}")
        if await_response and len(self._in_flight) >= self.settings.window:
            raise WindowFull(f"{len(self._in_flight)} requests in flight (window {self.settings.window})")
        seq = self._take_sequence()
        packet = self._write(pdu, seq)
        if await_response:
            self._in_flight[seq] = _InFlight(
                seq, pdu, tag, packet, now + self.settings.response_timeout, resend=resend
            )
        return seq

    def respond(self, sequence_id: int, pdu: Any) -> None:
        """Answer a request of the peer (the response carries the request's Sequence_Id)."""
        if self.state is _CLOSED:
            raise SessionError("respond() on a closed session")
        self._write(pdu, sequence_id)

    def terminate(self, now: float) -> None:
        """Queue TERMINATE; the session closes on TERMINATE_RESP or after terminate_timeout."""
        if self.state in (SessionState.CLOSING, SessionState.CLOSED):
            return
        if self.state is not SessionState.BOUND:
            self.state = SessionState.CLOSED
            return
        self._write(codec.Terminate(), self._take_sequence())
        self.state = SessionState.CLOSING
        self._terminate_deadline = now + self.settings.terminate_timeout

    # -- input -------------------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Feed bytes from the peer; returns the events they produce, in order."""
        events: list[Event] = []
        if self.state is _CLOSED:
            return events
        if data:
            self._last_received = now
        chunk = data
        dispatch = self._dispatch
        while True:
            error: ProtocolError | None = None
            try:
                frames = self._decoder.feed(chunk)
            except ProtocolError as exc:
                frames = list(getattr(exc, "pdus", ()) or ())  # decoded before the bad frame
                error = exc
            for seq, pdu in frames:
                dispatch(seq, pdu, now, events)
                if self.state is _CLOSED:
                    return events
            if error is None:
                return events
            self.counters.decode_errors += 1
            if isinstance(error, FrameLengthError):
                events.extend(self._close(f"broken framing: {error}"))
                return events
            events.append(PeerProtocolError(error))
            self._answer_bad_request(error)
            chunk = b""  # the bad frame was consumed: go on with what is still buffered

    def _answer_bad_request(self, exc: ProtocolError) -> None:
        """A SUBMIT we could not decode still gets an answer, so the peer's window moves."""
        seq = getattr(exc, "sequence_id", None)
        command_id = getattr(exc, "command_id", None)
        if seq is None or command_id != codec.Submit.command_id or self.role is not Role.SERVER:
            return
        if self.state is SessionState.BOUND:
            width = 10 if self.dialect == Dialect.EMPP else 8
            self._write(codec.SubmitResp(msg_id=bytes(width), result=1), seq)

    def _dispatch(self, seq: int, pdu: Any, now: float, events: list[Event]) -> None:
        self.counters.received += 1
        self._heartbeat.missed = 0
        # the hot paths first: a server's SUBMIT, a client's SUBMIT_RESP and DELIVER, a
        # server's DELIVER_RESP (exact types: anything else takes the general path below)
        cls = type(pdu)
        if cls is codec.Submit:
            events.append(RequestReceived(seq, pdu))  # in any role and state: the caller answers
            return
        if cls is codec.SubmitResp or cls is codec.DeliverResp:
            self._match_response(seq, pdu, events)
            return
        if cls is codec.Deliver and self.role is _CLIENT and self.state in _DELIVERING:
            # (msg_id, result) given by position: the records take keywords at twice the cost
            if self.hold_report_resps and pdu.is_report:
                self.held_resps.append((seq, pdu.msg_id))
                events.append(DeliverReceived(seq, pdu, True))
            else:
                self._write(codec.DeliverResp(pdu.msg_id, 0), seq)
                events.append(DeliverReceived(seq, pdu, False))
            return
        command_id = pdu.command_id
        if command_id & _RESP_BIT and not isinstance(pdu, codec.Unauthorization):
            self._on_response(seq, pdu, now, events)
            return
        if isinstance(pdu, codec.ActiveTest):
            self._write(codec.ActiveTestResp(), seq)
            return
        if isinstance(pdu, codec.Terminate):
            self._write(codec.TerminateResp(), seq)
            events.extend(self._close(None, terminated_by_peer=True))
            return
        if isinstance(pdu, codec.Unauthorization):
            events.append(Unauthorized(pdu.unauth_command_id))
            return
        if isinstance(pdu, codec.Connect):
            if self.role is Role.SERVER and self.state is SessionState.IDLE and self.peer_connect is None:
                self.peer_connect = pdu
                events.append(ConnectRequested(seq, pdu))
            else:
                events.append(RequestReceived(seq, pdu))
            return
        events.append(RequestReceived(seq, pdu))

    def _on_response(self, seq: int, pdu: Any, now: float, events: list[Event]) -> None:
        if isinstance(pdu, codec.ConnectResp):
            self._on_connect_resp(seq, pdu, events)
            return
        if isinstance(pdu, codec.ActiveTestResp):
            if seq == self._heartbeat.sequence_id:
                self._heartbeat = _Heartbeat()
            return
        if isinstance(pdu, codec.TerminateResp):
            if self.state is SessionState.CLOSING:
                events.extend(self._close(None, terminated_by_peer=False))
            return
        self._match_response(seq, pdu, events)

    def _match_response(self, seq: int, pdu: Any, events: list[Event]) -> None:
        """A response to a request we sent (not CONNECT, ACTIVE_TEST or TERMINATE)."""
        entry = self._in_flight.get(seq)
        if entry is not None and (entry.request.command_id | _RESP_BIT) == pdu.command_id:
            del self._in_flight[seq]
            events.append(ResponseReceived(seq, entry.request, pdu, entry.tag))
            return
        # (a response of the wrong kind leaves the request waiting for the right one)
        late = self._expired.pop(seq, None)
        if late is not None and (late.request.command_id | _RESP_BIT) == pdu.command_id:
            events.append(LateResponse(seq, late.request, pdu, late.tag))
            return
        events.append(UnmatchedResponse(seq, pdu))

    def _on_connect_resp(self, seq: int, pdu: Any, events: list[Event]) -> None:
        if self.state is not SessionState.CONNECTING or self._connect is None or seq != self._connect.sequence_id:
            events.append(UnmatchedResponse(seq, pdu))
            return
        self._connect = None
        code, outcome = connect_status(self.dialect, pdu.status)
        if outcome in (LoginOutcome.BOUND, LoginOutcome.BOUND_KICKED_OTHER):
            self.state = SessionState.BOUND
            events.append(
                Bound(
                    status=pdu.status,
                    version=pdu.version,
                    ability=getattr(pdu, "ability", None),
                    kicked_other_session=outcome is LoginOutcome.BOUND_KICKED_OTHER,
                )
            )
            return
        self.state = SessionState.CLOSED
        error = LoginError(code.code, code.name, code.meaning, retryable=outcome is LoginOutcome.RETRY_LATER)
        events.append(LoginRefused(error))

    # -- time -------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """The earliest time at which :meth:`on_timer` has work to do (None: nothing)."""
        if self.state is _CLOSED:
            return None
        deadlines: list[float] = []
        if self._connect is not None:
            deadlines.append(self._connect.deadline)
        if self._in_flight:
            # kept in deadline order: appended with now + T, moved to the end on resend
            deadlines.append(next(iter(self._in_flight.values())).deadline)
        if self._terminate_deadline is not None:
            deadlines.append(self._terminate_deadline)
        if self.settings.silence_timeout:
            deadlines.append(self._last_received + self.settings.silence_timeout)
        heartbeat = self._heartbeat_deadline()
        if heartbeat is not None:
            deadlines.append(heartbeat)
        return min(deadlines) if deadlines else None

    def _heartbeat_deadline(self) -> float | None:
        if self.state is not _BOUND:
            return None
        if self._heartbeat.sequence_id is not None:
            return self._heartbeat.deadline
        if self.role is _CLIENT and self.settings.active_test_interval:
            return self._last_received + self.settings.active_test_interval
        return None

    def on_timer(self, now: float) -> list[Event]:
        """Do whatever is due at ``now``: resends, expiries, heartbeats, dead-link checks."""
        events: list[Event] = []
        if self.state is SessionState.CLOSED:
            return events
        if self._connect is not None and now >= self._connect.deadline:
            return self._close("no CONNECT_RESP within connect_timeout")
        if self._terminate_deadline is not None and now >= self._terminate_deadline:
            return self._close(None, terminated_by_peer=False)
        if self.settings.silence_timeout and now >= self._last_received + self.settings.silence_timeout:
            return self._close(f"nothing received for {self.settings.silence_timeout:g} s")
        while self._in_flight:
            entry = next(iter(self._in_flight.values()))
            if entry.deadline > now:
                break
            del self._in_flight[entry.sequence_id]
            if entry.resend and entry.attempts < self.settings.max_attempts:
                entry.attempts += 1
                entry.deadline = now + self.settings.response_timeout
                self._out.append(entry.packet)
                self.counters.resent += 1
                self._in_flight[entry.sequence_id] = entry
                events.append(RequestResent(entry.sequence_id, entry.request, entry.tag, entry.attempts))
            else:
                self.counters.expired += 1
                self._remember_expired(entry)
                events.append(RequestExpired(entry.sequence_id, entry.request, entry.tag, entry.attempts))
        events.extend(self._heartbeat_due(now))
        return events

    def _heartbeat_due(self, now: float) -> list[Event]:
        hb = self._heartbeat
        if self.state is not SessionState.BOUND:
            return []
        if hb.sequence_id is not None:
            if now < hb.deadline:
                return []
            hb.missed += 1
            if hb.missed >= self.settings.active_test_max_missed:
                return self._close(f"{hb.missed} ACTIVE_TESTs unanswered")
            self._send_active_test(now)
            return []
        if (
            self.role is Role.CLIENT
            and self.settings.active_test_interval
            and now >= self._last_received + self.settings.active_test_interval
        ):
            self._send_active_test(now)
        return []

    def _send_active_test(self, now: float) -> None:
        seq = self._take_sequence()
        self._write(codec.ActiveTest(), seq)
        self.counters.heartbeats_sent += 1
        self._heartbeat.sequence_id = seq
        self._heartbeat.deadline = now + self.settings.active_test_timeout

    def _remember_expired(self, entry: _InFlight) -> None:
        self._expired[entry.sequence_id] = entry
        while len(self._expired) > self.settings.expired_memory:
            self._expired.popitem(last=False)

    # -- the end -----------------------------------------------------------------------------

    def connection_lost(self, now: float) -> list[Event]:
        """The transport lost the connection: every request in flight is abandoned."""
        if self.state is SessionState.CLOSED:
            return self._abandon_all()
        return self._close("connection lost")

    def _close(self, reason: str | None, *, terminated_by_peer: bool = False) -> list[Event]:
        was_closed = self.state is SessionState.CLOSED
        self.state = SessionState.CLOSED
        self._connect = None
        self._terminate_deadline = None
        self._heartbeat = _Heartbeat()
        events: list[Event] = []
        if not was_closed:
            events.append(LinkDead(reason) if reason is not None else Terminated(by_peer=terminated_by_peer))
        events.extend(self._abandon_all())
        return events

    def _abandon_all(self) -> list[Event]:
        abandoned: list[Event] = [RequestAbandoned(e.sequence_id, e.request, e.tag, True) for e in self._in_flight.values()]
        self._in_flight.clear()
        return abandoned

    def _require_role(self, role: Role, what: str) -> None:
        if self.role is not role:
            raise SessionError(f"{what}() is for the {role.value} role")

