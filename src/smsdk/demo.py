"""``smsdk demo``: a small campaign against the fake 企信通 platform, end to end over loopback.

It starts the fake platform in-process on 127.0.0.1 (``smsdk_harness.fake_smsc`` with its
embedded demo configuration: enterprise 示例科技 signing 【示例科技】, 13800138666 on the
enterprise blacklist, no China Unicom service), logs in with :class:`smsdk.Client` and sends
a short text, a 61–70-char text, a long text and a group of 12, with a blacklisted, a China
Unicom, a PHS and an invalid number among the recipients.  It prints one outcome per
recipient, what a few handsets show, and what the platform billed.  Real clock; the
network's report delays are the config's (0.5–2 s), so it takes a couple of seconds.
"""

from __future__ import annotations

import time
from typing import Any

from twisted.internet import defer

DEMO_SIGNATURE = "【示例科技】"
BLACKLISTED = "13800138666"   # on the demo enterprise's blacklist → DTBLACK
UNICOM = "13000130000"        # China Unicom; the demo enterprise has no Unicom service → UNSURPT
PHS = "02161234567"           # PHS / fixed line: the SDK never sends it

CAMPAIGN: list[tuple[str, str, list[str]]] = [
    ("short", "您的验证码是 482913，5 分钟内有效。", ["13800138000", "+86 139-0013-9000", BLACKLISTED]),
    ("61-70 chars", "尊敬的客户：您预约的上门服务时间为明天上午九点至十一点，届时工程师将携带工具上门，请保持电话畅通，如需改约请回复本短信，谢谢配合！",
     ["13800138001", UNICOM]),
    ("long (UDH)", "【通知】" + "本季度账单已生成，您可以登录网上营业厅查看明细，如对账单有疑问请在七日内联系客服。" * 3,
     ["13800138002", PHS]),
    ("group of 12", "周末促销：全场满 200 减 50，详情见门店公告。", [f"1390013{9000 + i:04d}" for i in range(12)]
     + ["12345"]),
]

#: the recipients whose handsets the demo shows
SHOW_HANDSETS = ["13800138000", "13800138001", "13800138002", BLACKLISTED]


async def _run(reactor: Any, console: Any) -> int:
    from rich.table import Table

    from smsdk.client import Client
    from smsdk.dispatch import DispatchSettings
    from smsdk_harness.fake_smsc import default_config
    from smsdk_harness.fake_smsc.runner import FakeSmsc

    fake = FakeSmsc.start(default_config(), reactor=reactor, port=0)
    account = fake.account()  # the demo's main account: 10657109000001 / demo-main
    platform = fake.platform
    ent = platform.enterprise(account.enterprise_id)
    console.print(
        f"fake 企信通 platform on {fake.host}:{fake.port}: account {account.id}, signature "
        f"{account.signature}, blacklist {', '.join(sorted(ent.blacklist))}, "
        f"China Unicom service {'on' if ent.unicom else 'off'}")
    assert fake.port is not None  # started with port=0: it listens
    client = Client(fake.host, fake.port, account=account.id, password=account.password,
                    signature=account.signature, reactor=reactor,
                    dispatch_settings=DispatchSettings(rate=platform.account(account.id).bucket.rate,
                                                       group_send_limit=ent.group_send_limit))
    started = time.monotonic()
    try:
        await client.start()
        submissions = [(label, text, client.send(text, to=to)) for label, text, to in CAMPAIGN]
        await defer.gatherResults([s.deferred for _, _, s in submissions]).addTimeout(60, reactor)
        elapsed = time.monotonic() - started
        await client.stop()
    finally:
        await fake.stop()

    table = Table(title=f"Outcomes ({elapsed:.2f} s, {len(platform.submissions())} SUBMITs)")
    for column in ("message", "chars", "SMS each", "recipient", "outcome", "status"):
        table.add_column(column, no_wrap=True)
    table.add_column("detail", overflow="fold")
    totals: dict[str, int] = {}
    planned = 0
    for label, text, submission in submissions:
        # in the order given (the SDK's normal form), then the numbers it refused itself
        order = [submission.outcomes[r] for r in submission.recipients if r in submission.outcomes]
        order += [o for r, o in submission.outcomes.items() if r not in submission.recipients]
        for outcome in order:
            totals[outcome.state.value] = totals.get(outcome.state.value, 0) + 1
            sms = submission.plan.sms_per_recipient if outcome.state.value != "rejected" else 0
            if outcome.state.value == "delivered":
                planned += sms
            table.add_row(label, str(submission.plan.chars), str(sms), outcome.recipient,
                          outcome.state.value, outcome.status, "" if outcome.ok else outcome.detail)
    console.print(table)

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

    summary = ", ".join(f"{count} {state}" for state, count in sorted(totals.items()))
    billed = platform.billing(account.id)
    console.print(f"{sum(totals.values())} recipients: {summary}")
    console.print(f"billing: the platform billed account {account.id} {billed} SMS "
                  f"(the SDK's plan for the delivered recipients: {planned})")
    return 0


def _why_nothing(platform: Any, number: str) -> str:
    stats = [r.item.stat for r in platform.reports(number=number)]
    return f"report {stats[-1]}" if stats else "never sent"


def run() -> int:
    import sys

    from rich.console import Console

    from smsdk.cli_send import react

    console = Console() if sys.stdout.isatty() else Console(width=120)
    return react(lambda reactor: _run(reactor, console))
