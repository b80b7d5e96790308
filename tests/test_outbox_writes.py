"""The outbox's batch writes: by range (one UPDATE over the rows' span, a slot per row in
a BLOB) writes exactly what the statement row by row writes, rows of the span that are not
in the batch untouched; the JSON object of the fallback is json.dumps'."""

from __future__ import annotations

import json
import sqlite3

from hypothesis import event, given
from hypothesis import strategies as st
from hypothesis_profiles import examples

from smsdk.workspace import outbox
from smsdk.workspace.store import _statements

ROWS = 60
STATES = ("queued", "submitted", "accepted", "delivered", "failed")

# Msg_Ids as Outcome.msg_ids shows them, joined: EMPP hex, CMPP decimal, several parts
msg_id = st.one_of(st.text("0123456789abcdef", min_size=20, max_size=20),
                   st.integers(0, 2**64 - 1).map(str))
msg_ids = st.lists(msg_id, max_size=3).map(" ".join)
earlier = st.fixed_dictionaries({}, optional={row: st.tuples(st.sampled_from(STATES), msg_ids)
                                              for row in range(1, ROWS + 1)})
# rows of a batch: dense (a span, a few left out) or anywhere
dense = st.integers(1, ROWS).flatmap(lambda lo: st.sets(st.integers(lo, min(ROWS, lo + 30)), min_size=1))
rows_of_batch = st.one_of(dense, st.sets(st.integers(1, ROWS), min_size=1))


def table(before: dict[int, tuple[str, str]]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    for script in outbox.COMPONENT.migrations:
        for statement in _statements(script):
            db.execute(statement)
    db.execute("INSERT INTO campaigns (id, text, created, first_row, last_row) VALUES (1, 't', 0, 1, ?)", (ROWS,))
    db.executemany("INSERT INTO campaign_recipients (id, campaign_id, number, state, msg_ids, updated) "
                   "VALUES (?, 1, ?, ?, ?, 0)",
                   [(row, f"138{row:08d}", *before.get(row, ("queued", ""))) for row in range(1, ROWS + 1)])
    return db


def rows(db: sqlite3.Connection) -> list[tuple]:
    return db.execute("SELECT * FROM campaign_recipients ORDER BY id").fetchall()


@examples(100)
@given(before=earlier, batch=rows_of_batch, data=st.data(), dup=st.booleans(),
       kind=st.sampled_from([("delivered", "DELIVRD", ""), ("failed", "UNDELIV", "空号"), ("expired", "", "48 h")]))
def test_finals_by_range_write_what_row_by_row_writes(before, batch, data, dup, kind):
    group = {row: data.draw(msg_ids) for row in sorted(batch, key=lambda r: data.draw(st.integers(0, 9)))}
    event("by range" if outbox._slots(group, "+") is not None else "by json")
    by_range, by_row = table(before), table(before)
    outbox._write_finals(by_range, group, *kind, dup, 7.0)
    by_row.executemany(outbox._FINALS_BY_ROW, [(*kind, ids, dup, 7.0, row) for row, ids in group.items()])
    assert rows(by_range) == rows(by_row)


@examples(100)
@given(before=earlier, batch=rows_of_batch, data=st.data())
def test_answers_by_range_write_what_row_by_row_writes(before, batch, data):
    merged = {row: [data.draw(msg_id), data.draw(st.booleans())] for row in batch}
    event("by range" if outbox._slots({r: "+" + e[0] for r, e in merged.items()}) is not None else "by row")
    by_range, by_row = table(before), table(before)
    outbox._write_answers(by_range, merged, 7.0)
    by_row.executemany(outbox._ANSWERS_BY_ROW, [(e[1], e[0], e[0], 7.0, row) for row, e in merged.items()])
    assert rows(by_range) == rows(by_row)


def test_slots_are_for_dense_ascii_batches_only():
    assert outbox._slots({5: "ab", 7: "c"}, "+") == {"slots": b"+ab   +c ", "lo": 5, "hi": 7, "width": 3}
    assert outbox._slots({1: "a", 100: "b"}) is None  # 2 rows over 100: row by row
    assert outbox._slots({1: "a", 2: "é"}) is None  # (Msg_Ids are digits; anything else: row by row)


@given(st.dictionaries(st.integers(1, 10**12), msg_ids))
def test_the_json_object_of_the_fallback_is_json_dumps(group):
    assert outbox._msg_ids_object(group) == json.dumps(group, separators=(",", ":"))
