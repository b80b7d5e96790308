"""smsdk.Client against the fake platform, end to end: the SDK's client and the EMPP front
end joined in memory by iosim, the model and both sides on one simulated clock."""

from __future__ import annotations

import pytest
from frontend_helpers import World, make_platform

from fake_smsc_helpers import MAIN, SIG, SUB, SUB_PW
from smsdk.dispatch import DispatchSettings
from smsdk_harness.fake_smsc.simclock import SimulatedClock

SHORT = "您的验证码是 482913，5 分钟内有效。"
MID = "尊敬的客户：您预约的上门服务时间为明天上午九点至十一点，届时工程师将携带工具上门，请保持电话畅通，如需改约请回复本短信，谢谢！"
LONG = "【通知】" + "本季度账单已生成，您可以登录网上营业厅查看明细，如对账单有疑问请在七日内联系客服。" * 3
GROUP = [f"139001390{i:02d}" for i in range(12)]
BLACK = "13800138666"    # the enterprise blacklist of the test config
UNICOM = "13000130000"   # China Unicom; the enterprise has no Unicom service
PHS = "02161234567"


@pytest.fixture
def world():
    clock = SimulatedClock(1_000.0)
    w = World(make_platform(clock), clock)
    yield w
    w.platform.close()


def counts(sub) -> dict[str, int]:
    return {state: n for state, n in sub.counts().items() if n}


def started(world: World, **kw):
    client = world.client(**kw)
    d = client.start()
    world.run()
    assert d.called and client.bound
    return client


def test_a_campaign_each_recipient_gets_its_outcome_and_the_handsets_what_the_rules_say(world):
    assert 61 <= len(MID) <= 70 and len(LONG) > 70
    client = started(world)
    subs = {
        "short": client.send(SHORT, to=["13800138000", BLACK]),
        "mid": client.send(MID, to=["13800138001", UNICOM]),
        "long": client.send(LONG, to=["13800138002", PHS, "12345"]),
        "group": client.send("周末促销：全场满 200 减 50。", to=GROUP),
    }
    world.run(3.0)
    assert all(s.deferred.called for s in subs.values())
    outcome = {r: (o.state.value, o.status) for s in subs.values() for r, o in s.outcomes.items()}
    assert outcome[BLACK] == ("failed", "DTBLACK")
    assert outcome[UNICOM] == ("failed", "UNSURPT")
    assert outcome[PHS][0] == "rejected" and outcome["12345"][0] == "rejected"
    for number in ["13800138000", "13800138001", "13800138002", *GROUP]:
        assert outcome[number] == ("delivered", "DELIVRD"), number
    # what the phones show: one message each, the signature once at the end, nothing cut
    h = world.platform.handset
    assert h("13800138000").texts == [SHORT + SIG]
    assert h("13800138001").texts == [MID + SIG]           # the SDK sent UDH parts: no 2-SMS split
    assert h("13800138001").messages[0].kind == "concat" and h("13800138001").billing == 2
    assert h("13800138002").texts == [LONG + SIG] and h("13800138002").messages[0].cut_tail == ""
    assert all(h(n).texts == ["周末促销：全场满 200 减 50。" + SIG] for n in GROUP)
    assert h(BLACK).texts == [] and h(UNICOM).texts == []
    # billing: the SDK's plan is what the platform bills, for every delivered recipient
    billed = sum(s.plan.sms_per_recipient * s.counts().get("delivered", 0) for s in subs.values())
    assert world.platform.billing(MAIN) == billed
    # the group of 12 went as SUBMITs of at most 5 numbers (FAQ-2.2.5): never a Result 15
    assert world.platform.counters["refused_15"] == 0
    assert all(len(r.dest) <= 5 for r in world.platform.submissions())


def test_offline_reports_reach_the_next_login_within_48_hours(world):
    world.platform.network.set_outcome("13800138000", "DELIVRD", delay=3600)
    client = started(world)
    sub = client.send(SHORT, to=["13800138000"])
    world.run(0.5)
    assert sub.accepted == {"13800138000"} and not sub.deferred.called
    world.run()
    d = client.stop()
    world.run()
    assert d.called and world.platform.session(MAIN) is None
    world.clock.advance(47 * 3600)  # the report (at +1 h) waits offline
    assert [i.stat for i in world.platform.offline(MAIN)] == ["DELIVRD"]
    seen = []
    again = started(world, on_report=seen.append)
    world.run()
    assert [(r.stat, r.dest_terminal_id) for r in seen] == [("DELIVRD", "13800138000")]
    assert list(again.unmatched_reports) == seen
    assert world.platform.reports()[0].state == "flushed"


def test_offline_reports_older_than_48_hours_are_dropped(world):
    world.platform.network.set_outcome("13800138000", "DELIVRD", delay=10)
    client = started(world)
    client.send(SHORT, to=["13800138000"])
    world.run(0.5)
    d = client.stop()
    world.run()
    assert d.called
    world.clock.advance(10 + 48 * 3600 + 1)
    seen = []
    started(world, on_report=seen.append)
    world.run()
    assert seen == []
    assert world.platform.reports()[0].state == "dropped"


def test_mo_reaches_the_client_reassembled(world):
    got = []
    started(world, on_mo=got.append)
    text = "我想了解一下贵公司的宽带套餐，" * 8
    world.platform.inject_mo("13900139000", MAIN + "88", text)
    world.run()
    assert [(m.sender, m.dest_id, m.text) for m in got] == [("13900139000", MAIN + "88", text)]


def test_a_second_login_kicks_the_first_client(world):
    first = started(world)
    second = started(world)
    world.run()
    assert second.kicked_other_session == 1
    assert not first.bound and second.bound
    world.run(30)
    assert not first.bound  # after a platform TERMINATE the SDK does not reconnect by itself
    assert len(world.server.sessions(MAIN)) == 1


def test_the_sdk_recovers_from_rate_refusals_without_duplicates(world):
    bucket = world.platform.account(MAIN).bucket
    bucket.rate = bucket.burst = bucket.tokens = 5.0  # the account allows 5 SMS/s
    client = started(world, dispatch_settings=DispatchSettings(rate=1000, group_send_limit=5))
    numbers = [f"1380013{i:04d}" for i in range(20)]
    sub = client.send(SHORT, to=numbers)
    world.run(15)
    assert sub.deferred.called and counts(sub) == {"delivered": 20}
    assert world.platform.counters["refused_10004"] > 0
    assert all(len(world.platform.handset(n).texts) == 1 for n in numbers)


def test_the_sdk_waits_out_an_overload_window(world):
    now = world.clock.seconds()
    world.platform.set_overload(windows=[(now, now + 3)])
    client = started(world)
    sub = client.send(SHORT, to=["13800138000"])
    world.run(20)
    assert counts(sub) == {"delivered": 1}
    assert world.platform.counters["refused_10005"] >= 1
    assert world.platform.handset("13800138000").texts == [SHORT + SIG]


def test_a_sub_account_sends_from_its_extension(world):
    client = started(world, account=SUB, password=SUB_PW)
    sub = client.send(SHORT, to=["13800138000"])
    world.run(2)
    assert counts(sub) == {"delivered": 1}
    assert world.platform.handset("13800138000").messages[0].src_id == SUB


def test_change_password_through_the_client(world):
    client = started(world)
    d = client.change_password("main-pw", "fresh-pw")
    world.run()
    assert d.called and d.result.result == 0
    assert world.platform.account(MAIN).password == "fresh-pw"
