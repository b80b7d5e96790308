"""HTTP submits/s through the fake 企信通 platform's HTTP interface (/httpserver).

    python benchmarks/http_load.py                          # the standard table
    python benchmarks/http_load.py --requests 20000 --concurrency 32 --numbers 5
    python benchmarks/http_load.py --json out.json

Runs per setting (``--numbers``):

* ``sdk``: both sides in one run: the platform (``smsdk fake-smsc``) in its own process, and
  in this one the SDK's ``smsdk.http.HttpClient`` (treq) sending one campaign of
  ``--requests`` × numbers recipients, chunked by numbers, ``--concurrency`` in flight;
  then every report is read back by /queryrptbyid.sms.
* ``wire``: the platform (``smsdk fake-smsc``) in its own process on loopback, HTTP only;
  this process sends ``--requests`` POST /httpserver forms (GBK text, ``auth`` +
  ``timestamp``) with ``--concurrency`` in flight over persistent connections (twisted's
  ``Agent``), then asks /queryrptbyid.sms for every send id and counts the report lines:
  every recipient must have one (nothing lost).
* ``inproc``: the same requests straight into ``HttpFrontEnd.handle`` on a model in this
  process (no sockets, no HTTP parsing): the ceiling of the front end over the model.

``wire`` also reports the platform process's CPU time per request (its rusage, start-up
included): what one request costs the platform, whatever the client in this process costs.

The account's rate limit is off (1e9 SMS/s) and the network answers DELIVRD at once.
Bounded and local: loopback only, a fixed count, a timeout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from urllib.parse import urlencode

from smsdk.china_time import CHINA

ENTERPRISE = "00001"
ACCOUNT = "10657109000001"
PASSWORD = "load-pw"
SIG = "【示例科技】"
TEXT = "load test 负载测试"


def config_text(numbers: int) -> str:
    return f"""
[platform]
rate = 1000000000.0
group_send_limit = {max(5, numbers)}

[network]
delay_min = 0.0
delay_max = 0.0

[[enterprise]]
id = "{ENTERPRISE}"
service_code = "{ACCOUNT}"
signature = "{SIG}"

[[enterprise.accounts]]
extension = ""
password = "{PASSWORD}"
role = "admin"
"""


def credentials(eid: str) -> dict[str, str]:
    ts = datetime.now(CHINA).strftime("%Y%m%d%H%M")
    return {"timestamp": ts, "auth": hashlib.md5(f"{eid}{PASSWORD}{ts}".encode()).hexdigest()}


def mobs(i: int, numbers: int) -> str:
    return ",".join(f"139{(i * numbers + k) % 100_000_000:08d}" for k in range(numbers))


def send_form(i: int, numbers: int) -> bytes:
    return urlencode({"enterpriseid": ENTERPRISE, "accountid": "", "mobs": mobs(i, numbers),
                      "msg": TEXT, **credentials(ENTERPRISE)}, encoding="gbk").encode("ascii")


# ------------------------------------------------------------------------------------ inproc

def run_inproc(requests: int, numbers: int) -> dict:
    from smsdk_harness.fake_smsc import Platform, load_config
    from smsdk_harness.fake_smsc.http_server import HttpFrontEnd
    from smsdk_harness.fake_smsc.simclock import ReactorClock, SimulatedClock

    clock = SimulatedClock(0.0)
    platform = Platform(load_config(config_text(numbers)), ReactorClock(clock))
    front = HttpFrontEnd(platform)
    forms = [{k.encode(): [v.encode("gbk")] for k, v in {
        "enterpriseid": ENTERPRISE, "accountid": "", "mobs": mobs(i, numbers), "msg": TEXT,
        **credentials(ENTERPRISE)}.items()} for i in range(requests)]
    t0 = time.perf_counter()
    for form in forms:
        answer = front.handle("/httpserver", form)
        assert answer is not None and answer.code == 100, answer
    elapsed = time.perf_counter() - t0
    clock.advance(1.0)
    lines = sum(1 for s in front.sends.values() for i in range(len(s.numbers)) if s.outcome(i))
    platform.close()
    return {"mode": "inproc", "requests": requests, "numbers": numbers, "seconds": elapsed,
            "requests_per_s": requests / elapsed, "recipients_per_s": requests * numbers / elapsed,
            "reports": lines}


# ------------------------------------------------------------------------------------ wire

def run_wire(requests: int, numbers: int, concurrency: int, timeout: float,
             client: str = "agent") -> dict:
    """The platform's CPU time comes from the reaped child's rusage (start-up included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False, encoding="utf-8") as f:
        f.write(config_text(numbers))
        path = f.name
    proc = subprocess.Popen(
        [sys.executable, "-m", "smsdk.cli", "fake-smsc", "--config", path, "--port", "0",
         "--http-port", "0", "--no-control"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        port = None
        for line in proc.stdout:
            m = re.search(r"HTTP interface on http://[\d.]+:(\d+)/", line)
            if m:
                port = int(m.group(1))
            if line.startswith("Ctrl-C"):
                break
        if port is None:
            raise SystemExit(f"the platform did not start: {proc.stderr.read()}")
        drive = _drive_sdk if client == "sdk" else _drive
        result = drive(port, requests, numbers, concurrency, timeout)
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        os.unlink(path)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result["platform_cpu_s"] = cpu
    result["platform_cpu_us_per_request"] = cpu / requests * 1e6
    return result


def _drive(port: int, requests: int, numbers: int, concurrency: int, timeout: float) -> dict:
    from twisted.internet import defer, reactor, task
    from twisted.web.client import Agent, HTTPConnectionPool, readBody
    from twisted.web.http_headers import Headers

    # the whole body in the same turn as the headers (one segment: no Nagle stall)
    from smsdk_harness.fake_smsc.push import BytesProducer

    pool = HTTPConnectionPool(reactor, persistent=True)
    pool.maxPersistentPerHost = concurrency
    agent = Agent(reactor, pool=pool)
    url = f"http://127.0.0.1:{port}".encode()
    form_headers = Headers({b"content-type": [b"application/x-www-form-urlencoded"]})
    result: dict = {}

    def post(path: str, body: bytes):
        d = agent.request(b"POST", url + path.encode(), form_headers, BytesProducer(body))
        return d.addCallback(readBody)

    forms = [send_form(i, numbers) for i in range(requests)]
    send_ids: list[int] = []

    @defer.inlineCallbacks
    def worker(queue):
        for form in queue:
            body = yield post("/httpserver", form)
            code, sid = body.decode("gbk").split("\n")[:2]
            if code != "100":
                raise RuntimeError(f"refused: {body!r}")
            send_ids.append(int(sid))

    @defer.inlineCallbacks
    def main():
        t0 = time.perf_counter()
        chunks = [forms[i::concurrency] for i in range(concurrency)]
        yield defer.gatherResults([worker(c) for c in chunks], consumeErrors=True)
        elapsed = time.perf_counter() - t0
        yield task.deferLater(reactor, 0.5, lambda: None)  # reports arrive at once; let them
        lines = 0
        for i in range(0, len(send_ids), 500):
            ids = ",".join(map(str, send_ids[i:i + 500]))
            body = yield post("/queryrptbyid.sms", urlencode(
                {"eid": ACCOUNT, "ids": ids, **credentials(ACCOUNT)}).encode())
            lines += len(body.decode("gbk").strip().split("\n")) - 1
        result.update(mode="wire", requests=requests, numbers=numbers, concurrency=concurrency,
                      seconds=elapsed, requests_per_s=requests / elapsed,
                      recipients_per_s=requests * numbers / elapsed, reports=lines)
        yield pool.closeCachedConnections()

    def done(outcome):
        if isinstance(outcome, Exception) or hasattr(outcome, "getErrorMessage"):
            result["error"] = str(outcome)
        reactor.stop()

    d = main()
    d.addTimeout(timeout, reactor)
    d.addBoth(done)
    reactor.run()
    if "error" in result:
        raise SystemExit(f"the run failed: {result['error']}")
    return result


def _drive_sdk(port: int, requests: int, numbers: int, concurrency: int, timeout: float) -> dict:
    """The SDK's own HTTP client (``smsdk.http.HttpClient`` on treq): one campaign of
    ``requests × numbers`` recipients, chunked by ``numbers``, ``concurrency`` requests in
    flight, pacing off; timed until the platform answered every request."""
    from twisted.internet import defer, reactor, task

    from smsdk.dispatch import DispatchSettings
    from smsdk.http import HttpClient

    client = HttpClient(f"http://127.0.0.1:{port}", enterprise_id=ENTERPRISE, account_id="",
                        password=PASSWORD, reactor=reactor, max_in_flight=concurrency,
                        dispatch_settings=DispatchSettings(rate=1e9, group_send_limit=numbers))
    recipients = [f"139{k:08d}" for k in range(requests * numbers)]
    result: dict = {}

    @defer.inlineCallbacks
    def main():
        t0 = time.perf_counter()
        submission = client.send(TEXT, recipients)
        yield submission.submitted
        elapsed = time.perf_counter() - t0
        if submission.refusals:
            raise RuntimeError(f"{len(submission.refusals)} recipients refused")
        yield task.deferLater(reactor, 0.5, lambda: None)
        send_ids = sorted(set(submission.send_ids.values()), key=int)
        lines = 0
        for i in range(0, len(send_ids), 500):
            body = yield client._http.request(
                "POST", f"http://127.0.0.1:{port}/queryrptbyid.sms",
                data=urlencode({"eid": ACCOUNT, "ids": ",".join(send_ids[i:i + 500]),
                                **credentials(ACCOUNT)}).encode(),
                headers={"Content-Type": ["application/x-www-form-urlencoded"]})
            text = yield body.content()
            lines += len(text.decode("gbk").strip().split("\n")) - 1
        result.update(mode="sdk", requests=len(send_ids), numbers=numbers, concurrency=concurrency,
                      seconds=elapsed, requests_per_s=len(send_ids) / elapsed,
                      recipients_per_s=len(recipients) / elapsed, reports=lines)
        client.stop()

    def done(outcome):
        if hasattr(outcome, "getErrorMessage"):
            result["error"] = outcome.getErrorMessage()
        reactor.stop()

    d = main()
    d.addTimeout(timeout, reactor)
    d.addBoth(done)
    reactor.run()
    if "error" in result:
        raise SystemExit(f"the run failed: {result['error']}")
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--numbers", type=int, nargs="+", default=[1, 5], help="numbers per request")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--clients", nargs="+", choices=("agent", "sdk"), default=["agent", "sdk"],
                    help="wire clients: twisted's bare Agent, and/or the SDK's HttpClient")
    ap.add_argument("--json", help="write the runs here")
    args = ap.parse_args()
    runs = []
    for n in args.numbers:
        runs.append(run_inproc(args.requests, n))
    # the reactor runs once per process: every wire run in a child process
    for client in args.clients:
        for n in args.numbers:
            child = subprocess.run(
                [sys.executable, __file__, "--wire-only", str(n), client, "--requests", str(args.requests),
                 "--concurrency", str(args.concurrency), "--timeout", str(args.timeout)],
                capture_output=True, text=True, timeout=args.timeout + 60)
            if child.returncode:
                raise SystemExit(child.stderr)
            runs.append(json.loads(child.stdout))
    runs.sort(key=lambda r: (r["mode"], r["numbers"]))
    print(f"{'mode':<7} {'numbers':>7} {'requests':>9} {'requests/s':>11} {'recipients/s':>13} "
          f"{'reports':>8} {'platform CPU us/request':>24}")
    for r in runs:
        cpu = r.get("platform_cpu_us_per_request")
        print(f"{r['mode']:<7} {r['numbers']:>7} {r['requests']:>9} {r['requests_per_s']:>11.0f} "
              f"{r['recipients_per_s']:>13.0f} {r['reports']:>8} "
              f"{'' if cpu is None else f'{cpu:.0f}':>24}")
    lost = [r for r in runs if r["reports"] != r["requests"] * r["numbers"]]
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"runs": runs}, f, indent=2)
    if lost:
        print(f"reports missing in {len(lost)} run(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--wire-only":
        n, client = int(sys.argv[2]), sys.argv[3]
        ap = argparse.ArgumentParser()
        ap.add_argument("--requests", type=int)
        ap.add_argument("--concurrency", type=int)
        ap.add_argument("--timeout", type=float)
        a = ap.parse_args(sys.argv[4:])
        print(json.dumps(run_wire(a.requests, n, a.concurrency, a.timeout, client)))
        sys.exit(0)
    sys.exit(main())
