"""Test helpers: a minimal EMPP/CMPP server, and an in-memory endpoint to reach any server.

It is *not* the fake platform (``harness/fake_smsc``, which enforces the platform's rules):
it accepts a login whose authenticator matches ``password``, answers every SUBMIT with
result 0 and consecutive Msg_Ids (FAQ-2.5.2: one id per SUBMIT, the recipients' reports
carry id … id+n−1), and sends one DELIVRD report per recipient right away (or the status
``report_stat(number)`` chooses; ``None`` sends no report).  It is built on the SDK's own
sans-IO session in the server role.

Run one in a terminal: ``python -m smsdk.testing --port 9981 --password secret``.

:class:`MemoryEndpoint` joins :class:`smsdk.Client` to a server protocol in memory
(``twisted.test.iosim``) on a ``task.Clock``: no sockets, time in your hands.

:class:`DiskFull` makes a workspace's writes fail, as on a full disk, while you say so.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.interfaces import IProtocol, IReactorTime, IStreamClientEndpoint
from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Factory
from twisted.test import iosim
from zope.interface import implementer

from smsdk import codec
from smsdk._layouts import Dialect
from smsdk.session import ConnectRequested, RequestReceived, Role, Session, SessionSettings
from smsdk.transport.protocol import SessionProtocol


class MinimalServer:
    """Owner of server-side :class:`SessionProtocol`s (see the module docstring)."""

    def __init__(self, *, password: str, dialect: Dialect = Dialect.EMPP, reactor: Any = None,
                 report_stat: Callable[[str], str | None] | None = None,
                 settings: SessionSettings | None = None, login_status: int = 0,
                 first_msg_id: int = 0x0123_4567_89AB_0000) -> None:
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.reactor = reactor
        self.password = password
        self.dialect = Dialect(dialect)
        self.report_stat = report_stat or (lambda number: "DELIVRD")
        self.settings = settings or SessionSettings(active_test_interval=0, window=1_000_000)
        self.login_status = login_status
        self._raw = _empp_raw if self.dialect == Dialect.EMPP else _cmpp_raw
        self._next_id = first_msg_id
        self.submits: list[Any] = []
        self.protocols: list[SessionProtocol] = []

    def factory(self) -> Factory:
        return Factory.forProtocol(lambda: SessionProtocol(self, self._make_session, self.reactor))

    def _make_session(self, now: float) -> Session:
        return Session(self.dialect, Role.SERVER, self.settings, now=now)

    # SessionProtocol owner interface
    def session_started(self, proto: SessionProtocol) -> None:
        self.protocols.append(proto)

    def extra_deadline(self, proto: SessionProtocol) -> float | None:
        return None

    def on_extra_deadline(self, proto: SessionProtocol) -> None:
        pass

    def session_events(self, proto: SessionProtocol, events: list[Any]) -> None:
        session = proto.session
        assert session is not None
        now = self.reactor.seconds()
        for event in events:
            if isinstance(event, RequestReceived):
                if isinstance(event.pdu, codec.Submit):
                    self._on_submit(session, event, now)
                else:
                    session.respond(event.sequence_id, _generic_response(event.pdu))
            elif isinstance(event, ConnectRequested):
                ok = codec.check_connect(event.pdu, self.password)
                status = self.login_status if ok else 3
                session.accept(event.sequence_id, password=self.password, status=status, now=now)
        # (the protocol writes what was queued once this returns)

    def send_report(self, msg_id: bytes, number: str, stat: str = "DELIVRD") -> None:
        """Send a status report for ``msg_id`` (as the SUBMIT_RESP gave it) on the newest
        connection: a late report, or one the platform kept while nobody was logged in."""
        proto = next(p for p in reversed(self.protocols) if p.session is not None)
        assert proto.session is not None
        report = codec.StatusReport(msg_id=msg_id, stat=stat, submit_time="2611221200",
                                    done_time="2611221200", dest_terminal_id=number, smsc_sequence=0)
        deliver = codec.Deliver(msg_id=self._raw(self._next_id), dest_id="", registered_delivery=1,
                                src_terminal_id=number, msg_content=report)
        self._next_id += 1
        proto.session.send(deliver, self.reactor.seconds(), await_response=False)
        proto.flush()

    def _on_submit(self, session: Session, event: RequestReceived, now: float) -> None:
        pdu = event.pdu
        self.submits.append(pdu)
        raw = self._raw
        base = self._next_id
        numbers = pdu.dest_terminal_id
        self._next_id += max(1, len(numbers))
        # (msg_id, result) given by position: the records take keywords at twice the cost
        session.respond(event.sequence_id, codec.SubmitResp(raw(base), 0))
        if not pdu.registered_delivery:
            return
        for offset, number in enumerate(numbers):
            stat = self.report_stat(number)
            if stat is None:
                continue
            report = codec.StatusReport(
                msg_id=raw(base + offset), stat=stat, submit_time="2611221200",
                done_time="2611221200", dest_terminal_id=number, smsc_sequence=event.sequence_id,
            )
            deliver = codec.Deliver(
                msg_id=raw(self._next_id), dest_id=pdu.src_id, registered_delivery=1,
                src_terminal_id=number, msg_content=report,
            )
            self._next_id += 1
            # the official client never answers DELIVER: do not hold a window slot for it
            session.send(deliver, now, await_response=False)


@implementer(IStreamClientEndpoint)
class MemoryEndpoint:
    """A client endpoint whose every ``connect()`` builds a server protocol with
    ``build_server_protocol()`` and joins the two through ``twisted.test.iosim``.

    ``flush()`` moves bytes both ways until nothing moves; ``drop()`` cuts the newest
    connection; ``refuse = True`` makes further connects fail; ``attempts`` counts them.
    """

    def __init__(self, build_server_protocol: Callable[[], IProtocol], clock: IReactorTime) -> None:
        self.build_server_protocol = build_server_protocol
        self.clock = clock
        self.pumps: list[iosim.IOPump] = []
        self.attempts = 0
        self.refuse = False

    def connect(self, factory: Any) -> defer.Deferred[Any]:
        self.attempts += 1
        if self.refuse:
            return defer.fail(ConnectionRefusedError())
        client_proto = factory.buildProtocol(None)
        server_proto = self.build_server_protocol()
        pump = iosim.connect(server_proto, iosim.makeFakeServer(server_proto),
                             client_proto, iosim.makeFakeClient(client_proto),
                             greet=False, clock=self.clock)
        self.pumps.append(pump)
        return defer.succeed(client_proto)

    def flush(self, rounds: int = 100) -> None:
        for _ in range(rounds):
            moved = False
            for pump in self.pumps:
                moved = pump.pump(advanceClock=False) or moved
            if not moved:
                return

    def drop(self) -> None:
        """Cut the newest connection (both sides see connectionLost)."""
        self.pumps[-1].clientIO.loseConnection()
        self.flush()


def flush_all(clock: Any, endpoints: list[MemoryEndpoint], rounds: int = 5) -> None:
    """Move bytes both ways on every endpoint and run what is due now, until it settles."""
    for _ in range(rounds):
        for endpoint in endpoints:
            endpoint.flush()
        clock.advance(0)


def run_clock(clock: Any, endpoints: list[MemoryEndpoint], seconds: float = 0.0, step: float = 0.1) -> None:
    """Advance a ``task.Clock`` by ``seconds`` in steps of ``step``, moving bytes at each step."""
    flush_all(clock, endpoints)
    elapsed = 0.0
    while elapsed < seconds:
        clock.advance(step)
        elapsed += step
        flush_all(clock, endpoints)
    flush_all(clock, endpoints)


class DiskFull:
    """While ``full`` is True, every write transaction of the workspace ``ws`` fails at its
    commit with :class:`~smsdk.workspace.store.WorkspaceError` (its statements ran and are
    rolled back), as SQLite's does when the disk fills up; ``refused`` counts them.  For
    testing what a durable store does when its file cannot be written."""

    def __init__(self, ws: Any) -> None:
        from contextlib import contextmanager

        from smsdk.workspace.store import WorkspaceError

        self.full = False
        self.refused = 0
        real = ws.transaction

        @contextmanager
        def transaction() -> Any:
            with real() as db:
                yield db
                if self.full:
                    self.refused += 1
                    raise WorkspaceError(f"{ws.path} cannot be written: database or disk is full")

        ws.transaction = transaction


def _empp_raw(value: int) -> bytes:
    """``EmppMsgId.from_int(value).raw`` (bytes 0-7 big-endian, bytes 8-9 zero), without
    building the object: three ids per SUBMIT with its report."""
    return value.to_bytes(8, "big") + b"\0\0"


def _cmpp_raw(value: int) -> bytes:
    """``CmppMsgId(value).to_bytes()``: the 8 big-endian wire bytes."""
    return value.to_bytes(8, "big")


def _generic_response(pdu: Any) -> Any:
    if isinstance(pdu, codec.ChangePass):
        return codec.ChangePassResp(result=0, password=pdu.new_password)
    raise ValueError(f"the minimal server does not answer {type(pdu).__name__}")


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - manual tool
    from twisted.internet import reactor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9981)
    parser.add_argument("--password", default="secret")
    parser.add_argument("--dialect", default="empp", choices=["empp", "cmpp2", "cmpp3"])
    args = parser.parse_args(argv)
    server = MinimalServer(password=args.password, dialect=Dialect[args.dialect.upper()], reactor=reactor)
    # any Factory serves; Twisted's annotation asks for a ServerFactory
    port = reactor.listenTCP(args.port, server.factory(), interface="127.0.0.1")  # type: ignore[arg-type]
    address = port.getHost()
    assert isinstance(address, IPv4Address)
    print(f"minimal {args.dialect} server on 127.0.0.1:{address.port}", flush=True)
    reactor.run()


if __name__ == "__main__":  # pragma: no cover
    main()
