"""HTTP-PUSH (FAQ-3.1.3, 3.3; PROTOCOL.md §3b): the platform POSTs each MO and report of an
account with a registered push URL to that URL, one event per request, as a GBK form.

The receiver answers HTTP 200 with body ``100``; anything else (another status or body, a
refused connection, no answer within ``timeout``) is retried after 1, 2, 4, 8 … minutes
(``first_retry`` doubling) for up to ``retry_hours`` (48 h) after the first attempt, then
dropped.  Retries run on the model's clock (a ``task.Clock`` in tests: 48 h in a blink);
the requests themselves and their timeout on ``reactor`` (by default the same clock).
:class:`~.http_server.HttpFrontEnd` decides what is pushed; this module only sends.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer
from zope.interface import implementer

from . import http_table as T

__all__ = ["BytesProducer", "PushJob", "PushSender", "form_body"]

_log = Logger(namespace="smsdk_harness.fake_smsc.push")


def form_body(fields: Sequence[tuple[str, str]]) -> tuple[bytes, str]:
    """(``application/x-www-form-urlencoded`` body, charset): GBK, or GB18030 (a superset,
    the same bytes for every GBK character) when a value holds a character GBK cannot."""
    try:
        return urlencode(list(fields), encoding="gbk").encode("ascii"), "GBK"
    except UnicodeEncodeError:
        return urlencode(list(fields), encoding="gb18030").encode("ascii"), "GB18030"


@implementer(IBodyProducer)
class BytesProducer:
    """The whole body at once (no cooperator: works on any clock)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.length = len(data)

    def startProducing(self, consumer: Any) -> defer.Deferred[None]:
        consumer.write(self.data)
        return defer.succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


@dataclass
class PushJob:
    """One event on its way: ``state`` is ``"pending"``, ``"delivered"`` or ``"dropped"``;
    ``attempts`` made so far, ``errors`` why each failed."""

    id: int
    url: str
    account_id: str
    fields: tuple[tuple[str, str], ...]
    body: bytes
    charset: str
    created: float
    attempts: int = 0
    state: str = "pending"
    next_at: float | None = None
    errors: list[str] = field(default_factory=list)
    _call: Any = None
    _request: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "account": self.account_id,
                "fields": dict(self.fields), "created": self.created, "attempts": self.attempts,
                "state": self.state, "next_at": self.next_at, "errors": list(self.errors)}


class PushSender:
    """Sends :class:`PushJob` s (see the module docstring).  ``clock``: the model's clock
    (retries); ``reactor``: for the requests and their ``timeout`` (default ``clock``);
    ``agent``: anything with twisted's ``IAgent.request`` (default ``Agent(reactor)``)."""

    def __init__(self, clock: Any, *, reactor: Any = None, agent: Any = None,
                 retry_hours: float = 48.0, first_retry: float = 60.0, timeout: float = 30.0,
                 keep: int = 1000) -> None:
        self.clock = clock
        self.reactor = reactor if reactor is not None else clock
        self.agent = agent if agent is not None else Agent(self.reactor)
        self.retry_seconds = retry_hours * 3600.0
        self.first_retry = first_retry
        self.timeout = timeout
        self.pending: dict[int, PushJob] = {}
        #: the last ``keep`` delivered and dropped jobs, oldest first
        self.delivered: collections.deque[PushJob] = collections.deque(maxlen=keep)
        self.dropped: collections.deque[PushJob] = collections.deque(maxlen=keep)
        self.counters: collections.Counter[str] = collections.Counter()
        self._ids = itertools.count(1)
        self._closed = False

    def enqueue(self, url: str, fields: Sequence[tuple[str, str]], account_id: str = "") -> PushJob:
        """Push one event (its form fields in order) to ``url``: first attempt at once."""
        body, charset = form_body(fields)
        job = PushJob(next(self._ids), url, account_id, tuple(fields), body, charset,
                      self.clock.seconds())
        self.pending[job.id] = job
        self.counters["queued"] += 1
        self._schedule(job, 0.0)
        return job

    def _schedule(self, job: PushJob, delay: float) -> None:
        job.next_at = self.clock.seconds() + delay
        job._call = self.clock.callLater(delay, self._attempt, job)

    def _attempt(self, job: PushJob) -> None:
        job._call = None
        job.next_at = None
        if self._closed or job.state != "pending":
            return
        job.attempts += 1
        self.counters["attempts"] += 1
        headers = Headers({b"content-type": [
            f"application/x-www-form-urlencoded; charset={job.charset}".encode("ascii")]})
        try:
            d = self.agent.request(b"POST", job.url.encode("utf-8"), headers, BytesProducer(job.body))
        except Exception as e:  # a URL the agent cannot even try
            self._failed(job, f"{type(e).__name__}: {e}")
            return
        d.addCallback(lambda response: readBody(response).addCallback(
            lambda body: (response.code, body)))
        d.addTimeout(self.timeout, self.reactor)
        job._request = d
        d.addCallbacks(self._answered, self._error, callbackArgs=(job,), errbackArgs=(job,))

    def _answered(self, result: tuple[int, bytes], job: PushJob) -> None:
        job._request = None
        code, body = result
        if code == T.PUSH_OK_STATUS and body.strip() == T.PUSH_OK_BODY.encode("ascii"):
            job.state = "delivered"
            del self.pending[job.id]
            self.delivered.append(job)
            self.counters["delivered"] += 1
            return
        self._failed(job, f"HTTP {code} with body {body[:60]!r}: not 200 with body 100")

    def _error(self, failure: Any, job: PushJob) -> None:
        job._request = None
        if self._closed:
            return
        self._failed(job, f"{failure.type.__name__}: {failure.getErrorMessage()}")

    def _failed(self, job: PushJob, why: str) -> None:
        job.errors.append(why)
        self.counters["failures"] += 1
        delay = self.first_retry * 2 ** (job.attempts - 1)
        if self.clock.seconds() + delay - job.created > self.retry_seconds:
            job.state = "dropped"
            del self.pending[job.id]
            self.dropped.append(job)
            self.counters["dropped"] += 1
            _log.warn("push {id} to {url} dropped after {n} attempts: {why}", id=job.id,
                      url=job.url, n=job.attempts, why=why)
            return
        self._schedule(job, delay)

    def close(self) -> None:
        """Stop: cancel every retry and request in flight (pending jobs stay pending)."""
        self._closed = True
        for job in self.pending.values():
            if job._call is not None and job._call.active():
                job._call.cancel()
            job._call = None
            if job._request is not None:
                job._request.cancel()
                job._request = None

    def status(self) -> dict[str, Any]:
        return {"counters": dict(self.counters),
                "pending": [j.as_dict() for j in self.pending.values()],
                "delivered": [j.as_dict() for j in list(self.delivered)[-20:]],
                "dropped": [j.as_dict() for j in list(self.dropped)[-20:]]}
