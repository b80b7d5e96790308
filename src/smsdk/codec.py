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

# The implementation's public names (smsdk._layouts.CODEC_API), one by one so that a reader
# and a tool see what this module holds; codec.pyi gives their types.  tests/test_stubs.py
# checks that both implementations have exactly these names and that this list is complete.
Connect = _impl.Connect
ConnectResp = _impl.ConnectResp
Submit = _impl.Submit
SubmitResp = _impl.SubmitResp
Deliver = _impl.Deliver
DeliverResp = _impl.DeliverResp
StatusReport = _impl.StatusReport
ActiveTest = _impl.ActiveTest
ActiveTestResp = _impl.ActiveTestResp
Terminate = _impl.Terminate
TerminateResp = _impl.TerminateResp
Unauthorization = _impl.Unauthorization
ChangePass = _impl.ChangePass
ChangePassResp = _impl.ChangePassResp
PDU_CLASSES = _impl.PDU_CLASSES
encode = _impl.encode
decode = _impl.decode
FrameDecoder = _impl.FrameDecoder
CommandId = _impl.CommandId
command_name = _impl.command_name
HEADER_SIZE = _impl.HEADER_SIZE
DEFAULT_MAX_LENGTH = _impl.DEFAULT_MAX_LENGTH
VERSION_EMPP = _impl.VERSION_EMPP
VERSION_CMPP2 = _impl.VERSION_CMPP2
VERSION_CMPP3 = _impl.VERSION_CMPP3
VERSIONS = _impl.VERSIONS
timestamp_from_datetime = _impl.timestamp_from_datetime
connect_authenticator = _impl.connect_authenticator
connect_resp_authenticator = _impl.connect_resp_authenticator
build_connect = _impl.build_connect
check_connect = _impl.check_connect

__all__ = [
    "COMPILED",
    "Dialect",
    "Connect",
    "ConnectResp",
    "Submit",
    "SubmitResp",
    "Deliver",
    "DeliverResp",
    "StatusReport",
    "ActiveTest",
    "ActiveTestResp",
    "Terminate",
    "TerminateResp",
    "Unauthorization",
    "ChangePass",
    "ChangePassResp",
    "PDU_CLASSES",
    "encode",
    "decode",
    "FrameDecoder",
    "CommandId",
    "command_name",
    "HEADER_SIZE",
    "DEFAULT_MAX_LENGTH",
    "VERSION_EMPP",
    "VERSION_CMPP2",
    "VERSION_CMPP3",
    "VERSIONS",
    "timestamp_from_datetime",
    "connect_authenticator",
    "connect_resp_authenticator",
    "build_connect",
    "check_connect",
]
