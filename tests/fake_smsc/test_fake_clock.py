"""The model's clock interface (clock.py): the model imports no Twisted, runs on any Clock,
and refuses anything else with a TypeError that says what to pass."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fake_smsc_helpers import MAIN, MOBILE, SIG, RecordingSink, config_text, text_submit
from twisted.internet.task import Clock as TaskClock

from smsdk_harness.fake_smsc import Platform, load_config
from smsdk_harness.fake_smsc.clock import Clock, Timer
from smsdk_harness.fake_smsc.simclock import ReactorClock

MODEL_MODULES = [
    "smsdk_harness.fake_smsc",
    "smsdk_harness.fake_smsc.clock",
    "smsdk_harness.fake_smsc.model",
    "smsdk_harness.fake_smsc.platform_scheduler",
    "smsdk_harness.fake_smsc.platform_lists",
    "smsdk_harness.fake_smsc.platform_checks",
    "smsdk_harness.fake_smsc.platform_delivery",
    "smsdk_harness.fake_smsc.platform_mo",
    "smsdk_harness.fake_smsc.platform_retention",
    "smsdk_harness.fake_smsc.platform_part",
]


def test_the_model_imports_no_twisted():
    code = ("import importlib, sys\n"
            f"for name in {MODEL_MODULES!r}:\n"
            "    importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m == 'twisted' or m.startswith('twisted.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class ListClock:
    """A Clock in a few lines, with no Twisted: calls in a list, run by ``advance``."""

    class Call:
        def __init__(self, when, fn, args):
            self.when, self.fn, self.args, self.live = when, fn, args, True

        def cancel(self):
            self.live = False

        def active(self):
            return self.live

    def __init__(self):
        self.t = 0.0
        self.calls = []

    def now(self):
        return self.t

    def call_later(self, delay, fn, *args):
        assert delay >= 0, delay  # the model never asks for a negative delay
        call = self.Call(self.t + delay, fn, args)
        self.calls.append(call)
        return call

    def advance(self, seconds):
        end = self.t + seconds
        while True:
            due = [c for c in self.calls if c.live and c.when <= end]
            if not due:
                break
            call = min(due, key=lambda c: c.when)
            self.t = max(self.t, call.when)
            call.live = False
            call.fn(*call.args)
        self.t = end


def test_the_model_runs_on_any_clock():
    clock = ListClock()
    assert isinstance(clock, Clock) and isinstance(clock.call_later(1, print), Timer)
    clock.calls.clear()
    p = Platform(load_config(config_text()), clock)
    sink = RecordingSink()
    p.bind(MAIN, sink)
    out = p.submit(MAIN, text_submit("hello", to=(MOBILE,)))
    assert out.result == 0
    clock.advance(0.5)
    assert sink.reports == []
    clock.advance(0.5)  # the network answers after 1 s (config_text)
    (report,) = sink.reports
    assert report.stat == "DELIVRD" and report.generated_at == 1.0
    assert p.handset(MOBILE).texts == ["hello" + SIG]
    p.close()
    assert not any(c.live for c in clock.calls)  # close() cancelled housekeeping too


@pytest.mark.parametrize("clock", [TaskClock(), None, 5.0])
def test_a_platform_refuses_what_is_not_a_clock(clock):
    with pytest.raises(TypeError, match=r"clock must be a Clock with now\(\) and call_later\(\)") as e:
        Platform(load_config(config_text()), clock)
    assert ("ReactorClock(reactor)" in str(e.value)) == isinstance(clock, TaskClock)


def test_reactor_clock_binds_the_twisted_clock():
    tc = TaskClock()
    rc = ReactorClock(tc)
    assert isinstance(rc, Clock) and rc.reactor is tc
    tc.advance(3)
    assert rc.now() == 3.0
    ran = []
    call = rc.call_later(2, ran.append, "x")
    assert call.active() and call in tc.getDelayedCalls()
    tc.advance(2)
    assert ran == ["x"] and not call.active()


def test_fake_smsc_needs_a_platform_on_a_twisted_clock():
    from smsdk_harness.fake_smsc.runner import FakeSmsc

    p = Platform(load_config(config_text()), ListClock())
    with pytest.raises(TypeError, match="FakeSmsc needs a platform on a Twisted clock"):
        FakeSmsc(p, reactor=TaskClock())
    p.close()
