"""The HTTP path's client API (layer 5): the same one-outcome-per-recipient Submission as the
EMPP :class:`smsdk.Client`, with reports from a poller or from PUSH.

Example (Twisted)::

    sender = HttpSender("http://127.0.0.1:8000", enterprise_id="95102", account_id="000",
                        password="secret", reports="poll", on_mo=print)
    sender.start()                                   # starts the pollers
    submission = sender.send("验证码 123456", to=["13800138000", "+86 139-0013-9000"])
    yield submission.deferred                        # every recipient has an outcome
    yield sender.stop()                              # (any recipient left open: cancelled)

``reports`` chooses where outcomes come from:

* ``"poll"`` — :class:`~smsdk.http.poller.ReportPoller` (``/httpreport.sms``, 10 min, 1 h windows);
* ``"query"`` — :class:`~smsdk.http.poller.QueryPoller` (``/queryrptbyid.sms`` for the send
  ids awaiting reports, every 60 s): short jobs such as ``smsdk send --via http``;
* ``"push"`` — mount :meth:`HttpSender.push_resource` at the account's registered URL;
* ``"none"`` — feed reports yourself with :meth:`HttpSender.feed`.

``mo`` is ``"poll"`` (``/httpdeliver.sms`` every 5 min), ``"push"`` or ``"none"``.
Outcomes expire after ``report_timeout`` (DispatchSettings, 49 h) like EMPP.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from twisted.internet.defer import Deferred

from smsdk.http import wire
from smsdk.http.client import HttpClient
from smsdk.http.pipeline import HttpSubmission
from smsdk.http.poller import MoPoller, QueryPoller, ReportPoller
from smsdk.http.push import PushReceiver

REPORT_SOURCES = ("poll", "query", "push", "none")
MO_SOURCES = ("poll", "push", "none")


class HttpSender:
    def __init__(self, base_url: str, *, enterprise_id: str, account_id: str, password: str,
                 reports: str = "poll", mo: str = "none",
                 on_mo: Callable[[wire.MoEvent], Any] | None = None,
                 on_report: Callable[[wire.ReportEvent], Any] | None = None,
                 report_interval: float | None = None, mo_interval: float = 300.0,
                 since: datetime | None = None, **client_options: Any) -> None:
        if reports not in REPORT_SOURCES:
            raise ValueError(f"reports must be one of {', '.join(REPORT_SOURCES)}, not {reports!r}")
        if mo not in MO_SOURCES:
            raise ValueError(f"mo must be one of {', '.join(MO_SOURCES)}, not {mo!r}")
        self.client = HttpClient(base_url, enterprise_id=enterprise_id, account_id=account_id,
                                 password=password, **client_options)
        self.client.on_unmatched_report = self._unmatched
        self._on_mo = on_mo
        self._on_report = on_report
        self.mo_inbox: deque[wire.MoEvent] = deque(maxlen=10_000)
        self.unmatched_reports: deque[wire.ReportEvent] = deque(maxlen=10_000)
        self.reports = reports
        self.mo = mo
        self.report_poller: ReportPoller | QueryPoller | None = None
        if reports == "poll":
            self.report_poller = ReportPoller(self.client, self.feed, since=since,
                                              interval=report_interval or 600.0)
        elif reports == "query":
            self.report_poller = QueryPoller(self.client, self.feed, interval=report_interval or 60.0)
        self.mo_poller = MoPoller(self.client, self.feed, interval=mo_interval) if mo == "poll" else None

    def start(self, *, first_report_poll: float | None = None) -> None:
        """Start the pollers (the first report poll after ``first_report_poll`` seconds:
        by default one report interval, the first MO poll at once)."""
        if self.report_poller is not None:
            self.report_poller.start(self.report_poller.interval if first_report_poll is None else first_report_poll)
        if self.mo_poller is not None:
            self.mo_poller.start()

    def stop(self, *, drain: bool = False, timeout: float = 30.0) -> Deferred[None]:
        """Stop for good, like the EMPP client's stop (see :meth:`HttpClient.stop`): from the
        call on :meth:`send` raises :class:`~smsdk.errors.ClientStopped`; every recipient still
        without an outcome ends ``cancelled``; the Deferred fires once that is done, at most
        ``timeout`` seconds later.  Without ``drain`` the pollers stop at once and nothing more
        is sent; with ``drain=True`` the queued requests are sent and answered first, and the
        pollers keep bringing reports in until then."""
        done = self.client.stop(drain=drain, timeout=timeout)
        if not drain:
            self._stop_pollers()
        return done.addCallback(lambda _: self._stop_pollers())

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` was called (send() raises)."""
        return self.client.stopped

    def _stop_pollers(self) -> None:
        for poller in (self.report_poller, self.mo_poller):
            if poller is not None:
                poller.stop()

    def send(self, text: str, to: Iterable[object], *, at: datetime | None = None) -> HttpSubmission:
        """Queue ``text`` for every number in ``to``; see :meth:`HttpClient.send` (raises
        :class:`~smsdk.errors.ClientStopped` once :meth:`stop` was called)."""
        return self.client.send(text, to, at=at)

    def feed(self, event: wire.MoEvent | wire.ReportEvent) -> None:
        """An event from any source: a report resolves its outcome; an MO goes to ``on_mo``."""
        if isinstance(event, wire.ReportEvent):
            self.client.feed_report(event)
            return
        self.mo_inbox.append(event)
        if self._on_mo is not None:
            self._on_mo(event)

    def push_resource(self, **options: Any) -> PushReceiver:
        """A :class:`PushReceiver` that feeds this sender (mount it at the registered URL)."""
        return PushReceiver(self.feed, **options)

    def _unmatched(self, report: wire.ReportEvent) -> None:
        self.unmatched_reports.append(report)
        if self._on_report is not None:
            self._on_report(report)
