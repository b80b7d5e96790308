"""Send from asyncio code: Twisted's asyncio reactor runs smsdk on the asyncio event loop.

    python examples/asyncio_send.py             # against an in-process minimal server
    python examples/asyncio_send.py HOST PORT ACCOUNT PASSWORD NUMBER...

The only rules: install the asyncio reactor before anything imports
``twisted.internet.reactor``, and turn Deferreds into futures with ``.asFuture(loop)``.
"""

from __future__ import annotations

import asyncio
import sys

from twisted.internet import asyncioreactor

asyncioreactor.install()  # first: before anything imports twisted.internet.reactor

from twisted.internet import defer, task  # noqa: E402

from smsdk import Client  # noqa: E402


async def send(host: str, port: int, account: str, password: str, numbers: list[str]) -> int:
    loop = asyncio.get_running_loop()
    client = Client(host, port, account=account, password=password, signature="【示例科技】")
    await client.start().asFuture(loop)
    submission = client.send("您的验证码是 123456，5 分钟内有效。", to=numbers)
    await submission.deferred.asFuture(loop)
    for outcome in submission.outcomes.values():
        print(outcome.recipient, outcome.state.value, outcome.status)
    await client.stop().asFuture(loop)
    return 0 if all(o.ok for o in submission.outcomes.values()) else 1


async def demo() -> int:
    from twisted.internet import reactor

    from smsdk.testing import MinimalServer

    server = MinimalServer(password="secret")
    port = reactor.listenTCP(0, server.factory(), interface="127.0.0.1")
    try:
        return await send("127.0.0.1", port.getHost().port, "10657109000001", "secret",
                          ["13800138000", "13900139000"])
    finally:
        await defer.maybeDeferred(port.stopListening).asFuture(asyncio.get_running_loop())


def main(reactor) -> defer.Deferred:
    args = sys.argv[1:]
    if args:
        host, port, account, password, *numbers = args
        coro = send(host, int(port), account, password, numbers)
    else:
        coro = demo()
    return defer.Deferred.fromFuture(asyncio.ensure_future(coro)).addCallback(exit_status)


def exit_status(code: int) -> None:
    """task.react exits with the code of a SystemExit the Deferred fails with.  Raise it here,
    in a Deferred callback: raised inside the asyncio task, a SystemExit escapes the event
    loop instead, and the program hangs (deaf even to SIGTERM)."""
    if code:
        raise SystemExit(code)


if __name__ == "__main__":
    task.react(main)
