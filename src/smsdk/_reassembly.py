"""Joining received concatenated SMS (MO): UDH parsing and the Reassembler.

Pure Python, shared by the compiled text module and its twin (both re-export these
names).  ``parse_udh`` here is also the twin's; the compiled module has its own with the
same behaviour.  No clock of its own: every call takes the caller's ``now``.

Rules (see docs/text.md):

* Parts belong to the same set when they share the caller's ``key`` (e.g. ``(src, dest)``),
  the UDH form (8- or 16-bit reference) and the reference.
* Duplicates (same part number again) are ignored, also when they arrive after the set
  completed (within ``timeout`` of the completion; the payload must be the same).
* A part whose total (or Msg_Fmt) differs from its pending set's means the reference was
  reused for a new message: the pending set is given up (reason ``"superseded"``, reported
  by the next ``expire``) and the part starts a new set.
* When ``max_pending`` sets are pending, starting another gives up the oldest (reason
  ``"evicted"``).  ``expire(now)`` gives up sets whose first part is ``timeout`` seconds or
  more old (reason ``"timeout"``) and returns them with every set given up since the last
  call.
* Payloads are joined raw, then decoded once, so a GBK double-byte char split across parts
  comes out whole: Msg_Fmt 8 UTF-16-BE, 15 GBK (then GB18030), 0 latin-1 (ASCII); any
  other format, or bytes invalid in theirs, leave ``text`` None (``content`` has the bytes).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

from smsdk.errors import ReassemblyError

__all__ = ["parse_udh", "Reassembler", "ReassembledMessage", "IncompleteMessage"]


def _parse(content: bytes):
    """(reference, total, number, header_length, udh16) with reference None when the UDH
    carries no concatenation IE; ReassemblyError when it is malformed."""
    size = len(content)
    if size == 0:
        raise ReassemblyError("content is empty: no UDH length byte")
    udhl = content[0]
    end = 1 + udhl
    if end > size:
        raise ReassemblyError(f"UDH length {udhl} runs past the {size - 1} bytes after it")
    found = None
    off = 1
    while off < end:
        if off + 2 > end:
            raise ReassemblyError(f"UDH information element at offset {off} is truncated")
        iei = content[off]
        iedl = content[off + 1]
        data = off + 2
        if data + iedl > end:
            raise ReassemblyError(
                f"UDH information element 0x{iei:02X} at offset {off} claims {iedl} bytes; "
                f"only {end - data} are left in the UDH"
            )
        if iei == 0x00 or iei == 0x08:
            want = 3 if iei == 0x00 else 4
            if iedl != want:
                raise ReassemblyError(
                    f"concatenation IE 0x{iei:02X} must carry {want} bytes, not {iedl}"
                )
            if iei == 0x00:
                ref = content[data]
                udh16 = False
            else:
                ref = (content[data] << 8) | content[data + 1]
                udh16 = True
            total = content[data + want - 2]
            number = content[data + want - 1]
            if total == 0:
                raise ReassemblyError("concatenation IE gives a total of 0 parts")
            if number == 0 or number > total:
                raise ReassemblyError(
                    f"concatenation IE part number {number} is outside 1..{total}"
                )
            # A repeated concatenation IE: the last occurrence is used (3GPP TS 23.040 9.2.3.24).
            found = (ref, total, number, udh16)
        off = data + iedl
    if found is None:
        return None, 1, 1, end, False
    return found[0], found[1], found[2], end, found[3]


def _as_bytes(content) -> bytes:
    if type(content) is bytes:
        return content
    try:
        return bytes(memoryview(content))
    except TypeError:
        raise TypeError(f"content must be bytes, not {type(content).__name__}") from None


def parse_udh(content):
    """``(reference, total, number, header_length)`` of the concatenation IE in the UDH at
    the start of ``content`` (8-bit ``00 03`` or 16-bit ``08 04``, among any other IEs),
    or None when the UDH has none.  ``header_length`` counts the UDHL byte.  A malformed
    UDH is a ReassemblyError saying what is wrong."""
    ref, total, number, hlen, _udh16 = _parse(_as_bytes(content))
    if ref is None:
        return None
    return ref, total, number, hlen


def _decode(payload: bytes, msg_fmt: int) -> str | None:
    try:
        if msg_fmt == 8:
            return payload.decode("utf-16-be")
        if msg_fmt == 15:
            try:
                return payload.decode("gbk")
            except UnicodeDecodeError:
                return payload.decode("gb18030")
        if msg_fmt == 0:
            return payload.decode("latin-1")
    except UnicodeDecodeError:
        return None
    return None


@dataclass(frozen=True, slots=True)
class ReassembledMessage:
    """A whole received message.  ``reference`` is None (and ``total`` 1) when it came in
    one piece without a concatenation IE."""

    key: Hashable
    content: bytes
    text: str | None
    msg_fmt: int
    reference: int | None
    total: int
    udh16: bool
    first_seen: float
    completed_at: float

    @property
    def parts_received(self) -> int:
        """Parts joined into this message (``total``; 1 without a concatenation IE)."""
        return self.total


@dataclass(frozen=True, slots=True)
class IncompleteMessage:
    """A set given up: ``reason`` is ``"timeout"``, ``"evicted"`` (max_pending) or
    ``"superseded"`` (its reference came back with another total or Msg_Fmt).
    ``parts`` holds ``(number, payload)`` of what arrived, ``missing`` the numbers that
    did not."""

    key: Hashable
    reference: int
    total: int
    udh16: bool
    msg_fmt: int
    parts: tuple[tuple[int, bytes], ...]
    missing: tuple[int, ...]
    first_seen: float
    given_up_at: float
    reason: str


class _Pending:
    __slots__ = ("total", "msg_fmt", "first_seen", "payloads")

    def __init__(self, total: int, msg_fmt: int, first_seen: float) -> None:
        self.total = total
        self.msg_fmt = msg_fmt
        self.first_seen = first_seen
        self.payloads: dict[int, bytes] = {}


class Reassembler:
    """Joins concatenated parts fed in any order; see the module docstring for the rules.

    ``timeout`` (seconds on the caller's clock) and ``max_pending`` (sets kept at once;
    also bounds the memory of completed sets kept for duplicate detection and of
    give-ups waiting for ``expire``).
    """

    def __init__(self, timeout: float = 180.0, max_pending: int = 10000) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"timeout must be a number, not {type(timeout).__name__}")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        if isinstance(max_pending, bool) or not isinstance(max_pending, int):
            raise TypeError(f"max_pending must be an int, not {type(max_pending).__name__}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, not {max_pending}")
        self.timeout = float(timeout)
        self.max_pending = max_pending
        self._pending: dict[tuple, _Pending] = {}
        self._done: dict[tuple, tuple[float, int, int, tuple[bytes, ...]]] = {}
        self._given_up: list[IncompleteMessage] = []
        #: Give-ups dropped because more than max_pending waited for expire().
        self.dropped_reports = 0

    @property
    def pending(self) -> int:
        """Number of incomplete sets held."""
        return len(self._pending)

    def feed(self, key, content, *, tp_udhi: int, msg_fmt: int, now: float):
        """Add one received part; return the ReassembledMessage it completes, or None.

        Content without UDH (``tp_udhi`` 0), or whose UDH has no concatenation IE or a
        total of 1, is a whole message at once.  A malformed UDH is a ReassemblyError.
        """
        content = _as_bytes(content)
        if not tp_udhi:
            return ReassembledMessage(
                key, content, _decode(content, msg_fmt), msg_fmt, None, 1, False, now, now
            )
        ref, total, number, hlen, udh16 = _parse(content)
        payload = content[hlen:]
        if ref is None or total == 1:
            return ReassembledMessage(
                key, payload, _decode(payload, msg_fmt), msg_fmt, ref, 1, udh16, now, now
            )
        setkey = (key, udh16, ref)
        pend = self._pending.get(setkey)
        if pend is not None and (pend.total != total or pend.msg_fmt != msg_fmt):
            del self._pending[setkey]
            self._give_up(setkey, pend, now, "superseded")
            pend = None
        if pend is None:
            done = self._done.get(setkey)
            if done is not None:
                _at, d_total, d_fmt, d_payloads = done
                if d_total == total and d_fmt == msg_fmt and d_payloads[number - 1] == payload:
                    return None  # a late duplicate of a message already delivered
                del self._done[setkey]
            if len(self._pending) >= self.max_pending:
                oldest = next(iter(self._pending))
                self._give_up(oldest, self._pending.pop(oldest), now, "evicted")
            pend = self._pending[setkey] = _Pending(total, msg_fmt, now)
        elif number in pend.payloads:
            return None  # duplicate: the first copy is kept
        pend.payloads[number] = payload
        if len(pend.payloads) < total:
            return None
        del self._pending[setkey]
        payloads = tuple(pend.payloads[i] for i in range(1, total + 1))
        self._done[setkey] = (now, total, msg_fmt, payloads)
        if len(self._done) > self.max_pending:
            del self._done[next(iter(self._done))]
        joined = b"".join(payloads)
        return ReassembledMessage(
            key, joined, _decode(joined, msg_fmt), msg_fmt, ref, total, udh16,
            pend.first_seen, now,
        )

    def _give_up(self, setkey, pend: _Pending, now: float, reason: str) -> None:
        """Keep the report of a set given up outside expire() for the next expire()."""
        self._given_up.append(_incomplete(setkey, pend, now, reason))
        if len(self._given_up) > self.max_pending:
            del self._given_up[0]
            self.dropped_reports += 1

    def expire(self, now: float) -> list[IncompleteMessage]:
        """Give up sets whose first part came ``timeout`` or more seconds before ``now``;
        return them after every set given up (evicted, superseded) since the last call."""
        limit = now - self.timeout
        stale = [k for k, p in self._pending.items() if p.first_seen <= limit]
        out, self._given_up = self._given_up, []
        for k in stale:
            out.append(_incomplete(k, self._pending.pop(k), now, "timeout"))
        old = [k for k, d in self._done.items() if d[0] <= limit]
        for k in old:
            del self._done[k]
        return out


def _incomplete(setkey, pend: _Pending, now: float, reason: str) -> IncompleteMessage:
    key, udh16, ref = setkey
    got = pend.payloads
    return IncompleteMessage(
        key, ref, pend.total, udh16, pend.msg_fmt,
        tuple(sorted(got.items())),
        tuple(i for i in range(1, pend.total + 1) if i not in got),
        pend.first_seen, now, reason,
    )
