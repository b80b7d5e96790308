"""What the durable outbox costs: one campaign to N recipients against the fake platform,
sent in memory (``client.send``) and as a durable campaign (``Outbox.create`` + ``start``).

    python benchmarks/outbox_load.py                   # 100 000 recipients, groups 5, window 64
    python benchmarks/outbox_load.py --messages 20000 --rounds 3

The platform (``FakeSmsc``, its own process, the account's rate limit off, DELIVRD at once;
benchmarks/fake_smsc_load.py) is started afresh for every run.  A run ends when every
recipient has its status report.  The durable run's time includes storing the campaign (one
row per recipient) and every state change written to the workspace file (WAL, on disk in a
temporary directory): ``queued → submitted → accepted → delivered``, batched one transaction
per sending pass.  Runs alternate in-memory / durable ``--rounds`` times (the VM's speed
drifts); reported: recipients/s of each, the best and the median, and the outbox's cost
(1 − durable / in-memory, from the medians; and round by round, each durable run against
the in-memory run just before it: their median and range).

Bounded and local: loopback only, a fixed count, a timeout; it stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_smsc_load import ACCOUNT, PASSWORD, SIG, TEXT, PlatformProcess, config_text  # noqa: E402


def run_campaign(port: int, messages: int, window: int, group: int, durable: bool, timeout: float,
                 workdir: str) -> dict:
    """One campaign, in this process (a child of main)."""
    from twisted.internet import defer, reactor, task

    from smsdk.client import Client
    from smsdk.dispatch import DispatchSettings
    from smsdk.session import SessionSettings

    result: dict = {}

    async def main() -> None:
        client = Client("127.0.0.1", port, account=ACCOUNT, password=PASSWORD, signature=SIG,
                        reactor=reactor, session_settings=SessionSettings(window=window),
                        dispatch_settings=DispatchSettings(rate=1e9, group_send_limit=group))
        await client.start()
        numbers = [f"138{i:08d}" for i in range(messages)]
        if durable:
            from smsdk.workspace.outbox import Outbox
            from smsdk.workspace.store import Workspace

            ws = Workspace(os.path.join(workdir, "ws.sqlite3"))
            outbox = Outbox(ws)
            started = time.perf_counter()
            made = outbox.create(TEXT, numbers)
            stored = time.perf_counter()
            run = outbox.start(client, made.id)
            await run.done.addTimeout(timeout, reactor)
            elapsed = time.perf_counter() - started
            counts = outbox.campaign(made.id).counts
            result.update(store_seconds=stored - started, commits=run.commits,
                          delivered=counts.get("delivered", 0),
                          db_bytes=sum(os.path.getsize(os.path.join(workdir, f)) for f in os.listdir(workdir)))
            ws.close()
        else:
            started = time.perf_counter()
            submission = client.send(TEXT, to=numbers)
            await submission.deferred.addTimeout(timeout, reactor)
            elapsed = time.perf_counter() - started
            result["delivered"] = submission.counts()["delivered"]
        result["elapsed"] = elapsed
        await client.stop()

    try:
        task.react(lambda _r: defer.ensureDeferred(main()))
    except SystemExit:
        pass
    assert result.get("delivered") == messages, f"lost outcomes: {result}"
    return result


def run_one(messages: int, window: int, group: int, durable: bool, timeout: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        platform = PlatformProcess(config_text(7 * 86400.0, group), tmp, None)
        try:
            workdir = os.path.join(tmp, "ws")
            os.mkdir(workdir)
            out = run_campaign(platform.port, messages, window, group, durable, timeout, workdir)
        finally:
            platform.stop()
    out.update(messages=messages, window=window, group=group, durable=durable,
               per_second=messages / out["elapsed"])
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--group", type=int, default=5)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--one", nargs=4, type=int, metavar=("MESSAGES", "WINDOW", "GROUP", "DURABLE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        messages, window, group, durable = args.one
        print(json.dumps(run_one(messages, window, group, bool(durable), args.timeout)), flush=True)
        return

    import smsdk

    rows: list[dict] = []
    for _ in range(args.rounds):
        for durable in (0, 1):
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(args.messages), str(args.window), str(args.group),
                 str(durable), "--timeout", str(args.timeout)],
                capture_output=True, text=True, timeout=args.timeout + 120,
            )
            if out.returncode != 0 or not out.stdout.strip():
                raise SystemExit(f"run durable={durable} failed:\n{out.stderr}")
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    memory = [r["per_second"] for r in rows if not r["durable"]]
    durable_rates = [r["per_second"] for r in rows if r["durable"]]
    cost = 1 - statistics.median(durable_rates) / statistics.median(memory)
    # (each round's durable run against its in-memory run, just before it: the VM's speed
    # drifts less within a round than over the whole run)
    paired = sorted(1 - d / m for m, d in zip(memory, durable_rates))
    stores = [r["store_seconds"] for r in rows if r["durable"]]
    commits = [r["commits"] for r in rows if r["durable"]]
    print(f"smsdk {smsdk.__version__}, compiled={smsdk.COMPILED}, {args.messages} recipients, "
          f"{args.group} per SUBMIT, window {args.window}, {args.rounds} rounds")
    print("| campaign | recipients/s with reports (median) | best | runs |")
    print("|---|---|---|---|")
    print(f"| in memory (client.send) | {statistics.median(memory):,.0f} | {max(memory):,.0f} | "
          f"{', '.join(f'{x:,.0f}' for x in memory)} |")
    print(f"| durable (outbox) | {statistics.median(durable_rates):,.0f} | {max(durable_rates):,.0f} | "
          f"{', '.join(f'{x:,.0f}' for x in durable_rates)} |")
    print(f"round by round: {statistics.median(paired):.1%} (median; {paired[0]:.1%} to {paired[-1]:.1%})")
    print(f"outbox cost: {cost:.1%} of end-to-end throughput (median vs median); storing the campaign "
          f"{statistics.median(stores):.2f} s; {statistics.median(commits):,.0f} transactions per campaign")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"runs": rows, "cost": cost, "compiled": smsdk.COMPILED}, fh, indent=2)


if __name__ == "__main__":
    main()
