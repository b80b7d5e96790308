"""The sending pipeline, sans-IO: message → parts → chunks → SUBMITs → one outcome per recipient.

The :class:`Dispatcher` owns everything between "send this text to these numbers" and the
session: recipient checking, planning, chunking to ``group_send_limit`` (FAQ-2.2.5), pacing
with a token bucket (FAQ-2.2.3), retrying 10004/10005 (FAQ-2.2.8), matching SUBMIT_RESP
Msg_Ids and status reports (FAQ-2.5.2, FAQ-3.5.3), the 48-hour expiry (FAQ-2.2.1) and what
happens to SUBMITs in flight when the link drops.  Like the session it has no clock of its own
and does no I/O: the transport asks it for the next SUBMIT when the window and the bucket
allow, and feeds it responses, reports and timer ticks.

Guarantee: every recipient of every message ends with exactly one :class:`Outcome`, and
every recipient whose SUBMIT may have been accepted more than once is flagged
(``Outcome.possible_duplicate``) and counted.
"""

from __future__ import annotations

import enum
import random
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from smsdk import codec, numbers, text
from smsdk._layouts import Dialect
from smsdk.china_time import CHINA
from smsdk.codes import SubmitOutcome, describe_stat, submit_result
from smsdk.errors import SmsdkError
from smsdk.msgid import CmppMsgId, EmppMsgId
from smsdk.ratelimit import TokenBucket

DELIVERED_STAT = "DELIVRD"


class OutcomeState(enum.Enum):
    DELIVERED = "delivered"   # every part reported DELIVRD
    FAILED = "failed"         # refused by the platform, or a report other than DELIVRD
    EXPIRED = "expired"       # accepted, but no report within report_timeout
    REJECTED = "rejected"     # refused by the SDK itself (invalid / PHS number): never sent
    CANCELLED = "cancelled"   # the client stopped (stop(), or the platform's TERMINATE) first


@dataclass(frozen=True)
class Outcome:
    """The final word on one recipient of one message."""

    recipient: str
    state: OutcomeState
    status: str = ""          # report Stat (DELIVRD, DTBLACK, CA:0001 ...) or "R<result>"
    detail: str = ""          # a sentence for people
    msg_ids: tuple[str, ...] = ()  # hex ids of the parts the platform accepted
    # True when a SUBMIT of this recipient may have been accepted more than once (it was
    # sent again by the session after response_timeout, or resubmitted after a link loss
    # while the first copy's fate was unknown): the handset may get the message twice.
    possible_duplicate: bool = False

    @property
    def ok(self) -> bool:
        return self.state is OutcomeState.DELIVERED


class SubmissionListener(Protocol):
    """Progress of one submission, recipient by recipient, for a durable store (the
    workspace's outbox) that must know more than the final outcomes.  Pass one to
    ``Client.send(..., listener=...)``; every method is called synchronously from the
    pipeline, so keep them cheap (buffer, then write in :meth:`before_write`).

    * :meth:`on_written` -- a SUBMIT to ``numbers`` is being written now (under a new
      Sequence_Id: a first send, or a resubmission after 10004/10005/a link loss);
    * :meth:`before_write` -- called once the SUBMITs of one pass have been announced and
      *before* they are queued for the connection: a store that commits here knows of every
      SUBMIT that may have reached the platform, even if the process is killed right after.
      Should it raise (the store cannot write), the client sends none of the pass: its
      SUBMITs go back to the front of the queue and are announced again on the next try;
    * :meth:`on_accepted` -- the platform accepted one SUBMIT: ``accepted`` lists, for each
      of its recipients still without an outcome, ``(number, msg_id, every_part)``: the
      Msg_Id of this part (shown as in ``Outcome.msg_ids``) and whether every part of the
      recipient's message is now accepted (one call per SUBMIT_RESP, not per recipient;
      before the outcome of a recipient whose report came ahead of its SUBMIT_RESP);
    * :meth:`on_possible_duplicate` -- ``number`` was just flagged possible duplicate;
    * :meth:`on_outcome` -- the final outcome of one recipient (rejected numbers are final
      before ``send`` returns: read them from ``submission.outcomes``).
    """

    def on_written(self, submission: Submission, numbers: list[str]) -> None: ...
    def before_write(self) -> None: ...
    def on_accepted(self, submission: Submission, accepted: list[tuple[str, str, bool]]) -> None: ...
    def on_possible_duplicate(self, submission: Submission, number: str) -> None: ...
    def on_outcome(self, submission: Submission, outcome: Outcome) -> None: ...


class Backpressure(SmsdkError):
    """Too many recipients are being tracked; wait for outcomes before sending more."""


class OnLinkLoss(enum.Enum):
    """What happens to a SUBMIT that got no SUBMIT_RESP: the link dropped while it was in
    flight, or it expired after ``max_attempts`` sends (``DispatchSettings.on_link_loss``)."""

    RESUBMIT = "resubmit"   # at-least-once: sent again after reconnecting; flagged possible_duplicate
    FAIL = "fail"           # at-most-once: its recipients fail (status LINKLOSS), never sent again


@dataclass(frozen=True)
class DispatchSettings:
    group_send_limit: int = 5           # numbers per SUBMIT (FAQ-2.2.5)
    rate: float = 100.0                 # SMS per second, per recipient per segment (FAQ-2.2.3)
    burst: float | None = None          # bucket size; default = rate
    long_mode: str = "concat"           # or "pieces" (RULES.md splitting table)
    limits: Any = None                  # text.Limits; None = text.DEFAULT_LIMITS
    report_timeout: float = 48 * 3600 + 3600   # 48 h plus a margin (FAQ-2.2.1)
    on_link_loss: OnLinkLoss = OnLinkLoss.RESUBMIT
    rate_limited_pause: float = 1.0     # after 10004: pause the bucket this long
    busy_backoff_initial: float = 1.0   # after 10005: first backoff; doubles per round, with jitter
    busy_backoff_max: float = 60.0
    max_resubmits: int = 20             # 10004/10005/link-loss retries of one SUBMIT before failing
    max_tracked: int = 1_000_000        # recipients without an outcome yet (backpressure above)
    early_report_memory: float = 300.0  # keep reports that arrive before their SUBMIT_RESP
    final_report_memory: int = 200_000  # Msg_Ids of finished recipients remembered (the newest
                                        # half at least), so that a repeated report is ignored
    src_id: str = ""                    # default Src_Id (the account number, optional extension)
    service_id: str = ""
    registered_delivery: int = 1

    def __post_init__(self) -> None:
        if self.group_send_limit < 1:
            raise ValueError("group_send_limit must be at least 1")
        if self.rate <= 0:
            raise ValueError("rate must be positive")
        if self.long_mode not in ("concat", "pieces"):
            raise ValueError("long_mode must be 'concat' or 'pieces'")
        if self.final_report_memory < 2:
            raise ValueError("final_report_memory must be at least 2")
        object.__setattr__(self, "on_link_loss", OnLinkLoss(self.on_link_loss))


class Submission:
    """One message to many recipients: its outcomes fill in as responses and reports come."""

    def __init__(self, message_id: int, text_: str, recipients: tuple[str, ...],
                 plan: Any, rejected: Iterable[numbers.Checked], duplicates: int) -> None:
        self.message_id = message_id
        self.text = text_
        self.recipients = recipients  # the valid numbers, normalised, in first-seen order
        self.plan = plan
        # inputs dropped as repeats: a number seen again after normalisation (sent once), or
        # an invalid input given again verbatim (one rejected outcome)
        self.duplicates_dropped = duplicates
        # recipients flagged Outcome.possible_duplicate (their SUBMIT may have been accepted
        # twice): the numbers, with or without a final outcome yet, and how many they are
        self.flagged: set[str] = set()
        self.possible_duplicates = 0
        self.outcomes: dict[str, Outcome] = {}
        self.accepted: set[str] = set()
        self._callbacks: list[Callable[[Submission], None]] = []
        self._deferred: Any = None
        # told of every SUBMIT written, part accepted and outcome (set by Dispatcher.add)
        self.listener: SubmissionListener | None = None
        for checked in rejected:  # (numbers.check_all gives each refused input once)
            assert checked.rejection is not None
            self.outcomes[checked.given] = Outcome(checked.given, OutcomeState.REJECTED, "",
                                                   checked.rejection.value)
        self._expected = len(recipients) + len(self.outcomes)

    @property
    def done(self) -> bool:
        return len(self.outcomes) >= self._expected

    @property
    def pending(self) -> int:
        return self._expected - len(self.outcomes)

    def counts(self) -> dict[str, int]:
        result = {state.value: 0 for state in OutcomeState}
        for outcome in self.outcomes.values():
            result[outcome.state.value] += 1
        return result

    @property
    def deferred(self) -> Any:
        """A Twisted Deferred that fires with this submission when every recipient has an
        outcome (one Deferred per submission; from asyncio use ``.asFuture(loop)``)."""
        if self._deferred is None:
            from twisted.internet.defer import Deferred

            self._deferred = Deferred()
            self.add_done_callback(self._deferred.callback)
        return self._deferred

    def add_done_callback(self, callback: Callable[[Submission], None]) -> None:
        if self.done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def outcome(self, recipient: object) -> Outcome | None:
        """The outcome of ``recipient`` written any way it was given (``"+86 138-0013-8000"``
        finds ``"13800138000"``), or None while it has none."""
        checked = numbers.check(recipient)
        return self.outcomes.get(checked.number if checked.number is not None else checked.given)

    def is_flagged(self, recipient: object) -> bool:
        """True when ``recipient`` (written any way) may have been accepted twice, whether
        or not it has a final outcome yet (its outcome then says ``possible_duplicate``)."""
        checked = numbers.check(recipient)
        return (checked.number if checked.number is not None else checked.given) in self.flagged

    def _flag(self, number: str) -> None:
        """Flag ``number`` as a possible duplicate (counted once); an outcome that was final
        before the possible duplicate became known is flagged too."""
        if number in self.flagged:
            return
        self.flagged.add(number)
        self.possible_duplicates += 1
        outcome = self.outcomes.get(number)
        if outcome is not None and not outcome.possible_duplicate:
            self.outcomes[number] = replace(outcome, possible_duplicate=True)

    def _resolve(self, outcome: Outcome) -> bool:
        if outcome.recipient in self.outcomes:
            return False
        self.outcomes[outcome.recipient] = outcome
        if self.listener is not None:
            self.listener.on_outcome(self, outcome)
        if self.done:
            callbacks, self._callbacks = self._callbacks, []
            for callback in callbacks:
                callback(self)
        return True

    def __repr__(self) -> str:
        return f"<Submission #{self.message_id} {len(self.outcomes)}/{self._expected} {self.counts()}>"


@dataclass(slots=True)
class _Recipient:
    submission: Submission
    number: str
    parts_total: int
    delivered_parts: int = 0
    msg_ids: list[bytes] = field(default_factory=list)  # raw ids of the accepted parts
    done: bool = False
    possible_duplicate: bool = False


@dataclass(slots=True)
class SubmitJob:
    """One SUBMIT: one part of one message to one chunk of recipients."""

    submission: Submission
    recipients: list[_Recipient]
    part: Any
    pdu: Any
    resubmits: int = 0
    cancelled: bool = False
    accepted: bool = False
    sent_at: float | None = None  # when it was last written (pop_ready; submit→response latency)
    # Copies of this SUBMIT the platform may have accepted (possible duplicates):
    copies: int = 0         # written under the current Sequence_Id (1 + the session's resends)
    unknown: int = 0        # written earlier, never answered: their fate is unknown
    accepted_copies: int = 0  # answered "accepted"

    @property
    def cost(self) -> int:
        return len(self.recipients)


class Dispatcher:
    """Sans-IO sending pipeline for one account (see the module docstring)."""

    def __init__(self, dialect: Dialect = Dialect.EMPP, settings: DispatchSettings | None = None,
                 *, now: float = 0.0, rng: random.Random | None = None,
                 signature: str = "") -> None:
        self.dialect = Dialect(dialect)
        self.settings = settings or DispatchSettings()
        self.signature = signature
        self._rng = rng or random.Random()
        burst = self.settings.burst if self.settings.burst is not None else self.settings.rate
        self._bucket = TokenBucket(self.settings.rate, max(burst, 1.0), now)  # holds at least 1
        self._queue: deque[SubmitJob] = deque()
        self._by_msgid: dict[bytes, tuple[_Recipient, bytes | None]] = {}
        self._expiries: deque[tuple[float, _Recipient]] = deque()
        self._early_reports: OrderedDict[bytes, tuple[float, Any]] = OrderedDict()
        # Msg_Id keys of recipients already final: a report for one of these is a repeat (the
        # platform resent it after a link drop) or came after the outcome (expired, cancelled);
        # it is counted and ignored.  Two generations of final_report_memory / 2 keys each: the
        # newest final_report_memory / 2 at least are remembered, never more than the setting.
        self._final_ids: set[bytes] = set()
        self._final_ids_old: set[bytes] = set()
        self._final_generation = max(1, self.settings.final_report_memory // 2)
        self.ignored_reports = 0
        self._tracked = 0
        self._next_message_id = 1
        self._udh_reference = 0
        # 10005 overload episodes: the current backoff, when it began (None: not busy)
        # and until when nothing is written.  See _on_busy.
        self._busy_backoff = 0.0
        self._busy_since: float | None = None
        self._busy_until = now
        self.unmatched_reports: deque[Any] = deque(maxlen=10_000)
        # recipients flagged Outcome.possible_duplicate (a SUBMIT maybe accepted twice)
        self.possible_duplicates = 0
        # seconds from writing a SUBMIT to its SUBMIT_RESP (most recent 100 000), for monitoring
        self.response_latencies: deque[float] = deque(maxlen=100_000)

    # -- admission ---------------------------------------------------------------------------

    @property
    def tracked(self) -> int:
        """Recipients with no outcome yet."""
        return self._tracked

    @property
    def queued(self) -> int:
        return len(self._queue)

    def add(self, text_: str, to: Iterable[object] | numbers.Recipients, *, signature: str | None = None,
            at: datetime | None = None, src_id: str | None = None, now: float,
            listener: SubmissionListener | None = None) -> Submission:
        """Plan a message and queue its SUBMITs (``listener``: see :class:`SubmissionListener`).
        Raises PlanError for a text that cannot be sent, :class:`Backpressure` when too many recipients are tracked already, and
        TypeError when ``to`` is not a collection of numbers (a bare string is refused: it
        would be a list of one-character "numbers").  ``to`` may also be the result of
        :func:`smsdk.numbers.check_all`, used as it is."""
        # a list checked already with numbers.check_all (the workspace's outbox stores its
        # campaigns checked) is taken as it is: 100 000 numbers are not checked twice
        checked = to if isinstance(to, numbers.Recipients) else numbers.check_all(_recipient_list(to))
        if self._tracked + len(checked.numbers) > self.settings.max_tracked and self._tracked:
            raise Backpressure(
                f"{self._tracked} recipients are awaiting outcomes (max_tracked "
                f"{self.settings.max_tracked}); wait for some to finish"
            )
        if src_id is not None:
            check_submit_fields(self.dialect, src_id=src_id)
        signature = self.signature if signature is None else signature
        limits = self.settings.limits or text.DEFAULT_LIMITS
        plan = text.plan(text_, signature=signature, mode=self.settings.long_mode, limits=limits,
                         udh_reference=self._udh_reference)
        if any(part.tp_udhi for part in plan.parts):
            self._udh_reference = (self._udh_reference + 1) % 256
        submission = Submission(self._next_message_id, text_, checked.numbers, plan,
                                checked.rejected, len(checked.duplicates))
        submission.listener = listener
        self._next_message_id += 1
        at_time = format_at_time(at) if at is not None else ""
        src = self.settings.src_id if src_id is None else src_id
        # A SUBMIT costs one token per number per segment (FAQ-2.2.3): a chunk larger than the
        # account's bucket could never be accepted, so chunks never exceed the burst either.
        limit = max(1, min(self.settings.group_send_limit, int(self._bucket.burst)))
        for start in range(0, len(checked.numbers), limit):
            chunk = [
                _Recipient(submission, number, len(plan.parts))
                for number in checked.numbers[start:start + limit]
            ]
            self._tracked += len(chunk)
            for part in plan.parts:
                pdu = codec.Submit(
                    pk_total=part.pk_total,
                    pk_number=part.pk_number,
                    registered_delivery=self.settings.registered_delivery,
                    msg_fmt=part.msg_fmt,
                    tp_udhi=part.tp_udhi,
                    at_time=at_time,
                    src_id=src,
                    service_id=self.settings.service_id,
                    dest_terminal_id=tuple(r.number for r in chunk),
                    msg_content=part.content,
                )
                self._queue.append(SubmitJob(submission, chunk, part, pdu))
        return submission  # (done at once when every number was refused)

    # -- pacing ------------------------------------------------------------------------------

    def next_ready_time(self, now: float) -> float | None:
        """When the next SUBMIT may go (None: nothing queued)."""
        self._drop_cancelled()
        if not self._queue:
            return None
        return max(self._bucket.ready_at(self._queue[0].cost, now), self._busy_until)

    def pop_ready(self, now: float) -> SubmitJob | None:
        """The next SUBMIT to write, if the bucket allows it now (tokens are taken)."""
        ready = self.next_ready_time(now)
        if ready is None or ready > now:
            return None
        job = self._queue.popleft()
        self._bucket.take(job.cost, now)
        job.copies = 1  # the caller writes it now, under a new Sequence_Id
        job.sent_at = now
        if job.unknown:
            self._flag(job)  # an earlier copy's fate is unknown: it may have been accepted too
        listener = job.submission.listener
        if listener is not None:
            listener.on_written(job.submission, [r.number for r in job.recipients if not r.done])
        return job

    def put_back(self, jobs: Sequence[SubmitJob]) -> None:
        """SUBMITs taken with :meth:`pop_ready` but not written after all (their store could
        not record them first): back to the front of the queue, in the order they were
        taken, their tokens returned; they are taken again (and told to the listener again)
        on the next pass."""
        for job in reversed(jobs):
            job.copies = 0
            job.sent_at = None
            self._bucket.give_back(job.cost)
            self._queue.appendleft(job)

    def _drop_cancelled(self) -> None:
        # cancelled, or every recipient already has an outcome (e.g. another part failed)
        while self._queue and (self._queue[0].cancelled or all(r.done for r in self._queue[0].recipients)):
            self._queue.popleft()

    # -- responses ---------------------------------------------------------------------------

    def on_submit_resp(self, job: SubmitJob, resp: Any, now: float) -> None:
        """The SUBMIT_RESP of ``job`` (matched by Sequence_Id in the session)."""
        if job.sent_at is not None:
            self.response_latencies.append(now - job.sent_at)
        code, outcome = submit_result(self.dialect, resp.result)
        accepted = outcome is SubmitOutcome.ACCEPTED
        if job.copies != 1 or job.unknown or job.accepted_copies:
            # the session sent it more than once, or an earlier copy went unanswered: the
            # copies not answered here may have been accepted as well
            job.unknown += max(0, job.copies - 1)
            job.copies = 0
            job.accepted_copies += accepted
            if job.accepted_copies + job.unknown >= 2:
                self._flag(job)
        else:
            job.copies = 0
            job.accepted_copies = accepted
        if job.accepted:
            # a late SUBMIT_RESP already accepted this job and the resubmission went out too:
            # its reports are not counted a second time (the job is flagged above)
            return
        if accepted:
            self._busy_backoff = 0.0  # the platform takes SUBMITs again: the episode is over
            self._busy_since = None
            self._accepted(job, resp.msg_id, now)
        elif outcome is SubmitOutcome.RATE_LIMITED:
            self._bucket.pause(now + self.settings.rate_limited_pause)
            if len(job.recipients) > 1:
                # the account's real rate may be below what we were told: a smaller SUBMIT
                # needs fewer tokens, so resubmit what was refused in two halves
                self._split(job, f"R{code.code}", code.meaning, now)
            else:
                self._retry(job, f"R{code.code}", code.meaning, now)
        elif outcome is SubmitOutcome.BUSY:
            self._on_busy(job, now)
            self._retry(job, f"R{code.code}", code.meaning, now)
        else:
            self._fail_job(job, f"R{code.code}", f"refused by the platform: {code.meaning}")

    def _on_busy(self, job: Any, now: float) -> None:
        """The platform is overloaded (10005): back off, with jitter, doubling once per round.

        A window of N SUBMITs in flight when the overload begins comes back as N refusals in
        a row; they are one episode, not N (doubling on each would take the backoff to
        ``busy_backoff_max`` at once).  So only a refusal of a SUBMIT written after the
        current backoff began (``_busy_since``) doubles it: one doubling per round of
        retries.  An accepted SUBMIT ends the episode (``_busy_since`` None, backoff reset).
        Shared with the HTTP pipeline (its jobs have ``sent_at`` from pop_ready too)."""
        since = self._busy_since
        if since is not None and job.sent_at is not None and job.sent_at <= since:
            return  # written before this backoff began: this episode is counted already
        self._busy_backoff = min(
            self.settings.busy_backoff_max,
            (self._busy_backoff * 2) if self._busy_backoff else self.settings.busy_backoff_initial,
        )
        self._busy_since = now
        self._busy_until = max(self._busy_until, now + self._busy_backoff * (0.5 + self._rng.random()))

    def on_submit_resent(self, job: SubmitJob) -> None:
        """The session wrote ``job`` again under the same Sequence_Id (no SUBMIT_RESP within
        response_timeout): the platform may accept both copies."""
        job.copies += 1
        self._flag(job)

    def on_late_submit_resp(self, job: SubmitJob, resp: Any, now: float) -> None:
        """A SUBMIT_RESP that arrived after the session gave up on it."""
        code, outcome = submit_result(self.dialect, resp.result)
        if job.unknown:
            job.unknown -= 1  # this copy's fate is known now
        if outcome is not SubmitOutcome.ACCEPTED:
            return  # it was refused anyway; what we did since stands
        job.accepted_copies += 1
        if job.accepted_copies + job.unknown + job.copies >= 2:
            self._flag(job)  # a resubmission is out (or was answered) too
        if job.accepted:
            return
        job.cancelled = True  # if queued for resubmission: accepted after all, do not resend
        self._accepted(job, resp.msg_id, now)

    def on_submit_lost(self, job: SubmitJob, reason: str, now: float) -> None:
        """The SUBMIT got no response (expired after N sends, or the link dropped)."""
        job.unknown += job.copies
        job.copies = 0
        if job.accepted_copies + job.unknown >= 2:
            self._flag(job)
        if job.accepted or job.cancelled:
            return
        if self.settings.on_link_loss is OnLinkLoss.RESUBMIT:
            self._retry(job, "LINKLOSS", reason, now)
        else:
            self._fail_job(job, "LINKLOSS", f"no SUBMIT_RESP ({reason}); it may or may not have been accepted")

    def _flag(self, job: SubmitJob) -> None:
        """Flag ``job``'s recipients as possible duplicates (each counted once)."""
        for recipient in job.recipients:
            if recipient.possible_duplicate:
                continue
            recipient.possible_duplicate = True
            self.possible_duplicates += 1
            recipient.submission._flag(recipient.number)
            listener = recipient.submission.listener
            if listener is not None:
                listener.on_possible_duplicate(recipient.submission, recipient.number)

    def _gave_up(self, job: SubmitJob, status: str, meaning: str) -> bool:
        """Fail the job's recipients when it has been resubmitted max_resubmits times already."""
        if job.resubmits < self.settings.max_resubmits:
            return False
        self._fail_job(job, status, f"gave up after {job.resubmits} retries: {meaning}")
        return True

    def _retry(self, job: SubmitJob, status: str, meaning: str, now: float) -> None:
        if not self._gave_up(job, status, meaning):
            job.resubmits += 1
            self._queue.appendleft(job)  # first in line: it was due before anything queued since

    def _split(self, job: SubmitJob, status: str, meaning: str, now: float) -> None:
        if self._gave_up(job, status, meaning):
            return
        half = len(job.recipients) // 2
        for recipients in (job.recipients[half:], job.recipients[:half]):  # front: first half first
            pdu = job.pdu.replace(dest_terminal_id=tuple(r.number for r in recipients))
            self._queue.appendleft(SubmitJob(job.submission, recipients, job.part, pdu,
                                             resubmits=job.resubmits + 1, unknown=job.unknown))

    def _accepted(self, job: SubmitJob, raw_msg_id: bytes, now: float) -> None:
        job.accepted = True
        empp = self.dialect == Dialect.EMPP
        base: EmppMsgId | CmppMsgId | None = None
        listener = job.submission.listener
        told: list[tuple[str, str, bool]] | None = [] if listener is not None else None
        early: list[bytes] = []
        for offset, recipient in enumerate(job.recipients):
            alias = None
            if offset == 0:
                ident = bytes(raw_msg_id)  # the common case (one number per SUBMIT): no arithmetic
            else:
                if base is None:
                    base = EmppMsgId(raw_msg_id) if empp else CmppMsgId.from_bytes(raw_msg_id)
                msg_id = base + offset
                ident = bytes(msg_id)
                if not empp:
                    # CMPP: the group's ids wrap within the 16-bit sequence (§2.10), but a gateway
                    # that counts the whole 64-bit value differs after 0xFFFF: listen for both.
                    plain = base.value + offset
                    if plain < 1 << 64 and plain != msg_id.value:
                        alias = plain.to_bytes(8, "big")
            key = ident[:8]  # EMPP: bytes 0-7 carry the id (FAQ-2.5.1)
            recipient.msg_ids.append(ident)
            if recipient.done:
                continue
            if told is not None:
                told.append((recipient.number, ident.hex() if empp else str(int.from_bytes(ident, "big")),
                             len(recipient.msg_ids) >= recipient.parts_total))
            recipient.submission.accepted.add(recipient.number)
            self._by_msgid[key] = (recipient, alias)
            if alias is not None:
                self._by_msgid[alias] = (recipient, key)
            if len(recipient.msg_ids) == 1:
                self._expiries.append((now + self.settings.report_timeout, recipient))
            if self._early_reports:
                for candidate in (key, alias):
                    if candidate is not None and candidate in self._early_reports:
                        early.append(candidate)
                        break
        if told and listener is not None:
            listener.on_accepted(job.submission, told)
        # reports that came before this answer: matched once the listener knows the Msg_Ids
        for candidate in early:
            report = self._early_reports.pop(candidate, None)
            if report is not None:
                self._on_matched_report(candidate, report[1])

    def _fail_job(self, job: SubmitJob, status: str, detail: str) -> None:
        for recipient in job.recipients:
            self._finish(recipient, OutcomeState.FAILED, status, detail)
        # the other parts of this chunk are useless now
        for other in self._queue:
            if other.recipients is job.recipients:
                other.cancelled = True

    # -- reports -----------------------------------------------------------------------------

    def on_report(self, report: Any, now: float) -> bool:
        """A status report (``StatusReport`` from a DELIVER).  Returns False when it matches
        nothing this dispatcher sent (it is then kept briefly in case its SUBMIT_RESP is
        still to come, and listed in ``unmatched_reports``)."""
        key = report.msg_id[:8]  # EMPP: bytes 0-7 carry the id (FAQ-2.5.1); CMPP ids are 8 bytes
        if key not in self._by_msgid:
            if key in self._final_ids or key in self._final_ids_old:
                self.ignored_reports += 1  # a repeat, or after the outcome: never a second one
                return True
            self._early_reports[key] = (now, report)
            self._trim_early(now)
            self.unmatched_reports.append(report)
            return False
        self._on_matched_report(key, report)
        return True

    def _on_matched_report(self, key: bytes, report: Any) -> None:
        recipient, alias = self._by_msgid.pop(key)
        final = self._final_ids  # (_remember_final, inline: once per report) a repeat is ignored
        final.add(key)
        if len(final) >= self._final_generation:
            self._final_ids_old, self._final_ids = final, set()
        if alias is not None:
            self._by_msgid.pop(alias, None)
            self._remember_final(alias)
        if recipient.done:
            self.ignored_reports += 1
            return
        stat = report.stat
        if stat == DELIVERED_STAT:
            recipient.delivered_parts += 1
            if recipient.delivered_parts >= recipient.parts_total:
                # every part's report came: no Msg_Id of it is left to forget
                self._finish(recipient, OutcomeState.DELIVERED, stat, "delivered", reported=True)
        elif stat == "EXPIRED":
            self._finish(recipient, OutcomeState.EXPIRED, stat, "the platform reported no delivery within 48 h")
        else:
            self._finish(recipient, OutcomeState.FAILED, stat, describe_stat(stat))

    def _remember_final(self, key: bytes) -> None:
        final = self._final_ids
        final.add(key)
        if len(final) >= self._final_generation:
            self._final_ids_old, self._final_ids = final, set()

    def _trim_early(self, now: float) -> None:
        horizon = now - self.settings.early_report_memory
        while self._early_reports:
            first_key, (at, _) = next(iter(self._early_reports.items()))
            if at >= horizon and len(self._early_reports) <= 100_000:
                break
            del self._early_reports[first_key]

    # -- time --------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` must run next for report expiry (None: nothing tracked)."""
        while self._expiries and self._expiries[0][1].done:
            self._expiries.popleft()
        return self._expiries[0][0] if self._expiries else None

    def on_timer(self, now: float) -> None:
        while self._expiries and (self._expiries[0][1].done or self._expiries[0][0] <= now):
            _, recipient = self._expiries.popleft()
            if not recipient.done:
                self._finish(recipient, OutcomeState.EXPIRED, "EXPIRED",
                             f"no status report within {self.settings.report_timeout / 3600:g} h")
        self._trim_early(now)

    # -- bookkeeping -------------------------------------------------------------------------

    def _finish(self, recipient: _Recipient, state: OutcomeState, status: str, detail: str,
                reported: bool = False) -> None:
        if recipient.done:
            return
        recipient.done = True
        self._tracked -= 1
        if not reported:
            self._forget_ids(recipient)
        if self.dialect == Dialect.EMPP:
            shown = tuple(raw.hex() for raw in recipient.msg_ids)
        else:
            shown = tuple(str(int.from_bytes(raw, "big")) for raw in recipient.msg_ids)
        recipient.submission._resolve(Outcome(recipient.number, state, status, detail, shown,
                                              recipient.possible_duplicate))

    def _forget_ids(self, recipient: _Recipient) -> None:
        """Parts still awaiting a report (expired, failed, cancelled): forget their Msg_Ids,
        and remember them as final, so that their report, should it come, is ignored."""
        by_msgid = self._by_msgid
        for raw in recipient.msg_ids:
            key = raw[:8]
            entry = by_msgid.pop(key, None)
            if entry is not None:
                self._remember_final(key)
                if entry[1] is not None:
                    by_msgid.pop(entry[1], None)
                    self._remember_final(entry[1])

    # -- stopping ------------------------------------------------------------------------------

    def cancel_all(self, why: str) -> int:
        """Give every recipient still without an outcome the final state CANCELLED (the
        client is stopping; ``why`` says why, e.g. "the client stopped").  Recipients whose
        SUBMITs were all accepted keep their Msg_Ids and say they still awaited a report.
        Call it once nothing is in flight any more (the connection is closed).  Returns the
        number of outcomes given."""
        before = self._tracked
        queue, self._queue = self._queue, deque()
        for job in queue:
            if job.cancelled:
                continue
            for recipient in job.recipients:
                if recipient.done:
                    continue
                if job.unknown:
                    detail = f"{why} before a SUBMIT_RESP; it may or may not have been accepted"
                elif recipient.msg_ids:
                    detail = (f"{len(recipient.msg_ids)} of {recipient.parts_total} parts accepted by "
                              f"the platform; {why} before the rest was sent")
                else:
                    detail = f"not sent: {why} first"
                self._finish(recipient, OutcomeState.CANCELLED, "CANCELLED", detail)
        expiries, self._expiries = self._expiries, deque()
        for _, recipient in expiries:
            self._finish(recipient, OutcomeState.CANCELLED, "CANCELLED",
                         f"accepted by the platform; {why} before its status report")
        return before - self._tracked


def check_submit_fields(dialect: Dialect, *, src_id: str | None = None, service_id: str | None = None,
                        src_id_name: str = "src_id") -> None:
    """Refuse a Src_Id / Service_Id that could never be put in a SUBMIT of ``dialect``
    (ValueError naming the argument): wrong width, not digits, not encodable."""
    for name, attr, value in ((src_id_name, "src_id", src_id), ("service_id", "service_id", service_id)):
        if value is None:
            continue
        if not isinstance(value, str):
            raise TypeError(f"{name} must be str, not {type(value).__name__}")
        fields: dict[str, Any] = {attr: value}  # one keyword of Submit
        try:
            codec.encode(codec.Submit(dest_terminal_id=("13800138000",), msg_content=b"x", **fields), 1, dialect)
        except ValueError as exc:
            raise ValueError(f"{name} {value!r} cannot be sent ({Dialect(dialect).name} SUBMIT): {exc}") from None


def _recipient_list(to: object) -> Iterable[object]:
    """``to`` as given to send(): a collection of numbers, never a bare string or None."""
    if isinstance(to, (str, bytes, bytearray)):
        raise TypeError(
            f"to must be a list (or other iterable) of numbers, not a single {type(to).__name__}: "
            f"write to=[{to!r}]"
        )
    if to is None or not isinstance(to, Iterable):
        raise TypeError(f"to must be a list (or other iterable) of numbers, not {type(to).__name__}")
    return to


def format_at_time(at: datetime) -> str:
    """SMPP absolute time for At_Time in China time: ``YYMMDDhhmmss032+`` (t=0, nn=32, '+')."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware (e.g. datetime(..., tzinfo=smsdk.dispatch.CHINA))")
    local = at.astimezone(CHINA)
    return local.strftime("%y%m%d%H%M%S") + "032+"
