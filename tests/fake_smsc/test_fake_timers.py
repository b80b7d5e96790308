"""The model's timer heap (one reactor timer for every pending delivery, network outcome and
EXPIRED report): firing times, order, interleaving with the clock's other calls, close()."""

from __future__ import annotations

from fake_smsc_helpers import MAIN, MOBILE, MOBILE2, RecordingSink, config_text, text_submit
from twisted.internet.task import Clock

from smsdk_harness.fake_smsc import Platform, load_config
from smsdk_harness.fake_smsc.platform_checks import _check_result
from smsdk_harness.fake_smsc.simclock import ReactorClock, SimulatedClock


def test_outcomes_fire_at_their_own_times_in_due_order(platform, clock):
    platform.network.set_outcome(MOBILE, "DELIVRD", delay=5.0)
    platform.network.set_outcome(MOBILE2, "UNDELIV", delay=2.0)
    platform.submit(MAIN, text_submit("a", to=(MOBILE,)))
    platform.submit(MAIN, text_submit("b", to=(MOBILE2,)))
    clock.advance(0)
    assert platform.reports() == []
    assert platform.sizes()["timers"] == 2
    clock.advance(1.999)
    assert platform.reports() == []
    clock.advance(0.001)
    assert [r.item.stat for r in platform.reports()] == ["UNDELIV"]
    assert platform.reports()[0].item.generated_at == clock.seconds()
    clock.advance(3)
    assert [r.item.stat for r in platform.reports()] == ["UNDELIV", "DELIVRD"]
    assert platform.sizes()["timers"] == 0


def _interleaving(make_platform, clock, advance):
    """Reports due at 1 s and 3 s and another clock call at 2 s, over one advance of 10 s."""
    seen = []
    platform = make_platform(clock)
    platform.network.set_outcome(MOBILE, "DELIVRD", delay=1.0)
    platform.network.set_outcome(MOBILE2, "DELIVRD", delay=3.0)
    platform.subscribe(lambda rec: seen.append("report")
                       if hasattr(rec, "item") and rec.item.kind == "report" else None)
    platform.submit(MAIN, text_submit("a", to=(MOBILE, MOBILE2)))
    clock.advance(0)
    clock.callLater(2.0, lambda: seen.append("other"))
    advance(clock)
    platform.close()
    return seen


def test_a_clock_that_runs_each_call_at_its_own_time_interleaves_the_other_calls():
    def make(clock):
        return Platform(load_config(config_text()), ReactorClock(clock))

    seen = _interleaving(make, SimulatedClock(), lambda c: c.advance(10))
    assert seen == ["report", "other", "report"]


def test_every_clock_runs_what_is_due_by_its_now():
    """No clock is special: a late timer runs everything due by now, as on a real reactor.
    task.Clock.advance(10) runs its calls at 10 s, so both reports come before the other
    call (before, a task.Clock and a SimulatedClock ran one due time per firing)."""
    def make(clock):
        return Platform(load_config(config_text()), ReactorClock(clock))

    jump = _interleaving(make, SimulatedClock(), lambda c: c.advance(10, stepwise=False))
    assert jump == ["report", "report", "other"]
    assert _interleaving(make, Clock(), lambda c: c.advance(10)) == jump


def test_same_due_time_runs_in_submission_order(platform, clock):
    sink = RecordingSink()
    platform.bind(MAIN, sink)
    numbers = [f"1380013{i:04d}" for i in range(20)]
    for n in numbers:
        platform.network.set_outcome(n, "DELIVRD", delay=1.0)
        platform.submit(MAIN, text_submit("x", to=(n,)))
    clock.advance(0)
    clock.advance(1)
    assert [r.item.dest_terminal_id for r in platform.reports()] == numbers


def test_close_drops_pending_deliveries(platform, clock):
    platform.network.set_outcome(MOBILE, "never")
    platform.submit(MAIN, text_submit("a", to=(MOBILE,)))
    clock.advance(0)
    assert platform.sizes()["timers"] == 1  # the EXPIRED report
    platform.close()
    assert platform.sizes()["timers"] == 0
    clock.advance(72 * 3600)
    assert platform.reports() == []


def test_check_results_are_shared_when_equal():
    a = _check_result("group", 15, True, "1 <= 5")
    assert a is _check_result("group", 15, True, "1 <= 5")
    assert a != _check_result("group", 15, True, "2 <= 5")



def _reference_allocate(state, gateway, now, n):
    """The allocator as it packed every id (before the per-second cache)."""
    from smsdk.msgid import CmppMsgId

    prefix = (now.month, now.day, now.hour, now.minute, now.second)
    base = CmppMsgId.pack(month=now.month, day=now.day, hour=now.hour, minute=now.minute,
                          second=now.second, gateway=gateway, sequence=state["seq"]).value
    if prefix == state["prefix"] and base <= state["end"]:
        base = state["end"] + 1
    end = base + n - 1
    state.update(prefix=prefix, end=end, seq=(end + 1) & 0xFFFF)
    return base


def test_allocator_cache_gives_the_same_ids():
    import datetime as dt

    from smsdk.msgid import EmppMsgId
    from smsdk_harness.fake_smsc.allocator import MsgIdAllocator

    alloc = MsgIdAllocator(1001, 65520)
    state = {"prefix": None, "end": -1, "seq": 65520}
    t0 = dt.datetime(2024, 5, 1, 12, 0, 7)
    for k in range(200):
        now = t0 + dt.timedelta(seconds=k // 50)
        n = 1 + k % 7
        assert alloc.allocate(now, n) == EmppMsgId.from_int(_reference_allocate(state, 1001, now, n))
