"""The one table of platform codes: CONNECT_RESP statuses and SUBMIT_RESP results.

Each code has a meaning (for people) and a category (for code): what the SDK does about it.
A real deployment that differs is a change of data here, nowhere else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from smsdk._layouts import Dialect


class LoginOutcome(enum.Enum):
    BOUND = "bound"                  # logged in
    BOUND_KICKED_OTHER = "kicked"    # logged in; another session of the account was kicked
    RETRY_LATER = "retry_later"      # refused for now (too many logins ...): back off long
    FATAL = "fatal"                  # refused for good (credentials, version): never retry alone


class SubmitOutcome(enum.Enum):
    ACCEPTED = "accepted"
    RATE_LIMITED = "rate_limited"    # 10004: slow down, resubmit only what was refused
    BUSY = "busy"                    # 10005: back off with jitter, resubmit
    FAILED = "failed"                # every other result: the recipients of that SUBMIT fail


@dataclass(frozen=True)
class Code:
    code: int
    name: str
    meaning: str


EMPP_CONNECT_STATUS: dict[int, tuple[Code, LoginOutcome]] = {
    0: (Code(0, "EMPP_ROK", "login OK"), LoginOutcome.BOUND),
    3: (Code(3, "EMPP_AUTH_ERROR", "authentication failed (account or password wrong)"), LoginOutcome.FATAL),
    4: (Code(4, "EMPP_VERSION_ERROR", "protocol version not supported"), LoginOutcome.FATAL),
    10001: (
        Code(10001, "EMPP_EXCEPRMAX_ERROR", "the account already has the maximum number of logins"),
        LoginOutcome.RETRY_LATER,
    ),
    10002: (Code(10002, "EMPP_EXCMAX_ERROR", "connection limit exceeded"), LoginOutcome.RETRY_LATER),
    20000: (
        Code(20000, "EMPP_SUC_ANOTHER", "login OK; another session of this account was kicked off"),
        LoginOutcome.BOUND_KICKED_OTHER,
    ),
}

CMPP_CONNECT_STATUS: dict[int, tuple[Code, LoginOutcome]] = {
    0: (Code(0, "OK", "login OK"), LoginOutcome.BOUND),
    1: (Code(1, "STRUCTURE_ERROR", "message structure error"), LoginOutcome.FATAL),
    2: (Code(2, "ILLEGAL_SOURCE_ADDR", "illegal source address (SP id)"), LoginOutcome.FATAL),
    3: (Code(3, "AUTH_ERROR", "authentication failed"), LoginOutcome.FATAL),
    4: (Code(4, "VERSION_TOO_HIGH", "protocol version too high"), LoginOutcome.FATAL),
}

EMPP_SUBMIT_RESULT: dict[int, tuple[Code, SubmitOutcome]] = {
    0: (Code(0, "EMPP_SEND_MSG_OK", "accepted"), SubmitOutcome.ACCEPTED),
    6: (Code(6, "MSG_TOO_LONG", "exceeds the maximum message length"), SubmitOutcome.FAILED),
    7: (Code(7, "EMPP_SERVICEID_ERROR", "Service_Id wrong"), SubmitOutcome.FAILED),
    10: (Code(10, "EMPP_SRCID_ERROR", "Src_Id (source number / extension) wrong"), SubmitOutcome.FAILED),
    13: (Code(13, "EMPP_DESTID_ERROR", "destination number invalid (or PHS)"), SubmitOutcome.FAILED),
    14: (Code(14, "EMPP_DOUBLECHECK_ERROR", "duplicate message refused"), SubmitOutcome.FAILED),
    15: (Code(15, "EMPP_MULTISEND_LIMIT_ERROR", "too many numbers in one packet (group-send limit)"), SubmitOutcome.FAILED),
    16: (Code(16, "EMPP_SIGNATURE_ERROR", "signature missing or invalid"), SubmitOutcome.FAILED),
    17: (Code(17, "QUOTA_EXHAUSTED", "the account's SMS quota is used up"), SubmitOutcome.FAILED),
    10000: (Code(10000, "EMPP_WHITECODE_STATUS", "white-list status refusal"), SubmitOutcome.FAILED),
    10001: (Code(10001, "EMPP_BLACKCODE_STATUS", "recipient is black-listed"), SubmitOutcome.FAILED),
    10002: (Code(10002, "EMPP_MATCH_KEYWORD", "content contains a forbidden keyword"), SubmitOutcome.FAILED),
    10003: (Code(10003, "EMPP_TESTEPR_MAXCOUNT", "test enterprise reached its message quota"), SubmitOutcome.FAILED),
    10004: (Code(10004, "EMPP_FREQ_LIMIT", "sending too fast (account rate limit)"), SubmitOutcome.RATE_LIMITED),
    10005: (Code(10005, "EMPP_SERV_BUSY", "platform busy / overloaded"), SubmitOutcome.BUSY),
    10006: (Code(10006, "EMPP_SEND_ERROR", "platform-to-gateway connection error"), SubmitOutcome.FAILED),
    10007: (Code(10007, "FORBID_MULTI_SEND", "account has no group-send permission"), SubmitOutcome.FAILED),
}

CMPP_SUBMIT_RESULT: dict[int, tuple[Code, SubmitOutcome]] = {
    0: (Code(0, "OK", "accepted"), SubmitOutcome.ACCEPTED),
    1: (Code(1, "STRUCTURE_ERROR", "message structure error"), SubmitOutcome.FAILED),
    2: (Code(2, "COMMAND_ERROR", "command id error"), SubmitOutcome.FAILED),
    3: (Code(3, "DUPLICATE_SEQUENCE", "duplicate sequence number"), SubmitOutcome.FAILED),
    4: (Code(4, "LENGTH_ERROR", "message length error"), SubmitOutcome.FAILED),
    5: (Code(5, "FEE_CODE_ERROR", "fee code error"), SubmitOutcome.FAILED),
    6: (Code(6, "MSG_TOO_LONG", "exceeds the maximum message length"), SubmitOutcome.FAILED),
    7: (Code(7, "SERVICE_ID_ERROR", "Service_Id error"), SubmitOutcome.FAILED),
    8: (Code(8, "FLOW_CONTROL", "flow control: sending too fast"), SubmitOutcome.RATE_LIMITED),
    9: (Code(9, "FEE_TERMINAL_NOT_SERVED", "gateway does not serve the charged number"), SubmitOutcome.FAILED),
    10: (Code(10, "SRC_ID_ERROR", "Src_Id error"), SubmitOutcome.FAILED),
    11: (Code(11, "MSG_SRC_ERROR", "Msg_src error"), SubmitOutcome.FAILED),
    12: (Code(12, "FEE_TERMINAL_ID_ERROR", "Fee_terminal_Id error"), SubmitOutcome.FAILED),
    13: (Code(13, "DEST_TERMINAL_ID_ERROR", "Dest_terminal_Id error"), SubmitOutcome.FAILED),
}


# Report Stat values (FAQ-2.2.1, PROTOCOL.md §1.9) and what they mean for people.
STAT_MEANINGS = {
    "DELIVRD": "delivered",
    "EXPIRED": "not delivered within the validity period",
    "DELETED": "deleted by the SMSC",
    "UNDELIV": "undeliverable",
    "REJECTD": "rejected by the network",
    "UNKNOWN": "unknown delivery status",
    "DTBLACK": "the number is on a black list (or not on the white list)",
    "EPBLACK": "the source number is on the platform's source black list",
    "UNSURPT": "the enterprise has no service for this carrier's numbers",
}


def describe_stat(stat: str) -> str:
    """A sentence for a report Stat; ``CA:nnnn``-style codes are network errors."""
    if stat in STAT_MEANINGS:
        return STAT_MEANINGS[stat]
    if len(stat) == 7 and stat[2] == ":":
        return f"network error {stat}"
    return f"report status {stat}"


def connect_status(dialect: Dialect, status: int) -> tuple[Code, LoginOutcome]:
    """Meaning and outcome of a CONNECT_RESP status; unknown codes are fatal refusals."""
    table = EMPP_CONNECT_STATUS if dialect == Dialect.EMPP else CMPP_CONNECT_STATUS
    found = table.get(status)
    if found is not None:
        return found
    return Code(status, "UNKNOWN", f"login refused with unknown status {status}"), LoginOutcome.FATAL


def submit_result(dialect: Dialect, result: int) -> tuple[Code, SubmitOutcome]:
    """Meaning and outcome of a SUBMIT_RESP result; unknown codes fail their recipients."""
    table = EMPP_SUBMIT_RESULT if dialect == Dialect.EMPP else CMPP_SUBMIT_RESULT
    found = table.get(result)
    if found is not None:
        return found
    return Code(result, "UNKNOWN", f"refused with unknown result {result}"), SubmitOutcome.FAILED
