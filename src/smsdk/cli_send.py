"""The CLI's send job: ``smsdk send`` runs one campaign from the command line (login, send,
wait, print outcomes) on top of :class:`smsdk.Client`.

Not to be confused with :mod:`smsdk.dispatch`, the SDK's sending pipeline (chunking,
pacing, retries, one outcome per recipient) that every send goes through.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from collections.abc import Awaitable, Callable
from typing import Any

from twisted.internet import defer, task
from twisted.internet.error import ConnectionRefusedError

from smsdk.dispatch import DispatchSettings, Submission
from smsdk.errors import PlanError
from smsdk.session import LoginError

EXIT_ALL_DELIVERED = 0
EXIT_NOT_ALL_DELIVERED = 1
EXIT_USAGE = 2
EXIT_LOGIN = 3


@dataclass
class SendJob:
    host: str
    port: int
    account: str
    password: str
    text: str
    recipients: list[str]
    dialect: str = "empp"
    signature: str = ""
    service_id: str = ""
    src_id: str | None = None
    rate: float = 100.0
    group_send_limit: int = 5
    wait: float = 60.0
    login_timeout: float = 30.0
    progress: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def react(main: Callable[[Any], Awaitable[int]]) -> int:
    """Run ``main(reactor)`` on the global reactor until it returns an exit status."""
    holder: dict[str, int] = {}

    async def run(reactor: Any) -> None:
        holder["code"] = await main(reactor)

    try:
        task.react(lambda reactor: defer.ensureDeferred(run(reactor)))
    except SystemExit as exc:  # react always exits; a failure leaves no code behind
        return holder.get("code", int(exc.code or 0))
    return holder.get("code", 0)  # pragma: no cover


def run(job: SendJob, *, as_json: bool = False) -> int:
    """Run the job on the global reactor; returns the exit status (see smsdk.cli)."""
    return react(lambda reactor: _send(reactor, job, as_json=as_json))


async def _send(reactor: Any, job: SendJob, *, as_json: bool) -> int:
    from smsdk.client import Client

    started = time.monotonic()
    try:
        client = Client(
            job.host, job.port, account=job.account, password=job.password, dialect=job.dialect,
            signature=job.signature, service_id=job.service_id, src_id=job.src_id, reactor=reactor,
            dispatch_settings=DispatchSettings(rate=job.rate, group_send_limit=job.group_send_limit),
        )
    except (TypeError, ValueError) as exc:
        _err(str(exc))
        return EXIT_USAGE
    try:
        await client.start().addTimeout(job.login_timeout, reactor)
    except LoginError as exc:
        _err(f"login refused: {exc}")
        await client.stop()
        return EXIT_LOGIN
    except defer.TimeoutError:
        why = client.last_connect_error or client.login_error
        reason = f": {_describe(why)}" if why is not None else " (connected, but no login answer)"
        _err(f"could not log in to {job.host}:{job.port} within {job.login_timeout:g} s{reason}")
        await client.stop()
        return EXIT_LOGIN
    try:
        submission = client.send(job.text, job.recipients)
    except PlanError as exc:
        _err(f"cannot send this text: {exc}")
        await client.stop()
        return EXIT_USAGE

    progress = _Progress(submission, reactor) if job.progress else None
    done: defer.Deferred[Any] = defer.Deferred()

    def finished(_: Any) -> None:
        if not done.called:
            done.callback(None)

    submission.add_done_callback(finished)
    try:
        await done.addTimeout(job.wait, reactor)
    except defer.TimeoutError:
        pass  # print what we have: the others are still accepted (awaiting a report) or pending
    finally:
        if progress is not None:
            progress.close()
    rows = _rows(submission)  # before stop(), which cancels whatever is still open
    await client.stop()
    elapsed = time.monotonic() - started
    _print(submission, rows, elapsed, as_json=as_json)
    every = all(row["state"] == "delivered" for row in rows)
    return EXIT_ALL_DELIVERED if every else EXIT_NOT_ALL_DELIVERED


def _describe(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused (nothing listening there?)"
    return str(error) or type(error).__name__


class _Progress:
    def __init__(self, submission: Submission, reactor: Any) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self.submission = submission
        total = len(submission.outcomes) + submission.pending
        self.bar = Progress("[progress.description]{task.description}", BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(), transient=True,
                            console=Console(stderr=True))  # stdout stays clean for pipes
        self.task = self.bar.add_task("outcomes", total=total)
        self.bar.start()
        self.loop = task.LoopingCall(self._tick)
        self.loop.clock = reactor
        self.loop.start(0.2)

    def _tick(self) -> None:
        accepted = len(self.submission.accepted)
        self.bar.update(self.task, completed=len(self.submission.outcomes),
                        description=f"accepted {accepted}, outcomes")

    def close(self) -> None:
        if self.loop.running:
            self.loop.stop()
        self._tick()
        self.bar.stop()


def _rows(submission: Submission) -> list[dict[str, Any]]:
    """One row per recipient: its outcome, or ``accepted`` / ``pending`` while it has none
    (with its possible-duplicate flag either way: a request sent twice is flagged before any
    report comes)."""
    rows = []
    for number in list(submission.outcomes) + [
        n for n in submission.recipients if n not in submission.outcomes
    ]:
        outcome = submission.outcomes.get(number)
        if outcome is None:
            state = "accepted" if number in submission.accepted else "pending"
            rows.append({"recipient": number, "state": state, "status": "", "detail": "no final outcome yet",
                         "msg_ids": [], "possible_duplicate": number in submission.flagged})
        else:
            rows.append({"recipient": number, "state": outcome.state.value, "status": outcome.status,
                         "detail": outcome.detail, "msg_ids": list(outcome.msg_ids),
                         "possible_duplicate": outcome.possible_duplicate})
    return rows


def _print(submission: Submission, rows: list[dict[str, Any]], elapsed: float, *, as_json: bool) -> None:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    if as_json:
        print(json.dumps({"outcomes": rows, "counts": counts, "elapsed_seconds": round(elapsed, 3),
                          "duplicates_dropped": submission.duplicates_dropped,
                          "possible_duplicates": sum(r["possible_duplicate"] for r in rows),
                          "sms_per_recipient": submission.plan.sms_per_recipient},
                         ensure_ascii=False))
        return
    width = max((len(r["recipient"]) for r in rows), default=11)
    for row in rows:
        status = f" {row['status']}" if row["status"] else ""
        print(f"{row['recipient']:<{width}}  {row['state']}{status}  {row['detail']}")
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"-- {len(rows)} recipients: {summary}; {elapsed:.2f} s", file=sys.stderr)


def _err(message: str) -> None:
    print(f"smsdk send: {message}", file=sys.stderr)
