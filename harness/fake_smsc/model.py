"""The platform model: ``Platform(config, clock)``.

Pure Python over an injectable clock (a :class:`~.clock.Clock`: ``now()`` and
``call_later()``; no Twisted here, the front ends adapt theirs).  No sockets: front ends
call :meth:`Platform.bind`, :meth:`Platform.submit`, :meth:`Platform.inject_mo` and hand
the model a :class:`Sink` per session; the model calls ``sink.deliver(item)`` when a
report or MO is due.  Every rule is in RULES.md (ids quoted in comments) and every number
is a config setting.  See docs/fake-smsc.md.

This module has the enterprises and accounts, logins and the offline queue (what a
session gets), and the listeners; ``Platform`` inherits its other parts, one module each:
``platform_scheduler`` (the clock and the timers), ``platform_lists`` (EB/EW/PB/SB),
``platform_checks`` (SUBMIT checks and acceptance), ``platform_delivery`` (network
outcomes, handsets, reports), ``platform_mo`` (MO routing), ``platform_retention``
(the records kept, their inspection and housekeeping) and ``platform_accounts``
(sub-accounts, extensions, roles, quotas, address books).
"""

from __future__ import annotations

import collections
import hmac
import logging
import time as _time
from collections.abc import Callable, Sequence
from typing import Any

from smsdk.ratelimit import TokenBucket

from .allocator import MsgIdAllocator
from .clock import Clock
from .config import AccountConfig, EnterpriseConfig, PlatformConfig, default_config
from .items import (
    BindResult,
    ManagementError,
    MoItem,
    MoRecord,
    ReportItem,
    ReportRecord,
    Sink,
    UnknownAccount,
)
from .platform_accounts import LOGIN_ROLES, AccountsPart
from .platform_checks import OK, SubmitChecks
from .platform_delivery import Delivery
from .platform_lists import Lists
from .platform_mo import MoRouting
from .platform_retention import Retention
from .platform_scheduler import Scheduler

__all__ = ["Account", "Enterprise", "Platform"]

_log = logging.getLogger("smsdk_harness.fake_smsc")

_LOGIN_ROLES = LOGIN_ROLES  # every role but contact_only (CLIENT-accounts)
_ADDRESS_BOOK_KINDS = ("normal",)

# Login status codes (the values of smsdk.codes.EMPP_CONNECT_STATUS; OK is 0).
LOGIN_AUTH = 3
LOGIN_BUSY = 10001
LOGIN_KICKED = 20000


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
        #: the public address book (normal enterprises only, FAQ-5.2.2): number -> name
        self.public_book: dict[str, str] = {}

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
        #: the personal address book (FAQ-5.2.2): number -> name, at most ``contacts``
        self.book: dict[str, str] = {}
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


class Platform(Scheduler, Lists, SubmitChecks, Delivery, MoRouting, Retention, AccountsPart):
    """The fake 企信通 platform.  ``Platform(config, clock)``: ``config`` None is the
    embedded demo; ``clock`` is a :class:`~.clock.Clock` (the front ends pass
    ``ReactorClock(reactor)``, tests ``ReactorClock(task.Clock())``).  ``wall_time`` (default
    ``time.time``) is read once, when ``config`` has no ``epoch``, to show the real time.
    """

    def __init__(self, config: PlatformConfig | None, clock: Clock, *,
                 wall_time: Callable[[], float] = _time.time) -> None:
        if config is None:
            config = default_config()
        self.config = config
        self._init_scheduler(clock, config.epoch, wall_time)
        self._init_delivery(config.network)
        self.msgids = MsgIdAllocator(config.gateway_code, config.msgid_sequence)
        self._init_lists(config.platform_blacklist, config.source_blacklist)
        self._init_checks(config)
        self.login_policy = config.login_policy

        self._enterprises: dict[str, Enterprise] = {}
        self._accounts: dict[str, Account] = {}
        now = self.clock.now()
        for ecfg in config.enterprises:
            self._add_enterprise(ecfg, now)

        self._listeners: list[Callable[[Any], None]] = []
        self._init_mo()
        self.counters: collections.Counter[str] = collections.Counter()
        self._init_retention(config.housekeeping_interval)

    def close(self) -> None:
        """Cancel every pending timer (deliveries, EXPIRED reports, housekeeping)."""
        super().close()
        self._stop_housekeeping()

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
            _log.exception("a sink's kicked() raised")

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
            _log.exception("a sink's deliver() raised")

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
        sources: tuple[tuple[Sequence[ReportRecord | MoRecord], str], ...] = (
            (self._reports, "generated_at"), (self._mos, "received_at"))
        for records, time_of in sources:
            for record in reversed(records):  # the records of recent DELIVERs are near the end
                if getattr(record.item, time_of) < oldest or len(found) == len(wanted):
                    break
                if id(record.item) in wanted:
                    found[id(record.item)] = record
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

    # ------------------------------------------------------------------ listeners

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
                _log.exception("a platform listener raised")
