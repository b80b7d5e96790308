"""HTTP-PUSH (FAQ-3.1.3, 3.3; PROTOCOL.md §3b): MOs and reports POSTed as GBK forms to the
account's registered URL; 200 + ``100`` is delivered, anything else retried after 1, 2, 4,
8 … minutes for up to 48 h.  The receiver is an in-process twisted.web resource behind
treq's RequestTraversalAgent; time is a task.Clock."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_profiles import examples
from treq.testing import RequestTraversalAgent
from twisted.internet import defer
from twisted.internet.error import ConnectionRefusedError
from twisted.web.resource import Resource

from fake_smsc_helpers import MOBILE, MOBILE2, text_submit
from http_helpers import MAIN, SUB, SUB_PW, World
from smsdk_harness.fake_smsc.control import ControlApi
from smsdk_harness.fake_smsc.push import PushSender, form_body

URL = "http://push.example/in"

# treq's in-memory transport has no abortConnection (readBody warns; real transports have it)
pytestmark = pytest.mark.filterwarnings("ignore:Using readBody with a transport:DeprecationWarning")


class Receiver(Resource):
    """Records every POST (clock time, content type, fields) and answers from ``answers``
    ((status, body) in turn; then 200 ``100``)."""

    isLeaf = True

    def __init__(self, clock) -> None:
        super().__init__()
        self.clock = clock
        self.got: list[tuple[float, str, dict[str, str]]] = []
        self.answers: list[tuple[int, bytes]] = []

    def render_POST(self, request):
        ctype = request.getHeader("content-type")
        charset = ctype.split("charset=")[1]
        body = request.content.read()
        self.got.append((self.clock.seconds(), ctype, dict(parse_qsl(body.decode("ascii"), encoding=charset))))
        code, answer = self.answers.pop(0) if self.answers else (200, b"100")
        request.setResponseCode(code)
        return answer

    @property
    def fields(self) -> list[dict[str, str]]:
        return [g[2] for g in self.got]


class Pushed:
    """A world whose PUSH goes to a Receiver."""

    def __init__(self, **sections) -> None:
        self.agent = None
        self.world = World(agent=_LazyAgent(self), **sections)
        self.receiver = Receiver(self.world.clock)
        self.agent = RequestTraversalAgent(self.receiver)

    def run(self, seconds: float = 0.0) -> None:
        """Advance the clock (in steps of at most a second), pumping the in-memory HTTP."""
        w = self.world
        w.clock.advance(0)
        self.agent.flush()
        left = seconds
        while left > 0:
            step = min(1.0, left)
            w.clock.advance(step)
            self.agent.flush()
            left -= step


class _LazyAgent:
    def __init__(self, owner: Pushed) -> None:
        self.owner = owner

    def request(self, *args, **kwargs):
        return self.owner.agent.request(*args, **kwargs)


@pytest.fixture
def pushed():
    p = Pushed()
    p.world.http.set_push_url(MAIN, URL)
    yield p
    p.world.close()


def test_an_mo_is_pushed_as_a_gbk_form_and_not_kept_offline(pushed):
    w = pushed.world
    out = w.platform.inject_mo(MOBILE, MAIN, "你好")
    pushed.run()
    [(t, ctype, fields)] = pushed.receiver.got
    assert ctype == "application/x-www-form-urlencoded; charset=GBK"
    assert fields == {"type": "mo", "mobile": MOBILE, "dest": MAIN, "time": "20240501080000",
                      "content": "你好"}
    assert w.platform.offline(MAIN) == []
    assert out.records[0].state == "pushed"
    assert w.push.counters["delivered"] == 1


def test_the_body_is_gbk_percent_encoding(pushed):
    body, charset = form_body([("type", "mo"), ("content", "你好 a&b")])
    assert charset == "GBK" and body == b"type=mo&content=%C4%E3%BA%C3+a%26b"
    body, charset = form_body([("content", "😀")])
    assert charset == "GB18030" and body == b"content=" + quote_plus("😀".encode("gb18030")).encode()


def test_an_http_send_pushes_one_report_per_recipient_once_every_piece_is_in(pushed):
    w = pushed.world
    w.platform.network.set_outcome(MOBILE2, "UNDELIV", delay=2)
    sid = int(w.send("x" * 70, f"{MOBILE},{MOBILE2}").lines[0])  # 2 pieces
    pushed.run(5)
    reports = sorted((f for f in pushed.receiver.fields if f["type"] == "report"), key=lambda f: f["mobile"])
    assert reports == [
        {"type": "report", "sendid": str(sid), "mobile": MOBILE, "stat": "DELIVRD", "time": "20240501080001"},
        {"type": "report", "sendid": str(sid), "mobile": MOBILE2, "stat": "UNDELIV", "time": "20240501080002"},
    ]


def test_an_empp_submissions_report_carries_its_msg_id_and_is_not_kept_offline(pushed):
    w = pushed.world
    out = w.platform.submit(MAIN, text_submit("hi", (MOBILE,)))
    pushed.run(3)
    [f] = pushed.receiver.fields
    assert f["msgid"] == out.msg_id.hex and len(f["msgid"]) == 20
    assert (f["type"], f["mobile"], f["stat"], f["sendid"]) == ("report", MOBILE, "DELIVRD", str(out.record.id))
    assert w.platform.offline(MAIN) == []


def test_accounts_without_a_push_url_are_not_pushed(pushed):
    w = pushed.world
    w.platform.inject_mo(MOBILE, SUB, "to the sub-account")
    pushed.run()
    assert pushed.receiver.got == []
    assert len(w.platform.offline(SUB)) == 1  # an EMPP account's offline message, as ever
    w.http.set_push_url(MAIN, "")
    w.platform.inject_mo(MOBILE, MAIN, "again")
    pushed.run()
    assert pushed.receiver.got == []


def test_a_push_url_must_be_http(pushed):
    with pytest.raises(ValueError, match="http:// or https://"):
        pushed.world.http.set_push_url(SUB, "ftp://x/")


@pytest.mark.parametrize("answer", [(500, b"100"), (200, b"OK"), (200, b"101"), (404, b"")])
def test_anything_but_200_with_100_is_retried_after_a_minute(pushed, answer):
    pushed.receiver.answers = [answer]
    pushed.world.platform.inject_mo(MOBILE, MAIN, "hi")
    pushed.run(59)
    assert len(pushed.receiver.got) == 1
    job = next(iter(pushed.world.push.pending.values()))
    assert job.attempts == 1 and "not 200 with body 100" in job.errors[0]
    pushed.run(1)
    assert [g[0] for g in pushed.receiver.got] == [0.0, 60.0]
    assert pushed.world.push.pending == {}


def test_a_body_of_100_with_whitespace_counts(pushed):
    pushed.receiver.answers = [(200, b" 100\r\n")]
    pushed.world.platform.inject_mo(MOBILE, MAIN, "hi")
    pushed.run()
    assert pushed.world.push.counters["delivered"] == 1


def test_retries_double_from_one_minute_and_stop_after_48_hours(pushed):
    pushed.receiver.answers = [(503, b"busy")] * 100
    pushed.world.platform.inject_mo(MOBILE, MAIN, "hi")
    w = pushed.world
    pushed.run()
    while w.push.pending:  # jump from attempt to attempt
        [job] = w.push.pending.values()
        w.clock.advance(job.next_at - w.clock.seconds())
        pushed.agent.flush()
    times = [g[0] for g in pushed.receiver.got]
    assert times == [60.0 * (2 ** k - 1) for k in range(12)]  # 0, 1, 3, 7, 15 … min
    assert times[-1] < 48 * 3600 < 60.0 * (2 ** 12 - 1)
    [job] = w.push.dropped
    assert job.state == "dropped" and job.attempts == 12 and len(job.errors) == 12


class StubAgent:
    """Fails each request as told: ``"refused"`` or ``"silent"`` (never answers)."""

    def __init__(self, how: str) -> None:
        self.how = how
        self.calls = 0

    def request(self, method, uri, headers=None, bodyProducer=None):
        self.calls += 1
        if self.how == "refused":
            return defer.fail(ConnectionRefusedError())
        return defer.Deferred()


@pytest.mark.parametrize("how, first_retry_at", [("refused", 60.0), ("silent", 90.0)])
def test_connection_refused_and_no_answer_within_the_timeout_are_retried(how, first_retry_at):
    from twisted.internet.task import Clock

    clock = Clock()
    agent = StubAgent(how)
    sender = PushSender(clock, agent=agent, timeout=30.0)
    job = sender.enqueue(URL, [("type", "mo")], MAIN)
    clock.advance(0)
    assert agent.calls == 1
    if how == "silent":
        clock.advance(30)  # the timeout cancels the request
    assert job.attempts == 1 and job.errors and job.next_at == first_retry_at
    clock.advance(first_retry_at - clock.seconds())
    assert agent.calls == 2
    sender.close()
    assert [c for c in clock.getDelayedCalls() if c.active()] == []


@examples(30)
@given(failures=st.integers(0, 14))
def test_property_a_job_is_delivered_iff_it_succeeds_within_48_hours(failures):
    from twisted.internet.task import Clock

    clock = Clock()

    class Flaky:
        def __init__(self) -> None:
            self.calls = 0

        def request(self, *a, **k):
            self.calls += 1
            if self.calls <= failures:
                return defer.fail(ConnectionRefusedError())
            return defer.succeed(_Response(200, b"100"))

    sender = PushSender(clock, agent=Flaky())
    job = sender.enqueue(URL, [("type", "mo")])
    clock.advance(0)
    while job.state == "pending":
        clock.advance(job.next_at - clock.seconds())
    # attempt k+1 (after k failures) is at 60 (2^k − 1) s; it happens iff that is within 48 h
    assert job.state == ("delivered" if 60 * (2 ** failures - 1) <= 48 * 3600 else "dropped"), job.errors
    assert job.attempts == min(failures + 1, 12)


class _Response:
    """The least of an IResponse that readBody needs."""

    def __init__(self, code: int, body: bytes) -> None:
        self.code = code
        self.phrase = b"OK"
        self.body = body
        self.length = len(body)

    def deliverBody(self, protocol):
        from twisted.python.failure import Failure
        from twisted.web.client import ResponseDone

        protocol.dataReceived(self.body)
        protocol.connectionLost(Failure(ResponseDone()))


def test_the_control_api_registers_and_shows_push_urls():
    from twisted.internet.task import Clock

    from fake_smsc_helpers import config_text
    from smsdk_harness.fake_smsc import load_config
    from smsdk_harness.fake_smsc.runner import FakeSmsc

    clock = Clock()
    fake = FakeSmsc.start(load_config(config_text()), clock=clock, port=None)
    try:
        receiver = Receiver(clock)
        fake.push.agent = RequestTraversalAgent(receiver)
        api = ControlApi(fake)
        assert api.call("POST", "/push", {"account": SUB, "url": "mailto:x"})[0] == 400
        assert api.call("POST", "/push", {"account": "999", "url": URL})[0] == 404
        assert api.call("POST", "/push", {"account": SUB, "url": URL}) == (200, {"account": SUB, "url": URL})
        fake.platform.inject_mo(MOBILE, SUB, "hello")
        clock.advance(0)
        fake.push.agent.flush()
        assert receiver.fields[0]["content"] == "hello"
        code, body = api.call("GET", "/push")
        assert code == 200 and body["urls"] == {SUB: URL} and body["counters"]["delivered"] == 1
        assert SUB_PW not in str(body)
    finally:
        fake.stop()


def test_a_push_url_from_the_config_is_used_from_the_start():
    p = Pushed(accounts=f'push_url = "{URL}"')  # on the sub-account
    try:
        assert p.world.platform.account(SUB).push_url == URL
        p.world.platform.inject_mo(MOBILE, SUB, "configured")
        p.run()
        assert [f["content"] for f in p.receiver.fields] == ["configured"]
        assert p.world.platform.offline(SUB) == []
    finally:
        p.world.close()
