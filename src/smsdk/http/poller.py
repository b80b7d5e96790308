"""Pollers for MO (``/httpdeliver.sms``) and status reports (``/httpreport.sms``,
``/queryrptbyid.sms``) that keep to the platform's limits by construction (FAQ-3.4.2).

* Never more than one call a minute per endpoint: every poller waits for
  :meth:`HttpClient.poll_ready_at`, which the client itself enforces (``PollTooSoon``).
* Report windows are at most 1 h and lie within today and the 2 days before.
  :class:`ReportWindows` (sans-IO) keeps the end of the last window fetched; the next window
  starts exactly there, so there is no gap and no overlap.  After downtime it walks the missed
  windows one per allowed call (``catch_up_interval``, ≥ 60 s) until it is current, then goes
  back to ``interval``.  Time older than the platform keeps cannot be queried: it is recorded
  in ``skipped`` and logged.
* Events are de-duplicated (a bounded memory of keys), so a window boundary the platform
  counts on both sides, or a retried call, never hands an event twice.

Time: ``reactor`` (a ``task.Clock`` in tests) schedules the calls; the client's ``wallclock``
(China time) chooses the windows.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure

from smsdk.http import codes as C
from smsdk.http import wire

log = logging.getLogger("smsdk.http.poller")


class Deduplicator:
    """Remembers the last ``memory`` keys; ``first(key)`` is True the first time only."""

    def __init__(self, memory: int = 100_000) -> None:
        if memory < 1:
            raise ValueError("memory must be at least 1")
        self.memory = memory
        self._seen: OrderedDict[Hashable, None] = OrderedDict()

    def first(self, key: Hashable) -> bool:
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self.memory:
            self._seen.popitem(last=False)
        return True

    def forget(self, key: Hashable) -> None:
        self._seen.pop(key, None)


def floor_minute(moment: datetime) -> datetime:
    return wire.china_time(moment).replace(second=0, microsecond=0)


class ReportWindows:
    """Sans-IO: which ``/httpreport.sms`` window to fetch next.

    ``last_end`` is where the next window starts (persist it to resume after a restart
    without a gap).  ``next_window(now)`` is ``(last_end, min(last_end + 1 h, now))`` in whole
    minutes, or None when there is nothing new; ``done(end)`` moves ``last_end`` after a
    successful fetch."""

    def __init__(self, since: datetime, *, window: float = C.REPORT_WINDOW_SECONDS) -> None:
        if not 60 <= window <= C.REPORT_WINDOW_SECONDS:
            raise ValueError(f"window must be 60..{C.REPORT_WINDOW_SECONDS} s (FAQ-3.4.2), not {window}")
        self.window = timedelta(seconds=window // 60 * 60)
        self.last_end = floor_minute(since)
        self.skipped: list[tuple[datetime, datetime]] = []

    def next_window(self, now: datetime) -> tuple[datetime, datetime] | None:
        current = floor_minute(now)
        earliest = wire.earliest_report_time(now)
        if self.last_end < earliest:
            self.skipped.append((self.last_end, earliest))
            log.warning("reports from %s to %s can no longer be queried (only today and the 2 days "
                        "before, FAQ-3.4.2): skipped", self.last_end, earliest)
            self.last_end = earliest
        end = min(self.last_end + self.window, current)
        if end <= self.last_end:
            return None
        return self.last_end, end

    def done(self, end: datetime) -> None:
        self.last_end = max(self.last_end, floor_minute(end))

    def behind(self, now: datetime) -> bool:
        """True when a full window is already due (catching up after downtime)."""
        return floor_minute(now) - self.last_end >= self.window


class _Poller:
    """Calls one endpoint at ``interval`` (and at ``catch_up_interval`` while behind or after a
    refusal), never sooner than the client allows."""

    path = ""

    def __init__(self, client: Any, *, interval: float, catch_up_interval: float,
                 dedup_memory: int = 100_000) -> None:
        floor = max(C.MIN_POLL_INTERVAL, client.min_poll_interval)
        if interval < floor:
            raise ValueError(f"interval must be at least {floor:g} s (FAQ-3.4.2: one call a minute per endpoint)")
        if catch_up_interval < floor:
            raise ValueError(f"catch_up_interval must be at least {floor:g} s (FAQ-3.4.2)")
        self.client = client
        self.reactor = client.reactor
        self.interval = float(interval)
        self.catch_up_interval = float(catch_up_interval)
        self.dedup = Deduplicator(dedup_memory)
        self._call: Any = None
        self._running = False
        self.polls = 0
        self.errors = 0
        self.duplicates = 0
        self.malformed: list[str] = []
        self.last_error: BaseException | None = None

    def start(self, delay: float = 0.0) -> None:
        """Start polling (the first call after ``delay`` seconds, or when the client allows)."""
        if not self._running:
            self._running = True
            self._schedule(delay)

    def stop(self) -> None:
        self._running = False
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None

    @property
    def running(self) -> bool:
        return self._running

    def _schedule(self, delay: float) -> None:
        if not self._running:
            return
        now = self.reactor.seconds()
        at = max(now + delay, self.client.poll_ready_at(self.path, now))
        self._call = self.reactor.callLater(at - now, self._tick)

    def _tick(self) -> None:
        self._call = None
        d = defer.maybeDeferred(self._poll_once)
        d.addCallbacks(self._schedule, self._failed)

    def _failed(self, failure: Failure) -> None:
        self.errors += 1
        self.last_error = failure.value
        if failure.check(C.AuthenticationFailed):
            log.error("%s", failure.value)
            delay = self.interval
        elif failure.check(C.RateLimited, C.PollTooSoon):
            log.warning("%s", failure.getErrorMessage())
            delay = self.catch_up_interval
        else:
            log.warning("%s: %s", self.path, failure.getErrorMessage() or type(failure.value).__name__)
            delay = self.catch_up_interval
        self._on_error(failure)
        self._schedule(delay)

    def _on_error(self, failure: Failure) -> None:
        pass

    def _emit(self, polled: wire.Polled, handler: Callable[[Any], Any]) -> int:
        self.polls += 1
        for line in polled.malformed:
            log.warning("%s: a line not in the §3b format was left out: %r", self.path, line)
        self.malformed.extend(polled.malformed)
        del self.malformed[:-1000]
        fresh = 0
        for event in polled.events:
            if self.dedup.first(event.key):
                fresh += 1
                handler(event)
            else:
                self.duplicates += 1
        return fresh

    def _poll_once(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class MoPoller(_Poller):
    """``/httpdeliver.sms`` every ``interval`` (5 min by default) with ``keepdeliver=true``:
    each MO is handed once to ``on_mo``."""

    path = C.DELIVER_PATH

    def __init__(self, client: Any, on_mo: Callable[[wire.MoEvent], Any], *, interval: float = 300.0,
                 catch_up_interval: float = 61.0, keep: bool = True, dedup_memory: int = 100_000) -> None:
        super().__init__(client, interval=interval, catch_up_interval=catch_up_interval, dedup_memory=dedup_memory)
        self.on_mo = on_mo
        self.keep = keep

    def _poll_once(self) -> Any:
        d = self.client.fetch_mo(keep=self.keep)

        def got(polled: wire.Polled) -> float:
            self._emit(polled, self.on_mo)
            return self.interval

        return d.addCallback(got)


class ReportPoller(_Poller):
    """``/httpreport.sms`` every ``interval`` (10 min by default) over consecutive windows of
    at most 1 h, catching up one window per ``catch_up_interval`` after downtime."""

    path = C.REPORT_PATH

    def __init__(self, client: Any, on_report: Callable[[wire.ReportEvent], Any], *,
                 interval: float = 600.0, catch_up_interval: float = 61.0, since: datetime | None = None,
                 window: float = C.REPORT_WINDOW_SECONDS, max_refusals: int = 3,
                 dedup_memory: int = 100_000) -> None:
        super().__init__(client, interval=interval, catch_up_interval=catch_up_interval, dedup_memory=dedup_memory)
        self.on_report = on_report
        self.windows = ReportWindows(since if since is not None else client.now(), window=window)
        self.max_refusals = max_refusals
        self._refusals = 0
        self._pending: tuple[datetime, datetime] | None = None

    @property
    def last_end(self) -> datetime:
        """Where the next window starts: persist it and pass it as ``since`` to resume."""
        return self.windows.last_end

    def _poll_once(self) -> Any:
        now = self.client.now()
        window = self.windows.next_window(now)
        if window is None:
            return self.interval
        self._pending = window
        d = self.client.fetch_reports(*window)

        def got(polled: wire.Polled) -> float:
            self._emit(polled, self.on_report)
            self.windows.done(window[1])
            self._refusals = 0
            return self.catch_up_interval if self.windows.behind(self.client.now()) else self.interval

        return d.addCallback(got)

    def _on_error(self, failure: Failure) -> None:
        if isinstance(failure.value, C.HttpRefused) and failure.value.code == C.BAD_PARAMETER and self._pending:
            self._refusals += 1
            if self._refusals >= self.max_refusals:
                start, end = self._pending
                log.error("%s refused the window %s..%s %d times (101): skipped", self.path, start, end,
                          self._refusals)
                self.windows.skipped.append(self._pending)
                self.windows.done(end)
                self._refusals = 0


class QueryPoller(_Poller):
    """``/queryrptbyid.sms`` for the send ids still awaiting reports (at most ``max_ids`` a
    call, in turn), every ``interval`` (≥ 60 s).  Suits short jobs like ``smsdk send``."""

    path = C.QUERY_PATH

    def __init__(self, client: Any, on_report: Callable[[wire.ReportEvent], Any], *,
                 interval: float = 60.0, catch_up_interval: float = 61.0, max_ids: int = 100,
                 dedup_memory: int = 100_000) -> None:
        super().__init__(client, interval=interval, catch_up_interval=catch_up_interval, dedup_memory=dedup_memory)
        if max_ids < 1:
            raise ValueError("max_ids must be at least 1")
        self.on_report = on_report
        self.max_ids = max_ids
        self._offset = 0

    def _poll_once(self) -> Any:
        ids = self.client.pipeline.awaiting_reports
        if not ids:
            return self.interval
        if self._offset >= len(ids):
            self._offset = 0
        batch = (ids[self._offset:] + ids[:self._offset])[:self.max_ids]
        self._offset += len(batch)
        d = self.client.query_reports(batch)

        def got(polled: wire.Polled) -> float:
            self._emit(polled, self.on_report)
            return self.interval

        return d.addCallback(got)
