"""MO: longest-match routing with the sub → main → offline fallback (FAQ-3.5.2), China
Unicom handsets refused (FAQ-3.1.6), concatenated MO, inbox switches."""

from __future__ import annotations

import pytest
from fake_smsc_helpers import MAIN, MOBILE, SUB, TELECOM, UNICOM, RecordingSink

from smsdk.text import Reassembler
from smsdk_harness.fake_smsc import MoRefused


def test_faq_3_1_6_unicom_handsets_cannot_send_mo(platform):
    with pytest.raises(MoRefused, match="China Unicom"):
        platform.inject_mo(UNICOM, MAIN, "hi")
    assert platform.mos() == []
    platform.inject_mo(TELECOM, MAIN, "hi")  # decided: only Unicom is refused


def test_invalid_sender_or_destination(platform):
    with pytest.raises(MoRefused, match="not a mainland mobile"):
        platform.inject_mo("12345", MAIN, "hi")
    with pytest.raises(MoRefused, match="no account's number"):
        platform.inject_mo(MOBILE, "10657109000002", "hi")


def test_faq_3_5_2_longest_match(platform):
    main, sub = RecordingSink("main"), RecordingSink("sub")
    platform.bind(MAIN, main)
    platform.bind(SUB, sub)
    platform.inject_mo(MOBILE, SUB + "7", "to the sub's extension")
    platform.inject_mo(MOBILE, MAIN + "88", "to a hand-registered extension")
    platform.inject_mo(MOBILE, MAIN, "to the service code")
    assert [m.text for m in sub.mos] == ["to the sub's extension"]
    assert [m.text for m in main.mos] == ["to a hand-registered extension", "to the service code"]
    m = sub.mos[0]
    assert m.dest_id == SUB + "7" and m.src_terminal_id == MOBILE and m.account_id == SUB


def test_faq_3_5_2_offline_sub_falls_back_to_main_then_offline(platform):
    main = RecordingSink("main")
    platform.bind(MAIN, main)
    out = platform.inject_mo(MOBILE, SUB, "hi")
    assert out.account_id == SUB and [m.text for m in main.mos] == ["hi"]
    assert out.records[0].delivered_to == MAIN
    platform.unbind(MAIN, main)
    platform.inject_mo(MOBILE, SUB, "kept")
    assert [i.text for i in platform.offline(SUB)] == ["kept"]
    assert platform.offline(MAIN) == []
    sub = RecordingSink("sub")
    assert platform.bind(SUB, sub).flushed == 1 and sub.mos[0].text == "kept"


def test_main_offline_mo_is_kept_for_main(platform):
    platform.inject_mo(MOBILE, MAIN, "hi")
    assert [i.text for i in platform.offline(MAIN)] == ["hi"]


def test_mo_encodings(platform):
    sink = RecordingSink()
    platform.bind(MAIN, sink)
    platform.inject_mo(MOBILE, MAIN, "ok")
    platform.inject_mo(MOBILE, MAIN, "好的")
    platform.inject_mo(MOBILE, MAIN, "👍")
    platform.inject_mo(MOBILE, MAIN, "收到".encode("utf-16-be"), msg_fmt=8)
    assert [(m.msg_fmt, m.text) for m in sink.mos] == [
        (0, "ok"), (15, "好的"), (8, "👍"), (8, "收到")]
    pdu = sink.mos[1].deliver_pdu()
    assert pdu.registered_delivery == 0 and pdu.msg_content == "好的".encode("gbk")


def test_long_mo_arrives_as_udh_parts(platform):
    sink = RecordingSink()
    platform.bind(MAIN, sink)
    text = "长" * 150
    out = platform.inject_mo(MOBILE, MAIN, text)
    assert len(out.items) == 3 and all(m.tp_udhi == 1 for m in out.items)
    r = Reassembler()
    done = [r.feed(MOBILE, m.content, tp_udhi=m.tp_udhi, msg_fmt=m.msg_fmt, now=0) for m in sink.mos]
    assert done[-1].text == text
    out16 = platform.inject_mo(MOBILE, MAIN, text, udh16=True, reference=0x1234)
    assert out16.items[0].content[:5] == bytes((6, 8, 4, 0x12, 0x34))


def test_private_and_public_mo_switches(make_platform):
    p = make_platform(accounts="receive_private_mo = false\nreceive_public_mo = true")
    main = RecordingSink()
    p.bind(MAIN, main)
    p.bind(SUB, RecordingSink())
    out = p.inject_mo(MOBILE, SUB, "to the sub")
    assert out.account_id == MAIN and main.mos[0].text == "to the sub"
    assert [m.text for m in p.inbox(SUB)] == ["to the sub"]  # public MO, seen by the sub


def test_inbox_default(platform):
    platform.inject_mo(MOBILE, SUB, "private")
    platform.inject_mo(MOBILE, MAIN, "public")
    assert [m.text for m in platform.inbox(SUB)] == ["private"]
    assert [m.text for m in platform.inbox(MAIN)] == ["public"]
