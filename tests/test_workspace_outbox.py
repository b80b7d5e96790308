"""Durable campaigns (smsdk.workspace.outbox): the client and a MinimalServer joined in memory
on a task.Clock, the workspace in a temporary file.  A "crash" is abandoning the client
mid-campaign without stopping it (nothing more is written) and reopening the file."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest
from twisted.internet import task

from smsdk.china_time import CHINA
from smsdk.client import Client
from smsdk.dispatch import DispatchSettings
from smsdk.errors import PlanError
from smsdk.testing import MemoryEndpoint, MinimalServer, run_clock
from smsdk.workspace.outbox import CampaignError, Outbox, parse_at
from smsdk.workspace.store import Workspace

ACCOUNT = "10657109000001"
PASSWORD = "secret"
SIG = "【示例科技】"
T0 = datetime(2026, 11, 22, 9, 0, 0, tzinfo=CHINA).timestamp()


def numbers(n: int, base: int = 0) -> list[str]:
    return [f"138{base + i:08d}" for i in range(n)]


class Rig:
    """A workspace file, an outbox on it, and clients to a MinimalServer, one task.Clock."""

    def __init__(self, path, **server_kwargs):
        self.path = path
        self.clock = task.Clock()
        self.clock.advance(T0)
        self.server = MinimalServer(password=PASSWORD, reactor=self.clock, **server_kwargs)
        self.endpoints: list[MemoryEndpoint] = []
        self.ws = Workspace(path, clock=self.clock.seconds)
        self.outbox = Outbox(self.ws)

    def client(self, rate: float = 1000.0, group: int = 5) -> Client:
        endpoint = MemoryEndpoint(lambda: self.server.factory().buildProtocol(None), self.clock)
        self.endpoints.append(endpoint)
        c = Client(endpoint=endpoint, reactor=self.clock, account=ACCOUNT, password=PASSWORD,
                   signature=SIG, dispatch_settings=DispatchSettings(rate=rate, group_send_limit=group),
                   wallclock=lambda: datetime.fromtimestamp(self.clock.seconds(), CHINA))
        d = c.start()
        self.run()
        assert d.called and c.bound
        return c

    def run(self, seconds: float = 0.0, step: float = 0.05) -> None:
        run_clock(self.clock, self.endpoints, seconds, step)

    def crash(self) -> None:
        """The process dies: its clients and outbox are dropped as they are; reopen the file."""
        self.endpoints = []
        for call in self.clock.getDelayedCalls():  # every timer of the dead process
            call.cancel()
        self.ws.close()
        self.ws = Workspace(self.path, clock=self.clock.seconds)
        self.outbox = Outbox(self.ws, pid_alive=lambda pid: False)

    def submitted_to(self) -> list[str]:
        return [n for s in self.server.submits for n in s.dest_terminal_id]


@pytest.fixture
def rig(tmp_path):
    r = Rig(tmp_path / "ws.sqlite3")
    yield r
    r.ws.close()


def states(outbox: Outbox, cid: int) -> dict[str, str]:
    return {r.number: r.state for r in outbox.recipients(cid)}


# -- creating -------------------------------------------------------------------------------


def test_create_stores_each_valid_number_once_and_rejects_the_rest(rig):
    c = rig.outbox.create("hi", ["+86 138-0000-0001", "13800000001", "12345", "02161234567", "13800000002"])
    assert c.counts == {"queued": 2, "rejected": 2} and c.state == "unsent" and c.total == 4
    rows = rig.outbox.recipients(c.id)
    assert [r.number for r in rows] == ["13800000001", "13800000002", "12345", "02161234567"]
    assert "PHS" in rows[3].detail
    assert rig.outbox.campaign(c.id).created == T0


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(text="", to=["13800000000"]), ValueError, "text must not be empty"),
    (dict(text=b"hi", to=["13800000000"]), TypeError, "text must be str"),
    (dict(text="hi", to="13800000000"), TypeError, "to must be a list"),
    (dict(text="hi", to=None), TypeError, "to must be a list"),
    (dict(text="hi", to=[]), ValueError, "at least one recipient"),
    (dict(text="hi", to=["13800000000"], at=datetime(2026, 1, 1)), ValueError, "timezone-aware"),
    (dict(text="hi", to=["13800000000"], at="tomorrow"), TypeError, "at must be a datetime"),
    (dict(text="hi", to=["13800000000"], signature=5), TypeError, "signature must be str"),
    (dict(text="hi", to=["13800000000"], account=None), TypeError, "account must be str"),
])
def test_bad_campaigns_refused_with_clear_errors(rig, kwargs, error, match):
    with pytest.raises(error, match=match):
        rig.outbox.create(**kwargs)
    assert rig.outbox.campaigns() == []


def test_text_that_can_never_be_sent_refused_at_creation(rig):
    with pytest.raises(PlanError):
        rig.outbox.create("hi", ["13800000000"], signature="no brackets")


def test_unknown_campaign_and_bad_arguments(rig):
    with pytest.raises(CampaignError, match="no campaign 7"):
        rig.outbox.campaign(7)
    with pytest.raises(TypeError, match="campaign id must be int"):
        rig.outbox.campaign("7")  # type: ignore[arg-type]
    c = rig.outbox.create("hi", ["13800000000"])
    with pytest.raises(ValueError, match="unknown recipient state"):
        rig.outbox.recipients(c.id, state="lost")
    with pytest.raises(ValueError, match="lead must be"):
        rig.outbox.due(lead=-1)
    with pytest.raises(TypeError, match="ws must be a Workspace"):
        Outbox("ws.sqlite3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="flush_interval"):
        rig.outbox.start(rig.client(), c.id, flush_interval=0)


# -- sending --------------------------------------------------------------------------------


def test_a_campaign_runs_to_the_end_with_batched_writes(rig):
    c = rig.outbox.create("验证码 1234", numbers(200) + ["12345"])
    run = rig.outbox.start(rig.client(), c.id)
    rig.run(1.0)
    assert run.done.called
    done = rig.outbox.campaign(c.id)
    assert done.counts == {"delivered": 200, "rejected": 1} and done.state == "sent"
    rows = rig.outbox.recipients(c.id, state="delivered")
    assert all(r.msg_ids and r.status == "DELIVRD" and not r.possible_duplicate for r in rows)
    assert sorted(rig.submitted_to()) == numbers(200)
    assert run.commits < 200 / 5  # far fewer transactions than recipients (or SUBMITs)
    assert [x.id for x in rig.outbox.sent(today=True)] == [c.id]
    assert rig.outbox.unsent() == []


def test_submitted_rows_are_committed_before_the_bytes_leave(rig):
    """The barrier: when the client hands SUBMIT bytes to the connection, their recipients
    are already 'submitted' in the file (another connection to the file sees them)."""
    client = rig.client(rate=1, group=1)  # one SUBMIT a second
    c = rig.outbox.create("hi", numbers(5))
    seen: list[dict[str, str]] = []
    other = Workspace(rig.path)
    reader = Outbox(other)  # (another connection: it sees only what was committed)
    proto = client._protocol
    original = proto.transport.write

    def spy(data: bytes) -> None:
        seen.append({r.number: r.state for r in reader.recipients(c.id)})
        original(data)

    proto.transport.write = spy
    rig.outbox.start(client, c.id)
    rig.run(5.0)
    other.close()
    # the first write carries the first SUBMIT: its recipient is in the file already
    assert sorted(seen[0].values()) == ["queued"] * 4 + ["submitted"]
    sent = [sum(state != "queued" for state in snapshot.values()) for snapshot in seen]
    assert sent == sorted(sent) and set(sent) == {1, 2, 3, 4, 5}


def test_crash_then_continue_sends_only_what_was_not_accepted(rig):
    rig.server.report_stat = lambda n: None  # reports come later: accepted is what counts
    c = rig.outbox.create("hi", numbers(40))
    client = rig.client(rate=5, group=1)  # 5 SUBMITs a second
    rig.outbox.start(client, c.id)
    rig.run(1.0)
    # the next SUBMITs are written to the connection but the platform never answers them
    rig.clock.advance(0.5)
    rig.crash()
    before = rig.outbox.campaign(c.id)
    assert before.state == "unsent" and before.counts.get("accepted", 0) >= 5
    assert before.unknown >= 1 and before.counts["queued"] >= 20
    accepted = {r.number for r in rig.outbox.recipients(c.id, state="accepted")}
    unknown = {r.number for r in rig.outbox.recipients(c.id, state="submitted")}
    queued = {r.number for r in rig.outbox.recipients(c.id, state="queued")}
    assert [x.id for x in rig.outbox.unsent()] == [c.id]

    rig.server.submits.clear()
    client = rig.client()
    run = rig.outbox.start(client, c.id)
    rig.run(1.0)
    client.stop()  # (no reports come: stop waiting for them)
    rig.run()
    assert run.done.called
    assert sorted(rig.submitted_to()) == sorted(queued)  # neither accepted nor unknown resent
    after = rig.outbox.campaign(c.id)
    assert after.unknown == len(unknown) and after.counts["accepted"] == len(accepted) + len(queued)
    assert after.state == "unsent"

    # the unknown ones wait for an explicit choice
    with pytest.raises(CampaignError, match="resend-unknown"):
        rig.outbox.start(rig.client(), c.id)
    rig.server.submits.clear()
    rig.outbox.start(rig.client(), c.id, resend_unknown=True)
    rig.run(1.0)
    assert sorted(rig.submitted_to()) == sorted(unknown)
    rows = {r.number: r for r in rig.outbox.recipients(c.id)}
    assert all(rows[n].possible_duplicate and rows[n].state == "accepted"
               for n in unknown)
    assert not any(rows[n].possible_duplicate for n in accepted | queued)
    assert rig.outbox.campaign(c.id).state == "sent"


def test_client_stopped_mid_campaign_leaves_it_unsent(rig):
    c = rig.outbox.create("hi", numbers(30))
    client = rig.client(rate=5, group=1)
    run = rig.outbox.start(client, c.id)
    rig.run(1.0)
    client.stop()
    rig.run()
    assert run.done.called
    got = rig.outbox.campaign(c.id)
    assert got.state == "unsent" and got.runner_pid is None
    assert got.counts["delivered"] >= 5 and got.counts["queued"] >= 15
    assert got.unknown == 0  # a clean stop waits for the connection to close
    run2 = rig.outbox.start(rig.client(), c.id)
    rig.run(1.0)
    assert run2.done.called and rig.outbox.campaign(c.id).counts == {"delivered": 30}


def test_a_running_campaign_cannot_be_started_twice(rig):
    c = rig.outbox.create("hi", numbers(30))
    rig.outbox.start(rig.client(rate=5), c.id)
    rig.run(0.5)
    assert rig.outbox.campaign(c.id).state == "running"
    with pytest.raises(CampaignError, match="is being sent by process"):
        rig.outbox.start(rig.client(), c.id)
    # another process's outbox sees the same while that process lives
    other = Outbox(rig.ws, pid=rig.outbox.pid + 1, pid_alive=lambda pid: True)
    with pytest.raises(CampaignError, match="is being sent"):
        other.start(rig.client(), c.id)


def test_nothing_left_to_send(rig):
    c = rig.outbox.create("hi", numbers(3))
    rig.outbox.start(rig.client(), c.id)
    rig.run(0.5)
    with pytest.raises(CampaignError, match="nothing left to send"):
        rig.outbox.start(rig.client(), c.id)


def test_the_creator_does_not_resend_what_another_process_sent_or_cancelled(rig):
    """start() right after create() takes the numbers it stored without reading them back;
    only while nobody else has started or cancelled the campaign in the file."""
    c = rig.outbox.create("hi", numbers(8))
    other = Outbox(Workspace(rig.path, clock=rig.clock.seconds), pid=rig.outbox.pid + 1,
                   pid_alive=lambda pid: False)
    other.start(rig.client(), c.id)
    rig.run(0.5)
    assert rig.outbox.campaign(c.id).counts == {"delivered": 8}
    rig.server.submits.clear()
    with pytest.raises(CampaignError, match="nothing left to send"):
        rig.outbox.start(rig.client(), c.id)
    assert rig.server.submits == []

    c2 = rig.outbox.create("hi", numbers(4))
    other.cancel(c2.id)
    with pytest.raises(CampaignError, match="was cancelled"):
        rig.outbox.start(rig.client(), c2.id)
    other.ws.close()

    # a continue after a partial run by another process sends only the rest
    c3 = rig.outbox.create("hi", numbers(30, base=100))
    other = Outbox(Workspace(rig.path, clock=rig.clock.seconds), pid=rig.outbox.pid + 1,
                   pid_alive=lambda pid: False)
    client = rig.client(rate=5, group=1)
    other.start(client, c3.id)
    rig.run(1.0)
    client.stop()
    rig.run()
    first = set(rig.submitted_to())
    assert 0 < len(first) < 30
    rig.server.submits.clear()
    rig.outbox.start(rig.client(), c3.id)
    rig.run(1.0)
    assert set(rig.submitted_to()) == set(numbers(30, base=100)) - first
    assert rig.outbox.campaign(c3.id).counts == {"delivered": 30}
    other.ws.close()


def test_resend_makes_a_new_campaign_to_everyone(rig):
    c = rig.outbox.create("hi", numbers(6) + ["bad"], signature=SIG, account=ACCOUNT)
    rig.outbox.start(rig.client(), c.id)
    rig.run(0.5)
    again = rig.outbox.resend(c.id)
    assert again.resent_from == c.id and again.counts == {"queued": 6}
    assert (again.text, again.signature, again.account) == ("hi", SIG, ACCOUNT)
    rig.server.submits.clear()
    rig.outbox.start(rig.client(), again.id)
    rig.run(0.5)
    assert sorted(rig.submitted_to()) == numbers(6)
    assert {x.id for x in rig.outbox.sent()} == {c.id, again.id}
    with pytest.raises(ValueError, match="no valid recipient among the 2 given \\('bad': not a mainland"):
        rig.outbox.create("hi", ["bad", "02161234567"])


def test_sent_today_and_all(rig):
    c1 = rig.outbox.create("day one", numbers(2))
    rig.outbox.start(rig.client(), c1.id)
    rig.run(0.5)
    rig.clock.advance(86400)
    c2 = rig.outbox.create("day two", numbers(2, 100))
    rig.outbox.start(rig.client(), c2.id)
    rig.run(0.5)
    assert [c.id for c in rig.outbox.sent(today=True)] == [c2.id]
    assert [c.id for c in rig.outbox.sent()] == [c2.id, c1.id]


# -- scheduled ------------------------------------------------------------------------------


def test_scheduled_listed_due_and_cancellable_until_handed_over(rig):
    at1 = datetime.fromtimestamp(T0 + 3600, CHINA)
    at2 = datetime.fromtimestamp(T0 + 7200, CHINA)
    late = rig.outbox.create("later", numbers(2), at=at2)
    soon = rig.outbox.create("soon", numbers(2, 10), at=at1)
    assert [c.id for c in rig.outbox.scheduled()] == [soon.id, late.id]
    assert soon.state == "scheduled" and rig.outbox.unsent() == []
    assert rig.outbox.due(lead=300) == []
    rig.clock.advance(3600 - 300)
    assert [c.id for c in rig.outbox.due(lead=300)] == [soon.id]
    cancelled = rig.outbox.cancel(late.id)
    assert cancelled.state == "cancelled" and cancelled.counts == {"cancelled": 2}
    assert [c.id for c in rig.outbox.scheduled()] == [soon.id]
    with pytest.raises(CampaignError, match="already cancelled"):
        rig.outbox.cancel(late.id)
    with pytest.raises(CampaignError, match="was cancelled"):
        rig.outbox.start(rig.client(), late.id)

    rig.outbox.start(rig.client(), soon.id)
    rig.run(0.5)
    assert all(s.at_time.startswith("261122100000") for s in rig.server.submits)  # At_Time 10:00 China
    assert rig.outbox.scheduled() == []
    with pytest.raises(CampaignError, match="cannot be cancelled any more"):
        rig.outbox.cancel(soon.id)


def test_parse_at():
    now = T0
    assert parse_at("+30m", now=now).timestamp() == T0 + 1800
    assert parse_at("+2h", now=now).timestamp() == T0 + 7200
    assert parse_at("2026-11-22 10:00", now=now).timestamp() == T0 + 3600
    assert parse_at("2026-11-22T02:00:00+00:00", now=now).timestamp() == T0 + 3600
    with pytest.raises(ValueError, match="cannot read the time"):
        parse_at("tomorrow", now=now)
    assert datetime.fromtimestamp(T0, CHINA) + timedelta(hours=1) == parse_at("+1h", now=now)


def test_a_late_possible_duplicate_flag_reaches_a_final_row(rig):
    """The dispatcher may flag a recipient after its outcome (a late SUBMIT_RESP): the row,
    already written, gets the flag and keeps its state."""
    c = rig.outbox.create("hi", numbers(2))
    run = rig.outbox.start(rig.client(), c.id)
    rig.run(1.0)
    assert run.done.called is True
    run.on_possible_duplicate(run.submission, "13800000001")
    run.on_possible_duplicate(run.submission, "19900000000")  # not ours: ignored
    run.flush()
    rows = {r.number: r for r in rig.outbox.recipients(c.id)}
    assert rows["13800000001"].possible_duplicate and rows["13800000001"].state == "delivered"
    assert not rows["13800000000"].possible_duplicate


def test_send_takes_a_checked_recipient_list_as_it_is():
    """client.send(to=numbers.check_all(...)): the list is not checked again (the outbox
    passes its stored, normalised numbers this way)."""
    from smsdk import numbers as nums
    from smsdk.dispatch import Dispatcher

    d = Dispatcher()
    checked = nums.check_all(["+86 138-0000-0001", "12345", "13800000001"])
    sub = d.add("hi", checked, now=0.0)
    assert sub.recipients == ("13800000001",) and sub.duplicates_dropped == 1
    assert sub.outcomes["12345"].state.value == "rejected"
    with pytest.raises(TypeError, match="to must be a list"):
        d.add("hi", "13800000001", now=0.0)


# -- reports that reach a later session -------------------------------------------------------


def _accepted_before_a_crash(rig, n=12):
    """A campaign whose every recipient was accepted, no report yet, then the process dies."""
    rig.server.report_stat = lambda number: None  # the reports come later
    c = rig.outbox.create("hi", numbers(n))
    rig.outbox.start(rig.client(), c.id)
    rig.run(1.0)
    rig.crash()
    rows = rig.outbox.recipients(c.id)
    assert {r.state for r in rows} == {"accepted"} and all(r.msg_ids for r in rows)
    return c, rows


def test_reports_after_a_crash_resolve_rows_accepted_before_it(rig):
    c, rows = _accepted_before_a_crash(rig)
    other = rig.outbox.create("next", numbers(3, base=500))  # any later session will do
    rig.server.report_stat = lambda number: "DELIVRD"
    client = rig.client()
    run = rig.outbox.start(client, other.id)
    # the platform's offline queue / late reports: Msg_Ids this client never saw
    stats = ["DELIVRD"] * (len(rows) - 3) + ["UNDELIV", "EXPIRED", "DELIVRD"]
    for row, stat in zip(rows, stats):
        rig.server.send_report(bytes.fromhex(row.msg_ids[0]), row.number, stat)
    rig.server.send_report(b"\x99" * 10, "13800000000")  # matches nothing anywhere
    rig.run(1.0)
    assert run.done.called
    got = {r.number: (r.state, r.status) for r in rig.outbox.recipients(c.id)}
    assert got[rows[-3].number] == ("failed", "UNDELIV")
    assert got[rows[-2].number] == ("expired", "EXPIRED")
    assert [got[r.number][0] for r in rows].count("delivered") == len(rows) - 2
    late = rig.outbox.listen_reports(client)
    assert (late.matched, late.unknown, late.awaiting) == (len(rows), 1, 0)
    assert len(client.unmatched_reports) == len(rows) + 1  # still listed by the client
    assert rig.outbox.campaign(c.id).state == "sent"


def test_reports_before_the_continue_starts_are_kept_and_old_rows_expire(rig):
    c, rows = _accepted_before_a_crash(rig)
    client = rig.client()  # logged in; nobody listening to the outbox yet
    late = rig.outbox.listen_reports(client)
    rig.server.send_report(bytes.fromhex(rows[0].msg_ids[0]), rows[0].number, "DELIVRD")
    rig.run(1.0)
    assert rig.outbox.recipients(c.id)[0].state == "delivered" and late.awaiting == len(rows) - 1
    late.close()
    rig.server.send_report(bytes.fromhex(rows[1].msg_ids[0]), rows[1].number, "DELIVRD")
    rig.run(1.0)
    assert rig.outbox.recipients(c.id)[1].state == "accepted"  # closed: no longer listening
    # 49 h later with no report: the next session expires them
    rig.clock.advance(49 * 3600.0 + 1)
    later = rig.outbox.listen_reports(rig.client())
    assert later.expired == len(rows) - 1
    assert {r.state for r in rig.outbox.recipients(c.id)[1:]} == {"expired"}


def test_a_multipart_row_is_delivered_when_every_part_is(rig):
    rig.server.report_stat = lambda number: None
    c = rig.outbox.create("长" * 150, numbers(1))  # three parts
    rig.outbox.start(rig.client(), c.id)
    rig.run(1.0)
    rig.crash()
    (row,) = rig.outbox.recipients(c.id)
    assert row.state == "accepted" and len(row.msg_ids) == 3
    rig.outbox.listen_reports(rig.client())
    for shown in row.msg_ids[:2]:
        rig.server.send_report(bytes.fromhex(shown), row.number)
    rig.run(1.0)
    assert rig.outbox.recipients(c.id)[0].state == "accepted"
    rig.server.send_report(bytes.fromhex(row.msg_ids[2]), row.number)
    rig.run(1.0)
    assert rig.outbox.recipients(c.id)[0].state == "delivered"


def test_unmatched_report_handlers(rig):
    client = rig.client()
    seen, broken = [], []

    def bad(report):
        broken.append(report)
        raise RuntimeError("boom")

    remove = client.add_unmatched_report_handler(seen.append)
    client.add_unmatched_report_handler(bad)
    rig.server.send_report(b"\x42" * 10, "13800000000", "UNDELIV")
    rig.run()
    assert len(seen) == 1 and seen[0].stat == "UNDELIV" and len(broken) == 1  # logged, not raised
    remove()
    remove()
    rig.server.send_report(b"\x43" * 10, "13800000000")
    rig.run()
    assert len(seen) == 1 and len(broken) == 2
    with pytest.raises(TypeError, match="callable"):
        client.add_unmatched_report_handler(42)


# -- personal campaigns: a text per recipient ---------------------------------------------------


def content(submit) -> str:
    """The text a SUBMIT carries (one part: no UDH in these tests)."""
    raw = bytes(submit.msg_content)
    return raw.decode("utf-16-be" if submit.msg_fmt == 8 else "gb18030" if submit.msg_fmt == 15 else "latin-1")


def texts_received(rig) -> dict[str, list[str]]:
    """Every number the server got a SUBMIT for -> the texts, in order."""
    got: dict[str, list[str]] = {}
    for s in rig.server.submits:
        for n in s.dest_terminal_id:
            got.setdefault(n, []).append(content(s))
    return got


def personal_pairs(groups: list[tuple[str, int]], base: int = 0) -> list[tuple[str, str]]:
    """(number, text) pairs, interleaved across texts so that grouping has work to do."""
    pairs, k = [], base
    longest = max(size for _, size in groups)
    for i in range(longest):
        for text, size in groups:
            if i < size:
                pairs.append((f"138{k:08d}", text))
                k += 1
    return pairs


def test_create_personal_stores_one_campaign_grouped_by_text(rig):
    c = rig.outbox.create_personal("{name}您好", [
        ("13800000001", "张三您好"), ("13800000002", "李四您好"), ("+86 138-0000-0001", "别的"),
        ("13800000003", "张三您好"), ("12345", "坏号您好"), ("13800000004", "{name}您好")])
    assert c.personal and c.text == "{name}您好" and c.counts == {"queued": 4, "rejected": 1}
    assert c.as_dict()["personal"] is True and rig.outbox.campaign(c.id).personal
    rows = rig.outbox.recipients(c.id)
    # rows of one text together, texts in first-seen order; a repeated number: its first text
    assert [(r.number, r.text) for r in rows] == [
        ("13800000001", "张三您好"), ("13800000003", "张三您好"), ("13800000002", "李四您好"),
        ("13800000004", None), ("12345", "坏号您好")]
    assert rows[-1].state == "rejected" and rows[-1].as_dict()["text"] == "坏号您好"
    plain = rig.outbox.create("hi", numbers(2))
    assert not plain.personal and not rig.outbox.campaign(plain.id).personal
    assert [r.text for r in rig.outbox.recipients(plain.id)] == [None, None]


def test_a_workspace_from_before_personal_campaigns_is_migrated_in_place(tmp_path):
    """The column and the flag come in a new migration (the outbox's third): a file made by
    an earlier smsdk keeps its campaigns (not personal, rows with the campaign's text)."""
    import sqlite3

    from smsdk.workspace.outbox import COMPONENT
    from smsdk.workspace.store import _BOOTSTRAP, _statements

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.execute(_BOOTSTRAP)
    for version, script in enumerate(COMPONENT.migrations[:2], start=1):
        for statement in _statements(script):
            db.execute(statement)
        db.execute("INSERT INTO schema_migrations VALUES ('outbox', ?, 0)", (version,))
    db.execute("INSERT INTO campaigns (text, created, first_row, last_row) VALUES ('旧的', 0, 1, 1)")
    db.execute("INSERT INTO campaign_recipients (id, campaign_id, number, updated) VALUES (1, 1, '13800000000', 0)")
    db.commit()
    db.close()
    with Workspace(path) as ws:
        outbox = Outbox(ws)
        old = outbox.campaign(1)
        assert not old.personal and old.text == "旧的" and outbox.recipients(1)[0].text is None
        assert ws.db.execute("SELECT MAX(version) FROM schema_migrations WHERE component = 'outbox'"
                             ).fetchone()[0] == len(COMPONENT.migrations) == 3
        assert outbox.create_personal("{n}", [("13800000001", "新的")]).personal


@pytest.mark.parametrize("to, error, match", [
    ([], ValueError, "at least one recipient"),
    ("13800000000", TypeError, "pairs"),
    (["13800000000"], TypeError, r"\(number, text\) pairs"),
    ([["13800000000", "a", "b"]], TypeError, r"\(number, text\) pairs"),
    ([("13800000000", "a", "b")], TypeError, r"\(number, text\) pairs"),
    ([("13800000000", 5)], TypeError, "the text for '13800000000' must be str"),
    ([("13800000000", "")], ValueError, "the text for '13800000000' is empty"),
    ([("12345", "hi")], ValueError, "no valid recipient among the 1 given"),
])
def test_bad_personal_campaigns_refused_with_clear_errors(rig, to, error, match):
    with pytest.raises(error, match=match):
        rig.outbox.create_personal("{name}", to)
    assert rig.outbox.campaigns() == []


def test_a_personal_text_that_can_never_be_sent_is_refused_naming_its_recipient(rig):
    with pytest.raises(PlanError, match="the text for 13800000002 cannot be sent"):
        rig.outbox.create_personal("{name}", [("13800000001", "ok"), ("13800000002", "长" * 20000)],
                                   signature=SIG)
    with pytest.raises(ValueError, match="text must not be empty"):
        rig.outbox.create_personal("", [("13800000001", "ok")])
    assert rig.outbox.campaigns() == []


def test_a_personal_campaign_sends_each_recipient_its_own_text(rig):
    pairs = personal_pairs([("A 您好", 7), ("B 您好", 3), ("C 您好", 5)])
    c = rig.outbox.create_personal("{name} 您好", pairs + [("bad", "X")], signature=SIG)
    client = rig.client(group=5)
    run = rig.outbox.start(client, c.id)
    assert len(run.submissions) == 3 and run.submission is run.submissions[0]
    rig.run(1.0)
    assert run.done.called and run.error is None
    got = texts_received(rig)
    assert set(got) == {n for n, _ in pairs}
    assert all(len(got[n]) == 1 and got[n][0].endswith(t) for n, t in pairs)  # (after the signature)
    done = rig.outbox.campaign(c.id)
    assert done.counts == {"delivered": 15, "rejected": 1} and done.state == "sent" and done.personal
    assert [x.id for x in rig.outbox.sent()] == [c.id]


def test_a_personal_campaign_whose_later_text_the_client_refuses_sends_the_rest_later(rig):
    """Stored without a signature, each text is checked alone; the client adds its own, and
    one text that then no longer fits is refused by client.send after the first text went."""
    from smsdk import text as text_mod

    n = 100
    while True:  # the longest text that fits alone, not with the client's signature
        try:
            text_mod.plan("长" * (n + 1), signature=SIG)
        except PlanError:
            break
        n += 1
    text_mod.plan("长" * (n + 1), signature="")  # (fits without one)
    long_text = "长" * (n + 1)
    pairs = personal_pairs([("A 您好", 4), ("B 您好", 3)])
    c = rig.outbox.create_personal("{name} 您好", pairs + [(f"139{i:08d}", long_text) for i in range(2)])
    client = rig.client(group=5)
    run = rig.outbox.start(client, c.id)  # the first two texts go, the third is refused
    assert isinstance(run.error, PlanError) and run.total == 7 and len(run.submissions) == 2
    rig.run(1.0)
    assert run.done.called and run.finished == 7
    # the refused rows were never written: queued (not "submitted": below no written-through mark)
    assert rig.outbox.campaign(c.id).counts == {"delivered": 7, "queued": 2}
    assert {n for n in rig.submitted_to()} == {n for n, _ in pairs}
    # a continue refuses it again, at once and cleanly: the campaign is not left running
    with pytest.raises(PlanError):
        rig.outbox.start(client, c.id)
    with pytest.raises(PlanError):
        rig.outbox.start(client, c.id)
    assert rig.outbox.campaign(c.id).counts == {"delivered": 7, "queued": 2}
    assert rig.outbox.campaign(c.id, count=False).runner_pid is None


def test_a_personal_campaign_crashed_mid_way_keeps_the_written_through_invariant(rig):
    """Several texts, rows written in row order across the submissions: after a crash every
    row at or below the mark reached the server and none above it did; continue sends
    exactly the rest with their own texts, --resend-unknown the unknown ones, none twice."""
    rig.server.report_stat = lambda n: None
    pairs = personal_pairs([("甲", 9), ("乙", 4), ("丙", 1), ("丁", 11), ("戊", 6)])
    text_of = dict(pairs)
    c = rig.outbox.create_personal("{x}", pairs)
    client = rig.client(rate=5, group=2)
    rig.outbox.start(client, c.id)
    rig.run(1.5)
    rig.clock.advance(0.5)  # SUBMITs written to the connection, never answered
    endpoint = rig.endpoints[-1]
    rig.crash()
    for pump in endpoint.pumps:  # what was written reaches the platform; no answer comes back
        pump.server.dataReceived(pump.clientIO.getOutBuffer())
    first, _last, mark = rig.outbox._range(c.id)
    rows = rig.ws.db.execute("SELECT id, number FROM campaign_recipients WHERE campaign_id = ? ORDER BY id",
                             (c.id,)).fetchall()
    at_or_below = {n for rid, n in rows if rid <= mark}
    written = texts_received(rig)
    assert 0 < len(at_or_below) < len(rows)
    assert set(written) == at_or_below  # every row up to the mark was written, none above
    assert all(len(v) == 1 and v[0].endswith(text_of[n]) for n, v in written.items())
    unknown = {r.number for r in rig.outbox.recipients(c.id, state="submitted")}
    accepted = {r.number for r in rig.outbox.recipients(c.id, state="accepted")}
    assert unknown and accepted and unknown | accepted == at_or_below

    rig.server.submits.clear()
    client = rig.client()
    run = rig.outbox.start(client, c.id)
    rig.run(1.0)
    assert run.unanswered == 0
    client.stop()  # (no reports come: stop waiting for them)
    rig.run()
    assert run.done.called
    again = texts_received(rig)
    assert set(again) == {n for _, n in rows} - at_or_below  # exactly the rest, once each
    assert all(len(v) == 1 and v[0].endswith(text_of[n]) for n, v in again.items())

    rig.server.submits.clear()
    rig.outbox.start(rig.client(), c.id, resend_unknown=True)
    rig.run(1.0)
    third = texts_received(rig)
    assert set(third) == unknown and all(len(v) == 1 and v[0].endswith(text_of[n]) for n, v in third.items())
    got = rig.outbox.campaign(c.id)
    assert got.unsent == 0 and got.state == "sent"
    assert {r.number for r in rig.outbox.recipients(c.id) if r.possible_duplicate} == unknown


def test_a_personal_campaign_resent_and_scheduled_keeps_every_text(rig):
    pairs = personal_pairs([("一", 2), ("二", 3)])
    c = rig.outbox.create_personal("{n}", pairs + [("bad", "坏")], account=ACCOUNT)
    client = rig.client()
    rig.outbox.start(client, c.id)
    rig.run(0.5)
    again = rig.outbox.resend(c.id)
    assert again.personal and again.resent_from == c.id and again.counts == {"queued": 5}
    assert [(r.number, r.text) for r in rig.outbox.recipients(again.id)] == sorted(
        pairs, key=lambda p: p[1] != "一")
    rig.server.submits.clear()
    rig.outbox.start(client, again.id)
    rig.run(0.5)
    assert {n: len(v) for n, v in texts_received(rig).items()} == {n: 1 for n, _ in pairs}
    assert all(v[0].endswith(dict(pairs)[n]) for n, v in texts_received(rig).items())

    when = datetime.fromtimestamp(T0, CHINA) + timedelta(hours=2)
    s = rig.outbox.create_personal("{n}", pairs, at=when)
    assert [x.id for x in rig.outbox.scheduled()] == [s.id] and rig.outbox.due() == []
    rig.clock.advance(2 * 3600 - 60)
    assert [x.id for x in rig.outbox.due()] == [s.id]
    rig.server.submits.clear()
    run = rig.outbox.start(rig.client(), s.id)  # (a new session: hours went by)
    assert len(run.submissions) == 2
    rig.run(0.5)
    assert all(sub.at_time for sub in rig.server.submits) and len(rig.server.submits) == 2
    assert rig.outbox.campaign(s.id).state == "sent"
    # cancelling works as for any scheduled campaign
    s2 = rig.outbox.create_personal("{n}", pairs, at=when + timedelta(days=1))
    assert rig.outbox.cancel(s2.id).counts == {"cancelled": 5}


def test_a_personal_campaign_with_thousands_of_distinct_texts(rig):
    n = 2000
    pairs = [(f"139{i:08d}", f"尊敬的客户{i}，您好") for i in range(n)]
    c = rig.outbox.create_personal("尊敬的客户{name}，您好", pairs)
    run = rig.outbox.start(rig.client(rate=100_000, group=5), c.id)
    assert len(run.submissions) == n
    rig.run(2.0)
    assert run.done.called
    assert rig.outbox.campaign(c.id).counts == {"delivered": n}
    got = texts_received(rig)
    assert len(got) == n
    assert all(len(v) == 1 and v[0].endswith(f"尊敬的客户{int(num[3:])}，您好") for num, v in got.items())
    assert run.commits < n  # batched, not a transaction per text


def test_storing_a_campaign_leaves_foreign_keys_checked(rig):
    """The campaign's own rows skip SQLite's check of their campaign_id (set just before in
    the same transaction); the connection checks foreign keys again afterwards, and within
    an outer transaction (where the pragma cannot change) storing works as well."""
    rig.outbox.create("你好", ["13800000000"])
    assert rig.ws.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with rig.ws.transaction():
        inner = rig.outbox.create("你好", ["13800000001", "13800000002"])
    assert rig.outbox.campaign(inner.id).counts == {"queued": 2}
    assert rig.ws.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with pytest.raises(sqlite3.IntegrityError):
        rig.ws.db.execute("INSERT INTO campaign_recipients (campaign_id, number, updated) VALUES (999, '1', 0)")
