"""The HTTP interface through twisted.web: treq's in-memory StubTreq (GET query strings and
POST forms with GBK percent-encoding, status codes, content types), then real sockets via
the ``fake_smsc`` fixture (``fake_smsc.http_url``)."""

from __future__ import annotations

import urllib.parse
import urllib.request

import pytest
from treq.testing import StubTreq

from fake_smsc_helpers import MOBILE, SIG
from http_helpers import MAIN, MAIN_PW, World, md5, result_of
from smsdk_harness.fake_smsc.http_server import HttpResource

BASE = "http://fake.example:8000"


@pytest.fixture
def web():
    w = World()
    stub = StubTreq(HttpResource(w.http))

    def call(method: str, path: str, query: bytes = b"", form: bytes | None = None):
        url = f"{BASE}{path}" + ("?" + query.decode("ascii") if query else "")
        kw = {}
        if form is not None:
            kw = {"data": form, "headers": {b"content-type": [b"application/x-www-form-urlencoded"]}}
        d = stub.request(method, url, **kw)
        stub.flush()
        resp = result_of(d)
        body = result_of(resp.content())
        return resp.code, resp.headers.getRawHeaders(b"content-type", [b""])[0].decode(), body

    yield w, call
    w.close()


def gbk_query(**params: str) -> bytes:
    return urllib.parse.urlencode(params, encoding="gbk").encode("ascii")


def test_get_with_a_gbk_query_string(web):
    w, call = web
    ts = w.stamp()
    code, ctype, body = call("GET", "/httpserver", gbk_query(
        enterpriseid="E1", accountid="", mobs=MOBILE, msg="您好 & 再见", timestamp=ts,
        auth=md5("E1", MAIN_PW, ts)))
    assert code == 200 and ctype == "text/plain; charset=GBK"
    assert body.startswith(b"100\n") and body.endswith(b"\n") and body.count(b"\n") == 2
    w.settle()
    assert w.platform.handset(MOBILE).texts == ["您好 & 再见" + SIG]


def test_post_form_and_a_refusal_in_gbk(web):
    w, call = web
    code, ctype, body = call("POST", "/httpserver", form=gbk_query(
        enterpriseid="E1", accountid="", mobs=MOBILE, msg="x" * 513, pswd=MAIN_PW))
    assert code == 200 and body.decode("gbk") == "104\nmsg is 513 chars; at most 512 (FAQ-2.3.2)\n"
    code, _, body = call("POST", "/httpserver", form=gbk_query(
        enterpriseid="E1", accountid="", mobs=MOBILE, msg="表", pswd=MAIN_PW))
    assert body.startswith(b"100\n")
    assert w.platform.submissions()[-1].text == "表"  # 0xB1ED: the trail byte is not ASCII


def test_raw_gbk_percent_bytes_and_plus_as_space(web):
    w, call = web
    code, _, body = call("GET", "/httpserver",
                         b"enterpriseid=E1&accountid=&mobs=" + MOBILE.encode() + b"&pswd=" + MAIN_PW.encode()
                         + b"&msg=%C4%E3%BA%C3+world")
    assert body.startswith(b"100\n")
    assert w.platform.submissions()[-1].text == "你好 world"


def test_polling_answers_through_the_web_layer(web):
    w, call = web
    w.platform.inject_mo(MOBILE, MAIN, "回复")
    ts = w.stamp()
    code, ctype, body = call("GET", "/httpdeliver.sms", gbk_query(
        eid=MAIN, timestamp=ts, auth=md5(MAIN, MAIN_PW, ts), urlencoding="off", keepdeliver="true"))
    assert body.decode("gbk") == f"100\n{MOBILE},{MAIN},20240501080000,回复\n"


def test_not_an_endpoint_is_404_and_other_methods_are_405(web):
    _w, call = web
    code, ctype, body = call("GET", "/sms")
    assert code == 404 and b"/httpserver" in body
    code, _, _ = call("PUT", "/httpserver")
    assert code == 405


def test_the_fixture_serves_http_on_a_real_port(fake_smsc):
    url = fake_smsc.http_url
    assert url.startswith("http://127.0.0.1:") and url.endswith("/")
    ts = fake_smsc.platform.china_now().strftime("%Y%m%d%H%M")
    info = fake_smsc.account()
    ent = fake_smsc.platform.account(info.id).enterprise
    query = urllib.parse.urlencode({"enterpriseid": ent.id, "accountid": "", "mobs": "13900139000",
                                    "msg": "来自 HTTP", "timestamp": ts,
                                    "auth": md5(ent.id, info.password, ts)}, encoding="gbk")
    box = []

    def fetch():
        with urllib.request.urlopen(f"{url}httpserver?{query}", timeout=5) as r:
            box.append((r.headers["content-type"], r.read()))

    import threading

    t = threading.Thread(target=fetch)
    t.start()
    fake_smsc.run_until(lambda: box, timeout=10, what="the HTTP answer")
    t.join()
    ctype, body = box[0]
    assert ctype == "text/plain; charset=GBK" and body.startswith(b"100\n")
    fake_smsc.run_until(lambda: fake_smsc.handset("13900139000").texts, timeout=10)
    assert fake_smsc.handset("13900139000").texts == ["来自 HTTP" + ent.signature]


@pytest.mark.fake_smsc(http_port=None)
def test_the_fixture_without_http(fake_smsc):
    with pytest.raises(RuntimeError, match="http_port"):
        fake_smsc.http_url


def test_the_fake_reads_paths_names_and_codes_from_the_sdk_table():
    """One table: the fake's http_table takes every path, parameter and PUSH field name,
    format and code from smsdk.http.codes; only platform-only extras are its own."""
    from smsdk.http import codes as C
    from smsdk_harness.fake_smsc import http_table as T

    assert (T.SEND, T.DELIVER, T.REPORT, T.QUERY) == (C.SEND_PATH, C.DELIVER_PATH, C.REPORT_PATH, C.QUERY_PATH)
    params = {v for k, v in vars(T.PARAM).items() if k.isupper()}
    assert params == set(C.FIELDS.values())
    assert set(T.PUSH_MO) | set(T.PUSH_REPORT) == set(C.PUSH_FIELDS.values())
    assert (T.TIME_FORMAT, T.MINUTE_FORMAT) == (C.TIME_FORMAT, C.TIMESTAMP_FORMAT)
    assert T.PUSH_OK_BODY.encode() == C.PUSH_ANSWER
    assert {c: m.name for c, m in T.CODES.items()} == {c: m.name for c, (m, _) in C.HTTP_CODES.items()}
    for name in ("OK", "BAD_PARAMETER", "AUTH_FAILED", "NOT_REGISTERED", "BAD_TEXT", "QUOTA",
                 "BAD_NUMBER", "GROUP_LIMIT", "TOO_FAST", "BUSY"):
        assert getattr(T, name) == getattr(C, name)
    # every result the model's checks give (config.DEFAULT_CHECK_ORDER) is an HTTP code
    assert {T.http_code_of(r) for r in (0, 6, 7, 10, 13, 15, 10000, 10003, 10004, 10005, 10007)} <= set(C.HTTP_CODES)
