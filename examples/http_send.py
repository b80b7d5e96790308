"""Send over the HTTP interface and wait for one outcome per recipient (docs/http-client.md).

Start the fake platform first (``smsdk fake-smsc``: HTTP on port 8000), then::

    .venv/bin/python examples/http_send.py [URL [ENTERPRISE_ID [ACCOUNT_ID [PASSWORD]]]]

The defaults are the fake platform's demo enterprise and main account.
"""

from __future__ import annotations

import sys

from twisted.internet import defer, task

from smsdk.http import AuthenticationFailed, HttpSender


async def main(reactor, url="http://127.0.0.1:8000", enterprise_id="00001", account_id="",
               password="demo-main") -> int:
    sender = HttpSender(url, enterprise_id=enterprise_id, account_id=account_id, password=password,
                        reports="query", reactor=reactor)
    submission = sender.send("您好，这是一条 HTTP 测试短信", to=["13800138000", "+86 139-0013-9000", "021-12345678"])
    sender.start(first_report_poll=5)       # /queryrptbyid.sms after 5 s, then once a minute
    try:
        await submission.submitted.addTimeout(60, reactor)   # the platform answered every request
        for number, error in submission.refusals.items():
            print(f"{number}: refused: {error}")
            if isinstance(error, AuthenticationFailed):
                return 3
        await submission.deferred.addTimeout(90, reactor)   # every recipient has an outcome
    except defer.TimeoutError:
        print("no outcome yet for", submission.pending, "recipient(s) (is the platform running?)")
    finally:
        await sender.stop()                  # whatever is still open ends "cancelled"
    for outcome in submission.outcomes.values():
        print(outcome.recipient, outcome.state.value, outcome.status, outcome.detail)
    return 0 if all(o.ok for o in submission.outcomes.values()) else 1


def _exit(code: int) -> None:
    raise SystemExit(code)   # task.react exits with it


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor, *sys.argv[1:])).addCallback(_exit))
