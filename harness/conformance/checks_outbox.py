"""Workspace properties of durable campaigns (smsdk.workspace.outbox) against the in-process
fake: CLIENT-outbox (crash, continue, resend) and CLIENT-schedule (At_Time, listed and
cancellable until handed to the platform).

A *crash* is the sending process dying at once: its timers are cancelled (it runs on a
:class:`ProcessClock`, a view of the world's clock that can be killed), its connection is no
longer pumped and its workspace connection is dropped without another write.  Its last
SUBMITs are either still in its socket buffer (never reached the platform) or were read and
accepted by the platform whose answer never came back: both are "written, not answered".
"""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from .checks_model import invalid, mobiles
from .registry import check
from .world import MAIN, MAIN_PW, World


class ProcessClock:
    """The world's clock as one process sees it: ``kill()`` cancels every timer it set."""

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self._calls: list[Any] = []

    def seconds(self) -> float:
        return float(self._clock.seconds())

    def callLater(self, delay: float, fn: Any, *args: Any, **kwargs: Any) -> Any:
        call = self._clock.callLater(delay, fn, *args, **kwargs)
        self._calls.append(call)
        return call

    def kill(self) -> None:
        for call in self._calls:
            if call.active():
                call.cancel()
        self._calls.clear()


class Process:
    """One run of the sending program: a client on its own ProcessClock, and the outbox."""

    def __init__(self, world: World, path: Path, *, rate: float, group: int) -> None:
        from smsdk.china_time import CHINA
        from smsdk.client import Client
        from smsdk.dispatch import DispatchSettings
        from smsdk.testing import MemoryEndpoint
        from smsdk.workspace.outbox import Outbox
        from smsdk.workspace.store import Workspace

        self.world = world
        self.clock = ProcessClock(world.clock)
        wall = world.platform.wall
        self.ws = Workspace(path, clock=wall.unix)
        self.outbox = Outbox(self.ws, pid_alive=lambda pid: False)
        self.endpoint = MemoryEndpoint(world.server.build_protocol, world.clock)
        world.endpoints.append(self.endpoint)
        self.client = Client(endpoint=self.endpoint, reactor=self.clock, account=MAIN, password=MAIN_PW,
                             dispatch_settings=DispatchSettings(rate=rate, group_send_limit=group),
                             wallclock=lambda: datetime.fromtimestamp(wall.unix(), CHINA))
        d = self.client.start()
        world.run()
        assert d.called and self.client.bound, "the SDK client did not log in to the in-process fake"

    def crash(self, *, answered_lost: bool) -> None:
        """Die now.  ``answered_lost``: the platform reads what was written (and answers
        into a buffer nobody reads any more) before the process is gone."""
        if answered_lost:
            for pump in self.endpoint.pumps:
                pump.pump(advanceClock=False)
        self.clock.kill()
        self.world.endpoints.remove(self.endpoint)
        self.ws.close()

    def stop(self) -> None:
        self.client.stop()
        self.world.flush()
        self.ws.close()


def accepted_per_number(world: World) -> Counter[str]:
    return Counter(n for r in world.platform.submissions() if r.accepted for n in r.dest)


@check("CLIENT-outbox")
def outbox_crash_continue(ctx: Any) -> None:
    """a campaign killed at any point (SUBMITs in the socket buffer or answered into the void):
    the outbox lists it unsent; continue sends only to recipients not yet accepted and never
    to one whose SUBMIT was written but not answered; resending those is explicit and flags
    them; in the end nobody is lost and every number the platform accepted twice is flagged;
    resend sends to all again as a new campaign; sent lists it"""

    @ctx.settings(15)
    @given(numbers=st.lists(st.one_of(mobiles, mobiles, mobiles, invalid), min_size=8, max_size=40),
           crash_at=st.floats(0.05, 0.95), answered_lost=st.booleans(),
           group=st.integers(1, 5), rate=st.sampled_from([2.0, 5.0]))
    def prop(numbers: list[str], crash_at: float, answered_lost: bool, group: int, rate: float) -> None:
        from smsdk.numbers import check_all
        from smsdk.workspace.outbox import CampaignError

        valid = list(check_all(numbers).numbers)
        if not valid:
            return
        w = World()
        with w, tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "ws.sqlite3"
            first = Process(w, path, rate=rate, group=group)
            made = first.outbox.create("双十一大促，全场五折", numbers)
            first.outbox.start(first.client, made.id)
            w.run(crash_at * len(valid) / rate, step=0.05)  # crash_at: the fraction of the sending time
            first.crash(answered_lost=answered_lost)

            second = Process(w, path, rate=100.0, group=group)
            box = second.outbox
            at_crash = {r.number: r.state for r in box.recipients(made.id)}
            before = accepted_per_number(w)
            for number, state in at_crash.items():
                if state == "queued":
                    assert before[number] == 0, (number, "queued but accepted by the platform")
            unknown = {n for n, s in at_crash.items() if s == "submitted"}
            queued = {n for n, s in at_crash.items() if s == "queued"}
            if queued or unknown:
                assert [c.id for c in box.unsent()] == [made.id]
            if queued:
                run = box.start(second.client, made.id)
                assert w.run_until(lambda: run.done.called, limit=300), "continue did not finish"
            after = accepted_per_number(w)
            for number in set(valid) - queued:  # continue never touched them
                assert after[number] == before[number], (number, at_crash[number])
            for number in queued:
                assert after[number] == 1, number
            if unknown:
                try:
                    box.start(second.client, made.id)
                    raise AssertionError("continue resent unknown recipients without being asked")
                except CampaignError as exc:
                    assert "unknown" in str(exc)
                run = box.start(second.client, made.id, resend_unknown=True)
                assert w.run_until(lambda: run.done.called, limit=300), "continue did not finish"
            final = accepted_per_number(w)
            rows = {r.number: r for r in box.recipients(made.id)}
            assert all(final[n] >= 1 for n in valid), "a recipient was lost"
            for number, count in final.items():
                if count > 1:
                    assert rows[number].possible_duplicate, (number, count, "accepted twice, not flagged")
            assert box.campaign(made.id).state == "sent"
            assert made.id in [c.id for c in box.sent(today=True)]

            again = box.resend(made.id)
            assert again.resent_from == made.id and again.counts == {"queued": len(valid)}
            run = box.start(second.client, again.id)
            assert w.run_until(lambda: run.done.called, limit=300), "resend did not finish"
            last = accepted_per_number(w)
            assert all(last[n] == final[n] + 1 for n in valid)
            second.stop()

    prop()


@check("CLIENT-schedule")
def scheduled_campaigns(ctx: Any) -> None:
    """any set of scheduled campaigns, lead times and cancellations: the scheduled list shows
    exactly the ones not cancelled nor handed over, soonest first; a cancelled one never
    reaches a handset; the others are handed over with At_Time, held by the platform and
    reach every handset once, never before their time; one handed over cannot be cancelled"""

    @ctx.settings(12)
    @given(plans=st.lists(st.tuples(st.integers(1, 120), st.booleans()), min_size=1, max_size=5),
           lead=st.sampled_from([0.0, 60.0, 300.0, 900.0]))
    def prop(plans: list[tuple[int, bool]], lead: float) -> None:
        from smsdk.china_time import CHINA
        from smsdk.workspace.outbox import CampaignError

        w = World()
        with w, tempfile.TemporaryDirectory() as tmp:
            proc = Process(w, Path(tmp) / "ws.sqlite3", rate=100.0, group=5)
            box, wall = proc.outbox, w.platform.wall
            made = []
            for i, (minutes, cancel) in enumerate(plans):
                at = datetime.fromtimestamp(wall.unix() + minutes * 60, CHINA).replace(microsecond=0)
                to = [f"1390000{i:02d}{j:02d}" for j in range(2)]
                made.append((box.create(f"第 {i} 条定时短信", to, at=at), cancel, to))
            expected = sorted((c for c, cancel, _ in made), key=lambda c: (c.at, c.id))
            assert [c.id for c in box.scheduled()] == [c.id for c in expected]
            for c, cancel, _ in made:
                if cancel:
                    box.cancel(c.id)
            live = [c.id for c in expected if not dict((x.id, k) for x, k, _ in made)[c.id]]
            assert [c.id for c in box.scheduled()] == live
            handed: set[int] = set()
            end = wall.unix() + 121 * 60 + 60
            while wall.unix() < end:
                for c in box.due(lead=lead):
                    assert c.at is not None and c.at - lead <= wall.unix()
                    box.start(proc.client, c.id)
                    handed.add(c.id)
                w.run(30.0, step=5.0)
            assert handed == set(live)
            for c, cancel, to in made:
                for number in to:
                    texts = w.platform.handset(number).texts
                    if cancel:
                        assert texts == [], (number, texts)
                        continue
                    assert len(texts) == 1, (number, texts)
                    got = w.platform.handset(number).messages[0].received_at
                    assert c.at is not None and got >= wall.clock_time(datetime.fromtimestamp(c.at, CHINA)), \
                        (number, "delivered before its At_Time")
                if not cancel:
                    try:
                        box.cancel(c.id)
                        raise AssertionError("a campaign handed to the platform was cancelled")
                    except CampaignError as exc:
                        assert "cannot be cancelled" in str(exc)
            proc.stop()

    prop()
