"""``smsdk demo``: the main job on embedded defaults, through the workspace, end to end.

It starts the fake 企信通 platform in-process on 127.0.0.1 (``smsdk_harness.fake_smsc`` with
its embedded demo configuration: enterprise 示例科技 signing 【示例科技】, 13800138666 on the
enterprise blacklist, no China Unicom service) and, in a workspace SQLite file (a fresh
temporary file, or ``--workspace PATH``):

1. imports a small address book bundled with the package (``demo_contacts.csv``: a PHS
   number among them, which the import skips and reports) into the public group 客户;
2. saves the template 问候 with ``{name}`` and fills it in for every member of the group;
3. stores the campaign in the outbox (durable: one row per recipient, a *personal*
   campaign: each row keeps its own filled-in text, the campaign the template) and sends it with
   :class:`smsdk.Client`, printing one outcome per recipient — a blacklisted and a China
   Unicom number among them;
4. prints the sent list, then a handset answers (a simulated MO) and the inbox shows it.

One mailing is one campaign, whatever the number of distinct filled-in texts (here one per
recipient: the names differ); the outbox sends it as one submission per text.  Real clock;
the network's report delays are the config's (0.5–2 s), so it takes a few seconds.
"""

from __future__ import annotations

import tempfile
import time
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from twisted.internet import defer, task

DEMO_SIGNATURE = "【示例科技】"
BLACKLISTED = "13800138666"   # on the demo enterprise's blacklist → DTBLACK
UNICOM = "13000130000"        # China Unicom; the demo enterprise has no Unicom service → UNSURPT
PHS = "02161234567"           # PHS / fixed line: refused by the import, never sent

GROUP = "客户"
TEMPLATE_NAME = "问候"
TEMPLATE = "{name}您好，周末促销：全场满 200 减 50，详情见门店公告。"
#: the handset that answers the campaign, and what it says
REPLY_FROM = "13800138000"
REPLY_TEXT = "收到，周六去看看"

#: the recipients whose handsets the demo shows
SHOW_HANDSETS = ["13800138000", "13800138001", BLACKLISTED]


def default_workspace() -> Path:
    """A fresh workspace file in a new temporary directory (kept: the demo says where)."""
    return Path(tempfile.mkdtemp(prefix="smsdk-demo-")) / "workspace.sqlite3"


async def _run(reactor: Any, console: Any, ws: Any) -> int:
    from rich.table import Table

    from smsdk.client import Client
    from smsdk.dispatch import DispatchSettings
    from smsdk.workspace.books import Books
    from smsdk.workspace.importer import import_contacts
    from smsdk.workspace.inbox import Inbox
    from smsdk.workspace.outbox import Outbox
    from smsdk.workspace.recipients import resolve
    from smsdk.workspace.templates import Templates, plan_merge
    from smsdk_harness.fake_smsc import default_config
    from smsdk_harness.fake_smsc.runner import FakeSmsc

    console.print(f"workspace: {ws.path}", soft_wrap=True, highlight=False)

    # 1. the address book: the bundled csv into the public book's group 客户
    books = Books(ws)
    with as_file(files("smsdk").joinpath("demo_contacts.csv")) as csv_path:
        imported = import_contacts(books.public(), csv_path, group=GROUP)
    console.print(f"imported demo_contacts.csv into public/{GROUP}: {imported.rows} rows → "
                  f"{imported.added} added, {imported.existing} already there, {len(imported.skipped)} skipped")
    for s in imported.skipped:
        console.print(f"  row {s.row} skipped: {s.reason}")

    # 2. the template, filled in for the group
    saved = Templates(ws).save(TEMPLATE_NAME, TEMPLATE)
    group = resolve(groups=[f"public/{GROUP}"], books=books)
    names = {r.mobile: r.name for r in group.recipients}
    planned_sms: dict[str, int] = {}
    merged = plan_merge(saved.template, group.recipients, signature=DEMO_SIGNATURE)
    console.print(f"template {saved.name}: {saved.body}  → {len(merged.sendable)} recipients, "
                  f"{merged.total_sms} SMS planned")

    fake = FakeSmsc.start(default_config(), reactor=reactor, port=0)
    account = fake.account()  # the demo's main account: 10657109000001 / demo-main
    platform = fake.platform
    ent = platform.enterprise(account.enterprise_id)
    console.print(
        f"fake 企信通 platform on {fake.host}:{fake.port}: account {account.id}, signature "
        f"{account.signature}, blacklist {', '.join(sorted(ent.blacklist))}, "
        f"China Unicom service {'on' if ent.unicom else 'off'}")
    assert fake.port is not None  # started with port=0: it listens

    # 3. the campaign, durable: stored before anything is sent (one personal campaign: a text
    # per recipient, the template as its own text)
    outbox = Outbox(ws)
    for item in merged.sendable:
        planned_sms[item.mobile] = item.sms
    campaigns = [outbox.create_personal(saved.body, [(item.mobile, item.text) for item in merged.sendable],
                                        account=account.id)]

    inbox = Inbox(ws, account.id)
    client = Client(fake.host, fake.port, account=account.id, password=account.password,
                    signature=account.signature, reactor=reactor, on_mo=inbox.on_mo,
                    dispatch_settings=DispatchSettings(rate=platform.account(account.id).bucket.rate,
                                                       group_send_limit=ent.group_send_limit))
    started = time.monotonic()
    try:
        await client.start()
        runs = [outbox.start(client, c.id, flush_interval=0.1) for c in campaigns]
        try:
            await defer.gatherResults([r.done for r in runs]).addTimeout(60, reactor)
        finally:
            for r in runs:
                r.finish()
        elapsed = time.monotonic() - started
        # 4. a handset answers; the MO reaches the inbox through on_mo
        fake.inject_mo(REPLY_FROM, account.id, REPLY_TEXT)
        for _ in range(100):
            if inbox.count():
                break
            await task.deferLater(reactor, 0.05, lambda: None)
        await client.stop()
    finally:
        await fake.stop()

    table = Table(title=f"Outcomes ({elapsed:.2f} s, {len(campaigns)} campaign in the outbox, "
                        f"{len(platform.submissions())} SUBMITs)")
    for column in ("campaign", "name", "recipient", "outcome", "status"):
        table.add_column(column, no_wrap=True)
    table.add_column("detail", overflow="fold")
    totals: dict[str, int] = {}
    planned = 0
    for c in campaigns:
        for row in outbox.recipients(c.id):
            totals[row.state] = totals.get(row.state, 0) + 1
            if row.state == "delivered":
                planned += planned_sms.get(row.number, 0)
            ok = row.state in ("accepted", "delivered")
            table.add_row(str(c.id), names.get(row.number, ""), row.number, row.state, row.status,
                          "" if ok else row.detail)
    console.print(table)

    sent = Table(title="Sent list (smsdk campaign sent)")
    for column in ("id", "state", "recipients", "states"):
        sent.add_column(column, no_wrap=True)
    sent.add_column("text", overflow="fold")
    for c in outbox.sent():
        states = ", ".join(f"{k} {v}" for k, v in sorted(c.counts.items()))
        sent.add_row(str(c.id), c.state, str(c.total), states, ("(personal) " if c.personal else "") + c.text)
    console.print(sent)

    shown = Table(title="What the handsets show (the platform appends the signature)")
    shown.add_column("handset", no_wrap=True)
    shown.add_column("SMS billed", no_wrap=True)
    shown.add_column("text on the screen", overflow="fold")
    for number in SHOW_HANDSETS:
        handset = platform.handset(number)
        texts = handset.texts or ["(nothing: " + _why_nothing(platform, number) + ")"]
        for i, text in enumerate(texts):
            shown.add_row(number if i == 0 else "", str(handset.billing) if i == 0 else "", text)
    console.print(shown)

    box = Table(title=f"Inbox (smsdk inbox list): {inbox.unread_count()} unread")
    for column in ("id", "time", "from", "to"):
        box.add_column(column, no_wrap=True)
    box.add_column("text", overflow="fold")
    for m in inbox.list():
        box.add_row(("* " if not m.read else "  ") + str(m.id), m.time_text, m.sender, m.dest_id or m.account,
                    m.shown_text)
    console.print(box)

    summary = ", ".join(f"{count} {state}" for state, count in sorted(totals.items()))
    console.print(f"{sum(totals.values())} recipients: {summary}")
    console.print(f"billing: the platform billed account {account.id} {platform.billing(account.id)} SMS "
                  f"(the SDK's plan for the delivered recipients: {planned})")
    console.print(f"workspace kept at {ws.path} (try: smsdk campaign sent --workspace {ws.path})",
                  soft_wrap=True, highlight=False)
    return 0


def _why_nothing(platform: Any, number: str) -> str:
    stats = [r.item.stat for r in platform.reports(number=number)]
    return f"report {stats[-1]}" if stats else "never sent"


def run(workspace: str | Path | None = None) -> int:
    import sys

    from rich.console import Console

    from smsdk.cli_send import react

    console = Console() if sys.stdout.isatty() else Console(width=120)
    from smsdk.workspace.store import Workspace, WorkspaceError

    path = Path(workspace) if workspace is not None else default_workspace()
    try:
        ws = Workspace(path)
    except WorkspaceError as exc:
        print(f"smsdk demo: {exc}", file=sys.stderr)
        return 1
    try:
        return react(lambda reactor: _run(reactor, console, ws))
    finally:
        ws.close()
