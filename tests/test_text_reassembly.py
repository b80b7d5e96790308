"""Reassembler and UDH parsing (``smsdk.text``; the Reassembler is shared by both ways)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdk import text as T
from smsdk.errors import ReassemblyError

KEY = ("13800138000", "10657")


def udh8(ref, total, number):
    return bytes([5, 0, 3, ref, total, number])


def udh16(ref, total, number):
    return bytes([6, 8, 4, ref >> 8, ref & 0xFF, total, number])


def feed_all(r, contents, *, msg_fmt=8, now=0.0, key=KEY):
    out = []
    for c in contents:
        m = r.feed(key, c, tp_udhi=1, msg_fmt=msg_fmt, now=now)
        if m is not None:
            out.append(m)
    return out


# --- parse_udh -------------------------------------------------------------------------------


def test_parse_udh_both_forms():
    assert T.parse_udh(udh8(7, 3, 2) + b"\x00A") == (7, 3, 2, 6)
    assert T.parse_udh(udh16(0x1234, 5, 5) + b"xy") == (0x1234, 5, 5, 7)


def test_parse_udh_among_other_ies():
    # port addressing IE (05 04 ...) before the concatenation IE
    content = bytes([11, 5, 4, 0x0B, 0x84, 0x23, 0xF0, 0, 3, 9, 2, 1]) + b"payload"
    assert T.parse_udh(content) == (9, 2, 1, 12)
    # concatenation first, another IE after
    content = bytes([9, 8, 4, 1, 2, 4, 3, 0x24, 1, 0x01]) + b"p"
    assert T.parse_udh(content) == (0x0102, 4, 3, 10)


def test_parse_udh_without_concatenation():
    assert T.parse_udh(bytes([4, 5, 2, 0x0B, 0x84]) + b"x") is None
    assert T.parse_udh(bytes([0]) + b"x") is None


def test_parse_udh_repeated_ie_last_wins():
    content = bytes([10, 0, 3, 1, 2, 1, 0, 3, 5, 3, 3])
    assert T.parse_udh(content) == (5, 3, 3, 11)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "empty"),
        (bytes([6, 0, 3, 1, 2, 1]), "runs past"),
        (bytes([1, 0]), "truncated"),
        (bytes([5, 0, 4, 1, 2, 1]), "claims 4 bytes"),
        (bytes([4, 0, 2, 1, 2]), "must carry 3 bytes"),
        (bytes([5, 8, 3, 1, 2, 1]), "must carry 4 bytes"),
        (udh8(1, 0, 0), "total of 0"),
        (udh8(1, 2, 0), "outside 1..2"),
        (udh8(1, 2, 3), "outside 1..2"),
    ],
)
def test_parse_udh_malformed(content, match):
    with pytest.raises(ReassemblyError, match=match):
        T.parse_udh(content)


# --- Reassembler -------------------------------------------------------------------------------


def test_out_of_order_and_duplicates():
    plan = T.plan("汉字" * 100, signature="【示例科技】", udh_reference=42)
    r = T.Reassembler()
    contents = [p.content for p in plan.parts]
    order = [contents[3], contents[0], contents[0], contents[2], contents[3], contents[1]]
    got = feed_all(r, order, now=5.0)
    assert r.pending == 0
    (m,) = got
    assert m.text == "汉字" * 100
    assert (m.reference, m.total, m.udh16, m.key, m.msg_fmt) == (42, 4, False, KEY, 8)
    assert m.parts_received == 4
    assert m.content == ("汉字" * 100).encode("utf-16-be")
    assert m.first_seen == m.completed_at == 5.0
    # a late duplicate of a delivered part is ignored, not a new set
    assert r.feed(KEY, contents[1], tp_udhi=1, msg_fmt=8, now=6.0) is None
    assert r.pending == 0
    assert r.expire(1000.0) == []


def test_16bit_form():
    plan = T.plan("x" * 200, udh16=True, udh_reference=40000)
    r = T.Reassembler()
    (m,) = feed_all(r, [p.content for p in reversed(plan.parts)])
    assert (m.text, m.reference, m.udh16, m.total) == ("x" * 200, 40000, True, 4)


def test_8_and_16_bit_sets_with_the_same_reference_are_separate():
    r = T.Reassembler()
    assert r.feed(KEY, udh8(1, 2, 1) + b"\x00a", tp_udhi=1, msg_fmt=8, now=0) is None
    assert r.feed(KEY, udh16(1, 2, 2) + b"\x00b", tp_udhi=1, msg_fmt=8, now=0) is None
    assert r.pending == 2


def test_keys_separate_sets():
    r = T.Reassembler()
    assert r.feed("a", udh8(1, 2, 1) + b"\x00a", tp_udhi=1, msg_fmt=8, now=0) is None
    assert r.feed("b", udh8(1, 2, 2) + b"\x00b", tp_udhi=1, msg_fmt=8, now=0) is None
    m = r.feed("a", udh8(1, 2, 2) + b"\x00c", tp_udhi=1, msg_fmt=8, now=0)
    assert m.text == "ac" and m.key == "a"


def test_no_udh_is_a_message_at_once():
    r = T.Reassembler()
    m = r.feed(KEY, "你好".encode("gbk"), tp_udhi=0, msg_fmt=15, now=1.0)
    assert (m.text, m.reference, m.total) == ("你好", None, 1)
    m = r.feed(KEY, bytes([4, 5, 2, 0x0B, 0x84]) + b"hi", tp_udhi=1, msg_fmt=0, now=1.0)
    assert (m.text, m.content, m.reference) == ("hi", b"hi", None)
    m = r.feed(KEY, udh8(9, 1, 1) + b"solo", tp_udhi=1, msg_fmt=0, now=1.0)
    assert (m.text, m.reference, m.total) == ("solo", 9, 1)
    assert r.pending == 0


def test_gbk_char_split_across_parts_is_decoded_once():
    raw = "中文".encode("gbk")  # 4 bytes; cut inside the first char
    r = T.Reassembler()
    parts = [udh8(3, 2, 1) + raw[:1], udh8(3, 2, 2) + raw[1:]]
    (m,) = feed_all(r, parts, msg_fmt=15)
    assert m.text == "中文"


def test_decoding_by_format():
    r = T.Reassembler()
    assert r.feed(KEY, b"\xe9t\xe9", tp_udhi=0, msg_fmt=0, now=0).text == "été"
    assert r.feed(KEY, b"\x00\x01\x02", tp_udhi=0, msg_fmt=4, now=0).text is None
    m = r.feed(KEY, b"\xd8\x00", tp_udhi=0, msg_fmt=8, now=0)  # a lone surrogate
    assert m.text is None and m.content == b"\xd8\x00"
    # GB18030 four-byte sequence (outside GBK)
    assert r.feed(KEY, "\U0001F600".encode("gb18030"), tp_udhi=0, msg_fmt=15, now=0).text == (
        "\U0001F600"
    )


def test_timeout_on_the_callers_clock():
    r = T.Reassembler(timeout=10)
    r.feed(KEY, udh8(1, 3, 1) + b"\x00a", tp_udhi=1, msg_fmt=8, now=100.0)
    r.feed(KEY, udh8(1, 3, 3) + b"\x00c", tp_udhi=1, msg_fmt=8, now=105.0)
    r.feed(KEY, udh8(2, 2, 1) + b"\x00x", tp_udhi=1, msg_fmt=8, now=108.0)
    assert r.expire(109.9) == []
    (inc,) = r.expire(110.0)
    assert (inc.reference, inc.total, inc.missing, inc.reason) == (1, 3, (2,), "timeout")
    assert inc.parts == ((1, b"\x00a"), (3, b"\x00c"))
    assert (inc.first_seen, inc.given_up_at, inc.key, inc.msg_fmt) == (100.0, 110.0, KEY, 8)
    assert r.pending == 1
    # the part arriving after give-up starts a new set
    assert r.feed(KEY, udh8(1, 3, 2) + b"\x00b", tp_udhi=1, msg_fmt=8, now=111.0) is None
    assert r.pending == 2
    assert [i.reference for i in r.expire(200.0)] == [2, 1]


def test_max_pending_gives_up_the_oldest():
    r = T.Reassembler(max_pending=2)
    for ref in (1, 2, 3):
        r.feed(KEY, udh8(ref, 2, 1) + b"\x00a", tp_udhi=1, msg_fmt=8, now=float(ref))
    assert r.pending == 2
    (inc,) = r.expire(3.5)
    assert (inc.reference, inc.reason, inc.given_up_at) == (1, "evicted", 3.0)
    m = r.feed(KEY, udh8(3, 2, 2) + b"\x00b", tp_udhi=1, msg_fmt=8, now=4.0)
    assert m.text == "ab"


def test_same_reference_with_another_total_supersedes():
    r = T.Reassembler()
    r.feed(KEY, udh8(5, 3, 1) + b"\x00a", tp_udhi=1, msg_fmt=8, now=0)
    assert r.feed(KEY, udh8(5, 2, 2) + b"\x00y", tp_udhi=1, msg_fmt=8, now=1) is None
    m = r.feed(KEY, udh8(5, 2, 1) + b"\x00x", tp_udhi=1, msg_fmt=8, now=2)
    assert m.text == "xy"
    (inc,) = r.expire(2)
    assert (inc.reason, inc.total, inc.parts, inc.missing) == ("superseded", 3, ((1, b"\x00a"),), (2, 3))


def test_reused_reference_after_completion_is_a_new_message():
    r = T.Reassembler()
    feed_all(r, [udh8(5, 2, 1) + b"\x00a", udh8(5, 2, 2) + b"\x00b"])
    # same reference and total, different payload: not a duplicate
    assert r.feed(KEY, udh8(5, 2, 1) + b"\x00c", tp_udhi=1, msg_fmt=8, now=1) is None
    m = r.feed(KEY, udh8(5, 2, 2) + b"\x00d", tp_udhi=1, msg_fmt=8, now=1)
    assert m.text == "cd"


def test_malformed_udh_raises():
    r = T.Reassembler()
    with pytest.raises(ReassemblyError, match="outside"):
        r.feed(KEY, udh8(1, 2, 3) + b"x", tp_udhi=1, msg_fmt=8, now=0)


def test_reassembler_arguments():
    with pytest.raises(ValueError):
        T.Reassembler(timeout=0)
    with pytest.raises(ValueError):
        T.Reassembler(timeout=float("inf"))
    with pytest.raises(ValueError):
        T.Reassembler(max_pending=0)
    with pytest.raises(TypeError):
        T.Reassembler(max_pending=1.5)
    with pytest.raises(TypeError):
        T.Reassembler().feed(KEY, "text", tp_udhi=0, msg_fmt=8, now=0)


@given(
    text=st.text(min_size=1, max_size=2000),
    signature=st.sampled_from(["", "【示例科技】"]),
    wide=st.booleans(),
    ref=st.integers(0, 255),
    data=st.data(),
)
def test_roundtrip_any_order_with_duplicates(text, signature, wide, ref, data):
    plan = T.plan(text, signature=signature, udh16=wide, udh_reference=ref)
    contents = [p.content for p in plan.parts]
    dups = data.draw(st.lists(st.sampled_from(contents), max_size=5))
    order = data.draw(st.permutations(contents + dups))
    r = T.Reassembler()
    got = []
    for c in order:
        part = plan.parts[contents.index(c)]
        m = r.feed(KEY, c, tp_udhi=part.tp_udhi, msg_fmt=part.msg_fmt, now=0.0)
        if m is not None:
            got.append(m)
    if len(plan.parts) == 1:  # no UDH, or a UDH of total 1: a whole message each time
        assert [m.text for m in got] == [text] * order.count(contents[0])
    else:
        assert [m.text for m in got] == [text]
        assert r.pending == 0
    assert r.expire(1e9) == []
