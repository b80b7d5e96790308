"""Helpers for the fake platform's front-end tests: a raw EMPP peer on a StringTransport,
and smsdk.Client ↔ EmppServer joined in memory by iosim; time on a task.Clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from twisted.internet import task
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from smsdk import codec
from smsdk._layouts import Dialect
from smsdk.china_time import CHINA
from smsdk.testing import MemoryEndpoint, flush_all, run_clock
from smsdk_harness.fake_smsc import Platform, load_config
from smsdk_harness.fake_smsc.empp_server import EmppServer
from smsdk_harness.fake_smsc.simclock import ReactorClock

from fake_smsc_helpers import MAIN, MAIN_PW, config_text

EMPP = Dialect.EMPP
STAMP = 1122150405  # MMDDhhmmss as the client sends it


class Raw:
    """A hand-driven EMPP client on a StringTransport (the official client's habits are
    up to the test: it may never answer DELIVER or ACTIVE_TEST)."""

    def __init__(self, server: EmppServer, port: int = 40000, host: str = "127.0.0.1") -> None:
        self.server = server
        self.proto = server.build_protocol()
        self.transport = StringTransport(peerAddress=IPv4Address("TCP", host, port))
        self.proto.makeConnection(self.transport)
        self.frames = codec.FrameDecoder(EMPP)
        self.received: list[tuple[int, Any]] = []
        self.backlog: list[tuple[int, Any]] = []
        self.lost = False

    def send(self, pdu: Any, seq: int) -> None:
        self.proto.dataReceived(codec.encode(pdu, seq, EMPP))
        self.check_closed()

    def send_bytes(self, data: bytes) -> None:
        self.proto.dataReceived(data)
        self.check_closed()

    def read(self) -> list[tuple[int, Any]]:
        """Every PDU written since the last read (after running what is due now: the
        server writes DELIVERs at the end of the current turn)."""
        advance = getattr(self.server.clock, "advance", None)
        if advance is not None and not self.lost:
            advance(0)
        data = self.transport.value()
        self.transport.clear()
        out = self.backlog + self.frames.feed(data)
        self.backlog = []
        self.received.extend(out)
        self.check_closed()
        return out

    def check_closed(self) -> None:
        if self.transport.disconnecting and not self.lost:
            self.lost = True
            self.proto.connectionLost(Failure(ConnectionDone()))

    @property
    def closed(self) -> bool:
        self.check_closed()
        return self.lost

    def login(self, account: str = MAIN, password: str = MAIN_PW, *, version: int = 0x10,
              seq: int = 1, stamp: int = STAMP) -> Any:
        connect = codec.build_connect(account, password, stamp, EMPP)
        if version != 0x10:
            connect = connect.replace(version=version)
        self.send(connect, seq)
        frames = self.read()
        resps = [p for s, p in frames if isinstance(p, codec.ConnectResp)]
        assert len(resps) == 1 and isinstance(frames[0][1], codec.ConnectResp), frames
        self.backlog = frames[1:]  # offline messages that followed CONNECT_RESP
        return resps[0]

    def cut(self) -> None:
        """The peer goes away (TCP closed)."""
        if not self.lost:
            self.lost = True
            self.proto.connectionLost(Failure(ConnectionDone()))


def text_submit(text: str, to: tuple[str, ...] = ("13800138000",), **kw: Any) -> Any:
    if text.isascii():
        fmt, content = 0, text.encode("ascii")
    else:
        fmt, content = 15, text.encode("gbk")
    kw.setdefault("src_id", MAIN)
    return codec.Submit(dest_terminal_id=to, msg_content=content, msg_fmt=fmt, **kw)


def make_platform(clock: task.Clock, **sections: str) -> Platform:
    return Platform(load_config(config_text(**sections)), ReactorClock(clock))


class World:
    """A platform, its EMPP server and smsdk.Clients joined in memory, on one task.Clock."""

    def __init__(self, platform: Platform, clock: task.Clock) -> None:
        self.clock = clock
        self.platform = platform
        self.server = EmppServer(platform, clock=clock)
        self.endpoints: list[MemoryEndpoint] = []

    def client(self, account: str = MAIN, password: str = MAIN_PW, **kw: Any) -> Any:
        from smsdk.client import Client
        from smsdk.dispatch import DispatchSettings

        endpoint = MemoryEndpoint(self.server.build_protocol, self.clock)
        self.endpoints.append(endpoint)
        kw.setdefault("signature", "【示例科技】")
        kw.setdefault("dispatch_settings", DispatchSettings(rate=100, group_send_limit=5))
        kw.setdefault("wallclock", lambda: datetime(2024, 5, 1, 8, 0, 0, tzinfo=CHINA))
        return Client(endpoint=endpoint, reactor=self.clock, account=account, password=password, **kw)

    def flush(self) -> None:
        flush_all(self.clock, self.endpoints)

    def run(self, seconds: float = 0.0, step: float = 0.1) -> None:
        """Advance in small steps, moving bytes both ways at each."""
        run_clock(self.clock, self.endpoints, seconds, step)
