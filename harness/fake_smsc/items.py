"""The model's value types: what front ends receive, what sinks are handed, what the
inspection API returns.

* :class:`Sink` — the interface a front end gives :meth:`Platform.bind`: ``deliver(item)``
  is called synchronously with a :class:`ReportItem` or a :class:`MoItem`; ``kicked()``
  when a newer login of the same account kicked this session (login_policy "kick").
* :class:`BindResult`, :class:`SubmitOutcome`, :class:`MoOutcome` — answers.
* Records kept for inspection (and the HTTP front end): :class:`SubmissionRecord`,
  :class:`ReportRecord`, :class:`MoRecord`, :class:`ReceivedMessage` (one message as a
  handset shows it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from smsdk import codec as _codec
from smsdk.frozen_dataclass import frozen
from smsdk.msgid import EmppMsgId

__all__ = [
    "BindResult",
    "CheckResult",
    "ManagementError",
    "ListConflict",
    "MoItem",
    "MoOutcome",
    "MoRecord",
    "MoRefused",
    "ReceivedMessage",
    "Recipient",
    "ReportItem",
    "ReportRecord",
    "Sink",
    "SubmissionRecord",
    "SubmitOutcome",
    "UnknownAccount",
    "ZERO_MSG_ID",
]

#: The Msg_Id a refused SUBMIT is answered with.
ZERO_MSG_ID = EmppMsgId(bytes(10))


class ManagementError(ValueError):
    """A management call the platform refuses (package cap, extension rules ...)."""


class ListConflict(ManagementError):
    """Adding a number to EB while it is in EW (or the reverse): EB ∩ EW = ∅ (FAQ-2.1.7;
    decided: refused, never moved silently)."""


class UnknownAccount(KeyError):
    """No account has that id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown account"


class MoRefused(ValueError):
    """An injected MO the platform cannot take (a China Unicom handset, FAQ-3.1.6; an
    invalid sender; no account's number matches the destination)."""


@runtime_checkable
class Sink(Protocol):
    """Where a bound account's DELIVERs go (one EMPP session, for the front end)."""

    def deliver(self, item: ReportItem | MoItem) -> None: ...

    def kicked(self) -> None: ...


@frozen
class BindResult:
    """``status``: 0 bound; 20000 bound and an older session was kicked (its sink was told);
    10001 refused because the account already has a session (login_policy "refuse"); 3 bad
    account or password (or a role that cannot log in).  ``flushed`` offline items were
    delivered to the new sink, ``dropped`` were too old (over ``offline_hours``)."""

    status: int
    reason: str
    account_id: str
    flushed: int = 0
    dropped: int = 0

    @property
    def ok(self) -> bool:
        return self.status in (0, 20000)


@frozen
class CheckResult:
    """One SUBMIT check: its name (config ``check_order``), the code it refuses with, and
    whether it passed; ``detail`` says why (or what it saw)."""

    name: str
    code: int
    passed: bool
    detail: str = ""


@dataclass(slots=True)
class Recipient:
    """One recipient of an accepted SUBMIT: its Msg_Id (M + i) and what became of it."""

    index: int
    number: str
    msg_id: EmppMsgId
    state: str = "accepted"          # accepted → scheduled → sent → reported | cancelled
    stat: str | None = None
    delivered: bool = False          # the handset received it
    report: ReportItem | None = None


@dataclass(slots=True)
class SubmissionRecord:
    """A SUBMIT as the platform saw it, with every check's result.  ``text`` is the decoded
    payload (UDH removed), ``rendering`` what each recipient is sent (None when refused)."""

    id: int
    account_id: str
    enterprise_id: str
    at: float
    via: str
    sequence_id: int | None
    src_id: str
    dest: tuple[str, ...]
    msg_fmt: int
    tp_udhi: int
    content: bytes
    text: str
    service_id: str
    at_time: str
    registered_delivery: int
    result: int = -1
    reason: str = ""
    checks: list[CheckResult] = field(default_factory=list)
    msg_id: EmppMsgId = ZERO_MSG_ID
    recipients: list[Recipient] = field(default_factory=list)
    rendering: Any = None
    parsed: Any = None
    due: float | None = None
    quota_charged: int = 0
    notes: list[str] = field(default_factory=list)
    state: str = "refused"           # refused | accepted | scheduled | sent | cancelled

    @property
    def accepted(self) -> bool:
        return self.result == 0

    @property
    def msg_ids(self) -> tuple[EmppMsgId, ...]:
        return tuple([r.msg_id for r in self.recipients])

    @property
    def failed_check(self) -> CheckResult | None:
        for c in self.checks:
            if not c.passed:
                return c
        return None


@frozen
class SubmitOutcome:
    """The answer to one SUBMIT: ``result`` for SUBMIT_RESP (0 accepted), ``msg_id`` M
    (zeros when refused), ``reason`` in words, ``msg_ids`` M … M+n−1 in the order of
    Dest_terminal_Id, and the full ``record``."""

    result: int
    msg_id: EmppMsgId
    reason: str
    msg_ids: tuple[EmppMsgId, ...] = ()
    record: SubmissionRecord | None = None

    @property
    def accepted(self) -> bool:
        return self.result == 0


@frozen
class ReportItem:
    """A status report for one recipient, as an EMPP DELIVER (Registered_Delivery 1)
    carries it: ``msg_id`` is the recipient's id (M + i), ``stat`` the 7-char Stat,
    ``submit_time`` / ``done_time`` ``YYMMDDhhmm`` China time, ``dest_terminal_id`` the
    recipient, ``smsc_sequence`` the SUBMIT's Sequence_Id when the front end passed it
    (else a platform counter).  ``account_id`` is the submitting account, ``src_id`` the
    Src_Id the message went out with (the DELIVER's Dest_Id)."""

    account_id: str
    msg_id: EmppMsgId
    stat: str
    submit_time: str
    done_time: str
    dest_terminal_id: str
    smsc_sequence: int
    src_id: str
    service_id: str
    generated_at: float
    submission_id: int = 0

    kind: ClassVar[Literal["report"]] = "report"

    @property
    def delivered(self) -> bool:
        return self.stat == "DELIVRD"

    def status_report(self) -> Any:
        """The ``smsdk.codec.StatusReport`` for the DELIVER's Msg_Content."""
        # positional, in the codec's field order (about half the cost of keywords: one is
        # made per report): msg_id, stat, submit_time, done_time, dest_terminal_id,
        # smsc_sequence
        return _codec.StatusReport(self.msg_id.raw, self.stat, self.submit_time,
                                   self.done_time, self.dest_terminal_id,
                                   self.smsc_sequence & 0xFFFFFFFF)

    def deliver_pdu(self, msg_id: EmppMsgId | None = None) -> Any:
        """An ``smsdk.codec.Deliver`` carrying this report (``msg_id``: the DELIVER's own
        Msg_Id; default: the report's)."""
        # positional, in the codec's field order: msg_id, dest_id, service_id, tp_pid,
        # tp_udhi, msg_fmt, src_terminal_id, src_terminal_type, registered_delivery,
        # msg_content, link_id
        return _codec.Deliver((msg_id or self.msg_id).raw, self.src_id, self.service_id[:10],
                              0, 0, 0, self.dest_terminal_id, 0, 1, self.status_report(), "")


@frozen
class MoItem:
    """One MO DELIVER (Registered_Delivery 0): ``content`` is the raw Msg_Content (UDH
    included when ``tp_udhi``), ``text`` the decoded payload of this part.
    ``account_id`` is the account the MO is addressed to (longest match); it may be handed
    to the main account's sink when that sub-account is offline (FAQ-3.5.2)."""

    msg_id: EmppMsgId
    src_terminal_id: str
    dest_id: str
    msg_fmt: int
    tp_udhi: int
    content: bytes
    text: str | None
    account_id: str
    received_at: float
    service_id: str = ""
    mo_id: int = 0

    kind: ClassVar[Literal["mo"]] = "mo"

    def deliver_pdu(self) -> Any:
        """An ``smsdk.codec.Deliver`` carrying this MO."""
        return _codec.Deliver(
            msg_id=self.msg_id.raw, dest_id=self.dest_id, service_id=self.service_id[:10],
            tp_pid=0, tp_udhi=self.tp_udhi, msg_fmt=self.msg_fmt,
            src_terminal_id=self.src_terminal_id, src_terminal_type=0,
            registered_delivery=0, msg_content=self.content, link_id="",
        )


@dataclass(slots=True)
class ReportRecord:
    """A report the platform generated and what became of it: ``state`` is
    ``"delivered"`` (handed to ``delivered_to``'s sink), ``"offline"`` (queued for
    ``account``), ``"flushed"`` (delivered later at a login), ``"dropped"`` (offline too
    long), ``"not_requested"`` (Registered_Delivery 0) or ``"stored"`` (an HTTP/WEB
    submission: kept for polling and PUSH only)."""

    item: ReportItem
    via: str
    state: str
    delivered_to: str | None = None


@dataclass(slots=True)
class MoRecord:
    """An MO the platform received (kept ``retention_days``), one per DELIVER."""

    item: MoItem
    state: str
    delivered_to: str | None = None
    fetched: bool = False


@frozen
class MoOutcome:
    """What :meth:`Platform.inject_mo` did: ``items`` (one per DELIVER: several for a
    concatenated MO), the ``account_id`` it is addressed to, and the records."""

    items: tuple[MoItem, ...]
    account_id: str
    records: tuple[MoRecord, ...]


@frozen
class ReceivedMessage:
    """One message as the handset shows it.

    ``text`` = ``body`` + ``signature`` (what is on the screen); ``billing`` the SMS it
    cost (1 per SMS; a concatenated message costs one per part); ``cut_tail`` what the
    platform cut from the last part to make room for the signature (FAQ-2.5.3; "" when
    nothing was lost); ``kind`` ``"single"``, ``"split"`` (one of the two SMS of a 61–70
    char SUBMIT, FAQ-2.5.4) or ``"concat"``; ``msg_ids`` the recipient's Msg_Id of each
    SUBMIT involved.
    """

    number: str
    text: str
    body: str
    signature: str
    billing: int
    cut_tail: str
    kind: str
    src_id: str
    account_id: str
    msg_ids: tuple[EmppMsgId, ...]
    received_at: float
    parts: int = 1
