"""The platform model: ``Platform(config, reactor)``.

Pure Python over an injectable clock (a Twisted ``IReactorTime``: ``seconds()`` and
``callLater()``).  No sockets: front ends call :meth:`Platform.bind`,
:meth:`Platform.submit`, :meth:`Platform.inject_mo` and hand the model a :class:`Sink`
per session; the model calls ``sink.deliver(item)`` when a report or MO is due.  Every
rule is in RULES.md (ids quoted in comments) and every number is a config setting.
See docs/fake-smsc.md.
"""

from __future__ import annotations

import collections
import datetime as _dt
import heapq
import hmac
import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from twisted.internet.base import ReactorBase
from twisted.logger import Logger

from smsdk import codec as _codec
from smsdk import numbers as _numbers
from smsdk.msgid import EmppMsgId
from smsdk.ratelimit import TokenBucket
from smsdk.text import classify, count, plan

from . import splitting
from .allocator import MsgIdAllocator
from .config import ROLES, AccountConfig, EnterpriseConfig, PlatformConfig, default_config
from .items import (
    ZERO_MSG_ID,
    BindResult,
    CheckResult,
    ListConflict,
    ManagementError,
    MoItem,
    MoOutcome,
    MoRecord,
    MoRefused,
    ReceivedMessage,
    Recipient,
    ReportItem,
    ReportRecord,
    Sink,
    SubmissionRecord,
    SubmitOutcome,
    UnknownAccount,
)
from .network import Handset, Network, PendingConcat
from .timefmt import CHINA, WallClock, parse_at_time, yymmddhhmm

__all__ = ["Account", "Enterprise", "Platform"]

_log = Logger(namespace="smsdk_harness.fake_smsc")

_LOGIN_ROLES = ("admin", "service", "staff")
_ADDRESS_BOOK_KINDS = ("normal",)

# Result codes (the values of smsdk.codes.EMPP_SUBMIT_RESULT / EMPP_CONNECT_STATUS).
OK = 0
LOGIN_AUTH = 3
LOGIN_BUSY = 10001
LOGIN_KICKED = 20000
R_TOO_LONG = 6
R_SERVICE_ID = 7
R_SRC_ID = 10
R_DEST = 13
R_DUPLICATE = 14
R_GROUP = 15
R_QUOTA = 17
R_RATE = 10004
R_BUSY = 10005

_SUBMIT = _codec.Submit
# enum members read once (through their class each costs ~0.2 us in CPython 3.11)
_UNICOM = _numbers.Carrier.UNICOM
_TELECOM = _numbers.Carrier.TELECOM
_OVERLOAD_PASSED = CheckResult("overload", R_BUSY, True, "")
_DUPLICATE_OFF = CheckResult("duplicate", R_DUPLICATE, True, "duplicate check off")
_DUPLICATE_PASSED = CheckResult("duplicate", R_DUPLICATE, True, "")


class Enterprise:
    """An enterprise at run time (built from an :class:`EnterpriseConfig`)."""

    def __init__(self, cfg: EnterpriseConfig) -> None:
        self.id = cfg.id
        self.name = cfg.name
        self.service_code = cfg.service_code
        self.signature = cfg.signature
        self.package = cfg.package
        self.kind = cfg.kind
        self.list_policy = cfg.list_policy
        self.unicom = cfg.unicom
        self.telecom = cfg.telecom
        self.rate = cfg.rate
        self.burst = cfg.burst
        self.group_send_limit = cfg.group_send_limit
        self.max_extensions = cfg.max_extensions
        self.quota = cfg.quota
        self.quota_used = 0
        self.blacklist: set[str] = set(cfg.blacklist)
        self.whitelist: set[str] = set(cfg.whitelist)
        #: registered extension codes (full numbers) -> owning account id, or None when
        #: registered by hand.  The service code itself is owned by the main account.
        self.extensions: dict[str, str | None] = {}
        self.accounts: dict[str, Account] = {}
        self.main: Account | None = None

    @property
    def has_address_books(self) -> bool:
        """Only normal enterprises have address books (FAQ-5.2.1)."""
        return self.kind in _ADDRESS_BOOK_KINDS

    def quota_left(self) -> int | None:
        return None if self.quota is None else max(0, self.quota - self.quota_used)

    def __repr__(self) -> str:
        return f"Enterprise({self.id!r}, service_code={self.service_code!r})"


class Account:
    """An account (main or sub).  ``id`` is its number, which is also its login id."""

    def __init__(self, enterprise: Enterprise, cfg: AccountConfig, now: float) -> None:
        self.enterprise = enterprise
        self.extension = cfg.extension
        self.id = enterprise.service_code + cfg.extension
        self.password = cfg.password
        self.role = cfg.role
        self.name = cfg.name
        self.quota = cfg.quota
        self.quota_used = 0
        self.contacts = cfg.contacts
        self.receive_private_mo = cfg.receive_private_mo
        self.receive_public_mo = cfg.receive_public_mo
        self.push_url = cfg.push_url
        #: EMPP CONNECT_RESP Ability (PROTOCOL.md §1.6): 0 COMMON, 1 SUBMIT2, 2 MAIN_COMMON,
        #: 3 MAIN_SUBMIT2; the EMPP front end refuses SUBMIT for 1 and 3.
        self.ability = cfg.ability
        rate = cfg.rate if cfg.rate is not None else enterprise.rate
        burst = enterprise.burst if cfg.rate is None else rate
        self.bucket = TokenBucket(rate, burst, now)
        self.sink: Sink | None = None
        self.bound_at: float | None = None
        self.last_unbind: float | None = None
        #: (queued at, item, its record) kept until the next login (FAQ-3.1.5)
        self.offline: collections.deque[tuple[float, Any, Any]] = collections.deque()

    @property
    def is_main(self) -> bool:
        return self.extension == ""

    @property
    def main(self) -> Account:
        assert self.enterprise.main is not None
        return self.enterprise.main

    @property
    def bound(self) -> bool:
        return self.sink is not None

    def quota_left(self) -> int | None:
        return None if self.quota is None else max(0, self.quota - self.quota_used)

    def __repr__(self) -> str:
        return f"Account({self.id!r}, role={self.role!r}, bound={self.bound})"


class _Ctx:
    """One SUBMIT being checked."""

    __slots__ = ("account", "rec", "content", "length", "numbers", "rendering", "now",
                 "platform", "_china", "cost")

    def __init__(self, platform: Platform, account: Account, rec: SubmissionRecord,
                 now: float) -> None:
        self.platform = platform
        self.account = account
        self.rec = rec
        self.content: splitting.Content | None = None
        self.length: CheckResult | None = None  # the length check's result, with the reading
        self.numbers: Sequence[str] = ()  # the valid numbers, once "dest" has run
        self.rendering: splitting.Rendering | None = None
        self.now = now
        self._china: _dt.datetime | None = None
        self.cost = -1  # the quota cost, once computed (Platform._quota_cost)

    @property
    def china(self) -> _dt.datetime:
        """China time of this SUBMIT (computed when a check or At_Time needs it)."""
        if self._china is None:
            self._china = self.platform.clock.china(self.now)
        return self._china


class _PerSecond:
    """A value of the China-time clock that changes at most once a second (a report's
    ``YYMMDDhhmm``, the billing month, the Msg_Id's time fields): ``get(u)`` for a UNIX
    time ``u`` is ``fn(u)``, computed once per second.  The cache is skipped within 0.5 us
    of the next second, where ``fromtimestamp`` rounds up, and before 1970.  Callers keep
    the bound ``get`` (cheaper to call than an instance with ``__call__``)."""

    __slots__ = ("fn", "second", "value")

    def __init__(self, fn: Callable[[float], Any]) -> None:
        self.fn = fn
        self.second = -1
        self.value: Any = None

    def get(self, u: float) -> Any:
        sec = int(u)
        if sec == self.second and u - sec < 0.9999995:
            return self.value
        value = self.fn(u)
        if u >= 0 and u - sec < 0.9999995:
            self.second, self.value = sec, value
        return value


def _china(u: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(u, CHINA)


def _submit_fields(pdu: Any) -> tuple[tuple[str, ...], bytes, str, int, int, str, str, int]:
    """(Dest_terminal_Id, Msg_Content, Src_Id, Msg_Fmt, TP_udhi, Service_Id, At_Time,
    Registered_Delivery 0/1) of a SUBMIT: an ``smsdk.codec.Submit`` (whose fields the codec
    has already typed) or anything with its field names."""
    if type(pdu) is _SUBMIT:
        return (pdu.dest_terminal_id, pdu.msg_content, pdu.src_id.strip(), pdu.msg_fmt,
                pdu.tp_udhi, pdu.service_id, pdu.at_time,
                0 if pdu.registered_delivery == 0 else 1)  # the jar coerces anything else to 1
    dest_raw = _field(pdu, "dest_terminal_id", ())
    if isinstance(dest_raw, (str, bytes)):
        dest_raw = (dest_raw,)
    rd = int(_field(pdu, "registered_delivery", 1))
    return (
        tuple(d.decode("ascii", "replace") if isinstance(d, bytes) else str(d) for d in dest_raw),
        bytes(_field(pdu, "msg_content", b"")),
        str(_field(pdu, "src_id", "")).strip(),
        int(_field(pdu, "msg_fmt", 15)),
        int(_field(pdu, "tp_udhi", 0)),
        str(_field(pdu, "service_id", "")),
        str(_field(pdu, "at_time", "")),
        0 if rd == 0 else 1,
    )


class _Memo(dict):  # type: ignore[type-arg]
    """``self[key]`` is ``make(key)``, made on first use and shared afterwards (a plain dict
    lookup on the hot path; at most 4096 keys are kept, later ones are made each time)."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[Any], Any]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, key: Any) -> Any:
        value = self.make(key)
        if len(self) < 4096:
            self[key] = value
        return value


# CheckResults are frozen: equal ones are shared between SUBMITs (the passing checks of a
# load repeat the same few values, and every record keeps its checks)
_CHECK_RESULTS = _Memo(lambda key: CheckResult(*key))


def _check_result(name: str, code: int, passed: bool, detail: str = "") -> CheckResult:
    return _CHECK_RESULTS[name, code, passed, detail]


def _passing(name: str, code: int, template: str) -> _Memo:
    """The passing results of one check by the value its detail shows: ``[arg]`` is
    ``CheckResult(name, code, True, template.format(arg))``."""
    return _Memo(lambda arg: CheckResult(name, code, True, template.format(arg)))


_SRC_ID_EMPTY = CheckResult("src_id", R_SRC_ID, True, "empty Src_Id: the account's own number")
_SRC_ID_OK = _passing("src_id", R_SRC_ID, "Src_Id {}")
_DEST_OK = _passing("dest", R_DEST, "{} valid numbers")
_GROUP_OK = _passing("group", R_GROUP, "{0[0]} <= {0[1]}")
_RATE_OK = _passing("rate", R_RATE, "took {} tokens")
_SERVICE_ID_IGNORED = _passing("service_id", R_SERVICE_ID, "Service_Id {!r} ignored (strict_service_id off)")
_SERVICE_ID_OK = _passing("service_id", R_SERVICE_ID, "Service_Id {}")
_QUOTA_OK = _passing("quota", R_QUOTA, "{} SMS")
_STAT_COUNTERS = _Memo("stat_".__add__)  # the counter name of each Stat


def _field(pdu: Any, name: str, default: Any) -> Any:
    v = getattr(pdu, name, default)
    return default if v is None else v


class Platform:
    """The fake 企信通 platform.  ``Platform(config=None, reactor=None)``: the embedded demo
    config and the global reactor by default; tests pass a ``twisted.internet.task.Clock``.
    """

    def __init__(self, config: PlatformConfig | None = None, reactor: Any = None) -> None:
        if config is None:
            config = default_config()
        if reactor is None:
            from twisted.internet import reactor as _reactor

            reactor = _reactor
        self.config = config
        self.reactor = reactor
        self.clock = WallClock(reactor, config.epoch)
        self.network = Network(config.network)
        self.msgids = MsgIdAllocator(config.gateway_code, config.msgid_sequence)
        self._fault_rng = random.Random(config.network.seed ^ 0x10005)
        self.overload_probability = config.overload.probability
        self.overload_windows: list[tuple[float, float]] = list(config.overload.windows)
        self.platform_blacklist: set[str] = set(config.platform_blacklist)
        self.source_blacklist: set[str] = set(config.source_blacklist)
        self.strict_service_id = config.strict_service_id
        self.duplicate_check = config.duplicate_check
        self.login_policy = config.login_policy

        self._enterprises: dict[str, Enterprise] = {}
        self._accounts: dict[str, Account] = {}
        now = reactor.seconds()
        for ecfg in config.enterprises:
            self._add_enterprise(ecfg, now)

        self._submissions: collections.deque[SubmissionRecord] = collections.deque()
        self._reports: collections.deque[ReportRecord] = collections.deque()
        self._mos: collections.deque[MoRecord] = collections.deque()
        self._handsets: dict[str, Handset] = {}
        self._dup: dict[tuple[str, str, bytes, str], float] = {}
        self._scheduled: dict[int, tuple[SubmissionRecord, Any]] = {}
        self._calls: set[Any] = set()
        # Deliveries, network outcomes and EXPIRED reports wait in one heap of
        # (due, seq, fn, args) driven by a single reactor timer armed for the earliest due
        # time (``_soon``), instead of one DelayedCall each.
        self._timer_heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._timer_seq = 0
        self._timer_call: Any = None
        self._timer_at = 0.0
        self._timer_firing = False
        # a real reactor refuses negative delays; a task.Clock takes them (see _arm)
        self._clamp_delay = isinstance(reactor, ReactorBase)
        # (Msg_Fmt, TP_udhi, Msg_Content, signature) -> ``_read()``: frozen values, so
        # SUBMITs of the same text share them (decoded, rendered and length-checked once);
        # cleared when it reaches 1024 entries, and whenever ``config`` (whose splitting and
        # length settings a reading depends on) is another object
        self._readings: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._readings_config = config
        # China time, the report times and the billing month, once per second
        self._china_second = _PerSecond(_china).get
        self._report_time = _PerSecond(lambda u: yymmddhhmm(_china(u))).get
        self._billing_month = _PerSecond(lambda u: _china(u).strftime("%Y-%m")).get
        # (config.check_order, the bound check methods in that order)
        self._checks: tuple[Any, tuple[Callable[[_Ctx], CheckResult], ...]] = (None, ())
        self._listeners: list[Callable[[Any], None]] = []
        self._next_submission = 1
        self._next_mo = 1
        self._smsc_seq = 0
        self._mo_refs: dict[str, int] = {}
        self._billing: collections.Counter[tuple[str, str]] = collections.Counter()
        self.counters: collections.Counter[str] = collections.Counter()
        self._housekeeping = reactor.callLater(config.housekeeping_interval, self._tick)

    # ------------------------------------------------------------------ clock

    def now(self) -> float:
        """The model clock (``reactor.seconds()``)."""
        return self.reactor.seconds()

    def china_now(self) -> _dt.datetime:
        """China time now (from the clock and ``epoch``)."""
        return self.clock.china()

    def close(self) -> None:
        """Cancel every pending timer (deliveries, EXPIRED reports, housekeeping)."""
        for call in list(self._calls):
            if call.active():
                call.cancel()
        self._calls.clear()
        if self._timer_call is not None and self._timer_call.active():
            self._timer_call.cancel()
        self._timer_call = None
        self._timer_heap.clear()
        if self._housekeeping.active():
            self._housekeeping.cancel()

    def _later(self, delay: float, fn: Callable[..., None], *args: Any) -> Any:
        holder: list[Any] = []

        def run() -> None:
            self._calls.discard(holder[0])
            fn(*args)

        call = self.reactor.callLater(max(0.0, delay), run)
        holder.append(call)
        self._calls.add(call)
        return call

    def _soon(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        """``fn(*args)`` in ``delay`` seconds, from the timer heap (not cancellable one by
        one; ``close()`` drops them all).  Same firing time as ``_later``; ties run in the
        order they were scheduled."""
        due = self.reactor.seconds() + (delay if delay > 0.0 else 0.0)
        self._timer_seq += 1
        heapq.heappush(self._timer_heap, (due, self._timer_seq, fn, args))
        self._arm_for_head()

    def _arm_for_head(self) -> None:
        """Make sure the timer runs for the head of the heap, after pushes (``_soon``'s, or
        ``_send``'s own); a running ``_fire`` arms when it is done."""
        heap = self._timer_heap
        if not heap or self._timer_firing:
            return
        due = heap[0][0]
        call = self._timer_call
        if call is not None:
            if due >= self._timer_at:
                return
            call.cancel()
        delay = due - self.reactor.seconds()
        self._arm(due, delay if delay > 0.0 else 0.0)

    def _arm(self, due: float, delay: float) -> None:
        self._timer_at = due
        self._timer_call = self.reactor.callLater(delay, self._fire)

    def _fire(self) -> None:
        """Run every heap entry due by now (a real reactor), or due at or before the time
        this timer was armed for (a ``task.Clock``, which may run it late within one
        ``advance``: later entries keep their own place among the clock's other calls),
        then arm for the next one."""
        self._timer_call = None
        self._timer_firing = True
        limit = self._timer_at
        if self._clamp_delay:
            # a real reactor: run everything due by now, as its runUntilCurrent does
            limit = max(limit, self.reactor.seconds())
        heap = self._timer_heap
        pop = heapq.heappop
        try:
            while heap and heap[0][0] <= limit:
                _due, _seq, fn, args = pop(heap)
                fn(*args)
        finally:
            self._timer_firing = False
            if heap and self._timer_call is None:
                due = heap[0][0]
                delay = due - self.reactor.seconds()
                if delay < 0.0 and self._clamp_delay:
                    delay = 0.0
                self._arm(due, delay)

    # ------------------------------------------------------------------ entities

    def _add_enterprise(self, cfg: EnterpriseConfig, now: float) -> Enterprise:
        if cfg.id in self._enterprises:
            raise ManagementError(f"enterprise id {cfg.id!r} is taken")
        ent = Enterprise(cfg)
        self._enterprises[ent.id] = ent
        for acfg in sorted(cfg.accounts, key=lambda a: a.extension):
            acc = Account(ent, acfg, now)
            if acc.id in self._accounts:
                raise ManagementError(f"account number {acc.id} is taken")
            ent.accounts[acc.id] = acc
            self._accounts[acc.id] = acc
            ent.extensions[acc.id] = acc.id
            if acc.is_main:
                ent.main = acc
        for ext in cfg.extensions:
            ent.extensions.setdefault(ent.service_code + ext, None)
        return ent

    def add_enterprise(self, cfg: EnterpriseConfig) -> Enterprise:
        """Add an enterprise built like a config one (validate it with ``parse_config``)."""
        return self._add_enterprise(cfg, self.now())

    def enterprise(self, enterprise_id: str) -> Enterprise:
        try:
            return self._enterprises[enterprise_id]
        except KeyError:
            raise UnknownAccount(f"no enterprise has id {enterprise_id!r}") from None

    def enterprises(self) -> list[Enterprise]:
        return list(self._enterprises.values())

    def account(self, account_id: str) -> Account:
        try:
            return self._accounts[account_id]
        except KeyError:
            raise UnknownAccount(f"no account has id {account_id!r}") from None

    def accounts(self) -> list[Account]:
        return list(self._accounts.values())

    def add_account(self, enterprise_id: str, extension: str, password: str, *,
                    role: str = "service", name: str = "", quota: int | None = None,
                    rate: float | None = None, contacts: int = 0,
                    receive_private_mo: bool = True, receive_public_mo: bool = False,
                    push_url: str = "") -> Account:
        """Create a sub-account and its extension (FAQ-5.1.1, 5.1.3, 5.1.4)."""
        ent = self.enterprise(enterprise_id)
        if not extension or not (extension.isascii() and extension.isdigit()):
            raise ManagementError(f"extension must be digits, got {extension!r}")
        number = ent.service_code + extension
        if len(number) > self.config.src_id_max:
            raise ManagementError(
                f"{number} is {len(number)} digits: service code + extension must be at most "
                f"{self.config.src_id_max}")
        if role not in ROLES:
            raise ManagementError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if number in self._accounts:
            raise ManagementError(f"account number {number} is taken")
        if number in ent.extensions:
            raise ManagementError(
                f"extension code {number} is registered by hand: delete it before creating a "
                "sub-account with that code (FAQ-5.1.4)")
        pkg = self.config.packages[ent.package]
        subs = sum(1 for a in ent.accounts.values() if not a.is_main)
        if subs >= pkg.sub_accounts:
            raise ManagementError(
                f"enterprise {ent.id} has {subs} sub-accounts, the most package "
                f"{ent.package!r} allows (FAQ-5.1.1)")
        if len(ent.extensions) >= ent.max_extensions:
            raise ManagementError(
                f"enterprise {ent.id} has {len(ent.extensions)} extension codes, the most "
                f"allowed (max_extensions = {ent.max_extensions}, service code included; FAQ-5.1.3)")
        if sum(a.contacts for a in ent.accounts.values()) + contacts > pkg.contacts:
            raise ManagementError(
                f"personal address-book caps would exceed package {ent.package!r}'s "
                f"{pkg.contacts} contacts (FAQ-5.2.5)")
        cfg = AccountConfig(extension, password, role, name, quota, rate, contacts,
                            receive_private_mo, receive_public_mo, push_url)
        acc = Account(ent, cfg, self.now())
        ent.accounts[acc.id] = acc
        self._accounts[acc.id] = acc
        ent.extensions[acc.id] = acc.id
        return acc

    def remove_account(self, account_id: str) -> None:
        """Delete a sub-account and its extension (its session is kicked)."""
        acc = self.account(account_id)
        if acc.is_main:
            raise ManagementError("the main account cannot be deleted")
        if acc.sink is not None:
            sink, acc.sink = acc.sink, None
            self._tell_kicked(sink)
        del acc.enterprise.accounts[acc.id]
        del self._accounts[acc.id]
        acc.enterprise.extensions.pop(acc.id, None)

    def register_extension(self, enterprise_id: str, code: str) -> None:
        """Register an extension code by hand: the full number (service code + digits)."""
        ent = self.enterprise(enterprise_id)
        if not (code.isascii() and code.isdigit()):
            raise ManagementError(f"extension code must be digits, got {code!r}")
        if not code.startswith(ent.service_code) or code == ent.service_code:
            raise ManagementError(
                f"extension code {code} must be the service code {ent.service_code} followed "
                "by more digits (FAQ-2.5.8)")
        if len(code) > self.config.src_id_max:
            raise ManagementError(f"extension code {code} is over {self.config.src_id_max} digits")
        if code in ent.extensions:
            raise ManagementError(f"extension code {code} is already registered")
        if len(ent.extensions) >= ent.max_extensions:
            raise ManagementError(
                f"enterprise {ent.id} has {len(ent.extensions)} extension codes, the most "
                f"allowed (max_extensions = {ent.max_extensions}, service code included; FAQ-5.1.3)")
        ent.extensions[code] = None

    def unregister_extension(self, enterprise_id: str, code: str) -> None:
        ent = self.enterprise(enterprise_id)
        if code not in ent.extensions:
            raise ManagementError(f"extension code {code} is not registered")
        owner = ent.extensions[code]
        if owner is not None:
            raise ManagementError(
                f"extension code {code} belongs to account {owner}: it is created and deleted "
                "with the account, never by hand (FAQ-5.1.4)")
        del ent.extensions[code]

    def public_contacts(self, enterprise_id: str) -> int:
        """Public address-book cap = package contacts − sum of personal caps (FAQ-5.2.6)."""
        ent = self.enterprise(enterprise_id)
        return self.config.packages[ent.package].contacts - sum(
            a.contacts for a in ent.accounts.values())

    def set_quota(self, *, account_id: str | None = None, enterprise_id: str | None = None,
                  quota: int | None, reset_used: bool = False) -> None:
        """Set a quota in SMS (None: unlimited); ``reset_used`` starts counting afresh."""
        target: Account | Enterprise = (self.account(account_id) if account_id is not None
                                        else self.enterprise(enterprise_id or ""))
        target.quota = quota
        if reset_used:
            target.quota_used = 0

    # ------------------------------------------------------------------ lists (FAQ-2.1.7)

    def list_get(self, kind: str, enterprise_id: str | None = None) -> frozenset[str]:
        """``kind``: ``"EB"``, ``"EW"`` (per enterprise), ``"PB"`` (platform blacklist) or
        ``"SB"`` (source blacklist: Src_Id prefixes → EPBLACK)."""
        return frozenset(self._list(kind, enterprise_id))

    def _list(self, kind: str, enterprise_id: str | None) -> set[str]:
        if kind == "PB":
            return self.platform_blacklist
        if kind == "SB":
            return self.source_blacklist
        if kind in ("EB", "EW"):
            if enterprise_id is None:
                raise ManagementError(f"list {kind} belongs to an enterprise: give enterprise_id")
            ent = self.enterprise(enterprise_id)
            return ent.blacklist if kind == "EB" else ent.whitelist
        raise ManagementError(f"unknown list {kind!r}: expected EB, EW, PB or SB")

    def list_add(self, kind: str, value: str, enterprise_id: str | None = None) -> str:
        """Add a number (a Src_Id prefix for SB); returns the normal form stored.
        EB ∩ EW = ∅: adding to one a number of the other raises :class:`ListConflict`."""
        target = self._list(kind, enterprise_id)
        if kind == "SB":
            if not value or not (value.isascii() and value.isdigit()):
                raise ManagementError(f"a source blacklist entry is a digit prefix, got {value!r}")
            target.add(value)
            return value
        number = self._list_number(value)
        if kind in ("EB", "EW"):
            other_kind = "EW" if kind == "EB" else "EB"
            if number in self._list(other_kind, enterprise_id):
                raise ListConflict(
                    f"{number} is in enterprise {enterprise_id}'s {other_kind}: a number is never "
                    f"in both EB and EW (FAQ-2.1.7); remove it from {other_kind} first")
        target.add(number)
        return number

    def list_remove(self, kind: str, value: str, enterprise_id: str | None = None) -> bool:
        target = self._list(kind, enterprise_id)
        key = value if kind == "SB" else self._list_number(value)
        if key in target:
            target.discard(key)
            return True
        return False

    @staticmethod
    def _list_number(value: str) -> str:
        checked = _numbers.check(value)
        if checked.number is None:
            assert checked.rejection is not None
            raise ManagementError(f"{value!r}: {checked.rejection.value}")
        return checked.number

    def _list_verdict(self, ent: Enterprise, number: str) -> str | None:
        """Why the list policy refuses ``number`` (→ DTBLACK), or None (FAQ-2.1.7)."""
        in_pb = number in self.platform_blacklist
        if ent.list_policy == "whitelist":
            if number not in ent.whitelist:
                return "whitelist policy: not in the enterprise whitelist"
            if in_pb:
                return "whitelist policy: in the enterprise whitelist but also in the platform blacklist"
            return None
        if number in ent.blacklist:
            return "blacklist policy: in the enterprise blacklist"
        if in_pb and number not in ent.whitelist:
            return "blacklist policy: in the platform blacklist and not in the enterprise whitelist"
        return None

    def _source_blacklisted(self, src_id: str) -> str | None:
        for prefix in self.source_blacklist:
            if src_id.startswith(prefix):
                return prefix
        return None

    def set_switches(self, enterprise_id: str, *, unicom: bool | None = None,
                     telecom: bool | None = None, list_policy: str | None = None) -> None:
        ent = self.enterprise(enterprise_id)
        if unicom is not None:
            ent.unicom = bool(unicom)
        if telecom is not None:
            ent.telecom = bool(telecom)
        if list_policy is not None:
            if list_policy not in ("blacklist", "whitelist"):
                raise ManagementError(f"list_policy must be 'blacklist' or 'whitelist', got {list_policy!r}")
            ent.list_policy = list_policy

    # ------------------------------------------------------------------ faults

    def set_overload(self, probability: float | None = None,
                     windows: Iterable[tuple[float, float]] | None = None) -> None:
        """10005 injection (FAQ-2.2.8): each SUBMIT is refused with ``probability``, and
        always while the clock is in a window ``[start, end)`` (clock seconds).  Arguments
        left None keep their value; ``set_overload(0, [])`` turns it off."""
        if probability is not None:
            if not 0.0 <= probability <= 1.0:
                raise ValueError(f"probability must be in 0..1, got {probability!r}")
            self.overload_probability = float(probability)
        if windows is not None:
            ws = []
            for start, end in windows:
                if not start < end:
                    raise ValueError(f"overload window start {start} must be before end {end}")
                ws.append((float(start), float(end)))
            self.overload_windows = ws

    # ------------------------------------------------------------------ login

    def authenticate(self, account_id: str, password: str | Callable[[str], bool]) -> BindResult:
        """The credential check alone (no session): status 0 or 3 with the reason.
        ``password`` is the password, or a callable given the stored password that says
        whether the client proved it knows it (e.g. the EMPP authenticator check)."""
        acc = self._accounts.get(account_id)
        if acc is None:
            return BindResult(LOGIN_AUTH, f"no account has id {account_id!r}", account_id)
        ok = password(acc.password) if callable(password) else password == acc.password
        if not ok:
            return BindResult(LOGIN_AUTH, f"wrong password for account {account_id}", account_id)
        if acc.role not in _LOGIN_ROLES:
            return BindResult(LOGIN_AUTH, f"account {account_id} has role {acc.role!r}, which "
                              "cannot log in (CLIENT-accounts)", account_id)
        return BindResult(OK, "credentials OK", account_id)

    def bind(self, account_id: str, sink: Sink,
             password: str | Callable[[str], bool] | None = None) -> BindResult:
        """Log ``sink`` in as ``account_id``.  With ``password`` (the password, or a
        callable checking the stored one) the credentials are checked first (3 when
        wrong); with None the front end vouches that it checked them.

        A second login of the same account: login_policy "kick" binds the new sink with
        status 20000 after calling the old sink's ``kicked()``; "refuse" answers 10001.
        Offline items of the account younger than ``offline_hours`` are then delivered to
        the new sink, in order (FAQ-3.1.5, 3.5.1); older ones are dropped."""
        if password is not None:
            auth = self.authenticate(account_id, password)
            if not auth.ok:
                self.counters["login_refused_3"] += 1
                return auth
        acc = self._accounts.get(account_id)
        if acc is None:
            return BindResult(LOGIN_AUTH, f"no account has id {account_id!r}", account_id)
        if acc.role not in _LOGIN_ROLES:
            return BindResult(LOGIN_AUTH, f"account {account_id} has role {acc.role!r}, which "
                              "cannot log in", account_id)
        status, reason = OK, "logged in"
        if acc.sink is not None and acc.sink is not sink:
            if self.login_policy == "refuse":
                self.counters["login_refused_10001"] += 1
                return BindResult(LOGIN_BUSY, f"account {account_id} already has a session "
                                  "(login_policy = refuse)", account_id)
            old = acc.sink
            acc.sink = None
            self._tell_kicked(old)
            status, reason = LOGIN_KICKED, "logged in; the older session was kicked"
            self.counters["login_kicked"] += 1
        now = self.now()
        acc.sink = sink
        acc.bound_at = now
        self.counters["logins"] += 1
        flushed, dropped = self._flush_offline(acc, now)
        return BindResult(status, reason, account_id, flushed, dropped)

    def unbind(self, account_id: str, sink: Sink) -> bool:
        """The session ended.  Ignored (False) unless ``sink`` is the account's current
        session (a kicked session's late unbind changes nothing)."""
        acc = self._accounts.get(account_id)
        if acc is None or acc.sink is not sink:
            return False
        acc.sink = None
        acc.last_unbind = self.now()
        return True

    def session(self, account_id: str) -> Sink | None:
        return self.account(account_id).sink

    def change_password(self, account_id: str, old: str, new: str) -> int:
        """EMPP CHANGEPASS: 0 changed, 1 refused (wrong old password, empty or over 16)."""
        acc = self.account(account_id)
        same = hmac.compare_digest(old.encode("utf-8"), acc.password.encode("utf-8"))  # like login
        if not same or not new or len(new) > 16:
            return 1
        acc.password = new
        return 0

    def _tell_kicked(self, sink: Sink) -> None:
        try:
            sink.kicked()
        except Exception:
            _log.failure("a sink's kicked() raised")

    # ------------------------------------------------------------------ offline / routing

    def _flush_offline(self, acc: Account, now: float) -> tuple[int, int]:
        dropped = 0
        window = self.config.offline_seconds
        if (self.config.offline_from == "disconnect" and acc.last_unbind is not None
                and now - acc.last_unbind > window):
            dropped = len(acc.offline)
            for _t, _item, rec in acc.offline:
                self._offline_dropped(rec)
            acc.offline.clear()
        dropped += self._purge_offline(acc, now)
        flushed = 0
        while acc.offline and acc.sink is not None:
            _t, item, rec = acc.offline.popleft()
            rec.state, rec.delivered_to = "flushed", acc.id
            self._hand(acc.sink, item)
            flushed += 1
        self.counters["offline_flushed"] += flushed
        return flushed, dropped

    def _purge_offline(self, acc: Account, now: float) -> int:
        window = self.config.offline_seconds
        n = 0
        while acc.offline and now - acc.offline[0][0] > window:
            _t, _item, rec = acc.offline.popleft()
            self._offline_dropped(rec)
            n += 1
        return n

    def _offline_dropped(self, rec: ReportRecord | MoRecord) -> None:
        rec.state = "dropped"
        self.counters["offline_dropped"] += 1

    def _hand(self, sink: Sink, item: ReportItem | MoItem) -> None:
        try:
            sink.deliver(item)
        except Exception:
            self.counters["sink_errors"] += 1
            _log.failure("a sink's deliver() raised")

    def _route(self, acc: Account, item: ReportItem | MoItem,
               rec: ReportRecord | MoRecord) -> tuple[str, str | None]:
        """Deliver to ``acc``, else to its main account if that is online, else keep it
        offline for ``acc`` (FAQ-3.5.2).  Returns (state, account it went to)."""
        if acc.sink is not None:
            self._hand(acc.sink, item)
            return "delivered", acc.id
        if not acc.is_main and acc.main.sink is not None:
            self._hand(acc.main.sink, item)
            self.counters["fallback_to_main"] += 1
            return "delivered", acc.main.id
        acc.offline.append((self.now(), item, rec))
        self.counters["offline_queued"] += 1
        return "offline", None

    def requeue(self, account_id: str, items: Sequence[ReportItem | MoItem]) -> int:
        """DELIVERs a session of ``account_id`` wrote and that were never acknowledged when its
        link ended (called by the front end), in the order they were written: handed to the
        account's current session if it has one (a newer login), else put back at the head of
        its offline queue, to go out after its next login (FAQ-3.1.5).  Returns how many."""
        acc = self._accounts.get(account_id)
        if acc is None or not items:
            return 0
        wanted = {id(item) for item in items}
        found: dict[int, ReportRecord | MoRecord] = {}
        oldest = min(item.generated_at if item.kind == "report" else item.received_at
                     for item in items)
        for records, time_of in ((self._reports, "generated_at"), (self._mos, "received_at")):
            for rec in reversed(records):  # the records of recent DELIVERs are near the end
                if getattr(rec.item, time_of) < oldest or len(found) == len(wanted):
                    break
                if id(rec.item) in wanted:
                    found[id(rec.item)] = rec
        self.counters["redelivered"] += len(items)
        if acc.sink is not None:
            for item in items:
                rec = found.get(id(item))
                if rec is not None:
                    rec.state, rec.delivered_to = "delivered", acc.id
                self._hand(acc.sink, item)
            return len(items)
        head = acc.offline[0][0] if acc.offline else self.now()
        entries = []
        for item in reversed(items):  # queue times stay in order for _purge_offline
            head = min(head, item.generated_at if item.kind == "report" else item.received_at)
            rec = found.get(id(item))
            if rec is None:  # purged meanwhile: a record of its own
                rec = ReportRecord(item, "empp", "offline") if item.kind == "report" else MoRecord(item, "offline")
            rec.state, rec.delivered_to = "offline", None
            entries.append((head, item, rec))
        acc.offline.extendleft(entries)  # reversed twice: written order at the head
        self.counters["offline_queued"] += len(items)
        return len(items)

    def offline(self, account_id: str) -> list[ReportItem | MoItem]:
        """Items kept for the account until its next login (oldest first)."""
        acc = self.account(account_id)
        self._purge_offline(acc, self.now())
        return [item for _t, item, _rec in acc.offline]

    # ------------------------------------------------------------------ submit

    def submit(self, account_id: str, pdu: Any, *, sequence_id: int | None = None,
               via: str = "empp") -> SubmitOutcome:
        """Check and accept (or refuse) one SUBMIT from ``account_id``.

        ``pdu`` is an ``smsdk.codec.Submit`` or anything with its field names
        (``msg_fmt``, ``tp_udhi``, ``dest_terminal_id``, ``msg_content``, ``src_id``,
        ``service_id``, ``at_time``, ``registered_delivery``).  ``sequence_id`` is the
        SUBMIT's Sequence_Id (reports carry it as SMSC_sequence).  The checks run in
        ``check_order``; the first that fails gives the result and the reason.  Reports
        and handset deliveries happen later on the clock (never inside this call)."""
        acc = self._accounts.get(account_id) or self.account(account_id)
        ent = acc.enterprise
        now = self.reactor.seconds()
        dest, content, src_id, msg_fmt, tp_udhi, service_id, at_time, rd = _submit_fields(pdu)
        # positional (half the cost of keywords, one per SUBMIT): id, account_id,
        # enterprise_id, at, via, sequence_id, src_id, dest, msg_fmt, tp_udhi, content, text,
        # service_id, at_time, registered_delivery
        rec = SubmissionRecord(self._next_submission, acc.id, ent.id, now, via, sequence_id,
                               src_id, dest, msg_fmt, tp_udhi, content, "", service_id, at_time,
                               rd)
        self._next_submission += 1
        self.counters["submits"] += 1
        ctx = _Ctx(self, acc, rec, now)
        cfg = self.config
        readings = self._readings
        if self._readings_config is not cfg:  # the settings a reading depends on changed
            readings.clear()
            self._readings_config = cfg
        key = (msg_fmt, tp_udhi, content, ent.signature)
        reading = readings.get(key)
        if reading is None:
            reading = self._read(msg_fmt, tp_udhi, content, ent.signature)
            if len(readings) >= 1024:
                readings.clear()
            readings[key] = reading
        parsed, ctx.rendering, ctx.length = reading
        ctx.content = parsed
        if parsed is not None:
            rec.text = parsed.text
            if parsed.decode_problem:
                rec.notes.append(f"Msg_Content does not decode cleanly: {parsed.decode_problem}")

        checks = self._checks
        if checks[0] is not cfg.check_order:
            checks = self._checks = (cfg.check_order, tuple(
                getattr(self, f"_check_{name}") for name in cfg.check_order))
        done = rec.checks
        for check_fn in checks[1]:
            check = check_fn(ctx)
            done.append(check)
            if not check.passed:
                rec.result = check.code
                rec.reason = f"{check.name}: {check.detail}"
                self._submissions.append(rec)
                self.counters[f"refused_{check.code}"] += 1
                self._emit(rec)
                return SubmitOutcome(check.code, ZERO_MSG_ID, rec.reason, (), rec)
        return self._accept(ctx)

    # -- the checks (each returns a CheckResult; see config.DEFAULT_CHECK_ORDER)

    def _read(self, msg_fmt: int, tp_udhi: int, content: bytes, signature: str
              ) -> tuple[splitting.Content | None, splitting.Rendering | None, CheckResult]:
        """What a Msg_Content is (frozen values, shared by equal SUBMITs): (its reading and
        its rendering with ``signature``, both None when it cannot be read, and the length
        check's result, which then says why)."""
        cfg = self.config
        try:
            parsed = splitting.read_content(msg_fmt, tp_udhi, content)
        except splitting.ContentError as e:
            return None, None, _check_result("length", R_TOO_LONG, False, str(e))
        rendering = splitting.render(parsed, signature, cut=cfg.cut, part_chars=cfg.part_chars,
                                     part_chars_16=cfg.part_chars_16)
        problem = splitting.length_problem(parsed, signature, single_max=cfg.single_max,
                                           single_max_ascii=cfg.single_max_ascii)
        if problem:
            return parsed, rendering, _check_result("length", R_TOO_LONG, False, problem)
        if parsed.tp_udhi:
            what = (f"UDH part {parsed.number}/{parsed.total} (ref {parsed.reference}), "
                    f"{parsed.chars} chars" if parsed.is_part
                    else f"UDH without concatenation, {parsed.chars} chars")
        else:
            what = f"{parsed.chars} chars"
        return parsed, rendering, _check_result("length", R_TOO_LONG, True, what)

    def _check_length(self, ctx: _Ctx) -> CheckResult:
        assert ctx.length is not None
        return ctx.length

    def _check_src_id(self, ctx: _Ctx) -> CheckResult:
        acc = ctx.account
        src = ctx.rec.src_id
        if not src:
            ctx.rec.src_id = acc.id
            return _SRC_ID_EMPTY
        limit = self.config.src_id_max
        if not (src.isascii() and src.isdigit()):
            return _check_result("src_id", R_SRC_ID, False, f"Src_Id {src!r} is not all digits")
        if len(src) > limit:
            return _check_result("src_id", R_SRC_ID, False,
                               f"Src_Id {src} is {len(src)} digits; at most {limit} (FAQ-2.5.8)")
        if not src.startswith(acc.id):
            return _check_result("src_id", R_SRC_ID, False,
                               f"Src_Id {src} does not start with the account's number {acc.id} (FAQ-2.5.8)")
        if src != acc.id and src not in acc.enterprise.extensions:
            return _check_result("src_id", R_SRC_ID, False,
                               f"Src_Id {src} is not a registered extension code of enterprise "
                               f"{acc.enterprise.id} (FAQ-2.5.8)")
        return _SRC_ID_OK[src]

    def _check_dest(self, ctx: _Ctx) -> CheckResult:
        dest = ctx.rec.dest
        if not dest:
            return _check_result("dest", R_DEST, False, "no Dest_terminal_Id")
        is_normal = _numbers.is_normal
        for d in dest:
            if not is_normal(d):
                break
        else:  # the usual case: every number already in its normal form
            ctx.numbers = dest
            return _DEST_OK[len(dest)]
        numbers = []
        for i, d in enumerate(dest):
            if is_normal(d):
                numbers.append(d)
                continue
            checked = _numbers.check(d)
            if checked.number is None:
                assert checked.rejection is not None
                return _check_result("dest", R_DEST, False,
                                   f"Dest_terminal_Id[{i}] {d!r}: {checked.rejection.value}; "
                                   "the whole packet is refused (FAQ-2.1.9)")
            numbers.append(checked.number)
        ctx.numbers = numbers
        return _DEST_OK[len(numbers)]

    # The checks count the valid numbers, or the Dest_terminal_Ids when ``check_order`` puts
    # them before "dest": ``len(ctx.numbers or ctx.rec.dest)``.

    def _check_group(self, ctx: _Ctx) -> CheckResult:
        n = len(ctx.numbers or ctx.rec.dest)
        limit = min(ctx.account.enterprise.group_send_limit, self.config.max_dest)
        if n > limit:
            return _check_result("group", R_GROUP, False,
                               f"{n} numbers in one SUBMIT; enterprise {ctx.account.enterprise.id} "
                               f"allows {limit} (group_send_limit, FAQ-2.2.5)")
        return _GROUP_OK[n, limit]

    def _check_rate(self, ctx: _Ctx) -> CheckResult:
        b = ctx.account.bucket
        cost = len(ctx.numbers or ctx.rec.dest) or 1
        if b.take(cost, ctx.now):
            return _RATE_OK[cost]
        wait = b.wait_for(cost, ctx.now)
        return _check_result("rate", R_RATE, False,
                           f"sending too fast: this SUBMIT costs {cost} (1 per recipient), "
                           f"{b.available(ctx.now):.2f} tokens left (rate {b.rate:g}/s, burst "
                           f"{b.burst:g}); enough again in {wait:.3f} s (FAQ-2.2.3)")

    def _check_overload(self, ctx: _Ctx) -> CheckResult:
        for start, end in self.overload_windows:
            if start <= ctx.now < end:
                return _check_result("overload", R_BUSY, False,
                                   f"platform overloaded (injected window {start:g}..{end:g} s); "
                                   "retry later (FAQ-2.2.8)")
        p = self.overload_probability
        if p > 0 and self._fault_rng.random() < p:
            return _check_result("overload", R_BUSY, False,
                               f"platform overloaded (injected with probability {p:g}); retry "
                               "later (FAQ-2.2.8)")
        return _OVERLOAD_PASSED

    def _check_service_id(self, ctx: _Ctx) -> CheckResult:
        sid = ctx.rec.service_id
        if not self.strict_service_id:
            return _SERVICE_ID_IGNORED[sid]
        if sid not in self.config.service_ids:
            return _check_result("service_id", R_SERVICE_ID, False,
                               f"Service_Id {sid!r} is not one of "
                               f"{', '.join(self.config.service_ids)} (FAQ-2.5.7)")
        return _SERVICE_ID_OK[sid]

    def _quota_cost(self, ctx: _Ctx) -> int:
        cost = ctx.cost
        if cost < 0:  # once per SUBMIT ("dest" passes every number or refuses the SUBMIT)
            per = ctx.rendering.billing if ctx.rendering is not None else 1
            cost = ctx.cost = per * (len(ctx.numbers or ctx.rec.dest) or 1)
        return cost

    def _check_quota(self, ctx: _Ctx) -> CheckResult:
        cost = self._quota_cost(ctx)
        acc = ctx.account
        if acc.quota is None and acc.enterprise.quota is None:  # the usual case: no quota
            return _QUOTA_OK[cost]
        left = acc.quota_left()
        if left is not None and cost > left:
            return _check_result("quota", R_QUOTA, False,
                               f"account {acc.id}'s quota is used up: this SUBMIT needs {cost} "
                               f"SMS, {left} of {acc.quota} left (QUOTA_EXHAUSTED)")
        eleft = acc.enterprise.quota_left()
        if eleft is not None and cost > eleft:
            return _check_result("quota", R_QUOTA, False,
                               f"enterprise {acc.enterprise.id}'s quota is used up: this SUBMIT "
                               f"needs {cost} SMS, {eleft} of {acc.enterprise.quota} left "
                               "(QUOTA_EXHAUSTED)")
        return _QUOTA_OK[cost]

    def _dup_keys(self, ctx: _Ctx) -> list[tuple[str, str, bytes, str]]:
        c = ctx.content
        if c is None:
            return []
        ent = ctx.account.enterprise.id
        numbers = ctx.numbers or list(ctx.rec.dest)
        return [(ent, n, c.udh, c.text) for n in numbers]

    def _check_duplicate(self, ctx: _Ctx) -> CheckResult:
        if not self.duplicate_check:
            return _DUPLICATE_OFF
        window = self.config.duplicate_window
        for key in self._dup_keys(ctx):
            seen = self._dup.get(key)
            if seen is not None and ctx.now - seen < window:
                return _check_result("duplicate", R_DUPLICATE, False,
                                   f"the same text went to {key[1]} {ctx.now - seen:g} s ago "
                                   f"(duplicate_window {window:g} s)")
        return _DUPLICATE_PASSED

    # -- acceptance

    def _accept(self, ctx: _Ctx) -> SubmitOutcome:
        rec, acc = ctx.rec, ctx.account
        numbers = ctx.numbers
        n = len(numbers)
        base = self.msgids.allocate(self._china_second(self.clock.epoch + ctx.now), n)
        rec.msg_id = base
        if n == 1:  # most SUBMITs: no comprehension, and the ids are just (M,)
            rec.recipients = [Recipient(0, numbers[0], base)]
            msg_ids: tuple[EmppMsgId, ...] = (base,)
        else:
            rec.recipients = [Recipient(i, num, base + i if i else base)
                              for i, num in enumerate(numbers)]
            msg_ids = rec.msg_ids
        rec.rendering = ctx.rendering
        rec.parsed = ctx.content
        cost = self._quota_cost(ctx)
        acc.quota_used += cost
        acc.enterprise.quota_used += cost
        rec.quota_charged = cost
        if self.duplicate_check:
            for key in self._dup_keys(ctx):
                self._dup[key] = ctx.now
        rec.result = OK
        rec.reason = "accepted"
        rec.state = "accepted"
        self.counters["accepted"] += 1
        self._submissions.append(rec)

        due = ctx.now
        if rec.at_time and rec.at_time.strip("\x00 "):
            try:
                when = parse_at_time(rec.at_time, ctx.china)
            except ValueError as e:
                rec.notes.append(f"{e}: sent at once")
                when = None
            if when is not None:
                due = max(ctx.now, self.clock.clock_time(when))
                if due > ctx.now:
                    rec.notes.append(f"held until {when.isoformat()} (At_Time)")
        rec.due = due
        if due > ctx.now:
            rec.state = "scheduled"
            for r in rec.recipients:
                r.state = "scheduled"
            call = self._later(due - ctx.now, self._send, rec)
            self._scheduled[rec.id] = (rec, call)
        else:
            self._soon(0.0, self._send, rec)
        if self._listeners:
            self._emit(rec)
        return SubmitOutcome(OK, base, "accepted", msg_ids, rec)

    def scheduled(self, account_id: str | None = None) -> list[SubmissionRecord]:
        """SUBMITs held for their At_Time (CLIENT-schedule)."""
        return [r for r, _c in self._scheduled.values()
                if account_id is None or r.account_id == account_id]

    def cancel_scheduled(self, msg_id: EmppMsgId) -> bool:
        """Cancel a held SUBMIT by its Msg_Id M; its quota is given back."""
        for sid, (rec, call) in list(self._scheduled.items()):
            if rec.msg_id == msg_id:
                if call.active():
                    call.cancel()
                self._calls.discard(call)
                del self._scheduled[sid]
                rec.state = "cancelled"
                for r in rec.recipients:
                    r.state = "cancelled"
                acc = self._accounts.get(rec.account_id)
                if acc is not None:
                    acc.quota_used -= rec.quota_charged
                    acc.enterprise.quota_used -= rec.quota_charged
                return True
        return False

    # ------------------------------------------------------------------ delivery

    def _send(self, rec: SubmissionRecord) -> None:
        """The SUBMIT goes out to the network now: decide each recipient's fate."""
        self._scheduled.pop(rec.id, None)
        rec.state = "sent"
        acc = self._accounts.get(rec.account_id)
        ent = self._enterprises.get(rec.enterprise_id)
        if acc is None or ent is None:
            return
        prefix = self._source_blacklisted(rec.src_id)  # the same for every recipient
        # the list policy can refuse a number only under "whitelist" or when a list it
        # looks at has numbers (the usual case of a load: no lists at all)
        lists = (ent.list_policy == "whitelist" or bool(ent.blacklist)
                 or bool(self.platform_blacklist))
        carrier_of = _numbers.carrier
        pick = self.network.pick
        heap, push = self._timer_heap, heapq.heappush
        now = self.reactor.seconds()
        network_done = self._network_done
        for r in rec.recipients:
            r.state = "sent"
            if prefix is not None:
                self._report(rec, r, "EPBLACK", f"Src_Id {rec.src_id} matches source blacklist {prefix}")
                continue
            if lists:
                why = self._list_verdict(ent, r.number)
                if why is not None:
                    self._report(rec, r, "DTBLACK", why)
                    continue
            carrier = carrier_of(r.number)
            if carrier is _UNICOM or carrier is _TELECOM:
                on = ent.unicom if carrier is _UNICOM else ent.telecom
                if not on:
                    self._report(rec, r, "UNSURPT",
                                 f"{carrier.value} number and the enterprise has no {carrier.value} service")
                else:
                    # DELIVRD as soon as the other carrier's gateway accepts (FAQ-2.1.8).
                    self._receive(rec, r)
                    self._report(rec, r, "DELIVRD", f"accepted by the {carrier.value} gateway")
                continue
            stat, delay = pick(r.number)
            if stat == "never":
                self._soon(self.config.expired_seconds, self._report, rec, r, "EXPIRED",
                            f"no report within {self.config.expired_hours:g} h: generated by the platform")
            else:  # self._soon(delay, network_done, rec, r, stat), the heap push inline
                self._timer_seq += 1
                push(heap, (now + (delay if delay > 0.0 else 0.0), self._timer_seq, network_done,
                            (rec, r, stat)))
        self._arm_for_head()

    def _network_done(self, rec: SubmissionRecord, r: Recipient, stat: str) -> None:
        if stat == "DELIVRD":
            self._receive(rec, r)
        self._report(rec, r, stat, "network outcome")

    def _receive(self, rec: SubmissionRecord, r: Recipient) -> None:
        """The handset gets what the platform sends it for this SUBMIT."""
        rend: splitting.Rendering = rec.rendering
        now = self.reactor.seconds()
        h = self._handsets.get(r.number)
        if h is None:
            h = self._handsets[r.number] = Handset(r.number)
        r.delivered = True
        billing = rend.billing
        self._billing[(rec.account_id, self._billing_month(self.clock.epoch + now))] += billing
        self.counters["billed"] += billing
        h.billing += billing
        sig = rend.signature
        kind = rend.kind
        if kind == "single" or kind == "split":
            for body in rend.bodies:
                self._show(h, ReceivedMessage(
                    r.number, body + sig, body, sig, 1, rend.cut_tail, kind, rec.src_id,
                    rec.account_id, (r.msg_id,), now))
            return
        content: splitting.Content = rec.parsed
        key = (rec.account_id, content.reference, content.udh16)
        pend = h.pending.get(key)
        if pend is not None and pend.total != content.total:
            pend.reason = "superseded"
            h.incomplete.append(h.pending.pop(key))
            pend = None
        if pend is None:
            pend = h.pending[key] = PendingConcat(rec.account_id, content.reference or 0,
                                                  content.udh16, content.total, now)
        if content.number in pend.parts:
            return  # the same part again: the phone keeps the first copy
        pend.parts[content.number] = (rend.bodies[0], rend.cut_tail, r.msg_id, rec.src_id)
        if len(pend.parts) < pend.total:
            return
        del h.pending[key]
        bodies = [pend.parts[i][0] for i in range(1, pend.total + 1)]
        last = pend.parts[pend.total]
        body = "".join(bodies)
        self._show(h, ReceivedMessage(
            r.number, body + sig, body, sig, pend.total, last[1], "concat", last[3],
            rec.account_id, tuple(pend.parts[i][2] for i in range(1, pend.total + 1)), now,
            pend.total))

    def _show(self, h: Handset, msg: ReceivedMessage) -> None:
        h.messages.append(msg)
        self.counters["handset_messages"] += 1
        if self._listeners:
            self._emit(msg)

    def _report(self, rec: SubmissionRecord, r: Recipient, stat: str, why: str) -> None:
        now = self.reactor.seconds()
        if rec.sequence_id is not None:
            seq = rec.sequence_id
        else:
            self._smsc_seq = (self._smsc_seq + 1) & 0xFFFFFFFF
            seq = self._smsc_seq
        epoch = self.clock.epoch
        item = ReportItem(rec.account_id, r.msg_id, stat, self._report_time(epoch + rec.at),
                          self._report_time(epoch + now), r.number, seq, rec.src_id,
                          rec.service_id, now, rec.id)
        r.state = "reported"
        r.stat = stat
        r.report = item
        counters = self.counters
        counters[_STAT_COUNTERS[stat]] += 1
        counters["reports"] += 1
        if rec.registered_delivery == 0:
            rr = ReportRecord(item, rec.via, "not_requested")
        elif rec.via != "empp":
            rr = ReportRecord(item, rec.via, "stored")
        else:
            acc = self._accounts.get(rec.account_id)
            if acc is None:
                rr = ReportRecord(item, rec.via, "dropped")
            elif acc.sink is not None:  # online (what _route does first, without its detour)
                rr = ReportRecord(item, rec.via, "delivered", acc.id)
                self._hand(acc.sink, item)
            else:
                rr = ReportRecord(item, rec.via, "pending")
                rr.state, rr.delivered_to = self._route(acc, item, rr)
        rec.notes.append(f"{r.number}: {stat} ({why})")
        self._reports.append(rr)
        if self._listeners:
            self._emit(rr)

    # ------------------------------------------------------------------ MO

    def inject_mo(self, from_number: str, to_number: str, text: str | bytes, *,
                  msg_fmt: int | None = None, tp_udhi: int = 0, udh16: bool = False,
                  reference: int | None = None) -> MoOutcome:
        """A handset sends an MO to ``to_number`` (an account's number, optionally with more
        digits).  ``text`` is a str (encoded ASCII / GBK / UCS2 as it needs; over one SMS it
        goes as UCS2 parts with a ``05 00 03`` UDH, ``06 08 04`` with ``udh16``), or the raw
        Msg_Content bytes (``msg_fmt`` default 15, ``tp_udhi`` as given).

        Routed by longest match to an account; a sub-account that is offline falls back
        to its main account if online, else the MO is kept offline for the sub-account
        (FAQ-3.5.2).  Raises :class:`MoRefused` for a China Unicom sender (FAQ-3.1.6), an
        invalid sender, or a destination no account's number prefixes."""
        checked = _numbers.check(from_number)
        if checked.number is None:
            assert checked.rejection is not None
            raise MoRefused(f"sender {from_number!r}: {checked.rejection.value}")
        sender = checked.number
        if _numbers.carrier(sender) is _numbers.Carrier.UNICOM:
            raise MoRefused(f"{sender} is a China Unicom handset: the platform takes no MO from "
                            "China Unicom (FAQ-3.1.6)")
        dest = str(to_number).strip()
        target = self._longest_match(dest)
        if target is None:
            raise MoRefused(f"no account's number is a prefix of {dest!r}")
        if not target.is_main and not target.receive_private_mo:
            target = target.main  # the sub-account takes no private MO: it is public
        parts = self._mo_parts(sender, text, msg_fmt, tp_udhi, udh16, reference)
        now = self.now()
        items, records = [], []
        for fmt, udhi, content, ptext in parts:
            msg_id = self.msgids.allocate(self._china_second(self.clock.epoch + now), 1)
            item = MoItem(msg_id, sender, dest, fmt, udhi, content, ptext, target.id, now,
                          "", self._next_mo)
            self._next_mo += 1
            mr = MoRecord(item, "pending")
            mr.state, mr.delivered_to = self._route(target, item, mr)
            self._mos.append(mr)
            self.counters["mo"] += 1
            items.append(item)
            records.append(mr)
            self._emit(mr)
        return MoOutcome(tuple(items), target.id, tuple(records))

    def _longest_match(self, dest: str) -> Account | None:
        for length in range(len(dest), 0, -1):
            acc = self._accounts.get(dest[:length])
            if acc is not None:
                return acc
        return None

    def _mo_parts(self, sender: str, text: str | bytes, msg_fmt: int | None, tp_udhi: int,
                  udh16: bool, reference: int | None) -> list[tuple[int, int, bytes, str | None]]:
        if isinstance(text, (bytes, bytearray, memoryview)):
            raw = bytes(text)
            fmt = 15 if msg_fmt is None else msg_fmt
            try:
                c = splitting.read_content(fmt, tp_udhi, raw)
                ptext: str | None = c.text
            except splitting.ContentError as e:
                raise MoRefused(f"MO content: {e}") from None
            return [(fmt, 1 if tp_udhi else 0, raw, ptext)]
        if not isinstance(text, str) or not text:
            raise MoRefused("an MO needs a non-empty text or content bytes")
        kind = classify(text)
        n = count(text)
        single = n <= self.config.single_max or (kind == "ascii" and n <= self.config.single_max_ascii)
        if single and msg_fmt in (None, 0, 8, 15):
            fmt = msg_fmt if msg_fmt is not None else {"ascii": 0, "gbk": 15, "ucs2": 8}[kind]
            enc = {0: "ascii", 8: "utf-16-be", 15: "gbk"}[fmt]
            try:
                content = text.encode(enc)
            except UnicodeEncodeError:
                raise MoRefused(f"the text cannot be encoded in Msg_Fmt {fmt}") from None
            if len(content) > splitting.MAX_CONTENT:
                raise MoRefused(f"the text is {len(content)} bytes in Msg_Fmt {fmt}: over 140")
            return [(fmt, 0, content, text)]
        if reference is None:
            reference = self._mo_refs.get(sender, 0)
            self._mo_refs[sender] = (reference + 1) & (0xFFFF if udh16 else 0xFF)
        p = plan(text, signature="", mode="concat", udh_reference=reference, udh16=udh16)
        return [(part.msg_fmt, part.tp_udhi, part.content, part.text) for part in p.parts]

    def inbox(self, account_id: str) -> list[MoItem]:
        """MOs an account sees in its inbox (WEB; CLIENT-inbox): those addressed to it when
        it receives private MO, and those to the main account when it receives public MO."""
        acc = self.account(account_id)
        main_id = acc.main.id
        out = []
        for mr in self._mos:
            it = mr.item
            if it.account_id == acc.id and (acc.is_main or acc.receive_private_mo):
                out.append(it)
            elif it.account_id == main_id and acc.id != main_id and acc.receive_public_mo:
                out.append(it)
        return out

    # ------------------------------------------------------------------ inspection

    def submissions(self, account_id: str | None = None) -> list[SubmissionRecord]:
        """SUBMITs (accepted and refused) of the last ``retention_days``, oldest first."""
        return [r for r in self._submissions if account_id is None or r.account_id == account_id]

    def submission(self, msg_id: EmppMsgId) -> SubmissionRecord | None:
        """The accepted SUBMIT one of whose recipients has ``msg_id``."""
        for rec in reversed(self._submissions):
            if rec.accepted and rec.recipients and msg_id.group_index(rec.msg_id, len(rec.recipients)) is not None:
                return rec
        return None

    def reports(self, account_id: str | None = None, number: str | None = None) -> list[ReportRecord]:
        """Reports generated (with what became of each), oldest first."""
        return [r for r in self._reports
                if (account_id is None or r.item.account_id == account_id)
                and (number is None or r.item.dest_terminal_id == number)]

    def mos(self, account_id: str | None = None) -> list[MoRecord]:
        return [m for m in self._mos if account_id is None or m.item.account_id == account_id]

    def handset(self, number: str) -> Handset:
        """What the phone ``number`` received (an empty Handset if nothing)."""
        n = _numbers.check(number).number or number
        return self._handsets.get(n) or Handset(n)

    def handsets(self) -> dict[str, Handset]:
        return dict(self._handsets)

    def billing(self, account_id: str | None = None, *, enterprise_id: str | None = None,
                month: str | None = None) -> int:
        """SMS billed (received by handsets): for one account, one enterprise or all;
        ``month`` ``"YYYY-MM"`` (China time) narrows it."""
        total = 0
        for (acc_id, m), n in self._billing.items():
            if month is not None and m != month:
                continue
            if account_id is not None and acc_id != account_id:
                continue
            if enterprise_id is not None:
                acc = self._accounts.get(acc_id)
                if acc is None or acc.enterprise.id != enterprise_id:
                    continue
            total += n
        return total

    def billing_by_account(self) -> dict[str, dict[str, int]]:
        """account id -> month ("YYYY-MM") -> SMS billed (CLIENT-bill)."""
        out: dict[str, dict[str, int]] = {}
        for (acc_id, m), n in sorted(self._billing.items()):
            out.setdefault(acc_id, {})[m] = n
        return out

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Call ``callback(record)`` with every new SubmissionRecord, ReportRecord, MoRecord
        and ReceivedMessage (for PUSH and the control API).  Returns an unsubscribe."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _emit(self, obj: Any) -> None:
        if not self._listeners:
            return
        for cb in list(self._listeners):
            try:
                cb(obj)
            except Exception:
                _log.failure("a platform listener raised")

    # ------------------------------------------------------------------ retention

    def _tick(self) -> None:
        self.purge()
        self._housekeeping = self.reactor.callLater(self.config.housekeeping_interval, self._tick)

    def purge(self) -> None:
        """Drop what is past its time: records and handset messages older than
        ``retention_days`` (FAQ-3.2.2, 4.1.2), offline items older than ``offline_hours``,
        duplicate-check memory older than ``duplicate_window``.  Runs every
        ``housekeeping_interval`` on the clock."""
        now = self.now()
        horizon = now - self.config.retention_seconds
        if self._submissions and self._submissions[0].at < horizon:
            # records still held for their At_Time stay however old they are
            self._submissions = collections.deque(
                r for r in self._submissions
                if r.at >= horizon or r.state in ("scheduled", "accepted"))
        while self._reports and self._reports[0].item.generated_at < horizon:
            self._reports.popleft()
        while self._mos and self._mos[0].item.received_at < horizon:
            self._mos.popleft()
        for number in list(self._handsets):
            h = self._handsets[number]
            h.messages = [m for m in h.messages if m.received_at >= horizon]
            for key in [k for k, p in h.pending.items() if p.first_at < horizon]:
                p = h.pending.pop(key)
                p.reason = "retention"
            h.incomplete = [p for p in h.incomplete if p.first_at >= horizon]
            if not h.messages and not h.pending and not h.incomplete:
                del self._handsets[number]
        for acc in self._accounts.values():
            self._purge_offline(acc, now)
        if self._dup:
            limit = now - self.config.duplicate_window
            for key in [k for k, t in self._dup.items() if t <= limit]:
                del self._dup[key]

    def sizes(self) -> dict[str, int]:
        """How much the model holds (to check that memory stays bounded)."""
        return {
            "submissions": len(self._submissions),
            "reports": len(self._reports),
            "mos": len(self._mos),
            "handsets": len(self._handsets),
            "handset_messages": sum(len(h.messages) for h in self._handsets.values()),
            "offline": sum(len(a.offline) for a in self._accounts.values()),
            "duplicate_keys": len(self._dup),
            "scheduled": len(self._scheduled),
            "timers": len(self._calls) + len(self._timer_heap),
        }
