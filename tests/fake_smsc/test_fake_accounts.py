"""Accounts in the model: sub-accounts and their extensions, package caps, the five roles at
login / SUBMIT / MO routing, quotas, MO switches, address books and their caps; the control
API's management endpoints.  Every refusal is a ManagementError (400 over the API) naming
its rule."""

from __future__ import annotations

import pytest
from fake_smsc_helpers import MAIN, MOBILE, MOBILE2, SUB, SUB_PW, RecordingSink, settle, text_submit

from smsdk_harness.fake_smsc import ConfigError, ManagementError, load_config
from smsdk_harness.fake_smsc.control import ControlApi
from fake_smsc_helpers import config_text


def role_platform(make_platform, role: str, contacts: int = 0):
    extra = f'role = "{role}"' + (f"\ncontacts = {contacts}" if contacts else "")
    return make_platform(accounts=extra)


# ------------------------------------------------------------------ sub-accounts, extensions


def test_add_and_remove_a_sub_account_with_its_extension(platform):
    acc = platform.add_account("E1", "02", "pw", role="service", contacts=10)
    assert platform.extensions("E1")[MAIN + "02"] == MAIN + "02"
    assert platform.bind(acc.id, RecordingSink(), password="pw").ok
    platform.remove_account(acc.id)
    assert MAIN + "02" not in platform.extensions("E1")
    with pytest.raises(ManagementError, match="cannot be deleted"):
        platform.remove_account(MAIN)


def test_removing_a_bound_sub_account_kicks_its_session(platform):
    sink = RecordingSink()
    platform.bind(SUB, sink, password=SUB_PW)
    platform.remove_account(SUB)
    assert sink.kicks == 1


@pytest.mark.parametrize("kw, match", [
    ({"extension": "x1"}, "must be digits"),
    ({"extension": "01"}, "is taken"),
    ({"extension": "88"}, "registered by hand"),
    ({"extension": "1" * 10}, "at most 18"),
    ({"password": ""}, "1 to 16"),
    ({"password": "p" * 17}, "1 to 16"),
    ({"role": "boss"}, "role must be one of"),
    ({"quota": -1}, "quota must be"),
    ({"rate": 0.0}, "rate must be"),
    ({"contacts": -1}, "contacts must be >= 0"),
    ({"role": "staff", "contacts": 5}, "no personal address book"),
    ({"contacts": 3000}, "over package 'standard'"),
])
def test_add_account_refusals(platform, kw, match):
    args = {"extension": "05", "password": "pw", **kw}
    with pytest.raises(ManagementError, match=match):
        platform.add_account("E1", args.pop("extension"), args.pop("password"), **args)


def test_the_package_caps_sub_accounts(make_platform):
    p = make_platform(more="[packages.standard]\nsub_accounts = 5")  # one configured
    for i in range(4):
        p.add_account("E1", f"2{i}", "pw")
    with pytest.raises(ManagementError, match="FAQ-5.1.1"):
        p.add_account("E1", "29", "pw")


def test_extension_cap_counts_the_service_code(make_platform):
    p = make_platform(enterprise="max_extensions = 4")  # service code, 01, 88
    p.add_account("E1", "02", "pw")
    with pytest.raises(ManagementError, match="FAQ-5.1.3"):
        p.register_extension("E1", MAIN + "77")
    with pytest.raises(ManagementError, match="FAQ-5.1.3"):
        p.add_account("E1", "03", "pw")


def test_extension_ownership(platform):
    with pytest.raises(ManagementError, match="FAQ-5.1.4"):
        platform.unregister_extension("E1", SUB)
    with pytest.raises(ManagementError, match="it is account"):
        platform.register_extension("E1", SUB)
    with pytest.raises(ManagementError, match="not registered"):
        platform.unregister_extension("E1", MAIN + "55")


# ------------------------------------------------------------------ roles


def test_contact_only_cannot_log_in_and_data_entry_can(make_platform):
    assert role_platform(make_platform, "contact_only").bind(SUB, RecordingSink(), password=SUB_PW).status == 3
    assert role_platform(make_platform, "data_entry").bind(SUB, RecordingSink(), password=SUB_PW).status == 0


@pytest.mark.parametrize("role", ["data_entry", "contact_only"])
def test_roles_that_cannot_send_get_10007(make_platform, role):
    p = role_platform(make_platform, role)
    out = p.submit(SUB, text_submit("hi"))
    assert out.result == 10007 and f"role {role!r}, which cannot send" in out.reason


def test_staff_sends_only_to_public_book_contacts(make_platform):
    p = role_platform(make_platform, "staff")
    out = p.submit(SUB, text_submit("hi", to=(MOBILE,)))
    assert out.result == 10000 and "public address book" in out.reason
    p.book_add(MAIN, MOBILE, "张三", public=True)
    assert p.submit(SUB, text_submit("hi", to=(MOBILE,))).result == 0
    assert p.submit(SUB, text_submit("hi", to=(MOBILE, MOBILE2))).result == 10000
    # a personal book of someone else does not count
    p.add_account("E1", "02", "pw", contacts=5)
    p.book_add(MAIN + "02", MOBILE2, "李四")
    assert p.submit(SUB, text_submit("hi", to=(MOBILE2,))).result == 10000


def test_service_and_admin_send_to_anyone(make_platform):
    p = role_platform(make_platform, "service")
    assert p.submit(SUB, text_submit("hi")).result == 0
    assert p.submit(MAIN, text_submit("hi")).result == 0


@pytest.mark.parametrize("role", ["data_entry", "contact_only"])
def test_mo_to_an_account_that_cannot_receive_goes_to_the_main_account(make_platform, clock, role):
    p = role_platform(make_platform, role)
    main = RecordingSink()
    p.bind(MAIN, main)
    out = p.inject_mo(MOBILE, SUB, "hello")
    assert out.account_id == MAIN
    settle(clock)
    assert [i.text for i in main.mos] == ["hello"]
    assert p.inbox(SUB) == []


def test_mo_switches_decide_the_inbox(make_platform):
    p = make_platform(accounts="receive_private_mo = false\nreceive_public_mo = true")
    p.inject_mo(MOBILE, SUB, "to-sub")      # no private MO: public, to the main account
    p.inject_mo(MOBILE, MAIN, "to-main")
    assert [m.text for m in p.inbox(SUB)] == ["to-sub", "to-main"]
    p.set_account(SUB, receive_public_mo=False, receive_private_mo=True)
    p.inject_mo(MOBILE, SUB, "private")
    assert [m.text for m in p.inbox(SUB)] == ["private"]


def test_set_account_refusals(platform):
    with pytest.raises(ManagementError, match="stays admin"):
        platform.set_account(MAIN, role="service")
    with pytest.raises(ManagementError, match="role must be one of"):
        platform.set_account(SUB, role="boss")
    platform.set_account(SUB, contacts=2)
    platform.book_add(SUB, MOBILE, "a")
    platform.book_add(SUB, MOBILE2, "b")
    with pytest.raises(ManagementError, match="cannot go down to 1"):
        platform.set_account(SUB, contacts=1)
    with pytest.raises(ManagementError, match="no personal address book"):
        platform.set_account(SUB, role="staff")
    with pytest.raises(ManagementError, match="over package"):
        platform.set_account(SUB, contacts=2001)


def test_per_account_quota_refuses_with_10003(make_platform):
    p = make_platform(accounts="quota = 1")
    assert p.submit(SUB, text_submit("a")).result == 0
    assert p.submit(SUB, text_submit("a")).result == 10003
    with pytest.raises(ManagementError, match="quota must be"):
        p.set_quota(account_id=SUB, quota=-5)
    p.set_quota(account_id=SUB, quota=5, reset_used=True)
    assert p.submit(SUB, text_submit("a")).result == 0


# ------------------------------------------------------------------ address books


def test_only_normal_enterprises_have_address_books(make_platform):
    p = make_platform(enterprise='kind = "channel"')
    for call in (lambda: p.book_add(MAIN, MOBILE, "x", public=True), lambda: p.book_add(MAIN, MOBILE, "x"),
                 lambda: p.public_book("E1"), lambda: p.personal_book(SUB),
                 lambda: p.book_remove(MAIN, MOBILE)):
        with pytest.raises(ManagementError, match="FAQ-5.2.1"):
            call()
    with pytest.raises(ManagementError, match="no address books"):
        p.add_account("E1", "02", "pw", contacts=1)
    with pytest.raises(ManagementError, match="'staff'"):
        p.add_account("E1", "02", "pw", role="staff")
    assert p.visible_contacts(MAIN) == {}


def test_public_book_is_shared_and_edited_by_admin_and_data_entry(make_platform):
    p = make_platform()
    p.add_account("E1", "02", "pw", role="data_entry", contacts=1)
    p.add_account("E1", "03", "pw", role="staff")
    p.book_add(MAIN, MOBILE, "张三", public=True)
    p.book_add(MAIN + "02", "+86 139-0013-9000", "李四", public=True)
    assert p.public_book("E1") == {MOBILE: "张三", MOBILE2: "李四"}
    for who in (SUB, MAIN + "03"):
        with pytest.raises(ManagementError, match="only the admin and data-entry"):
            p.book_add(who, "13700137000", "x", public=True)
        assert set(p.visible_contacts(who)) >= {MOBILE, MOBILE2}
    assert p.book_remove(MAIN + "02", MOBILE, public=True)
    assert not p.book_remove(MAIN, MOBILE, public=True)


def test_personal_books_are_each_accounts_own_and_capped(make_platform):
    p = make_platform(accounts="contacts = 1")
    p.book_add(SUB, MOBILE, "a")
    p.book_add(SUB, MOBILE, "a2")  # the same number: renamed, not a second contact
    with pytest.raises(ManagementError, match="full: 1 of 1"):
        p.book_add(SUB, MOBILE2, "b")
    assert p.personal_book(SUB) == {MOBILE: "a2"}
    assert p.personal_book(MAIN) == {}
    p.add_account("E1", "03", "pw", role="staff")
    with pytest.raises(ManagementError, match="no personal address book"):
        p.book_add(MAIN + "03", MOBILE, "x")
    with pytest.raises(ManagementError, match="not a mainland mobile"):
        p.book_add(SUB, "12345", "x")


def test_public_book_cap_is_package_minus_personal_caps(make_platform):
    p = make_platform(accounts="contacts = 498", more="[packages.standard]\ncontacts = 500")
    assert p.public_contacts("E1") == 2
    p.book_add(MAIN, MOBILE, "a", public=True)
    p.book_add(MAIN, MOBILE2, "b", public=True)
    with pytest.raises(ManagementError, match="full: 2 of 2"):
        p.book_add(MAIN, "13700137000", "c", public=True)
    # a personal cap may not grow into what the public book already holds
    with pytest.raises(ManagementError, match="FAQ-5.2.6"):
        p.add_account("E1", "02", "pw", contacts=1)


def test_config_refuses_roles_and_caps_that_do_not_fit():
    with pytest.raises(ConfigError, match="contacts: a channel enterprise"):
        load_config(config_text(enterprise='kind = "channel"', accounts="contacts = 5"))
    with pytest.raises(ConfigError, match="role 'staff' has no personal"):
        load_config(config_text(accounts='role = "staff"\ncontacts = 5'))
    with pytest.raises(ConfigError, match="'staff' may send only"):
        load_config(config_text(enterprise='kind = "partner"', accounts='role = "staff"'))


# ------------------------------------------------------------------ control API


@pytest.fixture
def api(platform):
    return ControlApi(platform=platform, server=None)


def test_control_api_creates_and_deletes_sub_accounts(api, platform):
    code, out = api.call("POST", "/accounts", {"enterprise": "E1", "extension": "02",
                                               "password": "pw", "role": "staff"})
    assert code == 200 and out["account"]["id"] == MAIN + "02" and out["account"]["role"] == "staff"
    assert "password" not in out["account"]
    code, out = api.call("GET", "/extensions?enterprise=E1")
    assert out["extensions"]["E1"]["codes"][MAIN + "02"] == MAIN + "02"
    code, out = api.call("POST", "/extensions/remove", {"enterprise": "E1", "code": MAIN + "02"})
    assert code == 400 and "FAQ-5.1.4" in out["error"]
    assert api.call("POST", "/accounts/remove", {"account": MAIN + "02"}) == (200, {"removed": MAIN + "02"})
    assert api.call("POST", "/extensions", {"enterprise": "E1", "code": MAIN + "02"})[0] == 200
    code, out = api.call("POST", "/accounts", {"enterprise": "E1", "extension": "02", "password": "pw"})
    assert code == 400 and "registered by hand" in out["error"]


def test_control_api_settings_books_and_inbox(api, platform):
    code, out = api.call("POST", "/accounts/settings", {"account": SUB, "contacts": 3,
                                                        "receive_public_mo": True})
    assert code == 200 and out["account"]["contacts"] == 3 and out["account"]["receive_public_mo"]
    assert api.call("POST", "/books", {"account": SUB, "number": MOBILE, "name": "a"})[0] == 200
    assert api.call("POST", "/books", {"account": MAIN, "number": MOBILE2, "name": "b",
                                       "public": True})[0] == 200
    code, out = api.call("GET", f"/books?enterprise=E1&account={SUB}")
    assert out["public"] == {MOBILE2: "b"} and out["personal"] == {MOBILE: "a"}
    assert out["personal_cap"] == 3 and out["public_cap"] == 2000 - 3
    platform.inject_mo(MOBILE, MAIN, "hello")
    code, out = api.call("GET", f"/inbox/{SUB}")
    assert [m["text"] for m in out["mos"]] == ["hello"]
    assert api.call("POST", "/books/remove", {"account": SUB, "number": MOBILE}) == (
        200, {"removed": True, "public": False})


@pytest.mark.parametrize("path, body, match", [
    ("/accounts", {"enterprise": "E1", "extension": "02"}, "password: a non-empty string"),
    ("/accounts", {"enterprise": "E1", "extension": "02", "password": "pw", "rol": "x"}, "unknown key 'rol'"),
    ("/accounts", {"enterprise": "E1", "extension": "02", "password": "pw", "quota": "9"}, "quota: must be"),
    ("/accounts", {"enterprise": "E1", "extension": "02", "password": "pw", "rate": "fast"}, "rate: must be"),
    ("/accounts/settings", {"account": SUB, "receive_public_mo": "yes"}, "must be true or false"),
    ("/accounts/settings", {"account": SUB, "contacts": None}, "contacts: must be"),
    ("/accounts/remove", {"account": MAIN}, "cannot be deleted"),
    ("/books", {"account": SUB, "number": MOBILE, "name": 5}, "name: must be a string"),
    ("/books", {"account": SUB, "number": MOBILE, "name": "x", "public": True}, "only the admin"),
])
def test_control_api_refusals_are_400_sentences(api, path, body, match):
    code, out = api.call("POST", path, body)
    assert code == 400 and match in out["error"], out


def test_control_api_unknown_account_is_404(api):
    code, out = api.call("POST", "/accounts/remove", {"account": "123"})
    assert code == 404 and "no account" in out["error"]
    assert api.call("GET", "/books")[0] == 400
    assert api.call("GET", "/books?enterprise=E1&account=" + MAIN)[0] == 200
