"""The platform's MO routing: a handset's MO (``inject_mo``) is checked, encoded into its
parts, routed by longest match to an account (a sub-account that takes no private MO, or whose
role cannot receive, gives it to its main account) and delivered or kept offline; ``inbox`` is what an account sees.

A part of :class:`~.model.Platform` (see docs/fake-smsc.md, "Architecture").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smsdk import numbers as _numbers
from smsdk.text import classify, count, plan

from . import splitting
from .items import MoItem, MoOutcome, MoRecord, MoRefused
from .platform_accounts import RECEIVE_ROLES
from .platform_part import PlatformPart

if TYPE_CHECKING:
    from .model import Account

__all__ = ["MoRouting"]


class MoRouting(PlatformPart):
    """The MO part of the platform (see the module docstring)."""

    def _init_mo(self) -> None:
        self._next_mo = 1
        self._mo_refs: dict[str, int] = {}

    def inject_mo(self, from_number: str, to_number: str, text: str | bytes, *,
                  msg_fmt: int | None = None, tp_udhi: int = 0, udh16: bool = False,
                  reference: int | None = None) -> MoOutcome:
        """A handset sends an MO to ``to_number`` (an account's number, optionally with more
        digits).  ``text`` is a str (encoded ASCII / GBK / UCS2 as it needs; over one SMS it
        goes as UCS2 parts with a ``05 00 03`` UDH, ``06 08 04`` with ``udh16``), or the raw
        Msg_Content bytes (``msg_fmt`` default 15, ``tp_udhi`` as given).

        Routed by longest match to an account; a sub-account that is offline falls back
        to its main account if online, else the MO is kept offline for the sub-account
        (FAQ-3.5.2).  Raises :class:`MoRefused` for a China Unicom sender (FAQ-3.1.6), an
        invalid sender, or a destination no account's number prefixes."""
        checked = _numbers.check(from_number)
        if checked.number is None:
            assert checked.rejection is not None
            raise MoRefused(f"sender {from_number!r}: {checked.rejection.value}")
        sender = checked.number
        if _numbers.carrier(sender) is _numbers.Carrier.UNICOM:
            raise MoRefused(f"{sender} is a China Unicom handset: the platform takes no MO from "
                            "China Unicom (FAQ-3.1.6)")
        dest = str(to_number).strip()
        target = self._longest_match(dest)
        if target is None:
            raise MoRefused(f"no account's number is a prefix of {dest!r}")
        if not target.is_main and not (target.receive_private_mo
                                       and target.role in RECEIVE_ROLES):
            # the sub-account takes no private MO (its switch, or a role that cannot
            # receive: data_entry, contact_only): the MO is public, for the main account
            target = target.main
        parts = self._mo_parts(sender, text, msg_fmt, tp_udhi, udh16, reference)
        now = self.now()
        items, records = [], []
        for fmt, udhi, content, ptext in parts:
            msg_id = self.msgids.allocate(self._china_second(self.wall.epoch + now), 1)
            item = MoItem(msg_id, sender, dest, fmt, udhi, content, ptext, target.id, now,
                          "", self._next_mo)
            self._next_mo += 1
            mr = MoRecord(item, "pending")
            mr.state, mr.delivered_to = self._route(target, item, mr)
            self._mos.append(mr)
            self.counters["mo"] += 1
            items.append(item)
            records.append(mr)
            self._emit(mr)
        return MoOutcome(tuple(items), target.id, tuple(records))

    def _longest_match(self, dest: str) -> Account | None:
        for length in range(len(dest), 0, -1):
            acc = self._accounts.get(dest[:length])
            if acc is not None:
                return acc
        return None

    def _mo_parts(self, sender: str, text: str | bytes, msg_fmt: int | None, tp_udhi: int,
                  udh16: bool, reference: int | None) -> list[tuple[int, int, bytes, str | None]]:
        if isinstance(text, (bytes, bytearray, memoryview)):
            raw = bytes(text)
            fmt = 15 if msg_fmt is None else msg_fmt
            try:
                c = splitting.read_content(fmt, tp_udhi, raw)
                ptext: str | None = c.text
            except splitting.ContentError as e:
                raise MoRefused(f"MO content: {e}") from None
            return [(fmt, 1 if tp_udhi else 0, raw, ptext)]
        if not isinstance(text, str) or not text:
            raise MoRefused("an MO needs a non-empty text or content bytes")
        kind = classify(text)
        n = count(text)
        single = n <= self.config.single_max or (kind == "ascii" and n <= self.config.single_max_ascii)
        if single and msg_fmt in (None, 0, 8, 15):
            fmt = msg_fmt if msg_fmt is not None else {"ascii": 0, "gbk": 15, "ucs2": 8}[kind]
            enc = {0: "ascii", 8: "utf-16-be", 15: "gbk"}[fmt]
            try:
                content = text.encode(enc)
            except UnicodeEncodeError:
                raise MoRefused(f"the text cannot be encoded in Msg_Fmt {fmt}") from None
            if len(content) > splitting.MAX_CONTENT:
                raise MoRefused(f"the text is {len(content)} bytes in Msg_Fmt {fmt}: over 140")
            return [(fmt, 0, content, text)]
        if reference is None:
            reference = self._mo_refs.get(sender, 0)
            self._mo_refs[sender] = (reference + 1) & (0xFFFF if udh16 else 0xFF)
        p = plan(text, signature="", mode="concat", udh_reference=reference, udh16=udh16)
        return [(part.msg_fmt, part.tp_udhi, part.content, part.text) for part in p.parts]

    def inbox(self, account_id: str) -> list[MoItem]:
        """MOs an account sees in its inbox (WEB; CLIENT-inbox): those addressed to it when
        it receives private MO, and those to the main account when it receives public MO."""
        acc = self.account(account_id)
        if acc.role not in RECEIVE_ROLES:
            return []  # data_entry, contact_only: they receive nothing (CLIENT-accounts)
        main_id = acc.main.id
        out = []
        for mr in self._mos:
            it = mr.item
            if it.account_id == acc.id and (acc.is_main or acc.receive_private_mo):
                out.append(it)
            elif it.account_id == main_id and acc.id != main_id and acc.receive_public_mo:
                out.append(it)
        return out
