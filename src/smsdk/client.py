"""The high-level client: "send this text to these numbers", one outcome per recipient (layer 5).

Example (Twisted)::

    from smsdk import Client

    client = Client("127.0.0.1", 9981, account="10657109000001", password="secret",
                    signature="【示例科技】")
    yield client.start()                       # first login (LoginError if refused for good)
    submission = client.send("验证码 123456", to=["13800138000", "+86 139-0013-9000"])
    yield submission.deferred                  # fires when every recipient has an outcome
    for outcome in submission.outcomes.values():
        print(outcome.recipient, outcome.state.value, outcome.status)

From asyncio (with Twisted's asyncio reactor installed) ``await
submission.deferred.asFuture(loop)``; see docs/client.md.

The client keeps one EMPP (or CMPP) connection and reconnects with backoff through
:class:`twisted.application.internet.ClientService`.

Every recipient ends with exactly one outcome (docs/client.md has the table):

* ``stop()`` (optionally ``stop(drain=True)``: send what is queued first), a TERMINATE from
  the platform (unless ``reconnect_after_terminate=True``) and a login refused for good
  (wrong credentials or version) stop the client for good.  Every recipient still without an
  outcome then gets the state ``cancelled`` (those the platform accepted keep their Msg_Ids
  and say they still awaited a report), ``submission.deferred`` fires, and ``send()`` raises
  :class:`~smsdk.errors.ClientStopped`.
* Link loss: a SUBMIT written but unanswered when the link drops (or unanswered after
  ``max_attempts`` sends) follows ``DispatchSettings.on_link_loss``: ``"resubmit"`` (the
  default, at-least-once) sends it again after reconnecting, ``"fail"`` (at-most-once) fails
  its recipients with status ``LINKLOSS``.
* Possible duplicates: a recipient whose SUBMIT may have been accepted more than once (the
  session sent it again after ``response_timeout``, or it was resubmitted after a link loss
  while the first copy's fate was unknown) has ``outcome.possible_duplicate`` set and is
  counted in ``submission.possible_duplicates`` and ``client.dispatcher.possible_duplicates``.
* A status report for a recipient whose outcome is already final (the platform resent it
  after a link drop) is ignored and counted in ``client.dispatcher.ignored_reports``.

Bad arguments are refused at construction (TypeError / ValueError naming the argument).
"""

from __future__ import annotations

import logging
import math
import random
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from twisted.application.internet import ClientService, backoffPolicy
from twisted.internet import defer
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Factory
from zope.interface import implementer

from smsdk import codec, numbers, text
from smsdk._layouts import Dialect
from smsdk.china_time import CHINA
from smsdk.dispatch import (
    Dispatcher,
    DispatchSettings,
    Submission,
    SubmissionListener,
    SubmitJob,
    check_submit_fields,
)
from smsdk.errors import ClientStopped
from smsdk.session import (
    Bound,
    DeliverReceived,
    LateResponse,
    LinkDead,
    LoginError,
    LoginRefused,
    RequestAbandoned,
    RequestExpired,
    RequestResent,
    ResponseReceived,
    Role,
    Session,
    SessionSettings,
    SessionState,
    Terminated,
    Unauthorized,
)
from smsdk.transport.protocol import SessionProtocol
from smsdk.deferreds import follow

log = logging.getLogger("smsdk.client")


@dataclass(frozen=True)
class MoMessage:
    """A message from a handset (reassembled when it came in concatenated parts)."""

    sender: str
    dest_id: str
    text: str | None
    content: bytes
    msg_fmt: int
    parts: int
    received_at: float


class Client:
    """One account on one EMPP/CMPP endpoint."""

    def __init__(
        self,
        host: str | None = None,
        port: int = 9981,
        *,
        account: str,
        password: str,
        dialect: Dialect | str = Dialect.EMPP,
        signature: str = "",
        service_id: str = "",
        src_id: str | None = None,
        endpoint: IStreamClientEndpoint | None = None,
        reactor: Any = None,
        session_settings: SessionSettings | None = None,
        dispatch_settings: DispatchSettings | None = None,
        wallclock: Callable[[], datetime] | None = None,
        retry_policy: Callable[[int], float] | None = None,
        login_retry_policy: Callable[[int], float] | None = None,
        reconnect_after_terminate: bool = False,
        on_mo: Callable[[MoMessage], Any] | None = None,
        on_report: Callable[[Any], Any] | None = None,
        mo_timeout: float = 180.0,
        rng: random.Random | None = None,
    ) -> None:
        self.dialect = _dialect(dialect)
        _check_login(self.dialect, account, password)
        _check_types(host=(host, (str, type(None))), signature=(signature, str),
                     service_id=(service_id, str), src_id=(src_id, (str, type(None))),
                     session_settings=(session_settings, (SessionSettings, type(None))),
                     dispatch_settings=(dispatch_settings, (DispatchSettings, type(None))),
                     reconnect_after_terminate=(reconnect_after_terminate, bool),
                     mo_timeout=(mo_timeout, (int, float)), rng=(rng, (random.Random, type(None))))
        for name, value in (("wallclock", wallclock), ("retry_policy", retry_policy),
                            ("login_retry_policy", login_retry_policy), ("on_mo", on_mo),
                            ("on_report", on_report)):
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be callable or None, not {type(value).__name__}")
        if not mo_timeout > 0 or isinstance(mo_timeout, bool):
            raise ValueError(f"mo_timeout must be a positive number of seconds, got {mo_timeout!r}")
        if endpoint is None:
            if host is None:
                raise ValueError("give host and port, or an endpoint")
            if isinstance(port, bool) or not isinstance(port, int):
                raise TypeError(f"port must be int, not {type(port).__name__}")
            if not 1 <= port <= 65535:
                raise ValueError(f"port must be in 1..65535, got {port}")
        elif not IStreamClientEndpoint.providedBy(endpoint):
            raise TypeError(f"endpoint must provide IStreamClientEndpoint, not {type(endpoint).__name__}")
        base = dispatch_settings or DispatchSettings()
        if src_id is None and not base.src_id:
            src_id = account if self.dialect == Dialect.EMPP else ""
        if src_id is not None or service_id:
            base = replace(base, src_id=src_id if src_id is not None else base.src_id,
                            service_id=service_id or base.service_id)
        check_submit_fields(self.dialect, src_id=base.src_id, service_id=base.service_id,
                            src_id_name="src_id" if src_id != account else "src_id (by default the account)")
        try:
            text.plan("x", signature=signature, limits=base.limits or text.DEFAULT_LIMITS)
        except ValueError as exc:  # PlanError: not 【…】, too long, not encodable
            raise ValueError(f"signature {signature!r} can never be sent: {exc}") from None

        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.reactor = reactor
        self.account = account
        self._password = password
        if endpoint is None:
            assert host is not None  # checked above
            endpoint = HostnameEndpoint(reactor, host, port)
        self._endpoint = _RecordingEndpoint(endpoint, self)
        self.session_settings = session_settings or SessionSettings()
        self.dispatcher = Dispatcher(self.dialect, base, now=reactor.seconds(), rng=rng, signature=signature)
        self._wallclock = wallclock or (lambda: datetime.now(CHINA))
        self._reconnect_after_terminate = reconnect_after_terminate
        self._on_mo = on_mo
        self._on_report = on_report
        self._reassembler = text.Reassembler(timeout=mo_timeout)
        self._protocol: SessionProtocol | None = None
        self._started: defer.Deferred[None] | None = None
        self._stopping = False             # no reconnecting (set when a stop begins)
        self.stopped_because: str | None = None  # why the client stopped (send() then raises)
        self._stop_done: defer.Deferred[None] | None = None  # stop(): fires once all is done
        self._shutdown_done: defer.Deferred[None] | None = None  # fires once every outcome is given
        self._cancelled_all = False        # the dispatcher's leftovers were cancelled
        self._drain_waiter: defer.Deferred[None] | None = None
        self.last_connect_error: BaseException | None = None  # why the last TCP connect failed
        self.mo_inbox: deque[MoMessage] = deque(maxlen=10_000)
        self.unmatched_reports: deque[Any] = deque(maxlen=10_000)
        self._unmatched_handlers: list[Callable[[Any], Any]] = []
        # durable stores holding back the DELIVER_RESP of status reports (hold_report_acks):
        # (flush, delay, batch); the connections whose sessions keep answers (Session.held_resps)
        self._ack_holders: list[tuple[Callable[[], None], float, int]] = []
        self._holding: list[SessionProtocol] = []
        self._ack_call: Any = None
        self._in_events = False  # handling a read's events: answers wait until every one is
        self._ack_delay = 0.5  # the smallest delay and batch of the holders
        self._ack_batch = 1
        self._releasing = False
        self._newest_session: Session | None = None
        self.kicked_other_session = 0
        self.login_error: LoginError | None = None
        self._retry_policy = retry_policy or backoffPolicy(initialDelay=1.0, maxDelay=60.0)
        # a login refused "for now" (10001/10002: too many logins) waits longer: 5 s doubling to 5 min
        self._login_retry_policy = login_retry_policy or backoffPolicy(initialDelay=5.0, factor=2.0,
                                                                       maxDelay=300.0)
        self._login_refusals = 0
        self._restart_call: Any = None
        self._offline_call: Any = None
        self._store_retry = 1.0
        self._store_retry_call: Any = None
        self._store_failures = 0  # store writes failed in a row (_store_failed)
        factory = Factory.forProtocol(lambda: SessionProtocol(self, self._make_session, reactor))
        # ClientService reconnects after lost or failed TCP connections.  A login refused
        # "for now" (too many logins ...) is a TCP success, so the client backs that off
        # itself: it stops the service and restarts it after login_retry_policy(refusals).
        self._service = ClientService(self._endpoint, factory, retryPolicy=self._retry_policy, clock=reactor)

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> defer.Deferred[None]:
        """Connect and log in; the Deferred fires at the first login, or fails with
        :class:`~smsdk.session.LoginError` when the platform refuses it for good."""
        if self._started is None:
            self._started = defer.Deferred()
            self._service.startService()
        return self._started

    def stop(self, *, drain: bool = False, timeout: float = 30.0) -> defer.Deferred[None]:
        """Stop for good: TERMINATE the session (if bound), stop reconnecting, and give every
        recipient still without an outcome the final state ``cancelled``.  The Deferred fires
        once that is done, so every ``submission.deferred`` has fired by then.

        ``drain=True`` first waits (at most ``timeout`` seconds) until every queued SUBMIT has
        been sent and answered; only recipients still awaiting a status report (or whatever
        the timeout left) are then cancelled.  From the call on, :meth:`send` raises
        :class:`~smsdk.errors.ClientStopped`.  Calling it again returns the same outcome."""
        if self._stop_done is None:
            self.stopped_because = self.stopped_because or "the client stopped"
            if drain and self._shutdown_done is None:
                d = self._wait_drained(timeout)
                d.addCallback(lambda _: self._shutdown("the client stopped"))
            else:
                d = self._shutdown("the client stopped")
            self._stop_done = d
        return follow(self._stop_done)

    @property
    def stopped(self) -> bool:
        """True once the client is stopping or stopped for good (send() raises)."""
        return self.stopped_because is not None

    def _wait_drained(self, timeout: float) -> defer.Deferred[None]:
        waiter: defer.Deferred[None] = defer.Deferred()
        self._drain_waiter = waiter
        timer = self.reactor.callLater(timeout, self._drained)
        waiter.addBoth(lambda r: (timer.cancel() if timer.active() else None, r)[1])
        self._pump()  # (also checks whether there is anything to wait for)
        return waiter

    def _drained(self) -> None:
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.called:
            waiter.callback(None)

    def _is_drained(self) -> bool:
        if self.dispatcher.next_ready_time(self.reactor.seconds()) is not None:
            return False  # something is still queued
        proto = self._protocol
        return proto is None or proto.session is None or proto.session.in_flight == 0

    def _shutdown(self, why: str) -> defer.Deferred[None]:
        """Stop for good (see :meth:`stop`), once; ``why`` goes into the cancelled outcomes."""
        if self._shutdown_done is None:
            self._shutdown_done = self._shut_down(why)
        return follow(self._shutdown_done)

    @defer.inlineCallbacks
    def _shut_down(self, why: str) -> Any:
        self.stopped_because = self.stopped_because or why
        self._stopping = True
        self._drained()
        for call in (self._restart_call, self._offline_call, self._store_retry_call):
            if call is not None and call.active():
                call.cancel()
        self._release_acks()  # (the stores write what they have, the reports are answered)
        proto = self._protocol
        if proto is not None and proto.session is not None:
            proto.session.terminate(self.reactor.seconds())
            proto.flush()
        try:
            yield self._service.stopService()  # fires once the connection is closed
        except Exception:  # pragma: no cover - stopping must reach the outcomes below
            log.exception("stopping the connection service failed")
        self._cancel_leftovers()
        if self._started is not None and not self._started.called:
            self._started.errback(ClientStopped(f"{self.stopped_because} before the first login"))

    def _cancel_leftovers(self) -> None:
        """Every recipient still without an outcome gets ``cancelled`` (and any resubmission
        queued by a late event of the closed connection too)."""
        self._cancelled_all = True
        cancelled = self.dispatcher.cancel_all(self.stopped_because or "the client stopped")
        if cancelled:
            log.info("%d recipients cancelled: %s", cancelled, self.stopped_because)

    @property
    def bound(self) -> bool:
        proto = self._protocol
        return proto is not None and proto.session is not None and proto.session.state is SessionState.BOUND

    # -- sending -----------------------------------------------------------------------------

    def send(self, text_: str, to: Iterable[object] | numbers.Recipients, *, signature: str | None = None,
             at: datetime | None = None, src_id: str | None = None,
             listener: SubmissionListener | None = None) -> Submission:
        """Queue ``text_`` for every number in ``to``.  Returns at once; the submission's
        ``outcomes`` fill in and ``submission.deferred`` fires when all are final.

        ``to`` is a list (or any iterable) of numbers; a bare string is refused (TypeError);
        a :class:`smsdk.numbers.Recipients` (what ``numbers.check_all`` returns) is used as
        it is, without checking the numbers again.
        Raises :class:`~smsdk.errors.PlanError` for a text that cannot be sent,
        :class:`~smsdk.dispatch.Backpressure` when too many recipients await outcomes and
        :class:`~smsdk.errors.ClientStopped` once the client is stopped.

        ``listener`` (a :class:`~smsdk.dispatch.SubmissionListener`) is told of every SUBMIT
        before its bytes are written, of every part accepted and of every outcome: what a
        durable outbox needs to survive a crash (see smsdk.workspace.outbox)."""
        if self.stopped_because is not None:
            raise ClientStopped(f"cannot send: {self.stopped_because}")
        submission = self.dispatcher.add(text_, to, signature=signature, at=at, src_id=src_id,
                                         now=self.reactor.seconds(), listener=listener)
        self._pump()
        return submission

    def add_unmatched_report_handler(self, handler: Callable[[Any], Any]) -> Callable[[], None]:
        """Call ``handler(report)`` (a ``StatusReport``) for every status report that
        matches no submission this client knows: reports of an earlier process (the
        platform's offline queue after a login, FAQ-3.1.5, or late ones up to 48 h after the
        SUBMIT), or one that came before its SUBMIT_RESP (the client may still match that one
        when the response comes).  Register it before :meth:`start` so that the offline
        reports sent right after the login are not missed.  Any number of handlers, called
        in order after ``on_report``; an exception in one is logged, never raised into the
        connection.  Returns a function that removes the handler."""
        if not callable(handler):
            raise TypeError(f"handler must be callable, not {type(handler).__name__}")
        self._unmatched_handlers.append(handler)

        def remove() -> None:
            if handler in self._unmatched_handlers:
                self._unmatched_handlers.remove(handler)

        return remove

    def hold_report_acks(self, flush: Callable[[], None], *, delay: float = 0.5,
                         batch: int = 2000) -> Callable[[], None]:
        """For a durable store of outcomes (the workspace's outbox): answer a status report's
        DELIVER only once the store has written what the report brought.  While at least
        one ``flush`` is registered, the session keeps the DELIVER_RESP of every status
        report; at most ``delay`` seconds after the first one kept, or once a read leaves
        ``batch`` kept, the client calls every registered ``flush()`` (each writes
        everything it has buffered, synchronously) and then answers them all (never in the
        middle of a read: every report of it is handed to its store first).  A flush that
        raises keeps them held (and is tried again after ``delay``).  Should the process die first, the platform still
        has those reports and sends them again after the next login (FAQ-3.1.5), so none is
        lost between its DELIVER_RESP and the store.  MOs are answered at once, as always.

        Keep ``batch`` under the platform's memory of unanswered DELIVERs (the fake's
        ``deliver_track``, 4096).  Returns a function that unregisters ``flush`` (call it
        after the store's last write); with no store left, reports are answered at once."""
        if not callable(flush):
            raise TypeError(f"flush must be callable, not {type(flush).__name__}")
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not delay > 0:
            raise ValueError(f"delay must be a positive number of seconds, got {delay!r}")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batch must be a positive int, got {batch!r}")
        entry = (flush, float(delay), batch)
        self._ack_holders.append(entry)
        self._set_holding()  # (a session not yet logged in is set when made)

        def remove() -> None:
            if entry in self._ack_holders:
                self._ack_holders.remove(entry)
                self._set_holding()
                self._release_acks()

        return remove

    def _set_holding(self) -> None:
        holders = self._ack_holders
        self._ack_delay = min((h[1] for h in holders), default=0.5)
        self._ack_batch = min((h[2] for h in holders), default=1)
        proto = self._protocol
        for session in (proto.session if proto is not None else None, self._newest_session):
            if session is not None:  # (the bound one, and one logging in)
                session.hold_report_resps = bool(self._ack_holders)

    def _release_acks(self) -> None:
        """Flush every durable store, then answer every kept status report.  While a read's
        events are being handled, only once they all are (a report later in the same read
        is kept by the session already, but its store has not heard of it yet)."""
        call, self._ack_call = self._ack_call, None
        if call is not None and call.active():
            call.cancel()
        if not self._holding or self._releasing:
            return
        if self._in_events:
            self._ack_call = self.reactor.callLater(0, self._release_acks)
            return
        self._releasing = True
        try:
            for flush, _, _ in list(self._ack_holders):
                flush()
        except Exception as exc:
            self._store_failed(f"a store could not write its reports ({exc}); their DELIVER_RESPs stay held")
            self._ack_call = self.reactor.callLater(self._ack_delay, self._release_acks)
            return
        finally:
            self._releasing = False
        self._store_failures = 0
        holding, self._holding = self._holding, []
        for proto in holding:
            session = proto.session
            if session is not None and session.answer_held():
                proto.flush()

    def _kept_answers(self, proto: SessionProtocol) -> None:
        """After a read's events: answers its session keeps are released at once (a batch,
        or no store left), or within the holders' delay."""
        session = proto.session
        if session is None or not session.held_resps:
            return
        if proto not in self._holding:
            self._holding.append(proto)
        if len(session.held_resps) >= self._ack_batch or not self._ack_holders:
            self._release_acks()
        elif self._ack_call is None:
            self._ack_call = self.reactor.callLater(self._ack_delay, self._release_acks)

    def change_password(self, old: str, new: str) -> defer.Deferred[Any]:
        """EMPP CHANGEPASS; fires with the CHANGEPASS_RESP."""
        proto = self._protocol
        if proto is None or proto.session is None or not proto.session.can_send:
            return defer.fail(RuntimeError("not logged in"))
        waiter: defer.Deferred[Any] = defer.Deferred()
        proto.session.send(codec.ChangePass(old_password=old, new_password=new),
                           self.reactor.seconds(), tag=waiter)
        proto.flush()
        return waiter

    # -- SessionProtocol owner interface ------------------------------------------------------

    def _make_session(self, now: float) -> Session:
        session = Session(self.dialect, Role.CLIENT, self.session_settings, now=now)
        # (set before the login: offline reports come in the same read as the CONNECT_RESP)
        session.hold_report_resps = bool(self._ack_holders)
        self._newest_session = session
        return session

    def session_started(self, proto: SessionProtocol) -> None:
        assert proto.session is not None
        stamp = codec.timestamp_from_datetime(self._wallclock())
        proto.session.connect(self.account, self._password, timestamp=stamp, now=self.reactor.seconds())

    def extra_deadline(self, proto: SessionProtocol) -> float | None:
        now = self.reactor.seconds()
        deadlines = [self.dispatcher.next_deadline()]
        if proto.session is not None and proto.session.can_send and self._store_retry_call is None:
            deadlines.append(self.dispatcher.next_ready_time(now))  # (else: the store's retry)
        found = [d for d in deadlines if d is not None]
        return min(found) if found else None

    def on_extra_deadline(self, proto: SessionProtocol) -> None:
        self.dispatcher.on_timer(self.reactor.seconds())
        self._pump()
        self._drain_reassembler()

    def session_events(self, proto: SessionProtocol, events: list[Any]) -> None:
        now = self.reactor.seconds()
        self._in_events = True
        try:
            for event in events:
                if isinstance(event, ResponseReceived):
                    self._on_response(event, now)
                elif isinstance(event, DeliverReceived):
                    self._on_deliver(event.pdu, now)
                elif isinstance(event, LateResponse):
                    if isinstance(event.response, codec.SubmitResp):
                        self.dispatcher.on_late_submit_resp(event.tag, event.response, now)
                elif isinstance(event, RequestResent):
                    if type(event.tag) is SubmitJob:
                        self.dispatcher.on_submit_resent(event.tag)
                elif isinstance(event, RequestExpired):
                    self._on_lost(event.tag, f"no response after {event.attempts} sends", now)
                elif isinstance(event, RequestAbandoned):
                    self._on_lost(event.tag, "the link dropped before the response", now)
                elif isinstance(event, Bound):
                    self._on_bound(proto, event)
                elif isinstance(event, LoginRefused):
                    self._on_login_refused(event.error)
                elif isinstance(event, Terminated):
                    if proto is not self._protocol:
                        # a late TERMINATE of a connection already replaced: not this client's end
                        log.info("ignoring a TERMINATE on an old connection")
                    elif event.by_peer and not self._reconnect_after_terminate and not self._stopping:
                        log.warning("the platform sent TERMINATE; not reconnecting")
                        self._shutdown("the platform sent TERMINATE")
                elif isinstance(event, LinkDead):
                    (log.debug if self._stopping else log.warning)("link dead: %s", event.reason)
                elif isinstance(event, Unauthorized):
                    log.error("the platform refuses command 0x%08x for this account", event.command_id)
        finally:
            self._in_events = False
        self._kept_answers(proto)  # (every report of this read is with its store now)
        if proto.session is not None and proto.session.state is SessionState.CLOSED and proto is self._protocol:
            self._protocol = None
        if self._cancelled_all and self.dispatcher.tracked:
            self._cancel_leftovers()  # a resubmission queued by the closing connection's events
        self._pump()

    # -- event handling ----------------------------------------------------------------------

    def _on_bound(self, proto: SessionProtocol, event: Bound) -> None:
        self._protocol = proto
        self._login_refusals = 0
        self.login_error = None
        if event.kicked_other_session:
            self.kicked_other_session += 1
            log.warning("logged in; another session of account %s was kicked off", self.account)
        if self._started is not None and not self._started.called:
            self._started.callback(None)

    def _on_login_refused(self, error: LoginError) -> None:
        self.login_error = error
        if not error.retryable:
            log.error("%s; not reconnecting", error)
            if self._started is not None and not self._started.called:
                self._started.errback(error)
            self._shutdown(f"the login was refused for good ({error})")
            return
        stopped = self._service.stopService()
        delay = self._login_retry_policy(self._login_refusals)
        self._login_refusals += 1
        log.warning("%s; logging in again in %.1f s", error, delay)

        def restart(_: Any) -> None:
            if not self._stopping:
                self._restart_call = self.reactor.callLater(delay, self._restart)

        stopped.addCallback(restart)

    def _restart(self) -> None:
        self._restart_call = None
        if not self._stopping:
            self._service.startService()

    def _on_response(self, event: ResponseReceived, now: float) -> None:
        if isinstance(event.response, codec.SubmitResp):
            self.dispatcher.on_submit_resp(event.tag, event.response, now)
        elif isinstance(event.tag, defer.Deferred):
            event.tag.callback(event.response)

    def _on_lost(self, tag: Any, reason: str, now: float) -> None:
        if isinstance(tag, defer.Deferred):
            tag.errback(RuntimeError(reason))
        elif tag is not None:
            self.dispatcher.on_submit_lost(tag, reason, now)

    def _on_deliver(self, pdu: Any, now: float) -> None:
        if pdu.is_report:
            if not self.dispatcher.on_report(pdu.report, now):
                self.unmatched_reports.append(pdu.report)
                if self._on_report is not None:
                    self._on_report(pdu.report)
                for handler in list(self._unmatched_handlers):
                    try:
                        handler(pdu.report)
                    except Exception:
                        log.exception("an unmatched-report handler failed")
            return
        message = self._reassembler.feed(
            (pdu.src_terminal_id, pdu.dest_id), pdu.msg_content,
            tp_udhi=pdu.tp_udhi, msg_fmt=pdu.msg_fmt, now=now,
        )
        if message is not None:
            self._emit_mo(pdu, message, now)

    def _emit_mo(self, pdu: Any, message: Any, now: float) -> None:
        mo = MoMessage(
            sender=numbers.check(pdu.src_terminal_id).number or pdu.src_terminal_id,
            dest_id=pdu.dest_id,
            text=message.text,
            content=message.content,
            msg_fmt=message.msg_fmt,
            parts=message.parts_received,
            received_at=now,
        )
        self.mo_inbox.append(mo)
        if self._on_mo is not None:
            self._on_mo(mo)

    def _drain_reassembler(self) -> None:
        for incomplete in self._reassembler.expire(self.reactor.seconds()):
            log.warning("gave up an incomplete concatenated MO: %r", incomplete)

    def _pump(self) -> None:
        """Write as many queued SUBMITs as the window and the rate allow."""
        proto = self._protocol
        if proto is None or proto.session is None:
            self._arm_offline_timer()
        elif self._store_retry_call is None:  # (else a store could not record: wait for the retry)
            session = proto.session
            now = self.reactor.seconds()
            dispatcher = self.dispatcher
            jobs: list[SubmitJob] = []
            listeners: list[SubmissionListener] = []
            for _ in range(session.free_slots):
                job = dispatcher.pop_ready(now)
                if job is None:
                    break
                jobs.append(job)
                listener = job.submission.listener
                if listener is not None and not any(listener is seen for seen in listeners):
                    listeners.append(listener)
            if listeners and not self._before_write(listeners, jobs):
                return
            for job in jobs:
                session.send(job.pdu, now, tag=job)  # (pop_ready stamped job.sent_at)
            proto.flush()
        if self._drain_waiter is not None and self._is_drained():
            self._drained()

    def _before_write(self, listeners: list[SubmissionListener], jobs: list[SubmitJob]) -> bool:
        """Let each durable store commit the pass it was told of (``on_written``) before any
        of its bytes are queued.  Should one fail (its file cannot be written), none of the
        pass is sent: the SUBMITs go back to the front of the queue and are tried again in
        ``store_retry`` seconds, so that no SUBMIT reaches the platform unrecorded.  (A store
        that did commit for a pass another one refused has marked rows not sent yet: after a
        crash they read as unknown, never as unsent.)"""
        try:
            for listener in listeners:
                listener.before_write()
        except Exception as exc:
            self.dispatcher.put_back(jobs)
            self._store_failed(f"a store could not record the SUBMITs about to be sent ({exc}); they "
                               f"wait and are tried again in {self._store_retry:.1f} s")
            # (_pump comes here only while no retry is pending)
            self._store_retry_call = self.reactor.callLater(self._store_retry, self._retry_pump)
            return False
        self._store_failures = 0
        return True

    def _store_failed(self, message: str) -> None:
        """Log a durable store's failure (from its except clause): the traceback once per
        outage, so that a bug in a store shows where it is and a full disk does not print
        one every second."""
        self._store_failures += 1
        log.warning(message, exc_info=self._store_failures == 1)

    @property
    def store_retry(self) -> float:
        """Seconds a pass of SUBMITs waits when a durable store could not record it, before
        it is tried again (1 s; see ``_before_write``)."""
        return self._store_retry

    @store_retry.setter
    def store_retry(self, seconds: float) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < math.inf:
            raise ValueError(f"store_retry must be a positive number of seconds, got {seconds!r}")
        self._store_retry = float(seconds)

    def _retry_pump(self) -> None:
        self._store_retry_call = None
        self._pump()

    def _arm_offline_timer(self) -> None:
        # While no session is bound its protocol's timer is gone, but outcomes must still
        # expire on time (48 h without a report): keep one timer for that.
        deadline = self.dispatcher.next_deadline()
        call = self._offline_call
        if deadline is None or self._stopping:
            return
        if call is not None and call.active():
            if call.getTime() <= deadline:
                return
            call.cancel()
        self._offline_call = self.reactor.callLater(max(0.0, deadline - self.reactor.seconds()),
                                                    self._on_offline_timer)

    def _on_offline_timer(self) -> None:
        self._offline_call = None
        self.dispatcher.on_timer(self.reactor.seconds())
        self._pump()


@implementer(IStreamClientEndpoint)
class _RecordingEndpoint:
    """The client's endpoint, keeping why the last connection attempt failed
    (``client.last_connect_error``: nothing listening, no route, DNS ...)."""

    def __init__(self, endpoint: IStreamClientEndpoint, client: Client) -> None:
        self._endpoint = endpoint
        self._client = client

    def connect(self, factory: Any) -> defer.Deferred[Any]:
        def connected(proto: Any) -> Any:
            self._client.last_connect_error = None
            return proto

        def failed(failure: Any) -> Any:
            self._client.last_connect_error = failure.value
            return failure

        return self._endpoint.connect(factory).addCallbacks(connected, failed)


def _check_types(**values: tuple[Any, type | tuple[type, ...]]) -> None:
    for name, (value, kinds) in values.items():
        if not isinstance(value, kinds):
            wanted = " or ".join(k.__name__ for k in (kinds if isinstance(kinds, tuple) else (kinds,)))
            raise TypeError(f"{name} must be {wanted.replace('NoneType', 'None')}, not {type(value).__name__}")


def _check_login(dialect: Dialect, account: object, password: object) -> None:
    """Refuse an account or password that could never be put in a CONNECT."""
    if not isinstance(account, str):
        raise TypeError(f"account must be str, not {type(account).__name__}")
    if not isinstance(password, (str, bytes)):
        raise TypeError(f"password must be str or bytes, not {type(password).__name__}")
    if not account:
        raise ValueError("account must not be empty")
    if isinstance(password, str):
        try:
            password.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"password cannot be encoded as UTF-8: {exc}") from None
    try:
        codec.encode(codec.build_connect(account, b"", 101000000, dialect), 1, dialect)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"account {account!r} cannot be sent ({dialect.name} CONNECT): {exc}") from None


def _dialect(value: Dialect | str) -> Dialect:
    if isinstance(value, Dialect):
        return value
    try:
        return Dialect[str(value).upper()]
    except KeyError:
        raise ValueError(f"unknown dialect {value!r}: use empp, cmpp2 or cmpp3") from None
