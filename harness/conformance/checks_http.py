"""Properties of the fake platform's HTTP interface and PUSH sender (the platform side of
the HTTP rules: FAQ-2.1.3, 2.1.4, 2.3.2, 2.4.1, 3.1.3/3.3, 3.1.4/3.4.1, 3.4.2, and the
HTTP halves of 2.2.5 and 2.1.9).  Each example builds a fresh model on a simulated clock
with :class:`~smsdk_harness.fake_smsc.http_server.HttpFrontEnd` over it; requests are
its sans-IO ``handle(path, params)``, PUSH goes to an in-memory receiver.  The SDK's own
checks of these rules (its HTTP client, pollers, PUSH receiver) register on the same ids."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any
from urllib.parse import parse_qsl

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import defer
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone

from smsdk_harness.fake_smsc.http_server import HttpFrontEnd
from smsdk_harness.fake_smsc.push import PushSender

from .checks_model import cjk, distinct, invalid, mobiles, phs, single, sized_text
from .registry import check
from .world import MAIN, MAIN_PW, SIG, SUB, SUB_PW, Model

ENT = "E1"  # world.config_text's enterprise id
ascii_char = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
text_char = st.one_of(cjk, ascii_char)


def md5(*parts: str) -> str:
    return hashlib.md5("".join(parts).encode("utf-8")).hexdigest()


class _Answer:
    """The least of a twisted ``IResponse`` that ``readBody`` needs."""

    def __init__(self, code: int, body: bytes) -> None:
        self.code, self.phrase, self.body, self.length = code, b"", body, len(body)

    def deliverBody(self, protocol: Any) -> None:
        protocol.dataReceived(self.body)
        protocol.connectionLost(Failure(ResponseDone()))


class Receiver:
    """An in-memory PUSH receiver (an ``IAgent``): records each POST's fields and answers
    ``fail_first`` requests with HTTP 500, then 200 ``100``."""

    def __init__(self, clock: Any, fail_first: int = 0) -> None:
        self.clock = clock
        self.fail_first = fail_first
        self.requests: list[tuple[float, dict[str, str]]] = []

    def request(self, method: bytes, uri: bytes, headers: Any = None, bodyProducer: Any = None):
        charset = headers.getRawHeaders(b"content-type")[0].decode().split("charset=")[1]
        body = bodyProducer.data.decode("ascii")
        self.requests.append((self.clock.seconds(), dict(parse_qsl(body, encoding=charset))))
        if len(self.requests) <= self.fail_first:
            return defer.succeed(_Answer(500, b"try later"))
        return defer.succeed(_Answer(200, b"100"))


class HttpModel(Model):
    """A fresh model with its HTTP front end (and a PUSH sender to ``receiver``)."""

    def __init__(self, fail_first: int = 0, **config: Any) -> None:
        super().__init__(**config)
        self.receiver = Receiver(self.clock, fail_first)
        self.push = PushSender(self.clock, agent=self.receiver)
        self.http = HttpFrontEnd(self.platform, push=self.push)

    def stamp(self, minutes: float = 0) -> str:
        return (self.platform.china_now() + dt.timedelta(minutes=minutes)).strftime("%Y%m%d%H%M")

    def send(self, msg: Any, mobs: str = "13800138000", **more: Any) -> Any:
        ts = self.stamp()
        params = {"enterpriseid": ENT, "accountid": "", "mobs": mobs, "msg": msg,
                  "timestamp": ts, "auth": md5(ENT, MAIN_PW, ts), **more}
        return self.http.handle("/httpserver", {k: v for k, v in params.items() if v is not None})

    def poll(self, path: str, eid: str = MAIN, password: str = MAIN_PW, **params: Any) -> Any:
        ts = self.stamp()
        return self.http.handle(path, {"eid": eid, "timestamp": ts, "auth": md5(eid, password, ts),
                                       **params})

    def close(self) -> None:
        self.push.close()
        self.http.close()
        super().close()


# -- FAQ-2.1.3: the submission paths ----------------------------------------------------------

@check("FAQ-2.1.3")
def http_and_empp_paths(ctx):
    """any text ≤ 60 chars to any 1..5 numbers: the EMPP path (a SUBMIT) and the HTTP path
    (/httpserver) are both accepted and every handset shows the same signed text (WEB: the
    platform's web console is not modelled)"""

    @ctx.settings(40)
    @given(text=sized_text(text_char, 1, 60, (60,)), numbers=distinct(mobiles, 1, 5))
    def prop(text, numbers):
        with HttpModel() as m:
            empp = m.platform.submit(MAIN, single(text, numbers))
            assert empp.result == 0, empp.reason
            m.settle()
            by_empp = {n: m.platform.handset(n).texts for n in numbers}
        with HttpModel() as m:
            a = m.send(text, ",".join(numbers))
            assert a.code == 100, a.reason
            m.settle()
            by_http = {n: m.platform.handset(n).texts for n in numbers}
        assert by_empp == by_http == {n: [text + SIG] for n in numbers}, (by_empp, by_http)

    prop()


# -- FAQ-2.1.4: success means the first line is 100 ---------------------------------------------

@check("FAQ-2.1.4")
def http_first_line_100(ctx):
    """any /httpserver request (valid, invalid and PHS numbers, 0–600 chars, right or wrong
    password): the first line is 100 ⇔ every piece was accepted and every recipient gets its
    report; otherwise nothing was accepted and no handset receives anything"""

    @ctx.settings(60)
    @given(numbers=st.lists(st.one_of(mobiles, phs, invalid), min_size=1, max_size=7),
           text=sized_text(text_char, 0, 600, (0, 60, 61, 512, 513)), right=st.booleans())
    def prop(numbers, text, right):
        with HttpModel() as m:
            ts = m.stamp()
            a = m.http.handle("/httpserver", {
                "enterpriseid": ENT, "accountid": "", "mobs": ",".join(numbers), "msg": text,
                "timestamp": ts, "auth": md5(ENT, MAIN_PW if right else "wrong", ts)})
            assert a is not None
            assert a.text().split("\n")[0] == str(a.code)
            m.settle()
            accepted = [r for r in m.platform.submissions() if r.accepted]
            if a.code == 100:
                send = m.http.sends[int(a.lines[0])]
                assert len(accepted) == len(send.pieces) == -(-len(text) // 60)
                assert all(send.outcome(i) is not None for i in range(len(numbers)))
            else:
                assert accepted == [] and m.platform.handsets() == {}, a.code

    prop()


# -- FAQ-2.3.2: ≤ 512 chars ------------------------------------------------------------------

@check("FAQ-2.3.2")
def http_text_512(ctx):
    """any text of 0–700 chars (Chinese, ASCII, astral counting 2): empty or over 512 → 104
    and nothing sent; otherwise 100"""

    astral = st.characters(min_codepoint=0x1F600, max_codepoint=0x1F64F)

    @ctx.settings(60)
    @given(text=st.one_of(sized_text(text_char, 0, 700, (0, 1, 511, 512, 513)),
                          sized_text(st.one_of(cjk, astral), 250, 260)))
    def prop(text):
        with HttpModel() as m:
            units = len(text.encode("utf-16-be")) // 2
            a = m.send(text.encode("utf-8"), charset="utf-8")
            if units == 0 or units > 512:
                assert a.code == 104, (units, a.code, a.reason)
                assert m.platform.submissions() == []
            else:
                assert a.code == 100, (units, a.reason)

    prop()


# -- FAQ-2.4.1: the /httpserver parameters --------------------------------------------------------

PARAMS = ("enterpriseid", "accountid", "mobs", "msg", "timestamp", "auth")


@check("FAQ-2.4.1")
def http_parameters(ctx):
    """/httpserver with any parameter missing (→ 101), a wrong password or a timestamp over
    10 min off (→ 102), pswd instead of auth, GET-style bytes in GBK, a sub-account's
    extension: 100 exactly when everything is right, and the text reaches every number of
    the comma-separated mobs"""

    @ctx.settings(80)
    @given(missing=st.sets(st.sampled_from(PARAMS), max_size=2), skew=st.integers(-15, 15),
           right=st.booleans(), legacy=st.booleans(), sub=st.booleans(),
           numbers=distinct(mobiles, 1, 5), text=sized_text(text_char, 1, 60))
    def prop(missing, skew, right, legacy, sub, numbers, text):
        with HttpModel() as m:
            account, password = (SUB, SUB_PW) if sub else (MAIN, MAIN_PW)
            ts = m.stamp(skew)
            params: dict[bytes, list[bytes]] = {
                b"enterpriseid": [ENT.encode()], b"accountid": [b"01" if sub else b""],
                b"mobs": [",".join(numbers).encode()], b"msg": [text.encode("gbk")],
                b"timestamp": [ts.encode()],
                b"auth": [md5(ENT, password if right else "x", ts).encode()]}
            if legacy:
                del params[b"timestamp"], params[b"auth"]
                params[b"pswd"] = [(password if right else "x").encode()]
            for name in missing:
                params.pop(name.encode(), None)
            a = m.http.handle("/httpserver", params)
            assert a is not None
            absent = {n for n in missing if n in ("enterpriseid", "accountid", "mobs", "msg")}
            if not legacy:
                absent |= missing & {"timestamp", "auth"}
            if absent:
                assert a.code == 101, (missing, a.code, a.reason)
            elif not right or (not legacy and abs(skew) > 10):
                assert a.code == 102, (right, skew, a.code, a.reason)
            else:
                assert a.code == 100, a.reason
                m.settle()
                assert all(m.platform.handset(n).texts == [text + SIG] for n in numbers)
                assert m.platform.submissions()[-1].account_id == account

    prop()


@check("FAQ-2.2.5")
def http_group_limit(ctx):
    """HTTP: any 1..12 valid numbers in mobs: more than group_send_limit (5) → 15 and nothing
    accepted, else 100"""

    @ctx.settings(40)
    @given(numbers=distinct(mobiles, 1, 12))
    def prop(numbers):
        with HttpModel() as m:
            a = m.send("hi", ",".join(numbers))
            assert a.code == (100 if len(numbers) <= 5 else 15), (len(numbers), a.code)
            if a.code == 15:
                assert not any(r.accepted for r in m.platform.submissions())

    prop()


@check("FAQ-2.1.9")
def http_phs_packet(ctx):
    """HTTP: any mobs with one PHS number among valid ones → 13 for the whole request"""

    @ctx.settings(40)
    @given(numbers=distinct(mobiles, 0, 4), bad=phs, at=st.integers(0, 4))
    def prop(numbers, bad, at):
        with HttpModel() as m:
            mobs = numbers[:at] + [bad] + numbers[at:]
            a = m.send("hi", ",".join(mobs))
            assert a.code == 13 and m.platform.handsets() == {}, (a.code, a.reason)

    prop()


# -- FAQ-3.1.3, 3.3: PUSH ------------------------------------------------------------------

@check("FAQ-3.1.3, 3.3")
def push_mo_and_reports(ctx):
    """an account with a push URL, any MOs and HTTP sends, a receiver that fails its first
    0–14 requests: every MO and every recipient's report is POSTed as a GBK form with the
    §3b fields, delivered once answered 200 + 100; failed attempts are retried after 1, 2,
    4 … min, and what still fails 48 h after its first attempt is dropped; MOs are never
    kept offline for the account"""

    @ctx.settings(30)
    @given(mos=st.lists(sized_text(text_char, 1, 30), max_size=3, unique=True),
           sends=st.lists(distinct(mobiles, 1, 3), max_size=2), fail_first=st.integers(0, 14))
    def prop(mos, sends, fail_first):
        with HttpModel(fail_first=fail_first) as m:
            m.http.set_push_url(MAIN, "http://receiver.example/push")
            for text in mos:
                m.platform.inject_mo("13900139000", MAIN, text)
            sids = [int(m.send("hi", ",".join(numbers)).lines[0]) for numbers in sends]
            m.settle()
            m.clock.advance(60 * 3600)  # past every retry
            events = len(mos) + sum(len(n) for n in sends)
            assert m.platform.offline(MAIN) == []
            got = [f for _t, f in m.receiver.requests]
            assert {f["type"] for f in got} <= {"mo", "report"}
            assert len(m.push.delivered) + len(m.push.dropped) == events and not m.push.pending
            for job in list(m.push.delivered) + list(m.push.dropped):
                times = [t for t, f in m.receiver.requests if f == dict(job.fields)]
                first = times[0]
                assert times == [first + 60 * (2 ** k - 1) for k in range(len(times))]
                assert times[-1] - first <= 48 * 3600
            for job in m.push.dropped:  # every one of its 12 attempts failed
                assert job.attempts == 12 and len(job.errors) == 12
            reports = {(f["sendid"], f["mobile"]) for f in got if f["type"] == "report"}
            assert reports == {(str(s), n) for s, numbers in zip(sids, sends) for n in numbers}
            assert sorted({f["content"] for f in got if f["type"] == "mo"}) == sorted(mos)
            assert all(f["dest"] == MAIN and f["mobile"] == "13900139000"
                       for f in got if f["type"] == "mo")

    prop()


# -- FAQ-3.1.4, 3.4.1: polling ---------------------------------------------------------------

@check("FAQ-3.1.4, 3.4.1")
def polling_endpoints(ctx):
    """any MOs and HTTP sends, polled once a minute with any keepdeliver: httpdeliver.sms
    returns exactly the account's MOs not yet deleted (keepdeliver=true deletes what it
    returned), httpreport.sms and queryrptbyid.sms return one line per recipient of its own
    sends, the same lines both ways"""

    @ctx.settings(40)
    @given(rounds=st.lists(st.tuples(st.lists(sized_text(text_char, 1, 20), max_size=3),
                                     st.booleans()), min_size=1, max_size=4),
           sends=st.lists(distinct(mobiles, 1, 3), max_size=3), sub_mo=st.booleans())
    def prop(rounds, sends, sub_mo):
        with HttpModel() as m:
            if sub_mo:
                m.platform.inject_mo("13900139000", SUB, "for the sub-account")
            kept: list[str] = []
            for texts, keep in rounds:
                for text in texts:
                    m.platform.inject_mo("13900139000", MAIN, text)
                kept += texts
                a = m.poll("/httpdeliver.sms", urlencoding="off", keepdeliver="true" if keep else "false")
                assert a.code == 100, a.reason
                assert [line.split(",", 3)[3] for line in a.lines] == [t.replace("\n", " ") for t in kept]
                if keep:
                    kept = []
                m.clock.advance(60)
            sids = [int(m.send("hi", ",".join(numbers)).lines[0]) for numbers in sends]
            m.settle()
            m.clock.advance(60)
            r = m.poll("/httpreport.sms", start=m.stamp(-30), end=m.stamp(1))
            q = m.poll("/queryrptbyid.sms", ids=",".join(map(str, sids)) or "0")
            want = {(str(s), n) for s, numbers in zip(sids, sends) for n in numbers}
            assert {tuple(line.split(",")[:2]) for line in r.lines} == want
            assert sorted(r.lines) == sorted(q.lines)

    prop()


# -- FAQ-3.4.2: limits ------------------------------------------------------------------------

@check("FAQ-3.4.2")
def polling_limits(ctx):
    """polls at any gaps: answered ⇔ ≥ 60 s since the last answered poll of that endpoint
    by the enterprise (else 10004); any report window: 101 ⇔ longer than 60 min, end before
    start, or outside today and the 2 days before"""

    @ctx.settings(60)
    @given(gaps=st.lists(st.integers(0, 130), min_size=1, max_size=6),
           start=st.integers(-4 * 24 * 60, 24 * 60), length=st.integers(-5, 90),
           who=st.lists(st.booleans(), min_size=6, max_size=6))
    def prop(gaps, start, length, who):
        with HttpModel() as m:
            last = None
            for gap, sub in zip(gaps, who):
                m.clock.advance(gap)
                eid, pw = (SUB, SUB_PW) if sub else (MAIN, MAIN_PW)
                a = m.poll("/httpdeliver.sms", eid=eid, password=pw)
                now = m.clock.seconds()
                if last is None or now - last >= 60:
                    assert a.code == 100, a.reason
                    last = now
                else:
                    assert a.code == 10004, (now - last, a.code)
            m.clock.advance(60)
            wall = m.platform.china_now().replace(second=0, microsecond=0, tzinfo=None)
            s = wall + dt.timedelta(minutes=start)
            e = s + dt.timedelta(minutes=length)
            a = m.poll("/httpreport.sms", start=s.strftime("%Y%m%d%H%M"), end=e.strftime("%Y%m%d%H%M"))
            today = wall.replace(hour=0, minute=0)
            bad = (length < 0 or length > 60 or s < today - dt.timedelta(days=2)
                   or e > today + dt.timedelta(days=1))
            assert a.code == (101 if bad else 100), (start, length, a.code, a.reason)

    prop()


# -- the SDK's side against the fake -------------------------------------------------------------

class SdkHttpModel(HttpModel):
    """The fake with a digit enterprise id (the SDK's ``Account`` takes digits only) and the
    SDK's ``HttpSender`` joined to its front end in memory (treq's StubTreq)."""

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        from smsdk_harness.fake_smsc import Platform, load_config
        from smsdk_harness.fake_smsc.simclock import ReactorClock

        from .world import config_text

        self.http.close()
        self.platform.close()
        self.platform = Platform(load_config(config_text(**config).replace('id = "E1"', 'id = "00001"')),
                                 ReactorClock(self.clock))
        self.http = HttpFrontEnd(self.platform, push=self.push)
        from treq.testing import StubTreq

        from smsdk_harness.fake_smsc.http_server import HttpResource

        self.stub = StubTreq(HttpResource(self.http))

    def sender(self, **kw: Any) -> Any:
        from smsdk.http import HttpSender

        return HttpSender("http://fake.example:8000", enterprise_id="00001", account_id="",
                          password=MAIN_PW, reactor=self.clock, http=self.stub,
                          wallclock=self.platform.china_now, **kw)

    def run(self, seconds: float, step: float = 10.0) -> None:
        end = self.clock.seconds() + seconds
        self.stub.flush()
        while self.clock.seconds() < end:
            self.clock.advance(min(step, end - self.clock.seconds()))
            self.stub.flush()


@check("FAQ-3.4.2", needs="model")
def sdk_pollers_keep_the_limits(ctx):
    """SDK side: smsdk.http's report and MO pollers (any intervals ≥ their minimum) against
    the fake over hours, sends and MOs at any times: never refused 10004 or 101, every
    recipient's report and every MO arrives exactly once"""

    import warnings

    @ctx.settings(12)
    @given(gaps=st.lists(st.integers(0, 2400), min_size=1, max_size=4),
           report_interval=st.sampled_from([60.0, 600.0, 1800.0]),
           mo_interval=st.sampled_from([60.0, 300.0]), mos=st.integers(0, 3))
    def prop(gaps, report_interval, mo_interval, mos):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # StubTreq's transport
            with SdkHttpModel() as m:
                got_mo: list[Any] = []
                sender = m.sender(reports="poll", report_interval=report_interval, mo="poll",
                                  mo_interval=mo_interval, on_mo=got_mo.append)
                sender.start()
                subs = []
                for i, gap in enumerate(gaps):
                    m.run(gap)
                    subs.append(sender.send("hi", to=[f"1390013{i:04d}"]))
                    if i < mos:
                        m.platform.inject_mo("13800138000", MAIN, f"mo{i}")
                m.run(2 * report_interval + 3 * 3600)
                sender.stop()
                assert m.http.counters["refused_10004"] == 0 and m.http.counters["refused_101"] == 0, \
                    dict(m.http.counters)
                assert all(s.done for s in subs), [s.counts() for s in subs]
                assert [next(iter(s.outcomes.values())).status for s in subs] == ["DELIVRD"] * len(subs)
                assert len(sender.unmatched_reports) == 0
                assert sorted(e.text for e in got_mo) == [f"mo{i}" for i in range(min(mos, len(gaps)))]

    prop()
