"""Table tests of the text planner (RULES.md splitting table, PROTOCOL.md §1.14/§1.15/§2.12).

They run against ``smsdk.text``: the compiled module, or the twin under
``SMSDK_NO_EXTENSIONS=1``.
"""

from __future__ import annotations

import pickle

import pytest

from smsdk import text as T
from smsdk.errors import PlanError

SIG10 = "【一二三四五六七八】"  # 10 chars, the default signature_max
SIG6 = "【示例科技】"
HAN = "汉"  # GBK
RARE = "\U00020000"  # CJK Ext B: outside the BMP, not in GBK
EMOJI = "\U0001F600"


def sizes(plan):
    return [T.count(p.text) for p in plan.parts]


def udh(plan):
    return [p.content[: p.content[0] + 1].hex() for p in plan.parts]


# --- PROTOCOL.md §1.15: the official client's split with a 10-char reservation ---------


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (130, [67, 57, 6]),
        (100, [67, 33]),
        (134, [67, 57, 10]),
        (61, [57, 4]),
        (67, [57, 10]),
        (124, [67, 57]),
        (125, [67, 57, 1]),
        (191, [67, 67, 57]),
        (192, [67, 67, 57, 1]),
    ],
)
@pytest.mark.parametrize("char", ["a", HAN, "ü"])
def test_faq_2_5_3_official_split_with_signature(n, expected, char):
    plan = T.plan(char * n, signature=SIG10)
    assert plan.mode == "concat"
    assert sizes(plan) == expected
    assert plan.sms_per_recipient == len(expected)
    for i, part in enumerate(plan.parts, 1):
        assert part.msg_fmt == T.MSG_FMT_UCS2 == 8
        assert part.tp_udhi == 1
        assert (part.pk_total, part.pk_number) == (len(expected), i)
        assert part.content[:6] == bytes([5, 0, 3, 0, len(expected), i])
        assert part.content[6:] == part.text.encode("utf-16-be")
    assert "".join(p.text for p in plan.parts) == char * n
    assert plan.received == (char * n + SIG10,)


def test_signature_of_six_reserves_six():
    plan = T.plan(HAN * 300, signature=SIG6)
    assert sizes(plan) == [67, 67, 67, 67, 32]
    assert plan.signature_chars == 6
    plan = T.plan(HAN * 128, signature=SIG6)  # 128 = 67 + 61: 61 fits 67 - 6
    assert sizes(plan) == [67, 61]
    plan = T.plan(HAN * 130, signature=SIG6)  # 130 + 6 > 134: the second part is cut to 61
    assert sizes(plan) == [67, 61, 2]


# --- FAQ-2.1.5 / 2.5.4 / 2.5.5: 60/61/70/71 chars with and without a signature ---------


@pytest.mark.parametrize(
    ("n", "signature", "mode", "expected_sizes"),
    [
        (60, SIG10, "single", [60]),
        (61, SIG10, "concat", [57, 4]),
        (70, SIG10, "concat", [67, 3]),
        (71, SIG10, "concat", [67, 4]),
        (60, "", "single", [60]),
        (61, "", "single", [61]),
        (70, "", "single", [70]),
        (71, "", "concat", [67, 4]),
        (134, "", "concat", [67, 67]),
        (135, "", "concat", [67, 67, 1]),
    ],
)
def test_faq_2_1_5_and_2_5_4_boundaries(n, signature, mode, expected_sizes):
    plan = T.plan(HAN * n, signature=signature)
    assert plan.mode == mode
    assert sizes(plan) == expected_sizes
    assert plan.chars == n
    assert plan.sms_per_recipient == len(expected_sizes)
    if mode == "single":
        (part,) = plan.parts
        assert (part.msg_fmt, part.tp_udhi, part.pk_total, part.pk_number) == (15, 0, 1, 1)
        assert part.content == (HAN * n).encode("gbk")


@pytest.mark.parametrize(("n", "mode"), [(60, "single"), (61, "concat"), (140, "concat")])
def test_ascii_with_signature_counts_like_chinese(n, mode):
    plan = T.plan("a" * n, signature=SIG10)
    assert plan.mode == mode
    if mode == "single":
        assert plan.parts[0].msg_fmt == T.MSG_FMT_ASCII == 0
        assert plan.parts[0].content == b"a" * n


@pytest.mark.parametrize(("n", "mode", "parts"), [(140, "single", 1), (141, "concat", 3)])
def test_pure_ascii_without_signature_holds_140(n, mode, parts):
    plan = T.plan("a" * n)
    assert plan.mode == mode
    assert len(plan.parts) == parts
    if mode == "single":
        assert plan.parts[0].msg_fmt == 0
        assert plan.parts[0].content == b"a" * 140
    else:
        # ASCII-only long text still goes UCS2 with UDH (the signature is Chinese)
        assert {p.msg_fmt for p in plan.parts} == {8}
        assert sizes(plan) == [67, 67, 7]


def test_mixed_text_counts_as_chinese_without_signature():
    plan = T.plan("a" * 70 + HAN)
    assert plan.mode == "concat"
    assert plan.encoding == "gbk"
    assert T.plan("a" * 69 + HAN).mode == "single"


# --- FAQ-2.2.6 / 2.5.6: encodings -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "fmt"),
    [
        ("hello", "ascii", 0),
        ("你好,世界", "gbk", 15),
        ("Grüße", "ucs2", 8),  # ß is not in GBK
        ("café", "gbk", 15),  # é is in GBK
        ("笑" + EMOJI, "ucs2", 8),
        ("𠀀字", "ucs2", 8),
        ("한국어", "ucs2", 8),
        ("€", "ucs2", 8),
    ],
)
def test_faq_2_2_6_classify_and_single_format(text, encoding, fmt):
    assert T.classify(text) == encoding
    plan = T.plan(text, signature=SIG6)
    assert plan.encoding == encoding
    (part,) = plan.parts
    assert part.msg_fmt == fmt
    codec = {0: "ascii", 15: "gbk", 8: "utf-16-be"}[fmt]
    assert part.content.decode(codec) == text


def test_emoji_and_rare_cjk_never_replaced():
    text = "生日快乐" + EMOJI + RARE + "!"
    plan = T.plan(text)
    assert plan.parts[0].content.decode("utf-16-be") == text
    assert plan.chars == 4 + 2 + 2 + 1
    assert T.count(text) == 9


def test_count_in_ucs2_units():
    assert T.count("") == 0
    assert T.count("abc") == 3
    assert T.count(HAN * 5) == 5
    assert T.count(EMOJI * 3) == 6
    assert T.count(RARE + "a") == 3
    assert T.count("\ud800") == 1  # a lone surrogate is one unit (but cannot be planned)


def test_surrogate_pair_never_cut():
    # 66 units of Chinese, then an emoji straddling the 67-unit boundary
    text = HAN * 66 + EMOJI + HAN * 10
    plan = T.plan(text)
    assert sizes(plan) == [66, 12]
    assert plan.parts[0].text == HAN * 66
    assert plan.parts[1].text == EMOJI + HAN * 10
    # the last-part reservation also moves before a pair
    text = HAN * 67 + HAN * 56 + EMOJI + "a"
    plan = T.plan(text, signature=SIG10)
    assert sizes(plan) == [67, 56, 3]


def test_all_emoji():
    plan = T.plan(EMOJI * 40, signature=SIG10)  # 80 units
    assert sizes(plan) == [66, 14]
    assert [len(p.text) for p in plan.parts] == [33, 7]


# --- 16-bit UDH (PROTOCOL.md §2.12) ----------------------------------------------------


def test_udh16_parts_hold_66():
    plan = T.plan(HAN * 140, udh16=True, udh_reference=0x1234)
    assert sizes(plan) == [66, 66, 8]
    for i, part in enumerate(plan.parts, 1):
        assert part.content[:7] == bytes([6, 8, 4, 0x12, 0x34, 3, i])
        assert len(part.content) <= 139
    plan = T.plan(HAN * 130, signature=SIG10, udh16=True)
    assert sizes(plan) == [66, 56, 8]


def test_udh_reference_written():
    plan = T.plan(HAN * 80, udh_reference=200)
    assert udh(plan) == ["050003c80201", "050003c80202"]


@pytest.mark.parametrize(("ref", "udh16"), [(-1, False), (256, False), (65536, True), (-5, True)])
def test_udh_reference_out_of_range(ref, udh16):
    with pytest.raises(PlanError, match="udh_reference"):
        T.plan("x", udh_reference=ref, udh16=udh16)


def test_udh_reference_type():
    with pytest.raises(TypeError, match="udh_reference"):
        T.plan("x", udh_reference=1.0)


# --- pieces mode -------------------------------------------------------------------------


def test_pieces_with_signature_cut_at_60():
    text = HAN * 100 + "abc" * 10 + "한" * 5
    plan = T.plan(text, signature=SIG10, mode="pieces")
    assert plan.mode == "pieces"
    assert sizes(plan) == [60, 60, 15]
    assert [p.msg_fmt for p in plan.parts] == [15, 15, 8]
    assert all(p.tp_udhi == 0 and (p.pk_total, p.pk_number) == (1, 1) for p in plan.parts)
    assert plan.sms_per_recipient == 3
    assert plan.received == tuple(p.text + SIG10 for p in plan.parts)


def test_pieces_without_signature_cut_at_70_and_ascii_piece():
    text = HAN * 70 + "a" * 70
    plan = T.plan(text, mode="pieces")
    assert sizes(plan) == [70, 70]
    assert [p.msg_fmt for p in plan.parts] == [15, 0]
    assert plan.parts[1].content == b"a" * 70


def test_pieces_short_text_is_single():
    plan = T.plan("hi", mode="pieces", signature=SIG6)
    assert plan.mode == "single"
    assert plan.received == ("hi" + SIG6,)


def test_pieces_never_cut_a_pair():
    plan = T.plan("a" * 59 + EMOJI + "b", signature=SIG10, mode="pieces")
    assert [p.text for p in plan.parts] == ["a" * 59, EMOJI + "b"]


# --- errors ------------------------------------------------------------------------------


def test_empty_text():
    with pytest.raises(PlanError, match="empty"):
        T.plan("")


@pytest.mark.parametrize("sig", ["示例", "[示例]", "【示例", "示例】", "【】", "【"])
def test_signature_must_be_bracketed(sig):
    with pytest.raises(PlanError, match="【…】"):
        T.plan("hello", signature=sig)


def test_signature_too_long():
    with pytest.raises(PlanError, match="11 chars; at most 10"):
        T.plan("hello", signature="【一二三四五六七八九】")
    with pytest.raises(PlanError, match="at most 10"):
        T.plan("hello", signature="【一二三四五" + EMOJI * 2 + "】")  # 1 + 5 + 2*2 + 1 = 11 units
    T.plan("hello", signature="【一二三" + EMOJI * 2 + "】")  # 1 + 3 + 4 + 1 = 9 units


def test_unknown_mode():
    with pytest.raises(PlanError, match="unknown mode 'split'"):
        T.plan("x" * 100, mode="split")
    with pytest.raises(PlanError, match="unknown mode"):
        T.plan("x", mode=None)


def test_too_many_parts_says_how_many():
    T.plan(HAN * (254 * 67 + 57), signature=SIG10)  # exactly 255 parts
    with pytest.raises(PlanError, match=r"needs 256 concatenated parts.*at most 255"):
        T.plan(HAN * (254 * 67 + 58), signature=SIG10)
    with pytest.raises(PlanError, match=r"needs 14926 concatenated parts"):
        T.plan(HAN * 1_000_000)
    with pytest.raises(PlanError, match=r"needs 256 pieces of at most 60 chars"):
        T.plan(HAN * (255 * 60 + 1), signature=SIG10, mode="pieces")
    with pytest.raises(PlanError, match=r"needs 3 concatenated parts.*at most 2"):
        T.plan(EMOJI * 67, limits=T.Limits(max_parts=2))


def test_lone_surrogate_is_refused():
    with pytest.raises(PlanError, match=r"lone surrogate U\+D800 at index 3"):
        T.plan("abc\ud800def")
    with pytest.raises(PlanError, match="lone surrogate"):
        T.plan(HAN * 100 + "\udc00", signature=SIG6)
    with pytest.raises(PlanError, match="lone surrogate"):
        T.classify("\ud83d\ude00")  # two surrogate code points are not a pair in a str
    with pytest.raises(PlanError, match="signature has a lone surrogate"):
        T.plan("x", signature="【\ud800】")


@pytest.mark.parametrize("bad", [None, b"abc", 5])
def test_type_errors(bad):
    with pytest.raises(TypeError, match="text must be a str"):
        T.plan(bad)
    with pytest.raises(TypeError):
        T.count(bad)
    with pytest.raises(TypeError):
        T.classify(bad)
    with pytest.raises(TypeError, match="signature must be a str"):
        T.plan("x", signature=bad)
    with pytest.raises(TypeError, match="limits must be a Limits"):
        T.plan("x", limits=bad)


# --- Limits ------------------------------------------------------------------------------


def test_limits_defaults():
    lim = T.DEFAULT_LIMITS
    assert (lim.cut, lim.single_max, lim.single_max_ascii, lim.part_chars, lim.part_chars_16,
            lim.max_parts, lim.signature_max) == (60, 70, 140, 67, 66, 255, 10)
    assert lim == T.Limits()
    assert hash(lim) == hash(T.Limits())
    assert "part_chars=67" in repr(lim)
    with pytest.raises(AttributeError):
        lim.cut = 50
    assert pickle.loads(pickle.dumps(lim)) == lim
    assert lim.replace(cut=55).cut == 55


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"signature_max": 66}, "signature_max"),
        ({"signature_max": 65}, "signature_max"),
        ({"signature_max": -1}, "signature_max"),
        ({"part_chars": 68}, "part_chars"),
        ({"part_chars_16": 67}, "part_chars_16"),
        ({"single_max": 71}, "single_max"),
        ({"single_max_ascii": 141}, "single_max_ascii"),
        ({"cut": 1}, "cut"),
        ({"cut": 61}, "cut"),  # 61 + 10 > 70
        ({"max_parts": 0}, "max_parts"),
        ({"max_parts": 256}, "max_parts"),
    ],
)
def test_limits_nonsense_is_refused(changes, match):
    with pytest.raises(PlanError, match=match):
        T.Limits(**changes)


def test_limits_types():
    with pytest.raises(TypeError, match="Limits.cut must be an int"):
        T.Limits(cut=60.0)
    with pytest.raises(TypeError, match="must be an int"):
        T.Limits(max_parts=True)
    with pytest.raises(TypeError):
        T.Limits(60)  # keyword-only
    with pytest.raises(TypeError, match="no field"):
        T.DEFAULT_LIMITS.replace(colour=1)


def test_custom_limits():
    lim = T.Limits(cut=50, signature_max=20, part_chars=60, part_chars_16=60)
    plan = T.plan(HAN * 100, signature="【" + HAN * 15 + "】", limits=lim)
    assert sizes(plan) == [60, 40]  # 100 + 17 <= 120
    plan = T.plan(HAN * 50, signature="【" + HAN * 15 + "】", limits=lim)
    assert plan.mode == "single"


# --- Plan and Part objects ---------------------------------------------------------------


def test_plan_and_part_are_immutable_and_comparable():
    plan = T.plan(HAN * 100, signature=SIG6)
    with pytest.raises(AttributeError):
        plan.mode = "single"
    with pytest.raises(AttributeError):
        plan.parts[0].content = b""
    again = T.plan(HAN * 100, signature=SIG6)
    assert plan == again and hash(plan) == hash(again)
    assert plan != T.plan(HAN * 100, signature=SIG10)
    assert isinstance(plan.parts, tuple)
    assert pickle.loads(pickle.dumps(plan)) == plan
    assert "mode='concat'" in repr(plan) and "Part(msg_fmt=8" in repr(plan.parts[0])
    assert plan.text == HAN * 100 and plan.signature == SIG6


def test_received_for_each_mode():
    assert T.plan("hi", signature=SIG6).received == ("hi" + SIG6,)
    assert T.plan("hi").received == ("hi",)
    long = HAN * 150
    assert T.plan(long, signature=SIG6).received == (long + SIG6,)
    pieces = T.plan(long, signature=SIG6, mode="pieces")
    assert pieces.received == (HAN * 60 + SIG6, HAN * 60 + SIG6, HAN * 30 + SIG6)
