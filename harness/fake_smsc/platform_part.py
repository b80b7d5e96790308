"""The base of :class:`~.model.Platform`'s parts: what each part uses of the others.

Platform inherits its parts (``platform_scheduler``, ``platform_lists``,
``platform_checks``, ``platform_delivery``, ``platform_mo``, ``platform_retention``,
``platform_accounts``); each
reaches the others' state and methods through ``self``.  This base declares that shared
surface for type checkers only: at run time it is an empty class, and the real attributes
and methods are those of the parts and of ``model.Platform``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import collections
    import datetime as _dt
    from collections.abc import Callable
    from typing import Any

    from .allocator import MsgIdAllocator
    from .clock import Clock, Timer
    from .config import PlatformConfig
    from .items import MoItem, MoRecord, Recipient, ReportItem, ReportRecord, Sink, SubmissionRecord
    from .model import Account, Enterprise
    from .network import Handset
    from .timefmt import WallClock

__all__ = ["PlatformPart"]


class PlatformPart:
    """The shared surface of Platform's parts (declarations only; see the module docstring)."""

    if TYPE_CHECKING:
        # model.Platform
        config: PlatformConfig
        counters: collections.Counter[str]
        msgids: MsgIdAllocator
        _accounts: dict[str, Account]
        _enterprises: dict[str, Enterprise]
        _listeners: list[Callable[[Any], None]]

        def account(self, account_id: str) -> Account: ...
        def enterprise(self, enterprise_id: str) -> Enterprise: ...
        def _emit(self, obj: Any) -> None: ...
        def _hand(self, sink: Sink, item: ReportItem | MoItem) -> None: ...
        def _route(self, acc: Account, item: ReportItem | MoItem,
                   rec: ReportRecord | MoRecord) -> tuple[str, str | None]: ...
        def _purge_offline(self, acc: Account, now: float) -> int: ...
        def _tell_kicked(self, sink: Sink) -> None: ...

        # Scheduler
        clock: Clock
        wall: WallClock
        _calls: set[Timer]
        _timer_heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]]
        _timer_seq: int
        _china_second: Callable[[float], _dt.datetime]
        _report_time: Callable[[float], str]
        _billing_month: Callable[[float], str]

        def now(self) -> float: ...
        def _later(self, delay: float, fn: Callable[..., None], *args: Any) -> Timer: ...
        def _soon(self, delay: float, fn: Callable[..., None], *args: Any) -> None: ...
        def _arm_for_head(self) -> None: ...

        # Lists
        platform_blacklist: set[str]

        def _list_verdict(self, ent: Enterprise, number: str) -> str | None: ...
        def _source_blacklisted(self, src_id: str) -> str | None: ...

        # SubmitChecks
        _dup: dict[tuple[str, str, bytes, str], float]
        _scheduled: dict[int, tuple[SubmissionRecord, Timer]]

        # Delivery
        def _send(self, rec: SubmissionRecord) -> None: ...
        def _report(self, rec: SubmissionRecord, r: Recipient, stat: str, why: str) -> None: ...

        # Retention
        _submissions: collections.deque[SubmissionRecord]
        _reports: collections.deque[ReportRecord]
        _mos: collections.deque[MoRecord]
        _handsets: dict[str, Handset]
        _billing: collections.Counter[tuple[str, str]]
