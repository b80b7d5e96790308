"""The control/inspection HTTP API: over a real loopback port (twisted.web.client), and
through ``ControlApi.call`` for the many small cases."""

from __future__ import annotations

import json

import pytest
from twisted.internet.task import Clock

from fake_smsc_helpers import config_text
from smsdk_harness.fake_smsc import load_config
from smsdk_harness.fake_smsc.control import ControlApi
from smsdk_harness.fake_smsc.runner import FakeSmsc

MAIN = "10657109000001"  # the embedded demo's main account
SIG = "【示例科技】"


@pytest.fixture
def live(request):
    """A platform on loopback with its control port, and a tiny HTTP client."""
    from twisted.internet import defer, reactor
    from twisted.internet.protocol import Protocol
    from twisted.web.client import Agent
    from twisted.web.http_headers import Headers

    class Body(Protocol):
        def __init__(self) -> None:
            self.data = b""
            self.done: defer.Deferred[bytes] = defer.Deferred()

        def dataReceived(self, data: bytes) -> None:
            self.data += data

        def connectionLost(self, reason=None) -> None:
            self.done.callback(self.data)

    config = getattr(request, "param", None)
    fake = FakeSmsc.start(config, reactor=reactor, port=0, control_port=0)
    agent = Agent(reactor)

    def http(method: str, path: str, body: object = None, raw: bytes | None = None, *,
             content_type: str | None = "application/json", token: str | None = None):
        from twisted.web.client import FileBodyProducer
        import io

        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        producer = FileBodyProducer(io.BytesIO(data)) if data is not None else None
        url = f"http://127.0.0.1:{fake.control_port}{path}".encode()
        headers = Headers()
        if content_type is not None:
            headers.addRawHeader(b"content-type", content_type.encode())
        if token is not None:
            headers.addRawHeader(b"authorization", b"Bearer " + token.encode())
        response = fake.wait(agent.request(method.encode(), url, headers, producer))
        body_proto = Body()
        response.deliverBody(body_proto)
        text = fake.wait(body_proto.done)
        assert response.headers.getRawHeaders(b"content-type") == [b"application/json; charset=utf-8"]
        http.last_text = text.decode("utf-8")
        return response.code, json.loads(text)

    yield fake, http
    fake.wait(fake.stop())
    fake.run(0.01)


def test_over_http_inject_mo_inspect_handsets_and_sessions(live):
    fake, http = live
    code, status = http("GET", "/status")
    assert code == 200 and status["empp"]["port"] == fake.port and status["clock"]["simulated"] is False
    code, accounts = http("GET", "/accounts")
    assert {a["id"] for a in accounts["accounts"]} == {MAIN, MAIN + "01"}

    got = []
    client = fake.client(on_mo=got.append)
    fake.run_until(lambda: client.bound)
    code, out = http("POST", "/mo", {"from": "13900139000", "to": MAIN, "text": "你好，退订"})
    assert code == 200 and out["account"] == MAIN and out["items"][0]["state"] == "delivered"
    fake.run_until(lambda: got)
    assert got[0].text == "你好，退订"

    fake.wait(client.send("验证码 1234", to=["13800138000"]).deferred)
    code, phone = http("GET", "/handsets/13800138000")
    assert code == 200 and phone["texts"] == ["验证码 1234" + SIG] and phone["billing"] == 1
    code, subs = http("GET", "/submissions?limit=1")
    (rec,) = subs["submissions"]
    assert rec["result"] == 0 and rec["recipients"][0]["stat"] == "DELIVRD"
    assert [c["name"] for c in rec["checks"]][:3] == ["length", "src_id", "dest"]
    code, reports = http("GET", "/reports?number=13800138000")
    assert [r["stat"] for r in reports["reports"]] == ["DELIVRD"]
    code, sessions = http("GET", f"/sessions?account={MAIN}")
    assert [s["state"] for s in sessions["sessions"]] == ["bound"]

    code, out = http("POST", "/sessions/terminate", {"account": MAIN})
    assert code == 200 and out == {"terminated": 1}
    fake.run_until(lambda: not fake.sessions())
    assert not client.bound


def test_over_http_errors_are_json_sentences_never_tracebacks(live):
    fake, http = live
    assert http("GET", "/nowhere") == (404, {"error": "no such endpoint: GET /nowhere (GET / lists them)"})
    code, out = http("DELETE", "/status")
    assert code == 405 and "use GET" in out["error"]
    code, out = http("POST", "/mo", raw=b"{not json")
    assert code == 400 and out["error"].startswith("the body is not JSON")
    code, out = http("POST", "/mo", {"from": "13000130000", "to": MAIN, "text": "hi"})
    assert code == 400 and "China Unicom" in out["error"]
    code, out = http("POST", "/clock/advance", {"seconds": 10})
    assert code == 409 and "--simulated-clock" in out["error"]
    code, out = http("GET", "/offline/123")
    assert code == 404 and "no account" in out["error"]
    for _code, body in [http("POST", "/lists/XX", {"value": "13800138000"})]:
        assert "Traceback" not in json.dumps(body)


def test_no_get_answer_carries_a_password(live):
    fake, http = live
    client = fake.client()
    fake.run_until(lambda: client.bound)
    fake.wait(client.send("hi", to=["13800138000"]).deferred)
    paths = [p.split(" ", 1)[1] for p in http("GET", "/")[1]["endpoints"] if p.startswith("GET ")]
    paths = [p.replace("<number>", "13800138000").replace("<account>", MAIN).replace("<kind>", "EB")
             for p in paths]
    assert "/accounts" in paths and "/sessions" in paths
    for path in paths:
        code, _ = http("GET", path)
        assert code in (200, 400), path
        assert "demo-main" not in http.last_text and "demo-sub" not in http.last_text, path
        assert '"password"' not in http.last_text, path


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/xml", None])
def test_posts_need_content_type_application_json(live, content_type):
    """A cross-origin page can POST text/plain or a form without a preflight: refused."""
    fake, http = live
    code, out = http("POST", "/overload", {"probability": 1}, content_type=content_type)
    assert code == 415 and "application/json" in out["error"]
    assert fake.platform.overload_probability == 0.0  # nothing changed
    code, out = http("POST", "/overload", {"probability": 0.25},
                     content_type="Application/JSON; charset=utf-8")
    assert code == 200 and out["probability"] == 0.25


@pytest.mark.parametrize("raw", [b'{"min": Infinity, "max": 1}', b'{"min": 0, "max": NaN}',
                                 b'{"min": -Infinity, "max": 1}', b'{"min": 0, "max": 1e999}'])
def test_non_finite_numbers_are_refused(live, raw):
    fake, http = live
    before = (fake.platform.network.delay_min, fake.platform.network.delay_max)
    code, out = http("POST", "/network/delay", raw=raw)
    assert code == 400 and ("finite" in out["error"] or "not a JSON number" in out["error"]), out
    assert (fake.platform.network.delay_min, fake.platform.network.delay_max) == before
    code, _ = http("GET", "/network")  # still valid JSON (json.loads in http() would fail)
    assert code == 200


@pytest.mark.parametrize("live", ['[control]\ntoken = "a-configured-token-1234"\n'], indirect=True)
def test_a_configured_token_is_required_even_on_loopback(live):
    fake, http = live
    assert fake.control_token == "a-configured-token-1234"
    code, out = http("GET", "/status")
    assert code == 401 and "Bearer" in out["error"]
    assert http("GET", "/status", token="a-configured-token-123X")[0] == 401
    assert http("POST", "/purge", {}, token="wrong")[0] == 401
    assert http("GET", "/status", token="a-configured-token-1234")[0] == 200
    assert http("POST", "/purge", {}, token="a-configured-token-1234")[0] == 200


def test_a_token_is_generated_off_loopback_and_none_on_it():
    from twisted.internet import reactor

    from smsdk_harness.fake_smsc.runner import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("127.9.9.9") and is_loopback("::1")
    assert is_loopback("localhost") and not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1")
    assert not is_loopback("example.com")
    on = FakeSmsc.start(reactor=reactor, port=None, control_port=0)
    off = FakeSmsc.start(reactor=reactor, port=None, control_port=0, control_host="0.0.0.0")
    try:
        assert on.control_token is None and on.control_host == "127.0.0.1"
        assert off.control_token and off.control.token == off.control_token
        assert any(off.control_token in line for line in _describe(off))
    finally:
        on.wait(on.stop())
        off.wait(off.stop())


def test_bad_control_token_in_config_is_refused():
    from smsdk_harness.fake_smsc import ConfigError

    with pytest.raises(ConfigError, match="control.token"):
        load_config(config_text(more='[control]\ntoken = "short"'))


def _describe(fake):
    from smsdk_harness.fake_smsc.runner import describe

    return describe(fake)


# ---------------------------------------------------------------------------------- in-process


@pytest.fixture
def api():
    clock = Clock()
    fake = FakeSmsc.start(load_config(config_text()), clock=clock, port=None)
    yield ControlApi(fake), fake, clock
    fake.platform.close()


def ok(result):
    code, body = result
    assert code == 200, body
    return body


def test_faults_overload_and_network_outcomes(api):
    a, fake, clock = api
    assert ok(a.call("POST", "/overload", {"probability": 0.5, "windows": [[10, 20]]})) == {
        "probability": 0.5, "windows": [[10.0, 20.0]]}
    assert a.call("POST", "/overload", {"probability": 2})[0] == 400
    assert a.call("POST", "/overload", {"windows": [[5, 1]]})[0] == 400
    ok(a.call("POST", "/overload", {"probability": 0, "windows": []}))
    net = ok(a.call("POST", "/network/outcome", {"number": "13800138000", "outcome": "CA:0054", "delay": 3}))
    assert net["outcomes"]["13800138000"] == {"outcome": "CA:0054", "delay": 3}
    assert a.call("POST", "/network/outcome", {"number": "13800138000", "outcome": "LOST"})[0] == 400
    assert ok(a.call("POST", "/network/outcome/clear", {}))["outcomes"] == {}
    assert ok(a.call("POST", "/network/delay", {"min": 0.1, "max": 0.2}))["delay_max"] == 0.2
    assert ok(a.call("POST", "/network/mix", {"DELIVRD": 1, "UNDELIV": 1}))["mix"] == {
        "DELIVRD": 1, "UNDELIV": 1}


def test_lists_switches_quota_and_ability(api):
    a, fake, clock = api
    assert ok(a.call("POST", "/lists/eb", {"value": "+86 139-0013-9000", "enterprise": "E1"})) == {
        "kind": "EB", "added": "13900139000"}
    assert "13900139000" in ok(a.call("GET", "/lists/EB?enterprise=E1"))["values"]
    code, out = a.call("POST", "/lists/EW", {"value": "13900139000", "enterprise": "E1"})
    assert code == 409 and "never in both" in out["error"]
    assert ok(a.call("POST", "/lists/EB/remove", {"value": "13900139000", "enterprise": "E1"}))["removed"]
    assert a.call("POST", "/lists/EB", {"value": "13900139000"})[0] == 400  # EB needs an enterprise
    assert ok(a.call("POST", "/switches", {"enterprise": "E1", "unicom": True}))["unicom"] is True
    assert a.call("POST", "/switches", {"enterprise": "E1", "list_policy": "greylist"})[0] == 400
    assert a.call("POST", "/switches", {"enterprise": "nope", "unicom": True})[0] == 404
    assert ok(a.call("POST", "/quota", {"account": "10657109000001", "quota": 10})) == {
        "quota": 10, "quota_used": 0}
    assert a.call("POST", "/quota", {"quota": 10})[0] == 400
    assert ok(a.call("POST", "/ability", {"account": "10657109000001", "ability": 2}))["ability"] == 2
    assert a.call("POST", "/ability", {"account": "10657109000001", "ability": 7})[0] == 400


def test_clock_advance_needs_a_simulated_clock_and_moves_it(api):
    a, fake, clock = api
    fake.platform.network.set_outcome("13800138000", "DELIVRD", delay=100)
    fake.platform.bind("10657109000001", _Sink(), password=None)
    from fake_smsc_helpers import text_submit

    fake.platform.submit("10657109000001", text_submit("hi"))
    out = ok(a.call("POST", "/clock/advance", {"seconds": 150}))
    assert out["seconds"] == 150 and out["simulated"] is True and out["calls_run"] >= 2
    reports = ok(a.call("GET", "/reports"))["reports"]
    assert [(r["stat"], r["generated_at"]) for r in reports] == [("DELIVRD", 100.0)]  # at its own time
    assert a.call("POST", "/clock/advance", {"seconds": -1})[0] == 400
    assert ok(a.call("POST", "/purge", {}))["sizes"]["reports"] == 1
    counters = ok(a.call("GET", "/counters"))
    assert counters["platform"]["reports"] == 1 and "empp" in counters
    billing = ok(a.call("GET", "/billing?account=10657109000001"))
    assert billing["total"] == 1


def test_mo_with_raw_content_and_offline_items(api):
    a, fake, clock = api
    out = ok(a.call("POST", "/mo", {"from": "13900139000", "to": "1065710900000101",
                                    "content_hex": "c4e3bac3", "msg_fmt": 15}))
    assert out["items"][0]["text"] == "你好" and out["items"][0]["state"] == "offline"
    items = ok(a.call("GET", "/offline/1065710900000101"))["items"]
    assert [i["text"] for i in items] == ["你好"]
    assert a.call("POST", "/mo", {"from": "13900139000", "to": "999", "text": "x"})[0] == 400
    assert a.call("POST", "/mo", {"from": "13900139000", "to": "1065710900000101",
                                  "content_hex": "zz"})[0] == 400
    assert len(ok(a.call("GET", "/mos"))["mos"]) == 1


def test_in_process_dict_bodies_follow_the_same_number_rule(api):
    a, fake, clock = api
    code, out = a.call("POST", "/network/delay", {"min": 0, "max": float("inf")})
    assert code == 400 and "max" in out["error"]
    code, out = a.call("POST", "/overload", {"windows": [[0, float("nan")]]})
    assert code == 400 and "windows[0][1]" in out["error"]


def test_a_bug_in_a_handler_is_a_500_sentence(api, monkeypatch):
    a, fake, clock = api

    def boom(**kw):
        raise RuntimeError("kaput")

    a.routes[0] = ("GET", a.routes[0][1], boom)
    code, out = a.call("GET", "/")
    assert code == 500 and out == {"error": "internal error: RuntimeError: kaput"}


class _Sink:
    def deliver(self, item):
        pass

    def kicked(self):
        pass
