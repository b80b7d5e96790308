"""Msg_Id allocation: CMPP bit layout in bytes 0-7, zero bytes 8-9, groups with carry
(FAQ-2.5.1, 2.5.2; PROTOCOL.md §1.13, §2.10)."""

from __future__ import annotations

import datetime as dt

from fake_smsc_helpers import MAIN, MOBILE, settle, text_submit
from hypothesis import given
from hypothesis import strategies as st

from smsdk.msgid import EmppMsgId
from smsdk_harness.fake_smsc.allocator import MsgIdAllocator
from smsdk.china_time import CHINA

FIVE = tuple(f"1380013800{i}" for i in range(5))


def test_layout_uses_china_time_and_gateway(platform, clock):
    clock.advance(3 * 3600 + 25 * 60 + 7)  # 2024-05-01 11:25:07 China time
    out = platform.submit(MAIN, text_submit("hi"))
    raw = out.msg_id.raw
    assert len(raw) == 10 and raw[8:] == b"\0\0"
    f = out.msg_id.as_cmpp().fields()
    assert (f.month, f.day, f.hour, f.minute, f.second) == (5, 1, 11, 25, 7)
    assert f.gateway == platform.config.gateway_code


def test_faq_2_5_2_group_ids_are_consecutive_in_dest_order(platform, clock):
    out = platform.submit(MAIN, text_submit("hi", to=FIVE))
    assert out.msg_ids == tuple(out.msg_id + i for i in range(5))
    settle(clock)
    by_number = {r.item.dest_terminal_id: r.item.msg_id for r in platform.reports()}
    assert [by_number[n] for n in FIVE] == list(out.msg_ids)


def test_faq_2_5_1_carry_from_byte_7_into_byte_6(make_platform, clock):
    p = make_platform(platform="msgid_sequence = 0x00FE")
    out = p.submit(MAIN, text_submit("hi", to=FIVE))
    raws = [m.raw for m in out.msg_ids]
    assert [r[6:8].hex() for r in raws] == ["00fe", "00ff", "0100", "0101", "0102"]
    assert all(r[8:] == b"\0\0" for r in raws)
    # the next SUBMIT continues right after the group
    nxt = p.submit(MAIN, text_submit("hi"))
    assert nxt.msg_id == out.msg_id + 5


def test_carry_past_the_16_bit_sequence_keeps_ids_unique(make_platform):
    p = make_platform(platform="msgid_sequence = 0xFFFE")
    a = p.submit(MAIN, text_submit("hi", to=FIVE))
    assert a.msg_ids[1].raw[:8].hex().endswith("ffff")
    assert a.msg_ids[2] == a.msg_ids[1] + 1  # carried into the gateway bits
    b = p.submit(MAIN, text_submit("hi", to=FIVE))
    assert b.msg_id == a.msg_id + 5
    assert len(set(a.msg_ids + b.msg_ids)) == 10


def test_new_second_starts_from_the_clock_again(platform, clock):
    a = platform.submit(MAIN, text_submit("hi", to=FIVE))
    clock.advance(1)
    b = platform.submit(MAIN, text_submit("hi"))
    assert b.msg_id.as_cmpp().second == a.msg_id.as_cmpp().second + 1
    assert b.msg_id.as_cmpp().sequence == a.msg_ids[-1].as_cmpp().sequence + 1


def test_refused_submit_uses_no_ids(platform):
    platform.submit(MAIN, text_submit("hi", to=("123",)))
    a = platform.submit(MAIN, text_submit("hi"))
    b = platform.submit(MAIN, text_submit("hi"))
    assert b.msg_id == a.msg_id + 1


@given(st.integers(0, 0xFFFF), st.lists(st.integers(1, 99), min_size=1, max_size=30))
def test_allocator_never_repeats_within_a_second(seq, sizes):
    alloc = MsgIdAllocator(2100, seq)
    now = dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=CHINA)
    seen: set[EmppMsgId] = set()
    for n in sizes:
        base = alloc.allocate(now, n)
        group = {base + i for i in range(n)}
        assert not group & seen
        seen |= group
        assert base.raw[8:] == b"\0\0"


def test_report_msg_id_matches_submit_resp_for_every_recipient(platform, clock):
    out = platform.submit(MAIN, text_submit("hi", to=(MOBILE,) + FIVE[:3]))
    settle(clock)
    for rr in platform.reports():
        assert rr.item.msg_id.group_index(out.msg_id, 4) is not None
        assert platform.submission(rr.item.msg_id) is out.record
