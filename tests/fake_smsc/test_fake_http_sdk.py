"""Both sides of the HTTP interface in one run: the SDK's ``smsdk.http`` (client, pollers,
PUSH receiver) against the fake platform's HTTP front end and PUSH sender, joined in memory
(treq's StubTreq over ``HttpResource``; the PUSH sender's agent over the SDK's
``PushReceiver``), everything on one task.Clock."""

from __future__ import annotations

import pytest
from treq.testing import RequestTraversalAgent, StubTreq

from fake_smsc_helpers import MOBILE, MOBILE2, SIG, UNICOM
from http_helpers import MAIN, MAIN_PW, SUB_PW, World
from smsdk.http import HttpSender
from smsdk_harness.fake_smsc.http_server import HttpResource

# treq's in-memory transport has no abortConnection (readBody warns; real transports have it)
pytestmark = pytest.mark.filterwarnings("ignore:Using readBody with a transport:DeprecationWarning")

ENT = "00001"  # the SDK takes digit enterprise ids


class Joined:
    """The fake (enterprise id ``00001``: the SDK takes digit ids) and the SDK's client
    joined by StubTreq on one task.Clock."""

    def __init__(self, agent=None) -> None:
        self.world = World(agent=agent, enterprise_id=ENT)
        self.stub = StubTreq(HttpResource(self.world.http))

    def sender(self, account_id: str = "", password: str = MAIN_PW, **kw) -> HttpSender:
        return HttpSender("http://fake.example:8000", enterprise_id=ENT, account_id=account_id,
                          password=password, reactor=self.world.clock, http=self.stub,
                          wallclock=self.world.platform.china_now, **kw)

    def run(self, seconds: float, step: float = 1.0) -> None:
        elapsed = 0.0
        self.stub.flush()
        while elapsed < seconds:
            self.world.clock.advance(step)
            self.stub.flush()
            elapsed += step


@pytest.fixture
def pair():
    j = Joined()
    yield j
    j.world.close()


def test_sdk_sends_and_gets_one_outcome_per_recipient_by_query(pair):
    pair.world.platform.network.set_outcome(MOBILE2, "UNDELIV", delay=2)
    sender = pair.sender(reports="query", report_interval=60.0)
    sub = sender.send("您好，HTTP", to=[MOBILE, MOBILE2, UNICOM, "12345"])
    sender.start(first_report_poll=5)
    pair.run(5)
    assert sub.submitted.called
    pair.run(120)
    assert sub.done
    got = {r: (o.state.value, o.status) for r, o in sub.outcomes.items()}
    assert got[MOBILE] == ("delivered", "DELIVRD")
    assert got[MOBILE2][1] == "UNDELIV" and got[UNICOM][1] == "UNSURPT"
    assert got["12345"][0] == "rejected"
    assert pair.world.platform.handset(MOBILE).texts == ["您好，HTTP" + SIG]
    sender.stop()


def test_sdk_report_poller_over_hours_sees_every_report_once(pair):
    sender = pair.sender(reports="poll", report_interval=600.0)
    subs = []
    sender.start(first_report_poll=600)
    for i in range(4):
        subs.append(sender.send(f"第{i}条", to=[f"1390013900{i}"]))
        pair.run(1500, step=5.0)
    pair.run(3600, step=10.0)
    assert all(s.done for s in subs)
    assert [next(iter(s.outcomes.values())).status for s in subs] == ["DELIVRD"] * 4
    assert len(sender.unmatched_reports) == 0
    sender.stop()


def test_sdk_mo_poller_gets_each_mo_once_with_keepdeliver(pair):
    got = []
    sender = pair.sender(reports="none", mo="poll", on_mo=got.append, mo_interval=300.0)
    pair.world.platform.inject_mo(MOBILE, MAIN, "第一条, 回复")
    sender.start()
    pair.run(10)
    pair.world.platform.inject_mo(MOBILE2, MAIN, "second")
    pair.run(700, step=5.0)
    assert [(m.mobile, m.text) for m in got] == [(MOBILE, "第一条, 回复"), (MOBILE2, "second")]
    sender.stop()


def test_a_sub_account_sends_and_polls_with_its_own_password(pair):
    sender = pair.sender(account_id="01", password=SUB_PW, reports="query", report_interval=60.0)
    sub = sender.send("from the sub-account", to=[MOBILE])
    sender.start(first_report_poll=5)
    pair.run(90)
    assert sub.done and next(iter(sub.outcomes.values())).status == "DELIVRD"
    sender.stop()


def test_platform_push_to_the_sdk_receiver_resolves_outcomes():
    holder = {}

    class Lazy:
        def request(self, *a, **k):
            return holder["agent"].request(*a, **k)

    j = Joined(agent=Lazy())
    try:
        mos = []
        sender = j.sender(reports="push", on_mo=mos.append)
        holder["agent"] = RequestTraversalAgent(sender.push_resource())
        j.world.http.set_push_url(MAIN, "http://sdk.example/push")
        sub = sender.send("pushed", to=[MOBILE, MOBILE2])
        j.world.platform.inject_mo(MOBILE, MAIN, "推送的上行")
        for _ in range(10):
            j.run(1)
            holder["agent"].flush()
        assert sub.done and {o.status for o in sub.outcomes.values()} == {"DELIVRD"}
        assert [m.text for m in mos] == ["推送的上行"]
        assert j.world.push.counters["delivered"] == 3 and not j.world.push.pending
        sender.stop()
    finally:
        j.world.close()
