"""Helpers for the fake platform's model tests: a small config, SUBMIT builders, sinks."""

from __future__ import annotations

from dataclasses import dataclass

from twisted.internet.task import Clock


MAIN = "10657109000001"
SUB = MAIN + "01"
MAIN_PW = "main-pw"
SUB_PW = "sub-pw"
SIG = "【示例科技】"  # 6 chars
MOBILE = "13800138000"
MOBILE2 = "13900139000"
UNICOM = "13000130000"
TELECOM = "13300133000"
PHS = "02112345678"
EB_NUMBER = "13800138666"

# 2024-05-01 08:00:00 China time at clock 0.
EPOCH = "2024-05-01T08:00:00+08:00"


def config_text(*, platform: str = "", network: str = "", enterprise: str = "",
                accounts: str = "", more: str = "") -> str:
    return f"""
[platform]
epoch = "{EPOCH}"
{platform}

[network]
delay_min = 1.0
delay_max = 1.0
{network}

[[enterprise]]
id = "E1"
service_code = "{MAIN}"
signature = "{SIG}"
package = "standard"
blacklist = ["{EB_NUMBER}"]
extensions = ["88"]
{enterprise}

[[enterprise.accounts]]
extension = ""
password = "{MAIN_PW}"

[[enterprise.accounts]]
extension = "01"
password = "{SUB_PW}"
{accounts}
{more}
"""


@dataclass
class FakeSubmit:
    """A duck-typed SUBMIT (the model never needs the codec's class)."""

    dest_terminal_id: tuple = (MOBILE,)
    msg_content: bytes = b"hello"
    msg_fmt: int = 0
    tp_udhi: int = 0
    src_id: str = ""
    service_id: str = ""
    at_time: str = ""
    registered_delivery: int = 1


def text_submit(text: str, to=(MOBILE,), **kw) -> FakeSubmit:
    """A SUBMIT without UDH carrying ``text`` (ASCII → 0, GBK → 15, else UCS2 → 8)."""
    if text.isascii():
        fmt, content = 0, text.encode("ascii")
    else:
        try:
            fmt, content = 15, text.encode("gbk")
        except UnicodeEncodeError:
            fmt, content = 8, text.encode("utf-16-be")
    return FakeSubmit(dest_terminal_id=tuple(to), msg_content=content, msg_fmt=fmt, **kw)


def part_submit(text: str, ref: int, total: int, number: int, to=(MOBILE,), *,
                udh16: bool = False, **kw) -> FakeSubmit:
    if udh16:
        udh = bytes((6, 8, 4, ref >> 8, ref & 0xFF, total, number))
    else:
        udh = bytes((5, 0, 3, ref, total, number))
    return FakeSubmit(dest_terminal_id=tuple(to), msg_content=udh + text.encode("utf-16-be"),
                      msg_fmt=8, tp_udhi=1, **kw)


class RecordingSink:
    def __init__(self, name: str = "sink") -> None:
        self.name = name
        self.items: list = []
        self.kicks = 0

    def deliver(self, item) -> None:
        self.items.append(item)

    def kicked(self) -> None:
        self.kicks += 1

    @property
    def reports(self):
        return [i for i in self.items if i.kind == "report"]

    @property
    def mos(self):
        return [i for i in self.items if i.kind == "mo"]

    def __repr__(self) -> str:
        return f"RecordingSink({self.name})"


def settle(clock: Clock, seconds: float = 10.0) -> None:
    """Run what is due now, then let ``seconds`` pass."""
    clock.advance(0)
    clock.advance(seconds)
