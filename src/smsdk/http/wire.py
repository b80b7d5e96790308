"""The HTTP interface's wire formats and authentication as pure functions (sans-IO).

Requests are built as :class:`HttpRequest` values (method, path, query, body) and responses
are parsed from bytes; nothing here touches a socket, a reactor or a clock: the caller passes
the time.  The names, codes and formats come from :mod:`smsdk.http.codes` (PROTOCOL.md §3b).

Text encoding: ``msg`` is URL-encoded GBK by default.  ``charset="auto"`` (the default) sends
text that GBK cannot hold (emoji, rare CJK) as UTF-8 with ``charset=utf-8`` instead, so the
text is never garbled or replaced; ``charset="gbk"`` refuses such text with
:class:`~smsdk.http.codes.TextEncodingError` naming the characters; ``charset="utf-8"`` always
sends UTF-8.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, quote_plus, unquote_plus, urlencode

from smsdk import text as text_mod
from smsdk.china_time import CHINA
from smsdk.errors import PlanError
from smsdk.http import codes as C

CHARSETS = ("auto", "gbk", "utf-8")


# -- time and authentication -------------------------------------------------------------------


def china_time(moment: datetime) -> datetime:
    """``moment`` in China time (UTC+8); a naive datetime is refused (whose time would it be?)."""
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None:
        raise ValueError("the clock must give timezone-aware datetimes (e.g. datetime.now(smsdk.http.CHINA))")
    return moment.astimezone(CHINA)


def format_timestamp(moment: datetime) -> str:
    """``yyyyMMddHHmm`` in China time: the ``timestamp`` of auth and report windows."""
    return china_time(moment).strftime(C.TIMESTAMP_FORMAT)


def format_time(moment: datetime) -> str:
    """``yyyyMMddHHmmss`` in China time (``attime``, MO and report times)."""
    return china_time(moment).strftime(C.TIME_FORMAT)


def parse_time(value: str) -> datetime:
    """A ``yyyyMMddHHmmss`` time of the platform, as an aware datetime in China time."""
    if len(value) != 14 or not value.isdigit() or not value.isascii():
        raise ValueError(f"time {value!r} is not yyyyMMddHHmmss")
    try:  # slicing: strptime costs ~10 µs a line on a 1000-line report page
        return datetime(int(value[:4]), int(value[4:6]), int(value[6:8]), int(value[8:10]),
                        int(value[10:12]), int(value[12:]), tzinfo=CHINA)
    except ValueError:
        raise ValueError(f"time {value!r} is not a valid yyyyMMddHHmmss time") from None


def auth_token(eid: str, password: str, timestamp: str) -> str:
    """``lowercase hex MD5(eid ‖ password ‖ timestamp)`` (PROTOCOL.md §3.2, §3b); UTF-8 bytes."""
    return hashlib.md5(f"{eid}{password}{timestamp}".encode()).hexdigest()


@dataclass(frozen=True)
class Account:
    """Who is sending: the enterprise id (``eid``), the sub-account's extension code (``""``
    for the main account) and the password (used only inside ``auth``; never sent, never shown
    in repr)."""

    enterprise_id: str
    account_id: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("enterprise_id", "account_id", "password"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a str, got {type(value).__name__}")
        if not self.enterprise_id.isdigit() or not self.enterprise_id.isascii():
            raise ValueError(f"enterprise_id {self.enterprise_id!r} must be digits")
        if self.account_id and not (self.account_id.isdigit() and self.account_id.isascii()
                                    and len(self.account_id) <= 18):
            raise ValueError(f"account_id {self.account_id!r} must be a registered extension code: "
                             "up to 18 digits, empty for the main account (FAQ-2.4.1)")
        if not self.password:
            raise ValueError("password must not be empty")

    def auth_fields(self, timestamp: str) -> list[tuple[str, str]]:
        return [(C.FIELDS["timestamp"], timestamp),
                (C.FIELDS["auth"], auth_token(self.enterprise_id, self.password, timestamp))]


# -- text --------------------------------------------------------------------------------------


def check_text(text: str) -> int:
    """The text's length as the platform counts it; PlanError when empty or over 512 chars."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text:
        raise PlanError("text is empty")
    chars = text_mod.count(text)
    if chars > C.MAX_TEXT_CHARS:
        raise PlanError(f"text is {chars} chars; the HTTP interface takes at most {C.MAX_TEXT_CHARS} "
                        "(FAQ-2.3.2): split it into several messages")
    return chars


def pieces(chars: int) -> int:
    """How many SMS the platform makes of a text of ``chars`` chars: ceil(len/60)."""
    return max(1, math.ceil(chars / C.PIECE_CHARS))


def _unencodable(text: str, codec: str) -> list[tuple[int, str]]:
    bad = []
    for index, char in enumerate(text):
        try:
            if char.encode(codec).decode(codec) != char:
                bad.append((index, char))
        except UnicodeError:
            bad.append((index, char))
    return bad


def choose_charset(text: str, charset: str = "auto") -> str:
    """The codec ``msg`` goes in: ``"gbk"`` or ``"utf-8"`` (see the module docstring).

    Raises TextEncodingError when the text cannot be sent in ``charset`` without loss."""
    if charset not in CHARSETS:
        raise ValueError(f"charset must be one of {', '.join(CHARSETS)}, not {charset!r}")
    if charset != "utf-8":
        try:
            if text.encode(C.TEXT_ENCODING).decode(C.TEXT_ENCODING) == text:
                return C.TEXT_ENCODING
        except UnicodeError:
            pass
        if charset == "gbk":
            bad = _unencodable(text, C.TEXT_ENCODING)
            shown = ", ".join(f"{char!r} (U+{ord(char):04X}) at {index}" for index, char in bad[:5])
            raise C.TextEncodingError(
                f"text has {len(bad)} character(s) GBK cannot hold: {shown}; "
                "use charset='auto' or 'utf-8' to send it as UTF-8 (charset=utf-8), or remove them"
            )
    bad = _unencodable(text, "utf-8")  # only lone surrogates
    if bad:
        index, char = bad[0]
        raise C.TextEncodingError(f"text has a lone surrogate U+{ord(char):04X} at {index}: not a character")
    return "utf-8"


# -- requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    """One request, ready for any HTTP client: ``url(base)`` and ``body`` (None for GET)."""

    method: str
    path: str
    query: str = ""
    body: bytes | None = None
    content_type: str | None = None

    def url(self, base: str) -> str:
        base = base.rstrip("/")
        return f"{base}{self.path}?{self.query}" if self.query else f"{base}{self.path}"


FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def encode_submit(account: Account, mobiles: Sequence[str], text: str, *, timestamp: str,
                  at_time: datetime | None = None, charset: str = "auto") -> HttpRequest:
    """``POST /httpserver``: the form with auth+timestamp (never ``pswd``).  ``mobiles`` are
    normalised numbers (smsdk.numbers); the caller chunks them to the group-send limit."""
    check_text(text)
    if isinstance(mobiles, str) or not mobiles:
        raise ValueError("mobiles must be a non-empty sequence of numbers")
    for number in mobiles:
        if not (isinstance(number, str) and number.isascii() and number.isdigit()):
            raise ValueError(f"mobile {number!r} is not a normalised number (use smsdk.numbers.normalize)")
    codec = choose_charset(text, charset)
    fields = [
        (C.FIELDS["enterprise_id"], account.enterprise_id),
        (C.FIELDS["account_id"], account.account_id),
        *account.auth_fields(timestamp),
        (C.FIELDS["mobiles"], C.MOBILE_SEPARATOR.join(mobiles)),
    ]
    body = urlencode(fields) + "&" + C.FIELDS["text"] + "=" + quote_plus(text, encoding=codec)
    if at_time is not None:
        body += "&" + urlencode([(C.FIELDS["at_time"], format_time(at_time))])
    if codec != C.TEXT_ENCODING:
        body += "&" + urlencode([(C.FIELDS["charset"], C.UTF8_CHARSET_VALUE)])
    return HttpRequest("POST", C.SEND_PATH, "", body.encode("ascii"), FORM_CONTENT_TYPE)


def _poll(path: str, account: Account, timestamp: str, extra: Iterable[tuple[str, str]]) -> HttpRequest:
    fields = [(C.FIELDS["eid"], account.enterprise_id), *account.auth_fields(timestamp), *extra]
    return HttpRequest("GET", path, urlencode(fields))


def encode_deliver(account: Account, *, timestamp: str, keep: bool = True,
                   urlencoding: bool = True) -> HttpRequest:
    """``GET /httpdeliver.sms``; ``keep=True`` sends ``keepdeliver=true`` (the platform deletes
    the MOs it returns, FAQ-3.4.1)."""
    return _poll(C.DELIVER_PATH, account, timestamp, [
        (C.FIELDS["urlencoding"], C.ON if urlencoding else C.OFF),
        (C.FIELDS["comment"], C.OFF),
        (C.FIELDS["keep"], C.TRUE if keep else C.FALSE),
    ])


def check_window(start: datetime, end: datetime, now: datetime) -> None:
    """ValueError unless ``start < end``, the window is at most 1 h and lies within today and
    the 2 days before (FAQ-3.4.2), all in China time."""
    start, end, now = china_time(start), china_time(end), china_time(now)
    if start.second or start.microsecond or end.second or end.microsecond:
        raise ValueError("report windows are whole minutes (yyyyMMddHHmm)")
    if not start < end:
        raise ValueError(f"report window start {start:%Y-%m-%d %H:%M} is not before end {end:%Y-%m-%d %H:%M}")
    if (end - start).total_seconds() > C.REPORT_WINDOW_SECONDS:
        raise ValueError(f"report window {start:%Y-%m-%d %H:%M}..{end:%H:%M} is over 60 minutes (FAQ-3.4.2)")
    earliest = earliest_report_time(now)
    if start < earliest:
        raise ValueError(f"report window starts {start:%Y-%m-%d %H:%M}, before {earliest:%Y-%m-%d %H:%M}: "
                         "only today and the 2 days before can be queried (FAQ-3.4.2)")


def earliest_report_time(now: datetime) -> datetime:
    """Midnight (China time) of the day two days before ``now``'s."""
    local = china_time(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=C.REPORT_DAYS_BACK)


def encode_reports(account: Account, *, timestamp: str, start: datetime, end: datetime) -> HttpRequest:
    """``GET /httpreport.sms`` for reports between ``start`` and ``end`` (whole minutes)."""
    return _poll(C.REPORT_PATH, account, timestamp, [
        (C.FIELDS["start"], format_timestamp(start)),
        (C.FIELDS["end"], format_timestamp(end)),
        (C.FIELDS["comment"], C.OFF),
    ])


def encode_query(account: Account, *, timestamp: str, ids: Sequence[str]) -> HttpRequest:
    """``GET /queryrptbyid.sms`` for the reports of the given send ids."""
    if isinstance(ids, str) or not ids:
        raise ValueError("ids must be a non-empty sequence of send ids")
    for send_id in ids:
        if not (isinstance(send_id, str) and send_id.isascii() and send_id.isdigit()):
            raise ValueError(f"send id {send_id!r} is not decimal digits")
    return _poll(C.QUERY_PATH, account, timestamp, [(C.FIELDS["ids"], C.MOBILE_SEPARATOR.join(ids))])


# -- responses ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpResponse:
    code: int
    lines: tuple[str, ...]   # the lines after the status line (comment lines removed)


def parse_response(body: bytes, path: str = "") -> HttpResponse:
    """Status code and lines of a §3b response body (GBK text, ``\\n`` lines)."""
    try:
        decoded = bytes(body).decode(C.RESPONSE_DECODING)
    except UnicodeDecodeError as exc:
        raise C.HttpProtocolError(f"{path or 'response'}: body is not GBK (GB18030) text ({exc.reason} at byte "
                                  f"{exc.start})") from None
    lines = decoded.split("\n")
    status = lines[0].strip().lstrip("\ufeff")
    if not status.isdigit() or not status.isascii():
        raise C.HttpProtocolError(f"{path or 'response'}: first line {status[:40]!r} is not a status code")
    rest = tuple(line.rstrip("\r") for line in lines[1:])
    rest = tuple(line for line in rest if line and not line.startswith(C.COMMENT_PREFIX))
    return HttpResponse(int(status), rest)


def _checked(body: bytes, path: str) -> HttpResponse:
    response = parse_response(body, path)
    if response.code != C.OK:
        raise C.refusal(response.code, path)
    return response


def parse_submit_response(body: bytes) -> str:
    """The send id of an accepted ``/httpserver`` request; the refusal's exception otherwise."""
    response = _checked(body, C.SEND_PATH)
    if not response.lines or not response.lines[0].strip().isdigit():
        raise C.HttpProtocolError(f"{C.SEND_PATH}: 100 without a send id on the second line")
    return response.lines[0].strip()


@dataclass(frozen=True)
class MoEvent:
    """A message from a handset, from ``/httpdeliver.sms`` or PUSH."""

    mobile: str
    dest_id: str
    time: datetime
    text: str

    @property
    def key(self) -> tuple[str, ...]:
        # MOs carry no id: the whole event is its identity
        return (C.PUSH_TYPE_MO, self.mobile, self.dest_id, format_time(self.time), self.text)


@dataclass(frozen=True)
class ReportEvent:
    """A status report, from ``/httpreport.sms``, ``/queryrptbyid.sms`` or PUSH."""

    send_id: str
    mobile: str
    stat: str
    time: datetime
    msg_id: str = ""   # PUSH to EMPP accounts: 20 hex digits

    @property
    def key(self) -> tuple[str, ...]:
        """(type, sendid or msgid, mobile, stat): the de-duplication key (§3b)."""
        return (C.PUSH_TYPE_REPORT, self.send_id or self.msg_id, self.mobile, self.stat)


@dataclass(frozen=True)
class Polled:
    """What a poll returned: the events, and the lines that could not be parsed (kept so that
    one bad line never loses the others, which the platform may have deleted already)."""

    events: tuple[MoEvent | ReportEvent, ...]
    malformed: tuple[str, ...] = ()


def _decode_content(value: str, urlencoding: bool) -> str:
    if not urlencoding:
        return value
    return unquote_plus(value, encoding=C.RESPONSE_DECODING, errors="strict")


def parse_mo_response(body: bytes, *, urlencoding: bool = True) -> Polled:
    """MO lines ``mobile,dest_id,yyyyMMddHHmmss,content`` of ``/httpdeliver.sms``."""
    response = _checked(body, C.DELIVER_PATH)
    events: list[MoEvent | ReportEvent] = []
    malformed: list[str] = []
    for line in response.lines:
        fields = line.split(C.LINE_FIELD_SEPARATOR, 3)
        try:
            if len(fields) != 4:
                raise ValueError("not 4 fields")
            mobile, dest, when, content = fields
            events.append(MoEvent(mobile.strip(), dest.strip(), parse_time(when.strip()),
                                  _decode_content(content, urlencoding)))
        except ValueError:  # UnicodeDecodeError is a ValueError
            malformed.append(line)
    return Polled(tuple(events), tuple(malformed))


def parse_report_response(body: bytes, path: str = C.REPORT_PATH) -> Polled:
    """Report lines ``send_id,mobile,stat,yyyyMMddHHmmss`` (``/httpreport.sms``, ``/queryrptbyid.sms``)."""
    response = _checked(body, path)
    events: list[MoEvent | ReportEvent] = []
    malformed: list[str] = []
    for line in response.lines:
        fields = [f.strip() for f in line.split(C.LINE_FIELD_SEPARATOR)]
        try:
            if len(fields) != 4 or not fields[0].isdigit() or not fields[2]:
                raise ValueError("not send_id,mobile,stat,time")
            events.append(ReportEvent(fields[0], fields[1], fields[2], parse_time(fields[3])))
        except ValueError:
            malformed.append(line)
    return Polled(tuple(events), tuple(malformed))


# -- PUSH --------------------------------------------------------------------------------------


def _content_charset(content_type: str | None) -> str:
    if not content_type:
        return C.RESPONSE_DECODING
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != FORM_CONTENT_TYPE:
        raise C.PushFormatError(f"Content-Type {kind.strip()!r} is not {FORM_CONTENT_TYPE}")
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            value = value.strip().strip('"').lower()
            if value in ("gbk", "gb2312", "gb18030", "utf-8", "utf8"):
                return "utf-8" if value.startswith("utf") else C.RESPONSE_DECODING
            raise C.PushFormatError(f"charset {value!r} is not GBK")
    return C.RESPONSE_DECODING


def parse_push(body: bytes, content_type: str | None = None) -> MoEvent | ReportEvent:
    """One PUSH event from a form body (GBK, percent-escaped or raw).  PushFormatError says
    what is wrong with anything else."""
    encoding = _content_charset(content_type)
    shown = "GBK (GB18030)" if encoding == C.RESPONSE_DECODING else encoding.upper()
    try:
        decoded = bytes(body).decode(encoding)
    except UnicodeDecodeError as exc:
        raise C.PushFormatError(f"body is not {shown} text ({exc.reason} at byte {exc.start})") from None
    try:
        pairs = parse_qsl(decoded.strip(), keep_blank_values=True, strict_parsing=True,
                          encoding=encoding, errors="strict", max_num_fields=32)
    except UnicodeDecodeError as exc:
        raise C.PushFormatError(f"a percent-escaped value is not {shown} ({exc.reason})") from None
    except ValueError as exc:
        raise C.PushFormatError(f"body is not form data ({exc})") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise C.PushFormatError(f"field {name!r} given twice")
        form[name] = value
    F = C.PUSH_FIELDS

    def need(name: str) -> str:
        value = form.get(F[name], "").strip()
        if not value:
            raise C.PushFormatError(f"field {F[name]!r} is missing or empty")
        return value

    kind = need("type")
    try:
        if kind == C.PUSH_TYPE_MO:
            return MoEvent(need("mobile"), form.get(F["dest"], "").strip(), parse_time(need("time")),
                           form.get(F["content"], ""))
        if kind == C.PUSH_TYPE_REPORT:
            send_id = form.get(F["send_id"], "").strip()
            msg_id = form.get(F["msg_id"], "").strip()
            if not send_id and not msg_id:
                raise C.PushFormatError(f"a report needs {F['send_id']!r} or {F['msg_id']!r}")
            return ReportEvent(send_id, need("mobile"), need("stat"), parse_time(need("time")), msg_id)
    except C.PushFormatError:
        raise
    except ValueError as exc:
        raise C.PushFormatError(str(exc)) from None
    raise C.PushFormatError(f"unknown event type {kind!r} (expected {C.PUSH_TYPE_MO!r} or {C.PUSH_TYPE_REPORT!r})")


def encode_push(event: MoEvent | ReportEvent) -> bytes:
    """The PUSH form body of an event (GBK; what the platform sends).  For tests and tools."""
    F = C.PUSH_FIELDS
    if isinstance(event, MoEvent):
        fields = [(F["type"], C.PUSH_TYPE_MO), (F["mobile"], event.mobile), (F["dest"], event.dest_id),
                  (F["time"], format_time(event.time)), (F["content"], event.text)]
    else:
        fields = [(F["type"], C.PUSH_TYPE_REPORT), (F["send_id"], event.send_id)]
        if event.msg_id:
            fields.append((F["msg_id"], event.msg_id))
        fields += [(F["mobile"], event.mobile), (F["stat"], event.stat), (F["time"], format_time(event.time))]
    return urlencode(fields, encoding=C.RESPONSE_ENCODING).encode("ascii")
