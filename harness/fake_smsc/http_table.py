"""The one table of the HTTP interface (PROTOCOL.md §3b): endpoint paths, parameter and
field names, answer codes, and how a model SUBMIT result reads over HTTP.

The platform's manual is unpublished, so these are decided values: a real deployment that
differs is a change of data here, nowhere else (the HTTP front end and the PUSH sender
read every name and code from this module).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CODES", "Code", "DELIVER", "ENDPOINTS", "MO_FIELDS", "OK", "PARAM", "PUSH_MO",
    "PUSH_OK_BODY", "PUSH_REPORT", "QUERY", "REPORT", "REPORT_FIELDS", "SEND",
    "http_code_of",
]

# ---------------------------------------------------------------------------- endpoints

SEND = "/httpserver"
DELIVER = "/httpdeliver.sms"
REPORT = "/httpreport.sms"
QUERY = "/queryrptbyid.sms"
#: every path the front end answers; ``/esmp/httpserver`` is what the jar's test uses
ENDPOINTS = (SEND, DELIVER, REPORT, QUERY)
ALIASES = {"/esmp/httpserver": SEND}

#: endpoints limited to one answered call per ``poll_interval`` per enterprise (FAQ-3.4.2)
POLLED = (DELIVER, REPORT)

# ---------------------------------------------------------------------------- parameters


class PARAM:
    """Request parameter names."""

    ENTERPRISE = "enterpriseid"   # /httpserver: the enterprise id
    ACCOUNT = "accountid"         # /httpserver: the extension code ("" = the service code)
    EID = "eid"                   # polling: the account's number (or the enterprise id)
    PASSWORD = "pswd"             # legacy plain password (FAQ 2.4.1 warns against it)
    AUTH = "auth"                 # lowercase hex MD5(eid ‖ password ‖ timestamp)
    TIMESTAMP = "timestamp"       # yyyyMMddHHmm, China time, within auth_skew_minutes
    MOBS = "mobs"                 # comma-separated numbers
    MSG = "msg"                   # the text, URL-encoded GBK (or UTF-8 with charset)
    AT_TIME = "attime"            # optional yyyyMMddHHmmss (China time)
    CHARSET = "charset"           # "utf-8": text parameters and the answer in UTF-8
    URLENCODING = "urlencoding"   # on/off: MO content URL-encoded in the answer
    COMMENT = "comment"           # on/off: a "#" header line after the code
    KEEPDELIVER = "keepdeliver"   # true: the returned MOs are deleted (FAQ 3.4.1)
    START = "start"               # yyyyMMddHHmm
    END = "end"                   # yyyyMMddHHmm
    IDS = "ids"                   # comma-separated send ids


#: the values a switch parameter takes (anything else is refused with 101)
SWITCH_ON = ("on", "true", "1")
SWITCH_OFF = ("off", "false", "0")
TEXT_CHARSETS = {"gbk": "gbk", "utf-8": "utf-8", "utf8": "utf-8"}

# ---------------------------------------------------------------------------- answer lines

#: one MO a line (/httpdeliver.sms)
MO_FIELDS = ("mobile", "dest_id", "time", "content")
#: one report a line (/httpreport.sms, /queryrptbyid.sms)
REPORT_FIELDS = ("send_id", "mobile", "stat", "time")
TIME_FORMAT = "%Y%m%d%H%M%S"   # every time in an answer or a PUSH
MINUTE_FORMAT = "%Y%m%d%H%M"   # timestamp, start, end

# ---------------------------------------------------------------------------- PUSH

#: the PUSH form fields, in order (platform → the account's registered URL)
PUSH_MO = ("type", "mobile", "dest", "time", "content")
PUSH_REPORT = ("type", "sendid", "msgid", "mobile", "stat", "time")
PUSH_TYPE_MO = "mo"
PUSH_TYPE_REPORT = "report"
#: the receiver's answer that counts as delivered (with HTTP status 200)
PUSH_OK_STATUS = 200
PUSH_OK_BODY = "100"

# ---------------------------------------------------------------------------- codes


@dataclass(frozen=True)
class Code:
    code: int
    name: str
    meaning: str


OK = 100
BAD_PARAMETER = 101
AUTH_FAILED = 102
NOT_REGISTERED = 103
BAD_TEXT = 104
QUOTA = 105
BAD_NUMBER = 13
GROUP_LIMIT = 15
TOO_FAST = 10004
BUSY = 10005

CODES: dict[int, Code] = {c.code: c for c in (
    Code(OK, "OK", "accepted (/httpserver: the send id follows) or the data follows"),
    Code(BAD_PARAMETER, "BAD_PARAMETER", "a parameter is missing, given twice or malformed; "
         "or a report window is over 60 min or outside today and the 2 days before"),
    Code(AUTH_FAILED, "AUTH_FAILED", "authentication failed (password, auth, or a timestamp "
         "more than 10 minutes from the platform clock)"),
    Code(NOT_REGISTERED, "NOT_REGISTERED", "the enterprise, account or extension code is not registered"),
    Code(BAD_TEXT, "BAD_TEXT", "the text is empty or over 512 chars"),
    Code(QUOTA, "QUOTA", "the account's or enterprise's SMS quota is used up"),
    Code(BAD_NUMBER, "BAD_NUMBER", "a number is invalid or PHS: the whole request is refused"),
    Code(GROUP_LIMIT, "GROUP_LIMIT", "more numbers than group_send_limit"),
    Code(TOO_FAST, "TOO_FAST", "sending too fast (rate), or polled again within 60 s"),
    Code(BUSY, "BUSY", "the platform is busy: try again later"),
)}

#: model SUBMIT result (EMPP numbering) → HTTP code; a result not listed keeps its number
_FROM_MODEL = {0: OK, 6: BAD_TEXT, 10: NOT_REGISTERED, 10003: QUOTA, 7: BAD_PARAMETER}


def http_code_of(result: int) -> int:
    """The HTTP answer code of a model SUBMIT result (13, 15, 10004, 10005 are the same
    numbers on both interfaces)."""
    return _FROM_MODEL.get(result, result)
