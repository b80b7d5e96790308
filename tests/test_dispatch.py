"""The sending pipeline without I/O: chunking, pacing, retries, matching, outcomes."""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from hypothesis import given, strategies as st
from hypothesis_profiles import examples

from smsdk import codec
from smsdk._layouts import Dialect
from smsdk.china_time import CHINA
from smsdk.dispatch import (
    Backpressure,
    Dispatcher,
    DispatchSettings,
    OnLinkLoss,
    OutcomeState,
    format_at_time,
)
from smsdk.errors import PlanError
from smsdk.msgid import EmppMsgId

SIG = "【示例科技】"


def numbers(n: int, start: int = 0) -> list[str]:
    return [f"138{start + i:08d}" for i in range(n)]


def drain(d: Dispatcher, now: float) -> list:
    jobs = []
    while (job := d.pop_ready(now)) is not None:
        jobs.append(job)
    return jobs


def accept(d: Dispatcher, job, base: int, now: float) -> list[EmppMsgId]:
    raw = EmppMsgId.from_int(base).raw
    d.on_submit_resp(job, codec.SubmitResp(msg_id=raw, result=0), now)
    return [EmppMsgId.from_int(base) + i for i in range(len(job.recipients))]


def report(msg_id: EmppMsgId, stat: str = "DELIVRD", number: str = "13800000000"):
    return codec.StatusReport(msg_id=msg_id.raw, stat=stat, submit_time="2611221500",
                              done_time="2611221500", dest_terminal_id=number, smsc_sequence=0)


def test_recipients_are_chunked_to_the_group_send_limit():
    d = Dispatcher(settings=DispatchSettings(group_send_limit=5, rate=1000))
    sub = d.add("你好", numbers(12), signature=SIG, now=0)
    jobs = drain(d, 0)
    assert [len(j.pdu.dest_terminal_id) for j in jobs] == [5, 5, 2]
    assert [n for j in jobs for n in j.pdu.dest_terminal_id] == numbers(12)
    assert sub.pending == 12


def test_chunks_never_cost_more_than_the_rate_bucket_holds():
    """rate 2/s (burst 2) with group_send_limit 5: a 3-number SUBMIT could never be accepted."""
    d = Dispatcher(settings=DispatchSettings(group_send_limit=5, rate=2))
    d.add("hi", numbers(5), now=0)
    sent = []
    now = 0.0
    while (ready := d.next_ready_time(now)) is not None:
        now = ready
        sent.append((now, len(d.pop_ready(now).pdu.dest_terminal_id)))
    assert [n for _, n in sent] == [2, 2, 1]
    assert [t for t, _ in sent] == pytest.approx([0.0, 1.0, 1.5])  # the bucket refills 2 tokens/s


def test_invalid_phs_and_duplicate_numbers_never_reach_the_platform():
    d = Dispatcher(settings=DispatchSettings(rate=1000))
    sub = d.add("hi", ["13800138000", "02161234567", "abc", "+86 138 0013 8000"], now=0)
    jobs = drain(d, 0)
    assert [j.pdu.dest_terminal_id for j in jobs] == [("13800138000",)]
    assert sub.outcomes["02161234567"].state is OutcomeState.REJECTED
    assert "PHS" in sub.outcomes["02161234567"].detail
    assert sub.outcomes["abc"].state is OutcomeState.REJECTED
    assert sub.duplicates_dropped == 1
    assert sub.pending == 1


def test_every_number_refused_finishes_at_once():
    d = Dispatcher()
    sub = d.add("hi", ["nope"], now=0)
    assert sub.done and sub.counts()["rejected"] == 1
    fired = []
    sub.add_done_callback(fired.append)
    assert fired == [sub]


def test_group_ids_map_to_recipients_in_order_and_all_parts_must_be_delivered():
    d = Dispatcher(settings=DispatchSettings(rate=1000))
    long_text = "长" * 100  # 2 UDH parts with the signature reserved
    sub = d.add(long_text, numbers(3), signature=SIG, now=0)
    part1, part2 = drain(d, 0)
    ids1 = accept(d, part1, 0x00000000000000FE, 1)  # carry from byte 7 into byte 6
    ids2 = accept(d, part2, 0x0000000000001000, 1)
    assert ids1[2].hex == "00000000000001000000"
    for i, number in enumerate(numbers(3)):
        assert d.on_report(report(ids1[i], number=number), 2)
    assert not sub.done  # second parts not yet reported
    for i in range(3):
        assert d.on_report(report(ids2[i]), 3)
    assert sub.done
    assert all(o.state is OutcomeState.DELIVERED for o in sub.outcomes.values())
    assert sub.outcomes[numbers(3)[2]].msg_ids == (ids1[2].hex, ids2[2].hex)
    assert d.tracked == 0


def test_a_failed_report_fails_the_recipient_with_its_status():
    d = Dispatcher(settings=DispatchSettings(rate=1000))
    sub = d.add("hi", numbers(2), now=0)
    (job,) = drain(d, 0)
    ids = accept(d, job, 500, 0)
    d.on_report(report(ids[0], "DTBLACK"), 1)
    d.on_report(report(ids[1], "CA:0054"), 1)
    assert sub.outcomes[numbers(2)[0]].status == "DTBLACK"
    assert "black" in sub.outcomes[numbers(2)[0]].detail
    assert sub.outcomes[numbers(2)[1]].detail == "network error CA:0054"
    assert sub.counts()["failed"] == 2


def test_refusal_fails_only_that_chunk_and_cancels_its_other_parts():
    d = Dispatcher(settings=DispatchSettings(rate=1000, group_send_limit=2))
    sub = d.add("长" * 100, numbers(4), signature=SIG, now=0)
    jobs = drain(d, 0)  # chunk A part 1, part 2, chunk B part 1, part 2
    assert len(jobs) == 4
    d.on_submit_resp(jobs[0], codec.SubmitResp(msg_id=bytes(10), result=13), 0)
    assert {sub.outcomes[n].status for n in numbers(2)} == {"R13"}
    assert "Dest_terminal_Id" in sub.outcomes[numbers(2)[0]].detail or "destination" in sub.outcomes[numbers(2)[0]].detail
    assert numbers(4)[2] not in sub.outcomes


def test_rate_limited_submit_is_resubmitted_alone_after_a_pause():
    d = Dispatcher(settings=DispatchSettings(rate=1000, rate_limited_pause=2.0))
    sub = d.add("hi", numbers(1), now=0)
    (job,) = drain(d, 0)
    d.on_submit_resp(job, codec.SubmitResp(msg_id=bytes(10), result=10004), 0.5)
    assert d.pop_ready(1.0) is None
    assert d.next_ready_time(1.0) == pytest.approx(2.5)
    again = d.pop_ready(2.5)
    assert again is job and job.resubmits == 1
    accept(d, job, 1, 2.6)
    assert not sub.done


def test_rate_limited_group_submit_is_split_so_a_slower_account_still_gets_everything():
    d = Dispatcher(settings=DispatchSettings(rate=1000, group_send_limit=5, rate_limited_pause=1.0))
    sub = d.add("hi", numbers(5), now=0)
    (job,) = drain(d, 0)
    d.on_submit_resp(job, codec.SubmitResp(msg_id=bytes(10), result=10004), 0)
    halves = drain(d, 1.0)
    assert [j.pdu.dest_terminal_id for j in halves] == [tuple(numbers(5)[:2]), tuple(numbers(5)[2:])]
    assert all(j.resubmits == 1 for j in halves)
    for i, half in enumerate(halves):
        for k, msg_id in enumerate(accept(d, half, 100 * (i + 1), 1.0)):
            d.on_report(report(msg_id), 1.5)
    assert sub.counts()["delivered"] == 5


def test_busy_backs_off_exponentially_with_jitter_and_gives_up_eventually():
    d = Dispatcher(settings=DispatchSettings(rate=1000, busy_backoff_initial=1, busy_backoff_max=8, max_resubmits=5),
                   rng=random.Random(1))
    sub = d.add("hi", numbers(1), now=0)
    now = 0.0
    waits = []
    for _ in range(6):
        (job,) = drain(d, now)
        d.on_submit_resp(job, codec.SubmitResp(msg_id=bytes(10), result=10005), now)
        ready = d.next_ready_time(now)
        if ready is None:
            break
        waits.append(ready - now)
        now = ready
    assert len(waits) == 5
    for i, wait in enumerate(waits):
        nominal = min(8, 2 ** i)
        assert 0.5 * nominal <= wait <= 1.5 * nominal
    assert sub.done and sub.outcomes[numbers(1)[0]].status == "R10005"


def test_busy_refusals_of_a_whole_window_double_the_backoff_once_not_once_each():
    # 8 SUBMITs in flight when the platform starts answering 10005: one overload episode.
    # Doubling per refusal took the backoff to 2**7 (capped at busy_backoff_max) at once.
    d = Dispatcher(settings=DispatchSettings(rate=1000, group_send_limit=1, busy_backoff_initial=1,
                                             busy_backoff_max=60), rng=random.Random(3))
    sub = d.add("hi", numbers(8), now=0)
    window = drain(d, 0.0)
    assert len(window) == 8
    for job in window:
        d.on_submit_resp(job, codec.SubmitResp(msg_id=bytes(10), result=10005), 0.1)
    first_wait = d.next_ready_time(0.1) - 0.1
    assert 0.5 <= first_wait <= 1.5  # busy_backoff_initial x 0.5..1.5, not 2**7
    # the retry round written after the backoff is refused too: now it doubles, once
    now = 0.1 + first_wait
    retries = drain(d, now)
    assert len(retries) == 8
    for job in retries:
        d.on_submit_resp(job, codec.SubmitResp(msg_id=bytes(10), result=10005), now + 0.1)
    now += 0.1
    assert 1.0 <= d.next_ready_time(now) - now <= 3.0
    # an accepted SUBMIT ends the episode: the next refusal starts again from the initial backoff
    now = d.next_ready_time(now)
    third = drain(d, now)
    accept(d, third[0], 500, now)
    d.on_submit_resp(third[1], codec.SubmitResp(msg_id=bytes(10), result=10005), now)
    assert 0.5 <= d.next_ready_time(now) - now <= 1.5
    assert sub.pending == 8


def test_token_bucket_paces_per_recipient_per_segment():
    d = Dispatcher(settings=DispatchSettings(rate=10, group_send_limit=5))
    d.add("hi", numbers(20), now=0)
    sent_at = []
    now = 0.0
    while (ready := d.next_ready_time(now)) is not None:
        now = ready
        job = d.pop_ready(now)
        sent_at.append((now, job.cost))
    # burst of 10 at t=0, then 5 numbers every 0.5 s
    assert [t for t, _ in sent_at] == pytest.approx([0, 0, 0.5, 1.0])


def test_link_loss_resubmits_by_default_and_fails_when_asked():
    d = Dispatcher(settings=DispatchSettings(rate=1000))
    sub = d.add("hi", numbers(1), now=0)
    (job,) = drain(d, 0)
    d.on_submit_lost(job, "link dropped", 1)
    assert d.pop_ready(1) is job
    f = Dispatcher(settings=DispatchSettings(rate=1000, on_link_loss="fail"))
    sub = f.add("hi", numbers(1), now=0)
    (job,) = drain(f, 0)
    f.on_submit_lost(job, "link dropped", 1)
    outcome = sub.outcomes[numbers(1)[0]]
    assert outcome.state is OutcomeState.FAILED and "may or may not" in outcome.detail
    assert f.settings.on_link_loss is OnLinkLoss.FAIL


def test_late_accept_cancels_the_pending_resubmission():
    d = Dispatcher(settings=DispatchSettings(rate=1000))
    sub = d.add("hi", numbers(1), now=0)
    (job,) = drain(d, 0)
    d.on_submit_lost(job, "expired", 1)
    d.on_late_submit_resp(job, codec.SubmitResp(msg_id=EmppMsgId.from_int(9).raw, result=0), 2)
    assert d.pop_ready(2) is None  # not sent twice (FAQ-2.2.4)
    d.on_report(report(EmppMsgId.from_int(9)), 3)
    assert sub.done and sub.counts()["delivered"] == 1


def test_accepted_twice_counts_a_possible_duplicate_and_not_its_reports():
    d = Dispatcher(settings=DispatchSettings(rate=1000))
    sub = d.add("长" * 100, numbers(1), signature=SIG, now=0)
    part1, part2 = drain(d, 0)
    d.on_submit_lost(part1, "expired", 1)
    assert d.pop_ready(1) is part1  # resubmitted ...
    d.on_late_submit_resp(part1, codec.SubmitResp(msg_id=EmppMsgId.from_int(10).raw, result=0), 2)
    d.on_submit_resp(part1, codec.SubmitResp(msg_id=EmppMsgId.from_int(20).raw, result=0), 3)  # ... and accepted again
    assert d.possible_duplicates == 1
    accept(d, part2, 30, 3)
    assert not d.on_report(report(EmppMsgId.from_int(20)), 4)  # the duplicate's report counts for nothing
    assert not sub.done
    d.on_report(report(EmppMsgId.from_int(10)), 4)
    d.on_report(report(EmppMsgId.from_int(30)), 4)
    assert sub.done and sub.counts()["delivered"] == 1


def test_no_report_within_48_hours_means_expired():
    d = Dispatcher(settings=DispatchSettings(rate=1000, report_timeout=48 * 3600 + 60))
    sub = d.add("hi", numbers(2), now=0)
    (job,) = drain(d, 0)
    ids = accept(d, job, 77, 10)
    d.on_report(report(ids[0]), 20)
    assert d.next_deadline() == 10 + 48 * 3600 + 60
    d.on_timer(10 + 48 * 3600 + 59)
    assert not sub.done
    d.on_timer(10 + 48 * 3600 + 60)
    assert sub.outcomes[numbers(2)[1]].state is OutcomeState.EXPIRED
    assert sub.outcomes[numbers(2)[0]].state is OutcomeState.DELIVERED
    assert d.next_deadline() is None


def test_report_before_its_submit_resp_is_kept_and_matched():
    d = Dispatcher(settings=DispatchSettings(rate=1000))
    sub = d.add("hi", numbers(1), now=0)
    (job,) = drain(d, 0)
    assert not d.on_report(report(EmppMsgId.from_int(5)), 0.5)
    accept(d, job, 5, 1)
    assert sub.done and sub.counts()["delivered"] == 1


class Recording:
    """A SubmissionListener that records every call, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def on_written(self, submission, numbers):
        self.calls.append(("written", tuple(numbers)))

    def before_write(self):
        self.calls.append(("before_write",))

    def on_accepted(self, submission, accepted):
        self.calls.append(("accepted", tuple(accepted)))

    def on_possible_duplicate(self, submission, number):
        self.calls.append(("flagged", number))

    def on_outcome(self, submission, outcome):
        self.calls.append(("outcome", outcome.recipient, outcome.state.value, outcome.msg_ids))


def test_the_listener_hears_one_answer_per_submit_resp_before_any_outcome_it_brings():
    d = Dispatcher(settings=DispatchSettings(rate=1000, group_send_limit=3))
    heard = Recording()
    sub = d.add("hi", numbers(3), now=0, listener=heard)
    (job,) = drain(d, 0)
    assert heard.calls == [("written", tuple(numbers(3)))]
    ids = [EmppMsgId.from_int(7) + i for i in range(3)]
    assert not d.on_report(report(ids[1]), 0.5)  # a report before its SUBMIT_RESP
    accept(d, job, 7, 1)
    shown = [bytes(i).hex() for i in ids]
    assert heard.calls[1:] == [
        ("accepted", tuple((n, m, True) for n, m in zip(numbers(3), shown))),  # one call, every recipient
        ("outcome", numbers(3)[1], "delivered", (shown[1],)),
    ]
    assert sub.outcome(numbers(3)[1]).msg_ids == (shown[1],)


def test_the_listener_hears_which_answer_completes_a_long_message():
    d = Dispatcher(settings=DispatchSettings(rate=1000))
    heard = Recording()
    d.add("长" * 100, numbers(1), now=0, listener=heard)  # two parts
    first, second = drain(d, 0)
    accept(d, first, 1, 1)
    accept(d, second, 2, 1)
    answers = [c[1] for c in heard.calls if c[0] == "accepted"]
    assert [[a[2] for a in answer] for answer in answers] == [[False], [True]]


def test_backpressure_above_max_tracked():
    d = Dispatcher(settings=DispatchSettings(max_tracked=10))
    d.add("hi", numbers(8), now=0)
    with pytest.raises(Backpressure, match="awaiting outcomes"):
        d.add("hi", numbers(5, start=100), now=0)


def test_bad_text_is_a_plan_error_before_anything_is_queued():
    d = Dispatcher()
    with pytest.raises(PlanError):
        d.add("", numbers(1), now=0)
    assert d.queued == 0 and d.tracked == 0


def test_at_time_is_smpp_absolute_china_time():
    at = datetime(2026, 11, 23, 9, 30, 0, tzinfo=CHINA)
    assert format_at_time(at) == "261123093000032+"
    with pytest.raises(ValueError, match="timezone-aware"):
        format_at_time(datetime(2026, 11, 23, 9, 30))
    d = Dispatcher(settings=DispatchSettings(rate=1000))
    d.add("hi", numbers(1), at=at, now=0)
    (job,) = drain(d, 0)
    assert job.pdu.at_time == "261123093000032+"


def scripted(d: Dispatcher, script: list[str], limit: int):
    """(now, step, job, action) for each SUBMIT the dispatcher lets go, the clock moving to
    whenever the next one is ready, the action taken from ``script`` in turn."""
    now, steps = 0.0, 0
    while (ready := d.next_ready_time(now)) is not None and steps < limit:
        steps += 1
        now = max(now, ready)
        job = d.pop_ready(now)
        if job is not None:
            yield now, steps, job, script[steps % len(script)]


@examples(40)
@given(
    n=st.integers(min_value=1, max_value=23),
    script=st.lists(st.sampled_from(["ok", "10004", "10005", "lost", "13"]), min_size=1, max_size=60),
    stats=st.lists(st.sampled_from(["DELIVRD", "DELIVRD", "UNDELIV", "DTBLACK", None]), min_size=1, max_size=60),
)
def test_every_recipient_ends_with_exactly_one_outcome(n, script, stats):
    """Whatever the platform answers (refusals, storms, link loss, missing reports): every
    recipient is resolved once, never a second time (each _resolve call is recorded, not
    only the outcomes dict, where a second resolution would overwrite the first)."""
    d = Dispatcher(settings=DispatchSettings(rate=1000, max_resubmits=3, busy_backoff_initial=0.01,
                                             rate_limited_pause=0.01), rng=random.Random(0))
    sub = d.add("长" * 80, numbers(n), signature=SIG, now=0)
    resolved: list[str] = []
    resolve = sub._resolve

    def recording(outcome):
        resolved.append(outcome.recipient)
        return resolve(outcome)

    sub._resolve = recording
    base = 1
    now = 0.0
    for now, steps, job, action in scripted(d, script, 500):
        if action == "ok":
            ids = accept(d, job, base, now)
            base += 100
            for i, msg_id in enumerate(ids):
                stat = stats[(steps + i) % len(stats)]
                if stat is not None:
                    d.on_report(report(msg_id, stat), now)
        elif action == "lost":
            d.on_submit_lost(job, "link", now)
        else:
            d.on_submit_resp(job, codec.SubmitResp(msg_id=bytes(10), result=int(action)), now)
    d.on_timer(now + 49 * 3600 + 1)
    assert sub.done, sub
    assert sorted(resolved) == sorted(numbers(n))  # exactly one resolution per recipient
    assert set(sub.outcomes) == set(numbers(n))
    assert d.tracked == 0


def test_cmpp_group_across_the_sequence_wrap_matches_either_reading():
    from smsdk.msgid import CmppMsgId

    d = Dispatcher(Dialect.CMPP3, settings=DispatchSettings(rate=1000))
    sub = d.add("hi", numbers(3), now=0)
    (job,) = drain(d, 0)
    base = CmppMsgId.pack(month=11, day=22, hour=15, minute=4, second=5, gateway=1001, sequence=0xFFFF)
    d.on_submit_resp(job, codec.SubmitResp(msg_id=base.to_bytes(), result=0), 0)

    def rep(raw: bytes):
        return codec.StatusReport(msg_id=raw, stat="DELIVRD", submit_time="", done_time="",
                                  dest_terminal_id="", smsc_sequence=0)

    assert d.on_report(rep(base.to_bytes()), 1)
    assert d.on_report(rep((base + 1).to_bytes()), 1)             # sequence wrapped to 0 (§2.10)
    assert d.on_report(rep((base.value + 2).to_bytes(8, "big")), 1)  # a gateway that carries instead
    assert sub.done and sub.counts()["delivered"] == 3
    assert d._by_msgid == {}  # the other reading of each id was forgotten with it


# -- possible duplicates, repeated reports, cancelling, recipient lists --------------------


def test_a_submit_the_session_sent_twice_is_a_flagged_possible_duplicate():
    d = Dispatcher(settings=DispatchSettings(rate=1000))
    sub = d.add("hi", numbers(2), now=0)
    (job,) = drain(d, 0)
    d.on_submit_resent(job)  # no SUBMIT_RESP within T: the same Sequence_Id written again
    ids = accept(d, job, 10, 1.5)  # the first copy's answer; the second may be accepted too
    for msg_id in ids:
        d.on_report(report(msg_id), 2)
    assert sub.done and sub.possible_duplicates == 2 and d.possible_duplicates == 2
    assert all(o.possible_duplicate and o.state is OutcomeState.DELIVERED for o in sub.outcomes.values())


def test_a_resubmission_after_link_loss_is_flagged_but_a_refused_retry_is_not():
    d = Dispatcher(settings=DispatchSettings(rate=1000, rate_limited_pause=0.01))
    sub = d.add("hi", numbers(2), now=0, signature="")
    d2 = d.add("hi", numbers(1, start=50), now=0)
    first, second = drain(d, 0)
    d.on_submit_lost(first, "the link dropped", 1)  # written, unanswered: maybe accepted
    d.on_submit_resp(second, codec.SubmitResp(msg_id=bytes(10), result=10004), 1)  # refused: not accepted
    resubmitted = drain(d, 2)
    assert {j.submission for j in resubmitted} == {sub, d2}
    for i, job in enumerate(resubmitted):
        for msg_id in accept(d, job, 100 * (i + 1), 3):
            d.on_report(report(msg_id), 4)
    assert sub.done and d2.done
    assert [o.possible_duplicate for o in sub.outcomes.values()] == [True, True]
    assert [o.possible_duplicate for o in d2.outcomes.values()] == [False]
    assert d.possible_duplicates == 2


def test_link_loss_under_the_fail_policy_is_no_duplicate():
    d = Dispatcher(settings=DispatchSettings(rate=1000, on_link_loss="fail"))
    sub = d.add("hi", numbers(1), now=0)
    (job,) = drain(d, 0)
    d.on_submit_lost(job, "the link dropped", 1)
    (outcome,) = sub.outcomes.values()
    assert outcome.state is OutcomeState.FAILED and not outcome.possible_duplicate
    assert d.possible_duplicates == 0


def test_a_possible_duplicate_found_after_the_outcome_updates_it():
    d = Dispatcher(settings=DispatchSettings(rate=1000))
    sub = d.add("hi", numbers(1), now=0)
    (job,) = drain(d, 0)
    d.on_submit_lost(job, "expired", 1)
    assert d.pop_ready(1) is job  # resubmitted; flagged: the first copy's fate is unknown
    d.on_late_submit_resp(job, codec.SubmitResp(msg_id=EmppMsgId.from_int(9).raw, result=0), 2)
    d.on_report(report(EmppMsgId.from_int(9)), 3)
    (outcome,) = sub.outcomes.values()
    assert outcome.state is OutcomeState.DELIVERED and outcome.possible_duplicate
    assert d.possible_duplicates == 1 and sub.possible_duplicates == 1
    d.on_submit_resp(job, codec.SubmitResp(msg_id=EmppMsgId.from_int(20).raw, result=0), 4)
    assert d.possible_duplicates == 1  # counted once per recipient


def test_a_repeated_report_is_ignored_and_counted():
    d = Dispatcher(settings=DispatchSettings(rate=1000))
    sub = d.add("hi", numbers(2), now=0)
    (job,) = drain(d, 0)
    first, second = accept(d, job, 10, 0)
    assert d.on_report(report(first), 1)
    assert d.on_report(report(first, "UNDELIV"), 2)  # resent by the platform after a link drop
    assert d.ignored_reports == 1 and list(d.unmatched_reports) == []
    assert sub.outcomes[numbers(1)[0]].state is OutcomeState.DELIVERED
    d.on_timer(49 * 3600 + 10)  # the other one expires; its late report is ignored too
    assert sub.outcomes[numbers(2)[1]].state is OutcomeState.EXPIRED
    assert d.on_report(report(second), 49 * 3600 + 20)
    assert d.ignored_reports == 2 and list(d.unmatched_reports) == [] and d._by_msgid == {}


def test_repeated_reports_are_remembered_for_a_bounded_number_of_recipients():
    d = Dispatcher(settings=DispatchSettings(rate=1000, final_report_memory=4))
    d.add("hi", numbers(5), now=0)
    (job,) = drain(d, 0)
    ids = accept(d, job, 10, 0)
    for msg_id in ids:
        d.on_report(report(msg_id), 1)
    assert 2 <= len(d._final_ids) + len(d._final_ids_old) <= 4  # at most the setting, the newest half at least
    assert not d.on_report(report(ids[0]), 2)  # forgotten: unmatched, as any unknown report
    assert d.on_report(report(ids[4]), 2) and d.on_report(report(ids[3]), 2) and d.ignored_reports == 2


def test_cancel_all_gives_every_recipient_an_outcome_and_keeps_accepted_msg_ids():
    d = Dispatcher(settings=DispatchSettings(rate=2, group_send_limit=1))
    sub = d.add("hi", numbers(5), now=0)
    first, second = drain(d, 0)  # the bucket holds 2: three stay queued
    accept(d, first, 10, 0)
    d.on_submit_lost(second, "the link dropped", 0)  # requeued, fate unknown
    assert d.cancel_all("the client stopped") == 5 and sub.done and d.tracked == 0
    states = {n: (o.state, o.detail, o.msg_ids) for n, o in sub.outcomes.items()}
    accepted, unknown, *queued = numbers(5)
    assert states[accepted][0] is OutcomeState.CANCELLED and states[accepted][2]
    assert "accepted by the platform; the client stopped before its status report" in states[accepted][1]
    assert "may or may not have been accepted" in states[unknown][1] and not states[unknown][2]
    assert all(states[n][1] == "not sent: the client stopped first" for n in queued)
    assert d.pop_ready(100) is None and d.next_deadline() is None and d._by_msgid == {}


@pytest.mark.parametrize("to", ["13800138000", b"13800138000", None, 13800138000])
def test_to_must_be_a_collection_of_numbers(to):
    d = Dispatcher(settings=DispatchSettings(rate=1000))
    with pytest.raises(TypeError, match=r"\bto must be"):
        d.add("hi", to, now=0)
    assert d.tracked == 0 and d.pop_ready(0) is None


def test_outcome_keys_are_normal_numbers_and_every_input_is_accounted_for():
    d = Dispatcher(settings=DispatchSettings(rate=1000))
    to = ["+86 138-0013-8000", "bad", "13800138000", "bad", "", "02161234567", "", "139 0013 9000"]
    sub = d.add("hi", to, now=0)
    assert set(sub.outcomes) == {"bad", "", "02161234567"}  # the refused ones, as given
    assert sub.recipients == ("13800138000", "13900139000")  # the valid ones, normalised
    assert sub.duplicates_dropped == 3  # 138… again, "bad" again, "" again
    assert len(sub.recipients) + len(sub.outcomes) + sub.duplicates_dropped == len(to)
    for job in drain(d, 0):
        for msg_id in accept(d, job, 10, 0):
            d.on_report(report(msg_id), 1)
    assert set(sub.outcomes) == {"13800138000", "13900139000", "bad", "", "02161234567"}
    assert sub.outcome("+86 138-0013-8000") is sub.outcomes["13800138000"]
    assert sub.outcome("bad").state is OutcomeState.REJECTED and sub.outcome("13700000000") is None


@examples(60)
@given(
    n=st.integers(min_value=1, max_value=12),
    script=st.lists(st.sampled_from(["ok", "resent-both", "resent-one", "lost", "lost-accepted",
                                     "late-accepted", "10004", "10005", "13"]), min_size=1, max_size=40),
)
def test_every_recipient_the_platform_accepted_twice_is_flagged(n, script):
    """A platform that accepts copies in any way the wire allows: each recipient (of each
    part) accepted more than once is flagged possible_duplicate, and counted."""
    d = Dispatcher(settings=DispatchSettings(rate=1000, max_resubmits=4, busy_backoff_initial=0.01,
                                             rate_limited_pause=0.01, group_send_limit=3),
                   rng=random.Random(0))
    sub = d.add("长" * 80, numbers(n), signature=SIG, now=0)
    accepted_copies: dict[tuple[str, int], int] = {}
    expired = []
    base = 1
    now = 0.0

    def platform_accepts(job):
        for r in job.recipients:
            key = (r.number, job.part.pk_number)
            accepted_copies[key] = accepted_copies.get(key, 0) + 1

    for now, steps, job, action in scripted(d, script, 300):
        if action.startswith("resent"):
            d.on_submit_resent(job)
            if action == "resent-both":
                platform_accepts(job)  # the first copy too; its answer is the one that comes
            action = "ok"
        if action == "ok":
            platform_accepts(job)
            accept(d, job, base, now)
            base += 100
        elif action in ("lost", "lost-accepted", "late-accepted"):
            if action != "lost":
                platform_accepts(job)
            d.on_submit_lost(job, "link", now)
            if action == "late-accepted":
                expired.append(job)
        else:
            d.on_submit_resp(job, codec.SubmitResp(msg_id=bytes(10), result=int(action)), now)
        if expired and steps % 3 == 0:
            d.on_late_submit_resp(expired.pop(), codec.SubmitResp(msg_id=EmppMsgId.from_int(base).raw, result=0), now)
            base += 100
    d.on_timer(now + 49 * 3600 + 1)
    d.cancel_all("the test ended")
    assert sub.done and d.tracked == 0
    twice = {number for (number, _), count in accepted_copies.items() if count >= 2}
    flagged = {number for number, o in sub.outcomes.items() if o.possible_duplicate}
    assert twice <= flagged, (twice, flagged)
    assert d.possible_duplicates == sub.possible_duplicates == len(flagged)
    assert sub.flagged == flagged and all(sub.is_flagged(n) for n in flagged)


def test_submits_put_back_are_taken_again_first_in_their_order_with_their_tokens():
    """A pass its store could not record (Client._before_write): the SUBMITs go back to the
    front, the tokens they took are returned, and the listener hears of them again."""
    d = Dispatcher(settings=DispatchSettings(rate=2, burst=2, group_send_limit=1))
    heard = Recording()
    d.add("hi", numbers(3), now=0, listener=heard)
    taken = drain(d, 0)
    assert len(taken) == 2 and d.pop_ready(0) is None  # the bucket's two tokens are spent
    d.put_back(taken)
    assert all(job.copies == 0 and job.sent_at is None for job in taken)
    again = drain(d, 0)
    assert again == taken  # the same SUBMITs, first, in order, without waiting for tokens
    assert [c for c in heard.calls if c[0] == "written"] == [("written", (n,)) for n in numbers(2) * 2]
    assert d.next_ready_time(0) == pytest.approx(0.5)  # the third waits for its token as before
