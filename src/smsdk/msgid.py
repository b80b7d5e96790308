"""Msg_Id values: the 10-byte EMPP id and the 64-bit CMPP id, with group-send arithmetic.

* :class:`EmppMsgId` - EMPP's 10-byte Msg_Id.  Bytes 0-7 are the id (an unsigned 64-bit
  big-endian integer), bytes 8-9 are normally zero; equality, hashing and ordering use bytes
  0-7 only, so a status report matches its SUBMIT_RESP even if a platform fills bytes 8-9.
  A SUBMIT to n numbers gets one id M; recipient i's report carries M + i, computed on bytes
  0-7 with carries (RULES.md FAQ-2.5.1 / 2.5.2).
* :class:`CmppMsgId` - CMPP's 64-bit Msg_Id with its bit fields (PROTOCOL.md §2.10).  In a
  group send only the 16-bit sequence advances, wrapping from 65535 to 0.

Both are immutable and hashable.  The arithmetic runs in the compiled core ``smsdk._msgid``
unless ``SMSDK_NO_EXTENSIONS=1`` selects its pure-Python twin ``smsdk._msgid_py``; the
results are identical.  Errors are :class:`smsdk.errors.MsgIdError` (a ValueError) for a
wrong size, form or range, and TypeError for a wrong type.  See docs/msgid.md.
"""

from __future__ import annotations

from typing import Any, NamedTuple, NoReturn

from smsdk._accel import load
from smsdk.errors import MsgIdError

_core, COMPILED = load("smsdk._msgid", "smsdk._msgid_py")

__all__ = ["COMPILED", "CmppFields", "CmppMsgId", "EmppMsgId", "MsgIdError"]

# The core functions, bound once (attribute look-ups off the module are not free).
_to_signed = _core.msgid_to_signed
_from_signed = _core.msgid_from_signed
_empp_raw = _core.empp_raw
_empp_value = _core.empp_value
_empp_from_value = _core.empp_from_value
_empp_from_hex = _core.empp_from_hex
_empp_hex = _core.empp_hex
_empp_add = _core.empp_add
_empp_sub = _core.empp_sub
_empp_group_index = _core.empp_group_index
_cmpp_value = _core.cmpp_value
_cmpp_from_bytes = _core.cmpp_from_bytes
_cmpp_to_bytes = _core.cmpp_to_bytes
_cmpp_pack = _core.cmpp_pack
_cmpp_unpack = _core.cmpp_unpack
_cmpp_add = _core.cmpp_add
_cmpp_group_index = _core.cmpp_group_index


def _immutable(self: object, name: str, value: object = None) -> NoReturn:
    raise AttributeError(f"{type(self).__name__} is immutable")


# ====================================================================== EMPP


class EmppMsgId:
    """EMPP's 10-byte Msg_Id (PROTOCOL.md §1.13).

    ``EmppMsgId(raw)`` takes exactly 10 bytes (bytes, bytearray or memoryview); a str is
    read as hex like :meth:`from_hex`, so ``eval(repr(x)) == x``.
    """

    __slots__ = ("_raw", "_value")
    _raw: bytes
    _value: int

    def __new__(cls, raw: bytes | bytearray | memoryview | str) -> EmppMsgId:
        data = _empp_from_hex(raw) if isinstance(raw, str) else _empp_raw(raw)
        return _new_empp(cls, data, _empp_value(data))

    # ---------------------------------------------------------------- constructors

    @classmethod
    def from_int(cls, value: int) -> EmppMsgId:
        """The id whose bytes 0-7 are ``value`` (0 <= value < 2**64); bytes 8-9 zero."""
        raw = _empp_from_value(value)  # checks the range
        return _new_empp(cls, raw, value if type(value) is int else _empp_value(raw))

    @classmethod
    def from_hex(cls, text: str) -> EmppMsgId:
        """20 hex digits (all 10 bytes) or 16 (bytes 0-7, bytes 8-9 zero), either case;
        ASCII whitespace is ignored (``"b000000000001001 0000"`` reads)."""
        raw = _empp_from_hex(text)
        return _new_empp(cls, raw, _empp_value(raw))

    @classmethod
    def from_signed(cls, value: int | str) -> EmppMsgId:
        """The official client's form: bytes 0-7 as a *signed* decimal (Java ``long``), given
        as an int in -2**63 .. 2**63-1 or its decimal text; bytes 8-9 zero."""
        raw = _empp_from_value(_from_signed(value))
        return _new_empp(cls, raw, _empp_value(raw))

    @classmethod
    def from_cmpp(cls, msg_id: CmppMsgId) -> EmppMsgId:
        """The CMPP id's 64 bits as bytes 0-7; bytes 8-9 zero."""
        if not isinstance(msg_id, CmppMsgId):
            raise TypeError(f"from_cmpp needs a CmppMsgId, not {type(msg_id).__name__}")
        raw = _empp_from_value(msg_id._value)
        return _new_empp(cls, raw, msg_id._value)

    # ---------------------------------------------------------------- forms

    @property
    def raw(self) -> bytes:
        """All 10 bytes, as received (bytes 8-9 included)."""
        return self._raw

    @property
    def value(self) -> int:
        """Bytes 0-7 as an unsigned 64-bit big-endian integer."""
        return self._value

    @property
    def hex(self) -> str:
        """All 10 bytes as 20 lowercase hex digits."""
        return _empp_hex(self._raw)

    @property
    def signed(self) -> str:
        """Bytes 0-7 as the official client prints them: a signed decimal (negative when
        byte 0 >= 0x80), e.g. ``b000000000001001 0000`` -> ``-5764607523034230783``."""
        return str(_to_signed(self._value))

    @property
    def unsigned(self) -> str:
        """Bytes 0-7 as an unsigned decimal."""
        return str(self._value)

    def as_cmpp(self) -> CmppMsgId:
        """Bytes 0-7 read with the CMPP bit layout (bytes 8-9 dropped).  Whether EMPP ids
        follow that layout is unverified (PROTOCOL.md §6.2): use the fields with care."""
        return _new_cmpp(CmppMsgId, self._value)

    # ---------------------------------------------------------------- arithmetic

    def __add__(self, n: int) -> EmppMsgId:
        """The id + n (n >= 0) on bytes 0-7 as a big-endian integer: byte 7 carries into
        byte 6 and up.  Bytes 8-9 are kept.  MsgIdError past 2**64 - 1."""
        if not isinstance(n, int) and not hasattr(type(n), "__index__"):
            return NotImplemented
        raw = _empp_add(self._raw, n)
        return _new_empp(type(self), raw, _empp_value(raw))

    def __sub__(self, other: EmppMsgId) -> int:
        """The difference of the two ids' values (bytes 0-7), an int."""
        if not isinstance(other, EmppMsgId):
            return NotImplemented
        return self._value - other._value

    def group_index(self, base: EmppMsgId, n: int) -> int | None:
        """i when this id is ``base + i`` for 0 <= i < n (recipient i of a group SUBMIT whose
        SUBMIT_RESP carried ``base``), else None.  Bytes 8-9 are ignored."""
        if not isinstance(base, EmppMsgId):
            raise TypeError(f"base must be an EmppMsgId, not {type(base).__name__}")
        i = _empp_group_index(base._raw, self._raw, n)
        return None if i < 0 else i

    def in_group(self, base: EmppMsgId, n: int) -> bool:
        """Whether this id is one of ``base``, ``base + 1`` ... ``base + (n - 1)``."""
        return self.group_index(base, n) is not None

    # ---------------------------------------------------------------- protocol

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EmppMsgId):
            return self._value == other._value
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, EmppMsgId):
            return self._value != other._value
        return NotImplemented

    def __lt__(self, other: EmppMsgId) -> bool:
        if isinstance(other, EmppMsgId):
            return self._value < other._value
        return NotImplemented

    def __le__(self, other: EmppMsgId) -> bool:
        if isinstance(other, EmppMsgId):
            return self._value <= other._value
        return NotImplemented

    def __gt__(self, other: EmppMsgId) -> bool:
        if isinstance(other, EmppMsgId):
            return self._value > other._value
        return NotImplemented

    def __ge__(self, other: EmppMsgId) -> bool:
        if isinstance(other, EmppMsgId):
            return self._value >= other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_empp_hex(self._raw)!r})"

    def __str__(self) -> str:
        return _empp_hex(self._raw)

    def __bytes__(self) -> bytes:
        return self._raw

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._raw,))

    __setattr__ = _immutable
    __delattr__ = _immutable


# the slots' descriptors (read from the class dict: the annotations above hide them from mypy)
_set_empp_raw = EmppMsgId.__dict__["_raw"].__set__
_set_empp_value = EmppMsgId.__dict__["_value"].__set__


def _new_empp(cls: type[EmppMsgId], raw: bytes, value: int) -> EmppMsgId:
    self = object.__new__(cls)
    _set_empp_raw(self, raw)
    _set_empp_value(self, value)
    return self


# ====================================================================== CMPP


class CmppFields(NamedTuple):
    """The bit fields of a CMPP Msg_Id (PROTOCOL.md §2.10)."""

    month: int
    day: int
    hour: int
    minute: int
    second: int
    gateway: int
    sequence: int


class CmppMsgId:
    """CMPP's 64-bit Msg_Id: ``month<<60 | day<<55 | hour<<50 | minute<<44 | second<<38 |
    gateway<<16 | sequence`` (PROTOCOL.md §2.10).

    ``CmppMsgId(value)`` takes the integer (0 <= value < 2**64); the fields read back bit for
    bit, whatever they hold (only :meth:`pack` checks their ranges).
    """

    __slots__ = ("_value",)
    _value: int

    def __new__(cls, value: int) -> CmppMsgId:
        return _new_cmpp(cls, _cmpp_value(value))

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> CmppMsgId:
        """The id from its 8 wire bytes (big-endian)."""
        return _new_cmpp(cls, _cmpp_from_bytes(data))

    @classmethod
    def pack(
        cls,
        *,
        month: int,
        day: int,
        hour: int,
        minute: int,
        second: int,
        gateway: int,
        sequence: int,
    ) -> CmppMsgId:
        """Build an id from its fields: month 1-12, day 1-31, hour 0-23, minute 0-59,
        second 0-59, gateway (ISMG code as an int, e.g. "001001" -> 1001) 0 .. 2**22-1,
        sequence 0-65535.  MsgIdError names the field out of range."""
        return _new_cmpp(cls, _cmpp_pack(month, day, hour, minute, second, gateway, sequence))

    def to_bytes(self) -> bytes:
        """The 8 wire bytes (big-endian)."""
        return _cmpp_to_bytes(self._value)

    @property
    def value(self) -> int:
        return self._value

    def fields(self) -> CmppFields:
        return CmppFields._make(_cmpp_unpack(self._value))

    @property
    def month(self) -> int:
        return _cmpp_unpack(self._value)[0]

    @property
    def day(self) -> int:
        return _cmpp_unpack(self._value)[1]

    @property
    def hour(self) -> int:
        return _cmpp_unpack(self._value)[2]

    @property
    def minute(self) -> int:
        return _cmpp_unpack(self._value)[3]

    @property
    def second(self) -> int:
        return _cmpp_unpack(self._value)[4]

    @property
    def gateway(self) -> int:
        return _cmpp_unpack(self._value)[5]

    @property
    def sequence(self) -> int:
        return _cmpp_unpack(self._value)[6]

    # ---------------------------------------------------------------- arithmetic

    def __add__(self, n: int) -> CmppMsgId:
        """The CMPP group-send rule ([CMPP3] appendix 1): recipient n of a group whose
        SUBMIT_RESP carried this id.  Only the 16-bit sequence advances, by n, wrapping
        from 65535 to 0; time and gateway fields never change (n >= 0; n >= 65536 wraps
        all the way round)."""
        if not isinstance(n, int) and not hasattr(type(n), "__index__"):
            return NotImplemented
        return _new_cmpp(type(self), _cmpp_add(self._value, n))

    def group_index(self, base: CmppMsgId, n: int) -> int | None:
        """i when this id is recipient i (0 <= i < n) of the group starting at ``base``, else
        None.  Both readings of "M ... M+(n-1)" match: a plain integer range
        (0 <= self - base < n) and a range whose 16-bit sequence wrapped (same upper 48
        bits and (seq - base_seq) mod 65536 < n)."""
        if not isinstance(base, CmppMsgId):
            raise TypeError(f"base must be a CmppMsgId, not {type(base).__name__}")
        i = _cmpp_group_index(base._value, self._value, n)
        return None if i < 0 else i

    def in_group(self, base: CmppMsgId, n: int) -> bool:
        return self.group_index(base, n) is not None

    # ---------------------------------------------------------------- protocol

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CmppMsgId):
            return self._value == other._value
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, CmppMsgId):
            return self._value != other._value
        return NotImplemented

    def __lt__(self, other: CmppMsgId) -> bool:
        if isinstance(other, CmppMsgId):
            return self._value < other._value
        return NotImplemented

    def __le__(self, other: CmppMsgId) -> bool:
        if isinstance(other, CmppMsgId):
            return self._value <= other._value
        return NotImplemented

    def __gt__(self, other: CmppMsgId) -> bool:
        if isinstance(other, CmppMsgId):
            return self._value > other._value
        return NotImplemented

    def __ge__(self, other: CmppMsgId) -> bool:
        if isinstance(other, CmppMsgId):
            return self._value >= other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        mo, d, h, mi, s, gw, seq = _cmpp_unpack(self._value)
        return (
            f"<{type(self).__name__} {self._value}: month={mo} day={d} hour={h} "
            f"minute={mi} second={s} gateway={gw} sequence={seq}>"
        )

    def __str__(self) -> str:
        return str(self._value)

    def __bytes__(self) -> bytes:
        return _cmpp_to_bytes(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._value,))

    __setattr__ = _immutable
    __delattr__ = _immutable


_set_cmpp_value = CmppMsgId.__dict__["_value"].__set__  # the slot's descriptor


def _new_cmpp(cls: type[CmppMsgId], value: int) -> CmppMsgId:
    self = object.__new__(cls)
    _set_cmpp_value(self, value)
    return self
