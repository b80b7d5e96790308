"""Property tests of the text planner over any text and signature (``smsdk.text``: compiled,
or the twin under SMSDK_NO_EXTENSIONS=1), plus compiled-vs-twin differential tests."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from smsdk import text as T
from smsdk.errors import PlanError, ReassemblyError

# --- strategies ---------------------------------------------------------------------------

ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
LATIN1 = st.characters(min_codepoint=0xA0, max_codepoint=0xFF)
EMOJI = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
RARE_CJK = st.characters(min_codepoint=0x20000, max_codepoint=0x2A6DF)
HANGUL = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
ANY = st.characters(exclude_categories=("Cs",))  # every code point except surrogates

MIXED = st.one_of(ASCII, HAN, HAN, LATIN1, EMOJI, RARE_CJK, HANGUL, ANY)


def _repeat(chunk: str, times: int) -> str:
    return chunk * times


TEXTS = st.one_of(
    st.text(),
    st.text(MIXED, max_size=400),
    st.text(st.one_of(HAN, EMOJI), min_size=55, max_size=300),
    st.text(ASCII, min_size=50, max_size=300),
    # huge: repetitions up to about 40 000 chars (many over 255 parts)
    st.builds(_repeat, st.text(MIXED, min_size=1, max_size=20), st.integers(1, 2000)),
)
SIG_INNER = st.text(st.one_of(HAN, ASCII, EMOJI), min_size=1, max_size=8)
SIGNATURES = st.one_of(
    st.just(""),
    st.just("【示例科技】"),
    st.builds(lambda inner: "【" + inner + "】", SIG_INNER).filter(lambda s: T.count(s) <= 10),
)
MODES = st.sampled_from(["concat", "pieces"])


def width(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def reference_split(text: str, cap: int, last: int) -> list[str]:
    """Independent char-level model of the split: greedy, whole chars only."""
    n = sum(width(c) for c in text)
    parts, i, used = [], 0, 0
    while True:
        rem = n - used
        if rem <= last:
            parts.append(text[i:])
            return parts
        lim = last if rem <= cap else cap
        j, t = i, 0
        while t + width(text[j]) <= lim:
            t += width(text[j])
            j += 1
        parts.append(text[i:j])
        i, used = j, used + t


def official_sizes(n: int, s: int, p: int) -> list[int]:
    """PROTOCOL.md §1.15: parts = ceil((n + s) / P), the official client's sizes."""
    k = math.ceil((n + s) / p)
    r = n - (k - 1) * p
    if 0 < r <= p - s:
        return [p] * (k - 1) + [r]
    return [p] * (k - 2) + [p - s, r + s]


def decode(part) -> str:
    if part.tp_udhi:
        return part.content[part.content[0] + 1 :].decode("utf-16-be")
    codec = {0: "ascii", 15: "gbk", 8: "utf-16-be"}[part.msg_fmt]
    return part.content.decode(codec)


def is_single(n: int, text: str, signature: str, lim) -> bool:
    if signature:
        return n <= lim.cut
    return n <= lim.single_max or (text.isascii() and n <= lim.single_max_ascii)


# --- the properties ------------------------------------------------------------------------


@given(text=TEXTS, signature=SIGNATURES, mode=MODES, udh16=st.booleans(),
       ref=st.integers(0, 255))
@example(text="汉" * 130, signature="【一二三四五六七八】", mode="concat", udh16=False, ref=0)
@example(text="\U0001F600" * 40, signature="【一二三四五六七八】", mode="concat", udh16=False, ref=7)
@example(text="a" * 141, signature="", mode="concat", udh16=True, ref=255)
def test_plan_properties(text, signature, mode, udh16, ref):
    lim = T.DEFAULT_LIMITS
    n = T.count(text)
    s = T.count(signature)
    if not text:
        with pytest.raises(PlanError):
            T.plan(text, signature=signature, mode=mode, udh16=udh16, udh_reference=ref)
        return
    single = is_single(n, text, signature, lim)
    if single:
        expected = [text]
    elif mode == "concat":
        p = lim.part_chars_16 if udh16 else lim.part_chars
        expected = reference_split(text, p, p - s)
    else:
        c = lim.cut if signature else lim.single_max
        expected = reference_split(text, c, c)
    if len(expected) > lim.max_parts:
        with pytest.raises(PlanError, match=f"needs {len(expected)} "):
            T.plan(text, signature=signature, mode=mode, udh16=udh16, udh_reference=ref)
        return

    plan = T.plan(text, signature=signature, mode=mode, udh16=udh16, udh_reference=ref)
    # the joined part texts give back the original exactly, and match the model
    assert "".join(p.text for p in plan.parts) == text
    assert [p.text for p in plan.parts] == expected
    assert plan.chars == n and plan.signature_chars == s
    assert plan.text == text and plan.signature == signature
    assert plan.sms_per_recipient == len(plan.parts) <= lim.max_parts
    assert plan.encoding == T.classify(text)
    for i, part in enumerate(plan.parts, 1):
        assert part.text, "no part is ever empty"
        assert len(part.content) <= 140
        # nothing cut in half: each content decodes back to exactly its text
        assert decode(part) == part.text
    if single:
        assert plan.mode == "single"
        (part,) = plan.parts
        assert (part.tp_udhi, part.pk_total, part.pk_number) == (0, 1, 1)
        assert part.msg_fmt == {"ascii": 0, "gbk": 15, "ucs2": 8}[T.classify(text)]
        assert plan.received == (text + signature,)
    elif mode == "concat":
        p = lim.part_chars_16 if udh16 else lim.part_chars
        k = len(plan.parts)
        assert plan.mode == "concat" and k >= 1  # one UDH part when n + s <= P
        head = bytes([6, 8, 4, 0, ref, k]) if udh16 else bytes([5, 0, 3, ref, k])
        for i, part in enumerate(plan.parts, 1):
            assert part.msg_fmt == 8 and part.tp_udhi == 1
            assert (part.pk_total, part.pk_number) == (k, i)
            assert part.content[: len(head) + 1] == head + bytes([i])
            assert T.count(part.text) <= p
            assert T.parse_udh(part.content) == (ref, k, i, len(head) + 1)
        # FAQ-2.5.3: the last part leaves room for the signature the platform appends
        assert T.count(plan.parts[-1].text) + s <= p
        # without surrogate pairs, exactly the official client's split
        if n == len(text):
            assert [T.count(x.text) for x in plan.parts] == official_sizes(n, s, p)
        assert plan.received == (text + signature,)
    else:
        c = lim.cut if signature else lim.single_max
        assert plan.mode == "pieces"
        for part in plan.parts:
            assert T.count(part.text) <= c
            assert (part.tp_udhi, part.pk_total, part.pk_number) == (0, 1, 1)
            assert part.msg_fmt == {"ascii": 0, "gbk": 15, "ucs2": 8}[T.classify(part.text)]
        assert plan.received == tuple(x.text + signature for x in plan.parts)


@given(
    chunk=st.text(st.one_of(HAN, EMOJI, ASCII), min_size=1, max_size=5),
    max_parts=st.integers(1, 6),
    reps=st.integers(1, 120),
    signature=SIGNATURES,
    mode=MODES,
)
def test_more_parts_than_allowed_is_a_plan_error(chunk, max_parts, reps, signature, mode):
    text = chunk * reps
    lim = T.Limits(max_parts=max_parts)
    n = T.count(text)
    s = T.count(signature)
    if is_single(n, text, signature, lim):
        needed = 1
    elif mode == "concat":
        needed = len(reference_split(text, 67, 67 - s))
    else:
        c = lim.cut if signature else lim.single_max
        needed = len(reference_split(text, c, c))
    if needed > max_parts:
        with pytest.raises(PlanError, match=f"needs {needed} .*at most {max_parts} "):
            T.plan(text, signature=signature, mode=mode, limits=lim)
    else:
        assert len(T.plan(text, signature=signature, mode=mode, limits=lim).parts) == needed


@st.composite
def limits_values(draw):
    return {
        "cut": draw(st.integers(2, 70)),
        "single_max": draw(st.integers(2, 70)),
        "single_max_ascii": draw(st.integers(2, 140)),
        "part_chars": draw(st.integers(2, 67)),
        "part_chars_16": draw(st.integers(2, 66)),
        "max_parts": draw(st.integers(1, 255)),
        "signature_max": draw(st.integers(0, 20)),
    }


@st.composite
def valid_limits(draw):
    part_chars = draw(st.integers(2, 67))
    part_chars_16 = draw(st.integers(2, 66))
    single_max = draw(st.integers(2, 70))
    signature_max = draw(st.integers(0, min(part_chars, part_chars_16, single_max) - 2))
    return T.Limits(
        cut=draw(st.integers(2, single_max - signature_max)),
        single_max=single_max,
        single_max_ascii=draw(st.integers(single_max, 140)),
        part_chars=part_chars,
        part_chars_16=part_chars_16,
        max_parts=draw(st.integers(1, 255)),
        signature_max=signature_max,
    )


@given(lim=valid_limits(), text=st.text(MIXED, min_size=1, max_size=300), mode=MODES,
       udh16=st.booleans(), inner=SIG_INNER)
def test_any_valid_limits_keep_the_invariants(lim, text, mode, udh16, inner):
    signature = "【" + inner + "】"
    if T.count(signature) > lim.signature_max:
        signature = ""
    try:
        plan = T.plan(text, signature=signature, mode=mode, limits=lim, udh16=udh16)
    except PlanError as e:
        assert "needs" in str(e)
        return
    assert "".join(p.text for p in plan.parts) == text
    s = T.count(signature)
    for part in plan.parts:
        assert part.text and len(part.content) <= 140 and decode(part) == part.text
    if plan.mode == "concat":
        p = lim.part_chars_16 if udh16 else lim.part_chars
        assert all(T.count(x.text) <= p for x in plan.parts)
        assert T.count(plan.parts[-1].text) + s <= p
    elif plan.mode == "pieces":
        c = lim.cut if signature else lim.single_max
        assert all(T.count(x.text) <= c for x in plan.parts)


@given(text=st.text(MIXED, max_size=200))
def test_count_and_classify(text):
    assert T.count(text) == len(text.encode("utf-16-le")) // 2
    enc = T.classify(text)
    if all(ord(c) < 0x80 for c in text):
        assert enc == "ascii"
    else:
        try:
            text.encode("gbk")
            assert enc == "gbk"
        except UnicodeEncodeError:
            assert enc == "ucs2"


# --- compiled vs twin ------------------------------------------------------------------------


def outcome(fn, *args, **kwargs):
    try:
        result = fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the point is to compare errors
        return ("error", type(e), str(e))
    if hasattr(result, "parts"):
        return (
            "plan", result.mode, result.text, result.signature, result.chars,
            result.signature_chars, result.encoding, result.sms_per_recipient, result.received,
            tuple((p.msg_fmt, p.tp_udhi, p.content, p.text, p.pk_total, p.pk_number)
                  for p in result.parts),
        )
    return ("value", result)


ODD_TEXT = st.one_of(
    TEXTS,
    st.text(st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=80),  # surrogates
    st.sampled_from([None, b"bytes", 3]),
)
ODD_SIGNATURES = st.one_of(
    SIGNATURES,
    st.text(max_size=12),
    st.builds(lambda inner: "【" + inner + "】",
              st.text(st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=12)),
    st.sampled_from([None, "【】", "【" + "x" * 9 + "】"]),
)


@given(text=ODD_TEXT, signature=ODD_SIGNATURES,
       mode=st.sampled_from(["concat", "pieces", "concat", "nope"]),
       udh16=st.booleans(), ref=st.one_of(st.integers(-2, 70000), st.just(1.5)))
def test_differential_plan(split_twins, text, signature, mode, udh16, ref):
    compiled, pure = split_twins
    kw = dict(signature=signature, mode=mode, udh16=udh16, udh_reference=ref)
    a = outcome(compiled.plan, text, limits=compiled.DEFAULT_LIMITS, **kw)
    b = outcome(pure.plan, text, limits=pure.DEFAULT_LIMITS, **kw)
    assert a == b


@given(values=limits_values(), text=st.text(MIXED, min_size=1, max_size=400), mode=MODES,
       udh16=st.booleans(), signature=ODD_SIGNATURES)
def test_differential_limits(split_twins, values, text, mode, udh16, signature):
    compiled, pure = split_twins
    a = outcome(compiled.Limits, **values)
    b = outcome(pure.Limits, **values)
    assert (a[0], a[1:] if a[0] == "error" else None) == (b[0], b[1:] if b[0] == "error" else None)
    if a[0] == "error":
        return
    la, lb = compiled.Limits(**values), pure.Limits(**values)
    assert repr(la) == repr(lb)
    kw = dict(signature=signature, mode=mode, udh16=udh16)
    assert outcome(compiled.plan, text, limits=la, **kw) == outcome(pure.plan, text, limits=lb, **kw)
    # a Limits of the other implementation is accepted too
    assert outcome(compiled.plan, text, limits=lb, **kw) == outcome(pure.plan, text, limits=la, **kw)


@given(text=st.one_of(ODD_TEXT, st.text(LATIN1), st.text(HANGUL)))
def test_differential_count_classify(split_twins, text):
    compiled, pure = split_twins
    assert outcome(compiled.count, text) == outcome(pure.count, text)
    assert outcome(compiled.classify, text) == outcome(pure.classify, text)


@st.composite
def udh_contents(draw):
    """A UDH made of random IEs, sometimes with a concatenation IE, sometimes broken."""
    ies = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["c8", "c16", "other", "junk"]))
        if kind == "c8":
            ies.append(bytes([0, 3]) + draw(st.binary(min_size=3, max_size=3)))
        elif kind == "c16":
            ies.append(bytes([8, 4]) + draw(st.binary(min_size=4, max_size=4)))
        elif kind == "other":
            data = draw(st.binary(max_size=6))
            ies.append(bytes([draw(st.integers(1, 255).filter(lambda x: x != 8)), len(data)]) + data)
        else:
            ies.append(draw(st.binary(max_size=4)))
    header = b"".join(ies)
    udhl = draw(st.one_of(st.just(len(header)), st.integers(0, 255)))
    return bytes([udhl]) + header + draw(st.binary(max_size=20))


@given(content=st.one_of(udh_contents(), st.binary(max_size=30)))
def test_differential_parse_udh(split_twins, content):
    compiled, pure = split_twins
    a = outcome(compiled.parse_udh, content)
    b = outcome(pure.parse_udh, content)
    assert a == b
    assert outcome(compiled.parse_udh, bytearray(content)) == a
    assert outcome(pure.parse_udh, memoryview(content)) == b
    if a[0] == "error":
        assert a[1] is ReassemblyError
    elif a[1] is not None:
        ref, total, number, hlen = a[1]
        assert 1 <= number <= total and hlen == content[0] + 1 <= len(content)


def test_differential_parse_udh_types(split_twins):
    for mod in split_twins:
        with pytest.raises(TypeError, match="content must be bytes"):
            mod.parse_udh("05 00 03")
        with pytest.raises(TypeError):
            mod.parse_udh(5)
