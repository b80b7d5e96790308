"""Pure-Python text planner (twin of _split.pyx).

Same behaviour as the compiled module, error types and messages included; see
``docs/text.md`` for the rules.  Counting is in UCS2 code units: a char outside the BMP
counts 2 and is never cut in half.
"""

from smsdk import _text_common as _c
from smsdk._reassembly import IncompleteMessage, ReassembledMessage, Reassembler, parse_udh
from smsdk._text_common import MSG_FMT_ASCII, MSG_FMT_GBK, MSG_FMT_UCS2
from smsdk.errors import PlanError

TEXT_API: list[str] = list(_c.TEXT_API)

_setattr = object.__setattr__
_OPEN = _c.SIGNATURE_OPEN
_CLOSE = _c.SIGNATURE_CLOSE


class Limits:
    """The platform's counting limits (frozen; validated on construction).

    ``cut`` (60): a SUBMIT of at most this many chars is one SMS when the platform appends
    a signature (FAQ-2.5.4).  ``single_max`` (70) / ``single_max_ascii`` (140): one SMS
    without a forced signature.  ``part_chars`` (67) / ``part_chars_16`` (66): UCS2 chars
    per UDH part with an 8-/16-bit reference.  ``max_parts`` (255).  ``signature_max`` (10):
    longest signature, brackets included.
    """

    __slots__ = _c.LIMIT_FIELDS
    # declared for type checkers; the slots are set through object.__setattr__
    cut: int
    single_max: int
    single_max_ascii: int
    part_chars: int
    part_chars_16: int
    max_parts: int
    signature_max: int

    def __init__(
        self,
        *,
        cut=60,
        single_max=70,
        single_max_ascii=140,
        part_chars=67,
        part_chars_16=66,
        max_parts=255,
        signature_max=10,
    ):
        values = _c.check_limits(
            {
                "cut": cut,
                "single_max": single_max,
                "single_max_ascii": single_max_ascii,
                "part_chars": part_chars,
                "part_chars_16": part_chars_16,
                "max_parts": max_parts,
                "signature_max": signature_max,
            }
        )
        for name, v in zip(_c.LIMIT_FIELDS, values):
            _setattr(self, name, int(v))

    def _values(self):
        return tuple(getattr(self, name) for name in _c.LIMIT_FIELDS)

    def replace(self, **changes):
        """A copy with some fields changed (validated like a new Limits)."""
        values = dict(zip(_c.LIMIT_FIELDS, self._values()))
        for name in changes:
            if name not in values:
                raise TypeError(f"Limits has no field {name!r}")
        values.update(changes)
        return Limits(**values)

    def __setattr__(self, name, value):
        raise AttributeError(f"Limits is frozen: cannot set {name!r}")

    def __delattr__(self, name):
        raise AttributeError(f"Limits is frozen: cannot delete {name!r}")

    def __eq__(self, other):
        if type(other) is not Limits:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self):
        return hash(self._values())

    def __repr__(self):
        return _c.limits_repr(self._values())

    def __reduce__(self):
        return (_limits_from_values, (self._values(),))


def _limits_from_values(values):
    return Limits(**dict(zip(_c.LIMIT_FIELDS, values)))


DEFAULT_LIMITS = Limits()


def _as_limits(limits):
    if type(limits) is Limits:
        return limits
    try:
        values = {name: getattr(limits, name) for name in _c.LIMIT_FIELDS}
    except AttributeError:
        raise _c.bad_limits(limits) from None
    return Limits(**values)


class Part:
    """One SUBMIT: ``msg_fmt``, ``tp_udhi``, ``content`` (UDH included, at most 140 bytes),
    ``text`` (the slice of the original text it carries), ``pk_total`` / ``pk_number``
    (the UDH total and index; 1/1 without UDH).  Immutable."""

    __slots__ = ("msg_fmt", "tp_udhi", "content", "text", "pk_total", "pk_number")
    # declared for type checkers; the slots are set through object.__setattr__
    msg_fmt: int
    tp_udhi: int
    content: bytes
    text: str
    pk_total: int
    pk_number: int

    def __init__(self, msg_fmt, tp_udhi, content, text, pk_total, pk_number):
        _setattr(self, "msg_fmt", int(msg_fmt))
        _setattr(self, "tp_udhi", int(tp_udhi))
        _setattr(self, "content", bytes(content))
        _setattr(self, "text", str(text))
        _setattr(self, "pk_total", int(pk_total))
        _setattr(self, "pk_number", int(pk_number))

    def __setattr__(self, name, value):
        raise AttributeError(f"Part is immutable: cannot set {name!r}")

    def __delattr__(self, name):
        raise AttributeError(f"Part is immutable: cannot delete {name!r}")

    def _key(self):
        return (self.msg_fmt, self.tp_udhi, self.content, self.text, self.pk_total, self.pk_number)

    def __eq__(self, other):
        if type(other) is not Part:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return _c.part_repr(self)

    def __reduce__(self):
        return (Part, self._key())


def _new_part(msg_fmt, tp_udhi, content, text, pk_total, pk_number):
    p = object.__new__(Part)
    _setattr(p, "msg_fmt", msg_fmt)
    _setattr(p, "tp_udhi", tp_udhi)
    _setattr(p, "content", content)
    _setattr(p, "text", text)
    _setattr(p, "pk_total", pk_total)
    _setattr(p, "pk_number", pk_number)
    return p


class Plan:
    """What the SDK submits for one text, and what each recipient is billed.

    ``parts`` (tuple of Part), ``text``, ``signature``, ``mode`` (the mode used:
    ``"single"``, ``"concat"`` or ``"pieces"``), ``chars`` (UCS2 count of the text),
    ``signature_chars``, ``encoding`` (classify(text)), ``sms_per_recipient`` (every SMS a
    handset receives: one per part or piece) and ``received`` (the texts the handset
    shows, signature appended).  Immutable.
    """

    __slots__ = ("parts", "text", "signature", "mode", "chars", "signature_chars",
                 "_encoding", "_received")
    # declared for type checkers; the slots are set through object.__setattr__
    parts: tuple[Part, ...]
    text: str
    signature: str
    mode: str
    chars: int
    signature_chars: int
    _encoding: str | None
    _received: tuple[str, ...] | None

    def __init__(self, parts, text, signature, mode, chars, signature_chars):
        _setattr(self, "parts", tuple(parts))
        _setattr(self, "text", str(text))
        _setattr(self, "signature", str(signature))
        _setattr(self, "mode", str(mode))
        _setattr(self, "chars", int(chars))
        _setattr(self, "signature_chars", int(signature_chars))
        _setattr(self, "_encoding", None)
        _setattr(self, "_received", None)

    @property
    def sms_per_recipient(self):
        return len(self.parts)

    @property
    def encoding(self):
        enc = self._encoding
        if enc is None:
            enc = classify(self.text)
            _setattr(self, "_encoding", enc)
        return enc

    @property
    def received(self):
        rec = self._received
        if rec is None:
            sig = self.signature
            if self.mode == "pieces":
                rec = tuple([p.text + sig for p in self.parts])
            else:
                rec = (self.text + sig,)
            _setattr(self, "_received", rec)
        return rec

    def __setattr__(self, name, value):
        raise AttributeError(f"Plan is immutable: cannot set {name!r}")

    def __delattr__(self, name):
        raise AttributeError(f"Plan is immutable: cannot delete {name!r}")

    def _key(self):
        return (self.parts, self.text, self.signature, self.mode, self.chars, self.signature_chars)

    def __eq__(self, other):
        if type(other) is not Plan:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return _c.plan_repr(self)

    def __reduce__(self):
        return (Plan, self._key())


def _new_plan(parts, text, signature, mode, chars, signature_chars):
    p = object.__new__(Plan)
    _setattr(p, "parts", parts)
    _setattr(p, "text", text)
    _setattr(p, "signature", signature)
    _setattr(p, "mode", mode)
    _setattr(p, "chars", chars)
    _setattr(p, "signature_chars", signature_chars)
    _setattr(p, "_encoding", None)
    _setattr(p, "_received", None)
    return p


# ---------------------------------------------------------------------------------------
# Counting and classifying


def count(text):
    """UCS2 code units of ``text``: a char outside the BMP counts 2 (a lone surrogate 1)."""
    if not isinstance(text, str):
        raise _c.not_str("text", text)
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) >> 1


def _utf16(text, what):
    """UTF-16-BE bytes of text; PlanError naming the first lone surrogate."""
    try:
        return text.encode("utf-16-be")
    except UnicodeEncodeError as e:
        raise _c.lone_surrogate(what, text[e.start], e.start) from None


def classify(text):
    """``"ascii"`` if every char is below 0x80, ``"gbk"`` if Python's gbk codec encodes it,
    else ``"ucs2"``.  A lone surrogate (encodable in no format) is a PlanError."""
    if not isinstance(text, str):
        raise _c.not_str("text", text)
    if text.isascii():
        return "ascii"
    try:
        text.encode("gbk")
        return "gbk"
    except UnicodeEncodeError:
        _utf16(text, "text")
        return "ucs2"


def _encode_one(text):
    """(msg_fmt, content) of one SUBMIT without UDH, for text known to be encodable."""
    if text.isascii():
        return MSG_FMT_ASCII, text.encode("ascii")
    try:
        return MSG_FMT_GBK, text.encode("gbk")
    except UnicodeEncodeError:
        return MSG_FMT_UCS2, text.encode("utf-16-be")


# ---------------------------------------------------------------------------------------
# Splitting


def _count_plain(n, cap, last):
    """Parts the greedy split makes of n units without surrogate pairs (closed form)."""
    if n <= last:
        return 1
    k = (n - 1) // cap  # parts taken full while more than cap remain
    rem = n - k * cap  # 0 < rem <= cap
    while rem > last:
        rem -= last
        k += 1
    return k + 1


def _cuts(data, n, astral, cap, last, max_parts):
    """Unit boundaries [0, b1, ..., n] of the greedy split, or the part count if over max.

    Every part takes ``cap`` units, except that a part followed only by a remainder that
    fits ``cap`` but not ``last`` takes ``last``; the final part holds at most ``last``.  A
    cut between the two halves of a surrogate pair moves one unit earlier.
    """
    if not astral:
        k = _count_plain(n, cap, last)
        if k > max_parts:
            return k
    bounds = [0]
    pos = 0
    while True:
        rem = n - pos
        if rem <= last:
            bounds.append(n)
            break
        end = pos + (last if rem <= cap else cap)
        if astral and 0xD8 <= data[2 * end - 2] <= 0xDB:
            end -= 1
        bounds.append(end)
        pos = end
    if len(bounds) - 1 > max_parts:
        return len(bounds) - 1
    return bounds


def _check_signature(signature, limits):
    if not signature:
        return 0
    if len(signature) < 3 or signature[0] != _OPEN or signature[-1] != _CLOSE:
        raise _c.bad_signature_form(signature)
    s = count(signature)
    if s > limits.signature_max:
        raise _c.signature_too_long(signature, s, limits.signature_max)
    _utf16(signature, "signature")
    return s


def plan(text, *, signature="", mode="concat", limits=DEFAULT_LIMITS, udh_reference=0,
         udh16=False):
    """Plan ``text`` into SUBMITs; see docs/text.md for the splitting table."""
    if not isinstance(text, str):
        raise _c.not_str("text", text)
    if not isinstance(signature, str):
        raise _c.not_str("signature", signature)
    limits = _as_limits(limits)
    if mode != "concat" and mode != "pieces":
        raise _c.bad_mode(mode)
    udh16 = bool(udh16)
    if not isinstance(udh_reference, int):
        raise _c.bad_reference_type(udh_reference)
    if not 0 <= udh_reference <= (0xFFFF if udh16 else 0xFF):
        raise _c.bad_reference(udh_reference, udh16)
    s = _check_signature(signature, limits)
    if not text:
        raise _c.empty_text()

    is_ascii = text.isascii()
    if is_ascii:
        data = None
        n = len(text)
        astral = False
    else:
        data = _utf16(text, "text")
        n = len(data) >> 1
        astral = n != len(text)

    if signature:
        single = n <= limits.cut
    else:
        single = n <= limits.single_max or (is_ascii and n <= limits.single_max_ascii)
    if single:
        fmt, content = _encode_one(text)
        part = _new_part(fmt, 0, content, text, 1, 1)
        return _new_plan((part,), text, signature, "single", n, s)

    max_parts = limits.max_parts
    if mode == "concat":
        cap = limits.part_chars_16 if udh16 else limits.part_chars
        last = cap - s
        if data is None:
            data = text.encode("utf-16-be")
        bounds = _cuts(data, n, astral, cap, last, max_parts)
        if type(bounds) is int:
            raise _c.too_many_parts(n, bounds, cap, s, max_parts)
        k = len(bounds) - 1
        if udh16:
            head = bytes((6, 8, 4, udh_reference >> 8, udh_reference & 0xFF, k))
        else:
            head = bytes((5, 0, 3, udh_reference, k))
        parts = []
        a = 0
        for i in range(1, k + 1):
            b = bounds[i]
            chunk = data[2 * a : 2 * b]
            ptext = chunk.decode("utf-16-be") if astral else text[a:b]
            parts.append(_new_part(MSG_FMT_UCS2, 1, head + bytes((i,)) + chunk, ptext, k, i))
            a = b
        return _new_plan(tuple(parts), text, signature, "concat", n, s)

    # pieces: independent SUBMITs without UDH
    cap = limits.cut if signature else limits.single_max
    bounds = _cuts(data, n, astral, cap, cap, max_parts)
    if type(bounds) is int:
        raise _c.too_many_pieces(n, bounds, cap, max_parts)
    parts = []
    a = 0
    for b in bounds[1:]:
        if astral:
            assert data is not None  # astral text is not ASCII, so it was encoded above
            ptext = data[2 * a : 2 * b].decode("utf-16-be")
        else:
            ptext = text[a:b]
        fmt, content = _encode_one(ptext)
        parts.append(_new_part(fmt, 0, content, ptext, 1, 1))
        a = b
    return _new_plan(tuple(parts), text, signature, "pieces", n, s)
