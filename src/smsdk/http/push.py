"""The PUSH receiving end (FAQ-3.1.3, 3.3): a twisted.web resource for the account's
registered URL.

The platform POSTs one event per request as GBK form data (PROTOCOL.md §3b) and retries
anything but ``100`` after 1, 2, 4, 8 … minutes, so the same event may come twice after a lost
answer.  :class:`PushReceiver`:

* parses the body (:func:`smsdk.http.wire.parse_push`); a body that is not GBK form data of a
  known event gets HTTP 400 and one clear log line (never a traceback);
* de-duplicates by (type, sendid or msgid, mobile, stat) for reports and by the whole event
  for MOs (they carry no id), in a bounded memory;
* hands each new event to ``on_mo`` / ``on_report`` / ``on_event``, then answers ``100``.  If
  a callback raises, the answer is HTTP 500 and the event is not remembered, so the
  platform's retry brings it again.

Mount it anywhere::

    root = Resource(); root.putChild(b"push", PushReceiver(on_report=print))
    reactor.listenTCP(8080, Site(root))
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from twisted.web.resource import Resource

from smsdk.http import codes as C
from smsdk.http import wire
from smsdk.http.poller import Deduplicator

log = logging.getLogger("smsdk.http.push")

Event = wire.MoEvent | wire.ReportEvent


class PushReceiver(Resource):
    isLeaf = True

    def __init__(self, on_event: Callable[[Event], Any] | None = None, *,
                 on_mo: Callable[[wire.MoEvent], Any] | None = None,
                 on_report: Callable[[wire.ReportEvent], Any] | None = None,
                 dedup_memory: int = 100_000, max_body: int = 64 * 1024) -> None:
        super().__init__()
        self.on_event = on_event
        self.on_mo = on_mo
        self.on_report = on_report
        self.dedup = Deduplicator(dedup_memory)
        self.max_body = max_body
        self.received = 0
        self.duplicates = 0
        self.malformed = 0

    def render_POST(self, request: Any) -> bytes:
        body = request.content.read(self.max_body + 1)
        peer = _peer(request)
        if len(body) > self.max_body:
            return self._bad(request, 413, f"body over {self.max_body} bytes", peer)
        content_type = request.getHeader(b"content-type")
        try:
            event = wire.parse_push(body, content_type.decode("latin-1") if content_type else None)
        except C.PushFormatError as exc:
            return self._bad(request, 400, str(exc), peer)
        self.received += 1
        if not self.dedup.first(event.key):
            self.duplicates += 1
            log.debug("duplicate PUSH %s from %s answered 100 again", event.key, peer)
            return self._ok(request)
        try:
            self._dispatch(event)
        except Exception:
            self.dedup.forget(event.key)  # the platform's retry brings it again
            log.exception("a PUSH handler failed on %r; answered 500 so the platform retries", event)
            request.setResponseCode(500)
            request.setHeader(b"content-type", b"text/plain; charset=GBK")
            return b"handler error"
        return self._ok(request)

    def render_GET(self, request: Any) -> bytes:
        request.setResponseCode(405)
        request.setHeader(b"allow", b"POST")
        request.setHeader(b"content-type", b"text/plain; charset=GBK")
        return b"POST the event as GBK form data"

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, wire.MoEvent):
            if self.on_mo is not None:
                self.on_mo(event)
        elif self.on_report is not None:
            self.on_report(event)
        if self.on_event is not None:
            self.on_event(event)

    def _ok(self, request: Any) -> bytes:
        request.setHeader(b"content-type", b"text/plain; charset=GBK")
        return C.PUSH_ANSWER

    def _bad(self, request: Any, status: int, reason: str, peer: str) -> bytes:
        self.malformed += 1
        log.warning("refused a PUSH from %s (HTTP %d): %s", peer, status, reason)
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return f"bad request: {reason}".encode()


def _peer(request: Any) -> str:
    try:
        address = request.getClientAddress()
        return f"{address.host}:{address.port}"
    except Exception:  # noqa: BLE001 - a test request may have no address
        return "?"
