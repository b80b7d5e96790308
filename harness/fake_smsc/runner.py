"""Running the fake platform: the :class:`FakeSmsc` facade and ``smsdk fake-smsc``.

``FakeSmsc`` owns a :class:`Platform` (the rules model), its EMPP listening port and,
optionally, the HTTP interface's port (``/httpserver`` ...; docs/http.md) and the
control/inspection HTTP port; its PUSH sender posts MOs and reports to the accounts'
registered push URLs::

    fake = FakeSmsc.start(config="fake.toml", port=0, http_port=0, control_port=0)   # ephemeral ports
    fake.host, fake.port, fake.http_url, fake.control_port, fake.accounts
    fake.platform.handset("13800138000").texts
    yield fake.stop()

Time: by default the model runs on the reactor's real clock.  ``simulated_clock=True``
(or ``clock=`` any ``task.Clock``-style clock) puts the model on simulated time that only
moves when advanced (``fake.advance(3600)``, ``POST /clock/advance``); what is due "now"
still happens at once.  Network timers of the EMPP sessions (silence, TERMINATE
timeouts) always run on the reactor's real time, so a jump of simulated hours never
drops a live link.

The ``run_until`` / ``run_until_idle`` / ``run`` / ``advance`` / ``wait`` helpers turn the
(global, not running) reactor by hand: they are for synchronous code such as plain pytest
tests (the ``fake_smsc`` fixture).  Inside a running reactor wait on Deferreds instead.
"""

from __future__ import annotations

import gc
import ipaddress
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger

from .config import PlatformConfig, default_config, load_config
from .empp_server import EmppServer
from .http_server import HttpFrontEnd
from .http_server import site as http_site
from .model import Platform
from .push import PushSender
from .simclock import ReactorClock, SimulatedClock

__all__ = ["AccountInfo", "FakeSmsc", "main"]

_log = Logger(namespace="smsdk_harness.fake_smsc")


@dataclass(frozen=True)
class AccountInfo:
    """A login of the platform, as a test or a person needs it."""

    id: str
    password: str
    role: str
    enterprise_id: str
    enterprise_name: str
    signature: str
    ability: int
    can_login: bool
    is_main: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _as_config(config: PlatformConfig | str | Path | None) -> PlatformConfig:
    if config is None:
        return default_config()
    if isinstance(config, PlatformConfig):
        return config
    return load_config(config)


class FakeSmsc:
    """The fake 企信通 platform with its front ends (see the module docstring)."""

    def __init__(self, platform: Platform, *, reactor: Any, host: str = "127.0.0.1") -> None:
        if not isinstance(platform.clock, ReactorClock):
            raise TypeError("FakeSmsc needs a platform on a Twisted clock (Platform(config, "
                            f"ReactorClock(clock))), got one on {platform.clock!r}")
        self.platform = platform
        self.reactor = reactor
        self.clock = platform.clock.reactor
        self.simulated = self.clock is not reactor
        self.host = host
        self.server = EmppServer(platform, clock=reactor)
        self.port: int | None = None
        #: the PUSH sender (retries on the model's clock, requests on the reactor) and the
        #: HTTP interface (answers only when ``http_port`` listens; pushes in any case)
        self.push = PushSender(self.clock, reactor=reactor,
                               retry_hours=platform.config.http.push_retry_hours)
        self.http = HttpFrontEnd(platform, push=self.push)
        self.http_port: int | None = None
        self.control_port: int | None = None
        self.control_host: str | None = None
        #: the bearer token the control API requires (None: none)
        self.control_token: str | None = None
        self.control: Any = None
        self.fault_proxy: Any = None
        self.fault_proxy_port: int | None = None
        self._listeners: list[Any] = []
        self._clients: list[Any] = []
        self._stopped = False
        self._own_pool: Any = None

    # -- life cycle ----------------------------------------------------------------------------

    @classmethod
    def start(cls, config: PlatformConfig | str | Path | None = None, *, reactor: Any = None,
              clock: Any = None, simulated_clock: bool = False, host: str = "127.0.0.1",
              port: int | None = 0, http_port: int | None = None,
              control_port: int | None = None,
              control_host: str = "127.0.0.1", control_token: str | None = None,
              fault_proxy_port: int | None = None, fault_seed: int | None = None) -> FakeSmsc:
        """Build the platform and listen.  ``config``: a :class:`PlatformConfig`, a TOML path
        or text, or None for the embedded demo.  ``port``: the EMPP port (0 = ephemeral;
        None = do not listen, e.g. to join ``fake.server.factory()`` with iosim).
        ``http_port``: the HTTP interface on ``host`` (None = none, 0 = ephemeral; see
        docs/http.md).
        ``control_port``: the HTTP control API (None = none, 0 = ephemeral), on
        ``control_host`` (loopback by default, whatever ``host`` is).  ``control_token``
        (default: the config's ``[control] token``) is the bearer token it requires; without
        one, a random token is made when ``control_host`` is not a loopback address
        (``fake.control_token``).  ``clock``: the
        model's clock (default: the reactor; ``simulated_clock=True``: a new
        :class:`SimulatedClock` whose due calls run on the reactor by themselves).
        ``fault_proxy_port``: also listen there with a :class:`~.faultproxy.FaultProxy` in
        front of the EMPP port (None = none, 0 = ephemeral), its random faults seeded with
        ``fault_seed``; ``fake.fault_proxy``, and ``/faults`` on the control API."""
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        if clock is None and simulated_clock:
            clock = SimulatedClock()
            clock.autorun_on(reactor)
        platform = Platform(_as_config(config), ReactorClock(clock if clock is not None else reactor))
        fake = cls(platform, reactor=reactor, host=host)
        try:
            if port is not None:
                listening = reactor.listenTCP(port, fake.server.factory(), interface=host)
                fake._listeners.append(listening)
                fake.port = listening.getHost().port
            if http_port is not None:
                listening = reactor.listenTCP(http_port, http_site(fake.http), interface=host)
                fake._listeners.append(listening)
                fake.http_port = listening.getHost().port
            if fault_proxy_port is not None:
                if fake.port is None:
                    raise ValueError("fault_proxy_port needs the EMPP port (port=None given)")
                from .faultproxy import FaultProxy

                fake.fault_proxy = FaultProxy(reactor, host, fake.port, seed=fault_seed)
                fake.fault_proxy_port = fake.fault_proxy.listen(fault_proxy_port, interface=host)
            if control_port is not None:
                from .control import ControlApi

                token = control_token or platform.config.control.token or None
                if token is None and not is_loopback(control_host):
                    token = secrets.token_urlsafe(24)
                fake.control_token = token
                fake.control_host = control_host
                fake.control = ControlApi(fake, token=token)
                if fake.fault_proxy is not None:
                    from .faultcontrol import register

                    register(fake.control, fake.fault_proxy)
                listening = reactor.listenTCP(control_port, fake.control.site(), interface=control_host)
                fake._listeners.append(listening)
                fake.control_port = listening.getHost().port
        except BaseException:
            fake._close_now()
            raise
        return fake

    def stop(self) -> defer.Deferred[None]:
        """Stop the SDK clients made by :meth:`client`, close every connection and port, and
        cancel the model's timers.  The Deferred fires when the ports are closed."""
        if self._stopped:
            return defer.succeed(None)
        self._stopped = True
        waits: list[defer.Deferred[Any]] = []
        for client in self._clients:
            waits.append(defer.maybeDeferred(client.stop))
        self._clients.clear()
        if self.fault_proxy is not None:
            waits.append(defer.maybeDeferred(self.fault_proxy.close))
        self.server.close_all()
        self.push.close()
        self.http.close()
        for listening in self._listeners:
            waits.append(defer.maybeDeferred(listening.stopListening))
        self._listeners.clear()
        self.platform.close()
        if isinstance(self.clock, SimulatedClock):
            self.clock.stop_autorun()
        return defer.DeferredList(waits, consumeErrors=True).addCallback(lambda _: self._stop_pool())

    def _stop_pool(self) -> None:
        pool, self._own_pool = self._own_pool, None
        if pool is None:
            return
        if getattr(self.reactor, "threadpool", None) is pool and hasattr(self.reactor, "_stopThreadPool"):
            # stop it the reactor's way, which also forgets it: the next getThreadPool()
            # makes a fresh one (a stopped pool cannot start again)
            self.reactor._stopThreadPool()
        elif pool.started:
            pool.stop()

    def _close_now(self) -> None:
        if self.fault_proxy is not None:
            self.fault_proxy.close()
        for listening in self._listeners:
            listening.stopListening()
        self._listeners.clear()
        self.platform.close()

    # -- who can log in ------------------------------------------------------------------------

    @property
    def accounts(self) -> list[AccountInfo]:
        """Every account (with its current password), main accounts first per enterprise."""
        from .model import _LOGIN_ROLES

        out = []
        for ent in self.platform.enterprises():
            for acc in sorted(ent.accounts.values(), key=lambda a: (not a.is_main, a.id)):
                out.append(AccountInfo(acc.id, acc.password, acc.role, ent.id, ent.name,
                                       ent.signature, acc.ability, acc.role in _LOGIN_ROLES,
                                       acc.is_main))
        return out

    def account(self, account_id: str | None = None) -> AccountInfo:
        """One account's info (default: the first main account that can log in)."""
        for info in self.accounts:
            if (account_id is None and info.is_main and info.can_login) or info.id == account_id:
                return info
        raise KeyError(f"no account {account_id!r}" if account_id else "no main account can log in")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def http_url(self) -> str:
        """``http://host:port/`` of the HTTP interface (RuntimeError when it does not listen)."""
        if self.http_port is None:
            raise RuntimeError("this FakeSmsc has no HTTP interface (start it with http_port=0)")
        return f"http://{self.host}:{self.http_port}/"

    # -- pass-throughs -------------------------------------------------------------------------

    def handset(self, number: str) -> Any:
        return self.platform.handset(number)

    def inject_mo(self, from_number: str, to_number: str, text: str | bytes, **kw: Any) -> Any:
        return self.platform.inject_mo(from_number, to_number, text, **kw)

    def terminate(self, account_id: str | None = None) -> int:
        """Send TERMINATE to the account's EMPP sessions (all with None)."""
        return self.server.terminate(account_id)

    def drop(self, account_id: str | None = None) -> int:
        """Cut the account's connections (all with None) without TERMINATE."""
        return self.server.drop(account_id)

    def sessions(self, account_id: str | None = None) -> list[Any]:
        return self.server.sessions(account_id)

    # -- an SDK client wired to this platform --------------------------------------------------

    def client(self, account: str | None = None, password: str | None = None, *,
               start: bool = True, **kwargs: Any) -> Any:
        """An :class:`smsdk.Client` for ``account`` (default: the first main account) on this
        platform: its password, its enterprise's signature, rate and group-send limit, the
        model's clock for time and China time for the CONNECT timestamp.  Any keyword of
        ``Client`` overrides.  Started unless ``start=False``; stopped by :meth:`stop`."""
        from twisted.internet.endpoints import TCP4ClientEndpoint

        from smsdk.client import Client
        from smsdk.dispatch import DispatchSettings

        if self.port is None:
            raise RuntimeError("this FakeSmsc does not listen (port=None)")
        info = self.account(account)
        acc = self.platform.account(info.id)
        kwargs.setdefault("signature", info.signature)
        kwargs.setdefault("dispatch_settings", DispatchSettings(
            rate=acc.bucket.rate, group_send_limit=acc.enterprise.group_send_limit))
        kwargs.setdefault("wallclock", self.platform.china_now)
        kwargs.setdefault("reactor", self.clock)
        kwargs.setdefault("endpoint", TCP4ClientEndpoint(self.reactor, self.host, self.port))
        client = Client(account=info.id, password=password if password is not None else info.password,
                        **kwargs)
        self._clients.append(client)
        if start:
            client.start()
        return client

    # -- turning the reactor by hand (synchronous callers: tests) ------------------------------

    def _activity(self) -> int:
        total = sum(self.platform.counters.values())
        for conn in self.server.connections():
            session = conn.proto.session
            if session is not None:
                total += session.counters.sent + session.counters.received
        for client in self._clients:
            proto = getattr(client, "_protocol", None)
            session = getattr(proto, "session", None)
            if session is not None:
                total += session.counters.sent + session.counters.received
        return total

    def _spin(self, timeout: float = 0.0) -> None:
        if getattr(self.reactor, "running", False):
            raise RuntimeError("the reactor is running: wait on Deferreds instead of spinning it")
        if self._own_pool is None and not self._stopped:
            # name resolution (HostnameEndpoint, Agent) runs in the reactor's threads, which
            # start only with reactor.run(): start them while we turn it by hand (stop()
            # stops them again, else the interpreter would wait for them at exit)
            get_pool = getattr(self.reactor, "getThreadPool", None)
            if get_pool is not None:
                pool = get_pool()
                if not pool.started:
                    pool.start()
                    self._own_pool = pool
        if self.simulated and not isinstance(self.clock, SimulatedClock):
            self.clock.advance(0)  # a plain task.Clock: run what is due now
        self.reactor.iterate(timeout)
        if self.simulated and isinstance(self.clock, SimulatedClock):
            self.clock.run_due()

    def run(self, seconds: float) -> None:
        """Turn the reactor for ``seconds`` of real time."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            self._spin(min(left, 0.01))

    def run_until(self, predicate: Callable[[], Any], timeout: float = 10.0,
                  what: str | None = None) -> Any:
        """Turn the reactor until ``predicate()`` is true (returns its value); TimeoutError
        after ``timeout`` real seconds."""
        end = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > end:
                raise TimeoutError(f"still waiting after {timeout:g} s for "
                                   f"{what or getattr(predicate, '__name__', 'a condition')}")
            self._spin(0.002)

    def wait(self, d: defer.Deferred[Any], timeout: float = 10.0) -> Any:
        """Turn the reactor until ``d`` fires; return its result or raise its failure."""
        box: list[Any] = []

        def keep(r: Any) -> Any:
            box.append(r)
            return r

        d.addBoth(keep)
        self.run_until(lambda: box, timeout, what="a Deferred")
        result = box[0]
        from twisted.python.failure import Failure

        if isinstance(result, Failure):
            d.addErrback(lambda _: None)  # handled here
            result.raiseException()
        return result

    def run_until_idle(self, quiet: float = 0.05, timeout: float = 10.0) -> None:
        """Turn the reactor until nothing has moved (bytes on the EMPP links, platform
        events, calls due now) for ``quiet`` real seconds."""
        end = time.monotonic() + timeout
        last = self._activity()
        calm_since = time.monotonic()
        while True:
            self._spin(0.002)
            now = time.monotonic()
            current = self._activity()
            if current != last or self._due_now():
                last, calm_since = current, now
            elif now - calm_since >= quiet:
                return
            if now > end:
                raise TimeoutError(f"the platform was still busy after {timeout:g} s")

    def _due_now(self) -> bool:
        nxt = self._next_call_time()
        return nxt is not None and nxt <= self.clock.seconds()

    def _next_call_time(self) -> float | None:
        if isinstance(self.clock, SimulatedClock):
            return self.clock.next_call_time()
        if self.simulated:
            calls = [c.getTime() for c in self.clock.getDelayedCalls() if c.active()]
            return min(calls) if calls else None
        return None

    def _settle(self) -> None:
        """Spin without waiting until two turns in a row move nothing."""
        last = self._activity()
        calm = 0
        for _ in range(10_000):
            self._spin(0.0)
            current = self._activity()
            if current == last:
                calm += 1
                if calm >= 3:
                    return
            else:
                last, calm = current, 0

    def advance(self, seconds: float) -> None:
        """Simulated time only: move ``seconds`` on, running each due call at its own time
        and letting the links exchange what that produced before the next one (so that an
        SDK client on the same clock keeps its heartbeat, gets its reports in time ...)."""
        if not self.simulated:
            raise RuntimeError("advance() needs a simulated clock (FakeSmsc.start(simulated_clock=True))")
        target = self.clock.seconds() + seconds
        self._settle()
        while True:
            nxt = self._next_call_time()
            if nxt is None or nxt > target:
                break
            self._step_to(max(nxt, self.clock.seconds()))
            self._settle()
        self._step_to(target)
        self._settle()

    def _step_to(self, when: float) -> None:
        if isinstance(self.clock, SimulatedClock):
            self.clock.advance_to(when)
        else:
            self.clock.advance(max(0.0, when - self.clock.seconds()))

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self.port is not None else "not listening"
        return f"<FakeSmsc {where} {'simulated' if self.simulated else 'real'} clock>"


# ---------------------------------------------------------------------------------------------
# smsdk fake-smsc


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def describe(fake: FakeSmsc) -> list[str]:
    """The lines ``smsdk fake-smsc`` prints at start."""
    lines = [f"fake 企信通 platform: EMPP on {fake.host}:{fake.port}"]
    if fake.http_port is not None:
        lines.append(f"HTTP interface on {fake.http_url} (/httpserver, /httpdeliver.sms, "
                     "/httpreport.sms, /queryrptbyid.sms)")
    if fake.fault_proxy_port is not None:
        lines.append(f"fault proxy on {fake.host}:{fake.fault_proxy_port} -> EMPP "
                     f"(seed {fake.fault_proxy.seed}; /faults on the control API)")
    if fake.control_port is not None:
        lines.append(f"control API on http://{fake.control_host}:{fake.control_port}/ "
                     "(GET / lists the endpoints)")
        if fake.control_token is not None:
            lines.append(f"control API token (send 'Authorization: Bearer <token>'): {fake.control_token}")
    cfg = fake.platform.config
    lines.append(
        f"clock: {'simulated (POST /clock/advance moves it)' if fake.simulated else 'real'}; "
        f"login policy {cfg.login_policy}; silence timeout {cfg.empp.silence_timeout:g} s")
    lines.append("accounts (login id / password / role / enterprise / signature):")
    for a in fake.accounts:
        note = "" if a.can_login else "  (cannot log in)"
        lines.append(f"  {a.id:<18} {a.password:<16} {a.role:<12} {a.enterprise_id} "
                     f"{a.signature or '(no signature)'}{note}")
    return lines


#: ``gc.set_threshold`` of a platform process of its own (see :class:`ServerGc`)
SERVER_GC_THRESHOLDS = (10_000, 10, 10)


class ServerGc:
    """The cyclic GC of a process that runs only the platform (``smsdk fake-smsc``, the
    load benchmark); never of one it shares (the pytest fixture, ``FakeSmsc.start`` in a
    test).

    The platform keeps every record for ``retention_days``: hundreds of thousands of
    long-lived objects, freed by reference counting when purged (they hold no cycles).
    CPython's collector would walk each of them again and again (young generation, middle
    one, then every full collection), about a quarter of the platform's CPU under load
    with the default thresholds.  So, once started:

    * what start-up made is frozen (``gc.freeze()``), the young generation is collected
      every ``SERVER_GC_THRESHOLDS[0]`` allocations, and after every collection its
      survivors are frozen too: each object is walked once, young;
    * cyclic garbage that was still alive at its young collection waits for a *full*
      collection (``gc.unfreeze()``, ``gc.collect()``, freeze again).  One runs when the
      frozen objects have grown by ``growth`` (default 2×, at least ``floor`` objects)
      since the last, checked every ``check_every`` seconds on ``reactor``: the work
      stays in proportion to what was allocated, as with CPython's own rule for full
      collections (25 % growth), and memory held by such garbage stays bounded.

    ``start()`` / ``stop()``; ``full_collections`` counts the full collections."""

    def __init__(self, reactor: Any, *, check_every: float = 10.0, growth: float = 2.0,
                 floor: int = 200_000) -> None:
        self.reactor = reactor
        self.check_every = check_every
        self.growth = growth
        self.floor = floor
        self.full_collections = 0
        self._next_full = floor
        self._loop: Any = None
        self._old_thresholds: tuple[int, int, int] | None = None

    def start(self) -> ServerGc:
        from twisted.internet import task

        if self._loop is not None:
            return self
        self._old_thresholds = gc.get_threshold()
        gc.freeze()
        self._next_full = max(self.floor, int(gc.get_freeze_count() * self.growth))
        gc.set_threshold(*SERVER_GC_THRESHOLDS)
        gc.callbacks.append(self._collected)
        self._loop = task.LoopingCall(self.check)
        self._loop.clock = self.reactor
        self._loop.start(self.check_every, now=False)
        return self

    def stop(self) -> None:
        """Back to CPython's own behaviour (frozen objects are handed back)."""
        if self._loop is None:
            return
        if self._loop.running:
            self._loop.stop()
        self._loop = None
        if self._collected in gc.callbacks:
            gc.callbacks.remove(self._collected)
        gc.unfreeze()
        if self._old_thresholds is not None:
            gc.set_threshold(*self._old_thresholds)

    def _collected(self, phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            gc.freeze()  # the survivors: never walked again until the next full collection

    def check(self) -> bool:
        """Run a full collection if one is due; True when it ran."""
        if gc.get_freeze_count() < self._next_full:
            return False
        self.full()
        return True

    def full(self) -> int:
        """A full collection now (what was frozen included); returns what it freed."""
        gc.unfreeze()
        freed = gc.collect()
        gc.freeze()
        self.full_collections += 1
        self._next_full = max(self.floor, int(gc.get_freeze_count() * self.growth))
        return freed


def tune_gc_for_server(reactor: Any = None) -> ServerGc:
    """Start :class:`ServerGc` on ``reactor`` (default: the global one) and return it."""
    if reactor is None:
        from twisted.internet import reactor as _reactor

        reactor = _reactor
    return ServerGc(reactor).start()


def main(*, config: str | None = None, host: str = "127.0.0.1", port: int = 9981,
         http_port: int | None = 8000, control_port: int | None = 9982, control_host: str = "127.0.0.1",
         simulated_clock: bool = False, verbose: bool = False, out: Any = None,
         fault_proxy_port: int | None = None, fault_seed: int | None = None) -> int:
    """Run the platform in the foreground until Ctrl-C (``smsdk fake-smsc``)."""
    from twisted.internet import reactor
    from twisted.logger import FilteringLogObserver, LogLevel, LogLevelFilterPredicate, globalLogBeginner, textFileLogObserver

    out = out or sys.stdout
    observer = FilteringLogObserver(
        textFileLogObserver(sys.stderr),
        [LogLevelFilterPredicate(defaultLogLevel=LogLevel.info if verbose else LogLevel.warn)])
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)
    fake = FakeSmsc.start(config, reactor=reactor, host=host, port=port, http_port=http_port,
                          control_port=control_port, control_host=control_host,
                          simulated_clock=simulated_clock,
                          fault_proxy_port=fault_proxy_port, fault_seed=fault_seed)
    tune_gc_for_server(reactor)
    for line in describe(fake):
        print(line, file=out)
    print("Ctrl-C stops it.", file=out, flush=True)
    reactor.addSystemEventTrigger("before", "shutdown", fake.stop)
    reactor.run()
    print("stopped.", file=out, flush=True)
    return 0
