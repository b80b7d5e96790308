"""End-to-end load against the fake 企信通 platform: SUBMIT/s with reports on one connection.

    python benchmarks/fake_smsc_load.py                       # the standard table
    python benchmarks/fake_smsc_load.py --messages 20000 --clients raw --groups 1
    python benchmarks/fake_smsc_load.py --retention 20 --messages 300000 --clients raw   # memory
    python benchmarks/fake_smsc_load.py --profile server.prof --clients raw --groups 1

The platform (``FakeSmsc``: the rules model + the EMPP front end) runs in its own process on
loopback with the account's rate limit off (1e9 SMS/s), the network answering DELIVRD at
once, and ``retention_days`` set from ``--retention`` seconds.  One connection sends
``--messages`` recipients one text and the run ends when every recipient has its report.
Two clients:

* ``sdk``: ``smsdk.Client`` (pacing off, window ``--window``), which matches every report to
  its recipient and answers every DELIVER (what an integrator runs);
* ``raw``: a bare pipelining EMPP client (pre-encoded SUBMITs, ``--window`` in flight, never
  answers DELIVER, like the official client), to see the platform's own ceiling.

Reported per run: recipients/s and SUBMIT/s with reports, and the platform process's peak
RSS and what its model holds at the end (``/status`` sizes).  With ``--profile FILE`` the
platform process runs under cProfile and writes its stats there (then read them with
``python -m pstats FILE``); ``--platform-gc off`` shows what Python's cyclic GC costs over the
retained records.  Bounded and local: loopback only, a fixed count, a timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

ACCOUNT = "10657109000001"
PASSWORD = "load-pw"
SIG = "【示例科技】"
TEXT = "load test 负载测试"


def config_text(retention: float, group: int) -> str:
    return f"""
[platform]
rate = 1000000000.0
group_send_limit = {max(5, group)}
retention_days = {retention / 86400.0!r}
housekeeping_interval = {max(1.0, retention / 4)!r}

[network]
delay_min = 0.0
delay_max = 0.0

[[enterprise]]
service_code = "{ACCOUNT}"
signature = "{SIG}"

[[enterprise.accounts]]
extension = ""
password = "{PASSWORD}"
"""


# ------------------------------------------------------------------------------ the platform


def serve(config_path: str, profile: str | None) -> None:
    """The platform process: print the ports, run until SIGTERM / SIGINT."""
    import gc
    import signal

    from twisted.internet import reactor

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
    from smsdk_harness.fake_smsc.runner import FakeSmsc, tune_gc_for_server

    fake = FakeSmsc.start(config_path, reactor=reactor, port=0, control_port=0)
    gc_mode = os.environ.get("FAKE_LOAD_GC", "server")
    if gc_mode == "off":
        gc.disable()
    elif gc_mode == "server":  # what `smsdk fake-smsc` does
        tune_gc_for_server(reactor)
    else:  # "default": CPython's thresholds, start-up frozen
        gc.freeze()
    print(f"{fake.port} {fake.control_port}", flush=True)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    signal.signal(signal.SIGTERM, lambda *_: reactor.callFromThread(reactor.stop))
    reactor.run()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)


class PlatformProcess:
    def __init__(self, config: str, tmpdir: str, profile: str | None) -> None:
        path = os.path.join(tmpdir, "load.toml")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(config)
        args = [sys.executable, os.path.abspath(__file__), "--serve", path]
        if profile:
            args += ["--profile", profile]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        line = self.proc.stdout.readline()
        self.port, self.control = (int(x) for x in line.split())
        self.peak_rss = 0
        self.samples: list[tuple[float, int]] = []
        self._t0 = time.monotonic()
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def rss(self) -> int:
        try:
            with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            rss = self.rss()
            self.peak_rss = max(self.peak_rss, rss)
            self.samples.append((time.monotonic() - self._t0, rss))

    def cpu_seconds(self) -> float:
        """User + system CPU the platform process has used (less noisy than wall time on a
        shared machine)."""
        try:
            with open(f"/proc/{self.proc.pid}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return float("nan")

    def status(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.control}/status", timeout=30) as r:
            return json.loads(r.read())

    def stop(self) -> None:
        self._stop.set()
        self.proc.terminate()
        self.proc.wait(timeout=60)


# ------------------------------------------------------------------------------ the clients


def run_sdk(port: int, messages: int, window: int, group: int, timeout: float) -> float:
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
        started = time.perf_counter()
        submission = client.send(TEXT, to=numbers)
        await submission.deferred.addTimeout(timeout, reactor)
        result["elapsed"] = time.perf_counter() - started
        result["delivered"] = submission.counts()["delivered"]
        await client.stop()

    try:
        task.react(lambda _r: defer.ensureDeferred(main()))
    except SystemExit:
        pass
    assert result.get("delivered") == messages, f"lost outcomes: {result}"
    return result["elapsed"]


def run_raw(port: int, messages: int, window: int, group: int, timeout: float) -> float:
    """A bare EMPP client over a blocking socket: CONNECT, then SUBMITs pipelined with at
    most ``window`` unanswered, counting SUBMIT_RESPs and report DELIVERs (never answered)."""
    import socket
    from datetime import datetime

    from smsdk import codec
    from smsdk._layouts import Dialect
    from smsdk.china_time import CHINA

    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    frames = codec.FrameDecoder(Dialect.EMPP, max_length=1 << 16)
    stamp = codec.timestamp_from_datetime(datetime.now(CHINA))
    sock.sendall(codec.encode(codec.build_connect(ACCOUNT, PASSWORD, stamp, Dialect.EMPP), 1, Dialect.EMPP))
    while True:
        out = frames.feed(sock.recv(65536))
        if out:
            assert out[0][1].status == 0, out
            break
    content = TEXT.encode("gbk")
    packets = []
    for k, start in enumerate(range(0, messages, group)):
        to = tuple(f"138{i:08d}" for i in range(start, min(messages, start + group)))
        pdu = codec.Submit(dest_terminal_id=to, msg_content=content, msg_fmt=15, src_id=ACCOUNT)
        packets.append(codec.encode(pdu, k + 2, Dialect.EMPP))
    sent = answered = reports = 0
    deadline = time.monotonic() + timeout
    started = time.perf_counter()
    sock.setblocking(False)
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    while reports < messages:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{answered}/{len(packets)} SUBMIT_RESPs, {reports}/{messages} reports")
        if sent < len(packets) and sent - answered < window:
            batch = packets[sent:min(len(packets), answered + window)]
            data = b"".join(batch)
            sock.setblocking(True)
            sock.sendall(data)
            sock.setblocking(False)
            sent += len(batch)
        if sel.select(timeout=1.0):
            try:
                chunk = sock.recv(1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                raise ConnectionError("the platform closed the link")
            for _seq, pdu in frames.feed(chunk):
                if isinstance(pdu, codec.SubmitResp):
                    assert pdu.result == 0, pdu
                    answered += 1
                elif isinstance(pdu, codec.Deliver):
                    reports += 1
    elapsed = time.perf_counter() - started
    sock.close()
    return elapsed


def _quartiles(samples: list[tuple[float, int]]) -> list[int]:
    """RSS at 25, 50, 75 and 100 % of the run (to see whether memory levels off)."""
    if not samples:
        return []
    return [samples[min(len(samples) - 1, int(q * len(samples)))][1] for q in (0.25, 0.5, 0.75, 0.999)]


def run_one(client: str, messages: int, window: int, group: int, retention: float, timeout: float,
            profile: str | None) -> dict:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        platform = PlatformProcess(config_text(retention, group), tmp, profile)
        try:
            runner = run_sdk if client == "sdk" else run_raw
            cpu0 = platform.cpu_seconds()
            elapsed = runner(platform.port, messages, window, group, timeout)
            cpu = platform.cpu_seconds() - cpu0
            status = platform.status()
            rss_end = platform.rss()
        finally:
            platform.stop()
    submits = -(-messages // group)
    return {
        "client": client, "messages": messages, "window": window, "group": group,
        "elapsed": elapsed, "per_second": messages / elapsed, "submits_per_second": submits / elapsed,
        "platform_cpu": cpu, "per_cpu_second": messages / cpu if cpu > 0 else float("nan"),
        "peak_rss": platform.peak_rss, "rss_end": rss_end, "sizes": status["sizes"],
        "rss_quartiles": _quartiles(platform.samples),
        "retention_seconds": retention,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--clients", nargs="+", default=["sdk", "raw"], choices=["sdk", "raw"])
    parser.add_argument("--groups", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--retention", type=float, default=7 * 86400.0,
                        help="retention_days of the platform, in seconds (default 7 days)")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--profile", help="run the platform under cProfile, stats to this file")
    parser.add_argument("--platform-gc", choices=["server", "default", "off"], default="server",
                        help="Python's cyclic GC in the platform process: server = what `smsdk "
                             "fake-smsc` sets (tune_gc_for_server), default = CPython's thresholds, "
                             "off = disabled (to see its cost)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--one", nargs=4, metavar=("CLIENT", "MESSAGES", "WINDOW", "GROUP"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.profile)
        return
    if args.one:
        client, messages, window, group = args.one
        print(json.dumps(run_one(client, int(messages), int(window), int(group), args.retention,
                                 args.timeout, args.profile)), flush=True)
        return

    import smsdk

    os.environ["FAKE_LOAD_GC"] = args.platform_gc
    rows = []
    for client in args.clients:
        for group in args.groups:
            cmd = [sys.executable, os.path.abspath(__file__), "--one", client, str(args.messages),
                   str(args.window), str(group), "--retention", str(args.retention),
                   "--timeout", str(args.timeout)]
            if args.profile:
                cmd += ["--profile", f"{args.profile}.{client}.g{group}"]
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout + 120)
            if out.returncode != 0 or not out.stdout.strip():
                raise SystemExit(f"run client={client} group={group} failed:\n{out.stderr}")
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"smsdk {smsdk.__version__}, compiled={smsdk.COMPILED}, {args.messages} recipients per run, "
          f"window {args.window}, retention {args.retention:g} s")
    print("| client | recipients/SUBMIT | recipients/s (with reports) | SUBMIT/s | recipients per "
          "platform CPU second | platform RSS at 25/50/75/100 % of the run | records held at the end |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        sizes = row["sizes"]
        held = f"{sizes['submissions']} submissions, {sizes['reports']} reports, " \
               f"{sizes['handset_messages']} handset msgs"
        print(f"| {row['client']} | {row['group']} | {row['per_second']:,.0f} | "
              f"{row['submits_per_second']:,.0f} | {row['per_cpu_second']:,.0f} | "
              f"{' / '.join(f'{x / 2**20:,.0f}' for x in row['rss_quartiles'])} MiB | {held} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"runs": rows, "compiled": smsdk.COMPILED}, fh, indent=2)


if __name__ == "__main__":
    main()
