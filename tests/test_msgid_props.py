"""Property tests of the Msg_Id classes (hypothesis, at the profile's default budget).

Round trips of every form, and group-send membership (RULES.md FAQ-2.5.1 / 2.5.2, PROTOCOL.md
§2.10) with bases chosen so that carries run from byte 7 into byte 6 and beyond, and CMPP
sequences that wrap."""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from smsdk.errors import MsgIdError
from smsdk.msgid import CmppMsgId, EmppMsgId

U64 = 2**64 - 1


@st.composite
def carry_values(draw) -> int:
    """64-bit values whose low k bytes are all (or nearly all) 0xFF, so that adding a small
    number carries across k bytes (k = 1: byte 7 into byte 6; k = 8: to the top)."""
    k = draw(st.integers(1, 8))
    span = 1 << (8 * k)
    low = span - 1 - draw(st.integers(0, min(300, span - 1)))
    high = draw(st.integers(0, (1 << (64 - 8 * k)) - 1))
    return (high << (8 * k)) | low


values = st.one_of(st.integers(0, U64), carry_values(), st.sampled_from([0, 1, U64, 2**63]))
tails = st.one_of(st.just(b"\x00\x00"), st.binary(min_size=2, max_size=2))


@st.composite
def empp_ids(draw) -> EmppMsgId:
    return EmppMsgId(draw(values).to_bytes(8, "big") + draw(tails))


@st.composite
def cmpp_field_dicts(draw) -> dict[str, int]:
    return dict(
        month=draw(st.integers(1, 12)),
        day=draw(st.integers(1, 31)),
        hour=draw(st.integers(0, 23)),
        minute=draw(st.integers(0, 59)),
        second=draw(st.integers(0, 59)),
        gateway=draw(st.integers(0, 2**22 - 1)),
        sequence=draw(st.one_of(st.integers(0, 65535), st.integers(65400, 65535))),
    )


cmpp_values = st.one_of(
    st.integers(0, U64),
    # sequences near the wrap
    st.builds(lambda hi, seq: hi << 16 | seq, st.integers(0, 2**48 - 1), st.integers(65300, 65535)),
    st.sampled_from([0, U64, 0xFFFF, 0x10000]),
)


# ====================================================================== EMPP round trips


@given(empp_ids())
def test_empp_forms_round_trip(m):
    assert EmppMsgId(m.raw).raw == m.raw
    assert EmppMsgId(bytes(m)).raw == m.raw
    assert EmppMsgId.from_hex(m.hex).raw == m.raw
    assert EmppMsgId.from_hex(m.hex.upper()).raw == m.raw
    assert EmppMsgId(repr(m)[len("EmppMsgId('") : -2]).raw == m.raw
    assert EmppMsgId.from_hex(m.hex[:16]).raw == m.raw[:8] + b"\0\0"
    assert EmppMsgId.from_int(m.value) == m
    assert EmppMsgId.from_int(m.value).raw == m.raw[:8] + b"\0\0"
    assert EmppMsgId.from_signed(m.signed) == m
    assert EmppMsgId.from_signed(int(m.signed)) == m
    assert EmppMsgId.from_cmpp(m.as_cmpp()) == m
    assert int(m.unsigned) == m.value
    assert pickle.loads(pickle.dumps(m)).raw == m.raw
    assert copy.deepcopy(m).raw == m.raw


@given(empp_ids())
def test_empp_value_and_signed_match_their_definitions(m):
    assert m.value == int.from_bytes(m.raw[:8], "big")
    # Java's BigInteger(byte[]) of bytes 0-7: two's complement, big-endian
    assert int(m.signed) == int.from_bytes(m.raw[:8], "big", signed=True)
    assert (m.signed.startswith("-")) == (m.raw[0] >= 0x80)
    assert m.hex == m.raw.hex() and len(m.hex) == 20
    assert m.as_cmpp().value == m.value


@given(values, tails, tails)
def test_equality_and_hash_use_bytes_0_to_7_only(v, t1, t2):
    a = EmppMsgId(v.to_bytes(8, "big") + t1)
    b = EmppMsgId(v.to_bytes(8, "big") + t2)
    assert a == b and hash(a) == hash(b) and not a < b and a <= b


@given(empp_ids(), empp_ids())
def test_ordering_and_difference_follow_values(a, b):
    assert (a < b) == (a.value < b.value)
    assert (a <= b) == (a.value <= b.value)
    assert (a == b) == (a.value == b.value)
    assert a - b == a.value - b.value == -(b - a)


# ====================================================================== EMPP arithmetic


@given(empp_ids(), st.integers(0, 2**20))
def test_add_is_big_endian_addition_on_bytes_0_to_7(m, n):
    if m.value + n > U64:
        with pytest.raises(MsgIdError):
            _ = m + n
        return
    s = m + n
    assert s.value == m.value + n
    assert s.raw[:8] == (m.value + n).to_bytes(8, "big")
    assert s.raw[8:] == m.raw[8:]
    assert s - m == n


@given(empp_ids(), st.one_of(st.integers(0, 1000), st.integers(0, 2**70)))
def test_add_beyond_the_top_fails_cleanly(m, extra):
    n = U64 - m.value + 1 + extra  # the smallest n that overflows, and beyond
    with pytest.raises(MsgIdError):
        _ = m + n
    assert (m + (n - 1 - extra)).value == U64


@given(empp_ids(), st.data())
def test_group_members_are_found_at_their_index(base, data):
    n = data.draw(st.integers(1, 1000), label="n")
    assume(base.value + n - 1 <= U64)
    i = data.draw(st.integers(0, n - 1), label="i")
    member = base + i
    assert member.group_index(base, n) == i
    assert member.in_group(base, n)
    # the report may carry other bytes 8-9 than the SUBMIT_RESP
    other_tail = data.draw(tails, label="report tail")
    assert EmppMsgId(member.raw[:8] + other_tail).group_index(base, n) == i


@given(empp_ids(), st.integers(0, 1000), st.data())
def test_group_index_is_none_exactly_outside_the_range(base, n, data):
    near = st.integers(-3, n + 3).map(lambda d: base.value + d).filter(lambda v: 0 <= v <= U64)
    v = data.draw(st.one_of(near, values), label="v")
    other = EmppMsgId.from_int(v)
    d = v - base.value
    expected = d if 0 <= d < n else None
    assert other.group_index(base, n) == expected
    assert other.in_group(base, n) == (expected is not None)


@given(empp_ids(), st.integers(1, 1000), st.integers(1, 1000))
def test_neighbours_of_a_group_are_outside(base, n, k):
    if base.value >= k:
        assert EmppMsgId.from_int(base.value - k).group_index(base, n) is None
    if base.value + n - 1 + k <= U64:
        assert (base + (n - 1 + k)).group_index(base, n) is None


# ====================================================================== CMPP


@given(cmpp_field_dicts())
def test_pack_unpack_round_trip(fields):
    c = CmppMsgId.pack(**fields)
    assert c.fields()._asdict() == fields
    assert {k: getattr(c, k) for k in fields} == fields
    bits = "{month:04b}{day:05b}{hour:05b}{minute:06b}{second:06b}{gateway:022b}{sequence:016b}"
    assert c.value == int(bits.format(**fields), 2)


@given(cmpp_values)
def test_any_value_unpacks_and_reassembles(v):
    c = CmppMsgId(v)
    mo, d, h, mi, s, gw, seq = c.fields()
    assert (mo << 60 | d << 55 | h << 50 | mi << 44 | s << 38 | gw << 16 | seq) == v
    assert CmppMsgId.from_bytes(c.to_bytes()) == c
    assert c.to_bytes() == v.to_bytes(8, "big")
    assert int(str(c)) == v
    assert pickle.loads(pickle.dumps(c)) == c
    assert EmppMsgId.from_cmpp(c).as_cmpp() == c


@given(cmpp_values, st.integers(0, 2**70))
def test_cmpp_add_wraps_the_sequence_and_keeps_the_rest(v, n):
    c = CmppMsgId(v)
    s = c + n
    assert s.value >> 16 == v >> 16
    assert s.sequence == (c.sequence + n) % 65536


@given(cmpp_values, st.data())
def test_cmpp_group_members_wrapping(base_v, data):
    base = CmppMsgId(base_v)
    n = data.draw(st.integers(1, 65536), label="n")
    i = data.draw(st.integers(0, n - 1), label="i")
    assert (base + i).group_index(base, n) == i
    assert (base + i).in_group(base, n)


@given(cmpp_values, st.data())
def test_cmpp_group_members_plain_integer_range(base_v, data):
    base = CmppMsgId(base_v)
    n = data.draw(st.integers(1, 100_000), label="n")
    assume(base_v + n - 1 <= U64)
    i = data.draw(st.integers(0, n - 1), label="i")
    assert CmppMsgId(base_v + i).group_index(base, n) == i


def _cmpp_reference(b: int, v: int, n: int) -> int | None:
    if 0 <= v - b < n:
        return v - b
    if v >> 16 == b >> 16 and (v - b) % 65536 < n:
        return (v - b) % 65536
    return None


@given(cmpp_values, cmpp_values, st.integers(0, 70_000))
def test_cmpp_group_index_matches_the_two_range_rule(b, v, n):
    assert CmppMsgId(v).group_index(CmppMsgId(b), n) == _cmpp_reference(b, v, n)


@given(cmpp_values, st.integers(1, 65535), st.data())
def test_cmpp_group_neighbours(b, n, data):
    # same upper bits, sequence just past the end of a (possibly wrapping) group: outside
    k = data.draw(
        st.one_of(st.integers(0, min(3, 65535 - n)), st.integers(0, 65535 - n)), label="k"
    )
    base = CmppMsgId(b)
    # (seq - base_seq) mod 65536 == n + k >= n, and the value is either below the base
    # (wrapped) or n + k above it: outside both readings
    assert (base + (n + k)).group_index(base, n) is None
    other_upper = data.draw(st.integers(0, 2**48 - 1).filter(lambda u: u != b >> 16))
    stranger = CmppMsgId(other_upper << 16 | base.sequence)
    if not 0 <= stranger.value - b < n:
        assert stranger.group_index(base, n) is None
