"""Twisted protocol driving a sans-IO :class:`~smsdk.session.Session` (layer 4).

The protocol owns no protocol logic: it feeds bytes and clock ticks to the session, writes
what the session wants written, keeps one timer at the session's next deadline, and hands
every event to its *owner* (the client, or the fake platform's server) through
``owner.session_events(protocol, events)``.  The owner may call ``protocol.flush()`` after
queueing more requests on ``protocol.session``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol as TypingProtocol

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure

from smsdk.session import Event, Session, SessionState

_CLOSED = SessionState.CLOSED  # read through the enum class, a member costs ~0.2 us (3.11)


class SessionOwner(TypingProtocol):
    def session_started(self, protocol: SessionProtocol) -> None: ...
    def session_events(self, protocol: SessionProtocol, events: list[Event]) -> None: ...
    def extra_deadline(self, protocol: SessionProtocol) -> float | None: ...
    def on_extra_deadline(self, protocol: SessionProtocol) -> None: ...


class SessionProtocol(Protocol):
    """One TCP connection carrying one EMPP/CMPP session."""

    def __init__(self, owner: SessionOwner, make_session: Callable[[float], Session],
                 clock: IReactorTime) -> None:
        self.owner = owner
        self.clock = clock
        self._make_session = make_session
        self.session: Session | None = None
        self._timer: IDelayedCall | None = None
        self._timer_at: float | None = None
        self.connected_flag = False

    #: TCP_NODELAY on the connection.  The fake platform's server sets it: with Nagle's
    #: algorithm its small SUBMIT_RESPs wait for the peer's delayed ACK (tens of ms)
    #: whenever the peer has nothing to write back, e.g. a client that answers status
    #: reports in batches, which stalls the peer's window.  The client keeps Nagle: its
    #: writes go out in bursts, and measured faster that way (docs/benchmarks.md).
    no_delay = False

    # -- Twisted callbacks -------------------------------------------------------------------

    def connectionMade(self) -> None:
        self.connected_flag = True
        set_no_delay = getattr(self.transport, "setTcpNoDelay", None) if self.no_delay else None
        if set_no_delay is not None:  # (transports that are not TCP have no such option)
            try:
                set_no_delay(True)
            except OSError:  # pragma: no cover - e.g. a UNIX socket
                pass
        self.session = self._make_session(self.clock.seconds())
        self.owner.session_started(self)
        self.flush()

    def dataReceived(self, data: bytes) -> None:
        session = self.session
        if session is None:
            return
        events = session.receive_data(data, self.clock.seconds())
        if events:
            self.owner.session_events(self, events)
        self.flush()

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.connected_flag = False
        self._cancel_timer()
        if self.session is None:
            return
        events = self.session.connection_lost(self.clock.seconds())
        if events:
            self.owner.session_events(self, events)

    # -- driving -----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write what the session queued, close a finished session, re-arm the timer."""
        session = self.session
        if session is None or self.transport is None:
            return
        data = session.data_to_send()
        if data and self.connected_flag:
            self.transport.write(data)
        if session.state is _CLOSED:
            self._cancel_timer()
            if self.connected_flag:
                self.transport.loseConnection()
            return
        self._arm_timer()

    def _arm_timer(self) -> None:
        """Keep one timer at the earlier of the session's and the owner's deadlines.  It
        moves on almost every read (the silence deadline follows the last byte received):
        ``reset`` moves the pending call instead of cancelling it and scheduling another."""
        assert self.session is not None
        at = self.session.next_deadline()
        extra = self.owner.extra_deadline(self)
        if extra is not None and (at is None or extra < at):
            at = extra
        if at is None:
            self._cancel_timer()
            return
        timer = self._timer
        if timer is not None and timer.active():
            if at != self._timer_at:
                timer.reset(max(0.0, at - self.clock.seconds()))
                self._timer_at = at
            return
        self._timer_at = at
        self._timer = self.clock.callLater(max(0.0, at - self.clock.seconds()), self._on_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self._timer_at = None

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        if self.session is None:
            return
        events = self.session.on_timer(self.clock.seconds())
        if events:
            self.owner.session_events(self, events)
        self.owner.on_extra_deadline(self)
        self.flush()

    def __repr__(self) -> str:
        state: Any = self.session.state.value if self.session else "new"
        return f"<SessionProtocol {state}>"
