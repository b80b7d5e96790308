"""The platform's scheduler: the model clock, China time on it, and the timers.

A part of :class:`~.model.Platform` (see docs/fake-smsc.md, "Architecture").  Pending
deliveries, network outcomes and EXPIRED reports wait in one heap of (due, seq, fn, args)
driven by a single clock timer armed for the earliest due time (``_soon``), instead of one
timer each; At_Time holds, which can be cancelled one by one, get a timer each (``_later``).
"""

from __future__ import annotations

import datetime as _dt
import heapq
from collections.abc import Callable
from typing import Any

from .clock import Timer, require_clock
from .platform_part import PlatformPart
from .timefmt import CHINA, WallClock, yymmddhhmm

__all__ = ["Scheduler"]


class _PerSecond:
    """A value of the China-time clock that changes at most once a second (a report's
    ``YYMMDDhhmm``, the billing month, the Msg_Id's time fields): ``get(u)`` for a UNIX
    time ``u`` is ``fn(u)``, computed once per second.  The cache is skipped within 0.5 us
    of the next second, where ``fromtimestamp`` rounds up, and before 1970.  Callers keep
    the bound ``get`` (cheaper to call than an instance with ``__call__``)."""

    __slots__ = ("fn", "second", "value")

    def __init__(self, fn: Callable[[float], Any]) -> None:
        self.fn = fn
        self.second = -1
        self.value: Any = None

    def get(self, u: float) -> Any:
        sec = int(u)
        if sec == self.second and u - sec < 0.9999995:
            return self.value
        value = self.fn(u)
        if u >= 0 and u - sec < 0.9999995:
            self.second, self.value = sec, value
        return value


def _china(u: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(u, CHINA)


class Scheduler(PlatformPart):
    """The clock part of the platform: ``now()``, China time, ``close()`` and the timers."""

    def _init_scheduler(self, clock: Any, epoch: float | None,
                        wall_time: Callable[[], float]) -> None:
        self.clock = require_clock(clock)
        self.wall = WallClock(clock, epoch, wall_time)
        self._calls: set[Timer] = set()
        # Deliveries, network outcomes and EXPIRED reports wait in one heap of
        # (due, seq, fn, args) driven by a single clock timer armed for the earliest due
        # time (``_soon``), instead of one timer each.
        self._timer_heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._timer_seq = 0
        self._timer_call: Timer | None = None
        self._timer_at = 0.0
        self._timer_firing = False
        # China time, the report times and the billing month, once per second
        self._china_second = _PerSecond(_china).get
        self._report_time = _PerSecond(lambda u: yymmddhhmm(_china(u))).get
        self._billing_month = _PerSecond(lambda u: _china(u).strftime("%Y-%m")).get

    def now(self) -> float:
        """The model clock (``clock.now()``)."""
        return self.clock.now()

    def china_now(self) -> _dt.datetime:
        """China time now (from the clock and ``epoch``)."""
        return self.wall.china()

    def close(self) -> None:
        """Cancel every pending timer (deliveries, EXPIRED reports, At_Time holds)."""
        for call in list(self._calls):
            if call.active():
                call.cancel()
        self._calls.clear()
        if self._timer_call is not None and self._timer_call.active():
            self._timer_call.cancel()
        self._timer_call = None
        self._timer_heap.clear()

    def _later(self, delay: float, fn: Callable[..., None], *args: Any) -> Timer:
        holder: list[Timer] = []

        def run() -> None:
            self._calls.discard(holder[0])
            fn(*args)

        call = self.clock.call_later(max(0.0, delay), run)
        holder.append(call)
        self._calls.add(call)
        return call

    def _soon(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        """``fn(*args)`` in ``delay`` seconds, from the timer heap (not cancellable one by
        one; ``close()`` drops them all).  Same firing time as ``_later``; ties run in the
        order they were scheduled."""
        due = self.clock.now() + (delay if delay > 0.0 else 0.0)
        self._timer_seq += 1
        heapq.heappush(self._timer_heap, (due, self._timer_seq, fn, args))
        self._arm_for_head()

    def _arm_for_head(self) -> None:
        """Make sure the timer runs for the head of the heap, after pushes (``_soon``'s, or
        ``_send``'s own); a running ``_fire`` arms when it is done."""
        heap = self._timer_heap
        if not heap or self._timer_firing:
            return
        due = heap[0][0]
        call = self._timer_call
        if call is not None:
            if due >= self._timer_at:
                return
            call.cancel()
        delay = due - self.clock.now()
        self._arm(due, delay if delay > 0.0 else 0.0)

    def _arm(self, due: float, delay: float) -> None:
        self._timer_at = due
        self._timer_call = self.clock.call_later(delay, self._fire)

    def _fire(self) -> None:
        """Run every heap entry due by now (on any clock: a late timer catches up at once,
        as a reactor's runUntilCurrent does), then arm for the next one.  A clock that runs
        each call at its own time (the reactor, ``SimulatedClock.advance``) interleaves the
        entries with its other calls; ``task.Clock.advance(t)`` runs its calls at the end
        time, so the first firing runs everything due by then."""
        self._timer_call = None
        self._timer_firing = True
        limit = self._timer_at
        now = self.clock.now()
        if now > limit:
            limit = now
        heap = self._timer_heap
        pop = heapq.heappop
        try:
            while heap and heap[0][0] <= limit:
                _due, _seq, fn, args = pop(heap)
                fn(*args)
        finally:
            self._timer_firing = False
            if heap and self._timer_call is None:
                due = heap[0][0]
                delay = due - self.clock.now()
                self._arm(due, delay if delay > 0.0 else 0.0)
