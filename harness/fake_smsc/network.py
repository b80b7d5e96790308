"""The simulated network: what becomes of each MT, and what each handset shows.

``Network`` chooses a delivery outcome and a delay per recipient from a seeded RNG
(default mix and delay range from ``[network]``) unless a per-number override says
otherwise (``set_outcome(number, "UNDELIV")``).  ``"never"`` means the handset never
answers: the platform itself generates EXPIRED after ``expired_hours``.

``Handset`` records, SMS by SMS, what a phone received: single SMS, the two SMS of a
61–70 char SUBMIT, and concatenated messages shown once all their parts are in.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from smsdk import numbers as _numbers
from smsdk.msgid import EmppMsgId

from .config import NetworkConfig, check_stat
from .items import ReceivedMessage

__all__ = ["Handset", "Network", "PendingConcat"]


_NO_OVERRIDE: tuple[None, None] = (None, None)


class Network:
    """Outcomes and delays; see the module docstring."""

    def __init__(self, cfg: NetworkConfig) -> None:
        self.rng = random.Random(cfg.seed)
        self.delay_min = cfg.delay_min
        self.delay_max = cfg.delay_max
        self.mix: tuple[tuple[str, float], ...] = cfg.mix
        self._split: tuple[object, list[str], list[float]] = (None, [], [])
        self._overrides: dict[str, tuple[str, float | None]] = {
            n: (s, d) for n, s, d in cfg.outcomes
        }

    def set_outcome(self, number: str, outcome: str, delay: float | None = None) -> None:
        """Every later MT to ``number`` ends with ``outcome`` (``"DELIVRD"``, ``"UNDELIV"``,
        ``"REJECTD"``, ``"CA:0054"`` … or ``"never"``), after ``delay`` seconds (default:
        drawn from the delay range)."""
        n = _numbers.normalize(number)
        check_stat(outcome)
        if delay is not None and not delay >= 0:
            raise ValueError(f"delay must be >= 0 seconds, not {delay!r}")
        self._overrides[n] = (outcome, delay)

    def clear_outcome(self, number: str | None = None) -> None:
        """Forget the override of ``number`` (all overrides when None)."""
        if number is None:
            self._overrides.clear()
        else:
            self._overrides.pop(_numbers.normalize(number), None)

    def outcomes(self) -> dict[str, tuple[str, float | None]]:
        return dict(self._overrides)

    def set_mix(self, mix: Mapping[str, float]) -> None:
        """The default outcome weights, e.g. ``{"DELIVRD": 0.9, "UNDELIV": 0.1}``."""
        items = []
        for stat, w in mix.items():
            check_stat(stat)
            if not w >= 0:
                raise ValueError(f"weight of {stat} must be >= 0, not {w!r}")
            items.append((stat, float(w)))
        if not any(w > 0 for _, w in items):
            raise ValueError("the mix needs at least one outcome with a weight above 0")
        self.mix = tuple(items)

    def set_delay(self, delay_min: float, delay_max: float) -> None:
        if not 0 <= delay_min <= delay_max:
            raise ValueError(f"need 0 <= delay_min <= delay_max, got {delay_min}, {delay_max}")
        self.delay_min, self.delay_max = float(delay_min), float(delay_max)

    def pick(self, number: str) -> tuple[str, float]:
        """``(outcome, delay)`` for one MT to ``number``."""
        stat, delay = self._overrides.get(number, _NO_OVERRIDE)
        if stat is None:
            mix = self.mix
            split = self._split
            if split[0] is not mix:  # the lists of the current mix, rebuilt when it changes
                split = self._split = (mix, [s for s, _ in mix], [w for _, w in mix])
            stats, weights = split[1], split[2]
            stat = stats[0] if len(stats) == 1 else self.rng.choices(stats, weights)[0]
        if delay is None:
            delay = (self.delay_min if self.delay_max == self.delay_min
                     else self.rng.uniform(self.delay_min, self.delay_max))
        return stat, delay


@dataclass(slots=True)
class PendingConcat:
    """Parts of one concatenated message a handset has received so far."""

    account_id: str
    reference: int
    udh16: bool
    total: int
    first_at: float
    parts: dict[int, tuple[str, str, EmppMsgId, str]] = field(default_factory=dict)
    reason: str = ""  # set when given up ("superseded", "retention")


class Handset:
    """One phone: ``messages`` as shown (oldest first), ``pending`` concatenations still
    missing parts, ``incomplete`` ones given up (their reference came back with another
    total).  ``billing`` is every SMS it received."""

    __slots__ = ("number", "messages", "pending", "incomplete", "billing")

    def __init__(self, number: str) -> None:
        self.number = number
        self.messages: list[ReceivedMessage] = []
        # (account, UDH reference, 16-bit reference?) -> the parts so far
        self.pending: dict[tuple[str, int | None, bool], PendingConcat] = {}
        self.incomplete: list[PendingConcat] = []
        self.billing = 0

    @property
    def texts(self) -> list[str]:
        """The texts on the screen, oldest first."""
        return [m.text for m in self.messages]

    @property
    def last(self) -> ReceivedMessage | None:
        return self.messages[-1] if self.messages else None

    def __repr__(self) -> str:
        return (f"Handset({self.number!r}, messages={len(self.messages)}, "
                f"pending={len(self.pending)}, billing={self.billing})")
