"""Text planning: classify, count and split a message the way the platform counts it.

``plan(text, signature=..., mode=...)`` returns the parts the SDK will submit and what each
recipient is billed; ``Reassembler`` joins received concatenated parts.  The implementation
is the compiled ``smsdk._split`` unless ``SMSDK_NO_EXTENSIONS=1`` selects ``smsdk._split_py``.
"""

from __future__ import annotations

from smsdk._accel import load

_impl, COMPILED = load("smsdk._split", "smsdk._split_py")

__all__ = ["COMPILED", *_impl.TEXT_API]
globals().update({name: getattr(_impl, name) for name in _impl.TEXT_API})
