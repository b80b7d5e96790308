"""The platform's retention: the records it keeps (SUBMITs, reports, MOs, what each handset
received, billing), how they are read (inspection), and the housekeeping that drops what
is past its time (``retention_days``, ``offline_hours``, ``duplicate_window``).

A part of :class:`~.model.Platform` (see docs/fake-smsc.md, "Architecture").
"""

from __future__ import annotations

import collections

from smsdk import numbers as _numbers
from smsdk.msgid import EmppMsgId

from .items import MoRecord, ReportRecord, SubmissionRecord
from .network import Handset
from .platform_part import PlatformPart

__all__ = ["Retention"]


class Retention(PlatformPart):
    """The retention part of the platform (see the module docstring)."""

    def _init_retention(self, housekeeping_interval: float) -> None:
        self._submissions: collections.deque[SubmissionRecord] = collections.deque()
        self._reports: collections.deque[ReportRecord] = collections.deque()
        self._mos: collections.deque[MoRecord] = collections.deque()
        self._handsets: dict[str, Handset] = {}
        self._billing: collections.Counter[tuple[str, str]] = collections.Counter()
        self._housekeeping = self.clock.call_later(housekeeping_interval, self._tick)

    def _stop_housekeeping(self) -> None:
        if self._housekeeping.active():
            self._housekeeping.cancel()

    def submissions(self, account_id: str | None = None) -> list[SubmissionRecord]:
        """SUBMITs (accepted and refused) of the last ``retention_days``, oldest first."""
        return [r for r in self._submissions if account_id is None or r.account_id == account_id]

    def submission(self, msg_id: EmppMsgId) -> SubmissionRecord | None:
        """The accepted SUBMIT one of whose recipients has ``msg_id``."""
        for rec in reversed(self._submissions):
            if rec.accepted and rec.recipients and msg_id.group_index(rec.msg_id, len(rec.recipients)) is not None:
                return rec
        return None

    def reports(self, account_id: str | None = None, number: str | None = None) -> list[ReportRecord]:
        """Reports generated (with what became of each), oldest first."""
        return [r for r in self._reports
                if (account_id is None or r.item.account_id == account_id)
                and (number is None or r.item.dest_terminal_id == number)]

    def mos(self, account_id: str | None = None) -> list[MoRecord]:
        return [m for m in self._mos if account_id is None or m.item.account_id == account_id]

    def handset(self, number: str) -> Handset:
        """What the phone ``number`` received (an empty Handset if nothing)."""
        n = _numbers.check(number).number or number
        return self._handsets.get(n) or Handset(n)

    def handsets(self) -> dict[str, Handset]:
        return dict(self._handsets)

    def billing(self, account_id: str | None = None, *, enterprise_id: str | None = None,
                month: str | None = None) -> int:
        """SMS billed (received by handsets): for one account, one enterprise or all;
        ``month`` ``"YYYY-MM"`` (China time) narrows it."""
        total = 0
        for (acc_id, m), n in self._billing.items():
            if month is not None and m != month:
                continue
            if account_id is not None and acc_id != account_id:
                continue
            if enterprise_id is not None:
                acc = self._accounts.get(acc_id)
                if acc is None or acc.enterprise.id != enterprise_id:
                    continue
            total += n
        return total

    def billing_by_account(self) -> dict[str, dict[str, int]]:
        """account id -> month ("YYYY-MM") -> SMS billed (CLIENT-bill)."""
        out: dict[str, dict[str, int]] = {}
        for (acc_id, m), n in sorted(self._billing.items()):
            out.setdefault(acc_id, {})[m] = n
        return out

    def _tick(self) -> None:
        self.purge()
        self._housekeeping = self.clock.call_later(self.config.housekeeping_interval, self._tick)

    def purge(self) -> None:
        """Drop what is past its time: records and handset messages older than
        ``retention_days`` (FAQ-3.2.2, 4.1.2), offline items older than ``offline_hours``,
        duplicate-check memory older than ``duplicate_window``.  Runs every
        ``housekeeping_interval`` on the clock."""
        now = self.now()
        horizon = now - self.config.retention_seconds
        if self._submissions and self._submissions[0].at < horizon:
            # records still held for their At_Time stay however old they are
            self._submissions = collections.deque(
                r for r in self._submissions
                if r.at >= horizon or r.state in ("scheduled", "accepted"))
        while self._reports and self._reports[0].item.generated_at < horizon:
            self._reports.popleft()
        while self._mos and self._mos[0].item.received_at < horizon:
            self._mos.popleft()
        for number in list(self._handsets):
            h = self._handsets[number]
            h.messages = [m for m in h.messages if m.received_at >= horizon]
            for key in [k for k, p in h.pending.items() if p.first_at < horizon]:
                p = h.pending.pop(key)
                p.reason = "retention"
            h.incomplete = [p for p in h.incomplete if p.first_at >= horizon]
            if not h.messages and not h.pending and not h.incomplete:
                del self._handsets[number]
        for acc in self._accounts.values():
            self._purge_offline(acc, now)
        if self._dup:
            limit = now - self.config.duplicate_window
            for dup_key in [k for k, t in self._dup.items() if t <= limit]:
                del self._dup[dup_key]

    def sizes(self) -> dict[str, int]:
        """How much the model holds (to check that memory stays bounded)."""
        return {
            "submissions": len(self._submissions),
            "reports": len(self._reports),
            "mos": len(self._mos),
            "handsets": len(self._handsets),
            "handset_messages": sum(len(h.messages) for h in self._handsets.values()),
            "offline": sum(len(a.offline) for a in self._accounts.values()),
            "duplicate_keys": len(self._dup),
            "scheduled": len(self._scheduled),
            "timers": len(self._calls) + len(self._timer_heap),
        }
