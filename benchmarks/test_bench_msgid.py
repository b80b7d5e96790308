"""Msg_Id core: the calls a report-matching loop makes per report (compiled and twin)."""

from __future__ import annotations

BASE = bytes.fromhex("00000000000000fe0000")
MEMBER = bytes.fromhex("00000000000001020000")
CMPP = 0x372451C003E9FFFE


def measure(benchmark, fn, *args):
    """Time ``fn(*args)``, called once first: the first call into a freshly imported
    extension faults its code pages in (about 15 µs), and pytest-benchmark, calibrating on
    that call, would time one call per round and report the timer's overhead."""
    fn(*args)
    return benchmark(fn, *args)


def test_bench_empp_add(benchmark, msgid_impl):
    measure(benchmark, msgid_impl.empp_add, BASE, 4)


def test_bench_empp_group_index(benchmark, msgid_impl):
    measure(benchmark, msgid_impl.empp_group_index, BASE, MEMBER, 5)


def test_bench_empp_from_hex(benchmark, msgid_impl):
    measure(benchmark, msgid_impl.empp_from_hex, "b0000000000010010000")


def test_bench_cmpp_pack(benchmark, msgid_impl):
    measure(benchmark, msgid_impl.cmpp_pack, 3, 14, 9, 5, 7, 1001, 42)


def test_bench_cmpp_unpack(benchmark, msgid_impl):
    measure(benchmark, msgid_impl.cmpp_unpack, CMPP)


def test_bench_cmpp_group_index(benchmark, msgid_impl):
    measure(benchmark, msgid_impl.cmpp_group_index, CMPP, msgid_impl.cmpp_add(CMPP, 3), 5)


def test_bench_group_of_99_matched(benchmark):
    """Class level (whichever core smsdk.msgid selected): build a 99-recipient group and
    match every report to its recipient index."""
    from smsdk.msgid import EmppMsgId

    base = EmppMsgId(BASE)

    def run():
        members = [base + i for i in range(99)]
        return [m.group_index(base, 99) for m in members]

    benchmark(run)
