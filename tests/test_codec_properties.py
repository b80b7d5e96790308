"""Property tests: round trips, the compiled codec against its twin, hostile input, chunking.

The differential tests use both modules whatever SMSDK_NO_EXTENSIONS says (fixture
``codec_twins``); the others run against the implementation in use.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdk import codec
from smsdk.errors import FieldValueError, ProtocolError

from codec_strategies import (
    CLASSES,
    CMPP2,
    DIALECTS,
    EMPP,
    U32,
    Liar,
    MyInt,
    MyStr,
    as_data,
    build,
    build_call,
    ctor_calls,
    damaged_packets,
    dialect_and_pdu,
    error_data,
    pdu,
    pdus,
    subclass,
    typed_data,
)


def outcome(fn, *args):
    """('ok', value) or ('error', what must agree) for a call."""
    try:
        return ("ok", as_data(fn(*args)))
    except ProtocolError as e:
        return ("error", error_data(e))


# ---------------------------------------------------------------------------------------
# Both modules export the same API


def test_twins_export_the_same_names_and_fields(codec_twins):
    compiled, twin = codec_twins
    assert compiled.__all__ == twin.__all__
    for name in compiled.__all__:
        a, b = getattr(compiled, name), getattr(twin, name)
        if isinstance(a, type) and hasattr(a, "_fields"):
            assert a._fields == b._fields and a._defaults == b._defaults, name
            assert getattr(a, "command_id", None) == getattr(b, "command_id", None), name
            assert a.__doc__ == b.__doc__
        elif name == "PDU_CLASSES":
            assert [c.__name__ for c in a] == [c.__name__ for c in b]
        elif not callable(a):
            assert a == b, name
    assert set(codec.__all__) >= set(compiled.__all__) | {"Dialect", "COMPILED"}


# ---------------------------------------------------------------------------------------
# Round trips


@given(dialect_and_pdu(), U32)
def test_round_trip(dp, seq):
    d, spec = dp
    pdu = build(codec, spec)
    pkt = codec.encode(pdu, seq, d)
    assert struct.unpack(">I", pkt[:4])[0] == len(pkt)
    assert codec.decode(pkt, d) == (seq, pdu)
    assert codec.FrameDecoder(d).feed(pkt) == [(seq, pdu)]


@given(dialect_and_pdu())
def test_replace_with_own_values_is_equal(dp):
    _d, spec = dp
    pdu = build(codec, spec)
    assert pdu.replace() == pdu and hash(pdu.replace()) == hash(pdu)
    assert eval(repr(pdu), vars(codec)) == pdu


# ---------------------------------------------------------------------------------------
# Compiled against twin


@given(dialect_and_pdu(), U32)
def test_differential_encode_decode(codec_twins, dp, seq):
    compiled, twin = codec_twins
    d, spec = dp
    a, b = build(compiled, spec), build(twin, spec)
    assert repr(a) == repr(b)
    pa, pb = compiled.encode(a, seq, d), twin.encode(b, seq, d)
    assert pa == pb
    assert as_data(compiled.decode(pa, d)) == as_data(twin.decode(pb, d)) == (seq, as_data(a))


@given(st.sampled_from(DIALECTS), st.data())
def test_differential_damaged_packets(codec_twins, d, data):
    compiled, twin = codec_twins
    pkt = data.draw(damaged_packets(d, twin))
    assert outcome(compiled.decode, pkt, d) == outcome(twin.decode, pkt, d)
    fa, fb = compiled.FrameDecoder(d), twin.FrameDecoder(d)
    assert outcome(fa.feed, pkt) == outcome(fb.feed, pkt)
    assert fa.buffered == fb.buffered


@given(st.sampled_from(DIALECTS), st.binary(max_size=400))
def test_differential_random_bytes(codec_twins, d, blob):
    compiled, twin = codec_twins
    assert outcome(compiled.decode, blob, d) == outcome(twin.decode, blob, d)
    fa, fb = compiled.FrameDecoder(d, max_length=300), twin.FrameDecoder(d, max_length=300)
    for _ in range(3):  # keep going after body errors, like a caller would
        ra, rb = outcome(fa.feed, blob), outcome(fb.feed, blob)
        assert ra == rb and fa.buffered == fb.buffered


def construct(module, make, how: str):
    """What a constructor call gives, for comparing the twins: the value (with the exact
    types of what it stored) or the exception, and how the object looks afterwards.

    make(module) gives (class name, args, kwargs).  how: "call" is ``Cls(...)`` (the
    compiled leaf classes' own tp_init), "init" is ``obj.__init__(...)`` on
    ``Cls.__new__(Cls)`` (the ``def __init__``), "subclass" is ``Cls(...)`` for a plain
    Python subclass (the general path)."""
    name, args, kwargs = make(module)
    cls = subclass(module, name) if how == "subclass" else getattr(module, name)
    obj = cls.__new__(cls) if how == "init" else None
    try:
        if obj is None:
            obj = cls(*args, **kwargs)
        else:
            obj.__init__(*args, **kwargs)
    except Exception as e:
        after = repr(obj) if obj is not None else None  # a refused __init__ stores nothing
        return ("error", type(e).__name__, str(e), after)
    try:
        obj.__init__(*args, **kwargs)  # __init__ runs once, whatever the arguments
    except TypeError as e:
        again = str(e)
    else:
        again = None
    return ("ok", typed_data(obj), repr(obj), again, hash(obj) == hash(obj.replace()))


def assert_constructs_alike(codec_twins, make):
    compiled, twin = codec_twins
    for how in ("call", "init", "subclass"):
        got = construct(compiled, make, how)
        assert got == construct(twin, make, how), how
        if got[0] == "error":
            assert got[3] is None or got[3].startswith("<uninitialised ")


@given(ctor_calls())
def test_differential_constructor(codec_twins, call):
    """Every way of constructing, right or wrong, gives the same value or the same error."""
    assert_constructs_alike(codec_twins, lambda m: (call[0], *build_call(m, call)))


_NUMBER = "13800138000"
CTOR_CASES = {
    "too many positional": lambda m: ("SubmitResp", (b"", 0, 1), {}),
    "too many positional and a bad keyword": lambda m: ("SubmitResp", (b"", 0, 1), {"bogus": 1}),
    "not a field, then a bad value": lambda m: ("SubmitResp", (), {"bogus": 1, "result": "x"}),
    "bad value, then not a field": lambda m: ("SubmitResp", (), {"result": "x", "bogus": 1}),
    "keyword repeats a positional": lambda m: ("SubmitResp", (b"",), {"result": 0, "msg_id": b""}),
    "two bad values": lambda m: ("SubmitResp", ("x",), {"result": "y"}),
    "no fields, one given": lambda m: ("ActiveTest", (0,), {}),
    "no fields, keyword": lambda m: ("ActiveTest", (), {"reserved": 0}),
    "str subclass keyword": lambda m: ("SubmitResp", (), {MyStr("result"): 2}),
    "str subclass keyword, not a field": lambda m: ("SubmitResp", (), {MyStr("bogus"): 2}),
    "bool": lambda m: ("SubmitResp", (b"", True), {}),
    "IntEnum": lambda m: ("Unauthorization", (m.CommandId.SUBMIT,), {}),
    "int subclass": lambda m: ("StatusReport", (), {"smsc_sequence": MyInt(9)}),
    "float": lambda m: ("SubmitResp", (b"", 1.0), {}),
    "None for an int": lambda m: ("SubmitResp", (b"", None), {}),
    "None where optional": lambda m: ("ConnectResp", (), {"ability": None}),
    "None where optional, then a bad int": lambda m: ("ConnectResp", (), {"ability": None, "status": None}),
    "false int": lambda m: ("SubmitResp", (b"", Liar(int)), {}),
    "false str": lambda m: ("Connect", (Liar(str),), {}),
    "false bytes": lambda m: ("SubmitResp", (Liar(bytes),), {}),
    "false sequence": lambda m: ("Submit", (), {"dest_terminal_id": Liar(tuple)}),
    "false entry": lambda m: ("Submit", (), {"dest_terminal_id": [Liar(str)]}),
    "no __class__ at all": lambda m: ("SubmitResp", (object.__new__(Liar),), {}),
    "str subclass": lambda m: ("Deliver", (b"", MyStr("1065")), {}),
    "bytes for str": lambda m: ("Submit", (), {"msg_content": bytearray(b"x"), "src_id": b"1"}),
    "bytearray": lambda m: ("SubmitResp", (bytearray(b"ab"),), {}),
    "memoryview": lambda m: ("Deliver", (), {"msg_content": memoryview(b"abc")[1:]}),
    "str for bytes": lambda m: ("Connect", ("1", "secret"), {}),
    "list of numbers": lambda m: ("Submit", (), {"dest_terminal_id": [_NUMBER, _NUMBER]}),
    "iterator of numbers": lambda m: ("Submit", (), {"dest_terminal_id": iter([_NUMBER])}),
    "empty iterator": lambda m: ("Submit", (), {"dest_terminal_id": iter(())}),
    "dict of numbers": lambda m: ("Submit", (), {"dest_terminal_id": {_NUMBER: 1}}),
    "tuple with a str subclass": lambda m: ("Submit", (), {"dest_terminal_id": (_NUMBER, MyStr("1"))}),
    "tuple with an int": lambda m: ("Submit", (), {"dest_terminal_id": (_NUMBER, 5)}),
    "str subclass then an int": lambda m: ("Submit", (), {"dest_terminal_id": (MyStr("1"), 5)}),
    "list with an int": lambda m: ("Submit", (), {"dest_terminal_id": [_NUMBER, 5]}),
    "bare str for numbers": lambda m: ("Submit", (), {"dest_terminal_id": _NUMBER}),
    "bytes for numbers": lambda m: ("Submit", (), {"dest_terminal_id": b"1"}),
    "int for numbers": lambda m: ("Submit", (), {"dest_terminal_id": 5}),
    "failing iterator": lambda m: ("Submit", (), {"dest_terminal_id": _fails_after(_NUMBER)}),
    "report": lambda m: ("Deliver", (b"",) + ("",) * 2 + (0,) * 3 + ("",) + (0, 1, m.StatusReport()), {}),
    "report subclass": lambda m: ("Deliver", (), {"msg_content": subclass(m, "StatusReport")(stat="x")}),
    "uninitialised report": lambda m: ("Deliver", (), {"msg_content": m.StatusReport.__new__(m.StatusReport)}),
    "report where only bytes go": lambda m: ("Submit", (), {"msg_content": m.StatusReport()}),
    "bytes everywhere": lambda m: ("Deliver", (b"",) * 9 + (b"x",), {}),
    "report with True": lambda m: ("StatusReport", (b"", "DELIVRD", "", "", "", True), {}),
}


def _fails_after(*items):
    yield from items
    raise TypeError("no more")


@pytest.mark.parametrize("case", sorted(CTOR_CASES))
def test_differential_constructor_cases(codec_twins, case):
    """The conversions and error paths by name (the property test finds them at random)."""
    assert_constructs_alike(codec_twins, CTOR_CASES[case])


def test_differential_constructor_reentered(codec_twins):
    """An __init__ that, while converting a value, sees the same object initialised by
    another __init__ (only an iterator argument can do it): like the twin, the outer
    call's values win and nothing leaks."""
    results = []
    for m in codec_twins:
        obj = m.Submit.__new__(m.Submit)

        def numbers(obj=obj):
            obj.__init__(src_id="1", msg_content=b"inner")
            yield "13800138000"

        obj.__init__(dest_terminal_id=numbers(), msg_content=b"outer")
        results.append(typed_data(obj))
    assert results[0] == results[1]
    assert results[0][1][-2] == ("bytes", b"outer")


def _bad_values():
    """(field attribute, bad value) pairs of every kind of mistake."""
    return st.one_of(
        st.tuples(st.sampled_from(["pk_total", "msg_level", "tp_udhi", "msg_fmt"]), st.integers(256, 1 << 70) | st.integers(-(1 << 70), -1)),
        st.tuples(st.sampled_from(["service_id", "fee_type", "msg_src", "link_id", "valid_time"]), st.text(min_size=1, max_size=40)),
        st.tuples(st.sampled_from(["src_id", "fee_terminal_id"]), st.text(max_size=40)),
        st.tuples(st.just("dest_terminal_id"), st.lists(st.text(max_size=40), min_size=1, max_size=3)),
        st.tuples(st.just("msg_id"), st.binary(max_size=12)),
        st.tuples(st.just("msg_content"), st.binary(min_size=250, max_size=300)),
    )


@given(st.sampled_from(DIALECTS), st.data(), _bad_values(), U32)
def test_differential_encode_errors(codec_twins, d, data, bad, seq):
    compiled, twin = codec_twins
    name, spec = data.draw(pdu(d, "Submit"))
    attr, value = bad
    spec = (name, {**spec, attr: value})
    ra = outcome(compiled.encode, build(compiled, spec), seq, d)
    rb = outcome(twin.encode, build(twin, spec), seq, d)
    assert ra == rb


SUBMIT_FIELD_NAMES = {
    "pk_total": "Pk_total",
    "msg_level": "Msg_level",
    "tp_udhi": "TP_udhi",
    "msg_fmt": "Msg_Fmt",
    "service_id": "Service_Id",
    "fee_type": "FeeType",
    "msg_src": "Msg_src",
    "link_id": "LinkID",
    "valid_time": "ValId_Time",
    "src_id": "Src_Id",
    "fee_terminal_id": "Fee_terminal_Id",
    "dest_terminal_id": "Dest_terminal_Id",
    "msg_id": "Msg_Id",
    "msg_content": "Msg_Content",
}
TEXT_WIDTHS = {"service_id": 10, "fee_type": 2, "valid_time": 17}


@st.composite
def invalid_submit_value(draw, d):
    """(attribute, a value dialect d cannot encode in it)."""
    attr = draw(st.sampled_from(sorted(SUBMIT_FIELD_NAMES)))
    wide = {"msg_src": 21 if d == EMPP else 6, "link_id": 8 if d == CMPP2 else 20}
    if attr in ("pk_total", "msg_level", "tp_udhi", "msg_fmt"):
        return attr, draw(st.integers(256, 1 << 70) | st.integers(-(1 << 70), -1))
    if attr in ("src_id", "fee_terminal_id", "dest_terminal_id"):
        width = 21 if attr == "src_id" or d == CMPP2 else 32
        bad = draw(
            st.text(st.characters(min_codepoint=1, max_codepoint=0xFF), min_size=1, max_size=width).filter(
                lambda t: not t.isascii() or not t.isdigit()
            )
            | st.text("0123456789", min_size=width + 1, max_size=width + 5)
        )
        return attr, ([bad] if attr == "dest_terminal_id" else bad)
    if attr == "msg_id":
        width = 10 if d == EMPP else 8
        return attr, draw(st.binary(min_size=1, max_size=12).filter(lambda b: len(b) != width))
    if attr == "msg_content":
        return attr, draw(st.binary(min_size=256, max_size=300))
    width = TEXT_WIDTHS.get(attr) or wide[attr]
    return attr, draw(
        st.text(min_size=width + 1, max_size=width + 8, alphabet=st.characters(max_codepoint=0xFF))
        | st.text(min_size=1, max_size=width).map(lambda t: t + "\u4e2d")
        | st.text(min_size=0, max_size=width - 1).map(lambda t: t + "\x00")
    )


@given(st.sampled_from(DIALECTS), st.data(), U32)
def test_encode_validation_names_the_field(d, data, seq):
    _name, spec = data.draw(pdu(d, "Submit"))
    attr, value = data.draw(invalid_submit_value(d))
    bad = codec.Submit(**{**spec, attr: value})
    with pytest.raises(FieldValueError) as info:
        codec.encode(bad, seq, d)
    expected = SUBMIT_FIELD_NAMES[attr]
    if attr == "link_id" and d == CMPP2:
        expected = "Reserve"
    assert info.value.field == expected


# ---------------------------------------------------------------------------------------
# Hostile input only ever raises ProtocolError


@given(st.sampled_from(DIALECTS), st.binary(max_size=600))
def test_random_bytes_only_raise_protocol_errors(d, blob):
    try:
        codec.decode(blob, d)
    except ProtocolError:
        pass
    fd = codec.FrameDecoder(d)
    for _ in range(2):
        try:
            fd.feed(blob)
        except ProtocolError:
            pass


@given(st.sampled_from(DIALECTS), st.data())
def test_damaged_packets_only_raise_protocol_errors(d, data):
    pkt = data.draw(damaged_packets(d, codec))
    try:
        seq, pdu = codec.decode(pkt, d)
    except ProtocolError as e:
        assert e.field is None or isinstance(e.field, str)
    else:  # whatever decodes re-encodes to the same packet (no silent loss) ...
        try:
            again = codec.encode(pdu, seq, d)
        except FieldValueError:
            return  # ... unless the peer sent something we would refuse to send
        assert codec.decode(again, d) == (seq, pdu)


# ---------------------------------------------------------------------------------------
# Chunking


@given(st.sampled_from(DIALECTS), st.data())
def test_any_chunking_gives_the_same_pdus(d, data):
    items = data.draw(st.lists(st.tuples(U32, pdus(d)), min_size=1, max_size=8))
    expected = [(seq, build(codec, spec)) for seq, spec in items]
    stream = b"".join(codec.encode(pdu, seq, d) for seq, pdu in expected)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    fd = codec.FrameDecoder(d)
    got = []
    start = 0
    for cut in cuts + [len(stream)]:
        kind = data.draw(st.sampled_from([bytes, bytearray, memoryview]))
        got += fd.feed(kind(stream[start:cut]))
        start = cut
    assert got == expected and fd.buffered == 0


@given(st.sampled_from(DIALECTS), st.data())
def test_errors_in_a_stream_lose_nothing(d, data):
    """A bad frame among good ones: every good PDU comes out, in order, via .pdus or feed."""
    items = data.draw(st.lists(st.tuples(U32, pdus(d)), min_size=1, max_size=5))
    good = [(seq, build(codec, spec)) for seq, spec in items]
    bad_at = data.draw(st.integers(0, len(good)))
    frames = [codec.encode(p, s, d) for s, p in good]
    frames.insert(bad_at, struct.pack(">III", 12, 0x00000003, 0))  # unknown command
    fd = codec.FrameDecoder(d)
    got = []
    chunk = b"".join(frames)
    errors = 0
    while True:
        try:
            got += fd.feed(chunk)
            break
        except ProtocolError as e:
            got += e.pdus
            errors += 1
            chunk = b""
    assert got == good and errors == 1


@pytest.mark.parametrize("d", DIALECTS)
def test_every_command_is_covered_by_the_strategies(d):
    assert {c.__name__ for c in codec.PDU_CLASSES if c.__name__ in CLASSES[d]} == set(CLASSES[d])
    if d == EMPP:
        assert len(CLASSES[d]) == len(codec.PDU_CLASSES)
    if d == CMPP2:
        assert "ChangePass" not in CLASSES[d]


@given(st.sampled_from(DIALECTS), st.data())
def test_differential_chunk_kinds(codec_twins, d, data):
    """Both twins take the same chunks: strided (non-contiguous) memoryviews, other formats,
    read-only and writable buffers, and refuse the same non-buffers."""
    import array

    compiled, twin = codec_twins
    items = data.draw(st.lists(st.tuples(U32, pdus(d)), min_size=1, max_size=4))
    stream = b"".join(twin.encode(build(twin, spec), seq, d) for seq, spec in items)
    cut = data.draw(st.integers(0, len(stream)))
    padded = bytes(b for byte in stream for b in (byte, 0xEE))  # every other byte is stream
    kinds = {
        "strided": lambda raw, lo, hi: memoryview(padded)[2 * lo:2 * hi:2],
        "reversed": lambda raw, lo, hi: memoryview(raw[lo:hi][::-1])[::-1],
        "array": lambda raw, lo, hi: memoryview(array.array("B", raw[lo:hi])),
        "bytearray": lambda raw, lo, hi: bytearray(raw[lo:hi]),
        "bytes": lambda raw, lo, hi: raw[lo:hi],
    }
    first = data.draw(st.sampled_from(sorted(kinds)))
    second = data.draw(st.sampled_from(sorted(kinds)))
    fa, fb = compiled.FrameDecoder(d), twin.FrameDecoder(d)
    for kind, lo, hi in ((first, 0, cut), (second, cut, len(stream))):
        ra = outcome(fa.feed, kinds[kind](stream, lo, hi))
        rb = outcome(fb.feed, kinds[kind](stream, lo, hi))
        assert ra == rb and fa.buffered == fb.buffered
    assert fa.buffered == 0
    for bad in ("text", 42, [1, 2], None):
        refusals = []
        for fd in (fa, fb):
            with pytest.raises(TypeError) as info:
                fd.feed(bad)
            refusals.append(str(info.value))
        assert refusals[0] == refusals[1]


def test_differential_strided_memoryview_example(codec_twins):
    compiled, twin = codec_twins
    pkt = twin.encode(twin.ActiveTest(), 5, EMPP)
    strided = memoryview(bytes(b for byte in pkt for b in (byte, 0)))[::2]
    for module in (compiled, twin):
        assert module.FrameDecoder(EMPP).feed(strided) == [(5, module.ActiveTest())]
        assert module.decode(strided, EMPP) == (5, module.ActiveTest())


def test_decoder_gives_a_big_chunks_memory_back(codec_twins):
    """A chunk of many megabytes arriving behind an incomplete frame leaves the buffer at
    about the size of what is still incomplete (sys.getsizeof counts the buffer)."""
    import sys

    for module in codec_twins:
        # a 3 MB frame (an unknown command: no real PDU is that long) keeps 2.5 MB buffered
        big = struct.pack(">III", 3_000_000, 0x7F000001, 7) + bytes(3_000_000 - 12)
        fd = module.FrameDecoder(EMPP, max_length=4_000_000)
        assert fd.feed(big[:2_500_000]) == []
        assert fd.buffered == 2_500_000 and sys.getsizeof(fd) >= 2_500_000  # the hook counts it
        small = module.encode(module.ActiveTest(), 8, EMPP)
        tail = small * (8_000_000 // len(small))
        with pytest.raises(ProtocolError) as info:  # the big frame is consumed and refused
            fd.feed(big[2_500_000:] + tail + small[:5])
        assert info.value.pdus == []
        out = fd.feed(b"")  # go on with the buffered rest
        assert len(out) == len(tail) // len(small) and fd.buffered == 5
        assert sys.getsizeof(fd) < 64 * 1024, module.__name__
        assert fd.feed(small[5:]) == [(8, module.ActiveTest())]
        assert sys.getsizeof(fd) < 64 * 1024, module.__name__
