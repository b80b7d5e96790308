# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False, embedsignature=True
"""Compiled text planner.

Twin of ``_split_py`` (same behaviour, error types and messages).  The planner reads the
text's PEP 393 storage directly: a 1-byte-kind string has only chars below 256 and a
2-byte-kind one no surrogate pairs, so their UCS2 count is their length without a scan.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from libc.stdint cimport uint8_t, uint16_t, uint32_t
from libc.string cimport memcpy

from smsdk import _text_common as _c
from smsdk._reassembly import IncompleteMessage, ReassembledMessage, Reassembler
from smsdk.errors import PlanError, ReassemblyError

cdef extern from "Python.h":
    int PyUnicode_READY(object) except -1
    Py_ssize_t PyUnicode_GET_LENGTH(object)
    int PyUnicode_KIND(object)
    void* PyUnicode_DATA(object)
    bint PyUnicode_IS_ASCII(object)
    str PyUnicode_Substring(object, Py_ssize_t, Py_ssize_t)
    bint PyUnicode_Check(object)
    bint PyLong_Check(object)

TEXT_API = list(_c.TEXT_API)

MSG_FMT_ASCII = 0
MSG_FMT_UCS2 = 8
MSG_FMT_GBK = 15
cdef enum:
    _FMT_ASCII = 0
    _FMT_UCS2 = 8
    _FMT_GBK = 15
    _MAX_BOUNDS = 257   # max_parts (<= 255) + 1 boundaries, + 1 spare

cdef Py_UCS4 _OPEN = 0x3010    # 【
cdef Py_UCS4 _CLOSE = 0x3011   # 】

cdef object _LIMIT_FIELDS = _c.LIMIT_FIELDS
cdef object _check_limits = _c.check_limits


# ---------------------------------------------------------------------------------------
# Limits

@cython.final
cdef class Limits:
    """The platform's counting limits (frozen; validated on construction).

    ``cut`` (60): a SUBMIT of at most this many chars is one SMS when the platform appends
    a signature (FAQ-2.5.4).  ``single_max`` (70) / ``single_max_ascii`` (140): one SMS
    without a forced signature.  ``part_chars`` (67) / ``part_chars_16`` (66): UCS2 chars
    per UDH part with an 8-/16-bit reference.  ``max_parts`` (255).  ``signature_max`` (10):
    longest signature, brackets included.
    """

    cdef readonly Py_ssize_t cut
    cdef readonly Py_ssize_t single_max
    cdef readonly Py_ssize_t single_max_ascii
    cdef readonly Py_ssize_t part_chars
    cdef readonly Py_ssize_t part_chars_16
    cdef readonly Py_ssize_t max_parts
    cdef readonly Py_ssize_t signature_max

    def __init__(self, *, cut=60, single_max=70, single_max_ascii=140, part_chars=67,
                 part_chars_16=66, max_parts=255, signature_max=10):
        values = _check_limits({
            "cut": cut,
            "single_max": single_max,
            "single_max_ascii": single_max_ascii,
            "part_chars": part_chars,
            "part_chars_16": part_chars_16,
            "max_parts": max_parts,
            "signature_max": signature_max,
        })
        (self.cut, self.single_max, self.single_max_ascii, self.part_chars,
         self.part_chars_16, self.max_parts, self.signature_max) = values

    def _values(self):
        return (self.cut, self.single_max, self.single_max_ascii, self.part_chars,
                self.part_chars_16, self.max_parts, self.signature_max)

    def replace(self, **changes):
        """A copy with some fields changed (validated like a new Limits)."""
        values = dict(zip(_LIMIT_FIELDS, self._values()))
        for name in changes:
            if name not in values:
                raise TypeError(f"Limits has no field {name!r}")
        values.update(changes)
        return Limits(**values)

    def __eq__(self, other):
        if type(other) is not Limits:
            return NotImplemented
        return self._values() == (<Limits>other)._values()

    def __ne__(self, other):
        if type(other) is not Limits:
            return NotImplemented
        return self._values() != (<Limits>other)._values()

    def __hash__(self):
        return hash(self._values())

    def __repr__(self):
        return _c.limits_repr(self._values())

    def __reduce__(self):
        return (_limits_from_values, (self._values(),))


def _limits_from_values(values):
    return Limits(**dict(zip(_LIMIT_FIELDS, values)))


DEFAULT_LIMITS = Limits()
cdef Limits _DEFAULT = DEFAULT_LIMITS


cdef Limits _as_limits(object limits):
    if type(limits) is Limits:
        return <Limits>limits
    try:
        values = {name: getattr(limits, name) for name in _LIMIT_FIELDS}
    except AttributeError:
        raise _c.bad_limits(limits) from None
    return Limits(**values)


# ---------------------------------------------------------------------------------------
# Part and Plan

@cython.final
@cython.freelist(32)
cdef class Part:
    """One SUBMIT: ``msg_fmt``, ``tp_udhi``, ``content`` (UDH included, at most 140 bytes),
    ``text`` (the slice of the original text it carries), ``pk_total`` / ``pk_number``
    (the UDH total and index; 1/1 without UDH).  Immutable."""

    cdef readonly int msg_fmt
    cdef readonly int tp_udhi
    cdef readonly bytes content
    cdef readonly str text
    cdef readonly int pk_total
    cdef readonly int pk_number

    def __init__(self, msg_fmt, tp_udhi, content, text, pk_total, pk_number):
        self.msg_fmt = msg_fmt
        self.tp_udhi = tp_udhi
        self.content = bytes(content)
        self.text = str(text)
        self.pk_total = pk_total
        self.pk_number = pk_number

    def _key(self):
        return (self.msg_fmt, self.tp_udhi, self.content, self.text, self.pk_total,
                self.pk_number)

    def __eq__(self, other):
        if type(other) is not Part:
            return NotImplemented
        return self._key() == (<Part>other)._key()

    def __ne__(self, other):
        if type(other) is not Part:
            return NotImplemented
        return self._key() != (<Part>other)._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return _c.part_repr(self)

    def __reduce__(self):
        return (Part, self._key())


cdef inline Part _new_part(int msg_fmt, int tp_udhi, bytes content, str text, int pk_total,
                           int pk_number):
    cdef Part p = Part.__new__(Part)
    p.msg_fmt = msg_fmt
    p.tp_udhi = tp_udhi
    p.content = content
    p.text = text
    p.pk_total = pk_total
    p.pk_number = pk_number
    return p


@cython.final
@cython.freelist(8)
cdef class Plan:
    """What the SDK submits for one text, and what each recipient is billed.

    ``parts`` (tuple of Part), ``text``, ``signature``, ``mode`` (the mode used:
    ``"single"``, ``"concat"`` or ``"pieces"``), ``chars`` (UCS2 count of the text),
    ``signature_chars``, ``encoding`` (classify(text)), ``sms_per_recipient`` (every SMS a
    handset receives: one per part or piece) and ``received`` (the texts the handset
    shows, signature appended).  Immutable.
    """

    cdef readonly tuple parts
    cdef readonly str text
    cdef readonly str signature
    cdef readonly str mode
    cdef readonly Py_ssize_t chars
    cdef readonly Py_ssize_t signature_chars
    cdef object _encoding
    cdef object _received

    def __init__(self, parts, text, signature, mode, chars, signature_chars):
        self.parts = tuple(parts)
        self.text = str(text)
        self.signature = str(signature)
        self.mode = str(mode)
        self.chars = chars
        self.signature_chars = signature_chars

    @property
    def sms_per_recipient(self):
        return len(self.parts)

    @property
    def encoding(self):
        if self._encoding is None:
            self._encoding = classify(self.text)
        return self._encoding

    @property
    def received(self):
        cdef Part p
        if self._received is None:
            if self.mode == "pieces":
                self._received = tuple([p.text + self.signature for p in self.parts])
            else:
                self._received = (self.text + self.signature,)
        return self._received

    def _key(self):
        return (self.parts, self.text, self.signature, self.mode, self.chars,
                self.signature_chars)

    def __eq__(self, other):
        if type(other) is not Plan:
            return NotImplemented
        return self._key() == (<Plan>other)._key()

    def __ne__(self, other):
        if type(other) is not Plan:
            return NotImplemented
        return self._key() != (<Plan>other)._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return _c.plan_repr(self)

    def __reduce__(self):
        return (Plan, self._key())


cdef inline Plan _new_plan(tuple parts, str text, str signature, str mode, Py_ssize_t chars,
                           Py_ssize_t signature_chars):
    cdef Plan p = Plan.__new__(Plan)
    p.parts = parts
    p.text = text
    p.signature = signature
    p.mode = mode
    p.chars = chars
    p.signature_chars = signature_chars
    return p


# ---------------------------------------------------------------------------------------
# Reading PEP 393 storage

cdef inline Py_UCS4 _read(int kind, const void* data, Py_ssize_t i) noexcept nogil:
    if kind == 1:
        return (<const uint8_t*>data)[i]
    if kind == 2:
        return (<const uint16_t*>data)[i]
    return (<const uint32_t*>data)[i]


cdef Py_ssize_t _scan(int kind, const void* data, Py_ssize_t length,
                      Py_ssize_t* units) noexcept nogil:
    """Index of the first lone surrogate (-1 if none); ``units[0]`` = UCS2 count."""
    cdef Py_ssize_t i, astral = 0
    cdef const uint16_t* d2
    cdef const uint32_t* d4
    cdef uint32_t c
    units[0] = length
    if kind == 1:
        return -1
    if kind == 2:
        d2 = <const uint16_t*>data
        for i in range(length):
            if (d2[i] & 0xF800) == 0xD800:
                return i
        return -1
    d4 = <const uint32_t*>data
    for i in range(length):
        c = d4[i]
        if c > 0xFFFF:
            astral += 1
        elif (c & 0xF800) == 0xD800:
            return i
    units[0] = length + astral
    return -1


cdef inline bint _range_ascii(int kind, const void* data, Py_ssize_t a,
                              Py_ssize_t b) noexcept nogil:
    cdef Py_ssize_t i
    if kind == 1:
        for i in range(a, b):
            if (<const uint8_t*>data)[i] >= 0x80:
                return False
    elif kind == 2:
        for i in range(a, b):
            if (<const uint16_t*>data)[i] >= 0x80:
                return False
    else:
        for i in range(a, b):
            if (<const uint32_t*>data)[i] >= 0x80:
                return False
    return True


cdef inline bint _range_astral(int kind, const void* data, Py_ssize_t a,
                               Py_ssize_t b) noexcept nogil:
    cdef Py_ssize_t i
    if kind != 4:
        return False
    for i in range(a, b):
        if (<const uint32_t*>data)[i] > 0xFFFF:
            return True
    return False


cdef bytes _ascii_bytes(int kind, const void* data, Py_ssize_t a, Py_ssize_t b):
    cdef bytes out = PyBytes_FromStringAndSize(NULL, b - a)
    cdef uint8_t* p = <uint8_t*>PyBytes_AS_STRING(out)
    cdef Py_ssize_t i
    if kind == 1:
        memcpy(p, (<const uint8_t*>data) + a, b - a)
    else:
        for i in range(a, b):
            p[i - a] = <uint8_t>_read(kind, data, i)
    return out


cdef bytes _ucs2_bytes(int kind, const void* data, Py_ssize_t a, Py_ssize_t b,
                       Py_ssize_t units, const uint8_t* head, Py_ssize_t hlen):
    """``head`` + UTF-16-BE of chars a..b (``units`` code units, no lone surrogates)."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, hlen + 2 * units)
    cdef uint8_t* p = <uint8_t*>PyBytes_AS_STRING(out)
    cdef Py_ssize_t i
    cdef const uint8_t* d1
    cdef const uint16_t* d2
    cdef const uint32_t* d4
    cdef uint32_t c, v
    cdef uint16_t u
    if hlen:
        memcpy(p, head, hlen)
        p += hlen
    if kind == 1:
        d1 = <const uint8_t*>data
        for i in range(a, b):
            p[0] = 0
            p[1] = d1[i]
            p += 2
    elif kind == 2:
        d2 = <const uint16_t*>data
        for i in range(a, b):
            u = d2[i]
            p[0] = <uint8_t>(u >> 8)
            p[1] = <uint8_t>u
            p += 2
    else:
        d4 = <const uint32_t*>data
        for i in range(a, b):
            c = d4[i]
            if c > 0xFFFF:
                v = c - 0x10000
                u = <uint16_t>(0xD800 | (v >> 10))
                p[0] = <uint8_t>(u >> 8)
                p[1] = <uint8_t>u
                u = <uint16_t>(0xDC00 | (v & 0x3FF))
                p[2] = <uint8_t>(u >> 8)
                p[3] = <uint8_t>u
                p += 4
            else:
                p[0] = <uint8_t>(c >> 8)
                p[1] = <uint8_t>c
                p += 2
    return out


# ---------------------------------------------------------------------------------------
# Counting and classifying

def count(text):
    """UCS2 code units of ``text``: a char outside the BMP counts 2 (a lone surrogate 1)."""
    cdef Py_ssize_t i, n, length
    cdef const uint32_t* d4
    if not PyUnicode_Check(text):
        raise _c.not_str("text", text)
    PyUnicode_READY(text)
    length = PyUnicode_GET_LENGTH(text)
    if PyUnicode_KIND(text) != 4:
        return length
    d4 = <const uint32_t*>PyUnicode_DATA(text)
    n = length
    with nogil:
        for i in range(length):
            if d4[i] > 0xFFFF:
                n += 1
    return n


cdef bytes _encode_one(int kind, const void* data, Py_ssize_t a, Py_ssize_t b,
                       Py_ssize_t units, str piece, int* fmt):
    """Content of chars a..b (``piece``) as one SUBMIT without UDH, its Msg_Fmt in
    ``fmt[0]``; the text has no lone surrogates."""
    if _range_ascii(kind, data, a, b):
        fmt[0] = _FMT_ASCII
        return _ascii_bytes(kind, data, a, b)
    if not _range_astral(kind, data, a, b):
        try:
            content = piece.encode("gbk")
            fmt[0] = _FMT_GBK
            return content
        except UnicodeEncodeError:
            pass
    fmt[0] = _FMT_UCS2
    return _ucs2_bytes(kind, data, a, b, units, NULL, 0)


def classify(text):
    """``"ascii"`` if every char is below 0x80, ``"gbk"`` if Python's gbk codec encodes it,
    else ``"ucs2"``.  A lone surrogate (encodable in no format) is a PlanError."""
    cdef Py_ssize_t length, units, bad
    cdef int kind
    cdef const void* data
    if not PyUnicode_Check(text):
        raise _c.not_str("text", text)
    PyUnicode_READY(text)
    if PyUnicode_IS_ASCII(text):
        return "ascii"
    kind = PyUnicode_KIND(text)
    if kind != 4:
        try:
            text.encode("gbk")
            return "gbk"
        except UnicodeEncodeError:
            pass
    data = PyUnicode_DATA(text)
    length = PyUnicode_GET_LENGTH(text)
    bad = _scan(kind, data, length, &units)
    if bad >= 0:
        raise _c.lone_surrogate("text", text[bad], bad)
    return "ucs2"


# ---------------------------------------------------------------------------------------
# Splitting

cdef Py_ssize_t _cuts(int kind, const void* data, Py_ssize_t length, Py_ssize_t n,
                      Py_ssize_t cap, Py_ssize_t last, Py_ssize_t max_parts,
                      Py_ssize_t* bounds, Py_ssize_t* ubounds) noexcept nogil:
    """Greedy split; returns the number of parts, filling char and unit boundaries
    (``bounds[0..k]``, ``ubounds[0..k]``) while k <= max_parts.

    Every part takes ``cap`` units, except that a part followed only by a remainder that
    fits ``cap`` but not ``last`` takes ``last``; the final part holds at most ``last``.
    A part never ends between the two halves of a surrogate pair (it ends one unit early).
    """
    cdef Py_ssize_t k = 0, i = 0, u = 0, rem, lim, t, q, full
    cdef const uint32_t* d4 = <const uint32_t*>data
    bounds[0] = 0
    ubounds[0] = 0
    if kind != 4 or n == length:
        # one unit per char: arithmetic only
        if n > last:
            full = (n - 1) // cap           # parts taken full while more than cap remain
            if full > max_parts:
                k = full
                rem = n - full * cap
                while rem > last:
                    rem -= last
                    k += 1
                return k + 1
            for q in range(full):
                u += cap
                k += 1
                bounds[k] = u
            rem = n - u
            while rem > last:
                u += last
                rem -= last
                k += 1
                if k <= max_parts:
                    bounds[k] = u
        k += 1
        if k <= max_parts:
            bounds[k] = n
            for q in range(1, k + 1):
                ubounds[q] = bounds[q]
        return k
    while True:
        rem = n - u
        if rem <= last:
            k += 1
            if k <= max_parts:
                bounds[k] = length
                ubounds[k] = n
            return k
        lim = last if rem <= cap else cap
        t = 0
        while True:
            q = 2 if d4[i] > 0xFFFF else 1
            if t + q > lim:
                break
            t += q
            i += 1
        u += t
        k += 1
        if k <= max_parts:
            bounds[k] = i
            ubounds[k] = u


cdef Py_ssize_t _check_signature(object signature, Limits lim) except -1:
    cdef Py_ssize_t length, s, bad
    cdef int kind
    cdef const void* data
    PyUnicode_READY(signature)
    length = PyUnicode_GET_LENGTH(signature)
    if length == 0:
        return 0
    kind = PyUnicode_KIND(signature)
    data = PyUnicode_DATA(signature)
    if (length < 3 or _read(kind, data, 0) != _OPEN
            or _read(kind, data, length - 1) != _CLOSE):
        raise _c.bad_signature_form(signature)
    bad = _scan(kind, data, length, &s)
    if bad >= 0:
        # same order as the twin: a too long signature is reported before a lone surrogate
        s = count(signature)
        if s > lim.signature_max:
            raise _c.signature_too_long(signature, s, lim.signature_max)
        raise _c.lone_surrogate("signature", signature[bad], bad)
    if s > lim.signature_max:
        raise _c.signature_too_long(signature, s, lim.signature_max)
    return s


cdef inline void _tuple_set(tuple t, Py_ssize_t i, object item):
    Py_INCREF(item)
    PyTuple_SET_ITEM(t, i, item)


def plan(text, *, signature="", mode="concat", limits=DEFAULT_LIMITS, udh_reference=0,
         udh16=False):
    """Plan ``text`` into SUBMITs; see docs/text.md for the splitting table."""
    cdef Limits lim
    cdef Py_ssize_t length, n, s, bad, cap, last, k, i, a, b
    cdef Py_ssize_t bounds[_MAX_BOUNDS]
    cdef Py_ssize_t ubounds[_MAX_BOUNDS]
    cdef int kind, ref, fmt
    cdef bint has_sig, is_ascii, single, wide
    cdef const void* data
    cdef uint8_t head[7]
    cdef Py_ssize_t hlen
    cdef bytes content
    cdef str piece
    cdef tuple parts
    cdef Part part

    if not PyUnicode_Check(text):
        raise _c.not_str("text", text)
    if not PyUnicode_Check(signature):
        raise _c.not_str("signature", signature)
    lim = _as_limits(limits)
    if not (mode == "concat" or mode == "pieces"):
        raise _c.bad_mode(mode)
    wide = True if udh16 else False
    if not PyLong_Check(udh_reference):
        raise _c.bad_reference_type(udh_reference)
    if not 0 <= udh_reference <= (0xFFFF if wide else 0xFF):
        raise _c.bad_reference(udh_reference, wide)
    ref = udh_reference
    s = _check_signature(signature, lim)
    has_sig = s > 0

    PyUnicode_READY(text)
    length = PyUnicode_GET_LENGTH(text)
    if length == 0:
        raise _c.empty_text()
    kind = PyUnicode_KIND(text)
    data = PyUnicode_DATA(text)
    is_ascii = PyUnicode_IS_ASCII(text)
    with nogil:
        bad = _scan(kind, data, length, &n)
    if bad >= 0:
        raise _c.lone_surrogate("text", text[bad], bad)

    if has_sig:
        single = n <= lim.cut
    else:
        single = n <= lim.single_max or (is_ascii and n <= lim.single_max_ascii)
    if single:
        content = _encode_one(kind, data, 0, length, n, text, &fmt)
        part = _new_part(fmt, 0, content, text, 1, 1)
        return _new_plan((part,), text, signature, "single", n, s)

    if mode == "concat":
        cap = lim.part_chars_16 if wide else lim.part_chars
        last = cap - s
        with nogil:
            k = _cuts(kind, data, length, n, cap, last, lim.max_parts, bounds, ubounds)
        if k > lim.max_parts:
            raise _c.too_many_parts(n, k, cap, s, lim.max_parts)
        if wide:
            head[0] = 6; head[1] = 8; head[2] = 4
            head[3] = <uint8_t>(ref >> 8); head[4] = <uint8_t>ref
            head[5] = <uint8_t>k
            hlen = 7
        else:
            head[0] = 5; head[1] = 0; head[2] = 3
            head[3] = <uint8_t>ref; head[4] = <uint8_t>k
            hlen = 6
        parts = PyTuple_New(k)
        for i in range(k):
            head[hlen - 1] = <uint8_t>(i + 1)
            a = bounds[i]
            b = bounds[i + 1]
            content = _ucs2_bytes(kind, data, a, b, ubounds[i + 1] - ubounds[i], head, hlen)
            part = _new_part(_FMT_UCS2, 1, content, PyUnicode_Substring(text, a, b),
                             <int>k, <int>(i + 1))
            _tuple_set(parts, i, part)
        return _new_plan(parts, text, signature, "concat", n, s)

    cap = lim.cut if has_sig else lim.single_max
    with nogil:
        k = _cuts(kind, data, length, n, cap, cap, lim.max_parts, bounds, ubounds)
    if k > lim.max_parts:
        raise _c.too_many_pieces(n, k, cap, lim.max_parts)
    parts = PyTuple_New(k)
    for i in range(k):
        a = bounds[i]
        b = bounds[i + 1]
        piece = PyUnicode_Substring(text, a, b)
        content = _encode_one(kind, data, a, b, ubounds[i + 1] - ubounds[i], piece, &fmt)
        _tuple_set(parts, i, _new_part(fmt, 0, content, piece, 1, 1))
    return _new_plan(parts, text, signature, "pieces", n, s)


# ---------------------------------------------------------------------------------------
# UDH parsing (same rules and messages as smsdk._reassembly.parse_udh)

cdef bytes _as_bytes(object content):
    if type(content) is bytes:
        return <bytes>content
    try:
        return bytes(memoryview(content))
    except TypeError:
        raise TypeError(f"content must be bytes, not {type(content).__name__}") from None


def parse_udh(content):
    """``(reference, total, number, header_length)`` of the concatenation IE in the UDH at
    the start of ``content`` (8-bit ``00 03`` or 16-bit ``08 04``, among any other IEs),
    or None when the UDH has none.  ``header_length`` counts the UDHL byte.  A malformed
    UDH is a ReassemblyError saying what is wrong."""
    cdef bytes buf = _as_bytes(content)
    cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(buf)
    cdef Py_ssize_t size = len(buf), end, off, data, iedl, want
    cdef int iei, udhl, ref = -1, total = 0, number = 0
    if size == 0:
        raise ReassemblyError("content is empty: no UDH length byte")
    udhl = p[0]
    end = 1 + udhl
    if end > size:
        raise ReassemblyError(f"UDH length {udhl} runs past the {size - 1} bytes after it")
    off = 1
    while off < end:
        if off + 2 > end:
            raise ReassemblyError(f"UDH information element at offset {off} is truncated")
        iei = p[off]
        iedl = p[off + 1]
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
                ref = p[data]
            else:
                ref = (p[data] << 8) | p[data + 1]
            total = p[data + want - 2]
            number = p[data + want - 1]
            if total == 0:
                raise ReassemblyError("concatenation IE gives a total of 0 parts")
            if number == 0 or number > total:
                raise ReassemblyError(
                    f"concatenation IE part number {number} is outside 1..{total}"
                )
        off = data + iedl
    if ref < 0:
        return None
    return (ref, total, number, end)
