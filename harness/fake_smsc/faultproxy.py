"""A fault-injecting TCP proxy for the fake platform's EMPP port (or any TCP service).

A client connects to the proxy; the proxy opens its own connection to the target and
forwards bytes both ways, with faults on the way::

    proxy = FaultProxy(reactor, "127.0.0.1", fake.port, seed=7)
    port = proxy.listen(0)                         # the clients connect here
    proxy.set_policy(delay_down=1.5)               # every platform->client byte 1.5 s late
    proxy.stall(seconds=5)                         # nothing moves for 5 s (bytes are kept)
    proxy.cut()                                    # close both sides now, in-flight bytes lost
    proxy.cut(after_bytes=30)                      # ... after 30 more bytes (mid-frame)
    proxy.half_close(direction="down")             # the client reads EOF; its writes still go
    proxy.set_policy(cut_probability=0.05)         # random cuts: 5 % per connection per second

Directions are named by the way the data flows: ``"up"`` is client -> target, ``"down"``
target -> client, ``"both"`` both.

Faults never reorder bytes within a direction (TCP cannot): a delay keeps the order of the
chunks (a chunk is never due before the one read before it), a stall holds them, and
``rechunk`` only moves the boundaries between writes: each chunk read is split at random
points and the pieces go out at slightly different times, so the receiver's reads cut
frames anywhere and merge pieces of several reads.  Bytes held in the proxy when it cuts
a connection are lost, as bytes in flight are when a real link dies: the sender believed
it had written them.

The *policy* (:class:`FaultPolicy`) applies to every connection, present and future,
unless one connection was given its own (``set_policy(connection=3, ...)``).  Random
faults are drawn from one ``random.Random(seed)`` every ``tick`` seconds.  Time comes from
``clock`` (default: the reactor), so tests drive it with ``twisted.internet.task.Clock``;
the upstream connection is made through ``upstream`` (an ``IStreamClientEndpoint``,
default TCP to ``host:port``).

The control API exposes it (``faultcontrol.py``): ``GET /faults``, ``POST /faults``,
``/faults/clear``, ``/faults/cut``, ``/faults/stall``, ``/faults/half-close``.
"""

from __future__ import annotations

import collections
import itertools
import math
import random
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from zope.interface import implementer

__all__ = ["DIRECTIONS", "FaultPolicy", "FaultProxy", "ProxiedConnection"]

_log = Logger(namespace="smsdk_harness.fake_smsc.faultproxy")

#: ``"up"``: client -> target; ``"down"``: target -> client
DIRECTIONS = ("up", "down", "both")


@dataclass(frozen=True)
class FaultPolicy:
    """Standing faults of a connection (all off by default).

    ``delay_up`` / ``delay_down``: seconds added to every chunk in that direction;
    ``jitter``: up to this many more seconds per chunk, drawn at random (order kept);
    ``rechunk``: 0 = off, else chunks are split at random points and the pieces spread
    over up to this many seconds; ``cut_probability`` / ``stall_probability``: chance per
    connection per second of a random cut / stall; a random stall lasts ``stall_min`` ..
    ``stall_max`` seconds; a random cut lands after 1 .. ``cut_bytes_max`` more bytes
    (0: at once, between two writes); ``tick``: seconds between the random draws."""

    delay_up: float = 0.0
    delay_down: float = 0.0
    jitter: float = 0.0
    rechunk: float = 0.0
    cut_probability: float = 0.0
    stall_probability: float = 0.0
    stall_min: float = 1.0
    stall_max: float = 5.0
    cut_bytes_max: int = 0
    tick: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{f.name}: must be a finite number, not {value!r}")
            if value < 0:
                raise ValueError(f"{f.name}: must be >= 0, not {value!r}")
        for name in ("cut_probability", "stall_probability"):
            if getattr(self, name) > 1:
                raise ValueError(f"{name}: a probability per second, must be in 0..1, "
                                 f"not {getattr(self, name)!r}")
        if self.stall_min > self.stall_max:
            raise ValueError(f"stall_min ({self.stall_min}) must not exceed stall_max ({self.stall_max})")
        if self.tick <= 0:
            raise ValueError("tick: must be > 0 seconds")
        if not isinstance(self.cut_bytes_max, int):
            raise ValueError(f"cut_bytes_max: must be a whole number of bytes, not {self.cut_bytes_max!r}")

    @property
    def random(self) -> bool:
        """True when the policy draws random cuts or stalls."""
        return self.cut_probability > 0 or self.stall_probability > 0

    def delay(self, direction: str) -> float:
        return self.delay_up if direction == "up" else self.delay_down

    def updated(self, **changes: Any) -> FaultPolicy:
        """A copy with ``changes`` (``delay`` sets both directions); unknown names are a
        ValueError naming them."""
        if "delay" in changes:
            both = changes.pop("delay")
            changes.setdefault("delay_up", both)
            changes.setdefault("delay_down", both)
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown fault setting(s) {', '.join(unknown)}; known: "
                             f"delay, {', '.join(sorted(known))}")
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction: must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    return direction


def _directions(direction: str) -> tuple[str, ...]:
    return ("up", "down") if _check_direction(direction) == "both" else (direction,)


def _abort(proto: Protocol) -> None:
    """Drop ``proto``'s TCP connection at once (its transport is an ITCPTransport)."""
    transport: Any = proto.transport
    transport.abortConnection()


class _Pipe:
    """One direction of one connection: chunks waiting for their time, written in order."""

    def __init__(self, conn: ProxiedConnection, direction: str) -> None:
        self.conn = conn
        self.direction = direction
        self.queue: collections.deque[tuple[float, bytes]] = collections.deque()
        self.last_due = -math.inf
        self.stalled_until = -math.inf
        self.sink: Any = None          # the transport written to (None until connected)
        self.eof = False               # no more input: after the queue, close the sink's write side
        self.closed = False            # the sink's write side is closed (or the sink is gone)
        self.bytes_in = 0
        self.bytes_out = 0
        self.bytes_dropped = 0
        self.writes = 0
        self._timer: Any = None

    @property
    def clock(self) -> Any:
        return self.conn.proxy.clock

    @property
    def held(self) -> int:
        return sum(len(data) for _due, data in self.queue)

    def push(self, data: bytes) -> None:
        """Bytes read from the source side."""
        self.bytes_in += len(data)
        if self.eof or self.closed:
            self.bytes_dropped += len(data)
            return
        policy = self.conn.policy
        rng = self.conn.proxy.rng
        now = self.clock.seconds()
        due = now + policy.delay(self.direction)
        if policy.jitter:
            due += rng.uniform(0.0, policy.jitter)
        if policy.rechunk and len(data) > 1:
            cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 4))))
            pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
            spread = sorted(rng.uniform(0.0, policy.rechunk) for _ in pieces)
            for piece, extra in zip(pieces, spread):
                self._enqueue(due + extra, piece)
        else:
            self._enqueue(due, data)
        self.pump()

    def _enqueue(self, due: float, data: bytes) -> None:
        due = max(due, self.last_due)  # never before what was read earlier: order is kept
        self.last_due = due
        self.queue.append((due, data))

    def stall(self, until: float) -> None:
        self.stalled_until = max(self.stalled_until, until)
        self._cancel_timer()
        self.pump()

    def unstall(self) -> None:
        self.stalled_until = -math.inf
        self.pump()

    def pump(self) -> None:
        """Write every chunk that is due (as one write), then wait for the next."""
        self._cancel_timer()
        if self.sink is None or self.closed:
            return
        now = self.clock.seconds()
        if self.stalled_until > now:
            if self.queue or self.eof:
                self._timer = self.clock.callLater(self.stalled_until - now, self._on_timer)
            return
        ready: list[bytes] = []
        while self.queue and self.queue[0][0] <= now:
            ready.append(self.queue.popleft()[1])
        if ready:
            data = b"".join(ready)
            allowed, cut = self.conn.cut_allowance(self.direction, len(data))
            if cut:
                self._write(data[:allowed])
                self.conn.cut(f"cut after the set number of bytes ({self.direction})")
                return
            self._write(data)
        if self.queue:
            self._timer = self.clock.callLater(max(0.0, self.queue[0][0] - now), self._on_timer)
        elif self.eof:
            self.closed = True
            self.conn._write_side_done(self)

    def _write(self, data: bytes) -> None:
        if data:
            self.sink.write(data)
            self.bytes_out += len(data)
            self.writes += 1

    def _on_timer(self) -> None:
        self._timer = None
        self.pump()

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def discard(self) -> None:
        """The connection is gone: what is held is lost."""
        self._cancel_timer()
        self.bytes_dropped += self.held
        self.queue.clear()
        self.closed = True

    def info(self) -> dict[str, Any]:
        now = self.clock.seconds()
        return {"bytes_in": self.bytes_in, "bytes_out": self.bytes_out, "held": self.held,
                "dropped": self.bytes_dropped, "writes": self.writes,
                "stalled_for": max(0.0, self.stalled_until - now), "eof": self.eof,
                "closed": self.closed}


class ProxiedConnection:
    """One client connection and its upstream connection (see the module docstring).

    ``state``: ``"connecting"`` (upstream not yet up), ``"open"``, ``"closed"``;
    ``close_reason`` says why it closed."""

    def __init__(self, proxy: FaultProxy, conn_id: int, front: _FrontProtocol) -> None:
        self.proxy = proxy
        self.id = conn_id
        self.front = front
        self.back: _BackProtocol | None = None
        self.own_policy: FaultPolicy | None = None
        self.up = _Pipe(self, "up")
        self.down = _Pipe(self, "down")
        self.state = "connecting"
        self.close_reason = ""
        self.opened_at = proxy.clock.seconds()
        self.closed_at: float | None = None
        self._cut_budget: int | None = None
        self._cut_directions: tuple[str, ...] = ()
        self._front_gone = False
        self._back_gone = False
        peer: Any = front.transport.getPeer() if front.transport is not None else None
        self.peer = f"{peer.host}:{peer.port}" if hasattr(peer, "host") else str(peer)

    @property
    def policy(self) -> FaultPolicy:
        return self.own_policy if self.own_policy is not None else self.proxy.policy

    def pipes(self, direction: str = "both") -> list[_Pipe]:
        return [self.up if d == "up" else self.down for d in _directions(direction)]

    # -- faults --------------------------------------------------------------------------------

    def cut(self, reason: str = "cut by the fault proxy") -> None:
        """Close both sides now (an abort: no FIN handshake, held bytes lost)."""
        if self.state == "closed":
            return
        self.proxy.counters["cuts"] += 1
        self._close(reason, abort=True)

    def cut_after(self, after_bytes: int, direction: str = "both") -> None:
        """Cut once ``after_bytes`` more bytes have been forwarded in ``direction`` (counted
        together for ``"both"``); the last write is cut short (mid-frame, typically)."""
        if isinstance(after_bytes, bool) or not isinstance(after_bytes, int) or after_bytes < 0:
            raise ValueError(f"after_bytes: must be a whole number >= 0, not {after_bytes!r}")
        self._cut_directions = _directions(direction)
        self._cut_budget = after_bytes
        if after_bytes == 0:
            self.cut("cut after the set number of bytes (0)")

    @property
    def cut_pending(self) -> bool:
        """A byte-count cut is armed."""
        return self._cut_budget is not None

    def cut_allowance(self, direction: str, wanted: int) -> tuple[int, bool]:
        """How many of ``wanted`` bytes may go before a pending byte-count cut, and whether
        the connection is to be cut right after them."""
        budget = self._cut_budget
        if budget is None or direction not in self._cut_directions:
            return wanted, False
        if wanted < budget:
            self._cut_budget = budget - wanted
            return wanted, False
        self._cut_budget = 0
        return budget, True

    def stall(self, seconds: float, direction: str = "both") -> None:
        """Forward nothing in ``direction`` for ``seconds`` (bytes read meanwhile are kept)."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
            raise ValueError(f"seconds: must be a number >= 0, not {seconds!r}")
        self.proxy.counters["stalls"] += 1
        until = self.proxy.clock.seconds() + seconds
        for pipe in self.pipes(direction):
            pipe.stall(until)

    def half_close(self, direction: str) -> None:
        """Close the write side toward one peer (``"down"``: the client reads EOF, ``"up"``:
        the target does) once what is held for it has gone; later bytes that way are
        dropped.  The other direction keeps flowing."""
        self.proxy.counters["half_closes"] += 1
        for pipe in self.pipes(direction):
            pipe.eof = True
            pipe.pump()

    def clear(self) -> None:
        """Back to the proxy-wide policy; stalls end, a pending byte-count cut is forgotten."""
        self.own_policy = None
        self._cut_budget = None
        for pipe in (self.up, self.down):
            pipe.unstall()

    # -- wiring --------------------------------------------------------------------------------

    def _upstream_made(self, back: _BackProtocol) -> None:
        if self.state == "closed":
            _abort(back)
            return
        self.back = back
        self.state = "open"
        self.up.sink = back.transport
        self.down.sink = self.front.transport
        self.up.pump()
        self.down.pump()

    def _upstream_failed(self, reason: Any) -> None:
        self.proxy.counters["upstream_failures"] += 1
        self._close(f"cannot reach the target: {reason.getErrorMessage()}", abort=False)

    def _read_eof(self, side: str) -> None:
        """``side`` ("front"/"back") will send nothing more."""
        pipe = self.up if side == "front" else self.down
        pipe.eof = True
        pipe.pump()

    def _side_lost(self, side: str) -> None:
        if side == "front":
            self._front_gone = True
            self.down.discard()      # nowhere to write to
            self._read_eof("front")  # what the client sent still goes, then FIN
        else:
            self._back_gone = True
            self.up.discard()
            self._read_eof("back")
        if self.state == "connecting" and side == "front":
            self._close("the client left before the target answered", abort=True)
        elif self._front_gone and self._back_gone:
            self._close(self.close_reason or "both sides closed", abort=False)
        else:
            self._maybe_done()

    def _write_side_done(self, pipe: _Pipe) -> None:
        """``pipe`` delivered its last byte: FIN toward its sink."""
        sink = pipe.sink
        gone = self._back_gone if pipe is self.up else self._front_gone
        if sink is not None and not gone:
            lose_write = getattr(sink, "loseWriteConnection", None)
            (lose_write or sink.loseConnection)()
        self._maybe_done()

    def _maybe_done(self) -> None:
        if self.up.closed and self.down.closed and self.state != "closed":
            self._close(self.close_reason or "both directions finished", abort=False)

    def _close(self, reason: str, *, abort: bool) -> None:
        if self.state == "closed":
            return
        self.state = "closed"
        self.close_reason = self.close_reason or reason
        self.closed_at = self.proxy.clock.seconds()
        self.up.discard()
        self.down.discard()
        for proto, gone in ((self.front, self._front_gone), (self.back, self._back_gone)):
            transport = getattr(proto, "transport", None)
            if proto is None or transport is None or gone:
                continue
            if abort:
                transport.abortConnection()
            else:
                transport.loseConnection()
        self.proxy._closed(self)

    def info(self) -> dict[str, Any]:
        return {"id": self.id, "peer": self.peer, "state": self.state,
                "opened_at": self.opened_at, "closed_at": self.closed_at,
                "close_reason": self.close_reason,
                "policy": self.own_policy.as_dict() if self.own_policy is not None else None,
                "up": self.up.info(), "down": self.down.info()}

    def __repr__(self) -> str:
        return f"<ProxiedConnection #{self.id} {self.state}>"


@implementer(IHalfCloseableProtocol)
class _FrontProtocol(Protocol):
    """The client's side."""

    conn: ProxiedConnection | None = None

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy

    def connectionMade(self) -> None:
        self.conn = self.proxy._accepted(self)

    def dataReceived(self, data: bytes) -> None:
        if self.conn is not None:
            self.conn.up.push(data)

    def readConnectionLost(self) -> None:
        if self.conn is not None:
            self.conn._read_eof("front")

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Any = None) -> None:
        if self.conn is not None:
            self.conn._side_lost("front")


@implementer(IHalfCloseableProtocol)
class _BackProtocol(Protocol):
    """The proxy's connection to the target."""

    def __init__(self, conn: ProxiedConnection) -> None:
        self.conn = conn

    def connectionMade(self) -> None:
        self.conn._upstream_made(self)

    def dataReceived(self, data: bytes) -> None:
        self.conn.down.push(data)

    def readConnectionLost(self) -> None:
        self.conn._read_eof("back")

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Any = None) -> None:
        self.conn._side_lost("back")


class FaultProxy:
    """See the module docstring.  ``FaultProxy(reactor, host, port, *, clock=None,
    seed=None, upstream=None)``."""

    def __init__(self, reactor: Any, host: str = "127.0.0.1", port: int | None = None, *,
                 clock: Any = None, seed: int | None = None, upstream: Any = None) -> None:
        if upstream is None:
            if port is None:
                raise ValueError("give the target's port, or an upstream endpoint")
            upstream = TCP4ClientEndpoint(reactor, host, port)
        self.reactor = reactor
        self.clock = clock if clock is not None else reactor
        self.target = f"{host}:{port}" if port is not None else repr(upstream)
        self.upstream = upstream
        self.seed = seed
        self.rng = random.Random(seed)
        self.policy = FaultPolicy()
        self.counters: collections.Counter[str] = collections.Counter()
        self.port: int | None = None
        self._listening: Any = None
        self._live: dict[int, ProxiedConnection] = {}
        self.history: collections.deque[ProxiedConnection] = collections.deque(maxlen=1000)
        self._ids = itertools.count(1)
        self._tick_call: Any = None
        self._closing = False

    # -- life cycle ----------------------------------------------------------------------------

    def factory(self) -> Factory[_FrontProtocol]:
        factory = Factory.forProtocol(lambda: _FrontProtocol(self))
        factory.noisy = False
        return factory

    def listen(self, port: int = 0, interface: str = "127.0.0.1") -> int:
        """Listen on ``port`` (0: any free one); returns the port."""
        self._listening = self.reactor.listenTCP(port, self.factory(), interface=interface)
        self.port = self._listening.getHost().port
        return self.port

    def close(self) -> Any:
        """Cut every connection, stop the random faults and listening.  Returns the
        Deferred of ``stopListening`` (or None when not listening)."""
        self._closing = True
        self._stop_ticking()
        for conn in list(self._live.values()):
            conn._close("the proxy is shutting down", abort=True)
        listening, self._listening = self._listening, None
        return listening.stopListening() if listening is not None else None

    def _accepted(self, front: _FrontProtocol) -> ProxiedConnection | None:
        if self._closing:
            _abort(front)
            return None
        conn = ProxiedConnection(self, next(self._ids), front)
        self._live[conn.id] = conn
        self.history.append(conn)
        self.counters["connections"] += 1
        factory = Factory.forProtocol(lambda: _BackProtocol(conn))
        factory.noisy = False
        d = self.upstream.connect(factory)
        d.addErrback(conn._upstream_failed)
        return conn

    def _closed(self, conn: ProxiedConnection) -> None:
        self._live.pop(conn.id, None)

    # -- inspection ----------------------------------------------------------------------------

    def connections(self) -> list[ProxiedConnection]:
        """Live connections, oldest first."""
        return list(self._live.values())

    def connection(self, conn_id: int) -> ProxiedConnection:
        conn = self._live.get(conn_id)
        if conn is None:
            raise KeyError(f"no live proxied connection #{conn_id}")
        return conn

    def _targets(self, connection: int | None) -> list[ProxiedConnection]:
        return self.connections() if connection is None else [self.connection(connection)]

    def info(self) -> dict[str, Any]:
        return {"port": self.port, "target": self.target, "seed": self.seed,
                "policy": self.policy.as_dict(), "counters": dict(self.counters),
                "connections": [c.info() for c in self.connections()]}

    # -- faults --------------------------------------------------------------------------------

    def set_policy(self, connection: int | None = None, **changes: Any) -> FaultPolicy:
        """Change standing faults (see :class:`FaultPolicy`; ``delay=`` sets both
        directions): of the proxy (every connection without its own), or of one live
        connection.  Returns the policy now in force there."""
        if connection is None:
            self.policy = self.policy.updated(**changes)
            policy = self.policy
        else:
            conn = self.connection(connection)
            conn.own_policy = conn.policy.updated(**changes)
            policy = conn.own_policy
        self._arm_ticking()
        return policy

    def clear(self, connection: int | None = None) -> None:
        """Every fault off (of one connection, or all and the proxy-wide policy): stalls
        end now, delays stop for what is read from now on."""
        if connection is None:
            self.policy = FaultPolicy()
        for conn in self._targets(connection):
            conn.clear()
        self._arm_ticking()

    def cut(self, connection: int | None = None, *, after_bytes: int | None = None,
            direction: str = "both") -> int:
        """Cut one connection (all with None) now, or after ``after_bytes`` more bytes in
        ``direction``.  Returns how many connections."""
        _check_direction(direction)
        targets = self._targets(connection)
        for conn in targets:
            if after_bytes is None:
                conn.cut()
            else:
                conn.cut_after(after_bytes, direction)
        return len(targets)

    def stall(self, connection: int | None = None, *, seconds: float, direction: str = "both") -> int:
        _check_direction(direction)
        targets = self._targets(connection)
        for conn in targets:
            conn.stall(seconds, direction)
        return len(targets)

    def half_close(self, connection: int | None = None, *, direction: str) -> int:
        _check_direction(direction)
        targets = self._targets(connection)
        for conn in targets:
            conn.half_close(direction)
        return len(targets)

    # -- random faults -------------------------------------------------------------------------

    def _wants_ticking(self) -> bool:
        return self.policy.random or any(c.policy.random for c in self._live.values())

    def _arm_ticking(self) -> None:
        if self._closing:
            return
        if not self._wants_ticking():
            self._stop_ticking()
        elif self._tick_call is None:
            self._tick_call = self.clock.callLater(self._tick_interval(), self._tick)

    def _tick_interval(self) -> float:
        return min([self.policy.tick, *(c.policy.tick for c in self._live.values() if c.own_policy)])

    def _stop_ticking(self) -> None:
        if self._tick_call is not None and self._tick_call.active():
            self._tick_call.cancel()
        self._tick_call = None

    def _tick(self) -> None:
        self._tick_call = None
        interval = self._tick_interval()
        rng = self.rng
        for conn in self.connections():
            policy = conn.policy
            if conn.cut_pending:
                continue
            if policy.cut_probability and rng.random() < 1 - (1 - policy.cut_probability) ** interval:
                self.counters["random_cuts"] += 1
                if policy.cut_bytes_max:
                    conn.cut_after(rng.randint(1, policy.cut_bytes_max))
                else:
                    conn.cut("a random cut")
            elif policy.stall_probability and rng.random() < 1 - (1 - policy.stall_probability) ** interval:
                self.counters["random_stalls"] += 1
                conn.stall(rng.uniform(policy.stall_min, policy.stall_max))
        self._arm_ticking()

    def __repr__(self) -> str:
        return f"<FaultProxy :{self.port} -> {self.target}, {len(self._live)} connections>"
