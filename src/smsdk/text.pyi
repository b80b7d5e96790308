# Type stub for smsdk.text, whose names are re-exported from the implementation chosen at
# import (compiled smsdk._split or the twin smsdk._split_py).  tests/test_stubs.py checks that
# it names exactly the implementation's TEXT_API.
from typing import Any

from smsdk._reassembly import (
    IncompleteMessage as IncompleteMessage,
    ReassembledMessage as ReassembledMessage,
    Reassembler as Reassembler,
)

COMPILED: bool
MSG_FMT_ASCII: int
MSG_FMT_UCS2: int
MSG_FMT_GBK: int

class Limits:
    cut: int
    single_max: int
    single_max_ascii: int
    part_chars: int
    part_chars_16: int
    max_parts: int
    signature_max: int
    def __init__(self, *, cut: int = ..., single_max: int = ..., single_max_ascii: int = ...,
                 part_chars: int = ..., part_chars_16: int = ..., max_parts: int = ...,
                 signature_max: int = ...) -> None: ...
    def replace(self, **changes: int) -> Limits: ...

DEFAULT_LIMITS: Limits

class Part:
    msg_fmt: int
    tp_udhi: int
    content: bytes
    text: str
    pk_total: int
    pk_number: int

class Plan:
    parts: tuple[Part, ...]
    text: str
    signature: str
    mode: str  # "single", "concat" or "pieces"
    chars: int
    signature_chars: int
    @property
    def sms_per_recipient(self) -> int: ...
    @property
    def encoding(self) -> str: ...  # "ascii", "gbk" or "ucs2"
    @property
    def received(self) -> tuple[str, ...]: ...

def count(text: str) -> int: ...
def classify(text: str) -> str: ...
def plan(text: str, *, signature: str = ..., mode: str = ..., limits: Limits | Any = ...,
         udh_reference: int = ..., udh16: bool = ...) -> Plan: ...
def parse_udh(content: bytes) -> tuple[int, int, int, int] | None: ...
