"""The platform's accounts at run time: sub-accounts created and deleted with their
extension, hand-registered extension codes, the package caps, the five roles and what each
may do, per-account settings (quota, MO switches, personal-book cap) and the address books.

* Sub-accounts (FAQ-5.1.1): at most the package's ``sub_accounts`` (the main account not
  counted).  Each owns exactly one extension code, created and deleted with it; a code
  registered by hand blocks a sub-account with that code, and a sub-account's code cannot
  be unregistered by hand (FAQ-5.1.4).  At most ``max_extensions`` codes per enterprise,
  the service code itself included (FAQ-5.1.3).
* Roles (CLIENT-accounts, the client manual's 属性): ``admin`` may do everything;
  ``service`` sends and receives and has its own personal book; ``staff`` has the public
  book only and may send only to its contacts; ``data_entry`` edits the books and can
  neither send nor receive; ``contact_only`` is a contact and cannot log in.  The platform
  enforces them where it sees them: at login (:meth:`Platform.bind`), in SUBMIT (the
  ``role`` check) and in MO routing (an account that cannot receive gets no MO: it goes to
  the main account, as a public one).
* Address books (FAQ-5.2.1, 5.2.2): only normal enterprises (not channel or partner
  enterprises) have them: one public book shared by the enterprise (edited by the admin
  and data-entry roles) and a personal book per account (each manages its own).  Caps
  (FAQ-5.1.2, 5.2.5, 5.2.6): a personal book holds at most the account's ``contacts`` (set
  by the admin); the caps add up to at most the package's contacts; the public book holds
  at most package − sum of caps.

A part of :class:`~.model.Platform` (see docs/fake-smsc.md, "Architecture").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smsdk import numbers as _numbers

from .config import ROLES, AccountConfig
from .items import ManagementError
from .platform_part import PlatformPart

if TYPE_CHECKING:
    from .model import Account, Enterprise

__all__ = [
    "AccountsPart",
    "LOGIN_ROLES",
    "PERSONAL_BOOK_ROLES",
    "PUBLIC_BOOK_EDITORS",
    "RECEIVE_ROLES",
    "SEND_ROLES",
]

#: Roles that may log in (EMPP CONNECT, HTTP): all but ``contact_only``.
LOGIN_ROLES = ("admin", "service", "staff", "data_entry")
#: Roles that may SUBMIT (``staff`` only to public-book contacts).
SEND_ROLES = ("admin", "service", "staff")
#: Roles that receive MOs (and see them in their inbox).
RECEIVE_ROLES = ("admin", "service", "staff")
#: Roles that may add to and remove from the public book.
PUBLIC_BOOK_EDITORS = ("admin", "data_entry")
#: Roles that own a personal book (a ``contacts`` cap above 0 needs one of these).
PERSONAL_BOOK_ROLES = ("admin", "service", "data_entry")

_ROLE_DOES = {
    "admin": "everything",
    "service": "send and receive, with a personal address book",
    "staff": "send only to public-book contacts, and receive; no personal address book",
    "data_entry": "edit the address books; it can neither send nor receive",
    "contact_only": "nothing: it is a contact and cannot log in",
}


def role_summary(role: str) -> str:
    """What an account of ``role`` may do, in words (used in refusals)."""
    return _ROLE_DOES.get(role, "?")


def _normal_number(number: str) -> str:
    checked = _numbers.check(number)
    if checked.number is None:
        assert checked.rejection is not None
        raise ManagementError(f"contact number {number!r}: {checked.rejection.value}")
    return checked.number


class AccountsPart(PlatformPart):
    """Account management and address books (see the module docstring)."""

    # ------------------------------------------------------------------ sub-accounts

    def add_account(self, enterprise_id: str, extension: str, password: str, *,
                    role: str = "service", name: str = "", quota: int | None = None,
                    rate: float | None = None, contacts: int = 0,
                    receive_private_mo: bool = True, receive_public_mo: bool = False,
                    push_url: str = "") -> Account:
        """Create a sub-account and its extension (FAQ-5.1.1, 5.1.3, 5.1.4).  Every refusal
        raises :class:`ManagementError` saying which rule."""
        from .model import Account

        ent = self.enterprise(enterprise_id)
        if not extension or not (extension.isascii() and extension.isdigit()):
            raise ManagementError(f"extension must be digits, got {extension!r}")
        number = ent.service_code + extension
        if len(number) > self.config.src_id_max:
            raise ManagementError(
                f"{number} is {len(number)} digits: service code + extension must be at most "
                f"{self.config.src_id_max}")
        if not password or len(password) > 16:
            raise ManagementError("password must be 1 to 16 characters (EMPP CHANGEPASS field)")
        if role not in ROLES:
            raise ManagementError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if quota is not None and quota < 0:
            raise ManagementError(f"quota must be a number of SMS >= 0 (or None), got {quota}")
        if rate is not None and not rate > 0:
            raise ManagementError(f"rate must be above 0 SMS/s (or None), got {rate}")
        if number in self._accounts:
            raise ManagementError(f"account number {number} is taken")
        if number in ent.extensions:
            raise ManagementError(
                f"extension code {number} is registered by hand: delete it before creating a "
                "sub-account with that code (FAQ-5.1.4)")
        self._check_role_fits(ent, role, contacts, f"a new sub-account on extension {extension}")
        pkg = self.config.packages[ent.package]
        subs = sum(1 for a in ent.accounts.values() if not a.is_main)
        if subs >= pkg.sub_accounts:
            raise ManagementError(
                f"enterprise {ent.id} has {subs} sub-accounts, the most package "
                f"{ent.package!r} allows (FAQ-5.1.1)")
        if len(ent.extensions) >= ent.max_extensions:
            raise ManagementError(
                f"enterprise {ent.id} has {len(ent.extensions)} extension codes, the most "
                f"allowed (max_extensions = {ent.max_extensions}, service code included; FAQ-5.1.3)")
        self._check_contacts_change(ent, contacts)
        cfg = AccountConfig(extension, password, role, name, quota, rate, contacts,
                            receive_private_mo, receive_public_mo, push_url)
        acc = Account(ent, cfg, self.now())
        ent.accounts[acc.id] = acc
        self._accounts[acc.id] = acc
        ent.extensions[acc.id] = acc.id
        self.counters["accounts_added"] += 1
        return acc

    def remove_account(self, account_id: str) -> None:
        """Delete a sub-account and its extension; its session is kicked, its personal book
        and its offline queue go with it (its cap goes back to the public book)."""
        acc = self.account(account_id)
        if acc.is_main:
            raise ManagementError(
                f"account {acc.id} is the main account of enterprise {acc.enterprise.id}: it "
                "cannot be deleted")
        if acc.sink is not None:
            sink, acc.sink = acc.sink, None
            self._tell_kicked(sink)
        del acc.enterprise.accounts[acc.id]
        del self._accounts[acc.id]
        acc.enterprise.extensions.pop(acc.id, None)
        acc.book.clear()
        acc.offline.clear()
        self.counters["accounts_removed"] += 1

    def set_account(self, account_id: str, *, role: str | None = None,
                    contacts: int | None = None, receive_private_mo: bool | None = None,
                    receive_public_mo: bool | None = None, name: str | None = None) -> Account:
        """Change an account's settings as its admin would (arguments left None keep their
        value): role, personal-book cap (FAQ-5.1.2), the MO switches, name."""
        acc = self.account(account_id)
        ent = acc.enterprise
        new_role = acc.role if role is None else role
        new_contacts = acc.contacts if contacts is None else contacts
        if new_role not in ROLES:
            raise ManagementError(f"role must be one of {', '.join(ROLES)}, got {new_role!r}")
        if acc.is_main and new_role != "admin":
            raise ManagementError(f"account {acc.id} is the main account: its role stays admin")
        self._check_role_fits(ent, new_role, new_contacts, f"account {acc.id}")
        if new_contacts < len(acc.book):
            raise ManagementError(
                f"account {acc.id}'s personal address book holds {len(acc.book)} contacts: its "
                f"cap cannot go down to {new_contacts} (remove contacts first; FAQ-5.2.5)")
        self._check_contacts_change(ent, new_contacts - acc.contacts)
        acc.role = new_role
        acc.contacts = new_contacts
        if receive_private_mo is not None:
            acc.receive_private_mo = bool(receive_private_mo)
        if receive_public_mo is not None:
            acc.receive_public_mo = bool(receive_public_mo)
        if name is not None:
            acc.name = name
        return acc

    def _check_role_fits(self, ent: Enterprise, role: str, contacts: int, who: str) -> None:
        if contacts < 0:
            raise ManagementError(f"{who}: contacts must be >= 0, got {contacts}")
        if contacts and not ent.has_address_books:
            raise ManagementError(
                f"{who}: enterprise {ent.id} is a {ent.kind} enterprise, which has no address "
                "books (FAQ-5.2.1): contacts must be 0")
        if contacts and role not in PERSONAL_BOOK_ROLES:
            raise ManagementError(
                f"{who}: role {role!r} has no personal address book (it may "
                f"{role_summary(role)}): contacts must be 0 (CLIENT-accounts)")
        if role == "staff" and not ent.has_address_books:
            raise ManagementError(
                f"{who}: role 'staff' may send only to public-book contacts, and enterprise "
                f"{ent.id} is a {ent.kind} enterprise without address books (FAQ-5.2.1)")

    def _check_contacts_change(self, ent: Enterprise, delta: int) -> None:
        """Personal caps growing by ``delta``: their sum stays within the package (FAQ-5.1.2)
        and the public book's cap (package − sum) still holds what it has (FAQ-5.2.6)."""
        if delta <= 0:
            return
        pkg = self.config.packages[ent.package]
        total = sum(a.contacts for a in ent.accounts.values())
        if total + delta > pkg.contacts:
            raise ManagementError(
                f"personal address-book caps would add up to {total + delta}, over package "
                f"{ent.package!r}'s {pkg.contacts} contacts (FAQ-5.1.2, 5.2.5)")
        public_cap = pkg.contacts - total - delta
        if len(ent.public_book) > public_cap:
            raise ManagementError(
                f"the public address book of enterprise {ent.id} holds {len(ent.public_book)} "
                f"contacts: raising the personal caps by {delta} would cut its cap to "
                f"{public_cap} (public = package − personal caps, FAQ-5.2.6)")

    # ------------------------------------------------------------------ extensions

    def register_extension(self, enterprise_id: str, code: str) -> None:
        """Register an extension code by hand: the full number (service code + digits)."""
        ent = self.enterprise(enterprise_id)
        if not (code.isascii() and code.isdigit()):
            raise ManagementError(f"extension code must be digits, got {code!r}")
        if not code.startswith(ent.service_code) or code == ent.service_code:
            raise ManagementError(
                f"extension code {code} must be the service code {ent.service_code} followed "
                "by more digits (FAQ-2.5.8)")
        if len(code) > self.config.src_id_max:
            raise ManagementError(f"extension code {code} is over {self.config.src_id_max} digits")
        if code in ent.extensions:
            owner = ent.extensions[code]
            raise ManagementError(
                f"extension code {code} is already registered"
                + (f" (it is account {owner}'s)" if owner else " (by hand)"))
        if len(ent.extensions) >= ent.max_extensions:
            raise ManagementError(
                f"enterprise {ent.id} has {len(ent.extensions)} extension codes, the most "
                f"allowed (max_extensions = {ent.max_extensions}, service code included; FAQ-5.1.3)")
        ent.extensions[code] = None

    def unregister_extension(self, enterprise_id: str, code: str) -> None:
        """Delete a hand-registered extension code (never an account's: FAQ-5.1.4)."""
        ent = self.enterprise(enterprise_id)
        if code not in ent.extensions:
            raise ManagementError(f"extension code {code} is not registered")
        owner = ent.extensions[code]
        if owner is not None:
            raise ManagementError(
                f"extension code {code} belongs to account {owner}: it is created and deleted "
                "with the account, never by hand (FAQ-5.1.4)")
        del ent.extensions[code]

    def extensions(self, enterprise_id: str) -> dict[str, str | None]:
        """Registered codes → owning account id (None: registered by hand)."""
        return dict(self.enterprise(enterprise_id).extensions)

    # ------------------------------------------------------------------ quotas

    def set_quota(self, *, account_id: str | None = None, enterprise_id: str | None = None,
                  quota: int | None, reset_used: bool = False) -> None:
        """Set a quota in SMS (None: unlimited); ``reset_used`` starts counting afresh."""
        if quota is not None and quota < 0:
            raise ManagementError(f"quota must be a number of SMS >= 0 (or None), got {quota}")
        target: Account | Enterprise = (self.account(account_id) if account_id is not None
                                        else self.enterprise(enterprise_id or ""))
        target.quota = quota
        if reset_used:
            target.quota_used = 0

    # ------------------------------------------------------------------ address books

    def public_contacts(self, enterprise_id: str) -> int:
        """Public address-book cap = package contacts − sum of personal caps (FAQ-5.2.6)."""
        ent = self.enterprise(enterprise_id)
        return self.config.packages[ent.package].contacts - sum(
            a.contacts for a in ent.accounts.values())

    def _books_of(self, ent: Enterprise) -> None:
        if not ent.has_address_books:
            raise ManagementError(
                f"enterprise {ent.id} is a {ent.kind} enterprise: only normal enterprises have "
                "address books (FAQ-5.2.1)")

    def book_add(self, account_id: str, number: str, name: str, *, public: bool = False) -> str:
        """``account_id`` adds a contact to the public book (``public=True``: admin and
        data-entry roles) or to its own personal book (within its cap).  Returns the
        number in its normal form; adding a number already there renames it."""
        acc = self.account(account_id)
        ent = acc.enterprise
        self._books_of(ent)
        num = _normal_number(number)
        _check_book_role(acc, public, f" (it may {role_summary(acc.role)}; CLIENT-accounts)")
        if public:
            book, cap, what = ent.public_book, self.public_contacts(ent.id), \
                f"the public address book of enterprise {ent.id}"
            rule = "public = package − personal caps, FAQ-5.2.6"
        else:
            book, cap, what = acc.book, acc.contacts, f"account {acc.id}'s personal address book"
            rule = "the cap its admin set, FAQ-5.2.5"
        if num not in book and len(book) >= cap:
            raise ManagementError(f"{what} is full: {len(book)} of {cap} contacts ({rule})")
        book[num] = name
        return num

    def book_remove(self, account_id: str, number: str, *, public: bool = False) -> bool:
        """Remove a contact (same permissions as :meth:`book_add`); False if absent."""
        acc = self.account(account_id)
        self._books_of(acc.enterprise)
        num = _normal_number(number)
        _check_book_role(acc, public)
        book = acc.enterprise.public_book if public else acc.book
        return book.pop(num, None) is not None

    def public_book(self, enterprise_id: str) -> dict[str, str]:
        """The enterprise's public book: number → name (shared by all its accounts)."""
        ent = self.enterprise(enterprise_id)
        self._books_of(ent)
        return dict(ent.public_book)

    def personal_book(self, account_id: str) -> dict[str, str]:
        """An account's personal book: number → name."""
        acc = self.account(account_id)
        self._books_of(acc.enterprise)
        return dict(acc.book)

    def visible_contacts(self, account_id: str) -> dict[str, str]:
        """What the account's address-book view shows: the public book (every role that may
        log in) plus its own personal book."""
        acc = self.account(account_id)
        ent = acc.enterprise
        if not ent.has_address_books or acc.role not in LOGIN_ROLES:
            return {}
        return {**ent.public_book, **acc.book}


def _check_book_role(acc: Account, public: bool, detail: str = "") -> None:
    """Refuse an edit of the public book by a role that may not edit it, or of a personal
    book by a role that has none (``detail`` ends the latter's message)."""
    if public:
        if acc.role not in PUBLIC_BOOK_EDITORS:
            raise ManagementError(
                f"account {acc.id} has role {acc.role!r}: only the admin and data-entry "
                "roles edit the public address book (FAQ-5.2.2, CLIENT-accounts)")
    elif acc.role not in PERSONAL_BOOK_ROLES:
        raise ManagementError(
            f"account {acc.id} has role {acc.role!r}, which has no personal address book{detail}")
