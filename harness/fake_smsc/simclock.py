"""Twisted clocks for the fake platform: :class:`ReactorClock`, which hands any Twisted
``IReactorTime`` to the model as its ``Clock`` (clock.py), and :class:`SimulatedClock`,
``task.Clock``'s API on a heap.

``twisted.internet.task.Clock`` keeps its calls in a list it sorts on every ``callLater``;
with tens of thousands of pending reports that is quadratic.  :class:`SimulatedClock` has
the same interface (``seconds``, ``callLater``, ``getDelayedCalls``, ``advance``, ``pump``)
over a heap, plus:

* ``advance_to(t)`` / ``advance(s, stepwise=True)``: run every call at its *own* time
  (``task.Clock.advance`` runs them all at the end time);
* ``next_call_time()``;
* ``autorun_on(reactor)``: calls that are due now (``callLater(0, ...)``) run on the next
  turn of a real reactor, without anyone advancing the clock.  With it, a platform on
  simulated time behaves as if time stood still: everything due "now" happens at once,
  and later things wait until the clock is advanced (``smsdk fake-smsc --simulated-clock``,
  the control API's ``POST /clock/advance``, ``FakeSmsc.advance``).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet.base import DelayedCall
from twisted.internet.interfaces import IReactorTime
from zope.interface import implementer

__all__ = ["ReactorClock", "SimulatedClock"]


class ReactorClock:
    """Any Twisted ``IReactorTime`` (the reactor, a ``task.Clock``, a :class:`SimulatedClock`)
    as the model's :class:`~smsdk_harness.fake_smsc.clock.Clock`: ``now()`` is its
    ``seconds()``, ``call_later()`` its ``callLater()`` (bound once: no extra call per
    use).  ``reactor`` is the clock it adapts, for the front ends' own timers."""

    __slots__ = ("call_later", "now", "reactor")

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor
        self.now: Callable[[], float] = reactor.seconds
        self.call_later: Callable[..., Any] = reactor.callLater

    def __repr__(self) -> str:
        return f"ReactorClock({self.reactor!r})"


@implementer(IReactorTime)
class SimulatedClock:
    """Simulated time in seconds, starting at ``start`` (see the module docstring)."""

    def __init__(self, start: float = 0.0) -> None:
        self.rightNow = float(start)
        self._heap: list[tuple[float, int, DelayedCall]] = []
        self._seq = itertools.count()
        self._live = 0
        self._reactor: Any = None
        self._kick: Any = None

    # -- IReactorTime --------------------------------------------------------------------------

    def seconds(self) -> float:
        return self.rightNow

    def callLater(self, delay: float, callable: Callable[..., Any], *args: object,
                  **kw: object) -> DelayedCall:
        dc = DelayedCall(self.rightNow + delay, callable, args, kw, self._cancelled,
                         self._moved, seconds=self.seconds)
        heapq.heappush(self._heap, (dc.time, next(self._seq), dc))
        self._live += 1
        if delay <= 0:
            self._wake()
        return dc

    def getDelayedCalls(self) -> list[DelayedCall]:
        return [dc for t, _s, dc in self._heap if dc.active() and t == dc.time]

    def _cancelled(self, dc: DelayedCall) -> None:
        self._live -= 1

    def _moved(self, dc: DelayedCall) -> None:
        # reset() to an earlier time: push it again; the old entry is skipped when popped
        heapq.heappush(self._heap, (dc.time, next(self._seq), dc))
        if dc.time <= self.rightNow:
            self._wake()

    # -- driving -------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Calls scheduled and not yet run or cancelled."""
        return self._live

    def next_call_time(self) -> float | None:
        """When the earliest pending call is due (None: nothing pending)."""
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def _drop_stale(self) -> None:
        heap = self._heap
        while heap:
            t, _s, dc = heap[0]
            if dc.cancelled or dc.called or t != dc.time:
                heapq.heappop(heap)
            elif dc.delayed_time:
                heapq.heappop(heap)
                dc.activate_delay()
                heapq.heappush(heap, (dc.time, next(self._seq), dc))
            else:
                return

    def run_due(self) -> int:
        """Run every call due at the current time (also those they schedule for now)."""
        ran = 0
        heap = self._heap
        while True:
            self._drop_stale()
            if not heap or heap[0][0] > self.rightNow:
                return ran
            _t, _s, dc = heapq.heappop(heap)
            dc.called = 1
            self._live -= 1
            ran += 1
            dc.func(*dc.args, **dc.kw)

    def advance_to(self, when: float) -> int:
        """Move to ``when``, running each due call at its own time, in order."""
        ran = self.run_due()
        while True:
            nxt = self.next_call_time()
            if nxt is None or nxt > when:
                break
            self.rightNow = max(self.rightNow, nxt)
            ran += self.run_due()
        self.rightNow = max(self.rightNow, float(when))
        ran += self.run_due()
        return ran

    def advance(self, amount: float, *, stepwise: bool = True) -> int:
        """Move ``amount`` seconds on.  ``stepwise`` (default) runs each call at its own
        time; ``stepwise=False`` jumps and runs them all at the end time, like
        ``task.Clock.advance``."""
        if amount < 0:
            raise ValueError(f"time moves forward only: advance({amount!r})")
        if stepwise:
            return self.advance_to(self.rightNow + amount)
        self.rightNow += amount
        return self.run_due()

    def pump(self, timings: Iterable[float]) -> None:
        """``task.Clock.pump``: advance by each amount in turn."""
        for amount in timings:
            self.advance(amount)

    # -- running what is due now on a real reactor --------------------------------------------

    def autorun_on(self, reactor: Any) -> None:
        """Run calls due now on ``reactor``'s next turn (see the module docstring)."""
        self._reactor = reactor
        self._wake()

    def _wake(self) -> None:
        if self._reactor is None or self._kick is not None:
            return
        self._kick = self._reactor.callLater(0, self._on_kick)

    def _on_kick(self) -> None:
        self._kick = None
        self.run_due()

    def stop_autorun(self) -> None:
        if self._kick is not None and self._kick.active():
            self._kick.cancel()
        self._kick = None
        self._reactor = None

    def __repr__(self) -> str:
        return f"<SimulatedClock t={self.rightNow:g} pending={self._live}>"
