"""Recipient numbers: normalise, classify by carrier, refuse what the platform would refuse.

``normalize("+86 138-0013-8000") == "13800138000"``.  The SDK refuses invalid and PHS
(小灵通) numbers itself, with a per-recipient reason, so the platform never answers a whole
packet with result 13 because of one bad number (FAQ-2.1.9).

Carrier prefixes are data (:data:`CARRIER_PREFIXES`), not logic: number ranges change over
the years, and the fake platform uses the same table to decide UNSURPT (FAQ-2.1.8).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass


class Carrier(enum.Enum):
    MOBILE = "mobile"      # China Mobile
    UNICOM = "unicom"      # China Unicom
    TELECOM = "telecom"    # China Telecom
    BROADNET = "broadnet"  # China Broadnet (carried on China Mobile's network)
    UNKNOWN = "unknown"    # a valid 1[3-9]x number in no known range


# Three-digit (and a few four-digit) MSISDN prefixes, longest match wins.
CARRIER_PREFIXES: dict[str, Carrier] = {
    **{p: Carrier.MOBILE for p in (
        "134", "135", "136", "137", "138", "139", "147", "148", "150", "151", "152", "157",
        "158", "159", "172", "178", "182", "183", "184", "187", "188", "195", "197", "198",
        "1440", "1703", "1705", "1706",
    )},
    **{p: Carrier.UNICOM for p in (
        "130", "131", "132", "145", "146", "155", "156", "166", "167", "171", "175", "176",
        "185", "186", "196", "1704", "1707", "1708", "1709",
    )},
    **{p: Carrier.TELECOM for p in (
        "133", "149", "153", "173", "174", "177", "180", "181", "189", "190", "191", "193",
        "199", "1349", "1700", "1701", "1702",
    )},
    **{p: Carrier.BROADNET for p in ("192",)},
}

_SEPARATORS = re.compile(r"[\s\-().\u3000]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
# PHS / fixed-line style: area code starting with 0 (3-4 digits incl. the 0) + 7-8 digits.
_PHS = re.compile(r"0\d{2,3}\d{7,8}")


class Rejection(enum.Enum):
    EMPTY = "empty number"
    INVALID = "not a mainland mobile number"
    PHS = "PHS (小灵通) and fixed-line numbers are not supported (FAQ-2.1.9)"


@dataclass(frozen=True)
class Checked:
    """One input as given, and either its normal form or why it was refused."""

    given: str
    number: str | None
    rejection: Rejection | None

    @property
    def ok(self) -> bool:
        return self.number is not None


def is_normal(text: str) -> bool:
    """True when ``text`` already is a normal mainland mobile number (11 ASCII digits,
    1[3-9]…): the common case of a big campaign, which :func:`check` passes unchanged."""
    return len(text) == 11 and text.isascii() and text.isdigit() and text[0] == "1" and text[1] in "3456789"


def check(given: object) -> Checked:
    """Normalise one recipient: strip separators, a leading +86/0086/86, keep 11 digits."""
    text = "" if given is None else str(given)
    if is_normal(text):
        return Checked(text, text, None)
    compact = _SEPARATORS.sub("", text)
    if not compact:
        return Checked(text, None, Rejection.EMPTY)
    if compact.startswith("+86"):
        compact = compact[3:]
    elif compact.startswith("0086"):
        compact = compact[4:]
    elif compact.startswith("86") and len(compact) == 13:
        compact = compact[2:]
    if _MOBILE.fullmatch(compact):
        return Checked(text, compact, None)
    if _PHS.fullmatch(compact):
        return Checked(text, None, Rejection.PHS)
    return Checked(text, None, Rejection.INVALID)


def normalize(given: object) -> str:
    """The normal 11-digit form, or ValueError saying why the number is refused."""
    checked = check(given)
    if checked.number is None:
        assert checked.rejection is not None
        raise ValueError(f"{given!r}: {checked.rejection.value}")
    return checked.number


def carrier(number: str) -> Carrier:
    """The carrier of a normalised number, by longest prefix in :data:`CARRIER_PREFIXES`."""
    for length in (4, 3):
        found = CARRIER_PREFIXES.get(number[:length])
        if found is not None:
            return found
    return Carrier.UNKNOWN


@dataclass(frozen=True)
class Recipients:
    """A recipient list after checking: unique numbers in first-seen order, the refusals
    (each distinct input once), and the duplicates that were dropped: a valid number seen
    again after normalisation (it is sent once), or a refused input given again verbatim
    (it has one refusal).  Every input is in exactly one of the three."""

    numbers: tuple[str, ...]
    rejected: tuple[Checked, ...]
    duplicates: tuple[Checked, ...]


def check_all(given: Iterable[object]) -> Recipients:
    seen: set[str] = set()
    refused: set[str] = set()
    numbers: list[str] = []
    rejected: list[Checked] = []
    duplicates: list[Checked] = []
    for item in given:
        checked = check(item)
        if checked.number is None:
            if checked.given in refused:
                duplicates.append(checked)
            else:
                refused.add(checked.given)
                rejected.append(checked)
        elif checked.number in seen:
            duplicates.append(checked)
        else:
            seen.add(checked.number)
            numbers.append(checked.number)
    return Recipients(tuple(numbers), tuple(rejected), tuple(duplicates))
