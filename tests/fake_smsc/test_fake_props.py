"""A few property tests of the model (the per-rule conformance suite is separate)."""

from __future__ import annotations

from fake_smsc_helpers import MAIN, SIG, config_text, settle, text_submit
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_profiles import examples
from twisted.internet.task import Clock

from smsdk.text import count
from smsdk_harness.fake_smsc import Platform, load_config
from smsdk_harness.fake_smsc.splitting import http_pieces
from smsdk_harness.fake_smsc.simclock import ReactorClock

CFG = load_config(config_text())
POOL = [f"1380013{i:04d}" for i in range(12)]


@examples(40)
@given(
    policy=st.sampled_from(["blacklist", "whitelist"]),
    eb=st.sets(st.sampled_from(POOL), max_size=6),
    ew=st.sets(st.sampled_from(POOL), max_size=6),
    pb=st.sets(st.sampled_from(POOL), max_size=6),
    number=st.sampled_from(POOL),
)
def test_faq_2_1_7_list_policy_table(policy, eb, ew, pb, number):
    ew = ew - eb  # EB ∩ EW = ∅
    p = Platform(CFG, ReactorClock(Clock()))
    try:
        ent = p.enterprise("E1")
        ent.blacklist, ent.whitelist = set(eb), set(ew)
        p.platform_blacklist = set(pb)
        p.set_switches("E1", list_policy=policy)
        p.submit(MAIN, text_submit("hi", to=(number,)))
        settle(p.clock.reactor, 2)
        if policy == "blacklist":
            sent = number not in eb and (number not in pb or number in ew)
        else:
            sent = number in ew and number not in pb
        stat = p.reports()[0].item.stat
        assert stat == ("DELIVRD" if sent else "DTBLACK")
        assert bool(p.handset(number).messages) == sent
    finally:
        p.close()


@examples(30)
@given(st.lists(st.tuples(st.lists(st.sampled_from(POOL), min_size=1, max_size=5),
                          st.sampled_from(["DELIVRD", "UNDELIV", "never", "CA:0054"])),
                min_size=1, max_size=8))
def test_every_accepted_recipient_gets_exactly_one_report(batches):
    clock = Clock()
    p = Platform(CFG, ReactorClock(clock))
    try:
        expected = []
        for numbers, outcome in batches:
            for n in numbers:
                p.network.set_outcome(n, outcome)
            out = p.submit(MAIN, text_submit("hi", to=tuple(numbers)))
            assert out.accepted
            expected += list(out.msg_ids)
            clock.advance(0.01)
        settle(clock, 2)
        clock.advance(48 * 3600)
        got = [r.item.msg_id for r in p.reports()]
        assert sorted(got) == sorted(expected)
        assert len(set(got)) == len(got)
        # billing = SMS received = the DELIVRD ones
        assert p.billing() == sum(1 for r in p.reports() if r.item.stat == "DELIVRD")
    finally:
        p.close()


@given(st.text(min_size=1, max_size=512))
def test_http_pieces(text):
    pieces = http_pieces(text)
    assert "".join(pieces) == text
    assert all(1 <= count(x) <= 60 for x in pieces)
    assert len(pieces) >= -(-count(text) // 60)


def test_http_pieces_with_signature_fit_one_sms():
    assert [len(x + SIG) for x in http_pieces("字" * 130)] == [66, 66, 16]
