"""The platform's lists (FAQ-2.1.7): the enterprise blacklist and whitelist (EB, EW), the
platform blacklist (PB) and the source blacklist (SB), the list policy that reads them, and
the enterprise's carrier switches.

A part of :class:`~.model.Platform` (see docs/fake-smsc.md, "Architecture").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from smsdk import numbers as _numbers

from .items import ListConflict, ManagementError
from .platform_part import PlatformPart

if TYPE_CHECKING:
    from .model import Enterprise

__all__ = ["Lists"]


class Lists(PlatformPart):
    """The lists part of the platform (``list_get`` / ``list_add`` / ``list_remove``, the
    verdicts the delivery asks for, ``set_switches``)."""

    def _init_lists(self, platform_blacklist: Iterable[str], source_blacklist: Iterable[str]) -> None:
        self.platform_blacklist = set(platform_blacklist)
        self.source_blacklist: set[str] = set(source_blacklist)

    def list_get(self, kind: str, enterprise_id: str | None = None) -> frozenset[str]:
        """``kind``: ``"EB"``, ``"EW"`` (per enterprise), ``"PB"`` (platform blacklist) or
        ``"SB"`` (source blacklist: Src_Id prefixes → EPBLACK)."""
        return frozenset(self._list(kind, enterprise_id))

    def _list(self, kind: str, enterprise_id: str | None) -> set[str]:
        if kind == "PB":
            return self.platform_blacklist
        if kind == "SB":
            return self.source_blacklist
        if kind in ("EB", "EW"):
            if enterprise_id is None:
                raise ManagementError(f"list {kind} belongs to an enterprise: give enterprise_id")
            ent = self.enterprise(enterprise_id)
            return ent.blacklist if kind == "EB" else ent.whitelist
        raise ManagementError(f"unknown list {kind!r}: expected EB, EW, PB or SB")

    def list_add(self, kind: str, value: str, enterprise_id: str | None = None) -> str:
        """Add a number (a Src_Id prefix for SB); returns the normal form stored.
        EB ∩ EW = ∅: adding to one a number of the other raises :class:`ListConflict`."""
        target = self._list(kind, enterprise_id)
        if kind == "SB":
            if not value or not (value.isascii() and value.isdigit()):
                raise ManagementError(f"a source blacklist entry is a digit prefix, got {value!r}")
            target.add(value)
            return value
        number = self._list_number(value)
        if kind in ("EB", "EW"):
            other_kind = "EW" if kind == "EB" else "EB"
            if number in self._list(other_kind, enterprise_id):
                raise ListConflict(
                    f"{number} is in enterprise {enterprise_id}'s {other_kind}: a number is never "
                    f"in both EB and EW (FAQ-2.1.7); remove it from {other_kind} first")
        target.add(number)
        return number

    def list_remove(self, kind: str, value: str, enterprise_id: str | None = None) -> bool:
        target = self._list(kind, enterprise_id)
        key = value if kind == "SB" else self._list_number(value)
        if key in target:
            target.discard(key)
            return True
        return False

    @staticmethod
    def _list_number(value: str) -> str:
        checked = _numbers.check(value)
        if checked.number is None:
            assert checked.rejection is not None
            raise ManagementError(f"{value!r}: {checked.rejection.value}")
        return checked.number

    def _list_verdict(self, ent: Enterprise, number: str) -> str | None:
        """Why the list policy refuses ``number`` (→ DTBLACK), or None (FAQ-2.1.7)."""
        in_pb = number in self.platform_blacklist
        if ent.list_policy == "whitelist":
            if number not in ent.whitelist:
                return "whitelist policy: not in the enterprise whitelist"
            if in_pb:
                return "whitelist policy: in the enterprise whitelist but also in the platform blacklist"
            return None
        if number in ent.blacklist:
            return "blacklist policy: in the enterprise blacklist"
        if in_pb and number not in ent.whitelist:
            return "blacklist policy: in the platform blacklist and not in the enterprise whitelist"
        return None

    def _source_blacklisted(self, src_id: str) -> str | None:
        for prefix in self.source_blacklist:
            if src_id.startswith(prefix):
                return prefix
        return None

    def set_switches(self, enterprise_id: str, *, unicom: bool | None = None,
                     telecom: bool | None = None, list_policy: str | None = None) -> None:
        ent = self.enterprise(enterprise_id)
        if unicom is not None:
            ent.unicom = bool(unicom)
        if telecom is not None:
            ent.telecom = bool(telecom)
        if list_policy is not None:
            if list_policy not in ("blacklist", "whitelist"):
                raise ManagementError(f"list_policy must be 'blacklist' or 'whitelist', got {list_policy!r}")
            ent.list_policy = list_policy
