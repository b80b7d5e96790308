"""The control and inspection HTTP API of the fake platform (twisted.web, JSON).

Every answer is a JSON object; every error is ``{"error": "<sentence>"}`` with a 4xx/5xx
status, never a traceback.  Bodies of POST requests are JSON objects sent with
``Content-Type: application/json`` (415 otherwise: a cross-origin form or ``text/plain``
POST cannot change anything); non-finite numbers (``Infinity``, ``NaN``, ``1e999``) are
refused with 400.  With a token (``ControlApi(..., token=)``; the runner sets one when the
API listens on anything but loopback) every request needs ``Authorization: Bearer
<token>`` (401 otherwise).  No GET answer carries a password.  Times are model clock
seconds (``"china"`` fields give China time).  ``GET /`` lists the endpoints.

==========================================  ====================================================
``GET /status``                             clock, ports, sessions, counters
``GET /accounts``                           logins (no passwords), roles, signatures, quotas
``POST /accounts {enterprise, extension, password, role?, name?, quota?, rate?, contacts?,
receive_private_mo?, receive_public_mo?}``    create a sub-account and its extension
``POST /accounts/remove {account}``         delete a sub-account and its extension
``POST /accounts/settings {account, role?, contacts?, receive_private_mo?,
receive_public_mo?, name?}``                  change an account's settings
``GET /extensions?enterprise=``             extension codes and their owners (null: by hand)
``POST /extensions {enterprise, code}``; ``POST /extensions/remove {enterprise, code}``
``GET /books?enterprise=[&account=]``       the public book (and an account's personal one)
``POST /books {account, number, name, public?}``; ``POST /books/remove {account, number,
public?}``                                    edit a book as that account (its role decides)
``GET /inbox/<account>``                    the MOs the account sees (its MO switches)
``GET /sessions[?account=]``                EMPP connections and their counters
``POST /sessions/terminate {account?}``     send TERMINATE (all sessions without ``account``)
``POST /sessions/drop {account?}``          cut the TCP connection(s) without TERMINATE
``GET /counters``                           the model's and the EMPP front end's counters
``GET /submissions[?account=&limit=]``      SUBMITs (accepted and refused) with every check
``GET /reports[?account=&number=&limit=]``  status reports and what became of each
``GET /mos[?account=&limit=]``              MOs received
``POST /mo {from, to, text}``               inject an MO (or ``content_hex`` + ``msg_fmt``,
                                            ``tp_udhi``; ``udh16``, ``reference``)
``GET /handsets``                           numbers that received something
``GET /handsets/<number>``                  what that phone shows, and its billing
``GET /billing[?account=&enterprise=&month=]``  SMS billed
``GET /offline/<account>``                  items kept until the account's next login
``GET /scheduled``; ``POST /scheduled/cancel {msg_id}``  SUBMITs held for At_Time
``GET /overload``; ``POST /overload {probability?, windows?}``  10005 injection
``GET /network``                            delays, mix, per-number outcomes
``POST /network/outcome {number, outcome, delay?}``  per-number outcome
``POST /network/outcome/clear {number?}``   forget one (or all)
``POST /network/mix {STAT: weight, ...}``; ``POST /network/delay {min, max}``
``GET /lists/<EB|EW|PB|SB>[?enterprise=]``  a list
``POST /lists/<kind> {value, enterprise?}``; ``POST /lists/<kind>/remove {...}``
``POST /switches {enterprise, unicom?, telecom?, list_policy?}``
``POST /quota {account | enterprise, quota, reset_used?}``
``POST /ability {account, ability}``        the account's CONNECT_RESP Ability from its next login
``GET /push``; ``POST /push {account, url}``  HTTP-PUSH: registered URLs and jobs; set (""
                                            removes) an account's push URL (docs/http.md)
``GET /clock``; ``POST /clock/advance {seconds}``  simulated clock only (409 otherwise)
``POST /purge``                             run the retention housekeeping now
==========================================  ====================================================
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import Site

from smsdk.msgid import EmppMsgId

from .config import ConfigError
from .items import (
    ListConflict,
    ManagementError,
    MoItem,
    MoRecord,
    MoRefused,
    ReceivedMessage,
    ReportItem,
    ReportRecord,
    SubmissionRecord,
    UnknownAccount,
)

__all__ = ["ApiError", "ControlApi", "to_json"]

_log = Logger(namespace="smsdk_harness.fake_smsc.control")


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ---------------------------------------------------------------------------------- JSON forms


def _msgid(m: EmppMsgId | None) -> str | None:
    return None if m is None else m.hex


def report_json(item: ReportItem) -> dict[str, Any]:
    return {
        "msg_id": item.msg_id.hex, "stat": item.stat, "number": item.dest_terminal_id,
        "submit_time": item.submit_time, "done_time": item.done_time,
        "smsc_sequence": item.smsc_sequence, "account": item.account_id, "src_id": item.src_id,
        "generated_at": item.generated_at, "submission": item.submission_id,
    }


def mo_json(item: MoItem) -> dict[str, Any]:
    return {
        "msg_id": item.msg_id.hex, "from": item.src_terminal_id, "to": item.dest_id,
        "msg_fmt": item.msg_fmt, "tp_udhi": item.tp_udhi, "content_hex": item.content.hex(),
        "text": item.text, "account": item.account_id, "received_at": item.received_at,
        "mo_id": item.mo_id,
    }


def message_json(m: ReceivedMessage) -> dict[str, Any]:
    return {
        "number": m.number, "text": m.text, "body": m.body, "signature": m.signature,
        "billing": m.billing, "cut_tail": m.cut_tail, "kind": m.kind, "src_id": m.src_id,
        "account": m.account_id, "msg_ids": [x.hex for x in m.msg_ids],
        "received_at": m.received_at, "parts": m.parts,
    }


def submission_json(r: SubmissionRecord) -> dict[str, Any]:
    return {
        "id": r.id, "account": r.account_id, "enterprise": r.enterprise_id, "at": r.at,
        "via": r.via, "sequence_id": r.sequence_id, "src_id": r.src_id, "dest": list(r.dest),
        "msg_fmt": r.msg_fmt, "tp_udhi": r.tp_udhi, "content_hex": r.content.hex(),
        "text": r.text, "service_id": r.service_id, "at_time": r.at_time,
        "registered_delivery": r.registered_delivery, "result": r.result, "reason": r.reason,
        "state": r.state, "msg_id": _msgid(r.msg_id) if r.accepted else None,
        "checks": [dataclasses.asdict(c) for c in r.checks],
        "recipients": [{
            "index": x.index, "number": x.number, "msg_id": x.msg_id.hex, "state": x.state,
            "stat": x.stat, "delivered": x.delivered,
        } for x in r.recipients],
        "quota_charged": r.quota_charged, "notes": list(r.notes),
    }


def to_json(obj: Any) -> Any:
    """JSON-ready form of the model's records (used by the API and by the subscribe feed)."""
    if isinstance(obj, SubmissionRecord):
        return {"type": "submission", **submission_json(obj)}
    if isinstance(obj, ReportRecord):
        return {"type": "report", "state": obj.state, "via": obj.via,
                "delivered_to": obj.delivered_to, **report_json(obj.item)}
    if isinstance(obj, MoRecord):
        return {"type": "mo", "state": obj.state, "delivered_to": obj.delivered_to, **mo_json(obj.item)}
    if isinstance(obj, ReceivedMessage):
        return {"type": "handset_message", **message_json(obj)}
    if isinstance(obj, ReportItem):
        return {"type": "report", **report_json(obj)}
    if isinstance(obj, MoItem):
        return {"type": "mo", **mo_json(obj)}
    raise TypeError(f"no JSON form for {type(obj).__name__}")


# ---------------------------------------------------------------------------------- routing

_Route = tuple[str, "re.Pattern[str]", Callable[..., Any]]


class ControlApi:
    """The HTTP API of one :class:`~smsdk_harness.fake_smsc.runner.FakeSmsc` (or of a bare
    platform and EMPP server: ``ControlApi(platform=..., server=...)``)."""

    def __init__(self, fake: Any = None, *, platform: Any = None, server: Any = None,
                 token: str | None = None) -> None:
        self.fake = fake
        #: the bearer token every HTTP request must carry (None: none needed)
        self.token = token or None
        self.platform = platform if platform is not None else fake.platform
        self.server = server if server is not None else getattr(fake, "server", None)
        self.routes: list[_Route] = []
        routes: list[tuple[str, str, Callable[..., Any]]] = [
            ("GET", r"/", self.index),
            ("GET", r"/status", self.status),
            ("GET", r"/accounts", self.accounts),
            ("POST", r"/accounts", self.account_add),
            ("POST", r"/accounts/remove", self.account_remove),
            ("POST", r"/accounts/settings", self.account_settings),
            ("GET", r"/extensions", self.extensions_get),
            ("POST", r"/extensions", self.extension_add),
            ("POST", r"/extensions/remove", self.extension_remove),
            ("GET", r"/books", self.books_get),
            ("POST", r"/books", self.book_add),
            ("POST", r"/books/remove", self.book_remove),
            ("GET", r"/inbox/(?P<account>[^/]+)", self.inbox),
            ("GET", r"/sessions", self.sessions),
            ("POST", r"/sessions/terminate", self.sessions_terminate),
            ("POST", r"/sessions/drop", self.sessions_drop),
            ("GET", r"/counters", self.counters),
            ("GET", r"/submissions", self.submissions),
            ("GET", r"/reports", self.reports),
            ("GET", r"/mos", self.mos),
            ("POST", r"/mo", self.mo),
            ("GET", r"/handsets", self.handsets),
            ("GET", r"/handsets/(?P<number>[^/]+)", self.handset),
            ("GET", r"/billing", self.billing),
            ("GET", r"/offline/(?P<account>[^/]+)", self.offline),
            ("GET", r"/scheduled", self.scheduled),
            ("POST", r"/scheduled/cancel", self.scheduled_cancel),
            ("GET", r"/overload", self.overload_get),
            ("POST", r"/overload", self.overload_set),
            ("GET", r"/network", self.network),
            ("POST", r"/network/outcome", self.network_outcome),
            ("POST", r"/network/outcome/clear", self.network_outcome_clear),
            ("POST", r"/network/mix", self.network_mix),
            ("POST", r"/network/delay", self.network_delay),
            ("GET", r"/lists/(?P<kind>[A-Za-z]+)", self.list_get),
            ("POST", r"/lists/(?P<kind>[A-Za-z]+)", self.list_add),
            ("POST", r"/lists/(?P<kind>[A-Za-z]+)/remove", self.list_remove),
            ("POST", r"/switches", self.switches),
            ("POST", r"/quota", self.quota),
            ("POST", r"/ability", self.ability),
            ("GET", r"/push", self.push_get),
            ("POST", r"/push", self.push_set),
            ("GET", r"/clock", self.clock_get),
            ("POST", r"/clock/advance", self.clock_advance),
            ("POST", r"/purge", self.purge),
        ]
        for method, pattern, handler in routes:
            self.routes.append((method, re.compile(pattern + r"/?\Z"), handler))

    def site(self) -> Site:
        site = Site(_ApiResource(self))
        site.displayTracebacks = False
        site.noisy = False
        return site

    def resource(self) -> Resource:
        return _ApiResource(self)

    def add_route(self, method: str, pattern: str, handler: Callable[..., Any]) -> None:
        """One more endpoint (a front end of its own, e.g. ``faultcontrol.py``): ``pattern``
        is a regular expression of the path, its named groups become keyword arguments."""
        self.routes.append((method, re.compile(pattern + r"/?\Z"), handler))

    # -- the dispatcher (also usable without HTTP: api.call("GET", "/status")) -------------------

    def call(self, method: str, target: str, body: bytes | dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """Handle one request; returns (HTTP status, JSON object).  Never raises."""
        try:
            parts = urlsplit(target)
            path = unquote(parts.path) or "/"
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            allowed = []
            for route_method, pattern, handler in self.routes:
                m = pattern.match(path)
                if m is None:
                    continue
                if route_method != method:
                    allowed.append(route_method)
                    continue
                kwargs = dict(m.groupdict())
                if method == "POST":
                    kwargs["body"] = _json_body(body)
                else:
                    kwargs["query"] = query
                return 200, handler(**kwargs)
            if allowed:
                raise ApiError(405, f"{method} is not allowed on {path}; use {' or '.join(sorted(set(allowed)))}")
            raise ApiError(404, f"no such endpoint: {method} {path} (GET / lists them)")
        except ApiError as e:
            return e.status, {"error": e.message}
        except UnknownAccount as e:
            return 404, {"error": str(e)}
        except ListConflict as e:
            return 409, {"error": str(e)}
        except (ManagementError, MoRefused, ConfigError, ValueError, TypeError, KeyError) as e:
            return 400, {"error": str(e) or type(e).__name__}
        except Exception as e:  # a bug: log it, answer with a sentence
            _log.failure("control API {method} {target} failed", method=method, target=target)
            return 500, {"error": f"internal error: {type(e).__name__}: {e}"}

    # -- endpoints ---------------------------------------------------------------------------

    def index(self, query: dict[str, str]) -> dict[str, Any]:
        suffix = len(r"/?\Z")
        names = re.compile(r"\(\?P<(\w+)>[^)]*\)")
        placeholder = r"<\1>"
        return {"endpoints": [m + " " + (names.sub(placeholder, p.pattern[:-suffix]) or "/")
                              for m, p, _h in self.routes],
                "doc": "docs/fake-smsc.md (the control API)"}

    def _clock(self) -> dict[str, Any]:
        p = self.platform
        return {"seconds": p.now(), "china": p.china_now().isoformat(),
                "simulated": bool(getattr(self.fake, "simulated", False))}

    def status(self, query: dict[str, str]) -> dict[str, Any]:
        fake = self.fake
        return {
            "clock": self._clock(),
            "empp": {"host": getattr(fake, "host", None), "port": getattr(fake, "port", None)},
            "control_port": getattr(fake, "control_port", None),
            "http_port": getattr(fake, "http_port", None),
            "sessions": len(self.server.sessions()) if self.server is not None else 0,
            "connections": len(self.server.connections()) if self.server is not None else 0,
            "counters": self.counters(query),
            "sizes": self.platform.sizes(),
        }

    def accounts(self, query: dict[str, str]) -> dict[str, Any]:
        return {"accounts": [self._account_json(acc) for acc in self.platform.accounts()]}

    def _account_json(self, acc: Any) -> dict[str, Any]:
        from .platform_accounts import LOGIN_ROLES, RECEIVE_ROLES, SEND_ROLES

        ent = acc.enterprise
        return {
            "id": acc.id, "extension": acc.extension, "role": acc.role, "name": acc.name,
            "enterprise": ent.id, "enterprise_name": ent.name, "signature": ent.signature,
            "main": acc.is_main, "can_login": acc.role in LOGIN_ROLES,
            "can_send": acc.role in SEND_ROLES, "can_receive": acc.role in RECEIVE_ROLES,
            "bound": acc.bound, "ability": acc.ability, "quota": acc.quota,
            "quota_used": acc.quota_used, "rate": acc.bucket.rate,
            "group_send_limit": ent.group_send_limit, "unicom": ent.unicom,
            "telecom": ent.telecom, "list_policy": ent.list_policy, "contacts": acc.contacts,
            "receive_private_mo": acc.receive_private_mo,
            "receive_public_mo": acc.receive_public_mo,
        }

    def account_add(self, body: dict[str, Any]) -> dict[str, Any]:
        _only(body, {"enterprise", "extension", "password", "role", "name", "quota", "rate",
                     "contacts", "receive_private_mo", "receive_public_mo"})
        kw: dict[str, Any] = {}
        for key in ("role", "name"):
            if key in body:
                kw[key] = _req_str(body, key) if key == "role" else _str(body, key)
        if "quota" in body:
            kw["quota"] = _opt_int(body, "quota")
        if body.get("rate") is not None:
            rate = body["rate"]
            if isinstance(rate, bool) or not isinstance(rate, (int, float)):
                raise ApiError(400, "rate: must be a number of SMS per second (or null)")
            kw["rate"] = float(rate)
        if "contacts" in body:
            kw["contacts"] = _opt_int(body, "contacts") or 0
        for key in ("receive_private_mo", "receive_public_mo"):
            if key in body:
                kw[key] = _bool(body, key)
        acc = self.platform.add_account(_req_str(body, "enterprise"), _req_str(body, "extension"),
                                        _req_str(body, "password"), **kw)
        return {"account": self._account_json(acc)}

    def account_remove(self, body: dict[str, Any]) -> dict[str, Any]:
        _only(body, {"account"})
        account = _req_str(body, "account")
        self.platform.remove_account(account)
        return {"removed": account}

    def account_settings(self, body: dict[str, Any]) -> dict[str, Any]:
        _only(body, {"account", "role", "contacts", "receive_private_mo", "receive_public_mo",
                     "name"})
        kw: dict[str, Any] = {}
        if "role" in body:
            kw["role"] = _req_str(body, "role")
        if "contacts" in body:
            contacts = _opt_int(body, "contacts")
            if contacts is None:
                raise ApiError(400, "contacts: must be a whole number >= 0")
            kw["contacts"] = contacts
        for key in ("receive_private_mo", "receive_public_mo"):
            if key in body:
                kw[key] = _bool(body, key)
        if "name" in body:
            kw["name"] = _str(body, "name")
        acc = self.platform.set_account(_req_str(body, "account"), **kw)
        return {"account": self._account_json(acc)}

    def extensions_get(self, query: dict[str, str]) -> dict[str, Any]:
        ents = ([self.platform.enterprise(query["enterprise"])] if query.get("enterprise")
                else self.platform.enterprises())
        return {"extensions": {e.id: {"max": e.max_extensions,
                                      "codes": self.platform.extensions(e.id)} for e in ents}}

    def extension_add(self, body: dict[str, Any]) -> dict[str, Any]:
        _only(body, {"enterprise", "code"})
        ent, code = _req_str(body, "enterprise"), _req_str(body, "code")
        self.platform.register_extension(ent, code)
        return {"enterprise": ent, "registered": code}

    def extension_remove(self, body: dict[str, Any]) -> dict[str, Any]:
        _only(body, {"enterprise", "code"})
        ent, code = _req_str(body, "enterprise"), _req_str(body, "code")
        self.platform.unregister_extension(ent, code)
        return {"enterprise": ent, "removed": code}

    def books_get(self, query: dict[str, str]) -> dict[str, Any]:
        ent_id = query.get("enterprise") or ""
        if not ent_id:
            raise ApiError(400, "enterprise: a query parameter is required (?enterprise=ID)")
        ent = self.platform.enterprise(ent_id)
        out: dict[str, Any] = {"enterprise": ent.id, "public": self.platform.public_book(ent.id),
                               "public_cap": self.platform.public_contacts(ent.id)}
        account = query.get("account")
        if account:
            acc = self.platform.account(account)
            if acc.enterprise is not ent:
                raise ApiError(400, f"account {acc.id} is not in enterprise {ent.id}")
            out["account"] = acc.id
            out["personal"] = self.platform.personal_book(acc.id)
            out["personal_cap"] = acc.contacts
        return out

    def book_add(self, body: dict[str, Any]) -> dict[str, Any]:
        _only(body, {"account", "number", "name", "public"})
        public = _bool(body, "public") if "public" in body else False
        num = self.platform.book_add(_req_str(body, "account"), _req_str(body, "number"),
                                     _str(body, "name"), public=public)
        return {"added": num, "public": public}

    def book_remove(self, body: dict[str, Any]) -> dict[str, Any]:
        _only(body, {"account", "number", "public"})
        public = _bool(body, "public") if "public" in body else False
        removed = self.platform.book_remove(_req_str(body, "account"), _req_str(body, "number"),
                                            public=public)
        return {"removed": removed, "public": public}

    def inbox(self, account: str, query: dict[str, str]) -> dict[str, Any]:
        return {"account": account, "mos": [mo_json(i) for i in self.platform.inbox(account)]}

    def _server(self) -> Any:
        if self.server is None:
            raise ApiError(409, "this platform has no EMPP front end")
        return self.server

    def sessions(self, query: dict[str, str]) -> dict[str, Any]:
        server = self._server()
        account = query.get("account") or None
        return {"sessions": [c.info() for c in server.connections(account)]}

    def sessions_terminate(self, body: dict[str, Any]) -> dict[str, Any]:
        account = _opt_str(body, "account")
        if account is not None:
            self.platform.account(account)
        return {"terminated": self._server().terminate(account)}

    def sessions_drop(self, body: dict[str, Any]) -> dict[str, Any]:
        account = _opt_str(body, "account")
        if account is not None:
            self.platform.account(account)
        return {"dropped": self._server().drop(account)}

    def counters(self, query: dict[str, str]) -> dict[str, Any]:
        out = {"platform": dict(self.platform.counters)}
        if self.server is not None:
            out["empp"] = dict(self.server.counters)
        return out

    def submissions(self, query: dict[str, str]) -> dict[str, Any]:
        recs = self.platform.submissions(query.get("account") or None)
        return {"submissions": [submission_json(r) for r in _limit(recs, query)]}

    def reports(self, query: dict[str, str]) -> dict[str, Any]:
        recs = self.platform.reports(query.get("account") or None, query.get("number") or None)
        return {"reports": [to_json(r) for r in _limit(recs, query)]}

    def mos(self, query: dict[str, str]) -> dict[str, Any]:
        recs = self.platform.mos(query.get("account") or None)
        return {"mos": [to_json(r) for r in _limit(recs, query)]}

    def mo(self, body: dict[str, Any]) -> dict[str, Any]:
        sender = _req_str(body, "from")
        to = _req_str(body, "to")
        kw: dict[str, Any] = {}
        if "content_hex" in body:
            try:
                content: str | bytes = bytes.fromhex(_req_str(body, "content_hex"))
            except ValueError:
                raise ApiError(400, "content_hex: not hex digits") from None
            kw["msg_fmt"] = _opt_int(body, "msg_fmt")
            kw["tp_udhi"] = _opt_int(body, "tp_udhi") or 0
        else:
            content = _req_str(body, "text")
            if "msg_fmt" in body:
                kw["msg_fmt"] = _opt_int(body, "msg_fmt")
        if "udh16" in body:
            kw["udh16"] = bool(body["udh16"])
        if "reference" in body:
            kw["reference"] = _opt_int(body, "reference")
        out = self.platform.inject_mo(sender, to, content, **kw)
        return {"account": out.account_id,
                "items": [{"state": r.state, "delivered_to": r.delivered_to, **mo_json(r.item)}
                          for r in out.records]}

    def handsets(self, query: dict[str, str]) -> dict[str, Any]:
        return {"handsets": {n: {"messages": len(h.messages), "billing": h.billing,
                                 "pending": len(h.pending)}
                             for n, h in sorted(self.platform.handsets().items())}}

    def handset(self, number: str, query: dict[str, str]) -> dict[str, Any]:
        h = self.platform.handset(number)
        return {
            "number": h.number, "billing": h.billing, "texts": h.texts,
            "messages": [message_json(m) for m in h.messages],
            "pending": [{"account": p.account_id, "reference": p.reference, "total": p.total,
                         "parts": sorted(p.parts)} for p in h.pending.values()],
            "incomplete": [{"account": p.account_id, "reference": p.reference, "total": p.total,
                            "parts": sorted(p.parts), "reason": p.reason} for p in h.incomplete],
        }

    def billing(self, query: dict[str, str]) -> dict[str, Any]:
        total = self.platform.billing(query.get("account") or None,
                                      enterprise_id=query.get("enterprise") or None,
                                      month=query.get("month") or None)
        return {"total": total, "by_account": self.platform.billing_by_account()}

    def offline(self, account: str, query: dict[str, str]) -> dict[str, Any]:
        return {"account": account, "items": [to_json(i) for i in self.platform.offline(account)]}

    def scheduled(self, query: dict[str, str]) -> dict[str, Any]:
        recs = self.platform.scheduled(query.get("account") or None)
        return {"scheduled": [submission_json(r) for r in recs]}

    def scheduled_cancel(self, body: dict[str, Any]) -> dict[str, Any]:
        msg_id = EmppMsgId.from_hex(_req_str(body, "msg_id"))
        return {"cancelled": self.platform.cancel_scheduled(msg_id)}

    def overload_get(self, query: dict[str, str]) -> dict[str, Any]:
        p = self.platform
        return {"probability": p.overload_probability, "windows": [list(w) for w in p.overload_windows]}

    def overload_set(self, body: dict[str, Any]) -> dict[str, Any]:
        probability = body.get("probability")
        if probability is not None and (isinstance(probability, bool) or not isinstance(probability, (int, float))):
            raise ApiError(400, "probability: must be a number in 0..1")
        windows = body.get("windows")
        if windows is not None:
            if not isinstance(windows, list) or not all(
                    isinstance(w, list) and len(w) == 2
                    and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in w)
                    for w in windows):
                raise ApiError(400, "windows: must be a list of [start, end] clock seconds")
            windows = [tuple(w) for w in windows]
        self.platform.set_overload(probability, windows)
        return self.overload_get({})

    def network(self, query: dict[str, str]) -> dict[str, Any]:
        n = self.platform.network
        return {"delay_min": n.delay_min, "delay_max": n.delay_max, "mix": dict(n.mix),
                "outcomes": {k: {"outcome": s, "delay": d} for k, (s, d) in n.outcomes().items()}}

    def network_outcome(self, body: dict[str, Any]) -> dict[str, Any]:
        delay = body.get("delay")
        if delay is not None and (isinstance(delay, bool) or not isinstance(delay, (int, float))):
            raise ApiError(400, "delay: must be a number of seconds")
        self.platform.network.set_outcome(_req_str(body, "number"), _req_str(body, "outcome"), delay)
        return self.network({})

    def network_outcome_clear(self, body: dict[str, Any]) -> dict[str, Any]:
        self.platform.network.clear_outcome(_opt_str(body, "number"))
        return self.network({})

    def network_mix(self, body: dict[str, Any]) -> dict[str, Any]:
        self.platform.network.set_mix(body.get("mix", body))
        return self.network({})

    def network_delay(self, body: dict[str, Any]) -> dict[str, Any]:
        lo, hi = body.get("min"), body.get("max")
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (lo, hi)):
            raise ApiError(400, "min and max: numbers of seconds are required")
        self.platform.network.set_delay(lo, hi)
        return self.network({})

    def list_get(self, kind: str, query: dict[str, str]) -> dict[str, Any]:
        kind = kind.upper()
        return {"kind": kind, "enterprise": query.get("enterprise"),
                "values": sorted(self.platform.list_get(kind, query.get("enterprise") or None))}

    def list_add(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        kind = kind.upper()
        value = self.platform.list_add(kind, _req_str(body, "value"), _opt_str(body, "enterprise"))
        return {"kind": kind, "added": value}

    def list_remove(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        kind = kind.upper()
        removed = self.platform.list_remove(kind, _req_str(body, "value"), _opt_str(body, "enterprise"))
        return {"kind": kind, "removed": removed}

    def switches(self, body: dict[str, Any]) -> dict[str, Any]:
        ent = _req_str(body, "enterprise")
        kw: dict[str, Any] = {}
        for key in ("unicom", "telecom"):
            if key in body:
                if not isinstance(body[key], bool):
                    raise ApiError(400, f"{key}: must be true or false")
                kw[key] = body[key]
        if "list_policy" in body:
            kw["list_policy"] = _req_str(body, "list_policy")
        self.platform.set_switches(ent, **kw)
        e = self.platform.enterprise(ent)
        return {"enterprise": e.id, "unicom": e.unicom, "telecom": e.telecom, "list_policy": e.list_policy}

    def quota(self, body: dict[str, Any]) -> dict[str, Any]:
        if "quota" not in body:
            raise ApiError(400, "quota: required (a number of SMS, or null for unlimited)")
        quota = body["quota"]
        if quota is not None and (isinstance(quota, bool) or not isinstance(quota, int) or quota < 0):
            raise ApiError(400, "quota: must be a whole number of SMS >= 0, or null")
        account, ent = _opt_str(body, "account"), _opt_str(body, "enterprise")
        if (account is None) == (ent is None):
            raise ApiError(400, "give exactly one of account and enterprise")
        self.platform.set_quota(account_id=account, enterprise_id=ent, quota=quota,
                                reset_used=bool(body.get("reset_used", False)))
        target = self.platform.account(account) if account else self.platform.enterprise(ent or "")
        return {"quota": target.quota, "quota_used": target.quota_used}

    def ability(self, body: dict[str, Any]) -> dict[str, Any]:
        acc = self.platform.account(_req_str(body, "account"))
        ability = _opt_int(body, "ability")
        if ability is None or not 0 <= ability <= 3:
            raise ApiError(400, "ability: must be 0, 1, 2 or 3 (PROTOCOL.md §1.6)")
        acc.ability = ability
        return {"account": acc.id, "ability": acc.ability}

    def _http(self) -> Any:
        http = getattr(self.fake, "http", None)
        if http is None:
            raise ApiError(409, "this platform has no HTTP front end (PUSH needs FakeSmsc)")
        return http

    def push_get(self, query: dict[str, str]) -> dict[str, Any]:
        http = self._http()
        urls = {a.id: a.push_url for a in self.platform.accounts() if a.push_url}
        return {"urls": urls, **(http.push.status() if http.push is not None else {})}

    def push_set(self, body: dict[str, Any]) -> dict[str, Any]:
        account = _req_str(body, "account")
        url = body.get("url")
        if not isinstance(url, str):
            raise ApiError(400, "url: must be a string (\"\" removes the push URL)")
        try:
            self._http().set_push_url(account, url)
        except ValueError as e:
            raise ApiError(400, f"url: {e}") from None
        return {"account": account, "url": url}

    def clock_get(self, query: dict[str, str]) -> dict[str, Any]:
        return self._clock()

    def clock_advance(self, body: dict[str, Any]) -> dict[str, Any]:
        if not getattr(self.fake, "simulated", False):
            raise ApiError(409, "the clock is real: start the platform with --simulated-clock to advance it")
        seconds = body.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
            raise ApiError(400, "seconds: must be a number >= 0")
        clock = self.fake.clock
        target = clock.seconds() + seconds
        if hasattr(clock, "advance_to"):
            ran = clock.advance_to(target)
        else:  # a plain task.Clock: step from call to call
            ran = 0
            while True:
                due = [c.getTime() for c in clock.getDelayedCalls() if c.active()]
                nxt = min(due) if due else None
                if nxt is None or nxt > target:
                    break
                clock.advance(max(0.0, nxt - clock.seconds()))
                ran += 1
            clock.advance(max(0.0, target - clock.seconds()))
        return {**self._clock(), "calls_run": ran}

    def purge(self, body: dict[str, Any]) -> dict[str, Any]:
        self.platform.purge()
        return {"sizes": self.platform.sizes()}


def _refuse_constant(name: str) -> Any:
    raise ApiError(400, f"the body is not JSON: {name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ApiError(400, f"{text}: numbers must be finite")
    return value


def _check_finite(value: Any, where: str = "body") -> None:
    """A body given as a dict (in-process callers) follows the same rule as JSON text."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ApiError(400, f"{where}: numbers must be finite, got {value}")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{k}" if where == "body" else f"{where}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_finite(v, f"{where}[{i}]")


def _json_body(body: bytes | dict[str, Any] | None) -> dict[str, Any]:
    if body is None or body == b"":
        return {}
    if isinstance(body, dict):
        _check_finite(body)
        return body
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant,
                          parse_float=_finite_float)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ApiError(400, f"the body is not JSON: {e}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object")
    return data


def _media_type(value: bytes | None) -> str:
    return (value or b"").split(b";", 1)[0].strip().lower().decode("latin-1")


def _req_str(body: dict[str, Any], key: str) -> str:
    v = body.get(key)
    if not isinstance(v, str) or v == "":
        raise ApiError(400, f"{key}: a non-empty string is required")
    return v


def _opt_str(body: dict[str, Any], key: str) -> str | None:
    v = body.get(key)
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        raise ApiError(400, f"{key}: must be a string")
    return v


def _only(body: dict[str, Any], keys: set[str]) -> None:
    """A management body names only the keys its endpoint knows (a typo is an error)."""
    unknown = sorted(set(body) - keys)
    if unknown:
        raise ApiError(400, f"unknown key {unknown[0]!r}; this endpoint takes "
                            f"{', '.join(sorted(keys))}")


def _str(body: dict[str, Any], key: str) -> str:
    v = body.get(key, "")
    if not isinstance(v, str):
        raise ApiError(400, f"{key}: must be a string")
    return v


def _bool(body: dict[str, Any], key: str) -> bool:
    v = body.get(key)
    if not isinstance(v, bool):
        raise ApiError(400, f"{key}: must be true or false")
    return v


def _opt_int(body: dict[str, Any], key: str) -> int | None:
    v = body.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise ApiError(400, f"{key}: must be an integer")
    return v


def _limit(records: list[Any], query: dict[str, str]) -> list[Any]:
    raw = query.get("limit")
    if raw is None or raw == "":
        return records
    try:
        n = int(raw)
    except ValueError:
        raise ApiError(400, f"limit: must be an integer, got {raw!r}") from None
    if n < 0:
        raise ApiError(400, "limit: must be >= 0")
    return records[-n:] if n else []


class _ApiResource(Resource):
    isLeaf = True

    def __init__(self, api: ControlApi) -> None:
        super().__init__()
        self.api = api

    def render(self, request: Any) -> bytes:
        method = request.method.decode("ascii", "replace")
        target = request.uri.decode("utf-8", "replace")
        request.setHeader(b"content-type", b"application/json; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        refusal = self._refusal(request, method)
        if refusal is not None:
            status, payload = refusal
        else:
            body = request.content.read() if request.content is not None else b""
            status, payload = self.api.call(method, target, body)
        try:
            text = json.dumps(payload, ensure_ascii=False, default=_default, allow_nan=False)
        except ValueError as e:  # a non-finite number in the state: never emit invalid JSON
            status, text = 500, json.dumps({"error": f"internal error: {e}"})
        request.setResponseCode(status)
        return text.encode("utf-8")

    def _refusal(self, request: Any, method: str) -> tuple[int, dict[str, Any]] | None:
        token = self.api.token
        if token is not None:
            given = request.getHeader(b"authorization") or b""
            scheme, _, value = given.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(
                    value.strip(), token.encode("utf-8")):
                request.setHeader(b"www-authenticate", b'Bearer realm="fake-smsc"')
                return 401, {"error": "this control API needs 'Authorization: Bearer <token>' "
                                      "(the token smsdk fake-smsc printed at start)"}
        if method == "POST":
            media = _media_type(request.getHeader(b"content-type"))
            if media != "application/json":
                return 415, {"error": f"POST bodies must be sent as Content-Type: application/json, "
                                      f"not {media or 'none'}"}
        return None


def _default(obj: Any) -> Any:
    if isinstance(obj, EmppMsgId):
        return obj.hex
    if isinstance(obj, bytes):
        return obj.hex()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)
