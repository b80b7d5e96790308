"""The HTTP wire functions (sans-IO): auth, request encoding, response and PUSH parsing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdk.errors import PlanError
from smsdk.http import codes as C
from smsdk.http import wire

ACC = wire.Account("95102", "000", "secret")
AT = datetime(2024, 5, 20, 9, 0, tzinfo=wire.CHINA)


def form(request: wire.HttpRequest, encoding: str = "gbk") -> dict[str, str]:
    assert request.body is not None
    return dict(parse_qsl(request.body.decode("ascii"), encoding=encoding, errors="strict"))


def test_auth_is_lowercase_md5_of_eid_password_timestamp():
    # vectors computed with md5sum
    assert wire.auth_token("95102", "secret", "202405200900") == "3eb9ff1da3911b4c7c582f80a21fc55d"
    assert wire.auth_token("10657109000001", "pass", "201001011200") == "d15618b8952a6c66f6db3881f4bf3668"


def test_timestamp_is_china_time_whatever_the_clock_zone():
    utc = datetime(2024, 5, 20, 1, 0, 59, tzinfo=timezone.utc)
    assert wire.format_timestamp(utc) == "202405200900"
    assert wire.format_time(utc) == "20240520090059"
    with pytest.raises(ValueError, match="timezone-aware"):
        wire.format_timestamp(datetime(2024, 5, 20, 9, 0))


def test_submit_posts_a_form_with_auth_never_the_password():
    request = wire.encode_submit(ACC, ["13800138000", "13900139000"], "您好", timestamp="202405200900")
    assert request.method == "POST" and request.path == "/httpserver" and request.query == ""
    assert request.content_type == "application/x-www-form-urlencoded"
    fields = form(request)
    assert fields == {"enterpriseid": "95102", "accountid": "000", "timestamp": "202405200900",
                      "auth": "3eb9ff1da3911b4c7c582f80a21fc55d", "mobs": "13800138000,13900139000",
                      "msg": "您好"}
    assert b"secret" not in request.body and "pswd" not in fields
    assert b"%C4%FA%BA%C3" in request.body  # 您好 in GBK, URL-encoded


def test_submit_with_at_time_in_china_time():
    at = datetime(2024, 5, 21, 0, 30, tzinfo=timezone.utc)
    fields = form(wire.encode_submit(ACC, ["13800138000"], "hi", timestamp="202405200900", at_time=at))
    assert fields["attime"] == "20240521083000"


def test_non_gbk_text_goes_as_utf8_with_charset_by_default():
    text = "生日快乐🎂"
    request = wire.encode_submit(ACC, ["13800138000"], text, timestamp="202405200900")
    fields = form(request, "utf-8")
    assert fields["msg"] == text and fields["charset"] == "utf-8"


def test_non_gbk_text_is_refused_clearly_when_gbk_is_required():
    with pytest.raises(C.TextEncodingError, match=r"GBK cannot hold: '🎂' \(U\+1F382\) at 4"):
        wire.encode_submit(ACC, ["13800138000"], "生日快乐🎂", timestamp="202405200900", charset="gbk")
    with pytest.raises(C.TextEncodingError, match="lone surrogate"):
        wire.choose_charset("a\ud800", "auto")
    with pytest.raises(ValueError, match="charset must be one of"):
        wire.choose_charset("a", "latin-1")


@given(st.text(min_size=1, max_size=40))
def test_any_text_round_trips_through_the_form_never_garbled(text):
    try:
        request = wire.encode_submit(ACC, ["13800138000"], text, timestamp="202405200900")
    except C.TextEncodingError:
        assert any(0xD800 <= ord(c) <= 0xDFFF for c in text)
        return
    except PlanError:
        assert not text
        return
    raw = dict(parse_qsl(request.body.decode("ascii")))
    encoding = "utf-8" if raw.get("charset") == "utf-8" else "gbk"
    assert form(request, encoding)["msg"] == text


def test_text_over_512_chars_is_refused_before_sending():
    wire.encode_submit(ACC, ["13800138000"], "a" * 512, timestamp="202405200900")
    with pytest.raises(PlanError, match="513 chars; the HTTP interface takes at most 512") as info:
        wire.encode_submit(ACC, ["13800138000"], "a" * 513, timestamp="202405200900")
    assert isinstance(info.value, ValueError)
    with pytest.raises(PlanError, match="empty"):
        wire.check_text("")


def test_pieces_are_ceil_len_over_60():
    assert [wire.pieces(n) for n in (1, 60, 61, 120, 121, 512)] == [1, 1, 2, 2, 3, 9]


def test_account_fields_are_checked():
    with pytest.raises(ValueError, match="account_id"):
        wire.Account("95102", "1" * 19, "p")
    with pytest.raises(ValueError, match="enterprise_id"):
        wire.Account("95a02", "000", "p")
    with pytest.raises(TypeError, match="password must be a str"):
        wire.Account("95102", "000", None)  # type: ignore[arg-type]
    assert "secret" not in repr(ACC)
    assert wire.Account("95102", "", "p").account_id == ""   # the main account


def test_poll_requests_are_gets_with_auth():
    deliver = wire.encode_deliver(ACC, timestamp="202405200900")
    assert deliver.method == "GET" and deliver.body is None
    assert dict(parse_qsl(deliver.query)) == {
        "eid": "95102", "timestamp": "202405200900", "auth": "3eb9ff1da3911b4c7c582f80a21fc55d",
        "urlencoding": "on", "comment": "off", "keepdeliver": "true"}
    assert deliver.url("http://h:8000/") == f"http://h:8000/httpdeliver.sms?{deliver.query}"
    reports = wire.encode_reports(ACC, timestamp="202405200900", start=AT, end=AT + timedelta(hours=1))
    assert dict(parse_qsl(reports.query))["start"] == "202405200900"
    assert dict(parse_qsl(reports.query))["end"] == "202405201000"
    query = wire.encode_query(ACC, timestamp="202405200900", ids=["12", "13"])
    assert dict(parse_qsl(query.query))["ids"] == "12,13"
    for request in (deliver, reports, query):
        assert "secret" not in request.query and "pswd" not in request.query


def test_report_windows_are_checked():
    wire.check_window(AT - timedelta(hours=1), AT, AT)
    with pytest.raises(ValueError, match="over 60 minutes"):
        wire.check_window(AT - timedelta(minutes=61), AT, AT)
    with pytest.raises(ValueError, match="only today and the 2 days before"):
        wire.check_window(datetime(2024, 5, 17, 23, 30, tzinfo=wire.CHINA),
                          datetime(2024, 5, 18, 0, 30, tzinfo=wire.CHINA), AT)
    wire.check_window(datetime(2024, 5, 18, 0, 0, tzinfo=wire.CHINA),
                      datetime(2024, 5, 18, 1, 0, tzinfo=wire.CHINA), AT)
    with pytest.raises(ValueError, match="not before"):
        wire.check_window(AT, AT, AT)


def test_submit_response_gives_the_send_id_or_the_refusal():
    assert wire.parse_submit_response(b"100\n123456\n") == "123456"
    assert wire.parse_submit_response(b"100\r\n77\r\n") == "77"
    with pytest.raises(C.AuthenticationFailed, match="clock"):
        wire.parse_submit_response(b"102\n")
    with pytest.raises(C.RateLimited):
        wire.parse_submit_response(b"10004\n")
    with pytest.raises(C.PlatformBusy):
        wire.parse_submit_response(b"10005")
    with pytest.raises(C.HttpRefused, match="15 too many numbers") as info:
        wire.parse_submit_response(b"15\n")
    assert info.value.code == 15
    with pytest.raises(C.HttpRefused, match="unknown code 999"):
        wire.parse_submit_response(b"999\n")
    with pytest.raises(C.HttpProtocolError, match="without a send id"):
        wire.parse_submit_response(b"100\n")
    with pytest.raises(C.HttpProtocolError, match="not a status code"):
        wire.parse_submit_response(b"<html>oops</html>")
    with pytest.raises(C.HttpProtocolError, match="not GBK"):
        wire.parse_submit_response(b"100\n\xff\xff")


def test_mo_lines_decode_gbk_urlencoded_content_and_keep_bad_lines_aside():
    body = ("100\n#mobile,dest,time,content\n13800138000,106571090001,20240520083000,%C4%FA%BA%C3%2C+hi\n"
            "garbage\n13900139000,1065710900,20240520083100,ok\n").encode("gbk")
    polled = wire.parse_mo_response(body)
    assert [(e.mobile, e.dest_id, e.text) for e in polled.events] == [
        ("13800138000", "106571090001", "您好, hi"), ("13900139000", "1065710900", "ok")]
    assert polled.events[0].time == datetime(2024, 5, 20, 8, 30, tzinfo=wire.CHINA)
    assert polled.malformed == ("garbage",)
    plain = wire.parse_mo_response("100\n13800138000,1065,20240520083000,a,b 您好\n".encode("gbk"),
                                   urlencoding=False)
    assert plain.events[0].text == "a,b 您好"
    with pytest.raises(C.RateLimited):
        wire.parse_mo_response(b"10004\n")


OUTSIDE_GBK = "\U00020000😀"   # 𠀀 (CJK Ext. B) and an emoji: GB18030 only


def test_mo_text_outside_gbk_is_decoded_as_gb18030():
    # the platform sends GB18030 (a superset of GBK) for text GBK cannot hold
    from urllib.parse import quote

    escaped = quote(("您好" + OUTSIDE_GBK).encode("gb18030"), safe="")
    polled = wire.parse_mo_response(f"100\n13800138000,1065,20240520083000,{escaped}\n".encode("ascii"))
    assert polled.malformed == () and polled.events[0].text == "您好" + OUTSIDE_GBK
    plain = wire.parse_mo_response(f"100\n13800138000,1065,20240520083000,{OUTSIDE_GBK}\n".encode("gb18030"),
                                   urlencoding=False)
    assert plain.events[0].text == OUTSIDE_GBK
    from urllib.parse import urlencode

    push = urlencode([("type", "mo"), ("mobile", "13800138000"), ("dest", "1065"),
                      ("time", "20240520090000"), ("content", OUTSIDE_GBK)], encoding="gb18030").encode()
    for content_type in (None, "application/x-www-form-urlencoded; charset=GB18030",
                         "application/x-www-form-urlencoded; charset=GBK"):
        assert wire.parse_push(push, content_type).text == OUTSIDE_GBK


def test_report_lines():
    body = b"100\n55,13800138000,DELIVRD,20240520090500\n55,13900139000,CA:0054,20240520090501\n56,x\n"
    polled = wire.parse_report_response(body)
    assert [(e.send_id, e.mobile, e.stat) for e in polled.events] == [
        ("55", "13800138000", "DELIVRD"), ("55", "13900139000", "CA:0054")]
    assert polled.malformed == ("56,x",)
    assert polled.events[0].key == ("report", "55", "13800138000", "DELIVRD")


def test_push_round_trip_and_raw_gbk():
    mo = wire.MoEvent("13800138000", "106571090001", AT, "您好 & =")
    assert wire.parse_push(wire.encode_push(mo)) == mo
    report = wire.ReportEvent("55", "13800138000", "DELIVRD", AT, "0123456789abcdef0123")
    assert wire.parse_push(wire.encode_push(report), "application/x-www-form-urlencoded; charset=GBK") == report
    raw = "type=mo&mobile=13800138000&dest=1065&time=20240520090000&content=您好".encode("gbk")
    assert wire.parse_push(raw).text == "您好"


@pytest.mark.parametrize("body, content_type, message", [
    (b"\x81\x20broken", None, r"not GBK \(GB18030\) text"),
    (b"type=mo&content=%FF%FF&mobile=1&time=20240520090000", None, "not GBK"),
    (b'{"type": "mo"}', None, "not form data"),
    (b"type=mo&mobile=13800138000&time=20240520090000", "application/json", "is not application/x-www-form-urlencoded"),
    (b"type=fax&mobile=1&time=20240520090000", None, "unknown event type 'fax'"),
    (b"type=report&mobile=1&stat=DELIVRD&time=20240520090000", None, "needs 'sendid' or 'msgid'"),
    (b"type=mo&mobile=1&time=yesterday", None, "yyyyMMddHHmmss"),
    (b"mobile=1", None, "'type' is missing"),
    (b"type=mo&type=report", None, "given twice"),
])
def test_push_bodies_that_are_not_gbk_form_data_are_refused_clearly(body, content_type, message):
    with pytest.raises(C.PushFormatError, match=message):
        wire.parse_push(body, content_type)
