"""smsdk.ratelimit.TokenBucket (the one bucket: SDK pacing and the fake platform's 10004)
and smsdk.china_time.CHINA (the one UTC+8)."""

from __future__ import annotations

import ast
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdk.china_time import CHINA
from smsdk.ratelimit import TokenBucket

ROOT = Path(__file__).resolve().parent.parent


def test_starts_full_and_takes_whole_costs_only():
    b = TokenBucket(10, 4, now=100.0)
    assert b.available(100.0) == 4.0
    assert b.take(3, 100.0) is True
    assert b.available(100.0) == pytest.approx(1.0)
    assert b.take(2, 100.0) is False  # a refusal takes nothing
    assert b.available(100.0) == pytest.approx(1.0)
    assert b.take(1, 100.0) is True
    assert b.available(100.0) == 0.0


def test_refills_at_rate_up_to_burst():
    b = TokenBucket(10, 4, now=0.0)
    assert b.take(4, 0.0)
    assert b.available(0.1) == pytest.approx(1.0)
    assert b.available(0.25) == pytest.approx(2.5)
    assert b.available(60.0) == 4.0  # never above burst


def test_a_clock_that_goes_back_neither_adds_nor_removes_tokens():
    b = TokenBucket(10, 4, now=5.0)
    assert b.take(4, 5.0)
    assert b.available(4.0) == 0.0
    assert b.available(5.1) == pytest.approx(1.0)


def test_float_error_of_fractional_refills_is_absorbed():
    b = TokenBucket(3, 3, now=0.0)
    assert b.take(3, 0.0)
    t = 0.0
    for _ in range(10):  # 3 tokens in ten steps of 0.1 s: 2.9999999999999996 by float sums
        t += 0.1
        b.available(t)
    assert b.take(3, t) is True
    assert b.tokens == 0.0  # never below zero


def test_wait_for_and_ready_at():
    b = TokenBucket(10, 5, now=0.0)
    assert b.wait_for(5, 0.0) == 0.0 and b.ready_at(5, 0.0) == 0.0
    assert b.take(5, 0.0)
    assert b.wait_for(2, 0.0) == pytest.approx(0.2)
    assert b.ready_at(2, 0.05) == pytest.approx(0.2)
    assert b.take(2, 0.1) is False
    assert b.take(2, b.ready_at(2, 0.1)) is True
    assert b.ready_at(2, 10.0) == 10.0  # full again by then


def test_a_cost_above_burst_never_comes():
    b = TokenBucket(10, 5, now=0.0)
    assert b.wait_for(6, 0.0) == math.inf and b.ready_at(6, 0.0) == math.inf
    assert b.take(6, 1000.0) is False
    assert b.available(1000.0) == 5.0


def test_pause_holds_ready_at_back_but_tokens_keep_filling():
    b = TokenBucket(10, 5, now=0.0)
    b.pause(3.0)
    b.pause(2.0)  # an earlier end does not shorten it
    assert b.ready_at(1, 0.0) == 3.0
    assert b.take(5, 0.5) is True  # take itself ignores the pause
    assert b.available(1.0) == pytest.approx(5.0)
    assert b.ready_at(1, 4.0) == 4.0


@pytest.mark.parametrize("args, error, word", [
    (("10", 5, 0.0), TypeError, "rate"),
    ((10, None, 0.0), TypeError, "burst"),
    ((10, 5, "now"), TypeError, "now"),
    ((True, 5, 0.0), TypeError, "rate"),
    ((0, 5, 0.0), ValueError, "rate"),
    ((-1, 5, 0.0), ValueError, "rate"),
    ((math.inf, 5, 0.0), ValueError, "rate"),
    ((10, 0, 0.0), ValueError, "burst"),
    ((10, math.nan, 0.0), ValueError, "burst"),
])
def test_refuses_bad_arguments_naming_them(args, error, word):
    with pytest.raises(error, match=word):
        TokenBucket(*args)


@given(
    rate=st.integers(1, 50),
    burst=st.integers(1, 20),
    plan=st.lists(st.tuples(st.integers(0, 40).map(lambda k: k / 16), st.integers(1, 6)), max_size=60),
)
def test_accepts_exactly_what_a_reference_bucket_accepts(rate, burst, plan):
    """Against a bucket in exact rational arithmetic: the same answers, and what was taken
    over [0, t] never exceeds rate * t + burst."""
    from fractions import Fraction

    b = TokenBucket(rate, burst, now=0.0)
    tokens, updated, t, taken = Fraction(burst), Fraction(0), Fraction(0), 0
    for step, cost in plan:
        t += Fraction(step)
        tokens = min(Fraction(burst), tokens + (t - updated) * rate)
        updated = t
        expected = tokens >= cost
        assert b.take(cost, float(t)) is expected
        if expected:
            tokens -= cost
            taken += cost
        assert taken <= rate * t + burst


# ---------------------------------------------------------------- one of each, both sides


def test_the_sdk_paces_with_the_shared_bucket():
    from smsdk.dispatch import Dispatcher, DispatchSettings

    d = Dispatcher(settings=DispatchSettings(rate=5, burst=0.5), now=2.0)
    assert type(d._bucket) is TokenBucket
    assert d._bucket.burst == 1.0  # the SDK's bucket holds at least one token
    assert (d._bucket.rate, d._bucket.updated) == (5.0, 2.0)


def test_the_fake_platform_limits_with_the_shared_bucket():
    from twisted.internet.task import Clock

    from smsdk_harness.fake_smsc import Platform, default_config

    platform = Platform(default_config(), Clock())
    try:
        accounts = platform.accounts()
        assert accounts and all(type(a.bucket) is TokenBucket for a in accounts)
    finally:
        platform.close()


def test_china_time_is_utc_plus_8_without_daylight_saving():
    assert CHINA.utcoffset(None) == timedelta(hours=8)
    assert CHINA == timezone(timedelta(hours=8))
    summer = datetime(2024, 7, 1, 12, tzinfo=timezone.utc).astimezone(CHINA)
    winter = datetime(2024, 1, 1, 12, tzinfo=timezone.utc).astimezone(CHINA)
    assert (summer.hour, winter.hour) == (20, 20)
    assert CHINA.tzname(None) == "CST"


def test_every_side_uses_the_one_china_zone():
    from smsdk import client, dispatch
    from smsdk_harness.fake_smsc import config, model, timefmt

    for module in (client, dispatch, timefmt, model):
        assert module.CHINA is CHINA, module.__name__
    assert config._CHINA is CHINA


def _sources():
    for folder in ("src", "harness", "benchmarks", "examples", "tools"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_no_other_utc_plus_8_or_token_bucket_is_defined():
    """The sources define UTC+8 and a token bucket once each (smsdk.china_time,
    smsdk.ratelimit): no ``timedelta(hours=8)`` / 28800 s offset and no bucket class
    elsewhere."""
    found = []
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and "bucket" in node.name.lower() and rel != "src/smsdk/ratelimit.py":
                found.append(f"{rel}:{node.lineno} class {node.name}")
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "timedelta":
                if any(k.arg == "hours" and getattr(k.value, "value", None) == 8 for k in node.keywords):
                    if rel != "src/smsdk/china_time.py":
                        found.append(f"{rel}:{node.lineno} timedelta(hours=8)")
            if isinstance(node, ast.Constant) and node.value == 28800:
                found.append(f"{rel}:{node.lineno} 28800")
    assert found == []
