"""A status report's DELIVER_RESP waits for the durable store (Client.hold_report_acks,
Session.hold_report_resps): a report received but not yet written when the process dies
was never answered, so the platform sends it again after the next login (FAQ-3.1.5)
instead of it being lost.  Against the harness's fake platform in memory, on its clock."""

from __future__ import annotations

import pytest

from smsdk.workspace.outbox import Outbox
from smsdk.workspace.store import Workspace
from smsdk_harness.conformance.world import World


def numbers(n: int) -> list[str]:
    return [f"138{i:08d}" for i in range(n)]


def acked(w: World) -> int:
    return sum(c.counters["deliver_resp"] for c in w.server.connections())


# -- the client -------------------------------------------------------------------------------


class Store:
    """A durable store as the client sees it: flush() writes what it heard of."""

    def __init__(self) -> None:
        self.flushes = 0
        self.fail = False

    def flush(self) -> None:
        if self.fail:
            raise OSError("disk full")
        self.flushes += 1


def test_reports_are_answered_only_after_every_store_flushed():
    with World(delay=(0.5, 0.5)) as w:
        store = Store()
        client = w.client(rate=1000)
        client.hold_report_acks(store.flush, delay=2.0)
        client.start()
        w.run()
        sub = client.send("hi", numbers(10))
        w.run(1.0)  # accepted at once, reported 0.5 s later
        assert sub.done and acked(w) == 0 and store.flushes == 0
        w.run(2.0)
        assert store.flushes == 1 and acked(w) == 10


def test_a_store_that_cannot_write_keeps_the_reports_unanswered_and_the_platform_sends_them_again():
    with World(delay=(0.5, 0.5)) as w:
        store = Store()
        store.fail = True
        client = w.client(rate=1000)
        client.hold_report_acks(store.flush, delay=1.0)
        client.start()
        w.run()
        client.send("hi", numbers(10))
        w.run(5.0)
        assert acked(w) == 0
        w.endpoints[-1].drop()  # the process dies: its link ends with ten reports unanswered
        w.run()
        assert w.server.counters["deliver_requeued"] == 10
        # the next process: its store writes, so the reports sent again after the login are answered
        client._service.stopService()
        again = Store()
        other = w.client(rate=1000)
        heard: list = []
        other.add_unmatched_report_handler(heard.append)
        other.hold_report_acks(again.flush, delay=1.0)
        other.start()
        w.run(3.0)
        assert len(heard) == 10 and again.flushes >= 1 and acked(w) == 10


def test_a_batch_of_kept_reports_is_written_and_answered_without_waiting_for_the_delay():
    with World(delay=(0.5, 0.5)) as w:
        store = Store()
        client = w.client(rate=1000)
        client.hold_report_acks(store.flush, delay=60.0, batch=4)
        client.start()
        w.run()
        client.send("hi", numbers(10))
        w.run(1.0)
        assert store.flushes >= 1 and acked(w) == 10  # at least 4 kept after a read: at once


def test_unregistering_the_last_store_answers_what_was_kept():
    with World(delay=(0.5, 0.5)) as w:
        store = Store()
        client = w.client(rate=1000)
        remove = client.hold_report_acks(store.flush, delay=60.0)
        client.start()
        w.run()
        client.send("hi", numbers(10))
        w.run(1.0)
        assert acked(w) == 0
        remove()
        w.run()
        assert acked(w) == 10 and store.flushes == 0  # (its last write is its own business)


@pytest.mark.parametrize("kwargs, error", [
    ({"delay": 0}, ValueError), ({"delay": True}, ValueError), ({"batch": 0}, ValueError),
    ({"batch": 2.5}, ValueError),
])
def test_hold_report_acks_refuses_bad_arguments(kwargs, error):
    with World() as w:
        client = w.client()
        with pytest.raises(error):
            client.hold_report_acks(Store().flush, **kwargs)
        with pytest.raises(TypeError):
            client.hold_report_acks("flush")  # type: ignore[arg-type]


# -- the outbox -------------------------------------------------------------------------------


def test_the_outbox_answers_a_report_only_once_its_row_is_written(tmp_path):
    with World(delay=(0.5, 20.0)) as w:  # reports come over 20 s
        ws = Workspace(tmp_path / "ws.sqlite3", clock=w.clock.seconds)
        outbox = Outbox(ws)
        c = outbox.create("hi", numbers(40))
        client = w.started(rate=1000)
        run = outbox.start(client, c.id, flush_interval=5.0)
        w.run(4.0)  # some reports came; the first write is due at 5 s
        assert run.submission is not None
        reported = run.submission.counts()["delivered"]
        assert 0 < reported < 40
        assert acked(w) == 0 and outbox.campaign(c.id).counts.get("delivered", 0) == 0
        answered_some = False
        for _ in range(120):  # at every step: never a report answered before its row is written
            w.run(0.25)
            written = outbox.campaign(c.id).counts.get("delivered", 0)
            assert acked(w) <= written
            answered_some = answered_some or 0 < acked(w) < 40
        assert answered_some  # (in batches along the way, not only at the end)
        assert outbox.campaign(c.id).counts == {"delivered": 40}
        w.run()
        assert acked(w) == 40
        ws.close()


def test_reports_unwritten_at_a_crash_reach_their_rows_after_the_next_login(tmp_path):
    """Accepted (written), then reported, then the process dies before the next write:
    the rows are delivered after the next login, not left awaiting until they expire."""
    with World(delay=(2.0, 4.0)) as w:  # reports 2 to 4 s after the SUBMIT
        path = tmp_path / "ws.sqlite3"
        ws = Workspace(path, clock=w.clock.seconds)
        outbox = Outbox(ws)
        c = outbox.create("hi", numbers(40))
        client = w.started(rate=1000)
        run = outbox.start(client, c.id, flush_interval=1.5)
        w.run(1.6)  # accepted and written
        assert outbox.campaign(c.id).counts == {"accepted": 40}
        w.run(1.2)  # some reports came (t = 2.8 s): heard, not yet written (next write at 3.5 s)
        assert run.submission is not None
        heard = run.submission.counts()["delivered"]
        assert 0 < heard < 40 and acked(w) == 0
        # the process dies now: none of its timers fire again, its link ends
        for call in (client._ack_call, run._timer, outbox._late[id(client)]._timer):
            if call is not None and call.active():
                call.cancel()
        client.session_events = lambda proto, events: None  # type: ignore[method-assign]
        w.clients.remove(client)  # (nobody stops a dead process)
        client._service.stopService()
        w.endpoints[-1].drop()
        w.run()
        assert w.server.counters["deliver_requeued"] == heard  # never answered: kept
        assert outbox.campaign(c.id).counts == {"accepted": 40}
        ws.close()

        ws = Workspace(path, clock=w.clock.seconds)
        outbox = Outbox(ws, pid_alive=lambda pid: False)
        other = w.client(rate=1000)
        late = outbox.listen_reports(other)
        other.start()
        w.run(5.0)
        assert outbox.campaign(c.id).counts == {"delivered": 40} and late.resolved == 40
        late.close()
        ws.close()
