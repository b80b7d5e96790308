"""Properties of the platform model (PLATFORM rules): raw SUBMITs that bypass the SDK's
planner, MOs, lists, offline queues — each example on a fresh model and simulated clock."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import assume, given
from hypothesis import strategies as st

from smsdk_harness.fake_smsc import ListConflict, MoRefused

from .registry import check
from .world import EXT, MAIN, SUB, Model, Sink


@dataclass
class RawSubmit:
    dest_terminal_id: tuple = ("13800138000",)
    msg_content: bytes = b"hi"
    msg_fmt: int = 0
    tp_udhi: int = 0
    src_id: str = ""
    service_id: str = ""
    at_time: str = ""
    registered_delivery: int = 1


def encode(text: str) -> tuple[int, bytes]:
    if text.isascii():
        return 0, text.encode("ascii")
    try:
        return 15, text.encode("gbk")
    except UnicodeEncodeError:
        return 8, text.encode("utf-16-be")


def single(text: str, to=("13800138000",), **kw) -> RawSubmit:
    fmt, content = encode(text)
    return RawSubmit(dest_terminal_id=tuple(to), msg_content=content, msg_fmt=fmt, **kw)


# -- strategies ---------------------------------------------------------------------------

mobiles = st.builds(lambda p, r: p + f"{r:08d}", st.sampled_from(["138", "139", "150", "188", "147"]),
                    st.integers(0, 99_999_999))
unicoms = st.builds(lambda p, r: p + f"{r:08d}", st.sampled_from(["130", "131", "186"]), st.integers(0, 99_999_999))
telecoms = st.builds(lambda p, r: p + f"{r:08d}", st.sampled_from(["133", "189", "199"]), st.integers(0, 99_999_999))
phs = st.builds(lambda a, r: a + f"{r:08d}", st.sampled_from(["021", "010", "0755"]), st.integers(0, 99_999_999))
invalid = st.sampled_from(["12345", "", "1380013800", "23800138000", "abc"])
# BMP characters that are not surrogates: one UCS2 unit each, countable without ambiguity
bmp_char = st.characters(min_codepoint=0x20, max_codepoint=0xFFFD,
                         blacklist_categories=("Cs", "Cc"))
cjk = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
signatures = st.builds(lambda s: "【" + s + "】", st.text(cjk, min_size=1, max_size=8))


def sized_text(alphabet, lo: int, hi: int, boundaries: tuple[int, ...] = ()):
    """Text whose length is drawn uniformly from [lo, hi] (plus the given boundary lengths):
    plain ``st.text`` rarely produces long texts, and the rules live at 60, 67, 70 …"""
    lengths = st.integers(lo, hi)
    if boundaries:
        lengths = st.one_of(lengths, st.sampled_from([b for b in boundaries if lo <= b <= hi]))
    return lengths.flatmap(lambda n: st.text(alphabet, min_size=n, max_size=n))


def distinct(strategy, lo: int, hi: int):
    return st.lists(strategy, min_size=lo, max_size=hi, unique=True)


# -- FAQ-2.5.1 / 2.5.2 --------------------------------------------------------------------

near_carry = st.one_of(st.integers(0, 0xFFFF), st.integers(0xF8, 0x104),
                       st.sampled_from([0x1FF, 0x2FE, 0xFEFF, 0xFFFB, 0xFFFC, 0xFFFD, 0xFFFE, 0xFFFF]))


@check("FAQ-2.5.1")
def msgid_layout(ctx):
    """any group 1..5, any sequence near a carry: ids are 10 bytes, 8–9 zero, consecutive with carry"""

    @ctx.settings(80)
    @given(numbers=distinct(mobiles, 1, 5), seq=near_carry)
    def prop(numbers, seq):
        with Model() as m:
            m.platform.msgids.sequence = seq
            out = m.platform.submit(MAIN, single("hi", numbers))
            assert out.result == 0, out.reason
            raws = [bytes(mid.raw) for mid in out.msg_ids]
            assert all(len(r) == 10 and r[8:] == b"\0\0" for r in raws), [r.hex() for r in raws]
            base = int.from_bytes(bytes(out.msg_id.raw)[:8], "big")
            assert raws[0] == bytes(out.msg_id.raw)
            assert [int.from_bytes(r[:8], "big") for r in raws] == [base + i for i in range(len(numbers))]

    prop()


@check("FAQ-2.5.2")
def report_ids(ctx):
    """any group 1..5, any base near a carry, reports in any order: number i's report carries M+i"""

    @ctx.settings(80)
    @given(numbers=distinct(mobiles, 1, 5), seq=near_carry,
           delays=st.lists(st.floats(0.0, 30.0), min_size=5, max_size=5), twice=st.booleans())
    def prop(numbers, seq, delays, twice):
        with Model() as m:
            sink = Sink()
            assert m.platform.bind(MAIN, sink).ok
            for n, d in zip(numbers, delays):
                m.platform.network.set_outcome(n, "DELIVRD", delay=d)
            m.platform.msgids.sequence = seq
            outs = [m.platform.submit(MAIN, single("hi", numbers)) for _ in range(2 if twice else 1)]
            m.settle(40)
            got = {(bytes(r.msg_id.raw)[:8], r.dest_terminal_id) for r in sink.reports}
            want = set()
            for out in outs:
                assert out.result == 0, out.reason
                base = int.from_bytes(bytes(out.msg_id.raw)[:8], "big")
                want |= {((base + i).to_bytes(8, "big"), n) for i, n in enumerate(numbers)}
            assert got == want, (sorted(got), sorted(want))

    prop()


# -- lengths and splitting (FAQ-2.1.5, 2.1.6, 2.5.3, 2.5.4, 2.5.5) -------------------------

@check("FAQ-2.5.4")
def single_split(ctx):
    """raw single SUBMIT of 1..70 chars, any signature: ≤60 → 1 SMS, 61–70 → text[:60]+sig, text[60:]+sig"""

    @ctx.settings(100)
    @given(text=sized_text(bmp_char, 1, 70, (59, 60, 61, 69, 70)), sig=signatures)
    def prop(text, sig):
        assume(len(text.encode("utf-16-be")) <= 140)
        with Model(signature=sig) as m:
            out = m.platform.submit(MAIN, single(text))
            assert out.result == 0, out.reason
            m.settle()
            h = m.platform.handset("13800138000")
            if len(text) <= 60:
                assert h.texts == [text + sig] and h.billing == 1, h.texts
            else:
                assert h.texts == [text[:60] + sig, text[60:] + sig] and h.billing == 2, h.texts

    prop()


@check("FAQ-2.5.5")
def single_too_long(ctx):
    """raw single SUBMIT over 70 chars (≤140 bytes) → Result 6, nothing delivered"""

    @ctx.settings(80)
    @given(text=st.one_of(sized_text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), 71, 140),
                          sized_text(cjk, 71, 70 + 1)))
    def prop(text):
        with Model() as m:
            out = m.platform.submit(MAIN, single(text))
            assert out.result == 6, (out.result, out.reason)
            m.settle()
            assert m.platform.handset("13800138000").texts == []

    prop()


@check("FAQ-2.1.5")
def length_limits(ctx):
    """forced signature: ≤70 chars in any script, 71+ refused; no signature: ≤140 ASCII / ≤70 Chinese"""

    ascii_text = sized_text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), 1, 140, (70, 71, 140))

    @ctx.settings(100)
    @given(text=st.one_of(ascii_text, sized_text(cjk, 1, 70, (70,))), signed=st.booleans())
    def prop(text, signed):
        with Model(signature="【示例科技】" if signed else "") as m:
            out = m.platform.submit(MAIN, single(text))
            limit = 70 if (signed or not text.isascii()) else 140
            assert (out.result == 0) == (len(text) <= limit), (len(text), signed, out.result, out.reason)
            if out.result:
                assert out.result == 6

    prop()


def udh_parts(text: str, size: int, ref: int, udh16: bool):
    chunks = [text[i:i + size] for i in range(0, len(text), size)]
    total = len(chunks)
    for k, chunk in enumerate(chunks, 1):
        udh = bytes((6, 8, 4, ref >> 8, ref & 0xFF, total, k)) if udh16 else bytes((5, 0, 3, ref & 0xFF, total, k))
        yield RawSubmit(msg_content=udh + chunk.encode("utf-16-be"), msg_fmt=8, tp_udhi=1)


@check("FAQ-2.5.3")
def concat_tail_cut(ctx):
    """raw UDH parts (both UDH forms, any text, any signature): one message, signature after the
    last part, the last part cut to make room; cut_tail is exactly what was lost"""

    @ctx.settings(80)
    @given(text=sized_text(bmp_char, 2, 400, (66, 67, 68, 133, 134)), sig=signatures, udh16=st.booleans(),
           ref=st.integers(0, 255), data=st.data())
    def prop(text, sig, udh16, ref, data):
        cap = 66 if udh16 else 67
        size = data.draw(st.integers(max(1, -(-len(text) // 255)), cap), label="part_chars")
        # up to 255 parts at once: the rate limit (FAQ-2.2.3) is not what this checks
        with Model(signature=sig, enterprise="rate = 10000\nburst = 10000") as m:
            for pdu in udh_parts(text, size, ref, udh16):
                assert m.platform.submit(MAIN, pdu).result == 0
            m.settle()
            msgs = m.platform.handset("13800138000").messages
            assert len(msgs) == 1, [x.text for x in msgs]
            last = len(text) - (len(text) - 1) // size * size
            lost = max(0, last + len(sig) - cap)
            kept = text[: len(text) - lost]
            assert msgs[0].text == kept + sig, (msgs[0].text, kept + sig)
            assert msgs[0].cut_tail == text[len(kept):]
            assert msgs[0].kind == "concat"

    prop()


# -- FAQ-2.2.6 / 2.5.6: encodings --------------------------------------------------------

@check("FAQ-2.2.6, 2.5.6")
def encodings(ctx):
    """raw single SUBMIT ≤60 chars in every Msg_Fmt that can hold it (0, 8, 15): the handset shows
    exactly the text + signature (astral characters in UCS2 too)"""

    @ctx.settings(100)
    @given(text=sized_text(st.characters(blacklist_categories=("Cs", "Cc")), 1, 60, (60,)))
    def prop(text):
        units = len(text.encode("utf-16-be")) // 2
        assume(units <= 60)
        forms = [(8, text.encode("utf-16-be"))]
        if text.isascii():
            forms.append((0, text.encode("ascii")))
        try:
            forms.append((15, text.encode("gbk")))
        except UnicodeEncodeError:
            pass
        for fmt, content in forms:
            if len(content) > 140:
                continue
            with Model() as m:
                out = m.platform.submit(MAIN, RawSubmit(msg_content=content, msg_fmt=fmt))
                assert out.result == 0, (fmt, out.reason)
                m.settle()
                assert m.platform.handset("13800138000").texts == [text + "【示例科技】"], fmt

    prop()


# -- FAQ-2.2.5: group limit ---------------------------------------------------------------

@check("FAQ-2.2.5")
def group_limit(ctx):
    """any enterprise limit 1..5 and 1..12 numbers: Result 15 iff more numbers than the limit"""

    @ctx.settings(80)
    @given(limit=st.integers(1, 5), numbers=distinct(mobiles, 1, 12))
    def prop(limit, numbers):
        with Model(enterprise=f"group_send_limit = {limit}") as m:
            out = m.platform.submit(MAIN, single("hi", numbers))
            assert (out.result == 15) == (len(numbers) > limit), (limit, len(numbers), out.result)
            assert out.result in (0, 15)

    prop()


# -- FAQ-2.1.9: PHS / invalid ------------------------------------------------------------

@check("FAQ-2.1.9")
def phs_packet(ctx):
    """any packet ≤5 with a PHS (or invalid) number among valid ones: Result 13, nobody receives"""

    @ctx.settings(80)
    @given(good=distinct(mobiles, 0, 4), bad=st.one_of(phs, invalid), pos=st.integers(0, 4))
    def prop(good, bad, pos):
        numbers = list(good)
        numbers.insert(min(pos, len(numbers)), bad)
        with Model() as m:
            out = m.platform.submit(MAIN, single("hi", numbers))
            assert out.result == 13, (numbers, out.result, out.reason)
            m.settle()
            assert all(m.platform.handset(n).texts == [] for n in good)

    prop()


# -- FAQ-2.2.3: rate ---------------------------------------------------------------------

@check("FAQ-2.2.3")
def rate_bucket(ctx):
    """any account rate and SUBMIT schedule: accepted exactly as a token bucket (rate/s, burst = rate,
    starting full, 1 token per recipient, a refusal takes none) says; refused only with 10004;
    accepted SMS in [0, t] ≤ rate·t + burst"""

    @ctx.settings(60)
    @given(rate=st.integers(1, 20),
           plan=st.lists(st.tuples(st.integers(0, 8).map(lambda k: k / 8), st.integers(1, 5)),
                         min_size=1, max_size=40))
    def prop(rate, plan):
        with Model(enterprise=f"rate = {rate}\nburst = {rate}") as m:
            t0 = m.clock.seconds()
            accepted = 0
            tokens = float(rate)
            for i, (gap, n) in enumerate(plan):
                m.clock.advance(gap)
                tokens = min(float(rate), tokens + rate * gap)
                out = m.platform.submit(MAIN, single("hi", [f"1380000{i:02d}{k:02d}" for k in range(n)]))
                assert out.result in (0, 10004), out.reason
                want = 0 if tokens >= n else 10004
                assert out.result == want, (i, rate, tokens, n, out.result, out.reason)
                if out.result == 0:
                    tokens -= n
                    accepted += n
                elapsed = m.clock.seconds() - t0
                assert accepted <= rate * elapsed + rate + 1e-6, (accepted, elapsed, rate)

    prop()


# -- FAQ-2.1.7: lists --------------------------------------------------------------------

membership = st.sampled_from(["", "EB", "EW", "PB", "EB+PB", "EW+PB"])


@check("FAQ-2.1.7")
def list_policy(ctx):
    """any assignment of numbers to EB/EW/PB, either policy: DELIVRD or DTBLACK exactly per the
    policy table; adding a number of EB to EW (or back) is refused and EB ∩ EW stays empty"""

    @ctx.settings(80)
    @given(assign=st.dictionaries(mobiles, membership, min_size=1, max_size=5),
           policy=st.sampled_from(["blacklist", "whitelist"]), crossing=st.booleans())
    def prop(assign, policy, crossing):
        with Model() as m:
            p = m.platform
            p.set_switches("E1", list_policy=policy)
            for n, kinds in assign.items():
                for kind in filter(None, kinds.split("+")):
                    p.list_add(kind, n, enterprise_id=None if kind == "PB" else "E1")
                if crossing and ("EB" in kinds or "EW" in kinds):
                    other = "EW" if "EB" in kinds else "EB"
                    try:
                        p.list_add(other, n, enterprise_id="E1")
                    except ListConflict:
                        pass
                    else:
                        raise AssertionError(f"{n} added to both EB and EW")
            eb, ew = set(p.list_get("EB", "E1")), set(p.list_get("EW", "E1"))
            assert not eb & ew, eb & ew
            sink = Sink()
            p.bind(MAIN, sink)
            out = p.submit(MAIN, single("hi", list(assign)))
            assert out.result == 0, out.reason
            m.settle()
            stats = {r.dest_terminal_id: r.stat for r in sink.reports}
            for n, kinds in assign.items():
                k = set(filter(None, kinds.split("+")))
                if policy == "blacklist":
                    send = "EB" not in k and ("PB" not in k or "EW" in k)
                else:
                    send = "EW" in k and "PB" not in k
                assert stats.get(n) == ("DELIVRD" if send else "DTBLACK"), (n, kinds, policy, stats.get(n))
                assert bool(p.handset(n).texts) == send

    prop()


# -- FAQ-2.1.8 / 2.2.2: Unicom and Telecom -------------------------------------------------

@check("FAQ-2.1.8, 2.2.2")
def other_carriers(ctx):
    """any Unicom/Telecom/Mobile numbers and switches: UNSURPT without the carrier's service,
    else DELIVRD (China Mobile numbers unaffected)"""

    @ctx.settings(80)
    @given(numbers=st.lists(st.one_of(mobiles, unicoms, telecoms), min_size=1, max_size=5, unique=True),
           unicom=st.booleans(), telecom=st.booleans())
    def prop(numbers, unicom, telecom):
        from smsdk.numbers import Carrier, carrier

        with Model() as m:
            m.platform.set_switches("E1", unicom=unicom, telecom=telecom)
            sink = Sink()
            m.platform.bind(MAIN, sink)
            assert m.platform.submit(MAIN, single("hi", numbers)).result == 0
            m.settle()
            stats = {r.dest_terminal_id: r.stat for r in sink.reports}
            for n in numbers:
                c = carrier(n)
                ok = {Carrier.UNICOM: unicom, Carrier.TELECOM: telecom}.get(c, True)
                assert stats.get(n) == ("DELIVRD" if ok else "UNSURPT"), (n, c, stats.get(n))

    prop()


# -- FAQ-2.2.1: report statuses -----------------------------------------------------------

outcomes = st.sampled_from(["DELIVRD", "UNDELIV", "REJECTD", "never"]) | \
    st.integers(0, 9999).map(lambda c: f"CA:{c:04d}")


@check("FAQ-2.2.1")
def report_statuses(ctx):
    """any network outcome per number: the report says it (7 chars); no answer → EXPIRED exactly
    48 h after sending; a source-blacklisted Src_Id → EPBLACK for every number"""

    @ctx.settings(60)
    @given(plan=st.dictionaries(mobiles, outcomes, min_size=1, max_size=5), sb=st.booleans())
    def prop(plan, sb):
        with Model() as m:
            p = m.platform
            if sb:
                p.list_add("SB", MAIN + EXT)
            for n, o in plan.items():
                p.network.set_outcome(n, o, delay=1.0)
            sink = Sink()
            p.bind(MAIN, sink)
            t0 = m.clock.seconds()
            assert p.submit(MAIN, single("hi", list(plan), src_id=MAIN + EXT)).result == 0
            m.settle(10)
            early = {r.dest_terminal_id: r.stat for r in sink.reports}
            m.clock.advance_to(t0 + 48 * 3600 - 1)
            assert {r.dest_terminal_id for r in sink.reports} == set(early)
            m.clock.advance_to(t0 + 48 * 3600 + 1)
            stats = {r.dest_terminal_id: r.stat for r in sink.reports}
            for n, o in plan.items():
                want = "EPBLACK" if sb else ("EXPIRED" if o == "never" else o)
                assert stats.get(n) == want, (n, o, stats.get(n))
                assert len(stats[n]) == 7

    prop()


# -- FAQ-2.5.7 / 2.5.8 -------------------------------------------------------------------

@check("FAQ-2.5.7")
def service_id(ctx):
    """any Service_Id, strict on/off: off → ignored; on → Result 7 unless QSH0010500/QSH0010501"""

    @ctx.settings(80)
    @given(sid=st.one_of(st.sampled_from(["QSH0010500", "QSH0010501", "000000000", ""]),
                         st.text(st.characters(min_codepoint=0x30, max_codepoint=0x5A), max_size=10)),
           strict=st.booleans())
    def prop(sid, strict):
        with Model(platform="strict_service_id = true" if strict else "") as m:
            out = m.platform.submit(MAIN, single("hi", service_id=sid))
            ok = (not strict) or sid in ("QSH0010500", "QSH0010501")
            assert (out.result == 0) == ok and out.result in (0, 7), (sid, strict, out.result, out.reason)

    prop()


@check("FAQ-2.5.8")
def src_id(ctx):
    """any Src_Id: accepted iff empty, the account's number or a registered extension (≤18 digits); else 10"""

    @ctx.settings(100)
    @given(src=st.one_of(
        st.sampled_from(["", MAIN, MAIN + EXT, "10657109000002", "106571090000", "1065710900000188x"]),
        st.integers(0, 10**7).map(lambda k: MAIN + "5" + str(k)),
        st.text(st.characters(min_codepoint=0x30, max_codepoint=0x39), min_size=1, max_size=20)))
    def prop(src):
        with Model() as m:
            out = m.platform.submit(MAIN, single("hi", src_id=src))
            ok = src in ("", MAIN, MAIN + EXT)
            assert (out.result == 0) == ok and out.result in (0, 10), (src, out.result, out.reason)

    prop()


# -- FAQ-2.1.4 ---------------------------------------------------------------------------

@check("FAQ-2.1.4")
def success_means_accepted(ctx):
    """any SUBMIT (valid or not): Result 0 ⇔ the platform recorded it accepted with a non-zero Msg_Id and
    its recipients get reports (EMPP path)"""

    @ctx.settings(80)
    @given(numbers=st.lists(st.one_of(mobiles, phs, invalid), min_size=1, max_size=7),
           text=sized_text(bmp_char, 0, 80, (0, 70, 71)))
    def prop(numbers, text):
        with Model() as m:
            sink = Sink()
            m.platform.bind(MAIN, sink)
            out = m.platform.submit(MAIN, RawSubmit(dest_terminal_id=tuple(numbers),
                                                   msg_content=text.encode("utf-16-be"), msg_fmt=8))
            m.settle()
            if out.result == 0:
                assert out.record is not None
                assert any(bytes(out.msg_id.raw)) and out.record.result == 0
                assert len(sink.reports) == len(numbers)
            else:
                assert not any(bytes(out.msg_id.raw)) and sink.reports == []

    prop()


# -- FAQ-3.1.5 / 3.5.1: offline -----------------------------------------------------------

H48 = 48 * 3600
ages = st.one_of(st.integers(0, 100 * 3600), st.sampled_from([H48 - 1, H48, H48 + 1]))


@check("FAQ-3.1.5, 3.5.1")
def offline_48h(ctx):
    """MOs and reports arriving while the EMPP account is away, at any ages at the next login:
    delivered in order iff ≤ 48 h old; HTTP submissions' reports are never kept offline"""

    @ctx.settings(50)
    @given(mo_ages=st.lists(ages, max_size=4), rep_ages=st.lists(ages, max_size=4), http=st.booleans())
    def prop(mo_ages, rep_ages, http):
        with Model() as m:
            p = m.platform
            first = Sink()
            p.bind(MAIN, first)
            login = m.clock.seconds() + max(mo_ages + rep_ages + [0]) + 10
            numbers = [f"1390013{i:04d}" for i in range(len(rep_ages))]
            for n, a in zip(numbers, rep_ages):
                p.network.set_outcome(n, "DELIVRD", delay=login - a - m.clock.seconds())
                assert p.submit(MAIN, single("hi", [n])).result == 0
            if http:
                p.network.set_outcome("13700137000", "DELIVRD", delay=1)
                p.submit(MAIN, single("hi", ["13700137000"]), via="http")
            p.unbind(MAIN, first)
            events = sorted((login - a, i) for i, a in enumerate(mo_ages))
            for t, i in events:
                m.clock.advance_to(t)
                p.inject_mo("13800138000", MAIN, f"mo{i}")
            m.clock.advance_to(login)
            second = Sink()
            assert p.bind(MAIN, second).ok
            got_mo = [i.text for i in second.mos]
            want_mo = [f"mo{i}" for t, i in events if login - t <= H48]
            assert got_mo == want_mo, (got_mo, want_mo)
            got_rep = sorted(r.dest_terminal_id for r in second.reports)
            want_rep = sorted(n for n, a in zip(numbers, rep_ages) if a <= H48)
            assert got_rep == want_rep, (got_rep, want_rep)
            assert first.items == []

    prop()


# -- FAQ-3.1.6 ---------------------------------------------------------------------------

@check("FAQ-3.1.6")
def unicom_no_mo(ctx):
    """any Unicom sender is refused (MoRefused); any China Mobile sender's MO reaches the account"""

    @ctx.settings(80)
    @given(sender=st.one_of(mobiles, unicoms))
    def prop(sender):
        from smsdk.numbers import Carrier, carrier

        with Model() as m:
            sink = Sink()
            m.platform.bind(MAIN, sink)
            try:
                m.platform.inject_mo(sender, MAIN, "hello")
            except MoRefused:
                refused = True
            else:
                refused = False
            m.settle()
            assert refused == (carrier(sender) is Carrier.UNICOM), (sender, refused)
            assert len(sink.mos) == (0 if refused else 1)

    prop()


# -- FAQ-3.5.2: routing ------------------------------------------------------------------

@check("FAQ-3.5.2")
def routing(ctx):
    """MO to any number under the service code and reports of the sub-account, any login states:
    longest prefix account if online, else main if online, else offline for it"""

    @ctx.settings(80)
    @given(main_on=st.booleans(), sub_on=st.booleans(), to_sub=st.booleans(),
           suffix=st.text(st.characters(min_codepoint=0x30, max_codepoint=0x39), max_size=3))
    def prop(main_on, sub_on, to_sub, suffix):
        with Model() as m:
            p = m.platform
            sm, ss = Sink(), Sink()
            p.bind(SUB, ss)
            p.network.set_outcome("13800138000", "DELIVRD", delay=5)
            assert p.submit(SUB, single("hi")).result == 0
            if not sub_on:
                p.unbind(SUB, ss)
            if main_on:
                p.bind(MAIN, sm)
            dest = (SUB + suffix) if to_sub else (MAIN + "7" + suffix)
            p.inject_mo("13900139000", dest, "mo")
            m.settle(10)
            owner = SUB if to_sub else MAIN
            if owner == SUB and sub_on:
                where = "sub"
            elif main_on:
                where = "main"
            else:
                where = "offline"
            mo_in = "sub" if ss.mos else "main" if sm.mos else \
                "offline" if any(i.kind == "mo" for i in p.offline(owner)) else "nowhere"
            assert mo_in == where, (dest, main_on, sub_on, mo_in, where)
            rep_where = "sub" if sub_on else "main" if main_on else "offline"
            rep_in = "sub" if ss.reports else "main" if sm.reports else \
                "offline" if any(i.kind == "report" for i in p.offline(SUB)) else "nowhere"
            assert rep_in == rep_where, (main_on, sub_on, rep_in, rep_where)

    prop()


# -- FAQ-3.2.2 / 4.1.2: retention --------------------------------------------------------

@check("FAQ-3.2.2, 4.1.2")
def retention(ctx):
    """records and MOs of any age: kept while younger than 7 days, gone after purge once older"""

    @ctx.settings(50)
    @given(age=st.one_of(st.integers(0, 14 * 86400), st.sampled_from([7 * 86400 - 60, 7 * 86400 + 120])))
    def prop(age):
        with Model() as m:
            p = m.platform
            p.bind(MAIN, Sink())
            assert p.submit(MAIN, single("hi")).result == 0
            p.inject_mo("13900139000", MAIN, "mo")
            m.settle(2)
            m.clock.advance(age)
            p.purge()
            kept = age + 2 < 7 * 86400
            assert bool(p.submissions(MAIN)) == kept, (age, len(p.submissions(MAIN)))
            assert bool(p.mos(MAIN)) == kept, (age, len(p.mos(MAIN)))

    prop()


# -- FAQ-5.1.x: management ---------------------------------------------------------------

@check("FAQ-5.1.1")
def sub_account_cap(ctx):
    """adding any number of sub-accounts: refused exactly once the package cap (standard 20,
    the main account not counted) is reached"""

    @ctx.settings(20)
    @given(k=st.integers(1, 25))
    def prop(k):
        from smsdk_harness.fake_smsc import ManagementError

        with Model(enterprise="max_extensions = 200") as m:
            p = m.platform
            subs = sum(1 for a in p.accounts() if not a.is_main)
            ok = 0
            for i in range(k):
                try:
                    p.add_account("E1", f"{50 + i}", "pw")
                    ok += 1
                except ManagementError:
                    pass
            assert subs + ok == min(20, subs + k), (subs, ok, k)

    prop()


@check("FAQ-5.1.3")
def extension_cap(ctx):
    """registering any number of extensions by hand (any cap): refused exactly once the codes,
    the service code and the existing ones included, reach max_extensions"""

    @ctx.settings(20)
    @given(cap=st.integers(3, 25), k=st.integers(1, 30))
    def prop(cap, k):
        from smsdk_harness.fake_smsc import ManagementError

        with Model(enterprise=f"max_extensions = {cap}") as m:
            used = 3  # the service code, the hand-registered 88, the sub-account's 01
            ok = 0
            for i in range(k):
                try:
                    m.platform.register_extension("E1", MAIN + f"{700 + i}")
                    ok += 1
                except ManagementError:
                    pass
            assert ok == min(k, cap - used), (cap, k, ok)

    prop()


@check("FAQ-5.1.4")
def extension_ownership(ctx):
    """any extension code: a hand-registered one blocks a sub-account with it; a sub-account's own
    extension cannot be unregistered by hand and goes with the account"""

    @ctx.settings(20)
    @given(code=st.integers(20, 99).map(str).filter(lambda c: c != EXT), hand_first=st.booleans())
    def prop(code, hand_first):
        from smsdk_harness.fake_smsc import ManagementError

        with Model() as m:
            p = m.platform
            if hand_first:
                p.register_extension("E1", MAIN + code)
                try:
                    p.add_account("E1", code, "pw")
                except ManagementError:
                    pass
                else:
                    raise AssertionError(f"sub-account created on the hand-registered code {code}")
            else:
                p.add_account("E1", code, "pw")
                try:
                    p.unregister_extension("E1", MAIN + code)
                except ManagementError:
                    pass
                else:
                    raise AssertionError(f"the sub-account's extension {code} was deleted by hand")
                p.remove_account(MAIN + code)
                p.register_extension("E1", MAIN + code)  # free again once the account is gone

    prop()


# -- refusals over the wire: these also run against any EMPP endpoint (--target) -----------
# Each SUBMIT below must be refused by a conforming platform, so nothing is ever sent to a
# handset (the numbers are in a reserved-looking range all the same).

def _wire_submit(link, text, numbers):
    from smsdk import codec

    fmt, content = encode(text)
    return link.request(codec.Submit(dest_terminal_id=tuple(numbers), msg_content=content,
                                     msg_fmt=fmt, src_id=link.account, registered_delivery=1))


@check("FAQ-2.5.5", needs="empp")
def wire_too_long(ctx):
    """over EMPP: a single SUBMIT of 71–140 ASCII / 71 Chinese chars gets SUBMIT_RESP Result 6"""
    from .empp_link import open_link

    @ctx.settings(20)
    @given(text=st.one_of(sized_text(st.characters(min_codepoint=0x41, max_codepoint=0x5A), 71, 140),
                          sized_text(cjk, 71, 70 + 1)))
    def prop(text):
        link, close = open_link(ctx)
        try:
            resp = _wire_submit(link, text, ["13800000000"])
            assert resp.result == 6, resp
        finally:
            close()

    prop()


@check("FAQ-2.2.5", needs="empp")
def wire_group(ctx):
    """over EMPP: a SUBMIT to 6..10 numbers (limit 5) gets SUBMIT_RESP Result 15"""
    from .empp_link import open_link

    @ctx.settings(20)
    @given(n=st.integers(6, 10))
    def prop(n):
        link, close = open_link(ctx)
        try:
            resp = _wire_submit(link, "hi", [f"138000000{i:02d}" for i in range(n)])
            assert resp.result == 15, resp
        finally:
            close()

    prop()


@check("FAQ-2.1.9", needs="empp")
def wire_phs(ctx):
    """over EMPP: a SUBMIT with a PHS number among mobiles gets SUBMIT_RESP Result 13"""
    from .empp_link import open_link

    @ctx.settings(20)
    @given(bad=phs, k=st.integers(0, 3))
    def prop(bad, k):
        link, close = open_link(ctx)
        try:
            resp = _wire_submit(link, "hi", [f"1380000000{i}" for i in range(k)] + [bad])
            assert resp.result == 13, resp
        finally:
            close()

    prop()


@check("FAQ-5.1.2, 5.2.5, 5.2.6")
def contact_caps(ctx):
    """sub-accounts with any personal-book caps (standard package: 2 000 contacts): an account whose
    cap would push the sum over the package is refused; public book = package − sum of caps (the
    platform model; the SDK's own books: checks_books.sdk_book_caps)"""

    @ctx.settings(40)
    @given(caps=st.lists(st.integers(0, 900), min_size=1, max_size=6))
    def prop(caps):
        from smsdk_harness.fake_smsc import ManagementError

        with Model() as m:
            p = m.platform
            total = 2000 - p.public_contacts("E1")  # caps of the configured accounts
            for i, cap in enumerate(caps):
                try:
                    p.add_account("E1", f"{30 + i}", "pw", contacts=cap)
                    ok = True
                except ManagementError:
                    ok = False
                assert ok == (total + cap <= 2000), (total, cap, ok)
                if ok:
                    total += cap
                assert p.public_contacts("E1") == 2000 - total >= 0

    prop()
