"""The HTTP path's command-line jobs: ``smsdk send --via http`` and ``smsdk push-receiver``."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from twisted.internet import defer
from twisted.internet.error import TimeoutError as TwistedTimeout

from smsdk.dispatch import DispatchSettings
from smsdk.errors import PlanError
from smsdk.http import codes as C
from smsdk.http import wire

from smsdk import cli_send as _job  # the EMPP send job's helpers


def run_send(*, host: str, port: int, enterprise_id: str, account_id: str, password: str, text: str,
             recipients: list[str], rate: float, group_send_limit: int, wait: float, as_json: bool,
             first_query: float = 5.0) -> int:
    """Send over HTTP, query the reports by send id, print one outcome per recipient."""
    return _job.react(lambda reactor: _send(
        reactor, f"http://{host}:{port}", enterprise_id, account_id, password, text, recipients,
        DispatchSettings(rate=rate, group_send_limit=group_send_limit), wait, as_json, first_query))


async def _send(reactor: Any, url: str, enterprise_id: str, account_id: str, password: str, text: str,
                recipients: list[str], settings: DispatchSettings, wait: float, as_json: bool,
                first_query: float, **client_options: Any) -> int:
    from smsdk.http.sender import HttpSender

    started = time.monotonic()
    try:
        sender = HttpSender(url, enterprise_id=enterprise_id, account_id=account_id, password=password,
                            reports="query", reactor=reactor, dispatch_settings=settings, **client_options)
        submission = sender.send(text, recipients)
    except (PlanError, C.TextEncodingError, ValueError) as exc:
        _job._err(f"cannot send: {exc}")
        return _job.EXIT_USAGE
    sender.start(first_report_poll=min(first_query, wait))
    deadline = reactor.seconds() + wait
    try:
        await submission.submitted.addTimeout(max(wait, 0.001), reactor)
        auth = [e for e in submission.refusals.values() if isinstance(e, C.AuthenticationFailed)]
        if auth and not submission.send_ids:
            _job._err(str(auth[0]))
            await sender.stop(timeout=0)
            return _job.EXIT_LOGIN
        await submission.deferred.addTimeout(max(deadline - reactor.seconds(), 0.001), reactor)
    except (defer.TimeoutError, TwistedTimeout, defer.CancelledError):
        pass  # print what we have; the rest is pending
    rows = _job._rows(submission)  # before stop(): still-open recipients show as accepted / pending
    await sender.stop(timeout=0)   # the wait is over: abandon what is in flight, cancel the rest
    _job._print(submission, rows, time.monotonic() - started, as_json=as_json)
    every = all(row["state"] == "delivered" for row in rows)
    return _job.EXIT_ALL_DELIVERED if every else _job.EXIT_NOT_ALL_DELIVERED


def describe(event: wire.MoEvent | wire.ReportEvent, *, as_json: bool) -> str:
    """One line for an event (``smsdk push-receiver`` prints these)."""
    if isinstance(event, wire.MoEvent):
        fields = {"type": "mo", "mobile": event.mobile, "dest": event.dest_id,
                  "time": event.time.isoformat(), "text": event.text}
    else:
        fields = {"type": "report", "sendid": event.send_id, "msgid": event.msg_id, "mobile": event.mobile,
                  "stat": event.stat, "time": event.time.isoformat()}
    if as_json:
        return json.dumps(fields, ensure_ascii=False)
    return " ".join(f"{k}={v}" for k, v in fields.items() if v != "")


def serve_push(*, host: str, port: int, path: str, as_json: bool, out: TextIO = sys.stdout,
               reactor: Any = None) -> Any:
    """Listen for PUSH events and print each new one; returns the listening port."""
    from twisted.web.resource import Resource
    from twisted.web.server import Site

    from smsdk.http.push import PushReceiver

    if reactor is None:
        from twisted.internet import reactor as default_reactor

        reactor = default_reactor

    def show(event: wire.MoEvent | wire.ReportEvent) -> None:
        print(describe(event, as_json=as_json), file=out, flush=True)

    receiver = PushReceiver(show)
    segments = [s for s in path.strip("/").split("/") if s]
    if segments:
        root = Resource()
        node = root
        for segment in segments[:-1]:
            child = Resource()
            node.putChild(segment.encode(), child)
            node = child
        node.putChild(segments[-1].encode(), receiver)
    else:
        root = receiver
    listening = reactor.listenTCP(port, Site(root), interface=host)
    bound = listening.getHost()
    print(f"smsdk push-receiver: listening on http://{bound.host}:{bound.port}/{'/'.join(segments)}",
          file=out, flush=True)
    return listening
