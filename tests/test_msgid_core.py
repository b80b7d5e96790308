"""The Msg_Id core: the compiled functions (``smsdk._msgid``, from _msgid.pyx) and their
pure-Python twins (``smsdk._msgid_py``) must agree on every input: the
same result (same type, same value), or the same error type.  The only error types allowed
are TypeError and MsgIdError: never OverflowError, struct.error, IndexError ...

Both modules are imported directly, whatever SMSDK_NO_EXTENSIONS says (fixture
``msgid_twins`` in conftest.py)."""

from __future__ import annotations

import enum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdk import _msgid_py
from smsdk.errors import MsgIdError

U64 = 2**64 - 1


class Small(enum.IntEnum):
    """An int subclass: must be taken as its int value."""

    THREE = 3


class Indexable:
    """Not an int, but has __index__ (like numpy integers)."""

    def __init__(self, v: int) -> None:
        self.v = v

    def __index__(self) -> int:
        return self.v


def outcome(fn, *args):
    try:
        result = fn(*args)
    except (TypeError, MsgIdError) as exc:
        return ("error", type(exc))
    return ("ok", type(result), result)


def same(twins, name, *args):
    compiled, pure = twins
    got_c = outcome(getattr(compiled, name), *args)
    got_p = outcome(getattr(pure, name), *args)
    assert got_c == got_p, (name, args)
    return got_c


# ---------------------------------------------------------------- argument strategies

u64s = st.one_of(
    st.integers(0, U64),
    st.sampled_from([0, 1, 0xFFFF, 0x10000, 2**63 - 1, 2**63, U64]),
)
ints = st.one_of(
    u64s,
    st.integers(-(2**70), 2**70),
    st.sampled_from([-1, 2**64, -(2**63), -(2**63) - 1, 2**200, -(2**200)]),
)
odd_ints = st.one_of(
    st.booleans(),
    st.floats(allow_nan=True),
    st.just(None),
    st.text(max_size=4),
    st.binary(max_size=4),
    st.just(Small.THREE),
    st.integers(0, 2**65).map(Indexable),
    st.integers(-5, 5).map(Indexable),
)
int_args = st.one_of(ints, ints, ints, odd_ints)

raw10 = st.binary(min_size=10, max_size=10)
raws = st.one_of(
    raw10,
    raw10,
    raw10.map(bytearray),
    raw10.map(memoryview),
    st.binary(max_size=12),
    st.text(max_size=12),
    ints,
    st.just(None),
)
bytes8 = st.one_of(
    st.binary(min_size=8, max_size=8),
    st.binary(min_size=8, max_size=8).map(bytearray),
    st.binary(min_size=8, max_size=8).map(memoryview),
    st.binary(max_size=10),
    st.text(max_size=8),
    st.just(None),
    ints,
)

ws = st.sampled_from(["", " ", "\t", "\n", "\r", "\f", "\v", "\u00a0", "\u3000"])


@st.composite
def hex_texts(draw) -> str:
    size = draw(st.sampled_from([8, 10, 10, 10, 9, 11]))
    digits = draw(st.binary(min_size=size, max_size=size)).hex()
    if draw(st.booleans()):
        digits = digits.upper()
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(digits)))
        digits = digits[:cut] + draw(ws) + digits[cut:]
    return draw(ws) + digits + draw(ws)


hexes = st.one_of(
    hex_texts(),
    hex_texts(),
    st.text(alphabet="0123456789abcdefABCDEFxg \t-\u0660\uff10", max_size=24),
    st.text(max_size=24),
    st.binary(max_size=20),
    st.just(None),
    ints,
)


@st.composite
def signed_texts(draw) -> str:
    n = draw(st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-(2**70), 2**70)))
    text = str(n)
    if n >= 0 and draw(st.booleans()):
        text = "+" + text
    if draw(st.booleans()):
        sign = text[0] if text[0] in "+-" else ""
        text = sign + "0" * draw(st.integers(0, 30)) + text[len(sign) :]
    return draw(ws) + text + draw(ws)


signeds = st.one_of(
    signed_texts(),
    signed_texts(),
    ints,
    st.text(alphabet="0123456789+-_. e\u0661", max_size=24),
    odd_ints,
)


# ---------------------------------------------------------------- the API itself


def test_api_lists_match_and_are_defined(msgid_twins):
    compiled, pure = msgid_twins
    assert compiled.MSGID_API == pure.MSGID_API == _msgid_py.MSGID_API
    assert len(set(pure.MSGID_API)) == len(pure.MSGID_API)
    for name in pure.MSGID_API:
        assert name.startswith(("msgid_", "empp_", "cmpp_"))
        assert callable(getattr(compiled, name)) and callable(getattr(pure, name))
    assert _msgid_py.__all__ == [*_msgid_py.MSGID_API, "MSGID_API"]


def test_every_core_function_is_covered_here():
    covered = {
        "msgid_to_signed", "msgid_from_signed", "empp_raw", "empp_value", "empp_from_value",
        "empp_from_hex", "empp_hex", "empp_add", "empp_sub", "empp_group_index",
        "cmpp_value", "cmpp_from_bytes", "cmpp_to_bytes", "cmpp_pack", "cmpp_unpack",
        "cmpp_add", "cmpp_group_index",
    }
    assert covered == set(_msgid_py.MSGID_API)


@pytest.mark.parametrize("which", [0, 1])
def test_examples_on_both(msgid_twins, which):
    m = msgid_twins[which]
    raw = m.empp_from_hex("b000000000001001 0000")
    assert raw == bytes.fromhex("b0000000000010010000")
    assert m.msgid_to_signed(m.empp_value(raw)) == -5764607523034230783
    assert m.msgid_from_signed("-5764607523034230783") == 0xB000000000001001
    assert m.empp_add(bytes.fromhex("00000000000000ff0000"), 1) == bytes.fromhex(
        "00000000000001000000"
    )
    assert m.empp_group_index(
        bytes.fromhex("00000000000000fe0000"), bytes.fromhex("00000000000001020000"), 5
    ) == 4
    assert m.empp_group_index(
        bytes.fromhex("00000000000000fe0000"), bytes.fromhex("00000000000001030000"), 5
    ) == -1
    assert m.cmpp_pack(1, 1, 0, 0, 0, 1, 1) == 0x1080000000010001
    assert m.cmpp_unpack(0x1080000000010001) == (1, 1, 0, 0, 0, 1, 1)
    assert m.cmpp_add(0x1234FFFF, 3) == 0x12340002
    assert m.cmpp_group_index(0x1234FFFE, 0x12340001, 5) == 3
    assert m.cmpp_group_index(0x1234FFFE, 0x12350001, 5) == 3
    assert m.cmpp_group_index(0x1234FFFE, 0x12350002, 5) == 4
    assert m.cmpp_group_index(0x1234FFFE, 0x12350003, 5) == -1
    assert m.cmpp_group_index(0x1234FFFE, 0x12340003, 5) == -1
    assert type(m.empp_raw(bytearray(10))) is bytes
    assert m.empp_from_value(7) == bytes(7) + b"\x07\0\0"


# ---------------------------------------------------------------- differential


@given(int_args)
def test_diff_msgid_to_signed(msgid_twins, v):
    same(msgid_twins, "msgid_to_signed", v)


@given(signeds)
def test_diff_msgid_from_signed(msgid_twins, v):
    same(msgid_twins, "msgid_from_signed", v)


@given(raws)
def test_diff_empp_raw_value_hex(msgid_twins, raw):
    for name in ("empp_raw", "empp_value", "empp_hex"):
        same(msgid_twins, name, raw)


@given(int_args)
def test_diff_empp_from_value(msgid_twins, v):
    same(msgid_twins, "empp_from_value", v)


@given(hexes)
def test_diff_empp_from_hex(msgid_twins, text):
    same(msgid_twins, "empp_from_hex", text)


@given(raws, int_args)
def test_diff_empp_add(msgid_twins, raw, n):
    same(msgid_twins, "empp_add", raw, n)


@given(raw10, st.integers(0, 2**16))
def test_diff_empp_add_near_carries(msgid_twins, raw, n):
    # bytes 0-7 forced to end in 0xFF runs so carries cross bytes
    k = n % 9
    raw = raw[: 8 - k] + b"\xff" * k + raw[8:]
    same(msgid_twins, "empp_add", raw, n)


@given(raws, raws)
def test_diff_empp_sub(msgid_twins, a, b):
    same(msgid_twins, "empp_sub", a, b)


@given(raws, raws, int_args)
def test_diff_empp_group_index(msgid_twins, base, raw, n):
    same(msgid_twins, "empp_group_index", base, raw, n)


@given(raw10, st.integers(-3, 300), st.integers(-2, 300), raw10)
def test_diff_empp_group_index_near(msgid_twins, base, d, n, tail_src):
    v = int.from_bytes(base[:8], "big") + d
    if 0 <= v <= U64:
        raw = v.to_bytes(8, "big") + tail_src[8:]
        result = same(msgid_twins, "empp_group_index", base, raw, n)
        if n >= 0:
            assert result == ("ok", int, d if 0 <= d < n else -1)


@given(int_args)
def test_diff_cmpp_value_to_bytes_unpack(msgid_twins, v):
    for name in ("cmpp_value", "cmpp_to_bytes", "cmpp_unpack"):
        same(msgid_twins, name, v)


@given(bytes8)
def test_diff_cmpp_from_bytes(msgid_twins, data):
    same(msgid_twins, "cmpp_from_bytes", data)


field = st.one_of(st.integers(-2, 70), st.integers(0, 2**22 + 2), ints, odd_ints)


@given(st.tuples(field, field, field, field, field, field, field))
def test_diff_cmpp_pack(msgid_twins, fields):
    same(msgid_twins, "cmpp_pack", *fields)


@given(
    st.tuples(
        st.integers(1, 12), st.integers(1, 31), st.integers(0, 23), st.integers(0, 59),
        st.integers(0, 59), st.integers(0, 2**22 - 1), st.integers(0, 65535),
    )
)
def test_diff_cmpp_pack_valid(msgid_twins, fields):
    result = same(msgid_twins, "cmpp_pack", *fields)
    assert result[0] == "ok"
    assert msgid_twins[0].cmpp_unpack(result[2]) == fields


@given(int_args, int_args)
def test_diff_cmpp_add(msgid_twins, v, n):
    same(msgid_twins, "cmpp_add", v, n)


@given(int_args, int_args, int_args)
def test_diff_cmpp_group_index(msgid_twins, b, v, n):
    same(msgid_twins, "cmpp_group_index", b, v, n)


@given(st.integers(0, 2**48 - 1), st.integers(0, 65535), st.integers(-3, 300),
       st.integers(-2, 70_000))
def test_diff_cmpp_group_index_near(msgid_twins, upper, seq, d, n):
    b = upper << 16 | seq
    v = b + d
    if 0 <= v <= U64:
        same(msgid_twins, "cmpp_group_index", b, v, n)
        same(msgid_twins, "cmpp_group_index", b, (b & ~0xFFFF) | ((seq + d) & 0xFFFF), n)
