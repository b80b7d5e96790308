"""Codec benchmarks (measure only), each against the compiled codec and its twin.

Targets (median, one core): encode EMPP SUBMIT (1 and 5 destinations, content already
encoded) <= 0.5 us; decode EMPP SUBMIT_RESP <= 0.5 us; decode an EMPP DELIVER status report
<= 0.5 us; FrameDecoder over a 10 000-PDU buffer of SUBMIT_RESPs and DELIVER reports
<= 0.3 us per PDU.  Construction (no issue target; the fake platform builds a SubmitResp, a
StatusReport and a Deliver per SUBMIT, positionally, and the client a Submit by keywords):
positional within about 2x of ``cls.__new__(cls)`` alone.

The dialect is bound once, as a caller would (reading ``Dialect.EMPP`` costs ~0.1 us on
Python 3.11 by itself).  The 10 000-PDU stream uses distinct Msg_Ids, recipients and
sequence numbers, so it measures real decoding, not the text cache.
"""

from __future__ import annotations

import pytest

from smsdk._layouts import Dialect

EMPP = Dialect.EMPP
CONTENT = "【某某银行】您的验证码是123456，5分钟内有效，请勿泄露。".encode("gbk")


def _submit(m, n: int):
    return m.Submit(
        src_id="106571090000011",
        service_id="000000000",
        fee_terminal_id="13800138000",
        dest_terminal_id=[f"1380013{i:04d}" for i in range(n)],
        msg_content=CONTENT,
    )


def _report(m, i: int):
    return m.Deliver(
        msg_id=(0xB000000000001000 + i).to_bytes(8, "big") + b"\x00\x00",
        dest_id="106571090000011",
        src_terminal_id=f"1390000{i % 10000:04d}",
        registered_delivery=1,
        msg_content=m.StatusReport(
            msg_id=(0xA000000000002000 + i).to_bytes(8, "big") + b"\x00\x00",
            stat="DELIVRD" if i % 10 else "UNDELIV",
            submit_time=f"24010215{i // 60 % 60:02d}",
            done_time=f"24010215{(i // 60 + 1) % 60:02d}",
            dest_terminal_id=f"1390000{i % 10000:04d}",
            smsc_sequence=100000 + i,
        ),
    )


@pytest.mark.parametrize("n", [1, 5])
def test_encode_submit(benchmark, codec_impl, n):
    pdu = _submit(codec_impl, n)
    benchmark(codec_impl.encode, pdu, 123456, EMPP)


def test_decode_submit_resp(benchmark, codec_impl):
    pkt = codec_impl.encode(codec_impl.SubmitResp(msg_id=bytes(range(10)), result=0), 123456, EMPP)
    benchmark(codec_impl.decode, pkt, EMPP)


def test_decode_deliver_report(benchmark, codec_impl):
    pkt = codec_impl.encode(_report(codec_impl, 7), 123456, EMPP)
    benchmark(codec_impl.decode, pkt, EMPP)


def _stream(m) -> bytes:
    parts = []
    for i in range(10_000):
        if i % 2:
            pdu = m.SubmitResp(msg_id=(0xB000000000001000 + i).to_bytes(8, "big") + b"\x00\x00", result=0)
        else:
            pdu = _report(m, i)
        parts.append(m.encode(pdu, 1000 + i, EMPP))
    return b"".join(parts)


def test_frame_decoder_10000(benchmark, codec_impl):
    """feed() of 10 000 PDUs in one buffer; per-PDU cost = this median / 10 000.

    The 10 000 decoded PDUs are freed between rounds, outside the timing (the next case
    includes that)."""
    m = codec_impl
    stream = _stream(m)
    kept = []

    def setup():
        kept.clear()  # free the previous round's PDUs here, untimed
        return (), {}

    def run():
        kept.append(m.FrameDecoder(EMPP).feed(stream))

    benchmark.pedantic(run, setup=setup, rounds=60 if m.__name__.endswith("_codec") else 5, warmup_rounds=1)
    assert len(kept[0]) == 10_000


def test_frame_decoder_10000_and_free(benchmark, codec_impl):
    """The same, with freeing the 10 000 PDUs inside the timing."""
    m = codec_impl
    stream = _stream(m)
    benchmark(lambda: m.FrameDecoder(EMPP).feed(stream))


# ---------------------------------------------------------------------------------------
# Construction: what a server builds per SUBMIT (positionally) and a client per SUBMIT.
# A fixed 100 calls per round (the time shown is per call): left to calibrate itself,
# pytest-benchmark sometimes settles on one call per round for these ~0.1 us calls, and
# then mostly times its own timer.

MSG_ID = bytes.fromhex("b000000000001001aabb")


def _report_args():
    return (MSG_ID, "DELIVRD", "2401021504", "2401021505", "13800138000", 100007)


def _construct(benchmark, m, cls, args=(), kwargs=None):
    rounds = 2000 if m.__name__.endswith("_codec") else 200
    benchmark.pedantic(cls, args=args, kwargs=kwargs, iterations=100, rounds=rounds, warmup_rounds=5)


def test_construct_submit_resp(benchmark, codec_impl):
    _construct(benchmark, codec_impl, codec_impl.SubmitResp, (MSG_ID, 0))


def test_construct_status_report(benchmark, codec_impl):
    _construct(benchmark, codec_impl, codec_impl.StatusReport, _report_args())


def test_construct_deliver_report(benchmark, codec_impl):
    m = codec_impl
    rep = m.StatusReport(*_report_args())
    args = (MSG_ID, "106571090000011", "", 0, 0, 0, "13800138000", 0, 1, rep, "")
    _construct(benchmark, m, m.Deliver, args)


def test_construct_submit_keywords(benchmark, codec_impl):
    kw = dict(
        pk_total=1,
        pk_number=1,
        registered_delivery=1,
        service_id="000000000",
        msg_fmt=15,
        src_id="106571090000011",
        dest_terminal_id=("13800138000",),
        msg_content=CONTENT,
    )
    _construct(benchmark, codec_impl, codec_impl.Submit, kwargs=kw)
