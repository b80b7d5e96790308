"""Accounts and address books on the platform model (FAQ-5.2.1/5.2.2, CLIENT-accounts): roles
at login, SUBMIT and MO routing, per-account quotas, MO switches, who edits which book —
each example on a fresh model and simulated clock."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smsdk_harness.fake_smsc import ManagementError

from .checks_model import mobiles, single
from .registry import check
from .world import MAIN, Model, Sink

ROLES = ("admin", "service", "staff", "data_entry", "contact_only")
LOGIN = {"admin", "service", "staff", "data_entry"}
SENDERS = {"admin", "service", "staff"}
RECEIVERS = {"admin", "service", "staff"}
PUBLIC_EDITORS = {"admin", "data_entry"}
PERSONAL = {"admin", "service", "data_entry"}


@check("FAQ-5.2.1, 5.2.2")
def address_books(ctx):
    """any enterprise kind, any sub-accounts' roles and any edits: only a normal enterprise has
    books; its public book is shared by every account and edited only by admin / data entry; each
    personal book belongs to its account alone (no one sees or edits another's)"""

    @ctx.settings(40)
    @given(kind=st.sampled_from(["normal", "channel", "partner"]),
           roles=st.lists(st.sampled_from(ROLES), min_size=1, max_size=4),
           edits=st.lists(st.tuples(st.integers(0, 4), st.booleans(), mobiles), max_size=12))
    def prop(kind, roles, edits):
        with Model(enterprise=f'kind = "{kind}"') as m:
            p = m.platform
            ids = [MAIN]
            for i, role in enumerate(roles):
                if kind != "normal" and role == "staff":
                    role = "service"  # staff needs a public book: refused there (checked below)
                contacts = 5 if (kind == "normal" and role in PERSONAL) else 0
                ids.append(p.add_account("E1", f"{40 + i}", "pw", role=role, contacts=contacts).id)
            if kind != "normal":
                try:
                    p.add_account("E1", "39", "pw", role="staff")
                except ManagementError:
                    pass
                else:
                    raise AssertionError(f"a staff account in a {kind} enterprise")
            public: dict[str, str] = {}
            personal: dict[str, dict[str, str]] = {a: {} for a in ids}
            for who, is_public, number in edits:
                acc = p.account(ids[who % len(ids)])
                try:
                    p.book_add(acc.id, number, "x", public=is_public)
                    ok = True
                except ManagementError as e:
                    ok = False
                    why = str(e)
                if kind != "normal":
                    assert not ok and "FAQ-5.2.1" in why, (kind, why)
                    continue
                book = public if is_public else personal[acc.id]
                cap = p.public_contacts("E1") if is_public else acc.contacts
                allowed = (acc.role in (PUBLIC_EDITORS if is_public else PERSONAL)
                           and (number in book or len(book) < cap))
                assert ok == allowed, (acc.role, is_public, ok)
                if ok:
                    book[number] = "x"
            if kind != "normal":
                for a in ids:
                    assert p.visible_contacts(a) == {}
                return
            assert p.public_book("E1") == public
            for a in ids:
                assert p.personal_book(a) == personal[a], a
                seen = p.visible_contacts(a)
                if p.account(a).role in LOGIN:
                    assert set(public) <= set(seen)
                others = {n for b, bk in personal.items() if b != a for n in bk}
                assert not (set(seen) - set(public) - set(personal[a])), (a, seen)
                assert (set(seen) & others) <= set(public) | set(personal[a])

    prop()


@check("CLIENT-accounts")
def roles_quotas_switches(ctx):
    """a sub-account of any role, quota and MO switches, sending to public-book contacts or not and
    receiving MOs to its extension or to the main number: it logs in iff not contact-only; each
    SUBMIT is accepted iff its role sends (staff: only to public-book contacts, else 10000; data
    entry and contact-only 10007) and its quota covers it (else 10003); it sees an MO iff its role
    receives and the matching switch is on (private: to its extension; public: to the main number,
    or to its extension while private is off)"""

    @ctx.settings(60)
    @given(role=st.sampled_from(ROLES), quota=st.one_of(st.none(), st.integers(0, 4)),
           private=st.booleans(), public=st.booleans(),
           sends=st.lists(st.tuples(mobiles, st.booleans()), min_size=1, max_size=6),
           mos=st.lists(st.booleans(), max_size=4))
    def prop(role, quota, private, public, sends, mos):
        with Model() as m:
            p = m.platform
            acc = p.add_account("E1", "42", "pw-42", role=role, quota=quota,
                                receive_private_mo=private, receive_public_mo=public)
            r = p.bind(acc.id, Sink(), password="pw-42")
            assert r.ok == (role in LOGIN), (role, r)
            used = 0
            for number, in_book in sends:
                if in_book:
                    p.book_add(MAIN, number, "contact", public=True)
                out = p.submit(acc.id, single("hi", to=(number,)))
                listed = number in p.public_book("E1")
                if role not in SENDERS:
                    want = 10007
                elif role == "staff" and not listed:
                    want = 10000
                elif quota is not None and used + 1 > quota:
                    want = 10003
                else:
                    want = 0
                assert out.result == want, (role, quota, listed, used, out.result, out.reason)
                if want == 0:
                    used += 1
            assert acc.quota_used == used
            expected = []
            for i, to_own in enumerate(mos):
                text = f"mo{i}"
                p.inject_mo("13900139000", acc.id if to_own else MAIN, text)
                # to its extension with the private switch off, the MO is public (main's)
                seen = role in RECEIVERS and (True if (to_own and private) else public)
                if seen:
                    expected.append(text)
            m.settle()
            assert [mo.text for mo in p.inbox(acc.id)] == expected, (role, private, public, mos)

    prop()
