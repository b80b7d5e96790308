"""The HTTP sending pipeline, sans-IO: message → chunks → requests → one outcome per recipient.

The HTTP twin of :class:`smsdk.dispatch.Dispatcher`, with the same settings
(:class:`~smsdk.dispatch.DispatchSettings`), the same token bucket and the same
:class:`~smsdk.dispatch.Submission` / :class:`~smsdk.dispatch.Outcome`:

* recipients are checked locally (smsdk.numbers): invalid and PHS numbers are ``rejected``
  and never sent; duplicates are sent once;
* the text is checked before anything is queued: at most 512 chars (FAQ-2.3.2), and a charset
  that holds it (GBK, else UTF-8 with ``charset=utf-8`` — see :mod:`smsdk.http.wire`);
* recipients go in chunks of at most ``group_send_limit`` numbers (FAQ-2.2.5), paced by a token
  bucket at ``rate`` that counts every recipient of every piece (ceil(len/60) SMS, FAQ-2.2.3);
* 10004 pauses the bucket and resubmits what was refused (in halves); 10005 backs off with
  jitter; a request that never reached the platform is retried; one whose answer was lost
  follows ``on_link_loss``; every other code fails the chunk's recipients with ``R<code>``;
* the platform's answer is a send id; reports are matched by (send id, mobile); a recipient
  with no report within ``report_timeout`` ends ``expired``;
* stopping: :meth:`HttpPipeline.cancel_queued` and :meth:`HttpPipeline.cancel_all` give every
  recipient still without an outcome the state ``cancelled``, like the EMPP pipeline.

The platform splits long HTTP texts itself and gives one send id per request: the first
report for (send id, mobile) is that recipient's outcome.
"""

from __future__ import annotations

import random
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from smsdk import numbers
from smsdk.codes import SubmitOutcome, describe_stat
from smsdk.errors import ClientStopped
from smsdk.dispatch import (
    DELIVERED_STAT,
    Backpressure,
    Dispatcher,
    DispatchSettings,
    OnLinkLoss,
    Outcome,
    OutcomeState,
    Submission,
)
from smsdk.ratelimit import TokenBucket
from smsdk.http import codes as C
from smsdk.http import wire


@dataclass(frozen=True)
class HttpPlan:
    """What the platform makes of the text: ``sms_per_recipient`` = ceil(len/60)."""

    text: str
    chars: int
    sms_per_recipient: int
    charset: str          # "gbk" or "utf-8"

    @property
    def encoding(self) -> str:
        return self.charset


class HttpSubmission(Submission):
    """A :class:`~smsdk.dispatch.Submission` sent over HTTP.  Besides the outcomes it records
    the platform's answers: ``send_ids`` (number → send id) and ``refusals`` (number → the
    exception that failed it before it was accepted: :class:`~smsdk.http.codes.HttpRefused`,
    :class:`~smsdk.http.codes.HttpError` for a lost answer, :class:`~smsdk.errors.ClientStopped`
    when the client stopped first).  ``submitted`` fires once every chunk has been answered for
    good (accepted or refused) or cancelled by a stop, before any report."""

    def __init__(self, message_id: int, text_: str, recipients: tuple[str, ...], plan: HttpPlan,
                 rejected: Iterable[numbers.Checked], duplicates: int, at: datetime | None,
                 track: bool) -> None:
        super().__init__(message_id, text_, recipients, plan, rejected, duplicates)
        self.at = at
        self.track = track
        self.send_ids: dict[str, str] = {}
        self.refusals: dict[str, Exception] = {}
        self._unanswered = 0
        self._submitted_callbacks: list[Callable[[HttpSubmission], None]] = []

    @property
    def all_answered(self) -> bool:
        return self._unanswered == 0

    def add_submitted_callback(self, callback: Callable[[HttpSubmission], None]) -> None:
        if self.all_answered:
            callback(self)
        else:
            self._submitted_callbacks.append(callback)

    @property
    def submitted(self) -> Any:
        """A new Deferred firing with this submission once the platform answered every chunk
        (a new one each time: a caller's timeout or cancel touches only its own)."""
        from twisted.internet.defer import Deferred

        waiter: Deferred[HttpSubmission] = Deferred()

        def fire(submission: HttpSubmission) -> None:
            if not waiter.called:
                waiter.callback(submission)

        self.add_submitted_callback(fire)
        return waiter

    def _chunk_answered(self) -> None:
        self._unanswered -= 1
        if self._unanswered == 0:
            callbacks, self._submitted_callbacks = self._submitted_callbacks, []
            for callback in callbacks:
                callback(self)


@dataclass(slots=True)
class _Recipient:
    submission: HttpSubmission
    number: str
    send_id: str = ""
    done: bool = False
    possible_duplicate: bool = False


@dataclass(slots=True)
class HttpJob:
    """One ``/httpserver`` request: the message to one chunk of recipients."""

    submission: HttpSubmission
    recipients: list[_Recipient]
    resubmits: int = 0
    accepted: bool = False
    finished: bool = False   # accepted or failed for good (no more requests)
    parent: HttpJob | None = field(default=None, repr=False)  # set on the halves of a split
    # Copies of this request the platform may have accepted, as in the EMPP pipeline:
    # `copies` is set by the shared pop_ready when it is sent; a request whose answer was lost
    # adds to `unknown` (on_lost), and pop_ready flags the job when it goes out again.
    copies: int = 0
    unknown: int = 0
    sent_at: float | None = None  # when it was last sent (pop_ready): busy episodes count it

    @property
    def cost(self) -> int:
        return len(self.recipients) * self.submission.plan.sms_per_recipient

    @property
    def numbers(self) -> list[str]:
        return [r.number for r in self.recipients]


class HttpPipeline:
    """Sans-IO: the transport pops ready jobs, sends them, and feeds back the answers."""

    # The parts that do not depend on what a job is are the EMPP pipeline's own.  A type
    # checker sees them with this pipeline's types (the functions are duck-typed on self).
    if TYPE_CHECKING:
        @property
        def tracked(self) -> int: ...
        @property
        def queued(self) -> int: ...
        def pop_ready(self, now: float) -> HttpJob | None: ...
        def next_deadline(self) -> float | None: ...
        def on_timer(self, now: float) -> None: ...
        def _trim_early(self, now: float) -> None: ...
        def _back_off(self, job: HttpJob, now: float) -> None: ...
        def _flag(self, job: HttpJob) -> None: ...
    else:
        tracked = Dispatcher.tracked          # recipients with no final word yet
        queued = Dispatcher.queued
        pop_ready = Dispatcher.pop_ready      # the next job if the bucket allows it now (tokens taken)
        next_deadline = Dispatcher.next_deadline  # when on_timer must run for report expiry
        on_timer = Dispatcher.on_timer        # expire recipients with no report within report_timeout
        _trim_early = Dispatcher._trim_early
        _back_off = Dispatcher._on_busy       # 10005 / no answer: back off, doubling once per round
        _flag = Dispatcher._flag              # possible duplicates, each recipient counted once

    def __init__(self, settings: DispatchSettings | None = None, *, now: float = 0.0,
                 rng: random.Random | None = None, charset: str = "auto") -> None:
        self.settings = settings or DispatchSettings()
        wire.choose_charset("x", charset)  # validates the name
        self.charset = charset
        self._rng = rng or random.Random()
        burst = self.settings.burst if self.settings.burst is not None else self.settings.rate
        self._bucket = TokenBucket(self.settings.rate, max(burst, 1.0), now)  # holds at least 1
        self._queue: deque[HttpJob] = deque()
        self._by_key: dict[tuple[str, str], _Recipient] = {}
        self._expiries: deque[tuple[float, _Recipient]] = deque()
        self._early_reports: OrderedDict[tuple[str, str], tuple[float, wire.ReportEvent]] = OrderedDict()
        self._tracked = 0
        self._next_message_id = 1
        self._busy_backoff = 0.0
        self._busy_since: float | None = None   # when the current backoff began (None: not busy)
        self._busy_until = now
        # recipients flagged Outcome.possible_duplicate (a request maybe accepted twice)
        self.possible_duplicates = 0
        self.unmatched_reports: deque[wire.ReportEvent] = deque(maxlen=10_000)

    # -- admission ---------------------------------------------------------------------------

    def add(self, text: str, to: Iterable[object], *, at: datetime | None = None, now: float,
            track: bool = True) -> HttpSubmission:
        """Check and queue a message.  PlanError (a ValueError) for a text over 512 chars or
        empty, TextEncodingError for a text the charset cannot hold, Backpressure when too many
        recipients are tracked.  ``track=False``: the recipients are forgotten once the platform
        answers (no outcomes from reports; see ``send_ids`` / ``refusals``)."""
        chars = wire.check_text(text)
        charset = wire.choose_charset(text, self.charset)
        if at is not None:
            wire.china_time(at)
        checked = numbers.check_all(to if not isinstance(to, str) else [to])
        if self._tracked + len(checked.numbers) > self.settings.max_tracked and self._tracked:
            raise Backpressure(f"{self._tracked} recipients are awaiting outcomes (max_tracked "
                               f"{self.settings.max_tracked}); wait for some to finish")
        plan = HttpPlan(text, chars, wire.pieces(chars), charset)
        submission = HttpSubmission(self._next_message_id, text, checked.numbers, plan, checked.rejected,
                                    len(checked.duplicates), at, track)
        self._next_message_id += 1
        limit = max(1, min(self.settings.group_send_limit, int(self._bucket.burst // plan.sms_per_recipient)))
        for start in range(0, len(checked.numbers), limit):
            chunk = [_Recipient(submission, number) for number in checked.numbers[start:start + limit]]
            self._tracked += len(chunk)
            submission._unanswered += 1
            self._queue.append(HttpJob(submission, chunk))
        return submission

    # -- pacing ------------------------------------------------------------------------------

    def next_ready_time(self, now: float) -> float | None:
        """When the next request may go (None: nothing queued)."""
        while self._queue and self._queue[0].finished:
            self._queue.popleft()
        if not self._queue:
            return None
        return max(self._bucket.ready_at(self._queue[0].cost, now), self._busy_until)

    # -- answers -----------------------------------------------------------------------------

    def on_accepted(self, job: HttpJob, send_id: str, now: float) -> None:
        """``/httpserver`` answered 100 with ``send_id``."""
        self._busy_backoff = 0.0  # the platform takes requests again: the episode is over
        self._busy_since = None
        if job.accepted:
            self._flag(job)  # accepted twice
            return
        job.accepted = True
        submission = job.submission
        for recipient in job.recipients:
            recipient.send_id = send_id
            submission.send_ids[recipient.number] = send_id
            submission.accepted.add(recipient.number)
            if not submission.track:
                recipient.done = True
                self._tracked -= 1
                continue
            key = (send_id, recipient.number)
            self._by_key[key] = recipient
            self._expiries.append((now + self.settings.report_timeout, recipient))
            early = self._early_reports.pop(key, None)
            if early is not None:
                self._on_matched(key, early[1])
        self._job_finished(job)

    def on_refused(self, job: HttpJob, code: int, now: float) -> None:
        """``/httpserver`` answered with a refusal code."""
        _, outcome = C.http_code(code)
        if outcome is SubmitOutcome.RATE_LIMITED:
            self._bucket.pause(now + self.settings.rate_limited_pause)
            if len(job.recipients) > 1:
                self._split(job, code)
            else:
                self._retry(job, code)
        elif outcome is SubmitOutcome.BUSY:
            self._back_off(job, now)
            self._retry(job, code)
        else:
            self._fail(job, f"R{code}", C.refusal(code, C.SEND_PATH))

    def on_not_sent(self, job: HttpJob, reason: str, now: float) -> None:
        """The request never reached the platform (connection refused ...): safe to retry."""
        self._back_off(job, now)
        self._retry(job, None, reason)

    def on_lost(self, job: HttpJob, reason: str, now: float) -> None:
        """The request was sent but its answer was lost (timeout, connection dropped): the
        platform may have accepted it.  ``on_link_loss`` decides (like EMPP)."""
        if job.finished:
            return
        job.unknown += max(job.copies, 1)  # it may have been accepted: a resend is a possible duplicate
        job.copies = 0
        if self.settings.on_link_loss is OnLinkLoss.RESUBMIT:
            self._back_off(job, now)
            self._retry(job, None, reason)
        else:
            self._fail(job, "LINKLOSS", C.HttpError(f"no answer ({reason}); it may or may not have been accepted"))

    def on_failed(self, job: HttpJob, status: str, error: Exception) -> None:
        """The request failed for good for a reason outside the §3b codes (an HTTP 4xx ...)."""
        if not job.finished:
            self._fail(job, status, error)

    def _gave_up(self, job: HttpJob, code: int | None, reason: str) -> bool:
        if job.resubmits < self.settings.max_resubmits:
            return False
        error: Exception = C.refusal(code, C.SEND_PATH) if code is not None else C.HttpError(reason)
        self._fail(job, f"R{code}" if code is not None else "LINKLOSS", error,
                   f"gave up after {job.resubmits} retries: ")
        return True

    def _retry(self, job: HttpJob, code: int | None, reason: str = "") -> None:
        if not self._gave_up(job, code, reason or C.http_code(code or 0)[0].meaning):
            job.resubmits += 1
            self._queue.appendleft(job)

    def _split(self, job: HttpJob, code: int) -> None:
        if self._gave_up(job, code, ""):
            return
        half = len(job.recipients) // 2
        job.finished = True  # replaced by its halves (one more answer to wait for)
        job.submission._unanswered += 1
        for recipients in (job.recipients[half:], job.recipients[:half]):
            self._queue.appendleft(HttpJob(job.submission, recipients, job.resubmits + 1, unknown=job.unknown))

    def _fail(self, job: HttpJob, status: str, error: Exception, prefix: str = "") -> None:
        detail = prefix + (error.args[0] if error.args else str(error))
        for recipient in job.recipients:
            job.submission.refusals[recipient.number] = error
            self._finish(recipient, OutcomeState.FAILED, status, detail)
        self._job_finished(job)

    def _job_finished(self, job: HttpJob) -> None:
        job.finished = True
        job.submission._chunk_answered()

    # -- stopping ----------------------------------------------------------------------------

    def cancel_queued(self, why: str) -> int:
        """Give the recipients of every queued request the final state CANCELLED (the client
        is stopping and sends nothing more; ``why`` says why, e.g. "the client stopped").
        Returns the number of outcomes given."""
        before = self._tracked
        queue, self._queue = self._queue, deque()
        for job in queue:
            if job.finished:
                continue
            if job.unknown:  # sent before, its answer lost: the platform may have it
                self._cancel_job(job, f"{why} before the platform answered; it may or may not have been accepted")
            else:
                self._cancel_job(job, f"not sent: {why} first")
        return before - self._tracked

    def cancel_all(self, why: str, in_flight: Iterable[HttpJob] = ()) -> int:
        """Give every recipient still without an outcome the final state CANCELLED: those of
        the requests ``in_flight`` (sent, no answer yet, abandoned by the caller: they may or
        may not have been accepted), those queued, and those accepted and awaiting a report
        (they keep their send id).  Returns the number of outcomes given."""
        before = self._tracked
        for job in in_flight:
            if not job.finished:
                self._cancel_job(job, f"{why} before the platform answered; it may or may not have been accepted")
        self.cancel_queued(why)
        expiries, self._expiries = self._expiries, deque()
        for _, recipient in expiries:
            self._finish(recipient, OutcomeState.CANCELLED, "CANCELLED",
                         f"accepted by the platform; {why} before its status report")
        return before - self._tracked

    def _cancel_job(self, job: HttpJob, detail: str) -> None:
        error = ClientStopped(detail)
        for recipient in job.recipients:
            if not recipient.done:
                job.submission.refusals[recipient.number] = error
                self._finish(recipient, OutcomeState.CANCELLED, "CANCELLED", detail)
        self._job_finished(job)

    # -- reports -----------------------------------------------------------------------------

    def on_report(self, report: wire.ReportEvent, now: float) -> bool:
        """A status report (polled or pushed).  False when it matches nothing sent by this
        pipeline (kept ``early_report_memory`` seconds in case its answer is still to come)."""
        key = (report.send_id, report.mobile)
        if key not in self._by_key:
            self._early_reports[key] = (now, report)
            self._trim_early(now)
            self.unmatched_reports.append(report)
            return False
        self._on_matched(key, report)
        return True

    def _on_matched(self, key: tuple[str, str], report: wire.ReportEvent) -> None:
        recipient = self._by_key.pop(key)
        stat = report.stat
        if stat == DELIVERED_STAT:
            self._finish(recipient, OutcomeState.DELIVERED, stat, "delivered")
        elif stat == "EXPIRED":
            self._finish(recipient, OutcomeState.EXPIRED, stat, "the platform reported no delivery within 48 h")
        else:
            self._finish(recipient, OutcomeState.FAILED, stat, describe_stat(stat))

    @property
    def awaiting_reports(self) -> list[str]:
        """Send ids with at least one recipient still waiting for its report."""
        return list(dict.fromkeys(send_id for send_id, _ in self._by_key))

    def _finish(self, recipient: _Recipient, state: OutcomeState, status: str, detail: str) -> None:
        if recipient.done:
            return
        recipient.done = True
        self._tracked -= 1
        self._by_key.pop((recipient.send_id, recipient.number), None)
        shown = (recipient.send_id,) if recipient.send_id else ()
        recipient.submission._resolve(Outcome(recipient.number, state, status, detail, shown,
                                              recipient.possible_duplicate))
