"""Hypothesis strategies for the codec tests.

Widths come from docs/PROTOCOL.md, written out here by hand (not read from
``smsdk._layouts``) so that the tests check the tables instead of trusting them.

A generated PDU is a *spec*: ``(class name, {field: value})`` where a value may itself be a
spec (a StatusReport inside a DELIVER).  ``build(module, spec)`` makes the object from a
given codec module, so the compiled codec and its twin get the very same values.
"""

from __future__ import annotations

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
