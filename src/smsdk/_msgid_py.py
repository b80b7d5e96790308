"""Pure-Python Msg_Id arithmetic core: the twin of the compiled ``smsdk._msgid`` (_msgid.pyx).

Same functions, same results, same error types as the compiled core; see that file for the
conventions and docs/msgid.md for the rules.  In short: an EMPP id ("raw") is 10 bytes whose
bytes 0-7 are an unsigned 64-bit big-endian integer; a CMPP id is an int in 0 .. 2**64-1; a
wrong type raises TypeError, a wrong size/form/range raises :class:`smsdk.errors.MsgIdError`.
"""

from __future__ import annotations

import operator as _operator
import re as _re
from typing import Any

from smsdk.errors import MsgIdError as _Error

MSGID_API: list[str] = [
    "msgid_to_signed",
    "msgid_from_signed",
    "empp_raw",
    "empp_value",
    "empp_from_value",
    "empp_from_hex",
    "empp_hex",
    "empp_add",
    "empp_sub",
    "empp_group_index",
    "cmpp_value",
    "cmpp_from_bytes",
    "cmpp_to_bytes",
    "cmpp_pack",
    "cmpp_unpack",
    "cmpp_add",
    "cmpp_group_index",
]
__all__ = [*MSGID_API, "MSGID_API"]

_U64_MAX = 0xFFFFFFFFFFFFFFFF
_I64_MIN = -0x8000000000000000
_I64_MAX = 0x7FFFFFFFFFFFFFFF
_WS = " \t\n\r\f\v"
_DROP_WS = str.maketrans("", "", _WS)
_HEX = _re.compile(r"[0-9a-fA-F]{16}(?:[0-9a-fA-F]{4})?")
_ZERO2 = b"\x00\x00"


# ---------------------------------------------------------------- helpers


def _show(value: Any) -> str:
    if type(value) is int and value.bit_length() > 128:
        return f"an int of {value.bit_length()} bits"
    return repr(value)


def _show_text(text: str) -> str:
    if len(text) > 48:
        return repr(text[:48]) + "..."
    return repr(text)


def _int(value: Any, what: str) -> int:
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not bool")
    try:
        return int(_operator.index(value))
    except TypeError:
        raise TypeError(f"{what} must be an int, not {type(value).__name__}") from None


def _bytes(data: Any, what: str) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"{what} must be bytes, not {type(data).__name__}")


def _u64(value: Any, what: str) -> int:
    value = _int(value, what)
    if value < 0 or value > _U64_MAX:
        raise _Error(f"{what} must be in 0..2**64-1, got {_show(value)}")
    return value


def _count(n: Any, what: str) -> int:
    n = _int(n, what)
    if n < 0:
        raise _Error(f"{what} must be >= 0, got {_show(n)}")
    return n


def _raw10(raw: Any) -> bytes:
    if type(raw) is not bytes:
        raw = _bytes(raw, "EMPP Msg_Id")
    if len(raw) != 10:
        raise _Error(f"EMPP Msg_Id must be 10 bytes, got {len(raw)}")
    return raw


def _field(value: Any, name: str, lo: int, hi: int) -> int:
    value = _int(value, f"CMPP Msg_Id {name}")
    if value < lo or value > hi:
        raise _Error(f"CMPP Msg_Id {name} must be in {lo}..{hi}, got {_show(value)}")
    return value


# ---------------------------------------------------------------- signed form


def msgid_to_signed(value: int) -> int:
    """The 64-bit value read as a signed two's-complement integer (Java ``long`` / the
    official EMPP jar's ``BigInteger(bytes[0:8])``)."""
    v = _u64(value, "Msg_Id value")
    return v - 0x10000000000000000 if v > _I64_MAX else v


def msgid_from_signed(value: int | str) -> int:
    """Inverse of msgid_to_signed: an int in -2**63 .. 2**63-1, or its decimal text (ASCII
    digits, optional sign, surrounding whitespace ignored), to the unsigned 64-bit value."""
    if isinstance(value, str):
        text = value.strip(_WS)
        digits = text[1:] if text[:1] in ("-", "+") else text
        if not digits or not digits.isascii() or not digits.isdigit():
            raise _Error(f"signed Msg_Id must be a decimal integer, got {_show_text(value)}")
        digits = digits.lstrip("0") or "0"
        if len(digits) > 19:
            raise _Error(f"signed Msg_Id must be in -2**63..2**63-1, got {_show_text(value)}")
        number = int(digits)
        if text[:1] == "-":
            number = -number
    else:
        number = _int(value, "signed Msg_Id")
    if number < _I64_MIN or number > _I64_MAX:
        raise _Error(f"signed Msg_Id must be in -2**63..2**63-1, got {_show(number)}")
    return number & _U64_MAX


# ---------------------------------------------------------------- EMPP (10 bytes)


def empp_raw(raw: bytes | bytearray | memoryview) -> bytes:
    """Validate a 10-byte EMPP Msg_Id; returns it as bytes."""
    return _raw10(raw)


def empp_value(raw: bytes | bytearray | memoryview) -> int:
    """The id: bytes 0-7 as an unsigned 64-bit big-endian integer (bytes 8-9 ignored)."""
    return int.from_bytes(_raw10(raw)[:8], "big")


def empp_from_value(value: int) -> bytes:
    """10 bytes: ``value`` (0 .. 2**64-1) big-endian in bytes 0-7, then two zero bytes."""
    return _u64(value, "EMPP Msg_Id value").to_bytes(8, "big") + _ZERO2


def empp_from_hex(text: str) -> bytes:
    """20 hex digits (all 10 bytes) or 16 (bytes 0-7; bytes 8-9 become 0), either case;
    ASCII whitespace anywhere is ignored (so ``b000000000001001 0000`` reads)."""
    if not isinstance(text, str):
        raise TypeError(f"EMPP Msg_Id hex must be str, not {type(text).__name__}")
    digits = text.translate(_DROP_WS)
    if _HEX.fullmatch(digits) is None:
        raise _Error(f"EMPP Msg_Id hex must be 20 or 16 hex digits, got {_show_text(text)}")
    raw = bytes.fromhex(digits)
    return raw if len(raw) == 10 else raw + _ZERO2


def empp_hex(raw: bytes | bytearray | memoryview) -> str:
    """All 10 bytes as 20 lowercase hex digits."""
    return _raw10(raw).hex()


def empp_add(raw: bytes | bytearray | memoryview, n: int) -> bytes:
    """The id + n (n >= 0) on bytes 0-7 as a big-endian integer (byte 7 carries into 6 and
    up); bytes 8-9 kept.  MsgIdError past 2**64-1."""
    r = _raw10(raw)
    k = _count(n, "EMPP Msg_Id increment")
    v = int.from_bytes(r[:8], "big") + k
    if v > _U64_MAX:
        raise _Error(f"EMPP Msg_Id {r.hex()} + {_show(n)} goes past 2**64-1 in bytes 0-7")
    return v.to_bytes(8, "big") + r[8:]


def empp_sub(raw: bytes | bytearray | memoryview, other_raw: bytes | bytearray | memoryview) -> int:
    """value(raw) - value(other_raw), an int (may be negative)."""
    a = _raw10(raw)
    b = _raw10(other_raw)
    return int.from_bytes(a[:8], "big") - int.from_bytes(b[:8], "big")


def empp_group_index(
    base_raw: bytes | bytearray | memoryview, raw: bytes | bytearray | memoryview, n: int
) -> int:
    """i if value(raw) == value(base_raw) + i for 0 <= i < n, else -1 (bytes 8-9 ignored)."""
    b = _raw10(base_raw)
    r = _raw10(raw)
    k = _count(n, "group size n")
    d = int.from_bytes(r[:8], "big") - int.from_bytes(b[:8], "big")
    return d if 0 <= d < k else -1


# ---------------------------------------------------------------- CMPP (64-bit layout)


def cmpp_value(value: int) -> int:
    """Validate a CMPP Msg_Id value (an int in 0 .. 2**64-1); returns it as an int."""
    return _u64(value, "CMPP Msg_Id")


def cmpp_from_bytes(data: bytes | bytearray | memoryview) -> int:
    """8 bytes, big-endian, to the value."""
    r = _bytes(data, "CMPP Msg_Id")
    if len(r) != 8:
        raise _Error(f"CMPP Msg_Id must be 8 bytes, got {len(r)}")
    return int.from_bytes(r, "big")


def cmpp_to_bytes(value: int) -> bytes:
    """The value as 8 bytes, big-endian."""
    return _u64(value, "CMPP Msg_Id").to_bytes(8, "big")


def cmpp_pack(
    month: int, day: int, hour: int, minute: int, second: int, gateway: int, sequence: int
) -> int:
    """Fields to the value: mon<<60 | day<<55 | hour<<50 | min<<44 | sec<<38 | gw<<16 | seq.
    Ranges: month 1-12, day 1-31, hour 0-23, minute 0-59, second 0-59, gateway 0..2**22-1,
    sequence 0..65535; MsgIdError naming the first field out of range."""
    return (
        _field(month, "month", 1, 12) << 60
        | _field(day, "day", 1, 31) << 55
        | _field(hour, "hour", 0, 23) << 50
        | _field(minute, "minute", 0, 59) << 44
        | _field(second, "second", 0, 59) << 38
        | _field(gateway, "gateway", 0, 0x3FFFFF) << 16
        | _field(sequence, "sequence", 0, 0xFFFF)
    )


def cmpp_unpack(value: int) -> tuple[int, int, int, int, int, int, int]:
    """The value to (month, day, hour, minute, second, gateway, sequence), read bit for bit
    (a value off the wire may hold e.g. month 0 or 15; nothing is checked)."""
    v = _u64(value, "CMPP Msg_Id")
    return (
        v >> 60 & 0xF,
        v >> 55 & 0x1F,
        v >> 50 & 0x1F,
        v >> 44 & 0x3F,
        v >> 38 & 0x3F,
        v >> 16 & 0x3FFFFF,
        v & 0xFFFF,
    )


def cmpp_add(value: int, n: int) -> int:
    """The CMPP group-send successor: the 16-bit sequence advances by n (n >= 0) and wraps
    from 65535 to 0; the upper 48 bits (time and gateway) never change."""
    v = _u64(value, "CMPP Msg_Id")
    k = _count(n, "CMPP Msg_Id increment")
    return (v & 0xFFFFFFFFFFFF0000) | ((v + k) & 0xFFFF)


def cmpp_group_index(base: int, value: int, n: int) -> int:
    """The recipient index i of ``value`` in the group of n ids that starts at ``base``, or -1.
    i is ``value - base`` when 0 <= value - base < n (a plain integer range), else
    ``(seq - base_seq) mod 65536`` when the upper 48 bits are equal and that is < n (a
    sequence that wrapped, as cmpp_add does)."""
    b = _u64(base, "CMPP Msg_Id")
    v = _u64(value, "CMPP Msg_Id")
    k = _count(n, "group size n")
    d = v - b
    if 0 <= d < k:
        return d
    if v >> 16 == b >> 16:
        w = d & 0xFFFF
        if w < k:
            return w
    return -1
