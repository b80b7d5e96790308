"""Hypothesis strategies for the codec tests.

Widths come from docs/PROTOCOL.md, written out here by hand (not read from
``smsdk._layouts``) so that the tests check the tables instead of trusting them.

A generated PDU is a *spec*: ``(class name, {field: value})`` where a value may itself be a
spec (a StatusReport inside a DELIVER).  ``build(module, spec)`` makes the object from a
given codec module, so the compiled codec and its twin get the very same values.
"""

from __future__ import annotations

import enum
import random

from hypothesis import strategies as st

from smsdk._layouts import Dialect

EMPP, CMPP2, CMPP3 = Dialect.EMPP, Dialect.CMPP2, Dialect.CMPP3
DIALECTS = (EMPP, CMPP2, CMPP3)

U8 = st.integers(0, 0xFF)
U32 = st.integers(0, 0xFFFFFFFF)

#: Commands each dialect has (class names).
COMMON = (
    "Connect",
    "ConnectResp",
    "Submit",
    "SubmitResp",
    "Deliver",
    "DeliverResp",
    "ActiveTest",
    "ActiveTestResp",
    "Terminate",
    "TerminateResp",
)
EMPP_ONLY = ("Unauthorization", "ChangePass", "ChangePassResp")
CLASSES = {EMPP: COMMON + EMPP_ONLY, CMPP2: COMMON, CMPP3: COMMON}


def text(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    """Latin-1 text without NUL (what an Octet String can carry losslessly)."""
    return st.text(
        alphabet=st.characters(min_codepoint=1, max_codepoint=0xFF),
        min_size=min_size,
        max_size=max_size,
    )


def digits(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=min_size, max_size=max_size)


def fixed(n: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=n, max_size=n)


def msg_id_width(d: Dialect) -> int:
    return 10 if d == EMPP else 8


def terminal_width(d: Dialect) -> int:
    return 21 if d == CMPP2 else 32


def link_width(d: Dialect) -> int:
    return 8 if d == CMPP2 else 20


def spec(name: str, **fields) -> st.SearchStrategy[tuple[str, dict]]:
    return st.fixed_dictionaries(fields).map(lambda kw: (name, kw))


def report(d: Dialect) -> st.SearchStrategy[tuple[str, dict]]:
    return spec(
        "StatusReport",
        msg_id=fixed(msg_id_width(d)),
        stat=text(7),
        submit_time=text(10),
        done_time=text(10),
        dest_terminal_id=digits(terminal_width(d)),
        smsc_sequence=U32,
    )


def pdu(d: Dialect, name: str) -> st.SearchStrategy[tuple[str, dict]]:
    """Valid values of one PDU class in dialect d (a field d cannot carry keeps its default)."""
    w = msg_id_width(d)
    term = terminal_width(d)
    res = U8 if d == CMPP2 else U32  # Status / Result
    if name == "Connect":
        return spec(
            name,
            source_addr=text(21 if d == EMPP else 6),
            authenticator_source=fixed(16),
            version=U8,
            timestamp=U32,
        )
    if name == "ConnectResp":
        extra = {"ability": st.none() | U32} if d == EMPP else {}
        return spec(name, status=res, authenticator_ismg=fixed(16), version=U8, **extra)
    if name == "Submit":
        extra = {"fee_terminal_type": U8, "dest_terminal_type": U8} if d != CMPP2 else {}
        return spec(
            name,
            msg_id=fixed(w),
            pk_total=U8,
            pk_number=U8,
            registered_delivery=U8,
            msg_level=U8,
            service_id=text(10),
            fee_user_type=U8,
            fee_terminal_id=digits(term),
            tp_pid=U8,
            tp_udhi=U8,
            msg_fmt=U8,
            msg_src=text(21 if d == EMPP else 6),
            fee_type=text(2),
            fee_code=text(6),
            valid_time=text(17),
            at_time=text(17),
            src_id=digits(21),
            dest_terminal_id=st.lists(digits(term, min_size=1), max_size=4).map(tuple),
            msg_content=st.binary(max_size=255),
            link_id=text(link_width(d)),
            **extra,
        )
    if name in ("SubmitResp", "DeliverResp"):
        return spec(name, msg_id=fixed(w), result=res)
    if name == "Deliver":
        common = dict(
            msg_id=fixed(w),
            dest_id=digits(21),
            service_id=text(10),
            tp_pid=U8,
            tp_udhi=U8,
            msg_fmt=U8,
            src_terminal_id=digits(term),
            link_id=text(link_width(d)),
        )
        if d != CMPP2:
            common["src_terminal_type"] = U8
        mo = spec(
            name,
            registered_delivery=U8.filter(lambda v: v != 1),
            msg_content=st.binary(max_size=255),
            **common,
        )
        rep = spec(name, registered_delivery=st.just(1), msg_content=report(d), **common)
        return mo | rep
    if name == "ActiveTestResp":
        return spec(name, reserved=U8)
    if name in ("ActiveTest", "Terminate", "TerminateResp"):
        return st.just((name, {}))
    if name == "Unauthorization":
        return spec(name, unauth_command_id=U32)
    if name == "ChangePass":
        return spec(name, old_password=text(16), new_password=text(16))
    if name == "ChangePassResp":
        return spec(name, result=U32, password=text(16))
    raise ValueError(name)


def pdus(d: Dialect) -> st.SearchStrategy[tuple[str, dict]]:
    """Any valid PDU of dialect d."""
    return st.one_of([pdu(d, name) for name in CLASSES[d]])


def dialect_and_pdu() -> st.SearchStrategy[tuple[Dialect, tuple[str, dict]]]:
    return st.sampled_from(DIALECTS).flatmap(lambda d: pdus(d).map(lambda p: (d, p)))


def build(module, value):
    """Make the object a spec describes, from the given codec module."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict):
        name, fields = value
        return getattr(module, name)(**{k: build(module, v) for k, v in fields.items()})
    return value


def as_data(value):
    """A module-independent view of a PDU: (class name, field values), recursively."""
    fields = getattr(type(value), "_fields", None)
    if fields is not None and not isinstance(value, tuple):
        return (type(value).__name__, tuple(as_data(getattr(value, f)) for f in fields))
    if isinstance(value, (tuple, list)):
        return type(value)(as_data(v) for v in value)
    return value


def error_data(exc: BaseException):
    """What must agree between the twins when they refuse something."""
    return (
        type(exc).__name__,
        getattr(exc, "field", None),
        str(exc),
        getattr(exc, "sequence_id", None),
        getattr(exc, "command_id", None),
    )


# ---------------------------------------------------------------------------------------
# Packets: valid ones, and valid ones damaged in ways a real stream can be.


@st.composite
def packets(draw, d: Dialect, module):
    """(sequence_id, packet bytes) of a valid PDU, encoded by ``module``."""
    seq = draw(U32)
    return seq, module.encode(build(module, draw(pdus(d))), seq, d)


@st.composite
def damaged_packets(draw, d: Dialect, module) -> bytes:
    """A valid packet with one kind of damage: a changed byte, a cut, extra bytes, a lying
    Total_Length / Msg_Length / DestUsr_tl, or a random body behind a real Command_Id."""
    _seq, pkt = draw(packets(d, module))
    pkt = bytearray(pkt)
    how = draw(st.sampled_from(["flip", "cut", "extend", "total", "body", "byte"]))
    if how == "flip" and len(pkt) > 12:
        i = draw(st.integers(12, len(pkt) - 1))
        pkt[i] ^= 1 << draw(st.integers(0, 7))
    elif how == "cut" and len(pkt) > 12:
        del pkt[draw(st.integers(12, len(pkt) - 1)) :]
        pkt[0:4] = len(pkt).to_bytes(4, "big")
    elif how == "extend":
        pkt += draw(st.binary(min_size=1, max_size=40))
        pkt[0:4] = len(pkt).to_bytes(4, "big")
    elif how == "total":
        pkt[0:4] = draw(U32).to_bytes(4, "big")
    elif how == "body":
        body = draw(st.binary(max_size=300))
        pkt = pkt[4:12] + body
        pkt[0:0] = (len(pkt) + 4).to_bytes(4, "big")
    elif len(pkt) > 12:  # "byte": overwrite any body byte with any value (length fields too)
        i = draw(st.integers(12, len(pkt) - 1))
        pkt[i] = draw(U8)
    return bytes(pkt)


# ---------------------------------------------------------------------------------------
# Constructor calls: valid field values (from ``pdu``) passed in every accepted form, mixed
# with values of the wrong type, positionally or by keyword, with too many arguments,
# unknown keywords and keywords repeating a positional argument.  ``build_call`` makes the
# call from a given codec module, so both twins get the same arguments (fresh iterators).


class MyInt(int):
    """An int subclass: stored as its plain int value."""


class Color(enum.IntEnum):
    """An IntEnum: stored as its plain int value."""

    RED = 3


class MyStr(str):
    """A str subclass: stored as a plain str."""

    def __repr__(self) -> str:
        return f"MyStr({str.__repr__(self)})"


class Liar:
    """Claims another class through ``__class__`` (``isinstance`` believes it; the
    conversion that follows does not)."""

    def __init__(self, claimed: type) -> None:
        self._claimed = claimed

    @property
    def __class__(self):  # type: ignore[override]
        return self._claimed

    def __repr__(self) -> str:
        claimed = getattr(self, "_claimed", None)
        return f"Liar({claimed.__name__ if claimed else ''})"


def _items(values, fail):
    yield from values
    if fail:
        raise TypeError("iterator failed")


#: Values of no field's type (or claiming one falsely).
WILD = st.sampled_from(
    [
        ("raw", None),
        ("raw", 1.5),
        ("raw", 0j),
        ("raw", ["1"]),
        ("object",),
        ("liar", "int"),
        ("liar", "str"),
        ("liar", "bytes"),
        ("uninit_report",),
    ]
)


def _variants(value) -> st.SearchStrategy:
    """Value specs for one valid field value: the accepted forms and some wrong ones."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict):  # a report
        return st.one_of(
            st.just(("record", value)),
            st.just(("record_sub", value)),
            st.just(("uninit_report",)),
            st.just(("raw", b"")),
            st.just(("raw", bytearray(b"abc"))),
            st.just(("raw", value[1]["stat"])),
        )
    if isinstance(value, bool) or value is None:
        return st.sampled_from([("raw", value), ("raw", 0), ("raw", None), ("raw", True)])
    if isinstance(value, int):
        wrong = [("raw", str(value)), ("raw", float(value)), ("raw", None), ("raw", (value,))]
        return st.sampled_from(
            [("raw", value), ("raw", value), ("myint", value), ("raw", bool(value & 1)), ("enum",)]
            + wrong
        )
    if isinstance(value, str):
        return st.sampled_from(
            [("raw", value), ("raw", value), ("mystr", value), ("raw", value.encode("latin-1")),
             ("raw", [value]), ("liar", "str")]
        )
    if isinstance(value, bytes):
        return st.sampled_from(
            [("raw", value), ("raw", value), ("bytearray", value), ("memoryview", value),
             ("raw", value.decode("latin-1")), ("raw", list(value)), ("liar", "bytes")]
        )
    if isinstance(value, tuple):  # a sequence of str
        first = value[0] if value else "1"
        return st.sampled_from(
            [("raw", value), ("raw", value), ("list", value), ("iter", value), ("mystrs", value),
             ("iter_fails", value), ("raw", first), ("raw", first.encode()), ("raw", 5),
             ("raw", value + (5,)), ("mystrs", value + (5,)), ("raw", {s: 1 for s in value}),
             ("raw", (first, MyStr(first), b"x")), ("liar", "tuple")]
        )
    raise ValueError(value)


def value_spec(value) -> st.SearchStrategy:
    return _variants(value) | WILD


@st.composite
def ctor_calls(draw):
    """(class name, {attribute: value spec}, how many of them go positionally, extra keyword
    (name, value spec) pairs, a seed for the keywords' order)."""
    d = draw(st.sampled_from(DIALECTS))
    name = draw(st.sampled_from(CLASSES[d] + ("StatusReport",)))
    _name, fields = draw(report(d) if name == "StatusReport" else pdu(d, name))
    specs = {attr: draw(value_spec(v)) for attr, v in fields.items()}
    npos = draw(st.integers(0, len(specs) + 2))
    # not fields, or fields that may already have come positionally
    key = st.sampled_from(["bogus", "command_id", "_v", "msg_id", "result", *sorted(specs)])
    plain = st.sampled_from([("raw", 0), ("raw", ""), ("raw", b"")])
    extra = draw(st.lists(st.tuples(key, plain | WILD), max_size=2))
    return name, specs, npos, extra, draw(st.integers(0, 1 << 32))


_SUBCLASSES: dict = {}


def subclass(module, name: str) -> type:
    """A plain Python subclass of a record class (it takes the constructor's general path)."""
    key = (module.__name__, name)
    if key not in _SUBCLASSES:
        _SUBCLASSES[key] = type("My" + name, (getattr(module, name),), {})
    return _SUBCLASSES[key]


def make_value(module, spec):
    tag = spec[0]
    if tag == "raw":
        return spec[1]
    if tag == "object":
        return object.__new__(Liar)  # no __class__ claim: Liar's own
    if tag == "myint":
        return MyInt(spec[1])
    if tag == "enum":
        return Color.RED
    if tag == "mystr":
        return MyStr(spec[1])
    if tag == "bytearray":
        return bytearray(spec[1])
    if tag == "memoryview":
        return memoryview(spec[1])
    if tag == "list":
        return list(spec[1])
    if tag == "iter":
        return _items(spec[1], False)
    if tag == "iter_fails":
        return _items(spec[1], True)
    if tag == "mystrs":
        return [MyStr(s) if isinstance(s, str) else s for s in spec[1]]
    if tag == "record":
        return build(module, spec[1])
    if tag == "record_sub":
        name, fields = spec[1]
        return subclass(module, name)(**fields)
    if tag == "uninit_report":
        return module.StatusReport.__new__(module.StatusReport)
    if tag == "liar":
        # (not a StatusReport: the compiled codec must read a real one's C fields, so it
        # believes only the real type there, where the twin would look for its ``_v``)
        return Liar({"int": int, "str": str, "bytes": bytes, "tuple": tuple}[spec[1]])
    raise ValueError(spec)


def build_call(module, call):
    """(positional arguments, keyword arguments) of a ``ctor_calls`` example for ``module``."""
    name, specs, npos, extra, seed = call
    cls = getattr(module, name)
    args = []
    for attr in cls._fields[:npos]:
        if attr not in specs:
            break
        args.append(make_value(module, specs[attr]))
    if npos > len(cls._fields) and len(args) == len(cls._fields):
        args += [make_value(module, ("raw", 0))] * (npos - len(cls._fields))
    positional = cls._fields[: len(args)]
    items = [(a, make_value(module, s)) for a, s in specs.items() if a not in positional]
    items += [(k, make_value(module, s)) for k, s in extra]
    random.Random(seed).shuffle(items)
    return args, dict(items)


def typed_data(value):
    """as_data that also tells int from bool, str from a subclass, tuple from list ..."""
    fields = getattr(type(value), "_fields", None)
    if fields is not None and not isinstance(value, tuple):
        return (type(value).__name__, tuple(typed_data(getattr(value, f)) for f in fields))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(typed_data(v) for v in value))
    return (type(value).__name__, value)
