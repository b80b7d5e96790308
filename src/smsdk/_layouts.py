"""Field layouts of every PDU, per dialect: the single source of truth for the codec.

Both codec implementations are driven by these tables: the pure-Python twin
(``_codec_py``) interprets them directly, the compiled codec (``_codec.pyx``) compiles them
into C arrays when it is imported.  Offsets and sizes follow docs/PROTOCOL.md (EMPP §1.3 to
§1.11, CMPP §2.2 to §2.9).

Two tables:

* :data:`RECORDS` -- one :class:`RecordSpec` per value class: its attribute names (the
  spec's field names in snake_case), the Python type of each attribute and its default.
  The classes' ``_fields`` come from here.
* :data:`LAYOUTS` -- per dialect, per class, the wire layout: a tuple of :class:`Field`,
  in wire order.  An attribute of the class that a dialect's layout does not name cannot be
  carried by that dialect: it must hold its default when encoding and decodes as its
  default.  A class missing from a dialect's table is a command that dialect does not have.
"""

from __future__ import annotations

import enum
from typing import NamedTuple


class Dialect(enum.IntEnum):
    EMPP = 1
    CMPP2 = 2
    CMPP3 = 3


class CommandId(enum.IntEnum):
    """Command_Id values of the PDUs the codec knows (EMPP §1.4, CMPP §2.3)."""

    CONNECT = 0x00000001
    CONNECT_RESP = 0x80000001
    TERMINATE = 0x00000002
    TERMINATE_RESP = 0x80000002
    SUBMIT = 0x00000004
    SUBMIT_RESP = 0x80000004
    DELIVER = 0x00000005
    DELIVER_RESP = 0x80000005
    ACTIVE_TEST = 0x00000008
    ACTIVE_TEST_RESP = 0x80000008
    CHANGEPASS = 0x00000012  # EMPP only (CMPP's 0x12 is GET_MT_ROUTE)
    CHANGEPASS_RESP = 0x80000012  # EMPP only
    UNAUTHORIZATION = 0x80000017  # EMPP only, server -> client


#: Version byte a client puts in CONNECT, per dialect.
VERSION_EMPP = 0x10
VERSION_CMPP2 = 0x20
VERSION_CMPP3 = 0x30
VERSIONS: dict[Dialect, int] = {
    Dialect.EMPP: VERSION_EMPP,
    Dialect.CMPP2: VERSION_CMPP2,
    Dialect.CMPP3: VERSION_CMPP3,
}

#: Bytes of the header common to every PDU (Total_Length, Command_Id, Sequence_Id).
HEADER_SIZE = 12
#: FrameDecoder's default ceiling for Total_Length.
DEFAULT_MAX_LENGTH = 4096
#: Largest Msg_Content the one-byte Msg_Length can announce.
MAX_CONTENT = 255

# ---------------------------------------------------------------------------------------
# Attribute types (how the constructor checks and normalises a value).

T_INT = 1  #: int (bool and IntEnum are stored as plain int)
T_OPTINT = 2  #: int or None
T_STR = 3  #: str (an Octet String of text)
T_BYTES = 4  #: bytes; bytearray / memoryview are copied to bytes
T_STRS = 5  #: sequence of str (not a bare str), stored as a tuple
T_CONTENT = 6  #: bytes-like, stored as bytes
T_CONTENT_REPORT = 7  #: bytes-like or a StatusReport

# Wire kinds.

U8 = 1  #: unsigned 8-bit integer
U32 = 2  #: unsigned 32-bit big-endian integer
BYTES = 3  #: fixed-width raw bytes; an empty value encodes as zeros
TEXT = 4  #: Octet String: latin-1, left-aligned, 0x00 padded; decoding cuts at 0x00
DIGITS = 5  #: like TEXT, but only ASCII digits (may be empty)
COUNT = 6  #: DestUsr_tl: number of entries of the DESTS field that follows (width 1 or 4)
DESTS = 7  #: Dest_terminal_Id[n]: non-empty DIGITS entries of ``width`` bytes each
LENGTH = 8  #: Msg_Length: uint8 size of the CONTENT field that follows
CONTENT = 9  #: Msg_Content: Msg_Length raw bytes
CONTENT_OR_REPORT = 10  #: DELIVER's Msg_Content: a StatusReport when Registered_Delivery = 1

KIND_NAMES = {
    U8: "uint8",
    U32: "uint32",
    BYTES: "bytes",
    TEXT: "text",
    DIGITS: "digits",
    COUNT: "count",
    DESTS: "digits[n]",
    LENGTH: "uint8 length",
    CONTENT: "bytes[Msg_Length]",
    CONTENT_OR_REPORT: "bytes[Msg_Length] / StatusReport",
}

#: The attribute that tells whether a DELIVER's Msg_Content is a status report.
REPORT_FLAG_ATTR = "registered_delivery"


class Field(NamedTuple):
    """One field of a wire layout."""

    name: str  #: the spec's name, used in error messages and ``ProtocolError.field``
    attr: str  #: the attribute of the value class it carries
    kind: int  #: one of the wire kinds above
    width: int = 0  #: bytes on the wire (per entry for DESTS, 1 or 4 for COUNT)
    optional: bool = False  #: may be missing at the very end of a received body
    absent: object = None  #: value decoded when an optional field is missing


class RecordSpec(NamedTuple):
    """A value class: its name, Command_Id (None for StatusReport) and attributes."""

    name: str
    command_id: CommandId | None
    fields: tuple[tuple[str, int, object], ...]  #: (attribute, T_* type, default)
    doc: str

    @property
    def attrs(self) -> tuple[str, ...]:
        return tuple(f[0] for f in self.fields)

    @property
    def defaults(self) -> tuple[object, ...]:
        return tuple(f[2] for f in self.fields)

    @property
    def types(self) -> tuple[int, ...]:
        return tuple(f[1] for f in self.fields)


def _rec(name, command_id, doc, *fields):
    return RecordSpec(name, command_id, tuple(fields), doc)


#: Every value class, in a fixed order: the index is the class's type id (``_tid``).
RECORDS: tuple[RecordSpec, ...] = (
    _rec(
        "Connect",
        CommandId.CONNECT,
        "CONNECT: log in. source_addr is EMPP's AccountId (21) or CMPP's Source_Addr (6).",
        ("source_addr", T_STR, ""),
        ("authenticator_source", T_BYTES, b""),
        ("version", T_INT, 0),
        ("timestamp", T_INT, 0),
    ),
    _rec(
        "ConnectResp",
        CommandId.CONNECT_RESP,
        "CONNECT_RESP. authenticator_ismg is EMPP's AuthenticatorESMP; ability is EMPP only "
        "(None: the 21-byte EMPP body without Ability).",
        ("status", T_INT, 0),
        ("authenticator_ismg", T_BYTES, b""),
        ("version", T_INT, 0),
        ("ability", T_OPTINT, 0),
    ),
    _rec(
        "Submit",
        CommandId.SUBMIT,
        "SUBMIT: one class for all dialects (the union of their fields). CMPP 2.0's "
        "8-byte Reserve is carried by link_id.",
        ("msg_id", T_BYTES, b""),
        ("pk_total", T_INT, 1),
        ("pk_number", T_INT, 1),
        ("registered_delivery", T_INT, 1),
        ("msg_level", T_INT, 1),
        ("service_id", T_STR, ""),
        ("fee_user_type", T_INT, 2),
        ("fee_terminal_id", T_STR, ""),
        ("fee_terminal_type", T_INT, 0),
        ("tp_pid", T_INT, 0),
        ("tp_udhi", T_INT, 0),
        ("msg_fmt", T_INT, 15),
        ("msg_src", T_STR, ""),
        ("fee_type", T_STR, "01"),
        ("fee_code", T_STR, "0"),
        ("valid_time", T_STR, ""),
        ("at_time", T_STR, ""),
        ("src_id", T_STR, ""),
        ("dest_terminal_id", T_STRS, ()),
        ("dest_terminal_type", T_INT, 0),
        ("msg_content", T_CONTENT, b""),
        ("link_id", T_STR, ""),
    ),
    _rec(
        "SubmitResp",
        CommandId.SUBMIT_RESP,
        "SUBMIT_RESP: the server-assigned Msg_Id and the Result.",
        ("msg_id", T_BYTES, b""),
        ("result", T_INT, 0),
    ),
    _rec(
        "Deliver",
        CommandId.DELIVER,
        "DELIVER: an MO message, or a status report when registered_delivery is 1 (then "
        "msg_content is a StatusReport). CMPP 2.0's 8-byte Reserve is carried by link_id.",
        ("msg_id", T_BYTES, b""),
        ("dest_id", T_STR, ""),
        ("service_id", T_STR, ""),
        ("tp_pid", T_INT, 0),
        ("tp_udhi", T_INT, 0),
        ("msg_fmt", T_INT, 0),
        ("src_terminal_id", T_STR, ""),
        ("src_terminal_type", T_INT, 0),
        ("registered_delivery", T_INT, 0),
        ("msg_content", T_CONTENT_REPORT, b""),
        ("link_id", T_STR, ""),
    ),
    _rec(
        "DeliverResp",
        CommandId.DELIVER_RESP,
        "DELIVER_RESP: echo the DELIVER's Msg_Id (and its Sequence_Id).",
        ("msg_id", T_BYTES, b""),
        ("result", T_INT, 0),
    ),
    _rec("ActiveTest", CommandId.ACTIVE_TEST, "ACTIVE_TEST (no body)."),
    _rec(
        "ActiveTestResp",
        CommandId.ACTIVE_TEST_RESP,
        "ACTIVE_TEST_RESP: one Reserved byte (an empty body decodes as reserved=0).",
        ("reserved", T_INT, 0),
    ),
    _rec("Terminate", CommandId.TERMINATE, "TERMINATE (no body)."),
    _rec("TerminateResp", CommandId.TERMINATE_RESP, "TERMINATE_RESP (no body)."),
    _rec(
        "Unauthorization",
        CommandId.UNAUTHORIZATION,
        "EMPP UNAUTHORIZATION (server -> client): the Command_Id the client may not use "
        "(the jar's UnAuthCommandId).",
        ("unauth_command_id", T_INT, 0),
    ),
    _rec(
        "ChangePass",
        CommandId.CHANGEPASS,
        "EMPP CHANGEPASS: old and new password (16 bytes each).",
        ("old_password", T_STR, ""),
        ("new_password", T_STR, ""),
    ),
    _rec(
        "ChangePassResp",
        CommandId.CHANGEPASS_RESP,
        "EMPP CHANGEPASS_RESP: Result (0 OK, 1 validation error) and the password.",
        ("result", T_INT, 0),
        ("password", T_STR, ""),
    ),
    _rec(
        "StatusReport",
        None,
        "The status report carried in a DELIVER's Msg_Content (Registered_Delivery = 1).",
        ("msg_id", T_BYTES, b""),
        ("stat", T_STR, ""),
        ("submit_time", T_STR, ""),
        ("done_time", T_STR, ""),
        ("dest_terminal_id", T_STR, ""),
        ("smsc_sequence", T_INT, 0),
    ),
)

RECORD_INDEX: dict[str, int] = {spec.name: i for i, spec in enumerate(RECORDS)}
REPORT_TID = RECORD_INDEX["StatusReport"]

# Canonical spec name of every attribute (used for a field a dialect cannot carry).
SPEC_NAMES: dict[str, str] = {
    "fee_terminal_type": "Fee_terminal_type",
    "dest_terminal_type": "Dest_terminal_type",
    "src_terminal_type": "Src_terminal_type",
    "ability": "Ability",
}

F = Field


def _msgid(width):
    return F("Msg_Id", "msg_id", BYTES, width)


def _build() -> dict[Dialect, dict[str, tuple[Field, ...]]]:
    empp = {
        "Connect": (
            F("AccountId", "source_addr", TEXT, 21),
            F("AuthenticatorSource", "authenticator_source", BYTES, 16),
            F("Version", "version", U8, 1),
            F("Timestamp", "timestamp", U32, 4),
        ),
        "ConnectResp": (
            F("Status", "status", U32, 4),
            F("AuthenticatorESMP", "authenticator_ismg", BYTES, 16),
            F("Version", "version", U8, 1),
            F("Ability", "ability", U32, 4, optional=True, absent=None),
        ),
        "Submit": (
            _msgid(10),
            F("Pk_total", "pk_total", U8, 1),
            F("Pk_number", "pk_number", U8, 1),
            F("Registered_Delivery", "registered_delivery", U8, 1),
            F("Msg_Fmt", "msg_fmt", U8, 1),
            F("ValId_Time", "valid_time", TEXT, 17),
            F("At_Time", "at_time", TEXT, 17),
            F("DestUsr_tl", "dest_terminal_id", COUNT, 4),
            F("Dest_terminal_Id", "dest_terminal_id", DESTS, 32),
            F("Msg_Length", "msg_content", LENGTH, 1),
            F("Msg_Content", "msg_content", CONTENT, 0),
            F("Msg_src", "msg_src", TEXT, 21),
            F("Src_Id", "src_id", DIGITS, 21),
            F("Service_Id", "service_id", TEXT, 10),
            F("LinkID", "link_id", TEXT, 20),
            F("Msg_level", "msg_level", U8, 1),
            F("Fee_UserType", "fee_user_type", U8, 1),
            F("Fee_terminal_Id", "fee_terminal_id", DIGITS, 32),
            F("Fee_terminal_type", "fee_terminal_type", U8, 1),
            F("TP_pId", "tp_pid", U8, 1),
            F("TP_udhi", "tp_udhi", U8, 1),
            F("FeeType", "fee_type", TEXT, 2),
            F("FeeCode", "fee_code", TEXT, 6),
            F("Dest_terminal_type", "dest_terminal_type", U8, 1),
        ),
        "SubmitResp": (_msgid(10), F("Result", "result", U32, 4)),
        "Deliver": (
            _msgid(10),
            F("Dest_Id", "dest_id", DIGITS, 21),
            F("Service_Id", "service_id", TEXT, 10),
            F("TP_pid", "tp_pid", U8, 1),
            F("TP_udhi", "tp_udhi", U8, 1),
            F("Msg_Fmt", "msg_fmt", U8, 1),
            F("Src_terminal_Id", "src_terminal_id", DIGITS, 32),
            F("Src_terminal_type", "src_terminal_type", U8, 1),
            F("Registered_Delivery", "registered_delivery", U8, 1),
            F("Msg_Length", "msg_content", LENGTH, 1),
            F("Msg_Content", "msg_content", CONTENT_OR_REPORT, 0),
            F("LinkID", "link_id", TEXT, 20),
        ),
        "DeliverResp": (_msgid(10), F("Result", "result", U32, 4)),
        "ActiveTest": (),
        "ActiveTestResp": (F("Reserved", "reserved", U8, 1, optional=True, absent=0),),
        "Terminate": (),
        "TerminateResp": (),
        "Unauthorization": (F("UnAuthCommandId", "unauth_command_id", U32, 4),),
        "ChangePass": (
            F("OldPassword", "old_password", TEXT, 16),
            F("NewPassword", "new_password", TEXT, 16),
        ),
        "ChangePassResp": (
            F("Result", "result", U32, 4),
            F("Password", "password", TEXT, 16),
        ),
        "StatusReport": (
            _msgid(10),
            F("Stat", "stat", TEXT, 7),
            F("Submit_time", "submit_time", TEXT, 10),
            F("Done_time", "done_time", TEXT, 10),
            F("Dest_terminal_Id", "dest_terminal_id", DIGITS, 32),
            F("SMSC_sequence", "smsc_sequence", U32, 4),
        ),
    }

    def cmpp(v3: bool) -> dict[str, tuple[Field, ...]]:
        term = 32 if v3 else 21  # terminal id width
        res = (U32, 4) if v3 else (U8, 1)  # Status / Result width
        link = F("LinkID", "link_id", TEXT, 20) if v3 else F("Reserve", "link_id", TEXT, 8)
        return {
            "Connect": (
                F("Source_Addr", "source_addr", TEXT, 6),
                F("AuthenticatorSource", "authenticator_source", BYTES, 16),
                F("Version", "version", U8, 1),
                F("Timestamp", "timestamp", U32, 4),
            ),
            "ConnectResp": (
                F("Status", "status", *res),
                F("AuthenticatorISMG", "authenticator_ismg", BYTES, 16),
                F("Version", "version", U8, 1),
            ),
            "Submit": (
                _msgid(8),
                F("Pk_total", "pk_total", U8, 1),
                F("Pk_number", "pk_number", U8, 1),
                F("Registered_Delivery", "registered_delivery", U8, 1),
                F("Msg_level", "msg_level", U8, 1),
                F("Service_Id", "service_id", TEXT, 10),
                F("Fee_UserType", "fee_user_type", U8, 1),
                F("Fee_terminal_Id", "fee_terminal_id", DIGITS, term),
                *((F("Fee_terminal_type", "fee_terminal_type", U8, 1),) if v3 else ()),
                F("TP_pId", "tp_pid", U8, 1),
                F("TP_udhi", "tp_udhi", U8, 1),
                F("Msg_Fmt", "msg_fmt", U8, 1),
                F("Msg_src", "msg_src", TEXT, 6),
                F("FeeType", "fee_type", TEXT, 2),
                F("FeeCode", "fee_code", TEXT, 6),
                F("ValId_Time", "valid_time", TEXT, 17),
                F("At_Time", "at_time", TEXT, 17),
                F("Src_Id", "src_id", DIGITS, 21),
                F("DestUsr_tl", "dest_terminal_id", COUNT, 1),
                F("Dest_terminal_Id", "dest_terminal_id", DESTS, term),
                *((F("Dest_terminal_type", "dest_terminal_type", U8, 1),) if v3 else ()),
                F("Msg_Length", "msg_content", LENGTH, 1),
                F("Msg_Content", "msg_content", CONTENT, 0),
                link,
            ),
            "SubmitResp": (_msgid(8), F("Result", "result", *res)),
            "Deliver": (
                _msgid(8),
                F("Dest_Id", "dest_id", DIGITS, 21),
                F("Service_Id", "service_id", TEXT, 10),
                F("TP_pid", "tp_pid", U8, 1),
                F("TP_udhi", "tp_udhi", U8, 1),
                F("Msg_Fmt", "msg_fmt", U8, 1),
                F("Src_terminal_Id", "src_terminal_id", DIGITS, term),
                *((F("Src_terminal_type", "src_terminal_type", U8, 1),) if v3 else ()),
                F("Registered_Delivery", "registered_delivery", U8, 1),
                F("Msg_Length", "msg_content", LENGTH, 1),
                F("Msg_Content", "msg_content", CONTENT_OR_REPORT, 0),
                link,
            ),
            "DeliverResp": (_msgid(8), F("Result", "result", *res)),
            "ActiveTest": (),
            "ActiveTestResp": (F("Reserved", "reserved", U8, 1, optional=True, absent=0),),
            "Terminate": (),
            "TerminateResp": (),
            "StatusReport": (
                _msgid(8),
                F("Stat", "stat", TEXT, 7),
                F("Submit_time", "submit_time", TEXT, 10),
                F("Done_time", "done_time", TEXT, 10),
                F("Dest_terminal_Id", "dest_terminal_id", DIGITS, term),
                F("SMSC_sequence", "smsc_sequence", U32, 4),
            ),
        }

    return {Dialect.EMPP: empp, Dialect.CMPP2: cmpp(False), Dialect.CMPP3: cmpp(True)}


#: LAYOUTS[dialect][class name] -> fields in wire order.
LAYOUTS: dict[Dialect, dict[str, tuple[Field, ...]]] = _build()


def fixed_size(fields: tuple[Field, ...]) -> int:
    """Bytes of a layout without its variable parts (destinations, content)."""
    return sum(f.width for f in fields if f.kind not in (DESTS, CONTENT, CONTENT_OR_REPORT))


def absent_fields(dialect: Dialect, name: str) -> tuple[tuple[int, str, object], ...]:
    """(index, spec name, default) of each attribute the dialect's layout cannot carry."""
    spec = RECORDS[RECORD_INDEX[name]]
    carried = {f.attr for f in LAYOUTS[dialect][name]}
    return tuple(
        (i, SPEC_NAMES.get(attr, attr), default)
        for i, (attr, _t, default) in enumerate(spec.fields)
        if attr not in carried
    )


def command_name(command_id: int) -> str:
    """``"SUBMIT_RESP"`` for 0x80000004; ``"0x00001234"`` for a Command_Id the codec lacks."""
    try:
        return CommandId(command_id).name
    except ValueError:
        return f"0x{command_id & 0xFFFFFFFF:08X}"


def _check() -> None:
    """Sanity checks of the tables themselves (run at import: a bad table fails loudly)."""
    for dialect, table in LAYOUTS.items():
        for name, fields in table.items():
            spec = RECORDS[RECORD_INDEX[name]]
            attrs = spec.attrs
            for i, f in enumerate(fields):
                assert f.attr in attrs, (dialect, name, f)
                if f.optional:
                    assert i == len(fields) - 1, (dialect, name, f)
                if f.kind == COUNT:
                    assert fields[i + 1].kind == DESTS and f.width in (1, 4)
                if f.kind == LENGTH:
                    assert fields[i + 1].kind in (CONTENT, CONTENT_OR_REPORT)
                if f.kind in (U8, LENGTH):
                    assert f.width == 1
                if f.kind == U32:
                    assert f.width == 4
    sizes = {
        (Dialect.EMPP, "Connect"): 42,
        (Dialect.EMPP, "ConnectResp"): 25,
        (Dialect.EMPP, "Submit"): 171,
        (Dialect.EMPP, "Deliver"): 99,
        (Dialect.EMPP, "StatusReport"): 73,
        (Dialect.CMPP2, "Submit"): 117 + 1 + 8,
        (Dialect.CMPP3, "Submit"): 129 + 1 + 1 + 20,
        (Dialect.CMPP2, "Deliver"): 65 + 8,
        (Dialect.CMPP3, "Deliver"): 77 + 20,
        (Dialect.CMPP2, "StatusReport"): 60,
        (Dialect.CMPP3, "StatusReport"): 71,
    }
    for (dialect, name), size in sizes.items():
        assert fixed_size(LAYOUTS[dialect][name]) == size, (dialect, name)


_check()


# The public names of smsdk.codec; both implementations export exactly these.
CODEC_API: tuple[str, ...] = (
    # value classes
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
    # codec
    "encode",
    "decode",
    "FrameDecoder",
    # constants and helpers
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
)
