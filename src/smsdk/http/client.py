"""The HTTP client on treq (layer 4): the §3b wire functions over real HTTP requests.

Example::

    from smsdk.http import HttpClient

    client = HttpClient("http://127.0.0.1:8000", enterprise_id="95102", account_id="000",
                        password="secret")
    result = yield client.submit("验证码 123456", ["13800138000"])   # SubmitResult
    print(result.send_id)

``submit`` checks the text (≤ 512 chars, a charset that holds it) and the numbers before
anything is sent, chunks them to ``group_send_limit``, paces to ``rate`` and retries 10004 /
10005 like the EMPP pipeline (it is :class:`~smsdk.http.pipeline.HttpPipeline` underneath).
``send`` returns a :class:`~smsdk.dispatch.Submission` whose outcomes resolve from reports fed
to :meth:`HttpClient.feed_report` (:class:`~smsdk.http.sender.HttpSender` wires pollers or PUSH
to it).  :meth:`HttpClient.stop` ends it for good like the EMPP client's stop: every recipient
still without an outcome ends ``cancelled``, and ``send`` raises ClientStopped.  Every request
carries ``timestamp`` + ``auth`` from the injected ``wallclock``; the password itself never
leaves the process.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from twisted.internet import defer
from twisted.internet.error import ConnectError, DNSLookupError
from twisted.python.failure import Failure

from smsdk import numbers
from smsdk.dispatch import DispatchSettings
from smsdk.errors import ClientStopped
from smsdk.http import codes as C
from smsdk.http import wire
from smsdk.http.pipeline import HttpJob, HttpPipeline, HttpSubmission
from smsdk.deferreds import follow

log = logging.getLogger("smsdk.http")

_NotTransmitted: type[Exception]
try:  # the request never reached the server: safe to send again
    from twisted.web._newclient import RequestTransmissionFailed

    _NotTransmitted = RequestTransmissionFailed
except ImportError:  # pragma: no cover
    _NotTransmitted = ConnectError
_NOT_SENT = (ConnectError, DNSLookupError, _NotTransmitted)


@dataclass(frozen=True)
class SubmitResult:
    """The platform's answers to one :meth:`HttpClient.submit`."""

    send_ids: dict[str, str]            # number → send id (one per chunk of ≤ group_send_limit)
    refused: dict[str, Exception]       # number → why the platform refused it (after retries)
    duplicates_dropped: int = 0

    @property
    def send_id(self) -> str:
        """The send id, when every number went in one request (≤ group_send_limit numbers)."""
        ids = set(self.send_ids.values())
        if len(ids) != 1:
            raise ValueError(f"{len(ids)} send ids (one per chunk): see send_ids")
        return ids.pop()


class HttpClient:
    """One HTTP account: submit, poll, query; paced and retried by construction."""

    def __init__(self, base_url: str, *, enterprise_id: str, account_id: str, password: str,
                 reactor: Any = None, http: Any = None, wallclock: Callable[[], datetime] | None = None,
                 charset: str = "auto", dispatch_settings: DispatchSettings | None = None,
                 timeout: float = 30.0, max_in_flight: int = 4,
                 min_poll_interval: float = C.MIN_POLL_INTERVAL, rng: random.Random | None = None) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http:// or https:// URL, not {base_url!r}")
        if min_poll_interval < C.MIN_POLL_INTERVAL:
            raise ValueError(f"min_poll_interval must be at least {C.MIN_POLL_INTERVAL:g} s (FAQ-3.4.2)")
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.reactor = reactor
        self.base_url = base_url.rstrip("/")
        self.account = wire.Account(enterprise_id, account_id, password)
        if http is None:
            from treq.client import HTTPClient
            from twisted.web.client import Agent, HTTPConnectionPool

            http = HTTPClient(Agent(reactor, pool=HTTPConnectionPool(reactor)))
        self._http = http
        self._wallclock = wallclock or (lambda: datetime.now(wire.CHINA))
        self.timeout = timeout
        self.max_in_flight = max_in_flight
        self.min_poll_interval = min_poll_interval
        self.pipeline = HttpPipeline(dispatch_settings, now=reactor.seconds(), rng=rng, charset=charset)
        self._in_flight = 0
        self._requests: dict[defer.Deferred[Any], HttpJob] = {}  # /httpserver requests awaiting answers
        self._wake: Any = None
        self._last_poll: dict[str, float] = {}
        self._polling: set[str] = set()
        self._stopped = False              # no more requests (set when a stop sends nothing more)
        self.stopped_because: str | None = None  # why the client stopped (send() then raises)
        self._stop_done: defer.Deferred[None] | None = None  # fires once every outcome is given
        self._stop_timer: Any = None
        self._stop_finished = False
        self.on_unmatched_report: Callable[[wire.ReportEvent], Any] | None = None

    # -- sending -----------------------------------------------------------------------------

    def submit(self, text: str, numbers_: Iterable[object], at_time: datetime | None = None) -> defer.Deferred:
        """Send ``text`` to ``numbers_``; fires with a :class:`SubmitResult` once the platform
        answered every chunk, or fails with the refusal (AuthenticationFailed for 102 ...)
        when no chunk was accepted.  Raises at once (nothing sent): PlanError for an empty or
        over-512-char text, TextEncodingError for a text the charset cannot hold, ValueError
        for numbers that are not mainland mobile numbers."""
        self._check_running()
        given = [numbers_] if isinstance(numbers_, str) else list(numbers_)
        bad = [c for c in map(numbers.check, given) if c.number is None]
        if bad:
            shown = "; ".join(f"{c.given!r}: {c.rejection.value}" for c in bad[:5] if c.rejection)
            raise ValueError(f"{len(bad)} number(s) refused, nothing sent: {shown}")
        if not given:
            raise ValueError("numbers is empty")
        submission = self.pipeline.add(text, given, at=at_time, now=self.reactor.seconds(), track=False)
        self._pump()
        return submission.submitted.addCallback(_submit_result)

    def send(self, text: str, to: Iterable[object], *, at: datetime | None = None) -> HttpSubmission:
        """Queue ``text`` for every number in ``to``; returns a Submission at once whose
        outcomes resolve as reports are fed in (invalid numbers end ``rejected``).  Raises
        :class:`~smsdk.errors.ClientStopped` once :meth:`stop` was called."""
        self._check_running()
        submission = self.pipeline.add(text, to, at=at, now=self.reactor.seconds(), track=True)
        self._pump()
        return submission

    def feed_report(self, report: wire.ReportEvent) -> bool:
        """A report from any source; False (and ``on_unmatched_report``) when it matches nothing."""
        matched = self.pipeline.on_report(report, self.reactor.seconds())
        if not matched and self.on_unmatched_report is not None:
            self.on_unmatched_report(report)
        self._arm()
        return matched

    def stop(self, *, drain: bool = False, timeout: float = 30.0) -> defer.Deferred[None]:
        """Stop for good and give every recipient still without an outcome the final state
        ``cancelled``, like :meth:`smsdk.Client.stop`.  The Deferred fires once that is done
        (every ``submission.deferred`` has fired by then), at most ``timeout`` seconds later.

        From the call on, :meth:`send` and :meth:`submit` raise
        :class:`~smsdk.errors.ClientStopped`.  Without ``drain`` nothing more is sent: the
        queued recipients are cancelled at once ("not sent"), and the requests already in
        flight get their answers (their send ids).  ``drain=True`` first sends what is queued,
        at the rate, and waits for the answers.  Either way, once nothing is in flight or
        ``timeout`` has passed, the requests still unanswered are abandoned (their recipients
        "may or may not have been accepted"), whatever is left queued is cancelled, and so are
        the accepted recipients still awaiting a report (they keep their send id in
        ``msg_ids``).  Calling it again returns the same end."""
        if self._stop_done is None:
            self.stopped_because = "the client stopped"
            self._stop_done = defer.Deferred()
            if not drain:
                self._halt()
                self._log_cancelled(self.pipeline.cancel_queued(self.stopped_because))
            self._stop_timer = self.reactor.callLater(max(0.0, timeout), self._finish_stop)
            self._pump()  # (drain: sends what it may now; either way checks whether all is done)
        return follow(self._stop_done)

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` was called (send() raises)."""
        return self.stopped_because is not None

    def _check_running(self) -> None:
        if self.stopped_because is not None:
            raise ClientStopped(f"cannot send: {self.stopped_because}")

    def _halt(self) -> None:
        """Send no more requests and cancel the timer."""
        self._stopped = True
        if self._wake is not None and self._wake.active():
            self._wake.cancel()
        self._wake = None

    def _finish_stop(self) -> None:
        """The end of a stop: abandon the requests still in flight, cancel every recipient
        still without an outcome, fire stop()'s Deferred."""
        done = self._stop_done
        if done is None or self._stop_finished:
            return
        self._stop_finished = True  # (cancelling a request below comes back here through _pump)
        if self._stop_timer is not None and self._stop_timer.active():
            self._stop_timer.cancel()
        self._stop_timer = None
        self._halt()
        requests, self._requests = self._requests, {}
        why = self.stopped_because or "the client stopped"
        self._log_cancelled(self.pipeline.cancel_all(why, in_flight=requests.values()))
        for request in requests:
            request.cancel()  # (their answers, should they come, are ignored)
        done.callback(None)

    def _log_cancelled(self, cancelled: int) -> None:
        if cancelled:
            log.info("%d recipients cancelled: %s", cancelled, self.stopped_because)

    def _stop_when_idle(self) -> None:
        """A stop ends as soon as nothing is in flight (and, draining, nothing is queued)."""
        if self._stop_done is None or self._stop_finished or self._in_flight:
            return
        if self._stopped or self.pipeline.next_ready_time(self.reactor.seconds()) is None:
            self._finish_stop()

    def _pump(self) -> None:
        if not self._stopped:
            now = self.reactor.seconds()
            while self._in_flight < self.max_in_flight:
                job = self.pipeline.pop_ready(now)
                if job is None:
                    break
                self._send_job(job)
            self._arm()
        self._stop_when_idle()

    def _arm(self) -> None:
        if self._stopped:
            return
        now = self.reactor.seconds()
        deadlines = [self.pipeline.next_deadline()]
        if self._in_flight < self.max_in_flight:
            deadlines.append(self.pipeline.next_ready_time(now))
        found = [d for d in deadlines if d is not None]
        if not found:
            return
        at = min(found)
        if self._wake is not None and self._wake.active():
            if self._wake.getTime() <= at:
                return
            self._wake.cancel()
        self._wake = self.reactor.callLater(max(0.0, at - now), self._on_wake)

    def _on_wake(self) -> None:
        self._wake = None
        self.pipeline.on_timer(self.reactor.seconds())
        self._pump()

    def _send_job(self, job: HttpJob) -> None:
        self._in_flight += 1
        submission = job.submission
        request = wire.encode_submit(self.account, job.numbers, submission.text, timestamp=self._timestamp(),
                                     at_time=submission.at, charset=self.pipeline.charset)
        d = self._request(request)
        self._requests[d] = job

        def answered(body: bytes) -> None:
            if self._requests.pop(d, None) is None:
                return  # abandoned by stop(): its recipients are cancelled already
            now = self.reactor.seconds()
            try:
                send_id = wire.parse_submit_response(body)
            except C.HttpRefused as exc:
                if isinstance(exc, C.AuthenticationFailed):
                    log.error("%s", exc)
                self.pipeline.on_refused(job, exc.code, now)
            except C.HttpProtocolError as exc:
                log.warning("%s", exc)
                self.pipeline.on_lost(job, str(exc), now)
            else:
                self.pipeline.on_accepted(job, send_id, now)

        def failed(failure: Failure) -> None:
            if self._requests.pop(d, None) is None:
                return
            now = self.reactor.seconds()
            if failure.check(*_NOT_SENT):
                log.warning("%s: not sent (%s); retrying", C.SEND_PATH, failure.getErrorMessage())
                self.pipeline.on_not_sent(job, failure.getErrorMessage(), now)
            elif isinstance(failure.value, C.HttpStatusError) and 400 <= failure.value.status < 500:
                self.pipeline.on_failed(job, f"HTTP{failure.value.status}", failure.value)
            else:
                reason = failure.getErrorMessage() or type(failure.value).__name__
                log.warning("%s: answer lost (%s)", C.SEND_PATH, reason)
                self.pipeline.on_lost(job, reason, now)

        def done(_: Any) -> None:
            self._in_flight -= 1
            self._pump()

        d.addCallbacks(answered, failed).addBoth(done)

    # -- polling -----------------------------------------------------------------------------

    def poll_ready_at(self, path: str, now: float | None = None) -> float:
        """The earliest time (reactor seconds) this process may call polling endpoint ``path``
        again: a minute after the previous call (FAQ-3.4.2); ``now`` (read from the reactor
        when not given) if it was never called."""
        last = self._last_poll.get(path)
        if last is None:
            return self.reactor.seconds() if now is None else now
        return last + self.min_poll_interval

    def _poll(self, request: wire.HttpRequest, parse: Callable[[bytes], wire.Polled]) -> defer.Deferred:
        path = request.path
        # One reading of the clock for the check and the record: a real reactor's clock moves
        # between two readings, and a second reading made the first poll look "too soon".
        now = self.reactor.seconds()
        if path in self._polling:
            return defer.fail(C.PollTooSoon(f"{path}: a call is still in flight"))
        last = self._last_poll.get(path)
        if last is not None and last + self.min_poll_interval > now:
            return defer.fail(C.PollTooSoon(f"{path} was called {now - last:.0f} s ago; "
                                            f"at most once every {self.min_poll_interval:g} s (FAQ-3.4.2)"))
        self._last_poll[path] = now
        self._polling.add(path)
        d = self._request(request)
        d.addCallback(parse)

        def release(result: Any) -> Any:
            self._polling.discard(path)
            return result

        return d.addBoth(release)

    def fetch_mo(self, *, keep: bool = True) -> defer.Deferred:
        """``/httpdeliver.sms``: fires with :class:`~smsdk.http.wire.Polled` MO events;
        ``keep=True`` asks the platform to delete what it returned (``keepdeliver=true``)."""
        request = wire.encode_deliver(self.account, timestamp=self._timestamp(), keep=keep)
        return self._poll(request, wire.parse_mo_response)

    def fetch_reports(self, start: datetime, end: datetime) -> defer.Deferred:
        """``/httpreport.sms`` for ``start``..``end`` (whole minutes, ≤ 1 h, within today and
        the 2 days before: ValueError otherwise, nothing sent)."""
        wire.check_window(start, end, self._wallclock())
        request = wire.encode_reports(self.account, timestamp=self._timestamp(), start=start, end=end)
        return self._poll(request, wire.parse_report_response)

    def query_reports(self, ids: Sequence[str]) -> defer.Deferred:
        """``/queryrptbyid.sms`` for send ids (unknown ids are left out of the answer)."""
        request = wire.encode_query(self.account, timestamp=self._timestamp(), ids=list(ids))
        return self._poll(request, lambda body: wire.parse_report_response(body, C.QUERY_PATH))

    # -- plumbing ----------------------------------------------------------------------------

    def now(self) -> datetime:
        """The wall clock (China time) the client signs with."""
        return wire.china_time(self._wallclock())

    def _timestamp(self) -> str:
        return wire.format_timestamp(self._wallclock())

    def _request(self, request: wire.HttpRequest) -> defer.Deferred:
        headers = {"Content-Type": [request.content_type]} if request.content_type else None
        d = defer.maybeDeferred(self._http.request, request.method, request.url(self.base_url),
                                data=request.body, headers=headers)
        d.addTimeout(self.timeout, self.reactor)

        def read(response: Any) -> defer.Deferred:
            content = getattr(self._http, "content", None)
            if content is None:
                import treq

                content = treq.content
            body = content(response)
            if response.code != 200:
                return body.addBoth(lambda _: Failure(C.HttpStatusError(response.code, request.path)))
            return body

        return d.addCallback(read)


def _submit_result(submission: HttpSubmission) -> SubmitResult:
    if not submission.send_ids and submission.refusals:
        error = next(iter(submission.refusals.values()))
        error.submission = submission  # type: ignore[attr-defined]
        raise error
    return SubmitResult(dict(submission.send_ids), dict(submission.refusals), submission.duplicates_dropped)
