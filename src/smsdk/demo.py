"""``smsdk demo``: a small campaign against an in-process server, end to end over loopback.

It starts a server on 127.0.0.1 (today the minimal EMPP server of :mod:`smsdk.testing`; the
fake 企信通 platform with its rules will take its place), logs in with :class:`smsdk.Client`
and sends a short text, a 61–70-char text, a long text and a group of 12, with an invalid
and a PHS number among the recipients, then prints one outcome per recipient.
"""

from __future__ import annotations

import time
from typing import Any

from twisted.internet import defer, task

DEMO_ACCOUNT = "10657109000001"
DEMO_PASSWORD = "demo-password"
DEMO_SIGNATURE = "【示例科技】"

CAMPAIGN: list[tuple[str, str, list[str]]] = [
    ("short", "您的验证码是 482913，5 分钟内有效。", ["13800138000", "+86 139-0013-9000"]),
    ("61-70 chars", "尊敬的客户：您预约的上门服务时间为明天上午九点至十一点，届时工程师将携带工具上门，请保持电话畅通，如需改约请回复本短信，谢谢配合！",
     ["13800138001"]),
    ("long (UDH)", "【通知】" + "本季度账单已生成，您可以登录网上营业厅查看明细，如对账单有疑问请在七日内联系客服。" * 3,
     ["13800138002", "02161234567"]),
    ("group of 12", "周末促销：全场满 200 减 50，详情见门店公告。", [f"1390013{9000 + i:04d}" for i in range(12)]
     + ["12345"]),
]


async def _run(reactor: Any, console: Any) -> int:
    from rich.table import Table

    from smsdk.client import Client
    from smsdk.dispatch import DispatchSettings
    from smsdk.testing import MinimalServer

    # one recipient whose handset reports a failure, to show what that looks like
    server = MinimalServer(password=DEMO_PASSWORD, reactor=reactor,
                           report_stat=lambda n: "UNDELIV" if n == "13900139011" else "DELIVRD")
    port = reactor.listenTCP(0, server.factory(), interface="127.0.0.1")
    address = port.getHost()
    console.print(f"server listening on {address.host}:{address.port} (account {DEMO_ACCOUNT})")
    client = Client(address.host, address.port, account=DEMO_ACCOUNT, password=DEMO_PASSWORD,
                    signature=DEMO_SIGNATURE, reactor=reactor,
                    dispatch_settings=DispatchSettings(rate=100, group_send_limit=5))
    started = time.monotonic()
    await client.start()
    submissions = [(label, text, client.send(text, to=to)) for label, text, to in CAMPAIGN]
    await defer.gatherResults([s.deferred for _, _, s in submissions]).addTimeout(60, reactor)
    elapsed = time.monotonic() - started
    await client.stop()
    await port.stopListening()

    table = Table(title=f"Outcomes ({elapsed:.2f} s, {len(server.submits)} SUBMITs)")
    for column in ("message", "chars", "SMS each", "recipient", "outcome", "status"):
        table.add_column(column, no_wrap=True)
    table.add_column("detail", overflow="fold")
    totals: dict[str, int] = {}
    billed = 0
    for label, text, submission in submissions:
        for outcome in submission.outcomes.values():
            totals[outcome.state.value] = totals.get(outcome.state.value, 0) + 1
            sms = submission.plan.sms_per_recipient if outcome.state.value != "rejected" else 0
            billed += sms
            table.add_row(label, str(submission.plan.chars), str(sms), outcome.recipient,
                          outcome.state.value, outcome.status, "" if outcome.ok else outcome.detail)
    console.print(table)
    summary = ", ".join(f"{count} {state}" for state, count in sorted(totals.items()))
    console.print(f"{sum(totals.values())} recipients: {summary}; {billed} SMS billed")
    return 0


def run() -> int:
    from rich.console import Console

    import sys

    console = Console() if sys.stdout.isatty() else Console(width=120)
    holder: dict[str, int] = {}

    async def main(reactor: Any) -> None:
        holder["code"] = await _run(reactor, console)

    try:
        task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
    except SystemExit as exc:
        return holder.get("code", int(exc.code or 0))
    return holder.get("code", 0)  # pragma: no cover
