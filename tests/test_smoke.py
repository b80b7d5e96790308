"""The installed package works end to end: the implementation the environment asks for is
the one in use, and a PDU survives encode -> bytes -> decode."""

from __future__ import annotations

import importlib.machinery

import smsdk
from smsdk import codec, msgid, text
from smsdk._accel import extensions_disabled, extensions_required

MODULES = {codec: "smsdk._codec", text: "smsdk._split", msgid: "smsdk._msgid"}


def _is_extension(module) -> bool:
    return module.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def test_the_implementation_in_use_is_the_one_the_environment_asks_for():
    impls = {m: (m._impl if hasattr(m, "_impl") else m._core) for m in MODULES}
    if extensions_disabled():
        assert smsdk.COMPILED is False
        for facade, impl in impls.items():
            assert facade.COMPILED is False and impl.__name__ == MODULES[facade] + "_py", facade
            assert not _is_extension(impl)
    elif extensions_required():
        assert smsdk.COMPILED is True
        for facade, impl in impls.items():
            assert facade.COMPILED is True and impl.__name__ == MODULES[facade], facade
            assert _is_extension(impl), impl.__file__
    else:
        assert smsdk.COMPILED is all(m.COMPILED for m in MODULES)


def test_a_submit_survives_encode_and_decode_in_every_dialect():
    for dialect in codec.Dialect:
        pdu = codec.Submit(
            msg_id=bytes(10 if dialect == codec.Dialect.EMPP else 8),
            src_id="10657109000001",
            dest_terminal_id=("13800138000", "13900139000"),
            msg_fmt=8,
            msg_content="您好".encode("utf-16-be"),
        )
        packet = codec.encode(pdu, 7, dialect)
        assert int.from_bytes(packet[:4], "big") == len(packet)
        assert int.from_bytes(packet[4:8], "big") == codec.CommandId.SUBMIT
        sequence_id, decoded = codec.decode(packet, dialect)
        assert (sequence_id, decoded) == (7, pdu), dialect
        assert codec.FrameDecoder(dialect).feed(packet[:5]) == []


def test_a_text_plan_and_a_msg_id_group_are_computed():
    plan = text.plan("长" * 130, signature="【示例科技】")
    assert [len(p.text) for p in plan.parts] == [67, 61, 2] and plan.sms_per_recipient == 3
    first = msgid.EmppMsgId.from_hex("b0000000000010010000")
    assert (first + 5).hex == "b0000000000010060000"
