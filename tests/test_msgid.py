"""Msg_Id classes: worked examples from PROTOCOL.md §1.13 / §1.15 / §2.10 and RULES.md
FAQ-2.5.1 / FAQ-2.5.2, and the error contract.  Runs against whichever core is selected
(compiled, or the twin under SMSDK_NO_EXTENSIONS=1)."""

from __future__ import annotations

import copy
import os
import pickle

import pytest

from smsdk import msgid as msgid_mod
from smsdk.errors import MsgIdError, SmsdkError
from smsdk.msgid import CmppFields, CmppMsgId, EmppMsgId

U64 = 2**64 - 1


def H(text: str) -> EmppMsgId:
    return EmppMsgId.from_hex(text)


def cmpp_bits(month, day, hour, minute, second, gateway, sequence) -> int:
    """The §2.10 table read literally: widths 4, 5, 5, 6, 6, 22, 16 from the MSB down."""
    bits = (
        f"{month:04b}{day:05b}{hour:05b}{minute:06b}{second:06b}{gateway:022b}{sequence:016b}"
    )
    assert len(bits) == 64
    return int(bits, 2)


def test_core_selection_follows_environment():
    if os.environ.get("SMSDK_NO_EXTENSIONS", "").strip().lower() not in ("", "0", "false", "no"):
        assert msgid_mod.COMPILED is False
    elif os.environ.get("SMSDK_REQUIRE_EXTENSIONS", "").strip().lower() not in (
        "",
        "0",
        "false",
        "no",
    ):
        assert msgid_mod.COMPILED is True


def test_msgid_error_is_a_value_error_and_an_sdk_error():
    assert issubclass(MsgIdError, ValueError)
    assert issubclass(MsgIdError, SmsdkError)


# ====================================================================== EMPP forms


def test_signed_form_of_the_spec_example():
    # PROTOCOL.md §1.15: `b000000000001001 0000` -> `-5764607523034230783`.
    m = H("b000000000001001 0000")
    assert m.raw == bytes.fromhex("b0000000000010010000")
    assert m.signed == "-5764607523034230783"
    assert m.unsigned == "12682136550675320833"
    assert m.value == 0xB000000000001001
    assert EmppMsgId.from_signed("-5764607523034230783") == m
    assert EmppMsgId.from_signed(-5764607523034230783) == m
    assert EmppMsgId.from_signed("-5764607523034230783").raw == m.raw


@pytest.mark.parametrize(
    ("hex_", "signed"),
    [
        ("00000000000000000000", "0"),
        ("00000000000000010000", "1"),
        ("7fffffffffffffff0000", "9223372036854775807"),
        ("80000000000000000000", "-9223372036854775808"),
        ("ffffffffffffffff0000", "-1"),
        ("fffffffffffffffe0000", "-2"),
    ],
)
def test_signed_form_boundaries(hex_, signed):
    m = H(hex_)
    assert m.signed == signed
    assert EmppMsgId.from_signed(signed) == m
    assert EmppMsgId.from_signed(int(signed)) == m


def test_signed_text_accepts_plus_zeros_and_surrounding_space():
    assert EmppMsgId.from_signed(" +0001 ").value == 1
    assert EmppMsgId.from_signed("-0").value == 0
    assert EmppMsgId.from_signed("\t-1\n").value == U64


@pytest.mark.parametrize(
    "bad",
    ["", "-", "+", "1.0", "1e3", "0x10", "1_000", "١٢٣", "--1", "1 2", "9223372036854775808",
     "-9223372036854775809", "1" * 5000, "0" * 5000 + "x"],
)
def test_signed_text_rejected(bad):
    with pytest.raises(MsgIdError):
        EmppMsgId.from_signed(bad)


def test_signed_long_zero_padding_is_fine():
    assert EmppMsgId.from_signed("0" * 5000 + "7").value == 7


@pytest.mark.parametrize("bad", [2**63, -(2**63) - 1, 2**64, -(2**200)])
def test_signed_int_out_of_range(bad):
    with pytest.raises(MsgIdError, match=r"-2\*\*63"):
        EmppMsgId.from_signed(bad)


@pytest.mark.parametrize("bad", [1.0, None, b"1", True])
def test_signed_wrong_type(bad):
    with pytest.raises(TypeError):
        EmppMsgId.from_signed(bad)


def test_hex_forms():
    m = H("0123456789ABCDEFabcd")
    assert m.hex == "0123456789abcdefabcd"
    assert str(m) == m.hex
    assert repr(m) == "EmppMsgId('0123456789abcdefabcd')"
    assert eval(repr(m), {"EmppMsgId": EmppMsgId}).raw == m.raw
    sixteen = H("0123456789abcdef")
    assert sixteen.raw == bytes.fromhex("0123456789abcdef0000")
    assert sixteen == m  # bytes 8-9 do not take part in equality
    assert H(" 01 23 45 67 89 ab cd ef\t00 00\n").raw == bytes.fromhex("0123456789abcdef0000")


@pytest.mark.parametrize(
    "bad",
    ["", "0" * 15, "0" * 17, "0" * 18, "0" * 19, "0" * 21, "0x" + "0" * 18, "g" * 20,
     "0" * 19 + "\u0660", "0" * 19 + "\uff10", "00-00-00-00-00-00-00-00-00-00", "0" * 1000],
)
def test_hex_rejected(bad):
    with pytest.raises(MsgIdError, match="hex"):
        EmppMsgId.from_hex(bad)


def test_hex_wrong_type():
    with pytest.raises(TypeError):
        EmppMsgId.from_hex(b"00000000000000000000")


def test_constructor_takes_ten_bytes_or_hex_text():
    raw = bytes(range(10))
    for form in (raw, bytearray(raw), memoryview(raw)):
        m = EmppMsgId(form)
        assert type(m.raw) is bytes and m.raw == raw
        assert bytes(m) == raw
    assert EmppMsgId(raw.hex()).raw == raw


@pytest.mark.parametrize("size", [0, 1, 8, 9, 11, 12, 100])
def test_constructor_wrong_size(size):
    with pytest.raises(MsgIdError, match=f"10 bytes, got {size}"):
        EmppMsgId(bytes(size))


@pytest.mark.parametrize("bad", [None, 5, 5.0, [0] * 10])
def test_constructor_wrong_type(bad):
    with pytest.raises(TypeError):
        EmppMsgId(bad)


def test_from_int():
    assert EmppMsgId.from_int(0).raw == bytes(10)
    assert EmppMsgId.from_int(U64).raw == b"\xff" * 8 + b"\0\0"
    assert EmppMsgId.from_int(0x0102030405060708).hex == "01020304050607080000"
    for bad in (-1, 2**64, 2**300):
        with pytest.raises(MsgIdError, match=r"2\*\*64-1"):
            EmppMsgId.from_int(bad)
    for bad in (1.0, "1", True, None):
        with pytest.raises(TypeError):
            EmppMsgId.from_int(bad)


def test_equality_and_hash_ignore_bytes_8_and_9():
    a = EmppMsgId(bytes.fromhex("0000000000000001" "0000"))
    b = EmppMsgId(bytes.fromhex("0000000000000001" "beef"))
    assert a == b and not (a != b)
    assert hash(a) == hash(b)
    assert {a: "x"}[b] == "x"
    assert a.raw != b.raw
    assert a != EmppMsgId.from_int(2)
    assert a != a.raw and a != 1 and a != a.hex


def test_ordering_by_value():
    ids = [H("ff000000000000000000"), H("00000000000000010000"), H("00000000000001000000")]
    assert sorted(ids) == [ids[1], ids[2], ids[0]]
    assert ids[1] < ids[2] <= ids[2] < ids[0]
    assert ids[0] > ids[2] >= ids[2]
    with pytest.raises(TypeError):
        _ = ids[0] < 5


def test_immutable_and_picklable():
    m = H("0102030405060708abcd")
    with pytest.raises(AttributeError):
        m.value = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        m._raw = b""  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del m._raw
    for copied in (pickle.loads(pickle.dumps(m)), copy.copy(m), copy.deepcopy(m)):
        assert copied == m and copied.raw == m.raw


def test_as_cmpp_and_from_cmpp():
    c = CmppMsgId.pack(month=3, day=14, hour=9, minute=5, second=7, gateway=1001, sequence=42)
    e = EmppMsgId.from_cmpp(c)
    assert e.raw == c.to_bytes() + b"\0\0"
    assert e.as_cmpp() == c
    assert e.as_cmpp().fields() == (3, 14, 9, 5, 7, 1001, 42)
    assert EmppMsgId(c.to_bytes() + b"\x12\x34").as_cmpp() == c
    with pytest.raises(TypeError):
        EmppMsgId.from_cmpp(c.value)  # type: ignore[arg-type]


# ====================================================================== EMPP arithmetic


def test_carry_from_byte_7_into_byte_6():
    # RULES.md FAQ-2.5.1: byte 7 carries into byte 6 and up.
    assert (H("00000000000000ff0000") + 1).hex == "00000000000001000000"
    assert (H("000000000000ffff0000") + 1).hex == "00000000000100000000"
    assert (H("00ffffffffffffff0000") + 1).hex == "01000000000000000000"
    assert (H("00000000000000ff0000") + 0x101).hex == "00000000000002000000"


def test_add_keeps_bytes_8_and_9():
    assert (H("00000000000000ffbeef") + 1).raw == bytes.fromhex("0000000000000100beef")


def test_add_zero_is_equal():
    m = H("0102030405060708abcd")
    assert (m + 0).raw == m.raw


def test_add_past_2_64_fails():
    top = H("ffffffffffffffff0000")
    with pytest.raises(MsgIdError, match=r"2\*\*64-1"):
        _ = top + 1
    with pytest.raises(MsgIdError):
        _ = H("fffffffffffffff00000") + 16
    assert (H("fffffffffffffff00000") + 15) == top
    with pytest.raises(MsgIdError):
        _ = EmppMsgId.from_int(0) + 2**64
    with pytest.raises(MsgIdError):
        _ = EmppMsgId.from_int(0) + 2**1000


def test_add_negative_or_wrong_type():
    m = EmppMsgId.from_int(10)
    with pytest.raises(MsgIdError, match=">= 0"):
        _ = m + -1
    with pytest.raises(TypeError):
        _ = m + 1.0
    with pytest.raises(TypeError):
        _ = m + "1"
    with pytest.raises(TypeError):
        _ = m + True


def test_sub():
    a = H("00000000000001020000")
    b = H("00000000000000fe0000")
    assert a - b == 4
    assert b - a == -4
    assert H("ffffffffffffffff0000") - H("00000000000000000000") == U64
    with pytest.raises(TypeError):
        _ = a - 1


def test_group_of_five_starting_at_byte_7_fe():
    # FAQ-2.5.2: a SUBMIT to 5 numbers answered with M; reports carry M ... M+4.
    base = H("00000000000000fe0000")
    members = [base + i for i in range(5)]
    assert [m.hex for m in members] == [
        "00000000000000fe0000",
        "00000000000000ff0000",
        "00000000000001000000",
        "00000000000001010000",
        "00000000000001020000",
    ]
    for i, m in enumerate(members):
        assert m.group_index(base, 5) == i
        assert m.in_group(base, 5)
        # a report whose bytes 8-9 differ still matches
        assert EmppMsgId(m.raw[:8] + b"\x00\x01").group_index(base, 5) == i
    for outside in ("00000000000000fd0000", "00000000000001030000", "01000000000000fe0000"):
        assert H(outside).group_index(base, 5) is None
        assert not H(outside).in_group(base, 5)


def test_group_edge_sizes():
    base = EmppMsgId.from_int(100)
    assert base.group_index(base, 0) is None
    assert base.group_index(base, 1) == 0
    assert (base + 1).group_index(base, 1) is None
    assert EmppMsgId.from_int(U64).group_index(EmppMsgId.from_int(0), 2**64) == U64
    assert EmppMsgId.from_int(U64).group_index(EmppMsgId.from_int(0), 2**100) == U64
    with pytest.raises(MsgIdError, match=">= 0"):
        base.group_index(base, -1)
    with pytest.raises(TypeError):
        base.group_index(base, 1.5)
    with pytest.raises(TypeError):
        base.group_index(base.raw, 1)  # type: ignore[arg-type]


# ====================================================================== CMPP


def test_pack_by_hand_from_the_shifts():
    # month 1, day 1, gateway 1, sequence 1: 1<<60 | 1<<55 | 1<<16 | 1
    c = CmppMsgId.pack(month=1, day=1, hour=0, minute=0, second=0, gateway=1, sequence=1)
    assert c.value == 0x1080000000010001
    # every field at its maximum: 1100 11111 10111 111011 111011 then 38 ones
    c = CmppMsgId.pack(
        month=12, day=31, hour=23, minute=59, second=59, gateway=2**22 - 1, sequence=65535
    )
    assert c.value == 0xCFDFBEFFFFFFFFFF
    assert c.value == cmpp_bits(12, 31, 23, 59, 59, 2**22 - 1, 65535)
    # gateway "001001" -> 1001 (PROTOCOL.md §2.10), at bits 38-17
    c = CmppMsgId.pack(month=3, day=14, hour=9, minute=5, second=7, gateway=1001, sequence=42)
    assert c.value == (3 << 60) + (14 << 55) + (9 << 50) + (5 << 44) + (7 << 38) + (1001 << 16) + 42
    assert c.value == cmpp_bits(3, 14, 9, 5, 7, 1001, 42)
    # 3<<60 = 3000.., 14<<55 = 0700.., 9<<50 = 0024.., 5<<44 = 00005.., 7<<38 = 000001C0..,
    # 1001<<16 = 03E90000, 42 = 2A
    assert c.value == 0x372451C003E9002A


def test_unpack_properties_and_fields():
    c = CmppMsgId(0x372451C003E9002A)
    assert (c.month, c.day, c.hour, c.minute, c.second, c.gateway, c.sequence) == (
        3, 14, 9, 5, 7, 1001, 42,
    )
    f = c.fields()
    assert isinstance(f, CmppFields)
    assert f == (3, 14, 9, 5, 7, 1001, 42)
    assert f._asdict() == dict(
        month=3, day=14, hour=9, minute=5, second=7, gateway=1001, sequence=42
    )
    assert CmppMsgId.pack(**f._asdict()) == c


def test_unpack_reads_out_of_range_fields_as_they_are():
    c = CmppMsgId(U64)
    assert c.fields() == (15, 31, 31, 63, 63, 2**22 - 1, 65535)
    assert CmppMsgId(0).fields() == (0, 0, 0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("month", 0), ("month", 13), ("day", 0), ("day", 32), ("hour", -1), ("hour", 24),
        ("minute", 60), ("minute", -1), ("second", 60), ("gateway", 2**22),
        ("gateway", -1), ("sequence", 65536), ("sequence", -1), ("sequence", 2**100),
        ("month", -(2**100)),
    ],
)
def test_pack_range_errors_name_the_field(field, bad):
    fields = dict(month=1, day=1, hour=0, minute=0, second=0, gateway=0, sequence=0)
    fields[field] = bad
    with pytest.raises(MsgIdError, match=field):
        CmppMsgId.pack(**fields)


def test_pack_wrong_type_and_missing_field():
    with pytest.raises(TypeError):
        CmppMsgId.pack(month=1.0, day=1, hour=0, minute=0, second=0, gateway=0, sequence=0)
    with pytest.raises(TypeError):
        CmppMsgId.pack(month=1, day=1, hour=0, minute=0, second=0, gateway=0)  # type: ignore
    with pytest.raises(TypeError):
        CmppMsgId.pack(1, 1, 0, 0, 0, 0, 0)  # type: ignore[misc]  # keyword-only


def test_bytes_round_trip_and_errors():
    c = CmppMsgId(0x0102030405060708)
    assert c.to_bytes() == bytes(c) == bytes.fromhex("0102030405060708")
    assert CmppMsgId.from_bytes(c.to_bytes()) == c
    assert CmppMsgId.from_bytes(bytearray(c.to_bytes())) == c
    for size in (0, 7, 9, 10):
        with pytest.raises(MsgIdError, match=f"8 bytes, got {size}"):
            CmppMsgId.from_bytes(bytes(size))
    with pytest.raises(TypeError):
        CmppMsgId.from_bytes("0102030405060708")  # type: ignore[arg-type]
    for bad in (-1, 2**64):
        with pytest.raises(MsgIdError):
            CmppMsgId(bad)
    with pytest.raises(TypeError):
        CmppMsgId("1")  # type: ignore[arg-type]


def test_str_repr_hash_order():
    c = CmppMsgId(0x372451C003E9002A)
    assert str(c) == str(0x372451C003E9002A)
    assert repr(c) == (
        f"<CmppMsgId {0x372451C003E9002A}: month=3 day=14 hour=9 minute=5 second=7 "
        "gateway=1001 sequence=42>"
    )
    assert hash(c) == hash(CmppMsgId(c.value))
    assert CmppMsgId(1) < CmppMsgId(2) <= CmppMsgId(2) < CmppMsgId(U64)
    assert CmppMsgId(5) != EmppMsgId.from_int(5)
    assert pickle.loads(pickle.dumps(c)) == c
    with pytest.raises(AttributeError):
        c.sequence = 3  # type: ignore[misc]


def test_cmpp_add_wraps_the_sequence_only():
    c = CmppMsgId.pack(month=3, day=14, hour=9, minute=5, second=7, gateway=1001, sequence=65534)
    got = [c + i for i in range(4)]
    assert [g.sequence for g in got] == [65534, 65535, 0, 1]
    assert all(g.fields()[:6] == (3, 14, 9, 5, 7, 1001) for g in got)
    assert (c + 65536) == c
    assert (c + 2**80 + 2).sequence == 0
    with pytest.raises(MsgIdError, match=">= 0"):
        _ = c + -1
    with pytest.raises(TypeError):
        _ = c + 1.0


def test_cmpp_group_plain_and_wrapped_ranges():
    base = CmppMsgId.pack(month=3, day=14, hour=9, minute=5, second=7, gateway=1001,
                          sequence=65534)
    # the gateway's rule: the sequence wraps from its max to 0 (PROTOCOL.md §2.10)
    for i in range(5):
        assert (base + i).group_index(base, 5) == i
        assert (base + i).in_group(base, 5)
    # a gateway that counted the whole 64-bit value instead: carries into the gateway field
    for i in range(5):
        assert CmppMsgId(base.value + i).group_index(base, 5) == i
    assert (base + 5).group_index(base, 5) is None
    assert CmppMsgId(base.value + 5).group_index(base, 5) is None
    assert CmppMsgId(base.value - 1).group_index(base, 5) is None
    # same sequence, another second: not in the group
    other = CmppMsgId.pack(month=3, day=14, hour=9, minute=5, second=8, gateway=1001,
                           sequence=0)
    assert other.group_index(base, 5) is None
    assert base.group_index(base, 0) is None
    with pytest.raises(MsgIdError):
        base.group_index(base, -1)
    with pytest.raises(TypeError):
        base.group_index(base.value, 1)  # type: ignore[arg-type]
