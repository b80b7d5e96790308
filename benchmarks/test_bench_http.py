"""HTTP wire benchmarks (pure Python, sans-IO): encode a submit, parse its answer, parse
report and MO pages, parse a PUSH body.  No network: smsdk.http.wire only."""

from __future__ import annotations

from datetime import datetime

from smsdk.http import wire

ACC = wire.Account("95102", "000", "secret")
FIVE = [f"1380013800{i}" for i in range(5)]
TEXT = "【示例科技】您的验证码是 123456，5 分钟内有效。如非本人操作请忽略。"
NOW = datetime(2024, 5, 20, 9, 0, tzinfo=wire.CHINA)
REPORTS = ("100\n" + "".join(f"{1000 + i // 5},1380013{i:04d},DELIVRD,20240520090{i % 10}00\n"
                             for i in range(1000))).encode("gbk")
MOS = ("100\n" + "".join(f"1380013{i:04d},106571090001,20240520090000,%C4%FA%BA%C3+TD\n"
                         for i in range(1000))).encode("gbk")
PUSH = wire.encode_push(wire.ReportEvent("4711", "13800138000", "DELIVRD", NOW, "0123456789abcdef0123"))


def test_encode_submit_5_numbers(benchmark):
    request = benchmark(wire.encode_submit, ACC, FIVE, TEXT, timestamp="202405200900")
    assert request.body


def test_auth_token(benchmark):
    benchmark(wire.auth_token, "95102", "secret", "202405200900")


def test_parse_submit_response(benchmark):
    assert benchmark(wire.parse_submit_response, b"100\n4711\n") == "4711"


def test_parse_1000_report_lines(benchmark):
    assert len(benchmark(wire.parse_report_response, REPORTS).events) == 1000


def test_parse_1000_mo_lines(benchmark):
    assert len(benchmark(wire.parse_mo_response, MOS).events) == 1000


def test_parse_push_report(benchmark):
    assert benchmark(wire.parse_push, PUSH, "application/x-www-form-urlencoded").stat == "DELIVRD"
