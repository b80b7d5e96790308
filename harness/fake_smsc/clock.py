"""The model's clock: what the platform model needs of time, and nothing of Twisted.

The model (``model.py`` and its parts ``platform_*.py``) runs on a :class:`Clock`: ``now()``
in seconds and ``call_later(delay, fn, *args)``, which returns a :class:`Timer`
(``cancel()``, ``active()``).  The front ends hand it one: ``ReactorClock(reactor)``
(``simclock.py``) adapts any Twisted ``IReactorTime`` (the reactor, a ``task.Clock``, a
:class:`~smsdk_harness.fake_smsc.simclock.SimulatedClock`).  The model imports no Twisted
(a test checks it), and behaves the same on every clock: when a timer runs, it runs what is
due by ``now()``.  See docs/fake-smsc.md ("Architecture").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

__all__ = ["Clock", "Timer", "require_clock"]


@runtime_checkable
class Timer(Protocol):
    """A pending call of :meth:`Clock.call_later` (a Twisted ``DelayedCall`` is one)."""

    def cancel(self) -> None:
        """Do not run it (only while it is :meth:`active`)."""

    def active(self) -> bool:
        """Neither run nor cancelled yet."""


@runtime_checkable
class Clock(Protocol):
    """Time as the model sees it."""

    def now(self) -> float:
        """The current time in seconds (only differences and ``epoch + now()`` matter)."""

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run ``fn(*args)`` ``delay`` seconds from now (``delay >= 0``).  Calls due at the
        same time run in the order they were made."""


def require_clock(clock: Any) -> Clock:
    """``clock`` if it is a :class:`Clock`, else TypeError saying what to pass."""
    if not (callable(getattr(clock, "now", None)) and callable(getattr(clock, "call_later", None))):
        hint = (" (a Twisted IReactorTime: wrap it, ReactorClock(reactor) from "
                "smsdk_harness.fake_smsc.simclock)" if hasattr(clock, "callLater") else "")
        raise TypeError(f"clock must be a Clock with now() and call_later(), got {clock!r}{hint}")
    return clock
