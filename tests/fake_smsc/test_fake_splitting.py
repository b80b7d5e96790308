"""What a handset shows and what it costs: the splitting table (RULES.md §1, FAQ-2.5.3,
FAQ-2.5.4), signature appended, billing one per SMS received."""

from __future__ import annotations

from fake_smsc_helpers import MAIN, MOBILE, MOBILE2, SIG, SUB, part_submit, settle, text_submit
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis_profiles import examples

from smsdk.text import count, plan
from smsdk_harness.fake_smsc.splitting import cut_units, read_content, render

S = len(SIG)  # 6


def test_up_to_60_chars_is_one_sms_with_signature(platform, clock):
    text = "字" * 60
    platform.submit(MAIN, text_submit(text, to=(MOBILE, MOBILE2)))
    settle(clock)
    for number in (MOBILE, MOBILE2):
        h = platform.handset(number)
        assert h.texts == [text + SIG]
        m = h.messages[0]
        assert (m.body, m.signature, m.billing, m.cut_tail, m.kind) == (text, SIG, 1, "", "single")
        assert h.billing == 1
    assert platform.billing(MAIN) == 2


def test_faq_2_5_4_61_to_70_chars_become_two_sms(platform, clock):
    text = "".join(chr(0x4E00 + i) for i in range(65))
    platform.submit(MAIN, text_submit(text))
    settle(clock)
    h = platform.handset(MOBILE)
    assert h.texts == [text[:60] + SIG, text[60:] + SIG]
    assert [m.kind for m in h.messages] == ["split", "split"]
    assert [m.billing for m in h.messages] == [1, 1]
    assert h.billing == 2 and platform.billing(MAIN) == 2
    # one report for the one SUBMIT
    assert len(platform.reports()) == 1


def test_70_chars_split_60_10(platform, clock):
    text = "a" * 60 + "b" * 10
    platform.submit(MAIN, text_submit(text))
    settle(clock)
    assert platform.handset(MOBILE).texts == ["a" * 60 + SIG, "b" * 10 + SIG]


def test_split_never_cuts_a_surrogate_pair(platform, clock):
    text = "字" * 59 + "😀" + "abc"  # the emoji sits on units 60-61
    platform.submit(MAIN, text_submit(text))
    settle(clock)
    assert platform.handset(MOBILE).texts == ["字" * 59 + SIG, "😀abc" + SIG]


def _send_parts(platform, parts, ref=7, to=(MOBILE,), udh16=False, account=MAIN):
    total = len(parts)
    outs = [platform.submit(account, part_submit(t, ref, total, i, to=to, udh16=udh16))
            for i, t in enumerate(parts, 1)]
    assert all(o.result == 0 for o in outs), [o.reason for o in outs]
    return outs


def test_udh_parts_show_as_one_message_signature_on_the_last(platform, clock):
    parts = ["甲" * 67, "乙" * 67, "丙" * (67 - S)]
    outs = _send_parts(platform, parts)
    settle(clock)
    h = platform.handset(MOBILE)
    assert len(h.messages) == 1
    m = h.messages[0]
    assert m.kind == "concat" and m.parts == 3 and m.billing == 3
    assert m.text == "".join(parts) + SIG and m.cut_tail == ""
    assert m.msg_ids == tuple(o.msg_id for o in outs)
    assert h.billing == 3 and platform.billing(MAIN) == 3
    assert len(platform.reports()) == 3  # one per SUBMIT (part)


def test_faq_2_5_3_last_part_is_cut_to_make_room(platform, clock):
    last = "".join(chr(0x4E00 + i) for i in range(67))
    _send_parts(platform, ["甲" * 67, last])
    settle(clock)
    m = platform.handset(MOBILE).messages[0]
    assert m.body == "甲" * 67 + last[: 67 - S]
    assert m.cut_tail == last[67 - S:]
    assert m.text.endswith(SIG) and count(m.text) == 67 * 2
    assert m.billing == 2


def test_16_bit_reference_parts_hold_66(platform, clock):
    last = "丙" * 66
    _send_parts(platform, ["甲" * 66, last], ref=0x1234, udh16=True)
    settle(clock)
    m = platform.handset(MOBILE).messages[0]
    assert m.cut_tail == "丙" * S and m.body == "甲" * 66 + "丙" * (66 - S)


def test_parts_in_any_order_and_per_reference(platform, clock):
    platform.submit(MAIN, part_submit("B", 1, 2, 2))
    platform.submit(MAIN, part_submit("X", 2, 2, 1))
    platform.submit(MAIN, part_submit("A", 1, 2, 1))
    settle(clock)
    h = platform.handset(MOBILE)
    assert h.texts == ["AB" + SIG]
    assert len(h.pending) == 1  # reference 2 still waits for its part 2
    assert h.billing == 3


def test_parts_are_collected_per_account(platform, clock):
    platform.submit(MAIN, part_submit("A", 5, 2, 1))
    platform.submit(SUB, part_submit("B", 5, 2, 2))
    settle(clock)
    assert platform.handset(MOBILE).messages == []
    platform.submit(MAIN, part_submit("C", 5, 2, 2))
    settle(clock)
    assert platform.handset(MOBILE).texts == ["AC" + SIG]


def test_the_sdk_plan_is_never_cut(platform, clock):
    text = "这是一条很长的通知," * 20
    p = plan(text, signature=SIG)
    for part in p.parts:
        pdu = part_submit("", 0, 1, 1)
        pdu.msg_content = part.content
        assert platform.submit(MAIN, pdu).result == 0
    settle(clock)
    m = platform.handset(MOBILE).messages[0]
    assert m.cut_tail == "" and m.text == text + SIG
    assert m.billing == p.sms_per_recipient


# ---------------------------------------------------------------- properties


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=70)


@examples(60)
@given(texts)
def test_render_without_udh_keeps_every_char(text):
    assume(len(text.encode("utf-16-be")) <= 140)  # longer content is refused (other tests)
    c = read_content(8, 0, text.encode("utf-16-be"))
    if c.chars > 70:
        return
    r = render(c, SIG)
    assert "".join(r.bodies) == text
    assert r.billing == (1 if c.chars <= 60 else 2)
    assert all(count(s) <= 70 for s in r.shown)


@examples(60)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=67),
       st.integers(0, 10))
def test_last_part_cut_fits_and_loses_only_the_tail(text, s):
    sig = "【" + "字" * max(0, s - 2) + "】" if s >= 3 else ""
    udh = bytes((5, 0, 3, 1, 1, 1))
    data = text.encode("utf-16-be")
    if len(data) > 134:
        return
    c = read_content(8, 1, udh + data)
    r = render(c, sig)
    assert r.bodies[0] + r.cut_tail == text
    assert count(r.bodies[0]) + count(sig) <= 67
    if count(text) + count(sig) <= 67:
        assert r.cut_tail == ""


@given(st.text(min_size=0, max_size=40), st.integers(0, 80))
def test_cut_units_is_a_prefix_within_budget(text, units):
    head, tail = cut_units(text, units)
    assert head + tail == text
    assert count(head) <= max(0, units)
