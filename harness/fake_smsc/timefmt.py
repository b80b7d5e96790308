"""China time on the model clock, the platform's time formats, and At_Time.

The model clock is a ``clock.Clock``; ``WallClock`` maps its ``now()`` to a
UNIX time through ``epoch`` (the UNIX time at clock 0) and shows it in China time (UTC+8,
no daylight saving), which is what Msg_Id fields and report times use.
"""

from __future__ import annotations

import datetime as _dt
import re
import time as _time
from collections.abc import Callable
from typing import Any

from smsdk.china_time import CHINA

__all__ = ["CHINA", "WallClock", "parse_at_time", "yymmddhhmm", "yyyymmddhhmmss"]


class WallClock:
    """The model's ``clock`` (clock.py) plus an ``epoch``: ``unix(t)`` = epoch + t.

    With ``epoch=None`` the epoch is chosen at construction so that the clock shows the
    real time then: ``wall_time() - clock.now()`` (``wall_time`` is ``time.time`` unless
    given; about 0 for the real reactor, whose ``seconds()`` already is UNIX time; "now"
    for a ``task.Clock`` starting at 0).
    """

    def __init__(self, clock: Any, epoch: float | None = None,
                 wall_time: Callable[[], float] = _time.time) -> None:
        self.source = clock
        self.epoch = float(epoch) if epoch is not None else wall_time() - clock.now()

    def seconds(self) -> float:
        return self.source.now()

    def unix(self, t: float | None = None) -> float:
        return self.epoch + (self.source.now() if t is None else t)

    def china(self, t: float | None = None) -> _dt.datetime:
        """China time at clock time ``t`` (default: now)."""
        return _dt.datetime.fromtimestamp(self.unix(t), CHINA)

    def clock_time(self, when: _dt.datetime) -> float:
        """The clock time of an aware datetime (naive = China time)."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=CHINA)
        return when.timestamp() - self.epoch


def yymmddhhmm(d: _dt.datetime) -> str:
    """Report times (Submit_time / Done_time): ``YYMMDDhhmm``."""
    return d.strftime("%y%m%d%H%M")


def yyyymmddhhmmss(d: _dt.datetime) -> str:
    return d.strftime("%Y%m%d%H%M%S")


_SMPP = re.compile(r"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d)(\d{2})([+\-R])")
_BARE12 = re.compile(r"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})")
_BARE14 = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})")


def parse_at_time(text: str, now: _dt.datetime) -> _dt.datetime | None:
    """The moment an At_Time names, or None when the field is empty.

    Accepted forms (ValueError saying why for anything else):

    * SMPP absolute ``YYMMDDhhmmss t nn p`` (16 chars): local time, tenths ``t``, ``nn``
      quarter hours from UTC, ``p`` ``+`` or ``-`` (``240501120000032+`` = noon China
      time);
    * SMPP relative ``YYMMDDhhmmss 000R``: that long after ``now`` (a year = 365 days, a
      month = 30 days);
    * bare ``YYMMDDhhmmss`` (12 digits) or ``YYYYMMDDhhmmss`` (14), read as China time.
    """
    s = text.strip().rstrip("\x00")
    if not s:
        return None
    m = _SMPP.fullmatch(s)
    if m:
        yy, mo, dd, hh, mi, ss, tenth, nn, p = m.groups()
        if p == "R":
            days = int(yy) * 365 + int(mo) * 30 + int(dd)
            return now + _dt.timedelta(days=days, hours=int(hh), minutes=int(mi),
                                       seconds=int(ss) + int(tenth) / 10)
        offset = _dt.timedelta(minutes=15 * int(nn))
        if int(nn) > 48:
            raise ValueError(f"At_Time {text!r}: UTC offset {nn} quarter hours is over 48")
        tz = _dt.timezone(offset if p == "+" else -offset)
        return _make(text, 2000 + int(yy), mo, dd, hh, mi, ss, tz) + _dt.timedelta(
            seconds=int(tenth) / 10)
    m = _BARE12.fullmatch(s)
    if m:
        yy, mo, dd, hh, mi, ss = m.groups()
        return _make(text, 2000 + int(yy), mo, dd, hh, mi, ss, CHINA)
    m = _BARE14.fullmatch(s)
    if m:
        yyyy, mo, dd, hh, mi, ss = m.groups()
        return _make(text, int(yyyy), mo, dd, hh, mi, ss, CHINA)
    raise ValueError(
        f"At_Time {text!r} is not an SMPP time (YYMMDDhhmmsstnnp, e.g. 240501120000032+) "
        "nor YYMMDDhhmmss / YYYYMMDDhhmmss"
    )


def _make(text: str, year: int, mo: str, dd: str, hh: str, mi: str, ss: str,
          tz: _dt.tzinfo) -> _dt.datetime:
    try:
        return _dt.datetime(year, int(mo), int(dd), int(hh), int(mi), int(ss), tzinfo=tz)
    except ValueError as e:
        raise ValueError(f"At_Time {text!r} is not a real date-time: {e}") from None
