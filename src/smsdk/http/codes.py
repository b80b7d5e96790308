"""The one table of the HTTP interface (PROTOCOL.md §3b): endpoints, field names, formats, codes.

Every path, parameter name, time format and response code the SDK's HTTP client speaks is
here and nowhere else, and the fake platform (``smsdk_harness.fake_smsc.http_table``) reads
the same values from here: a real deployment that differs is a change of data in this file.
"""

from __future__ import annotations

from smsdk.codes import Code, SubmitOutcome
from smsdk.errors import SmsdkError

# -- endpoints ---------------------------------------------------------------------------------

SEND_PATH = "/httpserver"
DELIVER_PATH = "/httpdeliver.sms"      # MO pull (FAQ-3.4.1)
REPORT_PATH = "/httpreport.sms"        # status reports between start and end (FAQ-3.4.1)
QUERY_PATH = "/queryrptbyid.sms"       # status reports of given send ids

DEFAULT_PORT = 8000

# -- field names (logical name -> wire name) ---------------------------------------------------

FIELDS: dict[str, str] = {
    # /httpserver
    "enterprise_id": "enterpriseid",
    "account_id": "accountid",
    "mobiles": "mobs",
    "text": "msg",
    "at_time": "attime",
    "charset": "charset",
    # the polling endpoints
    "eid": "eid",
    "urlencoding": "urlencoding",
    "comment": "comment",
    "keep": "keepdeliver",
    "start": "start",
    "end": "end",
    "ids": "ids",
    # authentication (every endpoint)
    "timestamp": "timestamp",
    "auth": "auth",
    "password": "pswd",   # legacy plain password: the SDK never sends it (FAQ-2.4.1)
}

#: PUSH form fields (platform -> the account's registered URL).
PUSH_FIELDS: dict[str, str] = {
    "type": "type",
    "mobile": "mobile",
    "dest": "dest",
    "time": "time",
    "content": "content",
    "send_id": "sendid",
    "msg_id": "msgid",
    "stat": "stat",
}
PUSH_TYPE_MO = "mo"
PUSH_TYPE_REPORT = "report"
PUSH_ANSWER = b"100"

MOBILE_SEPARATOR = ","            # in `mobs` and `ids`
LINE_FIELD_SEPARATOR = ","        # in MO and report lines
COMMENT_PREFIX = "#"
ON, OFF = "on", "off"
TRUE, FALSE = "true", "false"

# -- formats -----------------------------------------------------------------------------------

RESPONSE_ENCODING = "gbk"         # response bodies and PUSH forms (what is written: encode_push)
#: what responses, MO content and PUSH forms labelled GBK are read as: GB18030 is a superset
#: of GBK (the same bytes for every GBK character) and the platform uses it for characters
#: GBK lacks (rare CJK, emoji), so a strict GBK decoder would drop those MOs
RESPONSE_DECODING = "gb18030"
TEXT_ENCODING = "gbk"             # `msg` by default
UTF8_CHARSET_VALUE = "utf-8"      # `charset=utf-8`: `msg` is UTF-8
TIMESTAMP_FORMAT = "%Y%m%d%H%M"   # `timestamp`, `start`, `end` (China time)
TIME_FORMAT = "%Y%m%d%H%M%S"      # `attime`, MO and report times (China time)

MAX_TEXT_CHARS = 512              # FAQ-2.3.2 (decided: HTTP `msg` has the WEB limit)
PIECE_CHARS = 60                  # the platform sends ceil(len/60) SMS per recipient
AUTH_WINDOW_SECONDS = 600         # timestamp within 10 minutes of the platform's clock
MIN_POLL_INTERVAL = 60.0          # FAQ-3.4.2: once a minute per endpoint per enterprise
REPORT_WINDOW_SECONDS = 3600      # FAQ-3.4.2: report windows at most 1 hour
REPORT_DAYS_BACK = 2              # FAQ-3.4.2: today and the 2 days before

# -- response codes ----------------------------------------------------------------------------

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

HTTP_CODES: dict[int, tuple[Code, SubmitOutcome]] = {
    OK: (Code(OK, "OK", "accepted"), SubmitOutcome.ACCEPTED),
    BAD_PARAMETER: (Code(BAD_PARAMETER, "BAD_PARAMETER",
                         "a parameter is missing or wrong (or a report window over 60 min / "
                         "outside today and the 2 days before)"), SubmitOutcome.FAILED),
    AUTH_FAILED: (Code(AUTH_FAILED, "AUTH_FAILED", "authentication failed"), SubmitOutcome.FAILED),
    NOT_REGISTERED: (Code(NOT_REGISTERED, "NOT_REGISTERED", "account or extension not registered"),
                     SubmitOutcome.FAILED),
    BAD_TEXT: (Code(BAD_TEXT, "BAD_TEXT", "text empty or over 512 chars"), SubmitOutcome.FAILED),
    QUOTA: (Code(QUOTA, "QUOTA_EXHAUSTED", "the account's SMS quota is used up"), SubmitOutcome.FAILED),
    BAD_NUMBER: (Code(BAD_NUMBER, "BAD_NUMBER", "a number is invalid or PHS"), SubmitOutcome.FAILED),
    GROUP_LIMIT: (Code(GROUP_LIMIT, "GROUP_LIMIT", "too many numbers in one request (group-send limit)"),
                  SubmitOutcome.FAILED),
    TOO_FAST: (Code(TOO_FAST, "TOO_FAST", "too fast (rate limit, or polled again within 60 s)"),
               SubmitOutcome.RATE_LIMITED),
    BUSY: (Code(BUSY, "BUSY", "platform busy / overloaded"), SubmitOutcome.BUSY),
}

CLOCK_SKEW_HINT = (
    "the platform refused auth: check the password, and that this machine's clock is within "
    "10 minutes of the platform's (the timestamp is China time, UTC+8)"
)


def http_code(code: int) -> tuple[Code, SubmitOutcome]:
    """Meaning and outcome of a response code; unknown codes are failures."""
    found = HTTP_CODES.get(code)
    if found is not None:
        return found
    return Code(code, "UNKNOWN", f"refused with unknown code {code}"), SubmitOutcome.FAILED


# -- exceptions --------------------------------------------------------------------------------


class HttpError(SmsdkError):
    """Base class of the HTTP interface's errors."""


class HttpRefused(HttpError):
    """The platform answered with a code other than 100."""

    def __init__(self, code: int, path: str = "") -> None:
        meaning = http_code(code)[0].meaning
        where = f" {path}" if path else ""
        super().__init__(f"{where.strip() or 'the platform'} refused: {code} {meaning}")
        self.code = code
        self.meaning = meaning
        self.path = path


class AuthenticationFailed(HttpRefused):
    """102: wrong password, or a timestamp more than 10 minutes off the platform's clock."""

    def __init__(self, code: int = AUTH_FAILED, path: str = "") -> None:
        super().__init__(code, path)
        self.args = (f"{self.args[0]}; {CLOCK_SKEW_HINT}",)


class RateLimited(HttpRefused):
    """10004: too fast (submit rate, or an endpoint polled again within 60 s)."""


class PlatformBusy(HttpRefused):
    """10005: the platform is overloaded; try again later."""


class HttpProtocolError(HttpError, ValueError):
    """A response that is not in the §3b format (no status line, not GBK, a 100 without a send id ...)."""


class HttpStatusError(HttpError):
    """The web server answered with an HTTP status other than 200."""

    def __init__(self, status: int, path: str) -> None:
        super().__init__(f"{path}: HTTP status {status}")
        self.status = status
        self.path = path


class PollTooSoon(HttpError):
    """This process polled the endpoint less than a minute ago (FAQ-3.4.2): not sent."""


class TextEncodingError(SmsdkError, ValueError):
    """Text that the chosen charset cannot hold (the SDK never garbles or replaces characters)."""


class PushFormatError(SmsdkError, ValueError):
    """A PUSH request body that is not GBK form data of a known event type."""


_EXCEPTIONS: dict[int, type[HttpRefused]] = {
    AUTH_FAILED: AuthenticationFailed,
    TOO_FAST: RateLimited,
    BUSY: PlatformBusy,
}


def refusal(code: int, path: str = "") -> HttpRefused:
    """The exception for a refusal code (AuthenticationFailed for 102 ...)."""
    return _EXCEPTIONS.get(code, HttpRefused)(code, path)
