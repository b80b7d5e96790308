"""The monthly bill (smsdk.workspace.bills) over a workspace holding a 100 000-recipient
campaign (``SMSDK_BENCH_BILL_ROWS`` to change it), built without a network: the campaign is
stored with ``Outbox.create`` and its rows' outcomes are set with SQL (a mix of delivered,
failed, still accepted, unknown and never sent, one or two Msg_Ids per recipient), and 30 000
of its numbers are in address-book groups.  One round is the bill of the month by type, by
account or by group (and the three months by group), then its text and csv export.  docs/benchmarks.md has the figures."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from smsdk.china_time import CHINA
from smsdk.workspace.bills import Bills, to_csv, to_text
from smsdk.workspace.books import Books
from smsdk.workspace.importer import import_contacts
from smsdk.workspace.outbox import Outbox
from smsdk.workspace.store import Workspace

ROWS = int(os.environ.get("SMSDK_BENCH_BILL_ROWS", "100000"))
NOW = datetime(2026, 12, 3, 15, 0, 0, tzinfo=CHINA).timestamp()
MONTH = "2026-12"


def build(path: Path, rows: int = ROWS) -> Workspace:
    """A workspace with one dispatched campaign of ``rows`` recipients, outcomes set by SQL."""
    ws = Workspace(path, clock=lambda: NOW)
    outbox = Outbox(ws)
    numbers = [f"138{i:08d}" for i in range(rows)]
    c = outbox.create("会员日活动：全场满 200 减 50，详情请见门店公告。", numbers, signature="【示例科技】",
                      account="10657109000001")
    with ws.transaction() as db:
        db.execute("UPDATE campaigns SET dispatched = ? WHERE id = ?", (NOW - 3600, c.id))
        # by row: 1 in 10 never answered (unknown), 1 in 20 never sent, 1 in 7 failed, 1 in 50
        # still accepted, the rest delivered; every third recipient got 2 Msg_Ids (a long text)
        db.execute(
            "UPDATE campaign_recipients SET "
            "state = CASE WHEN id % 10 = 0 THEN 'unknown' WHEN id % 20 = 5 THEN 'queued' "
            "WHEN id % 7 = 0 THEN 'failed' WHEN id % 50 = 1 THEN 'accepted' ELSE 'delivered' END, "
            "msg_ids = CASE WHEN id % 10 = 0 OR id % 20 = 5 THEN '' "
            "WHEN id % 3 = 0 THEN printf('%020x %020x', id * 2, id * 2 + 1) "
            "ELSE printf('%020x', id * 2) END "
            "WHERE campaign_id = ?", (c.id,))
    book_csv = path.with_suffix(".csv")
    with open(book_csv, "w", encoding="utf-8") as fh:
        fh.write("姓名,手机\n")
        for i in range(0, min(rows, 60_000), 2):
            fh.write(f"客户{i},{numbers[i]}\n")
    public = Books(ws).public()
    import_contacts(public, book_csv, group="客户")
    with open(book_csv, "w", encoding="utf-8") as fh:
        fh.write("姓名,手机\n")
        for i in range(0, min(rows, 30_000), 3):
            fh.write(f"会员{i},{numbers[i]}\n")
    import_contacts(public, book_csv, group="会员")
    return ws


@pytest.fixture(scope="module")
def bills(tmp_path_factory):
    ws = build(tmp_path_factory.mktemp("bills") / "ws.sqlite3")
    yield Bills(ws)
    ws.close()


@pytest.mark.parametrize(("month", "by"), [(MONTH, "type"), (MONTH, "account"), (MONTH, "group"),
                                           (None, "group")], ids=["type", "account", "group", "3-months-group"])
def test_bill_100k(benchmark, bills, month, by):
    def bill_and_export():
        months = bills.bill(month, by=by)   # month None: the last three (what --export writes)
        return months, to_text(months), to_csv(months)

    months, _text, _csv = benchmark.pedantic(bill_and_export, rounds=5, iterations=1)
    assert months[0].total_recipients > ROWS // 2
