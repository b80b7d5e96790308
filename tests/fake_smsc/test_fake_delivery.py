"""Delivery outcomes and reports: lists (FAQ-2.1.7), Unicom/Telecom (FAQ-2.1.8), EPBLACK,
EXPIRED after 48 h (FAQ-2.2.1), network overrides, At_Time, report fields."""

from __future__ import annotations

import pytest
from fake_smsc_helpers import (
    EB_NUMBER,
    MAIN,
    MAIN_PW,
    MOBILE,
    MOBILE2,
    SIG,
    SUB,
    TELECOM,
    UNICOM,
    RecordingSink,
    settle,
    text_submit,
)

from smsdk_harness.fake_smsc import ListConflict

PB_NUMBER = "13800138444"
H48 = 48 * 3600


def stats(platform):
    return {r.item.dest_terminal_id: r.item.stat for r in platform.reports()}


# ---------------------------------------------------------------- lists


def test_faq_2_1_7_blacklist_policy(platform, clock):
    platform.list_add("PB", PB_NUMBER)
    platform.list_add("PB", MOBILE2)
    platform.list_add("EW", MOBILE2, "E1")  # in PB but whitelisted: sent
    platform.submit(MAIN, text_submit("hi", to=(EB_NUMBER, PB_NUMBER, MOBILE2, MOBILE)))
    settle(clock)
    assert stats(platform) == {EB_NUMBER: "DTBLACK", PB_NUMBER: "DTBLACK",
                               MOBILE2: "DELIVRD", MOBILE: "DELIVRD"}
    assert platform.handset(EB_NUMBER).messages == []
    assert platform.billing(MAIN) == 2
    why = [n for n in platform.submissions()[0].notes if n.startswith(PB_NUMBER)][0]
    assert "platform blacklist and not in the enterprise whitelist" in why


def test_faq_2_1_7_whitelist_policy(platform, clock):
    platform.set_switches("E1", list_policy="whitelist")
    platform.list_add("EW", MOBILE, "E1")
    platform.list_add("EW", PB_NUMBER, "E1")
    platform.list_add("PB", PB_NUMBER)
    platform.submit(MAIN, text_submit("hi", to=(MOBILE, PB_NUMBER, MOBILE2)))
    settle(clock)
    assert stats(platform) == {MOBILE: "DELIVRD", PB_NUMBER: "DTBLACK", MOBILE2: "DTBLACK"}


def test_eb_and_ew_never_intersect(platform):
    with pytest.raises(ListConflict, match="never in both EB and EW"):
        platform.list_add("EW", EB_NUMBER, "E1")
    platform.list_add("EW", MOBILE, "E1")
    with pytest.raises(ListConflict):
        platform.list_add("EB", MOBILE, "E1")
    assert platform.list_remove("EW", MOBILE, "E1")
    platform.list_add("EB", MOBILE, "E1")
    assert MOBILE in platform.list_get("EB", "E1")
    # PB may overlap both
    platform.list_add("PB", MOBILE)
    platform.list_add("PB", EB_NUMBER)


def test_list_numbers_are_normalised(platform):
    assert platform.list_add("PB", "+86 138-0013-8000") == MOBILE


# ---------------------------------------------------------------- carriers


def test_faq_2_1_8_unicom_and_telecom_without_service_get_unsurpt(platform, clock):
    platform.submit(MAIN, text_submit("hi", to=(UNICOM, TELECOM)))
    clock.advance(0)
    assert stats(platform) == {UNICOM: "UNSURPT", TELECOM: "UNSURPT"}
    assert platform.handset(UNICOM).messages == []


def test_faq_2_1_8_with_service_delivrd_at_once(platform, clock):
    platform.network.set_outcome(UNICOM, "UNDELIV", delay=100)  # not consulted
    platform.set_switches("E1", unicom=True, telecom=True)
    platform.submit(MAIN, text_submit("hi", to=(UNICOM, TELECOM)))
    clock.advance(0)
    assert stats(platform) == {UNICOM: "DELIVRD", TELECOM: "DELIVRD"}
    assert platform.handset(UNICOM).texts == ["hi" + SIG]


def test_telecom_switch_is_separate(platform, clock):
    platform.set_switches("E1", unicom=True)
    platform.submit(MAIN, text_submit("hi", to=(UNICOM, TELECOM)))
    clock.advance(0)
    assert stats(platform) == {UNICOM: "DELIVRD", TELECOM: "UNSURPT"}


# ---------------------------------------------------------------- source blacklist


def test_epblack_for_a_blacklisted_src_id(platform, clock):
    platform.list_add("SB", MAIN + "88")
    platform.submit(MAIN, text_submit("hi", src_id=MAIN + "88", to=(MOBILE, MOBILE2)))
    platform.submit(MAIN, text_submit("hi", to=(MOBILE,)))
    clock.advance(0)
    assert [r.item.stat for r in platform.reports()] == ["EPBLACK", "EPBLACK"]
    settle(clock)
    assert [r.item.stat for r in platform.reports()][-1] == "DELIVRD"


# ---------------------------------------------------------------- network outcomes


@pytest.mark.parametrize("stat", ["UNDELIV", "REJECTD", "CA:0054"])
def test_per_number_outcomes(platform, clock, stat):
    platform.network.set_outcome(MOBILE, stat, delay=30)
    platform.submit(MAIN, text_submit("hi"))
    clock.advance(0)
    clock.advance(29.9)
    assert platform.reports() == []
    clock.advance(0.1)
    assert stats(platform) == {MOBILE: stat}
    assert platform.handset(MOBILE).messages == [] and platform.billing() == 0


def test_faq_2_2_1_never_answers_expires_at_48h_exactly(platform, clock):
    platform.network.set_outcome(MOBILE, "never")
    platform.submit(MAIN, text_submit("hi"))
    clock.advance(0)
    clock.advance(H48 - 0.001)
    assert platform.reports() == []
    clock.advance(0.001)
    r = platform.reports()[0].item
    assert r.stat == "EXPIRED"
    assert (r.submit_time, r.done_time) == ("2405010800", "2405030800")
    assert platform.handset(MOBILE).messages == []


def test_expired_hours_is_a_setting(make_platform, clock):
    p = make_platform(platform="expired_hours = 1")
    p.network.set_outcome(MOBILE, "never")
    p.submit(MAIN, text_submit("hi"))
    settle(clock, 3600)
    assert stats(p) == {MOBILE: "EXPIRED"}


def test_default_mix_is_seeded(make_platform, clock):
    def run():
        p = make_platform(network='[network.mix]\nDELIVRD = 1\nUNDELIV = 1')
        for i in range(5):
            p.submit(MAIN, text_submit("hi", to=tuple(f"1380013800{j}" for j in range(5))))
        settle(clock, 5)
        return [r.item.stat for r in p.reports()]

    a, b = run(), run()
    assert a == b and set(a) == {"DELIVRD", "UNDELIV"}


def test_delays_come_from_the_range(make_platform, clock):
    p = make_platform(network="")
    p.network.set_delay(5, 5)
    p.submit(MAIN, text_submit("hi"))
    clock.advance(0)
    clock.advance(4.9)
    assert p.reports() == []
    clock.advance(0.1)
    assert len(p.reports()) == 1


# ---------------------------------------------------------------- report fields and routing


def test_report_fields(platform, clock):
    sink = RecordingSink()
    platform.bind(MAIN, sink, password=MAIN_PW)
    clock.advance(90)  # 08:01:30
    out = platform.submit(MAIN, text_submit("hi", src_id=MAIN + "88"), sequence_id=4242)
    settle(clock, 1)  # task.Clock runs due calls at the time advanced to
    (r,) = sink.reports
    assert r.msg_id == out.msg_id and r.stat == "DELIVRD"
    assert r.submit_time == "2405010801" and r.done_time == "2405010801"
    assert r.dest_terminal_id == MOBILE and r.smsc_sequence == 4242
    assert r.src_id == MAIN + "88" and r.account_id == MAIN
    sr = r.status_report()
    assert sr.msg_id == out.msg_id.raw and sr.stat == "DELIVRD"
    d = r.deliver_pdu()
    assert d.registered_delivery == 1 and d.src_terminal_id == MOBILE and d.dest_id == MAIN + "88"


def test_reports_are_never_sent_inside_submit(platform, clock):
    sink = RecordingSink()
    platform.bind(MAIN, sink, password=MAIN_PW)
    platform.set_switches("E1", unicom=True)
    platform.submit(MAIN, text_submit("hi", to=(UNICOM, EB_NUMBER)))
    assert sink.items == []
    clock.advance(0)
    assert len(sink.reports) == 2


def test_reports_go_to_the_submitter_then_main_then_offline(platform, clock):
    main_sink, sub_sink = RecordingSink("main"), RecordingSink("sub")
    platform.bind(MAIN, main_sink)
    platform.bind(SUB, sub_sink)
    platform.submit(SUB, text_submit("one"))
    settle(clock)
    assert len(sub_sink.reports) == 1 and main_sink.reports == []
    platform.unbind(SUB, sub_sink)
    platform.submit(SUB, text_submit("two"))
    settle(clock)
    assert len(main_sink.reports) == 1
    assert platform.reports()[-1].delivered_to == MAIN
    platform.unbind(MAIN, main_sink)
    platform.submit(SUB, text_submit("three"))
    settle(clock)
    assert platform.reports()[-1].state == "offline"
    assert [i.kind for i in platform.offline(SUB)] == ["report"]
    assert platform.offline(MAIN) == []


def test_registered_delivery_0_sends_no_report(platform, clock):
    sink = RecordingSink()
    platform.bind(MAIN, sink)
    platform.submit(MAIN, text_submit("hi", registered_delivery=0))
    settle(clock)
    assert sink.items == []
    assert platform.reports()[0].state == "not_requested"
    assert platform.handset(MOBILE).texts == ["hi" + SIG]


def test_http_submissions_reports_are_stored_not_pushed_over_empp(platform, clock):
    sink = RecordingSink()
    platform.bind(MAIN, sink)
    platform.submit(MAIN, text_submit("hi"), via="http")
    settle(clock)
    assert sink.items == [] and platform.reports()[0].state == "stored"


# ---------------------------------------------------------------- At_Time


def test_at_time_holds_until_due(platform, clock):
    # 2024-05-01 09:00:00 China time = clock 3600
    out = platform.submit(MAIN, text_submit("later", at_time="240501090000032+"))
    assert out.result == 0 and out.record.state == "scheduled"
    assert platform.scheduled() == [out.record]
    clock.advance(3599)
    assert platform.handset(MOBILE).messages == [] and platform.reports() == []
    clock.advance(1)
    assert platform.scheduled() == []
    settle(clock, 1)
    assert platform.handset(MOBILE).texts == ["later" + SIG]
    r = platform.reports()[0].item
    assert r.submit_time == "2405010800" and r.done_time == "2405010900"


def test_at_time_with_other_offsets_and_bare_forms(platform, clock):
    # 01:00 UTC = 09:00 China time
    a = platform.submit(MAIN, text_submit("utc", at_time="240501010000000+"))
    b = platform.submit(MAIN, text_submit("bare", at_time="240501090000"))
    assert a.record.due == b.record.due == 3600


def test_past_or_unreadable_at_time_sends_at_once_with_a_note(platform, clock):
    a = platform.submit(MAIN, text_submit("past", at_time="230101000000032+"))
    b = platform.submit(MAIN, text_submit("junk", at_time="tomorrow"))
    assert a.result == b.result == 0
    assert any("not an SMPP time" in n for n in b.record.notes)
    settle(clock)
    assert len(platform.handset(MOBILE).messages) == 2


def test_cancel_scheduled_gives_quota_back(make_platform, clock):
    p = make_platform(accounts="quota = 1")
    out = p.submit(SUB, text_submit("later", at_time="240501090000032+"))
    assert p.submit(SUB, text_submit("x")).result == 10003
    assert p.cancel_scheduled(out.msg_id)
    assert p.submit(SUB, text_submit("x")).result == 0
    settle(clock, 7200)
    assert [m.body for m in p.handset(MOBILE).messages] == ["x"]
