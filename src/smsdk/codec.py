"""PDU codec for EMPP, CMPP 2.0 and CMPP 3.0 (layer 1 of ARCHITECTURE.md).

``encode(pdu, sequence_id, dialect) -> bytes``, ``decode(packet, dialect) ->
(sequence_id, pdu)`` and ``FrameDecoder(dialect).feed(chunk) -> [(sequence_id, pdu)]``.
The implementation is the compiled ``smsdk._codec`` unless ``SMSDK_NO_EXTENSIONS=1``
selects the pure-Python twin ``smsdk._codec_py``; both behave identically.
"""

from __future__ import annotations

from smsdk._accel import load

_impl, COMPILED = load("smsdk._codec", "smsdk._codec_py")

from smsdk._layouts import Dialect  # noqa: E402

# Every public name of the implementation is a public name here.
__all__ = ["COMPILED", "Dialect", *_impl.__all__]
globals().update({name: getattr(_impl, name) for name in _impl.__all__})
