"""Every SUBMIT check, its code, its reason and their order (RULES.md §1)."""

from __future__ import annotations

import pytest
from fake_smsc_helpers import (
    MAIN,
    MOBILE,
    MOBILE2,
    PHS,
    SUB,
    FakeSubmit,
    part_submit,
    settle,
    text_submit,
)

from smsdk import codes
from smsdk_harness.fake_smsc import UnknownAccount
from smsdk_harness.fake_smsc.items import ZERO_MSG_ID
from smsdk_harness.fake_smsc.simclock import ReactorClock

FIVE = tuple(f"1380013800{i}" for i in range(5))
SIX = FIVE + ("13800138009",)


def test_accepts_a_plain_submit(platform):
    out = platform.submit(MAIN, text_submit("验证码 123456"))
    assert out.result == 0 and out.accepted
    assert out.reason == "accepted"
    assert out.msg_ids == (out.msg_id,)
    assert [c.name for c in out.record.checks] == list(platform.config.check_order)
    assert all(c.passed for c in out.record.checks)


def test_unknown_account_raises(platform):
    with pytest.raises(UnknownAccount):
        platform.submit("10657109999999", text_submit("x"))


# ---------------------------------------------------------------- 6: length (FAQ-2.5.5)


def test_faq_2_5_5_over_70_chars_without_udh_is_result_6(platform):
    out = platform.submit(MAIN, text_submit("字" * 71))
    assert out.result == 6
    assert out.msg_id == ZERO_MSG_ID
    assert "71 chars" in out.reason and out.reason.startswith("length:")
    assert platform.submit(MAIN, text_submit("字" * 70)).result == 0


@pytest.mark.parametrize("fmt,encode", [(0, "ascii"), (8, "utf-16-be"), (15, "gbk")])
def test_faq_2_5_5_counts_chars_after_decoding_by_msg_fmt(platform, fmt, encode):
    # 70 ASCII chars are 70 bytes, 70 GBK Chinese 140 bytes, 70 UCS2 140 bytes: all fit;
    # 71 ASCII chars (71 bytes) count as 71 chars with the forced signature: refused.
    text70 = ("a" if fmt == 0 else "字") * 70
    ok = FakeSubmit(msg_content=text70.encode(encode), msg_fmt=fmt)
    assert platform.submit(MAIN, ok).result == 0
    if fmt == 0:
        assert platform.submit(MAIN, FakeSubmit(msg_content=b"a" * 71, msg_fmt=0)).result == 6


def test_astral_chars_count_two(platform):
    text = "😀" * 35  # 70 UCS2 units
    assert platform.submit(MAIN, text_submit(text)).result == 0
    assert platform.submit(MAIN, text_submit(text + "a")).result == 6


def test_empty_and_oversized_content_are_result_6(platform):
    assert platform.submit(MAIN, FakeSubmit(msg_content=b"")).result == 6
    out = platform.submit(MAIN, FakeSubmit(msg_content=bytes(141), msg_fmt=4))
    assert out.result == 6 and "141 bytes" in out.reason


def test_malformed_udh_is_result_6_with_the_reason(platform):
    out = platform.submit(MAIN, FakeSubmit(msg_content=bytes((5, 0, 3, 1, 2, 3)) + b"\0a",
                                           msg_fmt=8, tp_udhi=1))
    assert out.result == 6 and "UDH is malformed" in out.reason


def test_udh_parts_are_not_held_to_70(platform):
    out = platform.submit(MAIN, part_submit("字" * 67, 1, 2, 1))
    assert out.result == 0


def test_no_signature_enterprise_limits(clock):
    from smsdk_harness.fake_smsc import Platform, load_config

    cfg = load_config("""
[[enterprise]]
service_code = "10657109000009"
signature = ""
[[enterprise.accounts]]
password = "x"
""")
    p = Platform(cfg, ReactorClock(clock))
    try:
        assert p.submit("10657109000009", FakeSubmit(msg_content=b"a" * 140)).result == 0
        assert p.submit("10657109000009", text_submit("字" * 71)).result == 6
    finally:
        p.close()


# ---------------------------------------------------------------- 10: Src_Id (FAQ-2.5.8)


def test_faq_2_5_8_empty_src_id_is_the_account_number(platform):
    out = platform.submit(MAIN, text_submit("hi"))
    assert out.result == 0 and out.record.src_id == MAIN


@pytest.mark.parametrize("src", [MAIN, MAIN + "88", SUB])
def test_faq_2_5_8_registered_src_ids_pass(platform, src):
    assert platform.submit(MAIN, text_submit("hi", src_id=src)).result == 0


@pytest.mark.parametrize("src,why", [
    (MAIN + "77", "not a registered extension"),
    ("10657109000002", "does not start with the account's number"),
    (MAIN + "8812345", "at most 18"),
    ("1065710900000a", "not all digits"),
])
def test_faq_2_5_8_bad_src_id_is_result_10(platform, src, why):
    out = platform.submit(MAIN, text_submit("hi", src_id=src))
    assert out.result == 10
    assert why in out.reason


def test_sub_account_cannot_use_the_main_number(platform):
    out = platform.submit(SUB, text_submit("hi", src_id=MAIN))
    assert out.result == 10 and "does not start with" in out.reason
    assert platform.submit(SUB, text_submit("hi")).record.src_id == SUB


# ---------------------------------------------------------------- 13: numbers (FAQ-2.1.9)


@pytest.mark.parametrize("bad", [PHS, "12345", "", "1380013800"])
def test_faq_2_1_9_one_bad_number_refuses_the_whole_packet(platform, bad):
    out = platform.submit(MAIN, text_submit("hi", to=(MOBILE, bad)))
    assert out.result == 13
    assert "Dest_terminal_Id[1]" in out.reason
    settle(platform.clock.reactor)
    assert platform.handset(MOBILE).messages == []


def test_phs_reason_names_phs(platform):
    out = platform.submit(MAIN, text_submit("hi", to=(PHS,)))
    assert out.result == 13 and "PHS" in out.reason


def test_no_destination_is_result_13(platform):
    assert platform.submit(MAIN, text_submit("hi", to=())).result == 13


# ---------------------------------------------------------------- 15: group send (FAQ-2.2.5)


def test_faq_2_2_5_group_send_limit(platform):
    assert platform.submit(MAIN, text_submit("hi", to=FIVE)).result == 0
    out = platform.submit(MAIN, text_submit("hi", to=SIX))
    assert out.result == 15 and "6 numbers" in out.reason and "allows 5" in out.reason


def test_group_send_limit_is_per_enterprise(make_platform):
    p = make_platform(enterprise="group_send_limit = 2")
    assert p.submit(MAIN, text_submit("hi", to=FIVE[:2])).result == 0
    assert p.submit(MAIN, text_submit("hi", to=FIVE[:3])).result == 15


# ---------------------------------------------------------------- 10004: rate (FAQ-2.2.3)


def test_faq_2_2_3_token_bucket_counts_recipients(make_platform, clock):
    p = make_platform(platform="rate = 10.0")
    # burst = rate = 10 tokens: two SUBMITs of 5 numbers, then the bucket is empty
    assert p.submit(MAIN, text_submit("a", to=FIVE)).result == 0
    assert p.submit(MAIN, text_submit("b", to=FIVE)).result == 0
    out = p.submit(MAIN, text_submit("c", to=(MOBILE,)))
    assert out.result == 10004 and "too fast" in out.reason
    clock.advance(0.1)  # 1 token back
    assert p.submit(MAIN, text_submit("c", to=(MOBILE,))).result == 0
    assert p.submit(MAIN, text_submit("d", to=(MOBILE,))).result == 10004
    clock.advance(0.5)  # 5 tokens back
    assert p.submit(MAIN, text_submit("e", to=FIVE)).result == 0


def test_rate_refusal_takes_no_tokens(make_platform, clock):
    p = make_platform(platform="rate = 5.0")
    assert p.submit(MAIN, text_submit("a", to=FIVE[:4])).result == 0
    assert p.submit(MAIN, text_submit("b", to=FIVE[:2])).result == 10004
    assert p.submit(MAIN, text_submit("c", to=FIVE[:1])).result == 0


def test_rate_bucket_is_per_account(make_platform):
    p = make_platform(platform="rate = 5.0")
    assert p.submit(MAIN, text_submit("a", to=FIVE)).result == 0
    assert p.submit(MAIN, text_submit("a", to=(MOBILE,))).result == 10004
    assert p.submit(SUB, text_submit("a", to=FIVE)).result == 0


def test_each_udh_part_costs_one_per_recipient(make_platform):
    p = make_platform(platform="rate = 4.0")
    for i in (1, 2):
        assert p.submit(MAIN, part_submit("字" * 10, 9, 2, i, to=FIVE[:2])).result == 0
    assert p.submit(MAIN, part_submit("字", 9, 2, 1, to=(MOBILE,))).result == 10004


# ---------------------------------------------------------------- 10005: overload (FAQ-2.2.8)


def test_faq_2_2_8_overload_windows(platform, clock):
    platform.set_overload(windows=[(100, 160)])
    assert platform.submit(MAIN, text_submit("a")).result == 0
    clock.advance(100)
    out = platform.submit(MAIN, text_submit("a"))
    assert out.result == 10005 and "100..160" in out.reason
    clock.advance(59.9)
    assert platform.submit(MAIN, text_submit("a")).result == 10005
    clock.advance(0.1)
    assert platform.submit(MAIN, text_submit("a")).result == 0


def test_overload_probability(platform, clock):
    platform.set_overload(probability=1.0)
    assert platform.submit(MAIN, text_submit("a")).result == 10005
    platform.set_overload(probability=0.5)
    results = []
    for _ in range(200):
        clock.advance(1)
        results.append(platform.submit(MAIN, text_submit("a")).result)
    assert 40 < results.count(10005) < 160
    assert set(results) == {0, 10005}
    platform.set_overload(0, [])
    assert platform.submit(MAIN, text_submit("a")).result == 0


def test_overload_from_config(clock):
    from fake_smsc_helpers import config_text

    from smsdk_harness.fake_smsc import Platform, load_config

    text = config_text().replace("[network]", "[platform.overload]\nwindows = [[0, 10]]\n\n[network]")
    p = Platform(load_config(text), ReactorClock(clock))
    try:
        assert p.submit(MAIN, text_submit("a")).result == 10005
        clock.advance(10)
        assert p.submit(MAIN, text_submit("a")).result == 0
    finally:
        p.close()


# ---------------------------------------------------------------- 7: Service_Id (FAQ-2.5.7)


def test_faq_2_5_7_service_id_ignored_unless_strict(make_platform):
    lax = make_platform()
    assert lax.submit(MAIN, text_submit("a", service_id="000000000")).result == 0
    strict = make_platform(platform="strict_service_id = true")
    out = strict.submit(MAIN, text_submit("a", service_id="000000000"))
    assert out.result == 7 and "QSH0010500" in out.reason
    assert strict.submit(MAIN, text_submit("a", service_id="QSH0010501")).result == 0


# ---------------------------------------------------------------- 10003: quota


def test_quota_exhausted_is_the_jars_quota_code_10003(make_platform):
    # PROTOCOL.md §1.8 has one quota constant: EMPP_TESTEPR_MAXCOUNT (10003)
    assert codes.EMPP_SUBMIT_RESULT[10003][0].name == "EMPP_TESTEPR_MAXCOUNT"
    p = make_platform(accounts="quota = 3")  # the sub-account
    assert p.submit(SUB, text_submit("a", to=(MOBILE, MOBILE2))).result == 0
    out = p.submit(SUB, text_submit("a", to=(MOBILE, MOBILE2)))
    assert out.result == 10003 and "1 of 3 left" in out.reason
    # a 61-70 char text costs 2 SMS per recipient
    assert p.submit(SUB, text_submit("字" * 65)).result == 10003
    assert p.submit(SUB, text_submit("字" * 60)).result == 0
    assert p.submit(SUB, text_submit("a")).result == 10003
    assert p.submit(MAIN, text_submit("a")).result == 0  # the main account has no quota


def test_enterprise_quota(make_platform):
    p = make_platform(enterprise="quota = 2")
    assert p.submit(MAIN, text_submit("a")).result == 0
    assert p.submit(SUB, text_submit("a")).result == 0
    out = p.submit(MAIN, text_submit("a"))
    assert out.result == 10003 and "enterprise E1" in out.reason
    p.set_quota(enterprise_id="E1", quota=None)
    assert p.submit(MAIN, text_submit("a")).result == 0


# ---------------------------------------------------------------- 14: duplicates (optional)


def test_duplicate_check_is_off_by_default(platform):
    assert platform.submit(MAIN, text_submit("same")).result == 0
    assert platform.submit(MAIN, text_submit("same")).result == 0


def test_duplicate_check_within_window(make_platform, clock):
    p = make_platform(platform="duplicate_check = true\nduplicate_window = 60")
    assert p.submit(MAIN, text_submit("same")).result == 0
    out = p.submit(SUB, text_submit("same", to=(MOBILE2, MOBILE)))
    assert out.result == 14 and MOBILE in out.reason
    assert p.submit(MAIN, text_submit("other")).result == 0
    clock.advance(60)
    assert p.submit(MAIN, text_submit("same")).result == 0


# ---------------------------------------------------------------- the order


def test_checks_run_in_the_spec_order(make_platform):
    p = make_platform(platform="strict_service_id = true")
    p.set_overload(probability=1.0)
    bad = dict(src_id=MAIN + "77", service_id="x")
    # every check would fail; each fix reveals the next in order
    steps = [
        (text_submit("字" * 71, to=SIX[:5] + (PHS,), **bad), 6),
        (text_submit("字", to=SIX[:5] + (PHS,), **bad), 10),
        (text_submit("字", to=SIX[:5] + (PHS,), service_id="x"), 13),
        (text_submit("字", to=SIX, service_id="x"), 15),
        (text_submit("字", to=FIVE, service_id="x"), 10005),
    ]
    for pdu, code in steps:
        out = p.submit(MAIN, pdu)
        assert out.result == code, (code, out.reason)
        failed = out.record.failed_check
        assert failed is not None and failed.code == code
        assert out.record.checks[-1] is failed
    p.set_overload(0, [])
    assert p.submit(MAIN, text_submit("字", to=FIVE, service_id="x")).result == 7


def test_rate_comes_before_overload_and_service_id(make_platform):
    p = make_platform(platform="rate = 1.0\nstrict_service_id = true")
    p.set_overload(probability=1.0)
    assert p.submit(MAIN, text_submit("a", to=FIVE[:2], service_id="x")).result == 10004


def test_check_order_is_a_setting(make_platform):
    order = '["group", "length", "src_id", "dest", "rate", "overload", "service_id", "quota", "duplicate"]'
    p = make_platform(platform=f"check_order = {order}")
    assert p.submit(MAIN, text_submit("字" * 71, to=SIX)).result == 15
    # an order written before the role check: it runs right after "dest"
    assert [c.name for c in p.submit(MAIN, text_submit("a")).record.checks][2:5] == [
        "src_id", "dest", "role"]


def test_refused_submissions_are_recorded_with_reasons(platform):
    platform.submit(MAIN, text_submit("hi", to=(PHS,)))
    platform.submit(MAIN, text_submit("hi"))
    recs = platform.submissions(MAIN)
    assert [r.result for r in recs] == [13, 0]
    assert recs[0].reason.startswith("dest:") and not recs[0].accepted
    assert platform.counters["refused_13"] == 1 and platform.counters["accepted"] == 1


def test_codec_submit_is_accepted(platform):
    codec = pytest.importorskip("smsdk.codec")
    pdu = codec.Submit(dest_terminal_id=(MOBILE,), msg_content="你好".encode("gbk"), msg_fmt=15,
                       src_id=MAIN, service_id="000000000")
    assert platform.submit(MAIN, pdu, sequence_id=77).result == 0
