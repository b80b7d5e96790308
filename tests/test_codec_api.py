"""The codec's public contract: value objects, encode validation, decode errors, the frame
decoder and the CONNECT authenticators.  Runs against the implementation in use (compiled,
or the twin under SMSDK_NO_EXTENSIONS=1); test_codec_properties.py compares the two."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import inspect
import gc
import pickle
import struct
import sys
import tracemalloc

import pytest

from smsdk import codec
from smsdk._layouts import Dialect
from smsdk.errors import (
    FieldValueError,
    FrameLengthError,
    LengthMismatchError,
    ProtocolError,
    TruncatedError,
    UnknownCommandError,
)

EMPP, CMPP2, CMPP3 = Dialect.EMPP, Dialect.CMPP2, Dialect.CMPP3


def packet(command_id: int, body: bytes, seq: int = 9) -> bytes:
    return struct.pack(">III", 12 + len(body), command_id, seq) + body


def report(**kw):
    base = dict(
        msg_id=b"\x01" * 10,
        stat="DELIVRD",
        submit_time="2401021504",
        done_time="2401021505",
        dest_terminal_id="13800138000",
        smsc_sequence=5,
    )
    base.update(kw)
    return codec.StatusReport(**base)


def deliver_report(**kw):
    return codec.Deliver(msg_id=b"\x02" * 10, registered_delivery=1, msg_content=report(**kw))


# ---------------------------------------------------------------------------------------
# Value objects


def test_every_class_has_command_id_fields_and_defaults():
    expected = {
        "Connect": 0x00000001,
        "ConnectResp": 0x80000001,
        "Terminate": 0x00000002,
        "TerminateResp": 0x80000002,
        "Submit": 0x00000004,
        "SubmitResp": 0x80000004,
        "Deliver": 0x00000005,
        "DeliverResp": 0x80000005,
        "ActiveTest": 0x00000008,
        "ActiveTestResp": 0x80000008,
        "ChangePass": 0x00000012,
        "ChangePassResp": 0x80000012,
        "Unauthorization": 0x80000017,
    }
    assert {c.__name__: c.command_id for c in codec.PDU_CLASSES} == expected
    for cls in codec.PDU_CLASSES + (codec.StatusReport,):
        obj = cls()  # every field has a default
        assert tuple(inspect.signature(cls).parameters) == cls._fields
        assert [getattr(obj, f) for f in cls._fields] == [
            p.default for p in inspect.signature(cls).parameters.values()
        ]


def test_submit_defaults_follow_the_brief():
    s = codec.Submit()
    assert (s.msg_id, s.pk_total, s.pk_number, s.registered_delivery, s.msg_level) == (b"", 1, 1, 1, 1)
    assert (s.fee_user_type, s.fee_terminal_type, s.msg_fmt, s.fee_type, s.fee_code) == (2, 0, 15, "01", "0")
    assert s.dest_terminal_id == () and s.msg_content == b"" and s.link_id == ""
    assert codec.ConnectResp().ability == 0
    assert codec.Submit._fields[0] == "msg_id" and codec.Submit._fields[-1] == "link_id"


def test_immutable():
    s = codec.Submit(dest_terminal_id=["13800138000"])
    with pytest.raises(AttributeError):
        s.pk_total = 2
    with pytest.raises(AttributeError):
        s.new_attribute = 1
    with pytest.raises(AttributeError):
        del s.msg_id
    with pytest.raises(TypeError):
        s.__init__(pk_total=3)
    assert s.pk_total == 1


def test_equality_hash_and_replace():
    a = codec.Submit(dest_terminal_id=["13800138000"], msg_content=b"hi")
    b = codec.Submit(dest_terminal_id=("13800138000",), msg_content=bytearray(b"hi"))
    assert a == b and hash(a) == hash(b) and not (a != b)
    assert len({a, b}) == 1
    c = a.replace(pk_total=2)
    assert c != a and c.pk_total == 2 and a.pk_total == 1 and c.msg_content == b"hi"
    assert codec.ActiveTest() == codec.ActiveTest()
    assert codec.ActiveTest() != codec.Terminate()  # same (empty) fields, different PDUs
    assert codec.SubmitResp() != (b"", 0)
    with pytest.raises(TypeError):
        a.replace(no_such_field=1)
    with pytest.raises(TypeError):
        a.replace(pk_total="2")


def test_normalisation_and_type_checks():
    s = codec.Submit(dest_terminal_id=["1", "2"], msg_content=memoryview(b"ab"), msg_id=bytearray(10))
    assert s.dest_terminal_id == ("1", "2") and type(s.dest_terminal_id) is tuple
    assert type(s.msg_content) is bytes and type(s.msg_id) is bytes
    assert type(codec.SubmitResp(result=True).result) is int
    assert type(codec.Unauthorization(unauth_command_id=codec.CommandId.SUBMIT).unauth_command_id) is int
    with pytest.raises(TypeError, match="dest_terminal_id"):
        codec.Submit(dest_terminal_id="13800138000")  # a bare str is not a list of numbers
    with pytest.raises(TypeError, match="dest_terminal_id"):
        codec.Submit(dest_terminal_id=[13800138000])
    with pytest.raises(TypeError, match="pk_total"):
        codec.Submit(pk_total="1")
    with pytest.raises(TypeError, match="src_id"):
        codec.Submit(src_id=b"1065")
    with pytest.raises(TypeError, match="msg_content"):
        codec.Submit(msg_content="text")
    with pytest.raises(TypeError, match="msg_content"):
        codec.Submit(msg_content=report())  # only a DELIVER carries a report
    with pytest.raises(TypeError):
        codec.Submit(bogus=1)
    with pytest.raises(TypeError):
        codec.SubmitResp(b"", 0, 1)
    with pytest.raises(TypeError):
        codec.SubmitResp(b"", msg_id=b"")
    assert codec.SubmitResp(b"\x01" * 10, 3) == codec.SubmitResp(msg_id=b"\x01" * 10, result=3)


def test_repr_is_readable_with_hex_bytes():
    r = repr(codec.SubmitResp(msg_id=bytes.fromhex("b000000000001001aabb"), result=0))
    assert r == "SubmitResp(msg_id=bytes.fromhex('b000000000001001aabb'), result=0)"
    assert "msg_content=StatusReport(msg_id=bytes.fromhex('01010101010101010101'), stat='DELIVRD'" in repr(
        deliver_report()
    )
    assert repr(codec.ActiveTest()) == "ActiveTest()"


def test_pickle_and_copy():
    d = deliver_report()
    assert pickle.loads(pickle.dumps(d)) == d
    assert copy.copy(d) == d and copy.deepcopy(d) == d


def test_deliver_report_properties():
    d = deliver_report()
    assert d.is_report and d.report == report()
    mo = codec.Deliver(msg_content=b"hi")
    assert not mo.is_report and mo.report is None


def test_uninitialised_object_is_refused_not_crashing():
    s = codec.Submit.__new__(codec.Submit)
    with pytest.raises(AttributeError):
        s.msg_id
    with pytest.raises(TypeError):
        codec.encode(s, 1, EMPP)
    assert "uninitialised" in repr(s)
    with pytest.raises(TypeError):
        codec.Deliver(registered_delivery=1, msg_content=codec.StatusReport.__new__(codec.StatusReport))


class _Int(int):
    pass


def test_refused_construction_leaks_nothing_and_stays_uninitialised():
    """A constructor that refuses a value keeps no reference to any argument, including
    those it had already taken, and leaves the object uninitialised (usable again)."""
    mid = bytes(range(10))  # distinct objects, so their reference counts are ours to watch
    dest = "".join(["1380013", "8000"])
    numbers = [dest]
    rep = report(msg_id=mid)
    seven = _Int(7)
    watched = (mid, dest, numbers, rep, seven)
    deliver = (mid, "1065", "", 0, 0, 0, dest, 0, 1)
    refused = [
        lambda: codec.SubmitResp(mid, "0"),
        lambda: codec.SubmitResp(msg_id=mid, result=1.0),
        lambda: codec.SubmitResp(mid, seven, 3),
        lambda: codec.SubmitResp(mid, seven, bogus=1),
        lambda: codec.SubmitResp(mid, msg_id=mid),
        lambda: codec.Deliver(*deliver, "not bytes"),
        lambda: codec.Deliver(*deliver, rep, b"link"),
        lambda: codec.Deliver(*deliver, msg_content=rep, link_id=seven),
        lambda: codec.Submit(msg_id=mid, dest_terminal_id=numbers, msg_content="text"),
        lambda: codec.Submit(msg_id=mid, dest_terminal_id=[dest, seven]),
        lambda: codec.Submit(msg_id=mid, dest_terminal_id=iter([dest, dest, None])),
        lambda: codec.StatusReport(mid, "DELIVRD", "", "", dest, None),
    ]
    accepted = [
        lambda: codec.SubmitResp(mid, seven),  # stores int(seven), not seven
        lambda: codec.Deliver(*deliver, rep, ""),
        lambda: codec.Submit(msg_id=mid, dest_terminal_id=numbers, msg_content=mid),
    ]
    gc.collect()
    before = [sys.getrefcount(o) for o in watched]
    for _ in range(50):
        for call in refused:
            with pytest.raises(TypeError):
                call()
        for call in accepted:
            call()
        obj = codec.Deliver.__new__(codec.Deliver)
        with pytest.raises(TypeError):
            obj.__init__(*deliver, "not bytes")
        assert repr(obj) == "<uninitialised Deliver>"
        with pytest.raises(AttributeError):
            obj.msg_id
        obj.__init__(*deliver, rep, "")  # refused once: not initialised, so it may run again
        assert obj.msg_content is rep and obj.src_terminal_id is dest
        with pytest.raises(TypeError, match="immutable"):
            obj.__init__()
        del obj
    gc.collect()
    assert [sys.getrefcount(o) for o in watched] == before
    kept = codec.SubmitResp(mid, seven)
    assert type(kept.result) is int and kept.msg_id is mid


def test_constructor_keywords_from_a_callers_dict():
    """A C caller may pass its own keyword dict (PyObject_Call); an argument that runs code
    (an iterator) may change that dict meanwhile: the constructor keeps its own references."""
    import ctypes

    call = ctypes.pythonapi.PyObject_Call
    call.restype = ctypes.py_object
    call.argtypes = [ctypes.py_object] * 3
    kwargs = {}

    def numbers():
        kwargs.clear()
        gc.collect()
        yield "13800138000"

    kwargs.update(msg_content=bytearray(b"ab" * 100), dest_terminal_id=numbers(), src_id="1" * 30)
    pdu = call(codec.Submit, (), kwargs)
    assert pdu.msg_content == b"ab" * 100 and pdu.src_id == "1" * 30
    assert pdu.dest_terminal_id == ("13800138000",) and kwargs == {}
    keyword = type("Key", (str,), {})("result")  # a str subclass: the general path
    assert call(codec.SubmitResp, (b"",), {keyword: 4}) == codec.SubmitResp(b"", 4)


class _Resp(codec.SubmitResp):
    """A Python subclass (module level, so it pickles)."""


def test_python_subclasses_construct_like_their_base():
    r = _Resp(b"\x01" * 10, result=codec.CommandId.SUBMIT)
    assert type(r.result) is int and r.msg_id == b"\x01" * 10
    assert repr(r) == f"_Resp(msg_id=bytes.fromhex('{'01' * 10}'), result={int(codec.CommandId.SUBMIT)})"
    assert pickle.loads(pickle.dumps(r)) == r and r.replace(result=1).result == 1
    assert r != codec.SubmitResp(b"\x01" * 10, 4)
    with pytest.raises(TypeError, match=r"^_Resp\.result must be int, not str$"):
        _Resp(result="0")
    with pytest.raises(TypeError, match=r"^_Resp objects are immutable"):
        r.__init__()
    assert codec.decode(codec.encode(r, 1, EMPP), EMPP)[1] == codec.SubmitResp(b"\x01" * 10, 4)


# ---------------------------------------------------------------------------------------
# Encode validation: FieldValueError naming the spec field


GOOD = dict(dest_terminal_id=["13800138000"], msg_content=b"x", src_id="1065710900")


@pytest.mark.parametrize(
    "dialect,changes,field",
    [
        (EMPP, {"src_id": "1" * 22}, "Src_Id"),
        (EMPP, {"src_id": "1065abc"}, "Src_Id"),
        (EMPP, {"dest_terminal_id": ["138-0013-8000"]}, "Dest_terminal_Id"),
        (EMPP, {"dest_terminal_id": ["+8613800138000"]}, "Dest_terminal_Id"),
        (EMPP, {"dest_terminal_id": ["13800138000", ""]}, "Dest_terminal_Id"),
        (EMPP, {"dest_terminal_id": ["1" * 33]}, "Dest_terminal_Id"),
        (CMPP2, {"dest_terminal_id": ["1" * 22]}, "Dest_terminal_Id"),
        (EMPP, {"fee_terminal_id": "x"}, "Fee_terminal_Id"),
        (CMPP2, {"fee_terminal_id": "1" * 22}, "Fee_terminal_Id"),
        (EMPP, {"service_id": "12345678901"}, "Service_Id"),
        (EMPP, {"service_id": "服务"}, "Service_Id"),
        (EMPP, {"service_id": "a\x00b"}, "Service_Id"),
        (EMPP, {"msg_src": "x" * 22}, "Msg_src"),
        (CMPP3, {"msg_src": "x" * 7}, "Msg_src"),
        (EMPP, {"fee_type": "001"}, "FeeType"),
        (EMPP, {"link_id": "x" * 21}, "LinkID"),
        (CMPP2, {"link_id": "x" * 9}, "Reserve"),
        (EMPP, {"valid_time": "x" * 18}, "ValId_Time"),
        (EMPP, {"pk_total": 256}, "Pk_total"),
        (EMPP, {"pk_number": -1}, "Pk_number"),
        (CMPP3, {"msg_level": 1 << 70}, "Msg_level"),
        (EMPP, {"msg_content": b"x" * 256}, "Msg_Content"),
        (EMPP, {"msg_id": b"\x00" * 8}, "Msg_Id"),
        (CMPP3, {"msg_id": b"\x00" * 10}, "Msg_Id"),
        (CMPP2, {"dest_terminal_id": ["1"] * 256}, "DestUsr_tl"),
        (CMPP2, {"fee_terminal_type": 1}, "Fee_terminal_type"),
        (CMPP2, {"dest_terminal_type": 1}, "Dest_terminal_type"),
    ],
)
def test_submit_encode_errors_name_the_field(dialect, changes, field):
    pdu = codec.Submit(**{**GOOD, **changes})
    with pytest.raises(FieldValueError) as info:
        codec.encode(pdu, 1, dialect)
    assert info.value.field == field
    assert field in str(info.value)


def test_empty_fields_allowed_where_the_field_may_be_empty():
    pdu = codec.Submit(dest_terminal_id=["13800138000"])  # src_id, fee_terminal_id ... empty
    for d in Dialect:
        assert codec.decode(codec.encode(pdu, 1, d), d)[1].src_id == ""


def test_full_width_text_has_no_terminator():
    pdu = report(stat="DELIVRD", dest_terminal_id="1" * 32)
    d = codec.Deliver(msg_id=b"\x00" * 10, registered_delivery=1, msg_content=pdu)
    assert codec.decode(codec.encode(d, 1, EMPP), EMPP)[1] == d


def test_latin1_text_round_trips():
    d = codec.Deliver(msg_id=b"\x00" * 10, service_id="ÿé\x01", link_id="À" * 20)
    assert codec.decode(codec.encode(d, 1, EMPP), EMPP)[1] == d


@pytest.mark.parametrize(
    "dialect,pdu,field",
    [
        (CMPP2, codec.SubmitResp(result=256), "Result"),
        (CMPP3, codec.SubmitResp(msg_id=b"\x00" * 8, result=256), None),
        (EMPP, codec.SubmitResp(result=1 << 32), "Result"),
        (EMPP, codec.SubmitResp(result=-1), "Result"),
        (CMPP2, codec.ConnectResp(status=300), "Status"),
        (CMPP2, codec.DeliverResp(result=300), "Result"),
        (CMPP2, codec.ConnectResp(ability=1), "Ability"),
        (EMPP, codec.Connect(source_addr="1" * 22), "AccountId"),
        (CMPP3, codec.Connect(source_addr="1234567"), "Source_Addr"),
        (EMPP, codec.Connect(authenticator_source=b"\x00" * 15), "AuthenticatorSource"),
        (EMPP, codec.Connect(version=256), "Version"),
        (EMPP, codec.Connect(timestamp=1 << 32), "Timestamp"),
        (EMPP, codec.ChangePass(new_password="x" * 17), "NewPassword"),
        (EMPP, codec.Unauthorization(unauth_command_id=-5), "UnAuthCommandId"),
        (EMPP, codec.ActiveTestResp(reserved=256), "Reserved"),
        (EMPP, codec.Deliver(dest_id="abc"), "Dest_Id"),
        (EMPP, codec.Deliver(src_terminal_id="+8613800138000"), "Src_terminal_Id"),
        (CMPP2, codec.Deliver(src_terminal_type=1), "Src_terminal_type"),
        (EMPP, codec.Deliver(registered_delivery=1, msg_content=b"x" * 73), "Msg_Content"),
        (EMPP, codec.Deliver(registered_delivery=0, msg_content=report()), "Registered_Delivery"),
        (EMPP, deliver_report(dest_terminal_id="1380013800x"), "Dest_terminal_Id"),
        (CMPP2, codec.Deliver(msg_id=b"\x00" * 8, registered_delivery=1, msg_content=report(msg_id=b"\x00" * 8, dest_terminal_id="1" * 22)), "Dest_terminal_Id"),
        (EMPP, deliver_report(stat="DELIVERED"), "Stat"),
        (EMPP, deliver_report(msg_id=b"\x00" * 8), "Msg_Id"),
        (EMPP, deliver_report(smsc_sequence=1 << 32), "SMSC_sequence"),
    ],
)
def test_encode_errors_name_the_field(dialect, pdu, field):
    if field is None:  # the control case: encodable
        codec.encode(pdu, 1, dialect)
        return
    with pytest.raises(FieldValueError) as info:
        codec.encode(pdu, 1, dialect)
    assert info.value.field == field


@pytest.mark.parametrize("seq", [-1, 1 << 32, 1 << 80])
def test_sequence_id_range(seq):
    with pytest.raises(FieldValueError) as info:
        codec.encode(codec.ActiveTest(), seq, EMPP)
    assert info.value.field == "Sequence_Id"
    assert codec.decode(codec.encode(codec.ActiveTest(), 0xFFFFFFFF, EMPP), EMPP)[0] == 0xFFFFFFFF


def test_encode_wrong_arguments():
    with pytest.raises(TypeError):
        codec.encode(report(), 1, EMPP)  # a StatusReport is not a PDU
    with pytest.raises(TypeError):
        codec.encode(codec.ActiveTest(), "1", EMPP)
    with pytest.raises(ValueError):
        codec.encode(codec.ActiveTest(), 1, 7)
    with pytest.raises(TypeError):
        codec.encode(codec.ActiveTest(), 1, "EMPP")
    assert codec.encode(codec.ActiveTest(), 1, 1) == codec.encode(codec.ActiveTest(), 1, EMPP)


# ---------------------------------------------------------------------------------------
# Decode errors


def test_decode_frame_length_errors():
    with pytest.raises(FrameLengthError) as info:
        codec.decode(b"\x00\x00\x00\x0c\x00\x00", EMPP)
    assert info.value.field == "Total_Length"
    pkt = packet(8, b"")
    with pytest.raises(FrameLengthError) as info:
        codec.decode(pkt + b"\x00", EMPP)
    assert info.value.sequence_id == 9 and info.value.command_id == 8


def test_decode_unknown_command():
    with pytest.raises(UnknownCommandError) as info:
        codec.decode(packet(0x00000003, b""), EMPP)
    assert info.value.command_id == 3 and info.value.sequence_id == 9
    assert info.value.field == "Command_Id"
    with pytest.raises(UnknownCommandError):
        codec.decode(packet(0x80000017, struct.pack(">I", 4)), CMPP3)


def test_truncated_names_first_missing_field():
    with pytest.raises(TruncatedError) as info:
        codec.decode(packet(0x80000004, b"\x01" * 5), EMPP)
    assert info.value.field == "Msg_Id"
    with pytest.raises(TruncatedError) as info:
        codec.decode(packet(0x80000004, b"\x01" * 12), EMPP)
    assert info.value.field == "Result"
    with pytest.raises(TruncatedError) as info:
        codec.decode(packet(0x80000004, b"\x01" * 8), CMPP2)
    assert info.value.field == "Result"
    with pytest.raises(TruncatedError) as info:
        codec.decode(packet(0x80000001, b"\x00" * 23), EMPP)  # 21 < body < 25: Ability cut
    assert info.value.field == "Ability"
    with pytest.raises(TruncatedError) as info:
        codec.decode(packet(4, b"\x00" * 50), EMPP)
    assert info.value.field == "DestUsr_tl"


def test_trailing_bytes_refused():
    with pytest.raises(LengthMismatchError) as info:
        codec.decode(packet(0x80000004, b"\x01" * 15), EMPP)
    assert info.value.field == "Total_Length"
    with pytest.raises(LengthMismatchError) as info:
        codec.decode(packet(0x80000008, b"\x00\x00"), EMPP)
    assert info.value.field == "Total_Length"
    pkt = codec.encode(codec.Submit(dest_terminal_id=["1"], msg_content=b"ab"), 1, EMPP)
    with pytest.raises(LengthMismatchError) as info:
        codec.decode(packet(4, pkt[12:] + b"\x00"), EMPP)
    assert info.value.field == "Msg_Length"


def _submit_body(n_declared: int, dests: int, content: bytes, declared_len: int | None = None):
    body = bytearray(codec.encode(codec.Submit(dest_terminal_id=["1"] * dests, msg_content=content), 1, EMPP)[12:])
    body[48:52] = struct.pack(">I", n_declared)
    if declared_len is not None:
        body[52 + 32 * dests] = declared_len
    return bytes(body)


def test_length_fields_disagreeing_with_the_packet():
    with pytest.raises(LengthMismatchError) as info:
        codec.decode(packet(4, _submit_body(3, 1, b"abc")), EMPP)
    assert info.value.field == "DestUsr_tl"
    with pytest.raises(LengthMismatchError) as info:
        codec.decode(packet(4, _submit_body(1, 1, b"abc", declared_len=40)), EMPP)
    assert info.value.field == "Msg_Length"
    with pytest.raises(LengthMismatchError) as info:
        codec.decode(packet(4, _submit_body(1, 1, b"abc", declared_len=1)), EMPP)
    assert info.value.field == "Msg_Length"


def test_huge_dest_count_allocates_nothing():
    body = _submit_body(4_000_000_000, 1, b"abc")
    tracemalloc.start()
    try:
        with pytest.raises(LengthMismatchError) as info:
            codec.decode(packet(4, body), EMPP)
        with pytest.raises(LengthMismatchError):
            codec.FrameDecoder(EMPP).feed(packet(4, body))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.field == "DestUsr_tl"
    assert peak < 200_000


def test_report_of_the_wrong_size():
    pkt = bytearray(codec.encode(deliver_report(), 1, EMPP))
    body = pkt[12:]
    rep = body[79 : 79 + 73]
    short = bytes(body[:78]) + bytes([72]) + bytes(rep[:72]) + bytes(body[79 + 73 :])
    with pytest.raises(LengthMismatchError) as info:
        codec.decode(packet(5, short), EMPP)
    assert info.value.field == "Msg_Content"
    # the same 73 bytes are a valid CMPP 3.0 Msg_Content only as an MO: 71 is the report size
    with pytest.raises(LengthMismatchError) as info:
        codec.decode(packet(5, b"\x00" * 8 + b"\x00" * 67 + b"\x01" + bytes([73]) + bytes(rep) + b"\x00" * 20), CMPP3)
    assert info.value.field == "Msg_Content"


def test_decode_accepts_buffers():
    pkt = codec.encode(deliver_report(), 3, EMPP)
    expected = codec.decode(pkt, EMPP)
    assert codec.decode(bytearray(pkt), EMPP) == expected
    assert codec.decode(memoryview(pkt), EMPP) == expected
    assert codec.decode(memoryview(b"xx" + pkt)[2:], EMPP) == expected
    assert codec.decode(memoryview(pkt + pkt)[:: 1][: len(pkt)], EMPP) == expected
    with pytest.raises(TypeError):
        codec.decode(pkt.decode("latin-1"), EMPP)


def test_text_decoding_cuts_at_nul_and_keeps_latin1():
    body = b"\x00" * 10 + b"1065\x00junk" + b"\x00" * 12 + b"\xff\xfe" + b"\x00" * 8 + b"\x00\x00\x00"
    body += b"abc".ljust(32, b"\x00") + b"\x00\x00\x00" + b"\x00" * 20
    got = codec.decode(packet(5, body), EMPP)[1]
    assert got.dest_id == "1065" and got.service_id == "\xff\xfe" and got.src_terminal_id == "abc"


# ---------------------------------------------------------------------------------------
# FrameDecoder


def stream(n: int, dialect=EMPP) -> tuple[bytes, list]:
    items = []
    out = bytearray()
    for i in range(n):
        if i % 3 == 0:
            pdu = codec.SubmitResp(msg_id=i.to_bytes(10, "big"), result=i % 7)
        elif i % 3 == 1:
            pdu = deliver_report(smsc_sequence=i)
        else:
            pdu = codec.ActiveTest()
        if dialect != EMPP:
            pdu = codec.ActiveTestResp(reserved=i % 256)
        items.append((i, pdu))
        out += codec.encode(pdu, i, dialect)
    return bytes(out), items


def test_frames_one_byte_at_a_time():
    data, items = stream(30)
    fd = codec.FrameDecoder(EMPP)
    got = []
    for i in range(len(data)):
        got += fd.feed(data[i : i + 1])
    assert got == items and fd.buffered == 0


def test_frames_all_at_once_and_in_odd_chunks():
    data, items = stream(10_000)
    assert codec.FrameDecoder(EMPP).feed(data) == items
    fd = codec.FrameDecoder(EMPP)
    got = []
    for i in range(0, len(data), 997):
        got += fd.feed(memoryview(data)[i : i + 997])
    assert got == items


def test_frames_buffered_and_buffer_types():
    pkt = codec.encode(deliver_report(), 1, EMPP)
    fd = codec.FrameDecoder(CMPP3 if False else EMPP)
    assert fd.feed(bytearray(pkt[:100])) == [] and fd.buffered == 100
    assert fd.feed(memoryview(pkt)[100:]) == [(1, deliver_report())] and fd.buffered == 0
    assert fd.feed(b"") == []
    with pytest.raises(TypeError):
        fd.feed("text")
    assert fd.dialect == EMPP and fd.max_length == 4096


def test_frame_total_length_too_small_poisons():
    good = codec.encode(codec.ActiveTest(), 1, EMPP)
    fd = codec.FrameDecoder(EMPP)
    with pytest.raises(FrameLengthError) as info:
        fd.feed(good + struct.pack(">III", 11, 8, 2) + good)
    assert info.value.pdus == [(1, codec.ActiveTest())]
    assert info.value.field == "Total_Length" and info.value.sequence_id == 2 and info.value.command_id == 8
    with pytest.raises(FrameLengthError):
        fd.feed(b"")
    with pytest.raises(FrameLengthError):
        fd.feed(good)


def test_frame_total_length_too_large_refused_on_four_bytes():
    fd = codec.FrameDecoder(EMPP, max_length=100)
    with pytest.raises(FrameLengthError) as info:
        fd.feed(struct.pack(">I", 101))
    assert info.value.pdus == [] and info.value.sequence_id is None
    fd = codec.FrameDecoder(EMPP)
    with pytest.raises(FrameLengthError):
        fd.feed(struct.pack(">I", 0xFFFFFFFF) + b"\x00" * 8)
    with pytest.raises(ValueError):
        codec.FrameDecoder(EMPP, max_length=11)


def test_frame_body_error_consumes_only_its_frame():
    a = codec.encode(codec.SubmitResp(msg_id=b"\x01" * 10, result=0), 1, EMPP)
    bad = packet(0x00000003, b"xyz", seq=2)
    c = codec.encode(codec.ActiveTest(), 3, EMPP)
    fd = codec.FrameDecoder(EMPP)
    with pytest.raises(UnknownCommandError) as info:
        fd.feed(a + bad + c + c[:5])
    e = info.value
    assert e.pdus == [(1, codec.SubmitResp(msg_id=b"\x01" * 10, result=0))]
    assert e.sequence_id == 2 and e.command_id == 3
    assert fd.buffered == len(c) + 5
    assert fd.feed(b"") == [(3, codec.ActiveTest())]
    assert fd.feed(c[5:]) == [(3, codec.ActiveTest())]


def test_frame_body_error_in_buffered_data():
    bad = packet(0x80000004, b"\x00" * 3, seq=4)
    c = codec.encode(codec.ActiveTest(), 5, EMPP)
    fd = codec.FrameDecoder(EMPP)
    assert fd.feed(bad[:7]) == []
    with pytest.raises(TruncatedError) as info:
        fd.feed(bad[7:] + c)
    assert info.value.pdus == [] and info.value.field == "Msg_Id" and info.value.sequence_id == 4
    assert fd.feed(b"") == [(5, codec.ActiveTest())]


def test_errors_are_protocol_errors_with_defaults():
    e = ProtocolError("x")
    assert e.pdus == () and e.sequence_id is None and e.command_id is None and e.field is None


# ---------------------------------------------------------------------------------------
# Authenticators (§1.5, §2.4)


def test_connect_authenticator_hand_computed():
    # MD5("10657109000001" || 9 x 0x00 || "secret" || "0102150405"), computed independently
    assert hashlib.md5(b"10657109000001" + b"\x00" * 9 + b"secret" + b"0102150405").hexdigest() == (
        "81643391fcfa37e10bac149986285f30"
    )
    auth = codec.connect_authenticator("10657109000001", "secret", 102150405)
    assert auth.hex() == "81643391fcfa37e10bac149986285f30"


def test_timestamp_and_build_connect():
    ts = codec.timestamp_from_datetime(dt.datetime(2024, 1, 2, 15, 4, 5))
    assert ts == 102150405
    for d, v in ((EMPP, 0x10), (CMPP2, 0x20), (CMPP3, 0x30)):
        c = codec.build_connect("901234", "pw", dt.datetime(2024, 12, 31, 23, 59, 59), d)
        assert c.version == v == codec.VERSIONS[d] and c.timestamp == 1231235959
        assert type(c) is codec.Connect
        assert codec.check_connect(c, "pw") and not codec.check_connect(c, "pw2")
        assert codec.decode(codec.encode(c, 1, d), d)[1] == c
    assert (codec.VERSION_EMPP, codec.VERSION_CMPP2, codec.VERSION_CMPP3) == (0x10, 0x20, 0x30)


def test_connect_resp_authenticator_status_width():
    src = bytes(range(16))
    assert codec.connect_resp_authenticator(0, src, "pw", CMPP2) == hashlib.md5(b"\x00" + src + b"pw").digest()
    assert codec.connect_resp_authenticator(0, src, "pw", CMPP3) == hashlib.md5(b"\x00" * 4 + src + b"pw").digest()
    assert codec.connect_resp_authenticator(20000, src, b"pw", EMPP) == hashlib.md5(
        struct.pack(">I", 20000) + src + b"pw"
    ).digest()
    with pytest.raises(FieldValueError):
        codec.connect_resp_authenticator(256, src, "pw", CMPP2)


def test_command_name():
    assert codec.command_name(0x80000004) == "SUBMIT_RESP"
    assert codec.command_name(0x1234) == "0x00001234"
