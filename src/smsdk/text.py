"""Text planning: classify, count and split a message the way the platform counts it.

``plan(text, signature=..., mode=...)`` returns the parts the SDK will submit and what each
recipient is billed; ``Reassembler`` joins received concatenated parts.  The implementation
is the compiled ``smsdk._split`` unless ``SMSDK_NO_EXTENSIONS=1`` selects ``smsdk._split_py``.
"""

from __future__ import annotations

from smsdk._accel import load

_impl, COMPILED = load("smsdk._split", "smsdk._split_py")

# The implementation's public names (smsdk._text_common.TEXT_API), one by one so that a
# reader and a tool see what this module holds; text.pyi gives their types.
# tests/test_stubs.py checks that both implementations have exactly these names and that
# this list is complete.
MSG_FMT_ASCII = _impl.MSG_FMT_ASCII
MSG_FMT_UCS2 = _impl.MSG_FMT_UCS2
MSG_FMT_GBK = _impl.MSG_FMT_GBK
Limits = _impl.Limits
DEFAULT_LIMITS = _impl.DEFAULT_LIMITS
Part = _impl.Part
Plan = _impl.Plan
count = _impl.count
classify = _impl.classify
plan = _impl.plan
parse_udh = _impl.parse_udh
Reassembler = _impl.Reassembler
ReassembledMessage = _impl.ReassembledMessage
IncompleteMessage = _impl.IncompleteMessage

__all__ = [
    "COMPILED",
    "MSG_FMT_ASCII",
    "MSG_FMT_UCS2",
    "MSG_FMT_GBK",
    "Limits",
    "DEFAULT_LIMITS",
    "Part",
    "Plan",
    "count",
    "classify",
    "plan",
    "parse_udh",
    "Reassembler",
    "ReassembledMessage",
    "IncompleteMessage",
]
