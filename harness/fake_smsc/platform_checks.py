"""The platform's SUBMIT checks: ``submit()`` runs the checks of ``check_order`` (length,
src_id, dest, role, group, rate, overload, service_id, quota, duplicate; each a
``_check_<name>`` returning a :class:`CheckResult`), then accepts: Msg_Ids, quota, the
duplicate memory, At_Time holds (``scheduled``, ``cancel_scheduled``).  The 10005
injection (``set_overload``) is here too.

A part of :class:`~.model.Platform` (see docs/fake-smsc.md, "Architecture").
"""

from __future__ import annotations

import datetime as _dt
import random
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from smsdk import codec as _codec
from smsdk import numbers as _numbers
from smsdk.msgid import EmppMsgId

from . import splitting
from .clock import Timer
from .config import PlatformConfig
from .items import ZERO_MSG_ID, CheckResult, Recipient, SubmissionRecord, SubmitOutcome
from .platform_part import PlatformPart
from .timefmt import parse_at_time

if TYPE_CHECKING:
    from .model import Account

__all__ = ["SubmitChecks"]

# Result codes (the values of smsdk.codes.EMPP_SUBMIT_RESULT).
OK = 0
R_TOO_LONG = 6
R_SERVICE_ID = 7
R_SRC_ID = 10
R_DEST = 13
R_DUPLICATE = 14
R_GROUP = 15
R_QUOTA = 10003  # EMPP_TESTEPR_MAXCOUNT, the only quota constant of the jar (PROTOCOL.md §1.8)
R_NOT_ON_LIST = 10000  # EMPP_WHITECODE_STATUS: a staff account's number not in the public book
R_RATE = 10004
R_NO_SEND = 10007  # FORBID_MULTI_SEND: the account has no send permission (its role)
R_BUSY = 10005

_SUBMIT = _codec.Submit
_OVERLOAD_PASSED = CheckResult("overload", R_BUSY, True, "")
_DUPLICATE_OFF = CheckResult("duplicate", R_DUPLICATE, True, "duplicate check off")
_DUPLICATE_PASSED = CheckResult("duplicate", R_DUPLICATE, True, "")


class _Ctx:
    """One SUBMIT being checked."""

    __slots__ = ("account", "rec", "content", "length", "numbers", "rendering", "now",
                 "platform", "_china", "cost")

    def __init__(self, platform: PlatformPart, account: Account, rec: SubmissionRecord,
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
            self._china = self.platform.wall.china(self.now)
        return self._china


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


class _Memo(dict):
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
_ROLE_OK = _passing("role", R_NO_SEND, "role {}")
_SEND_ROLES = ("admin", "service")  # and "staff", to public-book contacts only


def _field(pdu: Any, name: str, default: Any) -> Any:
    v = getattr(pdu, name, default)
    return default if v is None else v


class SubmitChecks(PlatformPart):
    """The SUBMIT part of the platform (see the module docstring)."""

    def _init_checks(self, config: PlatformConfig) -> None:
        self._fault_rng = random.Random(config.network.seed ^ 0x10005)
        self.overload_probability = config.overload.probability
        self.overload_windows: list[tuple[float, float]] = list(config.overload.windows)
        self.strict_service_id = config.strict_service_id
        self.duplicate_check = config.duplicate_check
        self._dup: dict[tuple[str, str, bytes, str], float] = {}
        self._scheduled: dict[int, tuple[SubmissionRecord, Timer]] = {}
        # (Msg_Fmt, TP_udhi, Msg_Content, signature) -> ``_read()``: frozen values, so
        # SUBMITs of the same text share them (decoded, rendered and length-checked once);
        # cleared when it reaches 1024 entries, and whenever ``config`` (whose splitting and
        # length settings a reading depends on) is another object
        self._readings: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._readings_config = config
        # (config.check_order, the bound check methods in that order)
        self._checks: tuple[Any, tuple[Callable[[_Ctx], CheckResult], ...]] = (None, ())
        self._next_submission = 1

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
        now = self.clock.now()
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

    def _check_role(self, ctx: _Ctx) -> CheckResult:
        acc = ctx.account
        role = acc.role
        if role in _SEND_ROLES:
            return _ROLE_OK[role]
        if role == "staff":
            book = acc.enterprise.public_book
            for d in ctx.numbers or ctx.rec.dest:
                num = d if _numbers.is_normal(d) else (_numbers.check(d).number or d)
                if num not in book:
                    return _check_result(
                        "role", R_NOT_ON_LIST, False,
                        f"account {acc.id} has role 'staff': it may send only to contacts of the "
                        f"public address book, and {d} is not one (CLIENT-accounts)")
            return _ROLE_OK[role]
        return _check_result("role", R_NO_SEND, False,
                             f"account {acc.id} has role {role!r}, which cannot send "
                             "(CLIENT-accounts)")

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
        base = self.msgids.allocate(self._china_second(self.wall.epoch + ctx.now), n)
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
                due = max(ctx.now, self.wall.clock_time(when))
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
