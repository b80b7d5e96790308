"""The HTTP interface of the fake platform (PROTOCOL.md §3, §3b; RULES.md FAQ-2.1.3, 2.1.4,
2.3.2, 2.4.1, 3.1.4, 3.4.1, 3.4.2): ``/httpserver``, ``/httpdeliver.sms``,
``/httpreport.sms`` and ``/queryrptbyid.sms``.

:class:`HttpFrontEnd` is the sans-IO part: ``handle(path, args) -> HttpAnswer`` over the
model's public API (``authenticate``, ``submit(..., via="http")``, ``inbox``, the
submission records); :class:`HttpResource` is the thin twisted.web resource that feeds it
``request.args`` (GET query or POST form).  Every name and code comes from
:mod:`.http_table`, which reads them from the SDK's one table (:mod:`smsdk.http.codes`).  Time is the model's clock, shown in China time.

One ``/httpserver`` request is one platform decision: its text of n chars goes out as
ceil(n/60) pieces (the HTTP row of the splitting table), each submitted to the model as
its own SUBMIT with ``via="http"`` and signed by the platform.  Either every piece is
accepted or none is (the rate and quota of all pieces are checked before the first; the
overload draw and the duplicate check are made once, on the first piece).  The send id
is the first piece's submission id; a recipient's report line comes when every piece has
its report (the first non-DELIVRD Stat wins).  See docs/http.md.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import hashlib
import hmac
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import Site

from smsdk import codec as _codec
from smsdk.text import count

from . import http_table as T
from .items import MoRecord, ReportRecord, SubmissionRecord, UnknownAccount
from .splitting import http_pieces
from .timefmt import CHINA

__all__ = ["HttpAnswer", "HttpFrontEnd", "HttpResource", "HttpSend", "Refused"]

_log = Logger(namespace="smsdk_harness.fake_smsc.http")


class Refused(Exception):
    """An HTTP request the platform answers with a refusal code (and a reason)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass
class HttpAnswer:
    """What an endpoint answers: ``code`` (first line), data ``lines`` (after the code on
    success; the reason on a refusal), and the charset of the body."""

    code: int
    lines: list[str] = field(default_factory=list)
    reason: str = ""
    charset: str = "gbk"

    @property
    def ok(self) -> bool:
        return self.code == T.OK

    def text(self) -> str:
        lines = [str(self.code), *self.lines] if self.ok else [str(self.code), self.reason]
        return "".join(line + "\n" for line in lines)

    def encoded(self) -> tuple[bytes, str]:
        """(body, charset label): GBK, or GB18030 (a superset, byte-identical for every GBK
        character) when the text holds characters GBK cannot, never a replaced one."""
        text = self.text()
        if self.charset == "utf-8":
            return text.encode("utf-8"), "UTF-8"
        try:
            return text.encode("gbk"), "GBK"
        except UnicodeEncodeError:
            return text.encode("gb18030"), "GB18030"


@dataclass
class HttpSend:
    """One accepted ``/httpserver`` request: its pieces (model submission records, all
    with the same recipients in the same order)."""

    send_id: int
    account_id: str
    enterprise_id: str
    numbers: tuple[str, ...]
    pieces: list[SubmissionRecord]
    at: float

    def outcome(self, index: int) -> tuple[str, float] | None:
        """(Stat, clock time) of recipient ``index`` once every piece has its report: the
        first Stat that is not DELIVRD, else DELIVRD; the time of the last report."""
        stat: str | None = None
        last = 0.0
        for rec in self.pieces:
            report = rec.recipients[index].report
            if report is None:
                return None
            last = max(last, report.generated_at)
            if stat is None and report.stat != "DELIVRD":
                stat = report.stat
        return (stat or "DELIVRD", last)


def _one(args: Mapping[Any, Any]) -> dict[str, bytes | str]:
    """``request.args`` (bytes → [bytes]) or a plain mapping (str → str or bytes) as
    name → value; a name given twice is refused."""
    out: dict[str, bytes | str] = {}
    for key, value in args.items():
        name = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        if isinstance(value, (list, tuple)):
            if len(value) != 1:
                raise Refused(T.BAD_PARAMETER, f"parameter {name!r} is given {len(value)} times")
            value = value[0]
        out[name] = value
    return out


class _Request:
    """One request's parameters, read with the refusal each problem gets."""

    def __init__(self, params: dict[str, bytes | str]) -> None:
        self.params = params
        raw = params.get(T.PARAM.CHARSET)
        name = (raw.decode("latin-1") if isinstance(raw, bytes) else (raw or "gbk")).strip().lower()
        if name not in T.TEXT_CHARSETS:
            raise Refused(T.BAD_PARAMETER, f"charset must be GBK (the default) or utf-8, got {name!r}")
        self.charset = T.TEXT_CHARSETS[name]

    def has(self, name: str) -> bool:
        return name in self.params

    def text(self, name: str, *, required: bool = True) -> str | None:
        """A text parameter, decoded from the request's charset (GBK by default)."""
        raw = self.params.get(name)
        if raw is None:
            if required:
                raise Refused(T.BAD_PARAMETER, f"parameter {name!r} is missing")
            return None
        if isinstance(raw, str):
            return raw
        try:
            return raw.decode(self.charset)
        except UnicodeDecodeError as e:
            hint = "" if self.charset == "utf-8" else " (add charset=utf-8 to send UTF-8)"
            raise Refused(T.BAD_PARAMETER, f"parameter {name!r} is not URL-encoded "
                          f"{self.charset.upper()}: bytes {raw[e.start:e.end]!r} at {e.start}{hint}") from None

    def ascii(self, name: str, *, required: bool = True) -> str | None:
        value = self.text(name, required=required)
        if value is not None and not value.isascii():
            raise Refused(T.BAD_PARAMETER, f"parameter {name!r} must be ASCII, got {value!r}")
        return value.strip() if value is not None else None

    def digits(self, name: str, size: int, what: str, *, required: bool = True) -> str | None:
        value = self.ascii(name, required=required)
        if value is None:
            return None
        if len(value) != size or not value.isdigit():
            raise Refused(T.BAD_PARAMETER, f"{name} must be {size} digits ({what}), got {value!r}")
        return value

    def switch(self, name: str, default: bool) -> bool:
        value = self.ascii(name, required=False)
        if value is None or value == "":
            return default
        v = value.lower()
        if v in T.SWITCH_ON:
            return True
        if v in T.SWITCH_OFF:
            return False
        raise Refused(T.BAD_PARAMETER, f"{name} must be on/off (or true/false), got {value!r}")


def _minute(value: str, name: str) -> _dt.datetime:
    try:
        return _dt.datetime.strptime(value, T.MINUTE_FORMAT).replace(tzinfo=CHINA)
    except ValueError:
        raise Refused(T.BAD_PARAMETER, f"{name} {value!r} is not a real yyyyMMddHHmm time") from None


@contextlib.contextmanager
def _one_decision(platform: Any) -> Iterator[None]:
    """The pieces after the first of one request: the overload draw and the duplicate check
    were made on the first piece (one request, one decision)."""
    probability, duplicate = platform.overload_probability, platform.duplicate_check
    platform.overload_probability, platform.duplicate_check = 0.0, False
    try:
        yield
    finally:
        platform.overload_probability, platform.duplicate_check = probability, duplicate


class HttpFrontEnd:
    """The HTTP interface over one :class:`~.model.Platform` (see the module docstring).
    ``push``: a :class:`~.push.PushSender` that MOs and reports of accounts with a push URL
    are handed to (None: no PUSH)."""

    def __init__(self, platform: Any, push: Any = None) -> None:
        self.platform = platform
        self.push = push
        self.sends: dict[int, HttpSend] = {}
        self._by_piece: dict[int, HttpSend] = {}
        self._order: collections.deque[HttpSend] = collections.deque()
        self._polled: dict[tuple[str, str], float] = {}
        self._deleted: set[tuple[str, int]] = set()
        self._pushed: set[tuple[int, int]] = set()
        self._unsubscribe: Any = None
        self.counters: collections.Counter[str] = collections.Counter()
        self._handlers = {T.SEND: self._send, T.DELIVER: self._deliver, T.REPORT: self._report,
                          T.QUERY: self._query}
        if push is not None and any(a.push_url for a in platform.accounts()):
            self._subscribe()

    # -- entry point -----------------------------------------------------------------------

    def handle(self, path: str, args: Mapping[Any, Any]) -> HttpAnswer | None:
        """Answer one request (GET query or POST form parameters, as ``request.args`` or a
        plain mapping); None for a path that is not an endpoint."""
        path = T.ALIASES.get(path.rstrip("/") or "/", path.rstrip("/"))
        handler = self._handlers.get(path)
        if handler is None:
            return None
        self.counters[path] += 1
        charset = "gbk"
        try:
            req = _Request(_one(args))
            charset = req.charset
            self._purge()
            answer = handler(req)
        except Refused as r:
            self.counters[f"refused_{r.code}"] += 1
            return HttpAnswer(r.code, reason=r.reason, charset=charset)
        answer.charset = charset
        return answer

    # -- authentication --------------------------------------------------------------------

    def _credential(self, req: _Request, eids: tuple[str, ...]) -> Any:
        """What the request proves: ``pswd`` (the password), or a check of ``auth`` =
        MD5(eid ‖ password ‖ timestamp) (any of ``eids`` as eid) for a stored password, with
        the timestamp within ``auth_skew_minutes`` of the platform clock (102 otherwise)."""
        auth = req.ascii(T.PARAM.AUTH, required=False)
        if auth is None:
            password = req.text(T.PARAM.PASSWORD, required=False)
            if password is None:
                raise Refused(T.BAD_PARAMETER, "credentials missing: give auth and timestamp "
                              "(or the legacy pswd)")
            return password
        stamp = req.digits(T.PARAM.TIMESTAMP, 12, "yyyyMMddHHmm, China time")
        assert stamp is not None
        when = _minute(stamp, T.PARAM.TIMESTAMP)
        # minutes apart, the clock read to its minute as the timestamp is
        now = self.platform.china_now().replace(second=0, microsecond=0)
        skew = self.platform.config.http.auth_skew_minutes
        off = (when - now).total_seconds()
        if abs(off) > skew * 60:
            raise Refused(T.AUTH_FAILED, f"timestamp {stamp} is {abs(off) / 60:.0f} min "
                          f"{'ahead of' if off > 0 else 'behind'} the platform clock "
                          f"({now.strftime(T.MINUTE_FORMAT)}); at most {skew} min allowed")

        def check(stored: str) -> bool:
            return any(hmac.compare_digest(
                hashlib.md5((eid + stored + stamp).encode("utf-8")).hexdigest(), auth)
                for eid in eids)
        return check

    def _authenticate(self, req: _Request, account_id: str, eids: tuple[str, ...]) -> None:
        result = self.platform.authenticate(account_id, self._credential(req, eids))
        if not result.ok:
            raise Refused(T.AUTH_FAILED, result.reason)

    def _poller(self, req: _Request) -> Any:
        """The account of a polling request.  ``eid`` is the account's number (its EMPP
        login id) or the enterprise id; with the enterprise id, ``accountid`` (optional) names
        the extension, and without it the account is the one whose password the credentials
        prove (the main account first)."""
        eid = req.ascii(T.PARAM.EID)
        ext = req.ascii(T.PARAM.ACCOUNT, required=False)
        assert eid is not None
        p = self.platform
        candidates = []
        try:
            ent = p.enterprise(eid)
        except UnknownAccount:
            ent = None
        if ent is not None and ext is not None:
            number = ext if ext in ent.extensions else ent.service_code + ext
            if number not in ent.extensions or ent.main is None:
                raise Refused(T.NOT_REGISTERED, f"accountid {ext!r} is not a registered extension "
                              f"of enterprise {ent.id}")
            candidates.append(p.account(ent.extensions[number] or ent.main.id))
        else:
            try:
                candidates.append(p.account(eid))
            except UnknownAccount:
                pass
            if ent is not None:
                candidates += sorted(ent.accounts.values(), key=lambda a: (not a.is_main, a.id))
        if not candidates:
            raise Refused(T.AUTH_FAILED, f"no account or enterprise has id {eid!r}")
        credential = self._credential(req, (eid,))
        first = None
        for acc in dict.fromkeys(candidates):
            result = p.authenticate(acc.id, credential)
            if result.ok:
                return acc
            first = first or result
        raise Refused(T.AUTH_FAILED, first.reason if first is not None and len(candidates) == 1 else
                      f"the credentials fit no account of enterprise {eid} that can log in")

    def _limit(self, endpoint: str, enterprise_id: str) -> None:
        """At most one answered call per ``poll_interval`` per endpoint per enterprise."""
        last = self._polled.get((endpoint, enterprise_id))
        interval = self.platform.config.http.poll_interval
        now = self.platform.now()
        if last is not None and now - last < interval:
            raise Refused(T.TOO_FAST, f"{endpoint} was answered for enterprise {enterprise_id} "
                          f"{now - last:.0f} s ago; at most once per {interval:g} s (FAQ-3.4.2)")

    def _polled_now(self, endpoint: str, enterprise_id: str) -> None:
        self._polled[(endpoint, enterprise_id)] = self.platform.now()

    # -- /httpserver -----------------------------------------------------------------------

    def _send(self, req: _Request) -> HttpAnswer:
        p = self.platform
        # every parameter first (101), then who (103, 102), then what (104, 13, 15 ...)
        ent_id = req.ascii(T.PARAM.ENTERPRISE)
        ext = req.ascii(T.PARAM.ACCOUNT)
        mobs = req.text(T.PARAM.MOBS)
        text = req.text(T.PARAM.MSG)
        at_time = req.digits(T.PARAM.AT_TIME, 14, "yyyyMMddHHmmss, China time", required=False) or ""
        assert ent_id is not None and ext is not None and mobs is not None and text is not None
        if not mobs.strip():
            raise Refused(T.BAD_PARAMETER, "mobs is empty")
        if ext and not ext.isdigit():
            raise Refused(T.BAD_PARAMETER, f"accountid must be the digits of an extension code, got {ext!r}")
        if at_time:
            try:
                _dt.datetime.strptime(at_time, T.TIME_FORMAT)
            except ValueError:
                raise Refused(T.BAD_PARAMETER, f"attime {at_time!r} is not a real time") from None
        try:
            ent = p.enterprise(ent_id)
        except UnknownAccount:
            raise Refused(T.NOT_REGISTERED, f"no enterprise has id {ent_id!r}") from None
        number = ext if ext in ent.extensions else ent.service_code + ext
        if number not in ent.extensions:
            raise Refused(T.NOT_REGISTERED, f"{number} (service code {ent.service_code} + "
                          f"accountid {ext!r}) is not a registered account or extension code of "
                          f"enterprise {ent.id}")
        owner = ent.extensions[number] or (ent.main.id if ent.main is not None else number)
        self._authenticate(req, owner, (ent.id, owner))

        limit = p.config.http.text_max
        if not text:
            raise Refused(T.BAD_TEXT, "msg is empty")
        if count(text) > limit:
            raise Refused(T.BAD_TEXT, f"msg is {count(text)} chars; at most {limit} (FAQ-2.3.2)")
        numbers = tuple(m.strip() for m in mobs.split(","))

        pieces = http_pieces(text, cut=p.config.cut)
        if len(pieces) > 1:
            self._preflight(owner, len(pieces) * len(numbers))
        records: list[SubmissionRecord] = []
        for i, piece in enumerate(pieces):
            try:
                content, fmt = piece.encode("gbk"), 15
            except UnicodeEncodeError:  # only with charset=utf-8: characters GBK cannot hold
                content, fmt = piece.encode("utf-16-be"), 8
            pdu = _codec.Submit(registered_delivery=1, msg_fmt=fmt, src_id=number,
                                dest_terminal_id=numbers, msg_content=content, at_time=at_time)
            if i == 0:
                out = p.submit(owner, pdu, via="http")
            else:
                with _one_decision(p):
                    out = p.submit(owner, pdu, via="http")
            if not out.accepted:
                if i:  # cannot happen after the preflight; said loudly if it ever does
                    _log.error("piece {i} of HTTP send {send} refused after the first was "
                               "accepted: {reason}", i=i + 1, send=records[0].id, reason=out.reason)
                raise Refused(T.http_code_of(out.result), out.reason)
            assert out.record is not None
            records.append(out.record)
        send = HttpSend(records[0].id, owner, ent.id, tuple(r.number for r in records[0].recipients),
                        records, p.now())
        self.sends[send.send_id] = send
        for rec in records:
            self._by_piece[rec.id] = send
        self._order.append(send)
        return HttpAnswer(T.OK, [str(send.send_id)])

    def _preflight(self, account_id: str, cost: int) -> None:
        """Rate and quota for every piece of a request, before the first is submitted."""
        acc = self.platform.account(account_id)
        now = self.platform.now()
        have = acc.bucket.available(now)
        if have + 1e-9 < cost:
            raise Refused(T.TOO_FAST, f"sending too fast: this request costs {cost} (recipients "
                          f"× pieces), {have:.2f} tokens left (rate {acc.bucket.rate:g}/s, burst "
                          f"{acc.bucket.burst:g}) (FAQ-2.2.3)")
        for who, left in ((f"account {acc.id}", acc.quota_left()),
                          (f"enterprise {acc.enterprise.id}", acc.enterprise.quota_left())):
            if left is not None and cost > left:
                raise Refused(T.QUOTA, f"{who}'s quota is used up: this request needs {cost} SMS, "
                              f"{left} left")

    # -- /httpdeliver.sms ------------------------------------------------------------------

    def _deliver(self, req: _Request) -> HttpAnswer:
        acc = self._poller(req)
        urlencoding = req.switch(T.PARAM.URLENCODING, True)
        comment = req.switch(T.PARAM.COMMENT, False)
        keep = req.switch(T.PARAM.KEEPDELIVER, False)
        self._limit(T.DELIVER, acc.enterprise.id)
        lines = ["#" + ",".join(T.MO_FIELDS)] if comment else []
        china = self.platform.wall.china
        for item in self.platform.inbox(acc.id):
            key = (acc.id, item.mo_id)
            if key in self._deleted:
                continue
            content = item.text if item.text is not None else ""
            if urlencoding:
                content = quote(_encode(content, req.charset), safe="")
            else:
                content = content.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
            lines.append(",".join((item.src_terminal_id, item.dest_id,
                                   china(item.received_at).strftime(T.TIME_FORMAT), content)))
            if keep:
                self._deleted.add(key)
        self._polled_now(T.DELIVER, acc.enterprise.id)
        return HttpAnswer(T.OK, lines)

    # -- /httpreport.sms and /queryrptbyid.sms ----------------------------------------------

    def _report(self, req: _Request) -> HttpAnswer:
        acc = self._poller(req)
        cfg = self.platform.config.http
        start_s = req.digits(T.PARAM.START, 12, "yyyyMMddHHmm, China time")
        end_s = req.digits(T.PARAM.END, 12, "yyyyMMddHHmm, China time")
        assert start_s is not None and end_s is not None
        start, end = _minute(start_s, T.PARAM.START), _minute(end_s, T.PARAM.END)
        comment = req.switch(T.PARAM.COMMENT, False)
        if end < start:
            raise Refused(T.BAD_PARAMETER, f"end {end_s} is before start {start_s}")
        if end - start > _dt.timedelta(minutes=cfg.report_window_minutes):
            raise Refused(T.BAD_PARAMETER, f"window {start_s}..{end_s} is over "
                          f"{cfg.report_window_minutes} min (FAQ-3.4.2)")
        today = self.platform.china_now().replace(hour=0, minute=0, second=0, microsecond=0)
        first = today - _dt.timedelta(days=cfg.report_days - 1)
        if start < first or end > today + _dt.timedelta(days=1):
            raise Refused(T.BAD_PARAMETER, f"window {start_s}..{end_s} is outside today and the "
                          f"{cfg.report_days - 1} days before ({first:%Y%m%d}..{today:%Y%m%d}) (FAQ-3.4.2)")
        self._limit(T.REPORT, acc.enterprise.id)
        wall = self.platform.wall
        lo, hi = wall.clock_time(start), wall.clock_time(end)
        found = []
        for send in self._order:
            if send.account_id != acc.id:
                continue
            for index, number in enumerate(send.numbers):
                out = send.outcome(index)
                if out is not None and lo <= out[1] < hi:
                    found.append((out[1], send.send_id, index, number, out[0]))
        found.sort()
        lines = ["#" + ",".join(T.REPORT_FIELDS)] if comment else []
        lines += [self._report_line(sid, number, stat, t) for t, sid, _i, number, stat in found]
        self._polled_now(T.REPORT, acc.enterprise.id)
        return HttpAnswer(T.OK, lines)

    def _query(self, req: _Request) -> HttpAnswer:
        acc = self._poller(req)
        raw = req.ascii(T.PARAM.IDS)
        assert raw is not None
        ids = [s.strip() for s in raw.split(",")]
        bad = [s for s in ids if not s.isdigit()]
        if bad or not raw.strip():
            raise Refused(T.BAD_PARAMETER, f"ids must be comma-separated send ids, got {raw!r}")
        lines = []
        for sid in dict.fromkeys(int(s) for s in ids):
            send = self.sends.get(sid)
            if send is None or send.account_id != acc.id:
                continue
            for index, number in enumerate(send.numbers):
                out = send.outcome(index)
                if out is not None:
                    lines.append(self._report_line(sid, number, out[0], out[1]))
        return HttpAnswer(T.OK, lines)

    def _report_line(self, send_id: int, number: str, stat: str, t: float) -> str:
        return ",".join((str(send_id), number, stat,
                         self.platform.wall.china(t).strftime(T.TIME_FORMAT)))

    # -- retention -------------------------------------------------------------------------

    def _purge(self) -> None:
        """Forget sends older than ``retention_days`` (FAQ-4.1.2), and deletions of MOs the
        model no longer keeps."""
        p = self.platform
        horizon = p.now() - p.config.retention_seconds
        while self._order and self._order[0].at < horizon:
            send = self._order.popleft()
            del self.sends[send.send_id]
            for rec in send.pieces:
                self._by_piece.pop(rec.id, None)
            self._pushed = {k for k in self._pushed if k[0] != send.send_id}
        if self._deleted:
            kept = {m.item.mo_id for m in p.mos()}
            self._deleted = {k for k in self._deleted if k[1] in kept}

    # -- PUSH ------------------------------------------------------------------------------

    def set_push_url(self, account_id: str, url: str) -> None:
        """Register (or with "" remove) the account's PUSH address: each later MO and report
        of the account is POSTed there (FAQ-3.1.3, 3.3)."""
        if url and not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"a push URL starts with http:// or https://, got {url!r}")
        acc = self.platform.account(account_id)
        acc.push_url = url
        if url and self.push is not None:
            self._subscribe()

    def _subscribe(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = self.platform.subscribe(self._event)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _event(self, record: Any) -> None:
        if isinstance(record, ReportRecord):
            self._report_event(record)
        elif isinstance(record, MoRecord):
            self._mo_event(record)

    def _account(self, account_id: str) -> Any:
        try:
            return self.platform.account(account_id)
        except UnknownAccount:
            return None

    def _report_event(self, rr: ReportRecord) -> None:
        item = rr.item
        acc = self._account(item.account_id)
        if acc is None or not acc.push_url or self.push is None:
            return
        when = self.platform.wall.china(item.generated_at).strftime(T.TIME_FORMAT)
        if rr.via != "http":  # an EMPP submission's report: its Msg_Id identifies it
            fields = {"type": T.PUSH_TYPE_REPORT, "sendid": str(item.submission_id),
                      "msgid": item.msg_id.hex, "mobile": item.dest_terminal_id,
                      "stat": item.stat, "time": when}
            self.push.enqueue(acc.push_url, [(k, fields[k]) for k in T.PUSH_REPORT], acc.id)
            self._not_offline(acc, item, rr)
            return
        send = self._by_piece.get(item.submission_id)
        if send is None:
            return
        for index, number in enumerate(send.numbers):
            if number != item.dest_terminal_id or (send.send_id, index) in self._pushed:
                continue
            out = send.outcome(index)
            if out is None:
                continue
            self._pushed.add((send.send_id, index))
            fields = {"type": T.PUSH_TYPE_REPORT, "sendid": str(send.send_id), "mobile": number,
                      "stat": out[0],
                      "time": self.platform.wall.china(out[1]).strftime(T.TIME_FORMAT)}
            self.push.enqueue(acc.push_url, [(k, fields[k]) for k in T.PUSH_REPORT if k in fields],
                              acc.id)

    def _mo_event(self, mr: MoRecord) -> None:
        item = mr.item
        acc = self._account(item.account_id)
        if acc is None or not acc.push_url or self.push is None:
            return
        fields = {"type": T.PUSH_TYPE_MO, "mobile": item.src_terminal_id, "dest": item.dest_id,
                  "time": self.platform.wall.china(item.received_at).strftime(T.TIME_FORMAT),
                  "content": item.text if item.text is not None else ""}
        self.push.enqueue(acc.push_url, [(k, fields[k]) for k in T.PUSH_MO], acc.id)
        self._not_offline(acc, item, mr)

    def _not_offline(self, acc: Any, item: Any, rec: Any) -> None:
        """The push is the delivery of an account with a push URL: what the model queued
        for its next EMPP login is taken back (HTTP accounts get no offline messages,
        FAQ-3.1.5)."""
        if rec.state != "offline":
            return
        for entry in list(acc.offline):
            if entry[1] is item:
                acc.offline.remove(entry)
                rec.state, rec.delivered_to = "pushed", acc.id
                self.counters["offline_taken_by_push"] += 1
                break


def _encode(text: str, charset: str) -> bytes:
    if charset == "utf-8":
        return text.encode("utf-8")
    try:
        return text.encode("gbk")
    except UnicodeEncodeError:
        return text.encode("gb18030")


class HttpResource(Resource):
    """twisted.web: every path, GET and POST, answered by :meth:`HttpFrontEnd.handle`
    (``text/plain``; 404 for a path that is not an endpoint, 405 for other methods)."""

    isLeaf = True

    def __init__(self, front: HttpFrontEnd) -> None:
        super().__init__()
        self.front = front

    def render(self, request: Any) -> bytes:
        if request.method not in (b"GET", b"POST", b"HEAD"):
            request.setResponseCode(405)
            request.setHeader(b"allow", b"GET, POST")
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"405 use GET (a query string) or POST (a form)\n"
        return self.render_GET(request)

    def render_GET(self, request: Any) -> bytes:
        path = request.path.decode("latin-1")
        answer = self.front.handle(path, request.args or {})
        if answer is None:
            request.setResponseCode(404)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return (f"404 {path} is not an endpoint of this platform; the endpoints are "
                    f"{', '.join(T.ENDPOINTS)}\n").encode("utf-8")
        body, charset = answer.encoded()
        request.setHeader(b"content-type", f"text/plain; charset={charset}".encode("ascii"))
        return body

def site(front: HttpFrontEnd) -> Site:
    s = Site(HttpResource(front))
    s.displayTracebacks = False
    s.noisy = False
    return s
