"""The workspace file cannot be written for a while (disk full, read-only, locked too long):
no SUBMIT goes out before its mark is written, and no outcome heard meanwhile is dropped or
has its report answered before it is written.  Against the harness's fake platform in memory,
on its clock; the failing writes are real transactions rolled back at their commit."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from smsdk.testing import DiskFull
from smsdk.workspace.outbox import Outbox
from smsdk.workspace.store import Workspace, WorkspaceError
from smsdk_harness.conformance.world import World


def numbers(n: int) -> list[str]:
    return [f"138{i:08d}" for i in range(n)]


def acked(w: World) -> int:
    return sum(c.counters["deliver_resp"] for c in w.server.connections())


def campaign(w: World, path: Any, n: int = 40) -> tuple[Workspace, Outbox, Any, DiskFull]:
    """A workspace on the world's clock, its outbox, a stored campaign to ``n`` numbers, and
    the switch that makes the workspace's commits fail."""
    ws = Workspace(path / "ws.sqlite3", clock=w.clock.seconds)
    outbox = Outbox(ws)
    return ws, outbox, outbox.create("hi", numbers(n)), DiskFull(ws)


def delivered(outbox: Outbox, cid: int) -> int:
    return outbox.campaign(cid).counts.get("delivered", 0)


def test_submits_whose_mark_cannot_be_written_wait_until_it_can(tmp_path, caplog):
    with World(delay=(0.5, 0.5)) as w:
        ws, outbox, c, disk = campaign(w, tmp_path)
        client = w.client(rate=1000)
        run = outbox.start(client, c.id, flush_interval=1.0)  # queued: not logged in yet
        disk.full = True
        client.start()
        with caplog.at_level(logging.WARNING, logger="smsdk.client"):
            w.run(3.0)
        # logged in, the window free, but no SUBMIT went: none could be recorded first
        assert client.bound and disk.refused >= 3
        assert w.server.counters["submits"] == 0
        assert outbox.campaign(c.id).counts == {"queued": 40}
        assert "could not record the SUBMITs" in caplog.text
        disk.full = False
        w.run(5.0)
        assert outbox.campaign(c.id).counts == {"delivered": 40} and run.done.called
        # each recipient sent once: 8 SUBMITs of five, none flagged, one Msg_Id each
        assert w.server.counters["submits"] == w.platform.counters["accepted"] == 8
        rows = outbox.recipients(c.id)
        assert not any(r.possible_duplicate for r in rows)
        assert all(len(r.msg_ids) == 1 for r in rows)
        ws.close()


def test_outcomes_that_cannot_be_written_are_kept_and_their_reports_stay_unanswered(tmp_path):
    with World(delay=(0.5, 10.0)) as w:  # reports over 10 s
        ws, outbox, c, disk = campaign(w, tmp_path)
        client = w.started(rate=1000)
        run = outbox.start(client, c.id, flush_interval=1.0)
        w.run(0.25)  # every SUBMIT written (its mark first) and answered
        assert w.platform.counters["accepted"] == 8  # (SUBMITs of five)
        disk.full = True
        for _ in range(24):  # 6 s: answers, then reports, heard and not written
            w.run(0.25)
            assert acked(w) <= delivered(outbox, c.id) == 0
        assert disk.refused >= 5 and 0 < run.submission.counts()["delivered"] < 40
        disk.full = False
        for _ in range(60):  # at every step: never a report answered before its row is written
            w.run(0.25)
            assert acked(w) <= delivered(outbox, c.id)
        assert outbox.campaign(c.id).counts == {"delivered": 40}
        assert acked(w) == 40 and run.done.called and run.accepted == run.finished == 40
        # a write rolled back and done again: each row has its one Msg_Id, not two
        assert all(len(r.msg_ids) == 1 for r in outbox.recipients(c.id))
        ws.close()


def test_a_last_write_that_fails_fails_done_and_is_done_once_it_can(tmp_path):
    with World(delay=(0.5, 0.5)) as w:
        ws, outbox, c, disk = campaign(w, tmp_path)
        client = w.started(rate=1000)
        run = outbox.start(client, c.id, flush_interval=5.0)  # (marks written here)
        disk.full = True
        failures: list[Any] = []
        run.done.addErrback(failures.append)
        w.run(2.0)  # every report came: the run finishes, and cannot write
        assert run.submission is not None and run.submission.counts()["delivered"] == 40
        assert len(failures) == 1 and failures[0].check(WorkspaceError)
        assert acked(w) == 0 and delivered(outbox, c.id) == 0
        assert c.id in outbox._running  # not released: its outcomes are still to write
        disk.full = False
        w.run(6.0)  # tried again a flush_interval later
        assert outbox.campaign(c.id).counts == {"delivered": 40} and acked(w) == 40
        assert c.id not in outbox._running
        assert outbox.campaign(c.id, count=False).runner_pid is None
        ws.close()


def test_late_reports_that_cannot_be_written_are_kept_until_they_can(tmp_path):
    with World(delay=(30.0, 30.0)) as w:  # reports 30 s after the SUBMIT
        ws, outbox, c, disk = campaign(w, tmp_path)
        client = w.started(rate=1000)
        run = outbox.start(client, c.id, flush_interval=1.0)
        w.run(2.0)
        client.stop()  # this session ends before the reports
        w.run(1.0)
        assert run.done.called and outbox.campaign(c.id).counts == {"accepted": 40}

        other = w.client(rate=1000)
        late = outbox.listen_reports(other, flush_interval=1.0)
        other.start()
        disk.full = True
        w.run(35.0)  # the reports came to this session, matched, and could not be written
        assert late.resolved == 40 and disk.refused >= 3
        assert acked(w) == 0 and outbox.campaign(c.id).counts == {"accepted": 40}
        disk.full = False
        w.run(2.0)
        assert outbox.campaign(c.id).counts == {"delivered": 40} and acked(w) == 40
        late.close()
        ws.close()


def test_a_campaign_that_cannot_be_marked_running_is_refused_before_anything_is_sent(tmp_path):
    with World() as w:
        ws, outbox, c, disk = campaign(w, tmp_path)
        client = w.started(rate=1000)
        disk.full = True
        with pytest.raises(WorkspaceError, match="disk is full"):
            outbox.start(client, c.id)
        w.run(2.0)
        assert w.server.counters["submits"] == 0 and client.dispatcher.tracked == 0
        disk.full = False
        run = outbox.start(client, c.id)  # not left "running": it starts once the file can be written
        w.run(5.0)
        assert run.done.called and outbox.campaign(c.id).counts == {"delivered": 40}
        ws.close()


@pytest.mark.parametrize("seconds", [0, -1, float("inf"), float("nan"), True, "1"])
def test_store_retry_must_be_a_positive_number_of_seconds(seconds):
    with World() as w:
        client = w.client()
        with pytest.raises(ValueError, match="store_retry"):
            client.store_retry = seconds
        client.store_retry = 0.25
        assert client.store_retry == 0.25
