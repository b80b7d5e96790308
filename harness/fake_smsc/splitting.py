"""The platform side of the splitting table (RULES.md §1, FAQ-2.5.3 / 2.5.4 / 2.5.5).

Pure functions: ``read_content`` reads a SUBMIT's Msg_Content the way the platform does
(UDH, decoding by Msg_Fmt, counting in UCS2 units with ``smsdk.text.count``), and
``render`` says what the platform sends to each recipient for that one SUBMIT, signature
appended: one SMS, two SMS (61–70 chars, no UDH), or one concatenation part whose text may
have been cut to make room for the signature on the last part.
"""

from __future__ import annotations

from dataclasses import dataclass

from smsdk.errors import ReassemblyError
from smsdk.text import count, parse_udh

__all__ = [
    "Content", "ContentError", "Rendering", "cut_units", "decode", "http_pieces", "read_content",
    "render",
]

MAX_CONTENT = 140


class ContentError(ValueError):
    """Msg_Content the platform cannot read (a malformed UDH, an empty message ...)."""


def decode(payload: bytes, msg_fmt: int) -> tuple[str, str | None]:
    """``(text, problem)``: the payload decoded by Msg_Fmt (0 ASCII, 8 UCS2, 15 GBK; any
    other format is read byte by byte as Latin-1).  Bytes invalid in their format are
    replaced by U+FFFD and ``problem`` says so (the handset would show garbage too)."""
    if msg_fmt == 8:
        if len(payload) % 2:
            return payload.decode("utf-16-be", "replace"), "odd number of UCS2 bytes"
        try:
            return payload.decode("utf-16-be"), None
        except UnicodeDecodeError as e:
            return payload.decode("utf-16-be", "replace"), f"invalid UCS2: {e.reason}"
    if msg_fmt == 15:
        try:
            return payload.decode("gbk"), None
        except UnicodeDecodeError:
            try:
                return payload.decode("gb18030"), None
            except UnicodeDecodeError as e:
                return payload.decode("gbk", "replace"), f"invalid GBK: {e.reason}"
    if msg_fmt == 0:
        if payload.isascii():
            return payload.decode("ascii"), None
        return payload.decode("latin-1"), "bytes above 0x7F in an ASCII (Msg_Fmt 0) message"
    return payload.decode("latin-1"), None


@dataclass(frozen=True, slots=True)
class Content:
    """A SUBMIT's Msg_Content as the platform reads it.

    ``udh`` is the header (UDHL byte included; ``b""`` without TP_udhi), ``text`` the
    decoded payload, ``chars`` its count in UCS2 units.  For a concatenation part,
    ``reference`` / ``total`` / ``number`` / ``udh16`` come from its IE; otherwise
    ``reference`` is None and total = number = 1.
    """

    msg_fmt: int
    tp_udhi: int
    raw: bytes
    udh: bytes
    payload: bytes
    text: str
    chars: int
    reference: int | None = None
    total: int = 1
    number: int = 1
    udh16: bool = False
    decode_problem: str | None = None

    @property
    def is_part(self) -> bool:
        return self.reference is not None


def read_content(msg_fmt: int, tp_udhi: int, content: bytes) -> Content:
    """Read Msg_Content; ContentError when it is empty, over 140 bytes or has a
    malformed UDH."""
    raw = bytes(content)
    if not raw:
        raise ContentError("Msg_Content is empty (Msg_Length must be 1..140)")
    if len(raw) > MAX_CONTENT:
        text, _problem = decode(raw, msg_fmt)
        raise ContentError(f"Msg_Content is {len(raw)} bytes ({count(text)} chars); Msg_Length "
                           "must be 1..140 (and a SUBMIT without UDH at most 70 chars)")
    if not tp_udhi:
        text, problem = decode(raw, msg_fmt)
        return Content(msg_fmt, 0, raw, b"", raw, text, count(text), decode_problem=problem)
    try:
        found = parse_udh(raw)
    except ReassemblyError as e:
        raise ContentError(f"TP_udhi is 1 but the UDH is malformed: {e}") from None
    if found is None:
        hlen = 1 + raw[0]
        ref, total, number, udh16 = None, 1, 1, False
    else:
        ref, total, number, hlen = found
        udh16 = hlen >= 3 and _has_16bit_ie(raw[:hlen])
    payload = raw[hlen:]
    if not payload:
        raise ContentError("the UDH is followed by no text")
    text, problem = decode(payload, msg_fmt)
    return Content(msg_fmt, 1, raw, raw[:hlen], payload, text, count(text), ref, total,
                   number, udh16, problem)


def _has_16bit_ie(udh: bytes) -> bool:
    """Whether the concatenation IE that parse_udh used (the last one) is the 16-bit one."""
    off, end, last = 1, len(udh), None
    while off + 2 <= end:
        iei, iedl = udh[off], udh[off + 1]
        if iei in (0x00, 0x08):
            last = iei
        off += 2 + iedl
    return last == 0x08


def cut_units(text: str, units: int) -> tuple[str, str]:
    """Split ``text`` after at most ``units`` UCS2 units, never inside a surrogate pair
    (a char outside the BMP that would straddle the cut goes to the tail)."""
    if units <= 0:
        return "", text
    used = 0
    for i, ch in enumerate(text):
        w = 2 if ord(ch) > 0xFFFF else 1
        if used + w > units:
            return text[:i], text[i:]
        used += w
    return text, ""


@dataclass(frozen=True, slots=True)
class Rendering:
    """What the platform sends to each recipient for one SUBMIT.

    ``kind``: ``"single"`` (1 SMS), ``"split"`` (61–70 chars without UDH: 2 SMS) or
    ``"part"`` (one part of a concatenated message).  ``bodies`` holds the text of each
    SMS without the signature (for a part: the part's text after any cut); ``cut_tail``
    what the platform cut off to make room for the signature (FAQ-2.5.3; "" when
    nothing); ``billing`` the SMS each recipient is billed; ``last`` whether the signature
    goes on this SMS / part (always for single and split)."""

    kind: str
    bodies: tuple[str, ...]
    signature: str
    cut_tail: str = ""
    last: bool = True
    capacity: int = 0

    @property
    def billing(self) -> int:
        return len(self.bodies)

    @property
    def shown(self) -> tuple[str, ...]:
        """Each SMS as the handset shows it (signature appended where it goes)."""
        if self.kind == "part" and not self.last:
            return self.bodies
        return tuple(b + self.signature for b in self.bodies)


def length_problem(content: Content, signature: str, *, single_max: int = 70,
                   single_max_ascii: int = 140) -> str | None:
    """Why a SUBMIT without UDH is too long (Result 6), or None.  With a forced signature
    every text counts as Chinese: at most ``single_max`` chars (FAQ-2.1.5, 2.5.5);
    without one, pure ASCII may have ``single_max_ascii``."""
    if content.tp_udhi:
        return None
    n = content.chars
    if n <= single_max:
        return None
    if not signature and content.text.isascii() and n <= single_max_ascii:
        return None
    if signature:
        return (f"{n} chars without UDH: over {single_max} (with the forced signature every "
                f"text counts as Chinese; FAQ-2.5.5)")
    return f"{n} chars without UDH: over {single_max} (or {single_max_ascii} pure ASCII)"


def render(content: Content, signature: str, *, cut: int = 60, part_chars: int = 67,
           part_chars_16: int = 66) -> Rendering:
    """Apply the splitting table to one accepted SUBMIT (see the module docstring)."""
    s = count(signature)
    if not content.tp_udhi:
        if signature and content.chars > cut:
            head, rest = cut_units(content.text, cut)
            return Rendering("split", (head, rest), signature)
        return Rendering("single", (content.text,), signature)
    if content.reference is None:
        cap = (MAX_CONTENT - len(content.udh)) // 2
        last = True
    else:
        cap = part_chars_16 if content.udh16 else part_chars
        last = content.number == content.total
    text = content.text
    tail = ""
    if last and content.chars + s > cap:
        text, tail = cut_units(text, cap - s)
    kind = "part" if content.reference is not None else "single"
    return Rendering(kind, (text,), signature, tail, last, cap)


def http_pieces(text: str, *, cut: int = 60) -> list[str]:
    """The HTTP / WEB row of the splitting table: ceil(len / cut) pieces of at most ``cut``
    UCS2 units (never cutting a surrogate pair), each sent as its own SMS with the
    signature.  The HTTP front end submits each piece (``via="http"``)."""
    pieces = []
    rest = text
    while rest:
        head, rest = cut_units(rest, cut)
        if not head:  # cut < 2 and an astral char: take it whole
            head, rest = rest[:1], rest[1:]
        pieces.append(head)
    return pieces
