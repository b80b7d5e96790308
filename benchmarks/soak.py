"""Soak: campaigns through a misbehaving link, checking the one-outcome promise.

    python benchmarks/soak.py                                  # 5 000 recipients, every scenario
    python benchmarks/soak.py --recipients 5000 --scenario all --seed 7
    python benchmarks/soak.py --scenario cuts --scenario delays --recipients 20000 --json out.json

Each scenario starts a fresh fake platform in this process (harness/fake_smsc, on the real
reactor, loopback) with the fault proxy (harness/fake_smsc/faultproxy.py) in front of its
EMPP port, connects one ``smsdk.Client`` through the proxy, sends one text to
``--recipients`` numbers, and injects its faults through the control API while the campaign
runs (at seeded random times while the SUBMITs go out: the expected sending time is
``--recipients / --rate``):

* ``clean``      no faults (the baseline);
* ``cuts``       the proxy cuts the connection 6 times, each after a random 1..200 bytes
                 (mid-frame): what it held in flight is lost both ways;
* ``delays``     every platform->client byte 1.5 s late with the client's response_timeout
                 at 1 s: SUBMITs are sent again while the first is being accepted;
* ``stalls``     4 stalls of 1..4 s (nothing moves, then everything) with response_timeout 2 s;
* ``busy``       the client paces 30 % above the account's rate (10004) and the platform
                 answers 1 % of SUBMITs with 10005, and all of them for a quarter of the
                 sending time (at least 1 s);
* ``terminate``  the platform sends TERMINATE 3 times (``POST /sessions/terminate``); the
                 client reconnects (``reconnect_after_terminate=True``);
* ``terminate-stop``  the platform sends TERMINATE once, with the client's default settings
                 (no reconnecting), and ``client.stop()`` is called while recipients are
                 still queued: at once (the two TERMINATEs cross) or, by the seed, in the
                 first reactor turn after the client took the platform's TERMINATE.  Each
                 recipient gets exactly one outcome (``cancelled`` for those not sent or not
                 reported yet: cancelled outcomes count) and stop()'s Deferred fires;
* ``kick``       3 times a second login of the same account takes the session over
                 (login_policy "kick": the client gets TERMINATE); the intruder acknowledges
                 nothing and leaves 0.2 s later without a word;
* ``mix``        all of it at once, lighter: cuts, stalls, a platform drop, TERMINATE, a
                 kick, 10005, jitter and re-chunked reads;
* ``disk``       a durable campaign (``Outbox.create`` + ``start``, a workspace file in a
                 temporary directory) whose file cannot be written 4 times for 0.2..1.5 s
                 (every commit fails and rolls back, as on a full disk), and 2 cuts: the
                 outbox's rows must end as the client's outcomes say (a row that does not
                 counts as missing: "not written").

Per scenario it prints the recipients, their outcomes, the recipients **missing** an outcome
when the campaign ended (every outcome in, or the deadline: ``--grace`` seconds after the
expected sending time), the numbers the platform **accepted twice** (SUBMITs of this text
accepted per number, from the platform's records), the numbers the client **flagged** as
possible duplicates (``outcome.possible_duplicate``; a client without that field: its
``dispatcher.possible_duplicates`` count) and the time to the last outcome.  The promise
holds when missing is 0 and flagged >= accepted twice; the exit status is 1 otherwise.
Missing recipients are broken down by where they were lost (the platform's record of the
SUBMITs and reports of each).

Bounded and local: loopback only, a deadline per scenario, no sleeping beyond it.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

SCENARIOS = ("clean", "cuts", "delays", "stalls", "busy", "terminate", "terminate-stop", "kick", "mix",
             "disk")

def platform_config(rate: float, seed: int) -> Any:
    """The embedded demo platform at ``rate`` SMS/s (1 s bucket), reports 0.05-0.5 s after
    sending, 3 % of them UNDELIV."""
    from dataclasses import replace

    from smsdk_harness.fake_smsc import default_config

    cfg = default_config()
    return replace(
        cfg, rate=rate,
        enterprises=tuple(replace(e, rate=rate, burst=rate) for e in cfg.enterprises),
        network=replace(cfg.network, seed=seed, delay_min=0.05, delay_max=0.5,
                        mix=(("DELIVRD", 0.97), ("UNDELIV", 0.03))))


@dataclass
class Result:
    scenario: str
    recipients: int
    outcomes: dict[str, int]
    missing: int
    accepted_twice: int
    flagged: int
    flagged_from: str
    last_outcome: float | None
    elapsed: float
    faults: dict[str, int]
    missing_where: dict[str, int] = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        return self.missing == 0 and self.flagged >= self.accepted_twice

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "holds": self.holds}


class _Intruder:
    """A second login of the same account: CONNECT, stay ``linger`` seconds after the
    CONNECT_RESP, leave without a word (no TERMINATE, no DELIVER_RESP for the reports the
    platform sent it meanwhile: a second instance of an application that dies)."""

    def __init__(self, account: str, password: str, china_now: Any, reactor: Any,
                 linger: float = 0.2) -> None:
        from twisted.internet.protocol import Protocol

        from smsdk import codec
        from smsdk._layouts import Dialect

        stamp = codec.timestamp_from_datetime(china_now())
        packet = codec.encode(codec.build_connect(account, password, stamp, Dialect.EMPP), 1, Dialect.EMPP)

        class Kick(Protocol):
            def connectionMade(self) -> None:
                self.transport.write(packet)

            def dataReceived(self, data: bytes) -> None:
                if not getattr(self, "leaving", False):
                    self.leaving = True
                    reactor.callLater(linger, self.transport.abortConnection)

        self.protocol = Kick


def _flagged(submission: Any, client: Any) -> tuple[int, str]:
    from smsdk.dispatch import Outcome

    if "possible_duplicate" in getattr(Outcome, "__dataclass_fields__", {}) or hasattr(Outcome, "possible_duplicate"):
        return (sum(1 for o in submission.outcomes.values() if getattr(o, "possible_duplicate", False)),
                "outcome.possible_duplicate")
    return int(getattr(client.dispatcher, "possible_duplicates", 0)), "dispatcher.possible_duplicates"


def _platform_view(fake: Any, account: str, text: str) -> tuple[collections.Counter[str], dict[str, list[str]]]:
    """Accepted SUBMITs of ``text`` per number, and the states of each number's reports."""
    accepted: collections.Counter[str] = collections.Counter()
    ids: set[int] = set()
    for rec in fake.platform.submissions(account):
        if rec.accepted and text in rec.text:
            ids.add(rec.id)
            accepted.update(rec.dest)
    reports: dict[str, list[str]] = collections.defaultdict(list)
    for rr in fake.platform.reports(account):
        if rr.item.submission_id in ids:
            reports[rr.item.dest_terminal_id].append(rr.state)
    return accepted, reports


_REPORT_STATES = {
    "delivered": "the platform wrote its report on a session's link",
    "flushed": "the platform wrote its report at a later login (offline queue)",
    "offline": "its report waits in the platform's offline queue",
    "dropped": "the platform dropped its report",
}


def _queued(client: Any) -> set[str]:
    """Numbers still waiting in the client's dispatcher queue (not yet written again)."""
    queue = getattr(client.dispatcher, "_queue", ())
    return {r.number for job in queue for r in getattr(job, "recipients", ()) if not getattr(r, "done", False)}


def _where(number: str, submission: Any, accepted: collections.Counter[str],
           reports: dict[str, list[str]], queued: set[str]) -> str:
    """Where the outcome of a missing recipient was lost, in words."""
    client = "the client counts it accepted" if number in submission.accepted else "the client never saw it accepted"
    if number in queued:
        client += ", still queued in the client"
    if not accepted[number]:
        return f"never accepted by the platform; {client}"
    states = reports.get(number)
    if not states:
        return f"accepted; no report made yet; {client}"
    said = "; ".join(_REPORT_STATES.get(s, f"report state {s!r}") for s in sorted(set(states)))
    return f"accepted; {said}; {client}"


def _not_written(outbox: Any, campaign_id: int, submission: Any) -> list[str]:
    """Recipients whose final outcome (delivered, failed, expired) the outbox's row does not
    say: lost by the store."""
    state_of = {r.number: r.state for r in outbox.recipients(campaign_id)}
    return [n for n, o in submission.outcomes.items()
            if o.state.value in ("delivered", "failed", "expired") and state_of.get(n) != o.state.value]


def run_scenario(name: str, recipients: int, seed: int, *, rate: float = 500.0,
                 grace: float = 60.0) -> Result:
    """One campaign under scenario ``name`` (see the module docstring)."""
    from twisted.internet import reactor
    from twisted.internet.endpoints import TCP4ClientEndpoint
    from twisted.internet.protocol import Factory

    from smsdk.dispatch import DispatchSettings
    from smsdk.session import SessionSettings
    from smsdk_harness.fake_smsc.runner import FakeSmsc

    if name not in SCENARIOS:
        raise ValueError(f"scenario: one of {', '.join(SCENARIOS)}, not {name!r}")
    rng = random.Random(f"{seed}:{name}")
    # the client's bucket holds 0.1 s worth (the platform's 1 s): the campaign goes out at
    # the rate, not in one burst, and the platform takes what a stall or a delay bunches up
    burst = max(5.0, rate / 10)
    fake = FakeSmsc.start(platform_config(rate, seed), reactor=reactor,
                          port=0, control_port=None, fault_proxy_port=0, fault_seed=seed)
    from smsdk_harness.fake_smsc.control import ControlApi
    from smsdk_harness.fake_smsc.faultcontrol import register

    api = ControlApi(fake)           # the control API, called in-process (no HTTP round trips)
    register(api, fake.fault_proxy)

    def control(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        status, answer = api.call(method, path, body)
        if status != 200:
            raise RuntimeError(f"{method} {path} {body}: {status} {answer}")
        return answer

    info = fake.account()
    expected = recipients / rate                 # seconds of sending at the account's rate
    session = dict(window=16)
    client_rate = rate
    reconnect = name in ("terminate", "kick", "mix")
    if name == "delays":
        session.update(response_timeout=1.0, window=128)
    elif name in ("stalls", "mix"):
        session.update(response_timeout=2.0, window=64)
    elif name == "busy":
        client_rate = rate * 1.3
    extra = {"delays": 3.0, "stalls": 4.0, "mix": 3.0}.get(name, 0.0)  # the longest delay or stall
    faults: collections.Counter[str] = collections.Counter()
    calls: list[Any] = []
    stopping: list[Any] = []   # terminate-stop: the Deferred of client.stop()

    def at_random_times(count: int, action: Any) -> None:
        # while SUBMITs are still going out (the first 90 % of the expected sending time)
        for _ in range(count):
            calls.append(reactor.callLater(rng.uniform(0.05, 0.9) * expected, action))

    def cut() -> None:
        faults["proxy cuts"] += control("POST", "/faults/cut", {"after_bytes": rng.randint(1, 200)})["cut"]

    def stall(low: float, high: float) -> Any:
        def run() -> None:
            faults["proxy stalls"] += control("POST", "/faults/stall", {"seconds": rng.uniform(low, high)})["stalled"]
        return run

    def terminate() -> None:
        faults["TERMINATE"] += control("POST", "/sessions/terminate", {"account": info.id})["terminated"]

    def terminate_then_stop() -> None:
        terminate()
        if rng.random() < 0.5:
            stop_client("client.stop() crossing the TERMINATE")  # before the client reads it
        else:
            stop_when_terminated()

    def stop_when_terminated() -> None:
        # the first reactor turn after the client took the TERMINATE (it is shutting down,
        # its connection closing, its recipients not cancelled yet)
        if client.stopped:
            stop_client("client.stop() after the TERMINATE")
        else:
            calls.append(reactor.callLater(0, stop_when_terminated))

    def stop_client(how: str) -> None:
        faults[how] += 1
        faults["awaiting an outcome at stop()"] += submission.pending
        stopping.append(client.stop())

    def drop() -> None:
        faults["platform drops"] += control("POST", "/sessions/drop", {"account": info.id})["dropped"]

    def kick() -> None:
        if not fake.sessions(info.id):
            return
        intruder = _Intruder(info.id, info.password, fake.platform.china_now, reactor)
        factory = Factory.forProtocol(intruder.protocol)
        TCP4ClientEndpoint(reactor, fake.host, fake.port).connect(factory).addErrback(lambda _f: None)
        faults["kicks"] += 1

    text = f"压力测试 {name} #{seed}：您的验证码是 {rng.randrange(10**6):06d}。"
    numbers = [f"139{i:08d}" for i in range(recipients)]
    client = fake.client(
        endpoint=TCP4ClientEndpoint(reactor, fake.host, fake.fault_proxy_port),
        session_settings=SessionSettings(**session),
        dispatch_settings=DispatchSettings(rate=client_rate, burst=burst, group_send_limit=5),
        reconnect_after_terminate=reconnect,
        retry_policy=lambda attempt: min(2.0, 0.2 * 2 ** attempt),
        rng=random.Random(seed),
    )
    started = time.monotonic()
    fake.run_until(lambda: client.bound, timeout=30, what="the first login")
    run: Any = None
    if name == "disk":
        import tempfile

        from smsdk.testing import DiskFull
        from smsdk.workspace.outbox import Outbox
        from smsdk.workspace.store import Workspace

        tmp = tempfile.TemporaryDirectory()
        ws = Workspace(f"{tmp.name}/ws.sqlite3")
        outbox = Outbox(ws)
        campaign = outbox.create(text, numbers)
        disk = DiskFull(ws)
        run = outbox.start(client, campaign.id, flush_interval=0.5)
        submission = run.submission
    else:
        submission = client.send(text, to=numbers)
    send_at = time.monotonic()

    def disk_full(seconds: float) -> Any:
        def run_() -> None:
            disk.full = True
            faults["file not writable"] += 1
            calls.append(reactor.callLater(seconds, lambda: setattr(disk, "full", False)))
        return run_
    if name == "cuts":
        at_random_times(6, cut)
    elif name == "delays":
        control("POST", "/faults", {"delay_down": 1.5})
    elif name == "stalls":
        at_random_times(4, stall(1.0, 4.0))
    elif name == "busy":
        # 1 % at random, and everything for a quarter of the sending time (at least 1 s: a
        # short campaign's window must outlast a backoff) somewhere in it
        start = fake.platform.now() + rng.uniform(0.1, 0.5) * expected
        control("POST", "/overload", {"probability": 0.01, "windows": [[start, start + max(1.0, expected / 4)]]})
    elif name == "terminate":
        at_random_times(3, terminate)
    elif name == "terminate-stop":
        at_random_times(1, terminate_then_stop)
    elif name == "kick":
        at_random_times(3, kick)
    elif name == "disk":
        for _ in range(4):
            at_random_times(1, disk_full(rng.uniform(0.2, 1.5)))
        at_random_times(2, cut)
    elif name == "mix":
        control("POST", "/faults", {"jitter": 0.02, "rechunk": 0.01})
        control("POST", "/overload", {"probability": 0.005})
        for action in (cut, cut, stall(1.0, 3.0), stall(1.0, 3.0), terminate, kick, drop):
            at_random_times(1, action)

    # busy: 10004 pauses the client 1 s each time, 10005 backs it off 0.5..1.5 s, doubling
    deadline = expected * (2.5 if name == "busy" else 1.1) + extra + grace
    progress = {"count": 0, "at": None}

    def finished() -> bool:
        count = len(submission.outcomes)
        if count != progress["count"]:
            progress["count"], progress["at"] = count, time.monotonic() - send_at
        # terminate-stop: client.stop()'s Deferred must fire as well (after the outcomes)
        if name == "terminate-stop" and not stopping:
            return False
        # disk: and the run's last write done (it retries while the file cannot be written)
        return submission.done and all(d.called for d in stopping) and (run is None or run.closed)

    try:
        fake.run_until(finished, timeout=deadline, what="every outcome")
    except TimeoutError:
        pass
    finished()
    for call in calls:
        if call.active():
            call.cancel()
    accepted, reports = _platform_view(fake, info.id, text)
    missing_numbers = [n for n in submission.recipients if n not in submission.outcomes]
    queued = _queued(client) if missing_numbers else set()
    where = collections.Counter(_where(n, submission, accepted, reports, queued) for n in missing_numbers)
    lost_by_store: list[str] = []
    if run is not None:
        disk.full = False
        lost_by_store = _not_written(outbox, campaign.id, submission)
        if lost_by_store:
            where["the client has its outcome; the outbox's row does not say it (not written)"] = len(lost_by_store)
        faults["commits refused"] = disk.refused
        ws.close()
        tmp.cleanup()
    flagged, flagged_from = _flagged(submission, client)
    faults["proxy connections"] = fake.fault_proxy.counters["connections"]
    faults["10004"] = fake.platform.counters.get("refused_10004", 0)
    faults["10005"] = fake.platform.counters.get("refused_10005", 0)
    result = Result(
        scenario=name, recipients=recipients,
        outcomes={k: v for k, v in submission.counts().items() if v},
        missing=submission.pending + len(lost_by_store), accepted_twice=sum(1 for n in accepted.values() if n >= 2),
        flagged=flagged, flagged_from=flagged_from, last_outcome=progress["at"],
        elapsed=time.monotonic() - started, faults={k: v for k, v in faults.items() if v},
        missing_where=dict(where.most_common()),
    )
    fake.wait(fake.stop(), timeout=30)
    fake.run(0.02)
    return result


def _table(results: list[Result]) -> list[str]:
    lines = ["| scenario | recipients | outcomes | missing | accepted twice | flagged | last outcome | faults injected | holds |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        outcomes = ", ".join(f"{k} {v}" for k, v in r.outcomes.items())
        faults = ", ".join(f"{k} {v}" for k, v in r.faults.items())
        last = f"{r.last_outcome:.1f} s" if r.last_outcome is not None else "-"
        lines.append(f"| {r.scenario} | {r.recipients} | {outcomes} | {r.missing} | {r.accepted_twice} | "
                     f"{r.flagged} | {last} | {faults} | {'yes' if r.holds else 'NO'} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Scenarios: " + ", ".join(SCENARIOS))
    parser.add_argument("--recipients", type=int, default=5000, help="per campaign (default 5000)")
    parser.add_argument("--scenario", action="append", choices=[*SCENARIOS, "all"],
                        help="repeatable; default all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=500.0,
                        help="the account's SMS/s on the platform, and the client's pace (default 500)")
    parser.add_argument("--grace", type=float, default=60.0,
                        help="seconds allowed after the expected sending time before recipients "
                             "without an outcome count as missing (default 60)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--verbose", "-v", action="store_true", help="the SDK's warnings on stderr")
    args = parser.parse_args(argv)
    if args.recipients < 1:
        parser.error("--recipients must be at least 1")
    if args.rate <= 0 or args.grace < 0:
        parser.error("--rate must be > 0 and --grace >= 0")
    names = list(SCENARIOS) if not args.scenario or "all" in args.scenario else list(dict.fromkeys(args.scenario))
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.CRITICAL,
                        format="%(name)s: %(message)s")

    import smsdk

    results = []
    for name in names:
        r = run_scenario(name, args.recipients, args.seed, rate=args.rate, grace=args.grace)
        results.append(r)
        print(f"{name}: {r.recipients} recipients, outcomes {r.outcomes}, missing {r.missing}, "
              f"accepted twice {r.accepted_twice}, flagged {r.flagged} ({r.flagged_from}), "
              f"last outcome {'-' if r.last_outcome is None else f'{r.last_outcome:.1f} s'}, "
              f"faults {r.faults} -> {'holds' if r.holds else 'BROKEN'}", flush=True)
        for where, count in r.missing_where.items():
            print(f"    missing {count}: {where}", flush=True)
    print()
    print(f"smsdk {smsdk.__version__}, compiled={smsdk.COMPILED}, seed {args.seed}, rate {args.rate:g}/s")
    for line in _table(results):
        print(line)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"seed": args.seed, "recipients": args.recipients, "compiled": smsdk.COMPILED,
                       "results": [r.as_dict() for r in results]}, fh, ensure_ascii=False, indent=2)
    return 0 if all(r.holds for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
