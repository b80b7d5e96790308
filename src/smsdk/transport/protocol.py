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

    # -- Twisted callbacks -------------------------------------------------------------------

    def connectionMade(self) -> None:
        self.connected_flag = True
        self.session = self._make_session(self.clock.seconds())
        self.owner.session_started(self)
        self.flush()

    def dataReceived(self, data: bytes) -> None:
        if self.session is None:
            return
        events = self.session.receive_data(data, self.clock.seconds())
        self._deliver(events)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.connected_flag = False
        self._cancel_timer()
        if self.session is None:
            return
        events = self.session.connection_lost(self.clock.seconds())
        if events:
            self.owner.session_events(self, events)

    # -- driving -----------------------------------------------------------------------------

    def _deliver(self, events: list[Event]) -> None:
        if events:
            self.owner.session_events(self, events)
        self.flush()

    def flush(self) -> None:
        """Write what the session queued, close a finished session, re-arm the timer."""
        session = self.session
        if session is None or self.transport is None:
            return
        data = session.data_to_send()
        if data and self.connected_flag:
            self.transport.write(data)
        if session.state is SessionState.CLOSED:
            self._cancel_timer()
            if self.connected_flag:
                self.transport.loseConnection()
            return
        self._arm_timer()

    def _arm_timer(self) -> None:
        assert self.session is not None
        deadlines = [d for d in (self.session.next_deadline(), self.owner.extra_deadline(self)) if d is not None]
        at = min(deadlines) if deadlines else None
        if at == self._timer_at and self._timer is not None and self._timer.active():
            return
        self._cancel_timer()
        if at is None:
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
