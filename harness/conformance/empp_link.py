"""A blocking, hand-driven EMPP link for checks that need only the wire: to the in-process
fake's EmppServer through a StringTransport, or to any EMPP endpoint over TCP
(``--target``).  It never answers anything by itself (like the official client)."""

from __future__ import annotations

import socket
from typing import Any

from smsdk import codec
from smsdk.codec import Dialect

EMPP = Dialect.EMPP
STAMP = 1122150405  # MMDDhhmmss; the fake does not check it against its clock


class LinkError(AssertionError):
    pass


class Link:
    def __init__(self) -> None:
        self.frames = codec.FrameDecoder(EMPP)
        self.seq = 0
        self.account = ""  # set by open_link once logged in

    # transport hooks
    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def _read(self) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def request(self, pdu: Any) -> Any:
        """Send ``pdu`` and return the response with its Sequence_Id (DELIVERs are skipped)."""
        self.seq += 1
        seq = self.seq
        self._write(codec.encode(pdu, seq, EMPP))
        for _ in range(1000):
            for s, got in self.frames.feed(self._read()):
                if s == seq and not isinstance(got, codec.Deliver):
                    return got
        raise LinkError(f"no response to {type(pdu).__name__} (Sequence_Id {seq})")

    def login(self, account: str, password: str) -> Any:
        resp = self.request(codec.build_connect(account, password, STAMP, EMPP))
        if resp.status not in (0, 20000):
            raise LinkError(f"login refused: CONNECT_RESP status {resp.status}")
        return resp

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class TcpLink(Link):
    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        super().__init__()
        self.sock = socket.create_connection((host, port), timeout=timeout)

    def _write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _read(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise LinkError("the endpoint closed the connection")
        return data

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class MemoryLink(Link):
    """To an in-process EmppServer on the model's simulated clock."""

    def __init__(self, server: Any, clock: Any) -> None:
        from twisted.internet.address import IPv4Address
        from twisted.internet.testing import StringTransport

        super().__init__()
        self.clock = clock
        self.proto = server.build_protocol()
        self.transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 40000))
        self.proto.makeConnection(self.transport)

    def _write(self, data: bytes) -> None:
        self.proto.dataReceived(data)

    def _read(self) -> bytes:
        self.clock.advance(0)
        data = self.transport.value()
        self.transport.clear()
        if not data:
            raise LinkError("no bytes from the server")
        return data

    def close(self) -> None:
        from twisted.internet.error import ConnectionDone
        from twisted.python.failure import Failure

        self.proto.connectionLost(Failure(ConnectionDone()))


def open_link(ctx: Any):
    """A logged-in link for ``ctx.target``, and a close function (which also ends the
    in-process world)."""
    t = ctx.target
    if t.in_process:
        from .world import MAIN, MAIN_PW, World

        w = World()
        link = MemoryLink(w.server, w.clock)
        link.login(MAIN, MAIN_PW)
        link.account = MAIN

        def close() -> None:
            link.close()
            w.close()
        return link, close
    tcp = TcpLink(t.host, t.port)
    tcp.login(t.account, t.password)
    tcp.account = t.account
    return tcp, tcp.close
