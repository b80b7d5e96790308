"""End-to-end load: smsdk.Client → a minimal EMPP server in another process, over loopback.

    python benchmarks/e2e_load.py                      # the standard table (docs/benchmarks.md)
    python benchmarks/e2e_load.py --messages 2000 --windows 16 --group 1

For each window size and group size: one client connection sends ``--messages`` recipients
one text (group 1: one SUBMIT per recipient; group 5: five recipients per SUBMIT), the server
(``smsdk.testing.MinimalServer``, its own process) answers every SUBMIT and sends one DELIVRD
report per recipient, and the run ends when every recipient has its outcome.  Reported:
recipients (messages) per second with reports, p50/p99 seconds from writing a SUBMIT to its
SUBMIT_RESP, and memory per tracked recipient (a separate, sans-IO measurement).

Bounded and local: loopback only, a fixed message count, a timeout; it stops by itself.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_one(messages: int, window: int, group: int, timeout: float) -> dict:
    """One configuration, in this process (called in a child process by main)."""
    from twisted.internet import defer, reactor, task

    from smsdk.client import Client
    from smsdk.dispatch import DispatchSettings
    from smsdk.session import SessionSettings

    server = subprocess.Popen(
        [sys.executable, "-m", "smsdk.testing", "--port", "0", "--password", "secret"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        port = int(server.stdout.readline().rsplit(":", 1)[1])
        result: dict = {}

        async def main() -> None:
            client = Client(
                "127.0.0.1", port, account="10657109000001", password="secret",
                reactor=reactor, session_settings=SessionSettings(window=window),
                dispatch_settings=DispatchSettings(rate=1e9, group_send_limit=group),
            )
            await client.start()
            numbers = [f"138{i:08d}" for i in range(messages)]
            started = time.perf_counter()
            submission = client.send("load test 负载测试", to=numbers)
            await submission.deferred.addTimeout(timeout, reactor)
            elapsed = time.perf_counter() - started
            latencies = list(client.dispatcher.response_latencies)
            counts = submission.counts()
            await client.stop()
            result.update(
                messages=messages, window=window, group=group, elapsed=elapsed,
                per_second=messages / elapsed, delivered=counts["delivered"],
                submits=-(-messages // group),
                p50=_percentile(latencies, 0.50), p99=_percentile(latencies, 0.99),
            )

        task.react(lambda _r: defer.ensureDeferred(main()))
    except SystemExit:
        pass
    finally:
        server.terminate()
        server.wait(timeout=10)
    return result


def memory_per_tracked_recipient(n: int = 50_000) -> float:
    """Bytes held per recipient accepted and awaiting its report (sans-IO dispatcher)."""
    from smsdk import codec
    from smsdk.dispatch import Dispatcher, DispatchSettings
    from smsdk.msgid import EmppMsgId

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    d = Dispatcher(settings=DispatchSettings(rate=1e9, group_send_limit=5))
    d.add("memory test 内存测试", [f"139{i:08d}" for i in range(n)], now=0)
    base = 1
    while (job := d.pop_ready(0)) is not None:
        d.on_submit_resp(job, codec.SubmitResp(msg_id=EmppMsgId.from_int(base).raw, result=0), 0)
        base += 5
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert d.tracked == n
    return (after - before) / n


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--windows", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--groups", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--one", nargs=3, type=int, metavar=("MESSAGES", "WINDOW", "GROUP"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(*args.one, timeout=args.timeout)), flush=True)
        return

    import smsdk

    rows = []
    for group in args.groups:
        for window in args.windows:
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(args.messages), str(window), str(group),
                 "--timeout", str(args.timeout)],
                capture_output=True, text=True, timeout=args.timeout + 60,
            )
            if out.returncode != 0 or not out.stdout.strip():
                raise SystemExit(f"run window={window} group={group} failed:\n{out.stderr}")
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    per_recipient = memory_per_tracked_recipient()
    print(f"smsdk {smsdk.__version__}, compiled={smsdk.COMPILED}, {args.messages} recipients per run")
    print("| recipients/SUBMIT | window | recipients/s (with reports) | SUBMIT/s | p50 submit→resp | p99 submit→resp |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['group']} | {row['window']} | {row['per_second']:,.0f} | "
              f"{row['submits'] / row['elapsed']:,.0f} | {row['p50'] * 1e3:.2f} ms | {row['p99'] * 1e3:.2f} ms |")
    print(f"memory per tracked recipient: {per_recipient:,.0f} bytes")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"runs": rows, "memory_per_tracked_recipient": per_recipient,
                       "compiled": smsdk.COMPILED}, fh, indent=2)
    assert all(row["delivered"] == row["messages"] for row in rows), "a run lost outcomes"


if __name__ == "__main__":
    main()
