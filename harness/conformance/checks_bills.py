"""SDK-side properties of the workspace's bills (CLIENT-bill) and birthday greetings
(CLIENT-birthday).  They need no platform: each example runs on a fresh in-memory workspace
whose clock the example sets; campaign outcomes are written as the outbox's sending run
writes them (state and one Msg_Id per accepted part)."""

from __future__ import annotations

import calendar
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from smsdk import text as text_mod
from smsdk.china_time import CHINA
from smsdk.workspace.bills import BillError, Bills, months_back
from smsdk.workspace.birthdays import Birthdays, BirthdayError
from smsdk.workspace.books import Books
from smsdk.workspace.outbox import Outbox
from smsdk.workspace.store import Workspace

from .checks_model import cjk
from .registry import check

_NOW = datetime(2026, 3, 15, 10, 0, tzinfo=CHINA).timestamp()

texts = st.one_of(st.text(cjk, min_size=1, max_size=20), st.text(cjk, min_size=61, max_size=200),
                  st.text("abcxyz 0123", min_size=1, max_size=150).filter(str.strip))
# outcome of one recipient: stored state, and whether the platform accepted its parts
outcomes = st.sampled_from([("delivered", True), ("failed", True), ("accepted", True), ("expired", True),
                            ("queued", False), ("rejected", False), ("cancelled", False),
                            ("submitted", False)])
campaign_st = st.tuples(
    texts,
    st.integers(-130, 10),                 # days from now it was sent (or is scheduled)
    st.booleans(),                         # scheduled (At_Time)
    st.sampled_from(["", "alice", "bob"]),  # account
    st.lists(st.tuples(st.integers(0, 7), outcomes), min_size=1, max_size=6),  # (mobile index, outcome)
)


def _mobile(i: int) -> str:
    return f"1380000{i:04d}"


@check("CLIENT-bill")
def bill_counts(ctx: Any) -> None:
    """campaigns sent over five months with any mix of outcomes: each month's bill (the last
    three only) counts, per recipient, one SMS per part the platform accepted (the plan's
    pieces: per piece billing); by type and by account both add up to that total; a group's
    bill counts exactly its members; months outside the three and unknown groups are refused;
    the text and csv exports carry the totals."""

    @ctx.settings(30)
    @given(st.lists(campaign_st, min_size=1, max_size=5), st.sets(st.integers(0, 7), max_size=5))
    def prop(campaigns: list[Any], members: set[int]) -> None:
        now = [_NOW]
        with Workspace(":memory:", clock=lambda: now[0]) as ws:
            box = Outbox(ws, pid_alive=lambda pid: False)
            book = Books(ws).public()
            for i in members:
                book.add(f"m{i}", _mobile(i), group="vip")
            want: Counter[tuple[str, str]] = Counter()   # (month, key) -> SMS
            want_total: Counter[str] = Counter()
            want_group: Counter[str] = Counter()
            for text, days, scheduled, account, rows in campaigns:
                when = _NOW + days * 86400.0
                now[0] = when - (3600.0 if scheduled else 0.0)
                at = datetime.fromtimestamp(when, CHINA) if scheduled else None
                c = box.create(text, [_mobile(i) for i, _ in rows], at=at, account=account)
                pieces = text_mod.plan(text, signature="").sms_per_recipient
                first = ws.db.execute("SELECT first_row FROM campaigns WHERE id = ?", (c.id,)).fetchone()[0]
                first_seen: dict[int, Any] = {}  # each number once, first-seen order (as the outbox stores them)
                for i, o in rows:
                    first_seen.setdefault(i, o)
                unique = list(first_seen.items())
                month = datetime.fromtimestamp(when, CHINA).strftime("%Y-%m")
                with ws.transaction() as db:
                    db.execute("UPDATE campaigns SET dispatched = ? WHERE id = ?", (now[0], c.id))
                    for k, (i, (state, accepted)) in enumerate(unique):
                        ids = " ".join(f"{c.id:04x}{k:04x}{p:02x}" for p in range(pieces)) if accepted else ""
                        db.execute("UPDATE campaign_recipients SET state = ?, msg_ids = ? WHERE id = ?",
                                   (state, ids, first + k))
                        if accepted:
                            kind = "scheduled" if scheduled else "long" if pieces > 1 else "normal"
                            want[(month, kind)] += pieces
                            want[(month, account or "(default)")] += pieces
                            want_total[month] += pieces
                            if i in members:
                                want_group[month] += pieces
            now[0] = _NOW
            bills = Bills(ws)
            shown = months_back(_NOW)
            assert [b.month for b in bills.bill()] == shown == ["2026-03", "2026-02", "2026-01"]
            for b in bills.bill(by="type"):
                assert b.total_sms == want_total[b.month] == sum(ln.sms for ln in b.lines)
                for ln in b.lines:
                    assert ln.sms == want[(b.month, ln.key)], (b.month, ln.key)
            for b in bills.bill(by="account"):
                assert b.total_sms == want_total[b.month] == sum(ln.sms for ln in b.lines)
                for ln in b.lines:
                    assert ln.sms == want[(b.month, ln.key)], (b.month, ln.key)
            for m in shown:
                (g,) = bills.bill(m, group="public/vip") if members else bills.bill(m)
                assert g.total_sms == (want_group[m] if members else want_total[m])
            for bad in ("2025-12", "2026-04", "2026-13", "march", ""):
                try:
                    bills.bill(bad)
                except BillError:
                    pass
                else:
                    raise AssertionError(f"month {bad!r} was accepted")
            try:
                bills.bill(group="public/nobody")
            except BillError:
                pass
            else:
                raise AssertionError("an unknown group was accepted")

    prop()


birthdays_st = st.one_of(st.dates(date(1950, 1, 1), date(2010, 12, 31)).map(lambda d: d.isoformat()),
                         st.dates(date(2000, 1, 1), date(2000, 12, 31)).map(lambda d: d.strftime("--%m-%d")),
                         st.sampled_from(["1992-02-29", "--02-29", "1990-02-28", "--03-01"]))


@check("CLIENT-birthday")
def birthday_greetings(ctx: Any) -> None:
    """contacts with any birthdays (02-29 included, with or without a year), any day from
    today on, run twice (a daily cron job run again): every contact born on the day's month
    and day (02-29 on 02-28 in a year without it) gets exactly one scheduled campaign at that
    day and time, its text the filled template; nobody else gets one; the second run
    schedules nothing; a day in the past and a bad time are refused."""

    @ctx.settings(30)
    @given(st.lists(birthdays_st, min_size=1, max_size=8), st.integers(0, 800),
           st.sampled_from([(2027, 2, 28), (2028, 2, 29), (2028, 2, 28), None]),
           st.integers(0, 23), st.integers(0, 59))
    def prop(bdays: list[str], offset: int, fixed: Any, hour: int, minute: int) -> None:
        with Workspace(":memory:", clock=lambda: _NOW) as ws:
            book = Books(ws).public()
            for i, b in enumerate(bdays):
                book.add(f"友{i}", _mobile(i), birthday=b)
            bd = Birthdays(ws)
            today = datetime.fromtimestamp(_NOW, CHINA).date()
            day = date(*fixed) if fixed else today + timedelta(days=offset)
            greeted = {(day.month, day.day)}
            if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
                greeted.add((2, 29))
            expect = {_mobile(i) for i, b in enumerate(bdays) if (int(b[-5:-3]), int(b[-2:])) in greeted}
            at = f"{hour:02d}:{minute:02d}"
            first = bd.schedule("{name}生日快乐", day, at=at)
            assert {s.contact.mobile for s in first if s.campaign_id is not None} == expect
            when = datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHINA).timestamp()
            sched = bd.outbox.scheduled()
            assert len(sched) == len(expect)
            for c in sched:
                (r,) = bd.outbox.recipients(c.id)
                assert r.number in expect and c.at == when
                assert c.text == f"{book.find(mobile=r.number)[0].name}生日快乐"
            again = bd.schedule("{name}生日快乐", day, at=at)
            assert all(s.campaign_id is None for s in again) and len(again) == len(first)
            assert len(bd.outbox.scheduled()) == len(expect)
            for bad_day, bad_at in ((today - timedelta(days=1 + offset), at), (day, f"{24 + hour}:00"),
                                    (day, "9h"), ("2026-02-30", at)):
                try:
                    bd.schedule("x", bad_day, at=bad_at)
                except BirthdayError:
                    pass
                else:
                    raise AssertionError(f"{bad_day!r} {bad_at!r} was accepted")

    prop()
