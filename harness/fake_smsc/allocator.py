"""Msg_Id allocation.

Msg_Ids (FAQ-2.5.1 / 2.5.2, PROTOCOL.md §1.13 and §2.10): bytes 0-7 follow the CMPP bit
layout (month, day, hour, minute, second in China time, the gateway code, a 16-bit
sequence), bytes 8-9 are zero.  A SUBMIT to n numbers takes n consecutive ids M … M+n−1,
computed on bytes 0-7 as a big-endian integer (byte 7 carries into byte 6 and up); the
next SUBMIT in the same second continues right after them, so ids never repeat.
"""

from __future__ import annotations

import datetime as _dt

from smsdk.msgid import CmppMsgId, EmppMsgId

__all__ = ["MsgIdAllocator"]


class MsgIdAllocator:
    """Hands out Msg_Ids; ``sequence`` (0..65535) is the 16-bit counter, settable so
    tests can start near a carry."""

    def __init__(self, gateway: int, sequence: int = 0) -> None:
        self.gateway = gateway
        self.sequence = sequence & 0xFFFF
        self._last_prefix: tuple[int, ...] | None = None
        self._last_end = -1
        self._head_prefix: tuple[int, ...] | None = None
        self._head_time: _dt.datetime | None = None
        self._head = 0

    def allocate(self, now: _dt.datetime, n: int) -> EmppMsgId:
        """The base id M of a group of ``n`` (>= 1) ids; the group is M … M+n−1."""
        if n < 1:
            raise ValueError(f"a Msg_Id group has at least 1 id, not {n}")
        if now is not self._head_time:  # (a per-second cache hands the same datetime)
            self._new_time(now)
        prefix = self._head_prefix
        base = self._head | self.sequence
        # the same prefix object while the second lasts (see _new_time): `is` is `==`
        if prefix is self._last_prefix and base <= self._last_end:
            # Same second, and a carry (or a wrapped counter) would repeat an id: go on
            # right after the previous group instead.
            base = self._last_end + 1
        end = base + n - 1
        if end > 0xFFFFFFFFFFFFFFFF:  # only reachable with absurd settings
            base, end = 0, n - 1
        self._last_prefix = prefix
        self._last_end = end
        self.sequence = (end + 1) & 0xFFFF
        return EmppMsgId.from_int(base)

    def _new_time(self, now: _dt.datetime) -> None:
        """The clock moved on: the id with sequence 0 for this second (the sequence is the
        low 16 bits), packed once per second of the clock, not once per SUBMIT."""
        self._head_time = now
        prefix = (now.month, now.day, now.hour, now.minute, now.second)
        if prefix == self._head_prefix:
            return  # another datetime of the same second: keep the prefix object
        self._head = CmppMsgId.pack(
            month=now.month, day=now.day, hour=now.hour, minute=now.minute,
            second=now.second, gateway=self.gateway, sequence=0,
        ).value
        self._head_prefix = prefix
