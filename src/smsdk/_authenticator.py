"""CONNECT authenticators (EMPP §1.5, CMPP §2.4), shared by both codec implementations.

Not on the hot path (once per login), so it lives once, in Python, and ``_codec`` and
``_codec_py`` re-export it with the very same objects.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac

from smsdk._layouts import VERSIONS, Dialect
from smsdk.errors import FieldValueError

__all__ = [
    "timestamp_from_datetime",
    "connect_authenticator",
    "connect_resp_authenticator",
    "check_connect",
]


def _secret(password: str | bytes) -> bytes:
    """A password as bytes: bytes as given, str as UTF-8 (identical to ASCII for ASCII)."""
    if isinstance(password, (bytes, bytearray, memoryview)):
        return bytes(password)
    if isinstance(password, str):
        return password.encode("utf-8")
    raise TypeError(f"password must be str or bytes, not {type(password).__name__}")


def timestamp_from_datetime(dt: _dt.datetime) -> int:
    """The CONNECT Timestamp of a local time: MMDDhhmmss read as an integer.

    ``datetime(2024, 1, 2, 15, 4, 5)`` -> ``102150405``.  The platform expects China time
    (UTC+8, ``smsdk.china_time.CHINA``); pass a datetime in that zone.
    """
    return dt.month * 100000000 + dt.day * 1000000 + dt.hour * 10000 + dt.minute * 100 + dt.second


def _timestamp_text(timestamp: int) -> bytes:
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        raise TypeError(f"timestamp must be int, not {type(timestamp).__name__}")
    if not 0 <= timestamp <= 0xFFFFFFFF:
        raise FieldValueError(f"Timestamp = {timestamp} is outside 0..4294967295", field="Timestamp")
    return b"%010d" % timestamp


def connect_authenticator(source_addr: str, password: str | bytes, timestamp: int) -> bytes:
    """AuthenticatorSource = MD5(source_addr ‖ 9×0x00 ‖ password ‖ timestamp as 10 digits).

    ``source_addr`` is the EMPP AccountId or the CMPP Source_Addr, hashed unpadded.
    """
    if not isinstance(source_addr, str):
        raise TypeError(f"source_addr must be str, not {type(source_addr).__name__}")
    try:
        addr = source_addr.encode("ascii")
    except UnicodeEncodeError:
        raise FieldValueError("source_addr must be ASCII", field="Source_Addr") from None
    data = addr + b"\x00" * 9 + _secret(password) + _timestamp_text(timestamp)
    return hashlib.md5(data).digest()


def connect_resp_authenticator(
    status: int, authenticator_source: bytes, password: str | bytes, dialect: Dialect | int
) -> bytes:
    """AuthenticatorISMG = MD5(Status in its wire width ‖ AuthenticatorSource ‖ password).

    Status is 1 byte in CMPP 2.0, 4 big-endian bytes in CMPP 3.0 and EMPP.
    """
    dialect = Dialect(dialect)
    width = 1 if dialect == Dialect.CMPP2 else 4
    if not isinstance(status, int) or not 0 <= status < 1 << (8 * width):
        raise FieldValueError(f"Status = {status!r} is outside 0..{(1 << 8 * width) - 1}", field="Status")
    auth = bytes(authenticator_source)
    if len(auth) != 16:
        raise FieldValueError(
            f"AuthenticatorSource must be 16 bytes, got {len(auth)}", field="AuthenticatorSource"
        )
    return hashlib.md5(status.to_bytes(width, "big") + auth + _secret(password)).digest()


def connect_fields(source_addr: str, password: str | bytes, timestamp, dialect: Dialect | int) -> dict:
    """Keyword arguments of a ready CONNECT (each codec module's ``build_connect`` uses them).

    ``timestamp`` is the MMDDhhmmss integer or a datetime (converted with
    :func:`timestamp_from_datetime`); the version is the dialect's (0x10/0x20/0x30).
    """
    dialect = Dialect(dialect)
    if isinstance(timestamp, _dt.datetime):
        timestamp = timestamp_from_datetime(timestamp)
    auth = connect_authenticator(source_addr, password, timestamp)
    return {
        "source_addr": source_addr,
        "authenticator_source": auth,
        "version": VERSIONS[dialect],
        "timestamp": timestamp,
    }


def check_connect(connect, password: str | bytes) -> bool:
    """Server side: does this CONNECT's AuthenticatorSource match the password?"""
    try:
        expected = connect_authenticator(connect.source_addr, password, connect.timestamp)
    except FieldValueError:
        return False
    return hmac.compare_digest(expected, connect.authenticator_source)
