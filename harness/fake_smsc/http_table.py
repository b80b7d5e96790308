"""The fake platform's view of the HTTP interface (PROTOCOL.md §3b).

The paths, parameter and field names, formats and answer codes are the SDK's one table,
:mod:`smsdk.http.codes` (a public SDK module): the client and the fake read the same data,
so a real deployment that differs is a change there, and both sides follow.  What stays
here is only what the platform alone needs: the ``/esmp/httpserver`` alias, which
endpoints the minute limit covers, the switch values and charsets it accepts, the header
names of ``comment=on``, the PUSH answer's HTTP status, and how a model SUBMIT result
reads as an HTTP code.  The HTTP front end and the PUSH sender read every name and code
from this module.
"""

from __future__ import annotations

from smsdk.codes import Code
from smsdk.http import codes as _sdk

__all__ = [
    "ALIASES", "CODES", "Code", "DELIVER", "ENDPOINTS", "MINUTE_FORMAT", "MO_FIELDS", "OK", "PARAM",
    "POLLED", "PUSH_MO", "PUSH_OK_BODY", "PUSH_OK_STATUS", "PUSH_REPORT", "PUSH_TYPE_MO",
    "PUSH_TYPE_REPORT", "QUERY", "REPORT", "REPORT_FIELDS", "SEND", "SWITCH_OFF", "SWITCH_ON",
    "TEXT_CHARSETS", "TIME_FORMAT", "http_code_of",
]

# ---------------------------------------------------------------------------- endpoints (SDK)

SEND = _sdk.SEND_PATH
DELIVER = _sdk.DELIVER_PATH
REPORT = _sdk.REPORT_PATH
QUERY = _sdk.QUERY_PATH
ENDPOINTS = (SEND, DELIVER, REPORT, QUERY)

# platform only: ``/esmp/httpserver`` is what the jar's test uses
ALIASES = {"/esmp/httpserver": SEND}
#: endpoints limited to one answered call per ``poll_interval`` per enterprise (FAQ-3.4.2)
POLLED = (DELIVER, REPORT)

# ---------------------------------------------------------------------------- parameters (SDK)

_F = _sdk.FIELDS


class PARAM:
    """Request parameter names (the SDK's ``FIELDS``)."""

    ENTERPRISE = _F["enterprise_id"]   # /httpserver: the enterprise id
    ACCOUNT = _F["account_id"]         # /httpserver: the extension code ("" = the service code)
    EID = _F["eid"]                    # polling: the account's number (or the enterprise id)
    PASSWORD = _F["password"]          # legacy plain password (FAQ 2.4.1 warns against it)
    AUTH = _F["auth"]                  # lowercase hex MD5(eid ‖ password ‖ timestamp)
    TIMESTAMP = _F["timestamp"]        # yyyyMMddHHmm, China time, within auth_skew_minutes
    MOBS = _F["mobiles"]               # comma-separated numbers
    MSG = _F["text"]                   # the text, URL-encoded GBK (or UTF-8 with charset)
    AT_TIME = _F["at_time"]            # optional yyyyMMddHHmmss (China time)
    CHARSET = _F["charset"]            # "utf-8": text parameters and the answer in UTF-8
    URLENCODING = _F["urlencoding"]    # on/off: MO content URL-encoded in the answer
    COMMENT = _F["comment"]            # on/off: a "#" header line after the code
    KEEPDELIVER = _F["keep"]           # true: the returned MOs are deleted (FAQ 3.4.1)
    START = _F["start"]                # yyyyMMddHHmm
    END = _F["end"]                    # yyyyMMddHHmm
    IDS = _F["ids"]                    # comma-separated send ids


# platform only: the values a switch parameter takes (anything else is refused with 101)
SWITCH_ON = (_sdk.ON, _sdk.TRUE, "1")
SWITCH_OFF = (_sdk.OFF, _sdk.FALSE, "0")
TEXT_CHARSETS = {_sdk.TEXT_ENCODING: _sdk.TEXT_ENCODING, _sdk.UTF8_CHARSET_VALUE: "utf-8", "utf8": "utf-8"}

# ---------------------------------------------------------------------------- answer lines

# platform only: the header line of ``comment=on`` (the SDK reads the fields by position)
#: one MO a line (/httpdeliver.sms)
MO_FIELDS = ("mobile", "dest_id", "time", "content")
#: one report a line (/httpreport.sms, /queryrptbyid.sms)
REPORT_FIELDS = ("send_id", "mobile", "stat", "time")
TIME_FORMAT = _sdk.TIME_FORMAT         # every time in an answer or a PUSH
MINUTE_FORMAT = _sdk.TIMESTAMP_FORMAT  # timestamp, start, end

# ---------------------------------------------------------------------------- PUSH (SDK)

_P = _sdk.PUSH_FIELDS
#: the PUSH form fields, in order (platform → the account's registered URL)
PUSH_MO = tuple(_P[k] for k in ("type", "mobile", "dest", "time", "content"))
PUSH_REPORT = tuple(_P[k] for k in ("type", "send_id", "msg_id", "mobile", "stat", "time"))
PUSH_TYPE_MO = _sdk.PUSH_TYPE_MO
PUSH_TYPE_REPORT = _sdk.PUSH_TYPE_REPORT
#: the receiver's answer that counts as delivered (with HTTP status 200, platform only)
PUSH_OK_STATUS = 200
PUSH_OK_BODY = _sdk.PUSH_ANSWER.decode("ascii")

# ---------------------------------------------------------------------------- codes (SDK)

OK = _sdk.OK
BAD_PARAMETER = _sdk.BAD_PARAMETER
AUTH_FAILED = _sdk.AUTH_FAILED
NOT_REGISTERED = _sdk.NOT_REGISTERED
BAD_TEXT = _sdk.BAD_TEXT
QUOTA = _sdk.QUOTA
BAD_NUMBER = _sdk.BAD_NUMBER
GROUP_LIMIT = _sdk.GROUP_LIMIT
TOO_FAST = _sdk.TOO_FAST
BUSY = _sdk.BUSY

#: code → (code, name, meaning), as the SDK's client reads it
CODES: dict[int, Code] = {code: meaning for code, (meaning, _) in _sdk.HTTP_CODES.items()}

# platform only: model SUBMIT result (EMPP numbering) → HTTP code; a result not listed keeps
# its number.  Decided for the role check (CLIENT-accounts): a role that cannot send (10007)
# answers 102, a staff account's number outside the public book (10000) answers 13.
_FROM_MODEL = {0: OK, 6: BAD_TEXT, 10: NOT_REGISTERED, 10003: QUOTA, 7: BAD_PARAMETER,
               10007: AUTH_FAILED, 10000: BAD_NUMBER}


def http_code_of(result: int) -> int:
    """The HTTP answer code of a model SUBMIT result (13, 15, 10004, 10005 are the same
    numbers on both interfaces)."""
    return _FROM_MODEL.get(result, result)
