"""A token bucket over an injected clock: the platform's rate limit (FAQ-2.2.3).

The platform allows each account ``rate`` SMS a second, one token per recipient per
segment, with at most ``burst`` tokens saved up; a SUBMIT that costs more than the bucket
holds is refused (10004) and takes nothing.  The SDK paces its SUBMITs with this bucket
(``smsdk.dispatch``) and the fake platform enforces the limit with the same one.

Time is whatever clock the caller reads (``now``, in seconds, never decreasing); the
bucket never reads a clock itself.
"""

from __future__ import annotations

import math

__all__ = ["TokenBucket"]

#: absorbs float error from fractional refills (a bucket that refilled to 2.9999999999 for a
#: cost of 3 is full enough)
_EPSILON = 1e-9


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` held, full at ``now``.

    ``take(cost, now)`` takes ``cost`` tokens and returns True, or takes nothing and returns
    False.  ``wait_for`` / ``ready_at`` say when ``cost`` tokens will be there (never, for a
    cost above ``burst``).  ``pause(until)`` holds ``ready_at`` back (the SDK's reaction to
    a refusal) without touching the tokens.
    """

    __slots__ = ("rate", "burst", "tokens", "updated", "paused_until")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        for name, value in (("rate", rate), ("burst", burst), ("now", now)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"TokenBucket {name} must be a number, not {type(value).__name__}")
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"TokenBucket rate must be a positive number, got {rate!r}")
        if not (math.isfinite(burst) and burst > 0):
            raise ValueError(f"TokenBucket burst must be a positive number, got {burst!r}")
        self.rate = float(rate)
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated = now
        self.paused_until = now

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def available(self, now: float) -> float:
        """Tokens held at ``now``."""
        self._refill(now)
        return self.tokens

    def take(self, cost: float, now: float) -> bool:
        """Take ``cost`` tokens if they are there (True), else take none (False)."""
        if now > self.updated:  # _refill(now), inline: one take per SUBMIT
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
        if self.tokens + _EPSILON >= cost:
            self.tokens = max(0.0, self.tokens - cost)
            return True
        return False

    def give_back(self, cost: float) -> None:
        """Return ``cost`` tokens taken for a request that was not sent after all (never above
        ``burst``)."""
        self.tokens = min(self.burst, self.tokens + cost)

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds from ``now`` until ``cost`` tokens are there (inf when cost > burst)."""
        self._refill(now)
        if cost > self.burst:
            return math.inf
        return max(0.0, (cost - self.tokens) / self.rate)

    def ready_at(self, cost: float, now: float) -> float:
        """The clock time from which ``take(cost)`` succeeds, not before a pause ends (inf
        when cost > burst)."""
        return max(now + self.wait_for(cost, now), self.paused_until)

    def pause(self, until: float) -> None:
        """Hold ``ready_at`` back until ``until`` (a later pause wins; tokens keep filling)."""
        self.paused_until = max(self.paused_until, until)

    def __repr__(self) -> str:
        return (f"TokenBucket(rate={self.rate:g}, burst={self.burst:g}, tokens={self.tokens:g}, "
                f"updated={self.updated:g})")
