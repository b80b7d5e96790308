"""Every exception the SDK raises on purpose derives from :class:`SmsdkError`."""

from __future__ import annotations


class SmsdkError(Exception):
    """Base class of the SDK's errors."""


class ProtocolError(SmsdkError, ValueError):
    """Bytes that are not a valid PDU, or a PDU that cannot be encoded.

    ``field`` names the spec field at fault (``"Total_Length"``, ``"Msg_Length"``,
    ``"Dest_terminal_Id"`` ...) or is ``None`` when no single field is to blame.
    """

    #: When raised by ``FrameDecoder.feed``: the ``(sequence_id, pdu)`` pairs decoded earlier
    #: in the same call (a list), so that nothing is lost.  ``()`` otherwise.
    pdus: list | tuple = ()
    #: Sequence_Id / Command_Id of the offending packet when its header was readable.
    sequence_id: int | None = None
    command_id: int | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class FrameLengthError(ProtocolError):
    """Total_Length below 12, above the decoder's maximum, or unlike the packet's size."""


class UnknownCommandError(ProtocolError):
    """A Command_Id this dialect does not define (or the SDK does not decode)."""

    def __init__(self, message: str, *, command_id: int, field: str | None = "Command_Id") -> None:
        super().__init__(message, field=field)
        self.command_id = command_id


class TruncatedError(ProtocolError):
    """The body is shorter than its layout (or its own length fields) require."""


class LengthMismatchError(ProtocolError):
    """A length field (Msg_Length, DestUsr_tl ...) disagrees with the bytes present."""


class FieldValueError(ProtocolError):
    """A field's value cannot be put on the wire: too long, out of range, not digits ..."""


class PlanError(SmsdkError, ValueError):
    """A text that cannot be planned into SMS (empty, too many parts, bad signature ...)."""


class MsgIdError(SmsdkError, ValueError):
    """A Msg_Id of the wrong size or form, or arithmetic that leaves its range."""


class ReassemblyError(SmsdkError, ValueError):
    """A concatenated part whose UDH is malformed."""


class ClientStopped(SmsdkError):
    """The client was stopped (``stop()``, a TERMINATE from the platform, or a login refused
    for good): it sends nothing more.  The message says why."""
