"""Pure-Python PDU codec: the twin of ``_codec.pyx`` and the reference interpreter of the
layout tables in ``_layouts.py``.

Same names, same behaviour, same exceptions (class, ``field`` and message) as the compiled
module; the differential tests feed both the same input.  See docs/codec.md.
"""

from __future__ import annotations

import inspect as _inspect
import struct as _struct
from typing import Any

from smsdk import _layouts as _L
from smsdk._authenticator import (
    check_connect,
    connect_authenticator,
    connect_fields as _connect_fields,
    connect_resp_authenticator,
    timestamp_from_datetime,
)
from smsdk._layouts import (
    DEFAULT_MAX_LENGTH,
    HEADER_SIZE,
    VERSION_CMPP2,
    VERSION_CMPP3,
    VERSION_EMPP,
    VERSIONS,
    CommandId,
    Dialect,
    command_name,
)
from smsdk.errors import (
    FieldValueError,
    FrameLengthError,
    LengthMismatchError,
    ProtocolError,
    TruncatedError,
    UnknownCommandError,
)

__all__ = list(_L.CODEC_API)

_U8, _U32_KIND, _BYTES, _TEXT, _DIGITS = _L.U8, _L.U32, _L.BYTES, _L.TEXT, _L.DIGITS
_COUNT, _DESTS, _LENGTH, _CONTENT, _CONTENT_OR_REPORT = (
    _L.COUNT, _L.DESTS, _L.LENGTH, _L.CONTENT, _L.CONTENT_OR_REPORT
)
_T_INT, _T_OPTINT, _T_STR, _T_BYTES, _T_STRS = _L.T_INT, _L.T_OPTINT, _L.T_STR, _L.T_BYTES, _L.T_STRS
_T_CONTENT, _T_CONTENT_REPORT, _MAX_CONTENT = _L.T_CONTENT, _L.T_CONTENT_REPORT, _L.MAX_CONTENT
_U32 = _struct.Struct(">I")
_HEADER = _struct.Struct(">III")
_MAX_U32 = 0xFFFFFFFF


# ---------------------------------------------------------------------------------------
# Value classes


def _repr_value(v: object) -> str:
    if type(v) is bytes:
        return f"bytes.fromhex('{v.hex()}')" if v else "b''"
    return repr(v)


def _normalise(cls, values: list) -> tuple:
    """Check the Python type of every attribute and normalise it (the constructor's job)."""
    name = cls.__name__
    fields = cls._fields
    for i, t in enumerate(cls._types):
        v = values[i]
        if t == _T_INT or t == _T_OPTINT:
            if type(v) is not int:
                if t == _T_OPTINT and v is None:
                    continue
                if not isinstance(v, int):
                    raise TypeError(f"{name}.{fields[i]} must be int, not {type(v).__name__}")
                values[i] = int(v)
        elif t == _T_STR:
            if type(v) is not str:
                if not isinstance(v, str):
                    raise TypeError(f"{name}.{fields[i]} must be str, not {type(v).__name__}")
                values[i] = str.__str__(v)
        elif t == _T_BYTES or t == _T_CONTENT or t == _T_CONTENT_REPORT:
            if type(v) is not bytes:
                if isinstance(v, (bytearray, memoryview, bytes)):
                    values[i] = bytes(v)
                elif t == _T_CONTENT_REPORT and isinstance(v, StatusReport):
                    if not _has_v(v):
                        raise TypeError(f"{name}.{fields[i]} is an uninitialised StatusReport")
                else:
                    want = "bytes or a StatusReport" if t == _T_CONTENT_REPORT else "bytes"
                    raise TypeError(f"{name}.{fields[i]} must be {want}, not {type(v).__name__}")
        else:  # T_STRS
            if type(v) is not tuple:
                if isinstance(v, (str, bytes, bytearray, memoryview)):
                    raise TypeError(
                        f"{name}.{fields[i]} must be a sequence of str, not {type(v).__name__}"
                    )
                try:
                    v = tuple(v)
                except TypeError:
                    raise TypeError(
                        f"{name}.{fields[i]} must be a sequence of str, not {type(v).__name__}"
                    ) from None
            for e in v:
                if type(e) is not str:
                    if not isinstance(e, str):
                        raise TypeError(
                            f"{name}.{fields[i]} entries must be str, not {type(e).__name__}"
                        )
                    v = tuple(str.__str__(x) for x in v)
                    break
            values[i] = v
    return tuple(values)


class _Record:
    """Immutable value object whose attribute values live in one tuple, in ``_fields`` order."""

    __slots__ = ("_v",)
    _v: tuple[Any, ...]  # the slot (declared for type checkers)
    _fields: tuple[str, ...] = ()
    _defaults: tuple = ()
    _types: tuple[int, ...] = ()
    _index: dict[str, int] = {}
    _type_id = -1

    def __init__(self, *args, **kwargs):
        cls = type(self)
        fields = cls._fields
        nargs = len(args)
        if _has_v(self):
            raise TypeError(f"{cls.__name__} objects are immutable: __init__ runs once")
        if nargs > len(fields):
            raise TypeError(f"{cls.__name__}() takes at most {len(fields)} positional arguments ({nargs} given)")
        values = list(cls._defaults)
        values[:nargs] = args
        if kwargs:
            index = cls._index
            for key, value in kwargs.items():
                i = index.get(key)
                if i is None:
                    raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {key!r}")
                if i < nargs:
                    raise TypeError(f"{cls.__name__}() got multiple values for argument {key!r}")
                values[i] = value
        _set_v(self, _normalise(cls, values))

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable; use .replace({name}=...)")

    def __delattr__(self, name):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other):
        if type(other) is type(self):
            return self._v == other._v
        return NotImplemented

    def __ne__(self, other):
        if type(other) is type(self):
            return self._v != other._v
        return NotImplemented

    def __hash__(self):
        return hash((type(self).__name__, self._v))

    def __repr__(self):
        if not _has_v(self):
            return f"<uninitialised {type(self).__name__}>"
        parts = ", ".join(f"{a}={_repr_value(v)}" for a, v in zip(self._fields, self._v))
        return f"{type(self).__name__}({parts})"

    def __reduce__(self):
        return (type(self), self._v)

    def replace(self, **changes):
        """A copy with some attributes changed (checked like the constructor's arguments)."""
        kwargs = dict(zip(self._fields, self._v))
        for key in changes:
            if key not in kwargs:
                raise TypeError(f"{type(self).__name__} has no field {key!r}")
        kwargs.update(changes)
        return type(self)(**kwargs)


_set_v = _Record.__dict__["_v"].__set__  # the slot's descriptor


def _has_v(obj) -> bool:
    try:
        obj._v
    except AttributeError:
        return False
    return True


class _Pdu(_Record):
    """A PDU: a record with a ``command_id``."""

    __slots__ = ()
    command_id: int = 0


def _getter(i: int, doc: str):
    return property(lambda self: self._v[i], doc=doc)


def _make_class(tid: int, spec: _L.RecordSpec) -> type:
    ns: dict[str, object] = {
        "__slots__": (),
        "__doc__": spec.doc,
        "__module__": __name__,
        "_fields": spec.attrs,
        "_defaults": spec.defaults,
        "_types": spec.types,
        "_index": {a: i for i, a in enumerate(spec.attrs)},
        "_type_id": tid,
        "__signature__": _inspect.Signature(
            [
                _inspect.Parameter(a, _inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d)
                for a, _t, d in spec.fields
            ]
        ),
    }
    for i, (attr, _t, _d) in enumerate(spec.fields):
        ns[attr] = _getter(i, f"{spec.name}.{attr}")
    if spec.command_id is not None:
        ns["command_id"] = spec.command_id
        return type(spec.name, (_Pdu,), ns)
    return type(spec.name, (_Record,), ns)


# made at run time from the table: typed Any here, described by codec.pyi
_CLASSES: list[Any] = [_make_class(i, s) for i, s in enumerate(_L.RECORDS)]
(
    Connect,
    ConnectResp,
    Submit,
    SubmitResp,
    Deliver,
    DeliverResp,
    ActiveTest,
    ActiveTestResp,
    Terminate,
    TerminateResp,
    Unauthorization,
    ChangePass,
    ChangePassResp,
    StatusReport,
) = _CLASSES

_DELIVER_CONTENT = Deliver._index["msg_content"]


def _is_report(self) -> bool:
    """True when msg_content is a StatusReport (a DELIVER with Registered_Delivery = 1)."""
    return type(self._v[_DELIVER_CONTENT]) is StatusReport


def _report(self):
    """The StatusReport carried in msg_content, or None for an MO message."""
    v = self._v[_DELIVER_CONTENT]
    return v if type(v) is StatusReport else None


Deliver.is_report = property(_is_report)
Deliver.report = property(_report)

#: Every PDU class (StatusReport is not a PDU: it travels inside a DELIVER).
PDU_CLASSES: tuple[type, ...] = tuple(c for c in _CLASSES if c is not StatusReport)


def build_connect(source_addr: str, password: str | bytes, timestamp, dialect) -> _Pdu:
    """A ready CONNECT: authenticator computed, version of the dialect (0x10/0x20/0x30).

    ``timestamp`` is the MMDDhhmmss integer or a datetime in China time.
    """
    return Connect(**_connect_fields(source_addr, password, timestamp, dialect))


# ---------------------------------------------------------------------------------------
# Plans: the layout tables, indexed for the interpreter.


class _Plan:
    __slots__ = (
        "cls", "tid", "cmd", "label", "ops", "fixed", "absent", "report", "rd_index",
        "nprefix", "prefix", "prefix_kinds",
    )

    def __init__(self, dialect: Dialect, tid: int, spec: _L.RecordSpec, fields) -> None:
        self.cls = _CLASSES[tid]
        self.tid = tid
        self.cmd = spec.command_id
        self.label = f"{dialect.name} {spec.command_id.name if spec.command_id else 'status report'}"
        index = {a: i for i, a in enumerate(spec.attrs)}
        ops = []
        for j, f in enumerate(fields):
            # rest: fixed bytes after a COUNT / LENGTH field; aux: a COUNT's entry width
            rest = _L.fixed_size(fields[j + 1 :])
            aux = fields[j + 1].width if f.kind == _COUNT else 0
            ops.append((f.kind, f.width, index[f.attr], f.name, f.optional, f.absent, rest, aux))
        self.ops = tuple(ops)
        # The leading fields of fixed size and position decode with one struct call.
        fmt = {_U8: "B", _U32_KIND: "I"}
        codes = []
        kinds = []
        for f in fields:
            if f.kind not in (_U8, _U32_KIND, _BYTES, _TEXT, _DIGITS) or f.optional:
                break
            codes.append(fmt.get(f.kind, f"{f.width}s"))
            kinds.append((index[f.attr], f.kind in (_TEXT, _DIGITS)))
        self.nprefix = len(codes)
        self.prefix = _struct.Struct(">" + "".join(codes))
        self.prefix_kinds = tuple(kinds)
        self.fixed = _L.fixed_size(fields)
        self.absent = _L.absent_fields(dialect, spec.name)
        # the status report's plan, for a record that may carry one (set after all plans)
        self.report: Any = None
        self.rd_index = index.get(_L.REPORT_FLAG_ATTR, -1)


_PLANS: dict[int, list] = {}
_CMD_TO_TID: dict[int, dict[int, int]] = {}
for _d in Dialect:
    _table = _L.LAYOUTS[_d]
    _plans: list = [None] * len(_L.RECORDS)
    for _tid, _spec in enumerate(_L.RECORDS):
        if _spec.name in _table:
            _plans[_tid] = _Plan(_d, _tid, _spec, _table[_spec.name])
    _report_plan = _plans[_L.REPORT_TID]
    for _p in _plans:
        if _p is not None and _p.rd_index >= 0:
            _p.report = _report_plan
    _PLANS[int(_d)] = _plans
    _CMD_TO_TID[int(_d)] = {p.cmd: p.tid for p in _plans if p is not None and p.cmd is not None}
del _d, _table, _plans, _tid, _spec, _report_plan, _p


def _dialect(dialect) -> int:
    if type(dialect) is not int and not isinstance(dialect, int):
        raise TypeError(f"dialect must be a Dialect, not {type(dialect).__name__}")
    if dialect not in _PLANS:
        raise ValueError(f"unknown dialect {dialect!r}")
    return int(dialect)


# ---------------------------------------------------------------------------------------
# Encoding


def _range_error(name: str, v: int, top: int) -> FieldValueError:
    return FieldValueError(f"{name} = {v} is outside 0..{top}", field=name)


def _put_text(out: bytearray, pos: int, v: str, width: int, name: str, digits: bool) -> None:
    try:
        data = v.encode("latin-1")
    except UnicodeEncodeError:
        raise FieldValueError(f"{name} is not latin-1 text: {v!r}", field=name) from None
    n = len(data)
    if n > width:
        raise FieldValueError(f"{name} is {n} characters; the field holds {width}", field=name)
    if digits:
        if n and not data.isdigit():
            raise FieldValueError(f"{name} must be ASCII digits, got {v!r}", field=name)
    elif b"\x00" in data:
        raise FieldValueError(f"{name} contains a NUL character: {v!r}", field=name)
    out[pos : pos + n] = data  # the rest of the field is already 0x00


def _write(plan: _Plan, values: tuple, out: bytearray, pos: int) -> int:
    """Write a record's fields at ``pos``; return the position after them."""
    for kind, width, i, name, _opt, _absent, _rest, _aux in plan.ops:
        v = values[i]
        if kind == _U8:
            if not 0 <= v <= 0xFF:
                raise _range_error(name, v, 0xFF)
            out[pos] = v
        elif kind == _U32_KIND:
            if v is None:  # an optional trailing field left out (EMPP CONNECT_RESP Ability)
                continue
            if not 0 <= v <= _MAX_U32:
                raise _range_error(name, v, _MAX_U32)
            _U32.pack_into(out, pos, v)
        elif kind == _TEXT or kind == _DIGITS:
            _put_text(out, pos, v, width, name, kind == _DIGITS)
        elif kind == _BYTES:
            n = len(v)
            if n != width:
                if n:
                    raise FieldValueError(
                        f"{name} must be {width} bytes (or empty for zeros), got {n}", field=name
                    )
            else:
                out[pos : pos + width] = v
        elif kind == _COUNT:
            n = len(v)
            top = 0xFF if width == 1 else _MAX_U32
            if n > top:
                raise _range_error(name, n, top)
            if width == 1:
                out[pos] = n
            else:
                _U32.pack_into(out, pos, n)
        elif kind == _DESTS:
            for k, entry in enumerate(v):
                if not entry:
                    raise FieldValueError(f"{name}[{k}] is empty", field=name)
                _put_text(out, pos, entry, width, name, True)
                pos += width
            continue
        elif kind == _LENGTH:
            if type(v) is bytes:
                n = len(v)
                if n > _MAX_CONTENT:
                    raise FieldValueError(
                        f"Msg_Content is {n} bytes; Msg_Length holds at most {_MAX_CONTENT}",
                        field="Msg_Content",
                    )
                out[pos] = n
            else:
                out[pos] = plan.report.fixed
        elif kind == _CONTENT:
            out[pos : pos + len(v)] = v
            pos += len(v)
            continue
        else:  # CONTENT_OR_REPORT
            rd = values[plan.rd_index]
            if type(v) is bytes:
                if rd == 1:
                    raise FieldValueError(
                        "Registered_Delivery is 1 but Msg_Content is not a StatusReport",
                        field="Msg_Content",
                    )
                out[pos : pos + len(v)] = v
                pos += len(v)
            else:
                if rd != 1:
                    raise FieldValueError(
                        f"Msg_Content is a StatusReport but Registered_Delivery is {rd}",
                        field="Registered_Delivery",
                    )
                pos = _write(plan.report, v._v, out, pos)
            continue
        pos += width
    return pos


def encode(pdu, sequence_id: int, dialect) -> bytes:
    """The packet (header and body) of ``pdu`` in ``dialect``.

    Raises FieldValueError (``field`` = the spec name) for a value the wire cannot carry,
    UnknownCommandError for a PDU the dialect does not have.
    """
    d = _dialect(dialect)
    if not isinstance(pdu, _Pdu):
        raise TypeError(f"encode needs a PDU, not {type(pdu).__name__}")
    try:
        values = pdu._v
    except AttributeError:
        raise TypeError(f"{type(pdu).__name__} was not initialised") from None
    plan = _PLANS[d][pdu._type_id]
    if plan is None:
        cmd = type(pdu).command_id
        raise UnknownCommandError(
            f"{Dialect(d).name} has no {command_name(cmd)} (Command_Id 0x{cmd:08X})", command_id=cmd
        )
    if type(sequence_id) is not int:
        if not isinstance(sequence_id, int):
            raise TypeError(f"sequence_id must be int, not {type(sequence_id).__name__}")
        sequence_id = int(sequence_id)
    if not 0 <= sequence_id <= _MAX_U32:
        raise _range_error("Sequence_Id", sequence_id, _MAX_U32)
    for i, name, default in plan.absent:
        v = values[i]
        if v != default and not (v is None and plan.cls._types[i] == _T_OPTINT):
            raise FieldValueError(
                f"{name} = {v!r} cannot be carried by {plan.label} (it must stay {default!r})",
                field=name,
            )
    size = HEADER_SIZE + plan.fixed
    for kind, width, i, _name, _opt, _absent, _rest, _aux in plan.ops:
        if kind == _DESTS:
            size += width * len(values[i])
        elif kind == _CONTENT or kind == _CONTENT_OR_REPORT:
            v = values[i]
            size += len(v) if type(v) is bytes else plan.report.fixed
        elif kind == _U32_KIND and values[i] is None:
            size -= width
    if size > _MAX_U32:
        raise FieldValueError(f"the packet would be {size} bytes", field="Total_Length")
    out = bytearray(size)
    _HEADER.pack_into(out, 0, size, plan.cmd, sequence_id)
    _write(plan, values, out, HEADER_SIZE)
    return bytes(out)


# ---------------------------------------------------------------------------------------
# Decoding


def _text(data: bytes, pos: int, width: int) -> str:
    raw = data[pos : pos + width]
    z = raw.find(0)
    if z >= 0:
        raw = raw[:z]
    return raw.decode("latin-1")


def _read(plan: _Plan, data: bytes, pos: int, end: int, label: str):
    """Decode a record's fields from ``data[pos:end]`` (which they must fill exactly)."""
    values = list(plan.cls._defaults)
    start = pos
    last_name = None  # the most recent length field (DestUsr_tl / Msg_Length) and its value
    last_value = 0
    count = 0
    length = 0

    def short(name: str, width: int):
        if last_name is not None:
            return LengthMismatchError(
                f"{label}: {last_name} = {last_value} disagrees with the {end - start}-byte body",
                field=last_name,
            )
        return TruncatedError(
            f"{label}: the {end - start}-byte body ends inside {name} "
            f"(bytes {pos - start}..{pos - start + width - 1})",
            field=name,
        )

    def mismatch():
        return LengthMismatchError(
            f"{label}: {last_name} = {last_value} disagrees with the {end - start}-byte body",
            field=last_name,
        )

    ops = plan.ops
    if end - pos >= plan.prefix.size:  # fast path: the fixed leading fields are all there
        for (i, is_text), v in zip(plan.prefix_kinds, plan.prefix.unpack_from(data, pos)):
            if is_text:
                z = v.find(0)
                v = (v if z < 0 else v[:z]).decode("latin-1")
            values[i] = v
        pos += plan.prefix.size
        ops = ops[plan.nprefix :]
    for kind, width, i, name, optional, absent, rest, aux in ops:
        if kind == _DESTS:
            need = width * count
            if end - pos < need:
                raise short(name, need)
            values[i] = tuple(_text(data, pos + k * width, width) for k in range(count))
            pos += need
            continue
        if kind == _CONTENT or kind == _CONTENT_OR_REPORT:
            if end - pos < length:
                raise short(name, length)
            if kind == _CONTENT_OR_REPORT and values[plan.rd_index] == 1:
                rplan = plan.report
                if length != rplan.fixed:
                    raise LengthMismatchError(
                        f"{label}: a status report is {rplan.fixed} bytes, Msg_Length is {length}",
                        field="Msg_Content",
                    )
                values[i] = _read(rplan, data, pos, pos + length, label)
            else:
                values[i] = data[pos : pos + length]
            pos += length
            continue
        if end - pos < width:
            if optional and pos == end:
                values[i] = absent
                continue
            raise short(name, width)
        if kind == _U8:
            values[i] = data[pos]
        elif kind == _U32_KIND:
            values[i] = _U32.unpack_from(data, pos)[0]
        elif kind == _TEXT or kind == _DIGITS:
            values[i] = _text(data, pos, width)
        elif kind == _BYTES:
            values[i] = data[pos : pos + width]
        elif kind == _COUNT:
            count = data[pos] if width == 1 else _U32.unpack_from(data, pos)[0]
            last_name, last_value = name, count
            # the numbers and every fixed field after them must fit (content may be empty)
            if end - pos - width < count * aux + rest:
                raise mismatch()
        else:  # LENGTH
            length = data[pos]
            last_name, last_value = name, length
            if end - pos - width != length + rest:
                raise mismatch()
        pos += width
    if pos != end:
        raise LengthMismatchError(
            f"{label}: {end - pos} bytes after the last field of the {end - start}-byte body",
            field=last_name or "Total_Length",
        )
    obj = plan.cls.__new__(plan.cls)
    _set_v(obj, tuple(values))
    return obj


def _decode_frame(d: int, data: bytes):
    """(sequence_id, pdu) of one whole packet whose Total_Length has been checked."""
    _total, cmd, seq = _HEADER.unpack_from(data, 0)
    try:
        tid = _CMD_TO_TID[d].get(cmd)
        if tid is None:
            raise UnknownCommandError(
                f"{Dialect(d).name}: unknown Command_Id 0x{cmd:08X}", command_id=cmd
            )
        plan = _PLANS[d][tid]
        return seq, _read(plan, data, HEADER_SIZE, len(data), plan.label)
    except ProtocolError as e:
        e.sequence_id = seq
        e.command_id = cmd
        raise


def _as_bytes(packet) -> bytes:
    if type(packet) is bytes:
        return packet
    if isinstance(packet, (bytes, bytearray, memoryview)):
        return bytes(packet)
    raise TypeError(f"expected bytes, bytearray or memoryview, not {type(packet).__name__}")


def decode(packet, dialect) -> tuple[int, object]:
    """``(sequence_id, pdu)`` of one whole packet (bytes, bytearray or memoryview).

    Raises FrameLengthError when Total_Length is not the packet's size,
    UnknownCommandError, TruncatedError or LengthMismatchError for a bad body.
    """
    d = _dialect(dialect)
    data = _as_bytes(packet)
    n = len(data)
    if n < HEADER_SIZE:
        raise FrameLengthError(
            f"a packet of {n} bytes is shorter than the {HEADER_SIZE}-byte header",
            field="Total_Length",
        )
    total, cmd, seq = _HEADER.unpack_from(data, 0)
    if total != n:
        e = FrameLengthError(f"Total_Length {total} but the packet is {n} bytes", field="Total_Length")
        e.sequence_id = seq
        e.command_id = cmd
        raise e
    return _decode_frame(d, data)


class FrameDecoder:
    """Split a byte stream into PDUs: ``feed(chunk) -> [(sequence_id, pdu), ...]``.

    Any chunking works.  Total_Length under 12 or over ``max_length`` is refused as soon as
    its 4 bytes arrive (FrameLengthError) and poisons the decoder: framing is lost, every
    later ``feed`` raises FrameLengthError.  A bad body (unknown command, truncated, length
    mismatch) consumes its frame only: call ``feed(b"")`` to go on with the buffered rest.
    Errors raised by ``feed`` carry ``.pdus``, the PDUs decoded before them in that call.
    """

    __slots__ = ("_dialect", "_max", "_buf", "_poisoned")

    def __init__(self, dialect, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        self._dialect = _dialect(dialect)
        if not isinstance(max_length, int):
            raise TypeError(f"max_length must be int, not {type(max_length).__name__}")
        if not HEADER_SIZE <= max_length <= _MAX_U32:
            raise ValueError(f"max_length must be in {HEADER_SIZE}..{_MAX_U32}, got {max_length}")
        self._max = int(max_length)
        self._buf = bytearray()
        self._poisoned = False

    @property
    def dialect(self) -> Dialect:
        return Dialect(self._dialect)

    @property
    def max_length(self) -> int:
        return self._max

    @property
    def buffered(self) -> int:
        """Number of bytes received but not yet decoded (an incomplete frame)."""
        return len(self._buf)

    def feed(self, chunk) -> list:
        if self._poisoned:
            raise FrameLengthError(
                "the stream's framing was lost at an invalid Total_Length; open a new connection",
                field="Total_Length",
            )
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"expected bytes, bytearray or memoryview, not {type(chunk).__name__}")
        if type(chunk) is memoryview and not chunk.c_contiguous:
            chunk = chunk.tobytes()  # as the compiled twin: any 1-D slice of bytes is accepted
        buf = self._buf
        buf += chunk
        out: list = []
        n = len(buf)
        pos = 0
        err: ProtocolError | None = None
        d = self._dialect
        limit = self._max
        while n - pos >= 4:
            total = _U32.unpack_from(buf, pos)[0]
            if total < HEADER_SIZE or total > limit:
                self._poisoned = True
                err = FrameLengthError(
                    f"Total_Length {total} is outside {HEADER_SIZE}..{limit}", field="Total_Length"
                )
                if n - pos >= HEADER_SIZE:
                    _t, err.command_id, err.sequence_id = _HEADER.unpack_from(buf, pos)
                break
            if n - pos < total:
                break
            frame = bytes(buf[pos : pos + total])
            pos += total
            try:
                out.append(_decode_frame(d, frame))
            except ProtocolError as e:
                err = e
                break
        if pos:
            del buf[:pos]
            if len(buf) * 4 <= _alloc(buf) and _alloc(buf) > _KEEP_CAPACITY:
                self._buf = bytearray(buf)  # give a big chunk's memory back (as the compiled twin)
        if err is not None:
            err.pdus = out
            raise err
        return out

    def __sizeof__(self) -> int:
        """The object plus its buffer's allocation (``sys.getsizeof`` reads this)."""
        return object.__sizeof__(self) + self._buf.__sizeof__()


# Above this many bytes a decoder's buffer shrinks back to what it holds once a feed is done.
_KEEP_CAPACITY = 65536
_EMPTY_BYTEARRAY_SIZE = bytearray().__sizeof__()


def _alloc(buf: bytearray) -> int:
    """Bytes allocated for ``buf`` (its __sizeof__ counts the allocation, not the length)."""
    return buf.__sizeof__() - _EMPTY_BYTEARRAY_SIZE
