"""Hand-built packets for every PDU of every dialect (docs/PROTOCOL.md §1.3-§1.16, §2.2-§2.9).

The expected bytes are put together here with struct.pack and literals, field by field in
the order and widths the spec gives, independently of the codec and its layout tables.
Each vector is checked both ways: encode(pdu) == bytes and decode(bytes) == pdu.
"""

from __future__ import annotations

import struct

import pytest

from smsdk import codec
from smsdk._layouts import Dialect

EMPP, CMPP2, CMPP3 = Dialect.EMPP, Dialect.CMPP2, Dialect.CMPP3
SEQ = 0x01020304


def u8(v: int) -> bytes:
    return struct.pack(">B", v)


def u32(v: int) -> bytes:
    return struct.pack(">I", v)


def octets(text: str, n: int) -> bytes:
    raw = text.encode("latin-1")
    assert len(raw) <= n
    return raw + b"\x00" * (n - len(raw))


def packet(command_id: int, body: bytes, seq: int = SEQ) -> bytes:
    return struct.pack(">III", 12 + len(body), command_id, seq) + body


AUTH = bytes(range(16))
AUTH2 = bytes(range(100, 116))
MID10 = bytes.fromhex("b0000000000010010000")
MID8 = bytes.fromhex("1122334455667788")
CONTENT20 = "验证码：123456，请勿泄露".encode("gbk")[:20]
assert len(CONTENT20) == 20
REPORT_KW = dict(stat="DELIVRD", submit_time="2401021504", done_time="2401021505", smsc_sequence=77)


def check(pdu, pkt: bytes, dialect: Dialect, size: int | None = None) -> None:
    assert codec.encode(pdu, SEQ, dialect) == pkt
    assert codec.decode(pkt, dialect) == (SEQ, pdu)
    if size is not None:
        assert len(pkt) == size


# ---------------------------------------------------------------------------------------
# EMPP (§1.5-§1.11, sizes §1.16)


def test_empp_connect_54():
    pdu = codec.Connect(
        source_addr="10657109000001", authenticator_source=AUTH, version=0x10, timestamp=102150405
    )
    body = octets("10657109000001", 21) + AUTH + u8(0x10) + u32(102150405)
    pkt = packet(0x00000001, body)
    check(pdu, pkt, EMPP, 54)
    assert pkt[12 + 37] == 0x10 and pkt[12 + 38 : 12 + 42] == u32(102150405)


def test_empp_connect_resp_37_with_ability():
    pdu = codec.ConnectResp(status=20000, authenticator_ismg=AUTH2, version=0x10, ability=2)
    body = u32(20000) + AUTH2 + u8(0x10) + u32(2)
    check(pdu, packet(0x80000001, body), EMPP, 37)


def test_empp_connect_resp_without_ability_decodes_ability_none():
    """§1.15: a 21-byte body (33-byte packet) without Ability; encoding ability=None makes one."""
    pdu = codec.ConnectResp(status=0, authenticator_ismg=AUTH2, version=0x10, ability=None)
    check(pdu, packet(0x80000001, u32(0) + AUTH2 + u8(0x10)), EMPP, 33)


def submit_empp_body(dests: list[str], content: bytes) -> bytes:
    return (
        MID10  # 0 Msg_Id 10
        + u8(1)  # 10 Pk_total
        + u8(1)  # 11 Pk_number
        + u8(1)  # 12 Registered_Delivery
        + u8(15)  # 13 Msg_Fmt
        + octets("", 17)  # 14 ValId_Time
        + octets("240102150405032+", 17)  # 31 At_Time
        + u32(len(dests))  # 48 DestUsr_tl (uint32 in EMPP)
        + b"".join(octets(n, 32) for n in dests)  # 52 Dest_terminal_Id 32*n
        + u8(len(content))  # 52+32n Msg_Length
        + content  # 53+32n Msg_Content
        + octets("", 21)  # Msg_src 21
        + octets("106571090000011", 21)  # Src_Id 21
        + octets("000000000", 10)  # Service_Id 10
        + octets("LINK", 20)  # LinkID 20
        + u8(1)  # Msg_level
        + u8(2)  # Fee_UserType
        + octets("13900139000", 32)  # Fee_terminal_Id 32
        + u8(1)  # Fee_terminal_type
        + u8(0)  # TP_pId
        + u8(0)  # TP_udhi
        + octets("01", 2)  # FeeType
        + octets("0", 6)  # FeeCode
        + u8(0)  # Dest_terminal_type
    )


def empp_submit(dests, content):
    return codec.Submit(
        msg_id=MID10,
        msg_fmt=15,
        at_time="240102150405032+",
        dest_terminal_id=dests,
        msg_content=content,
        src_id="106571090000011",
        service_id="000000000",
        link_id="LINK",
        fee_terminal_id="13900139000",
        fee_terminal_type=1,
    )


def test_empp_submit_one_destination_20_bytes_is_235():
    dests = ["13800138000"]
    pkt = packet(0x00000004, submit_empp_body(dests, CONTENT20))
    check(empp_submit(dests, CONTENT20), pkt, EMPP, 12 + 171 + 32 + 20)
    body = pkt[12:]
    assert body[48:52] == u32(1)
    assert body[52:63] == b"13800138000"
    assert body[52 + 32] == 20 and body[53 + 32 : 73 + 32] == CONTENT20


def test_empp_submit_five_destinations():
    dests = [f"1380013800{i}" for i in range(5)]
    content = b"hello"
    check(empp_submit(dests, content), packet(4, submit_empp_body(dests, content)), EMPP, 12 + 171 + 160 + 5)


def test_empp_submit_msg_id_empty_means_zeros():
    pdu = empp_submit(["13800138000"], b"x").replace(msg_id=b"")
    pkt = codec.encode(pdu, SEQ, EMPP)
    assert pkt[12:22] == b"\x00" * 10
    assert codec.decode(pkt, EMPP)[1].msg_id == b"\x00" * 10


def test_empp_submit_resp_26():
    check(codec.SubmitResp(msg_id=MID10, result=10004), packet(0x80000004, MID10 + u32(10004)), EMPP, 26)


def report_empp_bytes() -> bytes:
    return (
        MID10  # 0 Msg_Id 10
        + octets("DELIVRD", 7)  # 10 Stat
        + octets("2401021504", 10)  # 17 Submit_time
        + octets("2401021505", 10)  # 27 Done_time
        + octets("13800138000", 32)  # 37 Dest_terminal_Id
        + u32(77)  # 69 SMSC_sequence
    )


def test_empp_deliver_report_184():
    rep = report_empp_bytes()
    assert len(rep) == 73
    body = (
        MID8 + b"\x00\x00"  # 0 Msg_Id 10 (the DELIVER's own id)
        + octets("10657109000001", 21)  # 10 Dest_Id
        + octets("", 10)  # 31 Service_Id
        + u8(0) + u8(0) + u8(0)  # 41 TP_pid, TP_udhi, Msg_Fmt
        + octets("13800138000", 32)  # 44 Src_terminal_Id
        + u8(0)  # 76 Src_terminal_type
        + u8(1)  # 77 Registered_Delivery
        + u8(73)  # 78 Msg_Length
        + rep  # 79 Msg_Content
        + octets("", 20)  # 79+L LinkID
    )
    pdu = codec.Deliver(
        msg_id=MID8 + b"\x00\x00",
        dest_id="10657109000001",
        src_terminal_id="13800138000",
        registered_delivery=1,
        msg_content=codec.StatusReport(msg_id=MID10, dest_terminal_id="13800138000", **REPORT_KW),
    )
    pkt = packet(0x00000005, body)
    check(pdu, pkt, EMPP, 184)
    assert pkt[12 + 79 + 10 : 12 + 79 + 17] == b"DELIVRD"  # [NODE] reads Stat at pkt offset 101
    got = codec.decode(pkt, EMPP)[1]
    assert got.is_report and got.report.stat == "DELIVRD" and got.report.smsc_sequence == 77


def test_empp_deliver_mo():
    content = "你好".encode("gbk")
    body = (
        MID10
        + octets("106571090000012", 21)
        + octets("svc", 10)
        + u8(0) + u8(0) + u8(15)
        + octets("8613800138000", 32)
        + u8(0)
        + u8(0)
        + u8(len(content))
        + content
        + octets("linkid-1", 20)
    )
    pdu = codec.Deliver(
        msg_id=MID10,
        dest_id="106571090000012",
        service_id="svc",
        msg_fmt=15,
        src_terminal_id="8613800138000",
        msg_content=content,
        link_id="linkid-1",
    )
    check(pdu, packet(5, body), EMPP, 12 + 99 + 4)
    got = codec.decode(packet(5, body), EMPP)[1]
    assert not got.is_report and got.report is None


def test_empp_deliver_resp_26():
    check(codec.DeliverResp(msg_id=MID10, result=0), packet(0x80000005, MID10 + u32(0)), EMPP, 26)


@pytest.mark.parametrize("dialect", [EMPP, CMPP2, CMPP3])
def test_active_test_12_and_resp_13(dialect):
    check(codec.ActiveTest(), packet(0x00000008, b""), dialect, 12)
    check(codec.ActiveTestResp(reserved=0), packet(0x80000008, b"\x00"), dialect, 13)
    check(codec.ActiveTestResp(reserved=7), packet(0x80000008, b"\x07"), dialect, 13)


@pytest.mark.parametrize("dialect", [EMPP, CMPP2, CMPP3])
def test_active_test_resp_empty_body_accepted(dialect):
    assert codec.decode(packet(0x80000008, b""), dialect) == (SEQ, codec.ActiveTestResp(reserved=0))


@pytest.mark.parametrize("dialect", [EMPP, CMPP2, CMPP3])
def test_terminate_12(dialect):
    check(codec.Terminate(), packet(0x00000002, b""), dialect, 12)
    check(codec.TerminateResp(), packet(0x80000002, b""), dialect, 12)


def test_empp_unauthorization():
    check(codec.Unauthorization(unauth_command_id=0x16), packet(0x80000017, u32(0x16)), EMPP, 16)


def test_empp_changepass():
    pdu = codec.ChangePass(old_password="old-secret", new_password="new-secret-16chr")
    body = octets("old-secret", 16) + octets("new-secret-16chr", 16)
    check(pdu, packet(0x00000012, body), EMPP, 44)
    check(
        codec.ChangePassResp(result=1, password="pw"),
        packet(0x80000012, u32(1) + octets("pw", 16)),
        EMPP,
        32,
    )


# ---------------------------------------------------------------------------------------
# CMPP 2.0 / 3.0 (§2.4-§2.9)


@pytest.mark.parametrize("dialect,version", [(CMPP2, 0x20), (CMPP3, 0x30)])
def test_cmpp_connect_39(dialect, version):
    pdu = codec.Connect(source_addr="901234", authenticator_source=AUTH, version=version, timestamp=1231235959)
    body = octets("901234", 6) + AUTH + u8(version) + u32(1231235959)
    check(pdu, packet(1, body), dialect, 39)


def test_cmpp2_connect_resp_30():
    check(
        codec.ConnectResp(status=3, authenticator_ismg=AUTH2, version=0x20),
        packet(0x80000001, u8(3) + AUTH2 + u8(0x20)),
        CMPP2,
        30,
    )


def test_cmpp3_connect_resp_33():
    check(
        codec.ConnectResp(status=3, authenticator_ismg=AUTH2, version=0x30),
        packet(0x80000001, u32(3) + AUTH2 + u8(0x30)),
        CMPP3,
        33,
    )


def cmpp_submit_pdu(dests, content, v3: bool):
    kw = dict(
        msg_id=MID8,
        pk_total=2,
        pk_number=1,
        registered_delivery=1,
        msg_level=9,
        service_id="HELP",
        fee_user_type=3,
        fee_terminal_id="13900139000",
        tp_pid=0,
        tp_udhi=1,
        msg_fmt=8,
        msg_src="901234",
        fee_type="02",
        fee_code="10",
        valid_time="240102150405032+",
        at_time="",
        src_id="1065901234",
        dest_terminal_id=dests,
        msg_content=content,
        link_id="LINK-ID" if v3 else "RSV",
    )
    if v3:
        kw.update(fee_terminal_type=1, dest_terminal_type=1)
    return codec.Submit(**kw)


def cmpp_submit_body(dests, content, v3: bool) -> bytes:
    term = 32 if v3 else 21
    return (
        MID8  # Msg_Id 8
        + u8(2) + u8(1) + u8(1) + u8(9)  # Pk_total, Pk_number, Registered_Delivery, Msg_level
        + octets("HELP", 10)  # Service_Id
        + u8(3)  # Fee_UserType
        + octets("13900139000", term)  # Fee_terminal_Id 21 / 32
        + (u8(1) if v3 else b"")  # Fee_terminal_type (3.0)
        + u8(0) + u8(1) + u8(8)  # TP_pId, TP_udhi, Msg_Fmt
        + octets("901234", 6)  # Msg_src
        + octets("02", 2)  # FeeType
        + octets("10", 6)  # FeeCode
        + octets("240102150405032+", 17)  # ValId_Time
        + octets("", 17)  # At_Time
        + octets("1065901234", 21)  # Src_Id
        + u8(len(dests))  # DestUsr_tl (uint8 in CMPP)
        + b"".join(octets(n, term) for n in dests)  # Dest_terminal_Id
        + (u8(1) if v3 else b"")  # Dest_terminal_type (3.0)
        + u8(len(content))  # Msg_Length
        + content
        + (octets("LINK-ID", 20) if v3 else octets("RSV", 8))  # LinkID 20 / Reserve 8
    )


@pytest.mark.parametrize("n", [1, 3])
def test_cmpp2_submit(n):
    dests = [f"8613800138{i:03d}" for i in range(n)]
    content = b"\x05\x00\x03\x01\x02\x01" + "短信".encode("utf-16-be")
    size = 12 + 117 + 21 * n + 1 + len(content) + 8
    check(cmpp_submit_pdu(dests, content, False), packet(4, cmpp_submit_body(dests, content, False)), CMPP2, size)


@pytest.mark.parametrize("n", [1, 3])
def test_cmpp3_submit(n):
    dests = [f"8613800138{i:03d}" for i in range(n)]
    content = b"x" * 159
    size = 12 + 129 + 32 * n + 1 + 1 + len(content) + 20
    check(cmpp_submit_pdu(dests, content, True), packet(4, cmpp_submit_body(dests, content, True)), CMPP3, size)


def test_cmpp_submit_resp():
    check(codec.SubmitResp(msg_id=MID8, result=8), packet(0x80000004, MID8 + u8(8)), CMPP2, 21)
    check(codec.SubmitResp(msg_id=MID8, result=8), packet(0x80000004, MID8 + u32(8)), CMPP3, 24)


def test_cmpp_deliver_resp():
    check(codec.DeliverResp(msg_id=MID8, result=3), packet(0x80000005, MID8 + u8(3)), CMPP2, 21)
    check(codec.DeliverResp(msg_id=MID8, result=3), packet(0x80000005, MID8 + u32(3)), CMPP3, 24)


@pytest.mark.parametrize("v3", [False, True])
def test_cmpp_deliver_report(v3):
    dialect = CMPP3 if v3 else CMPP2
    term = 32 if v3 else 21
    rep = MID8 + octets("UNDELIV", 7) + octets("2401021504", 10) + octets("2401021505", 10)
    rep += octets("13800138000", term) + u32(77)
    assert len(rep) == (71 if v3 else 60)
    body = (
        MID8
        + octets("1065901234", 21)  # Dest_Id
        + octets("HELP", 10)  # Service_Id
        + u8(0) + u8(0) + u8(0)  # TP_pid, TP_udhi, Msg_Fmt
        + octets("13800138000", term)  # Src_terminal_Id
        + (u8(0) if v3 else b"")  # Src_terminal_type (3.0)
        + u8(1)  # Registered_Delivery
        + u8(len(rep))  # Msg_Length
        + rep
        + (octets("", 20) if v3 else octets("", 8))  # LinkID / Reserve
    )
    pdu = codec.Deliver(
        msg_id=MID8,
        dest_id="1065901234",
        service_id="HELP",
        src_terminal_id="13800138000",
        registered_delivery=1,
        msg_content=codec.StatusReport(
            msg_id=MID8, stat="UNDELIV", submit_time="2401021504", done_time="2401021505",
            dest_terminal_id="13800138000", smsc_sequence=77,
        ),
    )
    check(pdu, packet(5, body), dialect, 12 + (77 + 71 + 20 if v3 else 65 + 60 + 8))


@pytest.mark.parametrize("v3", [False, True])
def test_cmpp_deliver_mo(v3):
    dialect = CMPP3 if v3 else CMPP2
    term = 32 if v3 else 21
    content = b"TD"
    body = (
        MID8 + octets("1065901234", 21) + octets("", 10) + u8(0) + u8(0) + u8(0)
        + octets("13800138000", term) + (u8(0) if v3 else b"") + u8(0) + u8(2) + content
        + (octets("L", 20) if v3 else octets("L", 8))
    )
    pdu = codec.Deliver(
        msg_id=MID8, dest_id="1065901234", src_terminal_id="13800138000", msg_content=content, link_id="L"
    )
    check(pdu, packet(5, body), dialect, 12 + len(body))


@pytest.mark.parametrize("dialect", [CMPP2, CMPP3])
@pytest.mark.parametrize("name", ["Unauthorization", "ChangePass", "ChangePassResp"])
def test_empp_only_commands_are_unknown_in_cmpp(dialect, name):
    from smsdk.errors import UnknownCommandError

    with pytest.raises(UnknownCommandError) as info:
        codec.encode(getattr(codec, name)(), 1, dialect)
    assert info.value.command_id == getattr(codec, name).command_id
    body = {"Unauthorization": u32(4), "ChangePass": b"\x00" * 32, "ChangePassResp": b"\x00" * 20}[name]
    with pytest.raises(UnknownCommandError):
        codec.decode(packet(getattr(codec, name).command_id, body), dialect)
