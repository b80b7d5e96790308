"""The HTTP path end to end over loopback on the real Twisted reactor: the SDK's
``smsdk.http`` (client, pollers, PUSH receiver) against the fake platform's HTTP front end
and PUSH sender, each on a real TCP port.

The fake runs its model on a simulated clock (reports are due when the test says so) and
the SDK's wall clock is the model's China time; everything else is real: the reactor that
schedules the SDK's requests and polls, the sockets, treq, twisted.web.  The reactor is
turned by hand (the ``fake_smsc`` fixture's ``wait`` / ``run_until``), each wait bounded by
a few seconds, so a hang is a clear failure, never a stuck suite.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import treq
from treq.client import HTTPClient
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.resource import Resource
from twisted.web.server import Site

from smsdk.dispatch import DispatchSettings, OutcomeState
from smsdk.errors import PlanError
from smsdk.http import (
    AuthenticationFailed,
    HttpClient,
    HttpRefused,
    HttpSender,
    PushReceiver,
    TextEncodingError,
)
from smsdk.http import codes as C
from smsdk.http import wire

pytestmark = [
    pytest.mark.fake_smsc(simulated_clock=True, http_port=0),
    # the fake's PUSH sender reads answers with readBody; Twisted's client hands it a
    # TransportProxyProducer without abortConnection, even on a real TCP connection
    pytest.mark.filterwarnings("ignore:Using readBody with a transport:DeprecationWarning"),
]

ENTERPRISE = "00001"            # the demo enterprise
MAIN_NUMBER = "10657109000001"  # its main account's number (login id)
PASSWORD = "demo-main"
SIGNATURE = "【示例科技】"
PHONES = [f"1380013800{i}" for i in range(6)]
OUTSIDE_GBK = "\U00020000"      # 𠀀 (CJK Ext. B): GB18030 only
WAIT = 10.0                     # real seconds any one wait may take


@pytest.fixture
def http(fake_smsc):
    """A treq client on the real reactor without persistent connections (nothing is left
    open on the reactor after a test)."""
    from twisted.internet import reactor

    return HTTPClient(Agent(reactor, pool=HTTPConnectionPool(reactor, persistent=False)))


@pytest.fixture
def make_sender(fake_smsc, http):
    from twisted.internet import reactor

    made: list[HttpSender] = []

    def make(**options) -> HttpSender:
        options.setdefault("wallclock", fake_smsc.platform.china_now)
        sender = HttpSender(fake_smsc.http_url, enterprise_id=ENTERPRISE, account_id="", password=PASSWORD,
                            reactor=reactor, http=http, **options)
        made.append(sender)
        return sender

    yield make
    for sender in made:
        sender.stop()


@pytest.fixture
def receiver(fake_smsc):
    """The SDK's PushReceiver on a real loopback port: (resource, url)."""
    from twisted.internet import reactor

    events: list = []
    resource = PushReceiver(events.append)
    root = Resource()
    root.putChild(b"push", resource)
    port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
    resource.events = events
    yield resource, f"http://127.0.0.1:{port.getHost().port}/push"
    fake_smsc.wait(port.stopListening(), timeout=WAIT)


def states(submission) -> dict[str, tuple[str, str]]:
    return {r: (o.state.value, o.status) for r, o in submission.outcomes.items()}


# -- the happy paths ---------------------------------------------------------------------------


def test_send_then_the_report_poller_gives_one_outcome_per_recipient(fake_smsc, make_sender):
    fake_smsc.platform.network.set_outcome(PHONES[1], "UNDELIV", delay=2)
    since = fake_smsc.platform.china_now() - timedelta(minutes=5)
    sender = make_sender(reports="poll", since=since)
    submission = sender.send("您好，HTTP 端到端", to=PHONES[:2])
    fake_smsc.wait(submission.submitted, timeout=WAIT)
    assert set(submission.send_ids.values()) and not submission.refusals
    fake_smsc.advance(120)                    # the reports are in, a minute boundary passed
    sender.start(first_report_poll=0)         # the first poll at once: it is not "too soon"
    fake_smsc.run_until(lambda: submission.done, timeout=WAIT, what="both outcomes")
    assert states(submission) == {PHONES[0]: ("delivered", "DELIVRD"), PHONES[1]: ("failed", "UNDELIV")}
    assert sender.report_poller.polls == 1 and sender.report_poller.errors == 0
    assert fake_smsc.handset(PHONES[0]).texts == ["您好，HTTP 端到端" + SIGNATURE]


def test_the_mo_poller_hands_each_mo_once_including_text_outside_gbk(fake_smsc, make_sender):
    text = "回复 " + OUTSIDE_GBK + " 好"
    fake_smsc.inject_mo(PHONES[0], MAIN_NUMBER, text)
    fake_smsc.inject_mo(PHONES[1], MAIN_NUMBER, "TD")
    fake_smsc.advance(1)
    got: list = []
    sender = make_sender(reports="none", mo="poll", on_mo=got.append)
    sender.start()
    fake_smsc.run_until(lambda: sender.mo_poller.polls, timeout=WAIT, what="the first MO poll")
    assert sender.mo_poller.errors == 0 and sender.mo_poller.malformed == []
    assert sorted((e.mobile, e.text) for e in got) == [(PHONES[0], text), (PHONES[1], "TD")]


def test_push_brings_reports_and_mos_to_the_sdk_receiver(fake_smsc, make_sender, receiver):
    resource, url = receiver
    sender = make_sender(reports="push", mo="push")
    resource.on_event = sender.feed
    fake_smsc.http.set_push_url(MAIN_NUMBER, url)
    submission = sender.send("推送测试", to=PHONES[:2])
    fake_smsc.wait(submission.submitted, timeout=WAIT)
    fake_smsc.advance(10)
    fake_smsc.run_until(lambda: submission.done, timeout=WAIT, what="the pushed reports")
    assert states(submission) == {p: ("delivered", "DELIVRD") for p in PHONES[:2]}
    fake_smsc.inject_mo(PHONES[2], MAIN_NUMBER, "上行 " + OUTSIDE_GBK)
    fake_smsc.advance(1)
    fake_smsc.run_until(lambda: sender.mo_inbox, timeout=WAIT, what="the pushed MO")
    assert [(e.mobile, e.text) for e in sender.mo_inbox] == [(PHONES[2], "上行 " + OUTSIDE_GBK)]
    assert resource.malformed == 0 and not fake_smsc.push.dropped


# -- bad input: each a clear error -------------------------------------------------------------


def test_a_wrong_timestamp_is_refused_with_the_clock_hint(fake_smsc, http):
    from twisted.internet import reactor

    skewed = HttpClient(fake_smsc.http_url, enterprise_id=ENTERPRISE, account_id="", password=PASSWORD,
                        reactor=reactor, http=http,
                        wallclock=lambda: fake_smsc.platform.china_now() + timedelta(minutes=11))
    with pytest.raises(AuthenticationFailed, match="102") as info:
        fake_smsc.wait(skewed.submit("您好", [PHONES[0]]), timeout=WAIT)
    assert "within 10 minutes" in str(info.value) and "UTC+8" in str(info.value)
    with pytest.raises(AuthenticationFailed, match="clock"):
        fake_smsc.wait(skewed.fetch_mo(), timeout=WAIT)
    skewed.stop()
    assert fake_smsc.handset(PHONES[0]).texts == []


def test_a_513_char_text_is_refused_before_sending_and_by_the_platform(fake_smsc, make_sender, http):
    sender = make_sender(reports="none")
    with pytest.raises(PlanError, match="513 chars.*at most 512"):
        sender.send("字" * 513, to=[PHONES[0]])
    # the platform's own check, for a client that sends it anyway: 104
    body = raw_submit(fake_smsc, http, "字" * 513, PHONES[:1])
    assert body.splitlines()[0] == str(C.BAD_TEXT) and "513 chars" in body
    assert fake_smsc.handset(PHONES[0]).texts == []


def test_six_numbers_are_split_by_the_sender_and_refused_by_the_platform(fake_smsc, make_sender, http):
    sender = make_sender(reports="query", report_interval=60.0)
    submission = sender.send("六个号码", to=PHONES)
    fake_smsc.wait(submission.submitted, timeout=WAIT)
    # group_send_limit 5: two requests (5 + 1), both accepted
    assert len(set(submission.send_ids.values())) == 2 and not submission.refusals
    # one request with 6 numbers (what a misconfigured client would send) is refused: 15
    body = raw_submit(fake_smsc, http, "六个号码", PHONES)
    assert body.splitlines()[0] == str(C.GROUP_LIMIT)
    wide = make_sender(reports="none", dispatch_settings=DispatchSettings(group_send_limit=6))
    refused = wide.send("六个号码", to=PHONES)
    fake_smsc.run_until(lambda: refused.done, timeout=WAIT, what="the refusal")
    assert {o.state for o in refused.outcomes.values()} == {OutcomeState.FAILED}
    error = next(iter(refused.refusals.values()))
    assert isinstance(error, HttpRefused) and error.code == C.GROUP_LIMIT
    assert "group-send limit" in str(error)


def test_a_non_gbk_text_is_refused_with_gbk_and_sent_intact_as_utf8_otherwise(fake_smsc, make_sender):
    strict = make_sender(reports="none", charset="gbk")
    with pytest.raises(TextEncodingError, match=r"GBK cannot hold: '\U00020000' \(U\+20000\) at 3"):
        strict.send("生日快" + OUTSIDE_GBK + "乐", to=[PHONES[0]])
    auto = make_sender(reports="none")
    submission = auto.send("生日快" + OUTSIDE_GBK + "乐", to=[PHONES[0]])
    fake_smsc.wait(submission.submitted, timeout=WAIT)
    assert not submission.refusals
    fake_smsc.advance(5)
    assert fake_smsc.handset(PHONES[0]).texts == ["生日快" + OUTSIDE_GBK + "乐" + SIGNATURE]


@pytest.mark.parametrize("body, content_type, reason", [
    (b"\xff\xfe\xfd", "application/x-www-form-urlencoded", b"not GBK"),
    ("type=mo&mobile=13800138000&content=你好".encode("utf-8") + b"\x80",
     "application/x-www-form-urlencoded", b"not GBK"),
    (b'{"type": "mo", "mobile": "13800138000"}', "application/json", b"not application/x-www-form-urlencoded"),
    (b"type=fax&mobile=13800138000&time=20240520090000", "application/x-www-form-urlencoded",
     b"unknown event type"),
])
def test_a_push_body_that_is_not_gbk_form_data_gets_400_and_a_reason(fake_smsc, receiver, http, body,
                                                                      content_type, reason):
    resource, url = receiver
    response = fake_smsc.wait(http.post(url, data=body, headers={"Content-Type": [content_type]}),
                              timeout=WAIT)
    text = fake_smsc.wait(treq.content(response), timeout=WAIT)
    assert response.code == 400 and text.startswith(b"bad request: ") and reason in text
    assert resource.malformed == 1 and resource.events == []


def raw_submit(fake_smsc, http, text: str, mobiles: list[str]) -> str:
    """POST /httpserver as any client could, past the SDK's own checks; the answer body."""
    stamp = wire.format_timestamp(fake_smsc.platform.china_now())
    form = [("enterpriseid", ENTERPRISE), ("accountid", ""), ("timestamp", stamp),
            ("auth", wire.auth_token(ENTERPRISE, PASSWORD, stamp)), ("mobs", ",".join(mobiles)),
            ("msg", text)]
    from urllib.parse import urlencode

    body = urlencode(form, encoding="gbk").encode("ascii")
    response = fake_smsc.wait(http.post(fake_smsc.http_url.rstrip("/") + C.SEND_PATH, data=body,
                                        headers={"Content-Type": [wire.FORM_CONTENT_TYPE]}), timeout=WAIT)
    return fake_smsc.wait(treq.content(response), timeout=WAIT).decode("gb18030")
