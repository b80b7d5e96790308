"""SessionProtocol's one timer: always at the earlier of the session's and the owner's deadlines."""

from __future__ import annotations

from twisted.internet import task
from twisted.internet.testing import StringTransport

from smsdk.codec import Dialect
from smsdk.session import LinkDead, Role, Session, SessionSettings
from smsdk.transport.protocol import SessionProtocol


class Owner:
    def __init__(self) -> None:
        self.events: list = []
        self.extra: float | None = None
        self.extra_calls: list[float] = []
        self.clock = task.Clock()

    def session_started(self, protocol: SessionProtocol) -> None:
        pass

    def session_events(self, protocol: SessionProtocol, events: list) -> None:
        self.events += events

    def extra_deadline(self, protocol: SessionProtocol) -> float | None:
        return self.extra

    def on_extra_deadline(self, protocol: SessionProtocol) -> None:
        now = self.clock.seconds()
        if self.extra is not None and self.extra <= now:
            self.extra_calls.append(now)
            self.extra = None


def connected(silence_timeout: float = 10.0) -> tuple[Owner, SessionProtocol, StringTransport]:
    owner = Owner()
    settings = SessionSettings(silence_timeout=silence_timeout, active_test_interval=0)
    proto = SessionProtocol(owner, lambda now: Session(Dialect.EMPP, Role.SERVER, settings, now=now), owner.clock)
    transport = StringTransport()
    proto.makeConnection(transport)
    return owner, proto, transport


def pending(owner: Owner) -> list[float]:
    return [call.getTime() for call in owner.clock.getDelayedCalls()]


def test_the_timer_follows_the_silence_deadline_as_bytes_arrive():
    owner, proto, transport = connected()
    assert pending(owner) == [10.0]
    owner.clock.advance(6)
    proto.dataReceived(b"\x00")  # a byte of a frame: not silent any more
    assert pending(owner) == [16.0]
    owner.clock.advance(9.5)
    assert owner.events == [] and not transport.disconnecting
    owner.clock.advance(0.5)
    assert [type(e) for e in owner.events] == [LinkDead]
    assert transport.disconnecting
    assert pending(owner) == []


def test_the_timer_moves_to_an_earlier_owner_deadline_and_back():
    owner, proto, _transport = connected()
    owner.extra = 8.0
    proto.flush()
    assert pending(owner) == [8.0]
    owner.extra = 2.0
    proto.flush()
    assert pending(owner) == [2.0]
    owner.clock.advance(2)
    assert owner.extra_calls == [2.0] and owner.events == []
    assert pending(owner) == [10.0]


def test_no_deadline_no_timer():
    owner, proto, _transport = connected(silence_timeout=0)
    assert pending(owner) == []
    owner.extra = 5.0
    proto.flush()
    assert pending(owner) == [5.0]
    owner.extra = None
    proto.flush()
    assert pending(owner) == []
