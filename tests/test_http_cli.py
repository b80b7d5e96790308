"""``smsdk send --via http`` and ``smsdk push-receiver``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

from click.testing import CliRunner
from twisted.internet import defer

from smsdk.cli import main
from smsdk.dispatch import DispatchSettings
from smsdk.http import ReportEvent, commands, wire
from tests.http_stub import EPOCH, HANG, make, wallclock


def run_send(stub_answers, *, wait=30.0, text="您好", **client_options):
    clock, stub, treq = make()
    for path, bodies in stub_answers.items():
        stub.answer(path, *bodies)
    results = []
    d = defer.ensureDeferred(commands._send(
        clock, "http://h:8000", "95102", "000", "secret", text, ["13800138000", "13900139000", "bad"],
        DispatchSettings(), wait, True, 5.0, http=treq, wallclock=wallclock(clock), **client_options))
    d.addBoth(results.append)
    clock.pump([1.0] * int(wait + 5))
    return results[0], stub


def test_send_via_http_prints_one_outcome_per_recipient(capsys):
    code, stub = run_send({
        "/httpserver": [b"100\n31\n"],
        "/queryrptbyid.sms": [b"100\n31,13800138000,DELIVRD,20240520090003\n31,13900139000,UNDELIV,20240520090003\n"],
    })
    data = json.loads(capsys.readouterr().out)
    states = {o["recipient"]: (o["state"], o["status"]) for o in data["outcomes"]}
    assert states == {"13800138000": ("delivered", "DELIVRD"), "13900139000": ("failed", "UNDELIV"),
                      "bad": ("rejected", "")}
    assert code == 1
    assert stub.of("/queryrptbyid.sms")[0].params["ids"] == "31"


def test_send_via_http_with_a_wrong_clock_or_password_exits_3_with_the_hint(capsys):
    code, _ = run_send({"/httpserver": [b"102\n"]})
    assert code == 3
    err = capsys.readouterr().err
    assert "authentication failed" in err and "clock" in err


def test_send_via_http_refuses_a_513_char_text_as_a_usage_error(capsys):
    code, stub = run_send({}, text="a" * 513)
    assert code == 2 and "513 chars" in capsys.readouterr().err and stub.requests == []


def test_send_via_http_needs_an_enterprise_id():
    result = CliRunner().invoke(main, ["send", "--via", "http", "--host", "h", "--account", "000",
                                       "--password", "p", "--to", "13800138000", "hi"])
    assert result.exit_code == 2 and "--enterprise-id" in result.output


def test_push_receiver_command_prints_events_and_answers_100():
    proc = subprocess.Popen([sys.executable, "-m", "smsdk.cli", "push-receiver", "--port", "0", "--path", "/push",
                             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, line + proc.stderr.read()
        url = line.rsplit(" ", 1)[1].strip()
        body = wire.encode_push(ReportEvent("9", "13800138000", "DELIVRD", EPOCH))
        for _ in range(2):  # the second is a duplicate: answered, not printed
            request = urllib.request.Request(url, data=body, headers={
                "Content-Type": "application/x-www-form-urlencoded"})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200 and response.read() == b"100"
        bad = urllib.request.Request(url, data=b"\xff\xfe", headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        try:
            urllib.request.urlopen(bad, timeout=10)
            raise AssertionError("a non-GBK body was accepted")
        except urllib.error.HTTPError as exc:
            assert exc.code == 400
        event = json.loads(proc.stdout.readline())
        assert event == {"type": "report", "sendid": "9", "msgid": "", "mobile": "13800138000",
                         "stat": "DELIVRD", "time": "2024-05-20T09:00:00+08:00"}
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert out == "" and "Traceback" not in err


def test_send_via_http_prints_pending_recipients_when_the_wait_ends(capsys):
    code, stub = run_send({"/httpserver": [b"100\n31\n"]}, wait=10.0)
    data = json.loads(capsys.readouterr().out)
    states = {o["recipient"]: o["state"] for o in data["outcomes"]}
    assert states == {"13800138000": "accepted", "13900139000": "accepted", "bad": "rejected"}
    assert code == 1


def test_send_via_http_flags_recipients_of_a_request_sent_again_after_a_lost_answer(capsys):
    # the first answer is lost (timeout), the request goes again and is accepted: both copies
    # may have been accepted, so the JSON flags each recipient and counts them like EMPP's job
    code, stub = run_send({
        "/httpserver": [HANG, b"100\n31\n"],
        "/queryrptbyid.sms": [b"100\n31,13800138000,DELIVRD,20240520090003\n31,13900139000,DELIVRD,20240520090003\n"],
    }, wait=70.0, timeout=5.0)
    data = json.loads(capsys.readouterr().out)
    rows = {o["recipient"]: (o["state"], o["possible_duplicate"]) for o in data["outcomes"]}
    assert rows == {"13800138000": ("delivered", True), "13900139000": ("delivered", True),
                    "bad": ("rejected", False)}
    assert data["possible_duplicates"] == 2
    assert len(stub.of("/httpserver")) == 2 and code == 1


def test_send_via_http_flags_a_recipient_still_awaiting_its_report(capsys):
    # the request went again after a lost answer and was accepted, but no report came within
    # --wait: the rows are "accepted" and must still carry the flag (they said false)
    code, stub = run_send({"/httpserver": [HANG, b"100\n31\n"]}, wait=30.0, timeout=5.0)
    data = json.loads(capsys.readouterr().out)
    rows = {o["recipient"]: (o["state"], o["possible_duplicate"]) for o in data["outcomes"]}
    assert rows == {"13800138000": ("accepted", True), "13900139000": ("accepted", True),
                    "bad": ("rejected", False)}
    assert data["possible_duplicates"] == 2 and code == 1
