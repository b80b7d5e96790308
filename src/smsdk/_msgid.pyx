# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False, embedsignature=True
"""Compiled Msg_Id arithmetic core (the twin of ``_msgid_py``).

Same functions, same results, same error types as the pure-Python twin ``_msgid_py.py``
(the differential tests in tests/test_msgid_core.py hold them to it).  The public classes
live in ``smsdk.msgid``, which picks this module or the twin at import; the rules are in
docs/msgid.md (PROTOCOL.md §1.13, §1.15, §2.10; RULES.md FAQ-2.5.1/2.5.2).

Conventions of every function below:

* an EMPP id ("raw") is a bytes-like object (bytes, bytearray, memoryview) of exactly
  10 bytes; bytes 0-7 are the id as an unsigned 64-bit big-endian integer;
* a CMPP id / a 64-bit value is an int in 0 .. 2**64-1;
* a wrong type raises TypeError; a wrong size, form or range raises
  smsdk.errors.MsgIdError (a ValueError) - never OverflowError or struct.error.
"""

import operator as _operator

from smsdk.errors import MsgIdError as _Error

MSGID_API = [
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

_I64_MIN = -0x8000000000000000
_I64_MAX = 0x7FFFFFFFFFFFFFFF
_WS = " \t\n\r\f\v"


# ---------------------------------------------------------------- helpers (Python-level)

def _show(value):
    """A short rendering of a bad int for an error message (never hits int->str limits)."""
    if type(value) is int and value.bit_length() > 128:
        return f"an int of {value.bit_length()} bits"
    return repr(value)


def _show_text(text):
    if len(text) > 48:
        return repr(text[:48]) + "..."
    return repr(text)


def _int(value, what):
    """``value`` as an exact int; TypeError for bool and for anything without __index__."""
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not bool")
    try:
        return int(_operator.index(value))
    except TypeError:
        raise TypeError(f"{what} must be an int, not {type(value).__name__}") from None


def _bytes(data, what):
    """``data`` as exact bytes (bytes, bytearray or memoryview accepted)."""
    if type(data) is bytes:
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"{what} must be bytes, not {type(data).__name__}")


# ---------------------------------------------------------------- helpers (C-level)

cdef inline unsigned long long _u64(object value, str what) except? 0xFFFFFFFFFFFFFFFF:
    """A 64-bit unsigned value; MsgIdError outside 0 .. 2**64-1."""
    cdef unsigned long long v
    if type(value) is not int:
        value = _int(value, what)
    try:
        v = value
    except OverflowError:
        raise _Error(f"{what} must be in 0..2**64-1, got {_show(value)}") from None
    return v


cdef inline int _count(object n, str what, unsigned long long* out) except -1:
    """A count n >= 0.  Returns 0 with *out = n, or 1 when n > 2**64-1 (*out untouched)."""
    if type(n) is not int:
        n = _int(n, what)
    try:
        out[0] = n
        return 0
    except OverflowError:
        if n < 0:
            raise _Error(f"{what} must be >= 0, got {_show(n)}") from None
        return 1


cdef inline bytes _raw10(object raw):
    """Validated 10-byte EMPP Msg_Id as exact bytes."""
    if type(raw) is not bytes:
        raw = _bytes(raw, "EMPP Msg_Id")
    if len(<bytes>raw) != 10:
        raise _Error(f"EMPP Msg_Id must be 10 bytes, got {len(<bytes>raw)}")
    return <bytes>raw


cdef inline unsigned long long _be64(const unsigned char* p) noexcept:
    cdef unsigned long long v = 0
    cdef int i
    for i in range(8):
        v = (v << 8) | p[i]
    return v


cdef inline void _put64(unsigned char* p, unsigned long long v) noexcept:
    cdef int i
    for i in range(7, -1, -1):
        p[i] = <unsigned char>(v & 0xFF)
        v >>= 8


cdef inline bytes _make10(unsigned long long v, unsigned char b8, unsigned char b9):
    cdef unsigned char buf[10]
    _put64(buf, v)
    buf[8] = b8
    buf[9] = b9
    return (<char*>buf)[:10]


cdef inline long long _field(object value, str name, long long lo, long long hi) except? -1:
    """One CMPP Msg_Id field for pack: an int in lo..hi, else MsgIdError naming the field."""
    cdef long long v
    if type(value) is not int:
        value = _int(value, f"CMPP Msg_Id {name}")
    try:
        v = value
    except OverflowError:
        v = hi + 1   # far out of range either way; reported below with the original value
    if v < lo or v > hi:
        raise _Error(f"CMPP Msg_Id {name} must be in {lo}..{hi}, got {_show(value)}")
    return v


# ---------------------------------------------------------------- signed form

def msgid_to_signed(value):
    """The 64-bit value read as a signed two's-complement integer (Java ``long`` / the
    official EMPP jar's ``BigInteger(bytes[0:8])``)."""
    cdef unsigned long long v = _u64(value, "Msg_Id value")
    return <long long>v


def msgid_from_signed(value):
    """Inverse of msgid_to_signed: an int in -2**63 .. 2**63-1, or its decimal text (ASCII
    digits, optional sign, surrounding whitespace ignored), to the unsigned 64-bit value."""
    cdef long long s
    if isinstance(value, str):
        text = value.strip(_WS)
        digits = text[1:] if text[:1] in ("-", "+") else text
        if not digits or not digits.isascii() or not digits.isdigit():
            raise _Error(
                f"signed Msg_Id must be a decimal integer, got {_show_text(value)}")
        digits = digits.lstrip("0") or "0"
        if len(digits) > 19:
            raise _Error(
                f"signed Msg_Id must be in -2**63..2**63-1, got {_show_text(value)}")
        number = int(digits)
        if text[:1] == "-":
            number = -number
    else:
        number = _int(value, "signed Msg_Id")
    if number < _I64_MIN or number > _I64_MAX:
        raise _Error(f"signed Msg_Id must be in -2**63..2**63-1, got {_show(number)}")
    s = number
    return <unsigned long long>s


# ---------------------------------------------------------------- EMPP (10 bytes)

def empp_raw(raw):
    """Validate a 10-byte EMPP Msg_Id; returns it as bytes."""
    return _raw10(raw)


def empp_value(raw):
    """The id: bytes 0-7 as an unsigned 64-bit big-endian integer (bytes 8-9 ignored)."""
    cdef bytes r = _raw10(raw)
    return _be64(<const unsigned char*><const char*>r)


def empp_from_value(value):
    """10 bytes: ``value`` (0 .. 2**64-1) big-endian in bytes 0-7, then two zero bytes."""
    return _make10(_u64(value, "EMPP Msg_Id value"), 0, 0)


def empp_from_hex(text):
    """20 hex digits (all 10 bytes) or 16 (bytes 0-7; bytes 8-9 become 0), either case;
    ASCII whitespace anywhere is ignored (so ``b000000000001001 0000`` reads)."""
    cdef unsigned char nib[20]
    cdef unsigned char buf[10]
    cdef int count = 0
    cdef int i
    cdef unsigned char d
    cdef Py_UCS4 ch
    cdef unsigned int c
    if not isinstance(text, str):
        raise TypeError(f"EMPP Msg_Id hex must be str, not {type(text).__name__}")
    for ch in <str>text:
        c = <unsigned int>ch
        if c == 32 or (9 <= c <= 13):
            continue
        if 48 <= c <= 57:
            d = <unsigned char>(c - 48)
        elif 97 <= c <= 102:
            d = <unsigned char>(c - 87)
        elif 65 <= c <= 70:
            d = <unsigned char>(c - 55)
        else:
            raise _Error(
                f"EMPP Msg_Id hex must be 20 or 16 hex digits, got {_show_text(text)}")
        if count == 20:
            raise _Error(
                f"EMPP Msg_Id hex must be 20 or 16 hex digits, got {_show_text(text)}")
        nib[count] = d
        count += 1
    if count != 20 and count != 16:
        raise _Error(
            f"EMPP Msg_Id hex must be 20 or 16 hex digits, got {_show_text(text)}")
    for i in range(10):
        buf[i] = 0
    for i in range(count // 2):
        buf[i] = <unsigned char>((nib[2 * i] << 4) | nib[2 * i + 1])
    return (<char*>buf)[:10]


def empp_hex(raw):
    """All 10 bytes as 20 lowercase hex digits."""
    return _raw10(raw).hex()


def empp_add(raw, n):
    """The id + n (n >= 0) on bytes 0-7 as a big-endian integer (byte 7 carries into 6 and
    up); bytes 8-9 kept.  MsgIdError past 2**64-1."""
    cdef bytes r = _raw10(raw)
    cdef const unsigned char* p = <const unsigned char*><const char*>r
    cdef unsigned long long v = _be64(p)
    cdef unsigned long long k = 0
    if _count(n, "EMPP Msg_Id increment", &k) or k > (~(<unsigned long long>0)) - v:
        raise _Error(
            f"EMPP Msg_Id {r.hex()} + {_show(n)} goes past 2**64-1 in bytes 0-7")
    return _make10(v + k, p[8], p[9])


def empp_sub(raw, other_raw):
    """value(raw) - value(other_raw), an int (may be negative)."""
    cdef bytes a = _raw10(raw)
    cdef bytes b = _raw10(other_raw)
    cdef unsigned long long va = _be64(<const unsigned char*><const char*>a)
    cdef unsigned long long vb = _be64(<const unsigned char*><const char*>b)
    if va >= vb:
        return va - vb
    return -<object>(vb - va)


def empp_group_index(base_raw, raw, n):
    """i if value(raw) == value(base_raw) + i for 0 <= i < n, else -1 (bytes 8-9 ignored)."""
    cdef bytes b = _raw10(base_raw)
    cdef bytes r = _raw10(raw)
    cdef unsigned long long k = 0
    cdef int huge = _count(n, "group size n", &k)
    cdef unsigned long long vb = _be64(<const unsigned char*><const char*>b)
    cdef unsigned long long vr = _be64(<const unsigned char*><const char*>r)
    if vr >= vb and (huge or vr - vb < k):
        return vr - vb
    return -1


# ---------------------------------------------------------------- CMPP (64-bit layout)

def cmpp_value(value):
    """Validate a CMPP Msg_Id value (an int in 0 .. 2**64-1); returns it as an int."""
    return _u64(value, "CMPP Msg_Id")


def cmpp_from_bytes(data):
    """8 bytes, big-endian, to the value."""
    cdef bytes r = _bytes(data, "CMPP Msg_Id") if type(data) is not bytes else <bytes>data
    if len(r) != 8:
        raise _Error(f"CMPP Msg_Id must be 8 bytes, got {len(r)}")
    return _be64(<const unsigned char*><const char*>r)


def cmpp_to_bytes(value):
    """The value as 8 bytes, big-endian."""
    cdef unsigned char buf[8]
    _put64(buf, _u64(value, "CMPP Msg_Id"))
    return (<char*>buf)[:8]


def cmpp_pack(month, day, hour, minute, second, gateway, sequence):
    """Fields to the value: mon<<60 | day<<55 | hour<<50 | min<<44 | sec<<38 | gw<<16 | seq.
    Ranges: month 1-12, day 1-31, hour 0-23, minute 0-59, second 0-59, gateway 0..2**22-1,
    sequence 0..65535; MsgIdError naming the first field out of range."""
    cdef unsigned long long v
    v = <unsigned long long>_field(month, "month", 1, 12) << 60
    v |= <unsigned long long>_field(day, "day", 1, 31) << 55
    v |= <unsigned long long>_field(hour, "hour", 0, 23) << 50
    v |= <unsigned long long>_field(minute, "minute", 0, 59) << 44
    v |= <unsigned long long>_field(second, "second", 0, 59) << 38
    v |= <unsigned long long>_field(gateway, "gateway", 0, 0x3FFFFF) << 16
    v |= <unsigned long long>_field(sequence, "sequence", 0, 0xFFFF)
    return v


def cmpp_unpack(value):
    """The value to (month, day, hour, minute, second, gateway, sequence), read bit for bit
    (a value off the wire may hold e.g. month 0 or 15; nothing is checked)."""
    cdef unsigned long long v = _u64(value, "CMPP Msg_Id")
    return (
        <int>((v >> 60) & 0xF),
        <int>((v >> 55) & 0x1F),
        <int>((v >> 50) & 0x1F),
        <int>((v >> 44) & 0x3F),
        <int>((v >> 38) & 0x3F),
        <long>((v >> 16) & 0x3FFFFF),
        <int>(v & 0xFFFF),
    )


def cmpp_add(value, n):
    """The CMPP group-send successor: the 16-bit sequence advances by n (n >= 0) and wraps
    from 65535 to 0; the upper 48 bits (time and gateway) never change."""
    cdef unsigned long long v = _u64(value, "CMPP Msg_Id")
    cdef unsigned long long k = 0
    if type(n) is not int:
        n = _int(n, "CMPP Msg_Id increment")
    if _count(n, "CMPP Msg_Id increment", &k):
        k = <unsigned long long>(n & 0xFFFF)
    return (v & ~(<unsigned long long>0xFFFF)) | ((v + k) & 0xFFFF)


def cmpp_group_index(base, value, n):
    """The recipient index i of ``value`` in the group of n ids that starts at ``base``, or -1.
    i is ``value - base`` when 0 <= value - base < n (a plain integer range), else
    ``(seq - base_seq) mod 65536`` when the upper 48 bits are equal and that is < n (a
    sequence that wrapped, as cmpp_add does)."""
    cdef unsigned long long b = _u64(base, "CMPP Msg_Id")
    cdef unsigned long long v = _u64(value, "CMPP Msg_Id")
    cdef unsigned long long k = 0
    cdef unsigned long long w
    cdef int huge = _count(n, "group size n", &k)
    if v >= b and (huge or v - b < k):
        return v - b
    if (v >> 16) == (b >> 16):
        w = (v - b) & 0xFFFF
        if huge or w < k:
            return w
    return -1
