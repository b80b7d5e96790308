"""A stub of the HTTP wire for the SDK's unit tests: a twisted.web resource that records every
request and answers with canned §3b bodies.  Not a platform model (the fake platform is
harness/fake_smsc); the tests decide each answer."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from treq.testing import StubTreq
from twisted.internet import task
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from smsdk.http import CHINA

#: the wall clock of the tests: reactor second 0 is this moment (China time)
EPOCH = datetime(2024, 5, 20, 9, 0, 0, tzinfo=CHINA)

HANG = object()   # an answer that never comes (the request stays open)


@dataclass
class Seen:
    method: str
    path: str
    params: dict[str, str]
    raw_query: str
    body: bytes
    at: float


class WireStub(Resource):
    isLeaf = True

    def __init__(self, clock: task.Clock) -> None:
        super().__init__()
        self.clock = clock
        self.requests: list[Seen] = []
        self.answers: dict[str, deque] = defaultdict(deque)
        self.default: dict[str, object] = {}
        self.hanging: list = []

    def answer(self, path: str, *bodies: object) -> None:
        """Queue answers for ``path`` (bytes, an int HTTP status, a callable(Seen), or HANG)."""
        self.answers[path].extend(bodies)

    def render(self, request):
        path = request.path.decode()
        raw_query = request.uri.decode().partition("?")[2]
        body = request.content.read()
        params = dict(parse_qsl(raw_query))
        if body:
            text = body.decode("ascii")
            charset = dict(parse_qsl(text)).get("charset", "gbk")
            params.update(parse_qsl(text, encoding=charset, errors="strict"))
        seen = Seen(request.method.decode(), path, params, raw_query, body, self.clock.seconds())
        self.requests.append(seen)
        queue = self.answers[path]
        answer = queue.popleft() if queue else self.default.get(path, b"100\n")
        if callable(answer):
            answer = answer(seen)
        if answer is HANG:
            self.hanging.append(request)
            return NOT_DONE_YET
        if isinstance(answer, int):
            request.setResponseCode(answer)
            return b"error page"
        request.setHeader(b"content-type", b"text/plain; charset=GBK")
        return answer

    def of(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]


def wallclock(clock: task.Clock, offset: timedelta = timedelta(0)):
    return lambda: EPOCH + timedelta(seconds=clock.seconds()) + offset


def make(clock: task.Clock | None = None):
    clock = clock or task.Clock()
    stub = WireStub(clock)
    return clock, stub, StubTreq(stub)


ACCOUNT = dict(enterprise_id="95102", account_id="000", password="secret")
