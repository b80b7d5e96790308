"""The PUSH receiver: GBK form data in, `100` out, duplicates once, bad bodies 400."""

from __future__ import annotations

import logging
from io import BytesIO

from twisted.web.test.requesthelper import DummyRequest

from smsdk.http import MoEvent, PushReceiver, ReportEvent
from smsdk.http import wire
from tests.http_stub import EPOCH


def post(resource, body: bytes, content_type: bytes | None = b"application/x-www-form-urlencoded"):
    request = DummyRequest([b""])
    request.method = b"POST"
    request.content = BytesIO(body)
    if content_type is not None:
        request.requestHeaders.setRawHeaders(b"content-type", [content_type])
    written = resource.render(request)
    return request.responseCode or 200, written


def test_events_are_handed_once_and_answered_100():
    events, mos, reports = [], [], []
    receiver = PushReceiver(events.append, on_mo=mos.append, on_report=reports.append)
    report = ReportEvent("42", "13800138000", "DELIVRD", EPOCH, "0123456789abcdef0123")
    mo = MoEvent("13800138000", "106571090001", EPOCH, "回复 TD")
    for event in (report, report, mo, mo):
        assert post(receiver, wire.encode_push(event)) == (200, b"100")
    assert events == [report, mo] and mos == [mo] and reports == [report]
    assert receiver.received == 4 and receiver.duplicates == 2
    # a different stat for the same message is a different event
    failed = ReportEvent("42", "13800138000", "UNDELIV", EPOCH)
    assert post(receiver, wire.encode_push(failed)) == (200, b"100")
    assert events[-1] == failed


def test_a_body_that_is_not_gbk_form_data_gets_400_and_one_log_line(caplog):
    receiver = PushReceiver(lambda e: None)
    with caplog.at_level(logging.WARNING, logger="smsdk.http.push"):
        status, body = post(receiver, b"\x81\x20\xff binary")
    assert status == 400 and b"not GBK" in body
    (record,) = caplog.records
    assert "refused a PUSH" in record.getMessage() and record.exc_info is None
    assert post(receiver, b'{"type":"mo"}', b"application/json")[0] == 400
    assert post(receiver, b"type=report&mobile=1", None)[0] == 400
    assert receiver.malformed == 3 and receiver.received == 0


def test_a_failing_handler_gets_500_and_the_retry_is_handed_again(caplog):
    calls = []

    def handler(event):
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("database down")

    receiver = PushReceiver(handler)
    body = wire.encode_push(ReportEvent("1", "13800138000", "DELIVRD", EPOCH))
    with caplog.at_level(logging.ERROR):
        assert post(receiver, body)[0] == 500
    assert post(receiver, body) == (200, b"100")
    assert len(calls) == 2


def test_oversized_bodies_and_gets_are_refused():
    receiver = PushReceiver(lambda e: None, max_body=100)
    assert post(receiver, b"type=mo&content=" + b"a" * 200)[0] == 413
    request = DummyRequest([b""])
    request.method = b"GET"
    receiver.render(request)
    assert request.responseCode == 405
