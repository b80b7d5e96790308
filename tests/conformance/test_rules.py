"""The conformance suite under pytest: one test per RULES.md rule id, named after it
(``test_faq_2_5_2_report_ids``), each running that rule's registered hypothesis properties
against the in-process fake (profile ``ci``, or ``thorough`` with
``HYPOTHESIS_PROFILE=thorough``).  A rule the harness cannot test yet is not a test at all:
it is a gap with its reason in the runner's table, and ``test_gaps_are_exactly_the_known_ones``
fails when a gap appears or disappears without this list being updated."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from smsdk_harness.conformance.checks_sdk import REGRESSIONS
from smsdk_harness.conformance.registry import RULES
from smsdk_harness.conformance.runner import Context, Target

PROFILE = "thorough" if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else "ci"
ROOT = Path(__file__).resolve().parents[2]
# CI clones main with shared/ beside it; elsewhere the ids are taken from docs/conformance.md
RULES_MD = ROOT.parent / "shared" / "spec" / "RULES.md"
CONFORMANCE_MD = ROOT / "docs" / "conformance.md"

# Rules the harness cannot check yet, and why (see the runner's table and docs/conformance.md).
KNOWN_GAPS: set[str] = set()


def _check(rule_id: str) -> None:
    ctx = Context(Target(), PROFILE)
    for fn in RULES[rule_id].checks:
        fn(ctx)


# One test per checked rule, named after its id (the registry's ``test_name``).
def test_faq_2_1_3_http_and_empp_paths():
    """FAQ-2.1.3: Three submission paths: WEB, HTTP, EMPP"""
    _check('FAQ-2.1.3')


def test_faq_2_3_2_http_text_512():
    """FAQ-2.3.2: WEB (and HTTP msg) text ≤ 512 chars"""
    _check('FAQ-2.3.2')


def test_faq_2_4_1_http_parameters():
    """FAQ-2.4.1: HTTP submit /httpserver parameters"""
    _check('FAQ-2.4.1')


def test_faq_3_1_3_and_3_3_push_mo_and_reports():
    """FAQ-3.1.3, 3.3: HTTP-PUSH of MOs and reports"""
    _check('FAQ-3.1.3, 3.3')


def test_faq_3_1_4_and_3_4_1_polling_endpoints():
    """FAQ-3.1.4, 3.4.1: HTTP polling endpoints"""
    _check('FAQ-3.1.4, 3.4.1')


def test_faq_3_4_2_polling_limits():
    """FAQ-3.4.2: Polling limits: once a minute, 1 h windows, 3 days"""
    _check('FAQ-3.4.2')


def test_faq_2_1_4_success_means_accepted():
    """FAQ-2.1.4: Success: HTTP first line 100; EMPP SUBMIT_RESP Result 0; WEB 提交成功"""
    _check('FAQ-2.1.4')


def test_faq_2_1_5_length_limits():
    """FAQ-2.1.5: Length: ≤140 bytes / 70 chars; with forced signature ≤70 chars whatever the script"""
    _check('FAQ-2.1.5')


def test_faq_2_1_6_sdk_split_billing():
    """FAQ-2.1.6: Splitting follows the splitting table"""
    _check('FAQ-2.1.6')


def test_faq_2_2_5_group_limit():
    """FAQ-2.2.5: Group send: ≤ group_send_limit numbers per packet, else 15; the SDK chunks"""
    _check('FAQ-2.2.5')


def test_faq_2_2_3_rate_bucket():
    """FAQ-2.2.3: Rate: token bucket per account, over it 10004; the SDK paces and resubmits"""
    _check('FAQ-2.2.3')


def test_faq_2_2_8_sdk_overload():
    """FAQ-2.2.8: Overload 10005: the SDK backs off; nothing lost, nothing sent twice"""
    _check('FAQ-2.2.8')


def test_faq_2_2_6_and_2_5_6_encodings():
    """FAQ-2.2.6, 2.5.6: Text encodings GBK/ASCII/UCS2; never garbled or replaced"""
    _check('FAQ-2.2.6, 2.5.6')


def test_faq_2_5_1_msgid_layout():
    """FAQ-2.5.1: Msg_Id: 10 bytes, bytes 8–9 zero; group ids carry big-endian from byte 7"""
    _check('FAQ-2.5.1')


def test_faq_2_5_2_report_ids():
    """FAQ-2.5.2: n numbers → reports carry M … M+n−1 in Dest_terminal_Id order"""
    _check('FAQ-2.5.2')


def test_faq_2_5_3_concat_tail_cut():
    """FAQ-2.5.3: UDH long messages: signature on the last part, tail cut; the SDK reserves room"""
    _check('FAQ-2.5.3')


def test_faq_2_5_4_single_split():
    """FAQ-2.5.4: Single SUBMIT of 61–70 chars → 2 SMS (60 + rest, each signed)"""
    _check('FAQ-2.5.4')


def test_faq_2_5_5_single_too_long():
    """FAQ-2.5.5: Single SUBMIT over 70 chars → Result 6"""
    _check('FAQ-2.5.5')


def test_faq_2_5_7_service_id():
    """FAQ-2.5.7: Service_Id checked only with strict_service_id (else Result 7)"""
    _check('FAQ-2.5.7')


def test_faq_2_5_8_src_id():
    """FAQ-2.5.8: Src_Id = account number or a registered extension, ≤18 digits; else 10"""
    _check('FAQ-2.5.8')


def test_faq_2_1_7_list_policy():
    """FAQ-2.1.7: EB/EW/PB list policies; EB ∩ EW = ∅; refused → DTBLACK"""
    _check('FAQ-2.1.7')


def test_faq_2_2_1_report_statuses():
    """FAQ-2.2.1: Report statuses DELIVRD/EXPIRED/REJECTD/DTBLACK/EPBLACK/UNDELIV/CA:nnnn"""
    _check('FAQ-2.2.1')


def test_faq_2_1_8_and_2_2_2_other_carriers():
    """FAQ-2.1.8, 2.2.2: Unicom (Telecom) numbers: UNSURPT without the service, DELIVRD with it"""
    _check('FAQ-2.1.8, 2.2.2')


def test_faq_2_1_9_phs_packet():
    """FAQ-2.1.9: PHS numbers: Result 13 for the whole packet"""
    _check('FAQ-2.1.9')


def test_faq_2_2_4_sdk_once():
    """FAQ-2.2.4: Submitted once, delivered once; the SDK never resubmits an accepted message"""
    _check('FAQ-2.2.4')


def test_faq_3_1_1_and_3_1_2_sdk_deliver_resp():
    """FAQ-3.1.1, 3.1.2: MO and reports as DELIVER; answered by DELIVER_RESP with the same Sequence_Id"""
    _check('FAQ-3.1.1, 3.1.2')


def test_faq_3_1_5_and_3_5_1_offline_48h():
    """FAQ-3.1.5, 3.5.1: Offline MOs/reports delivered at next EMPP login iff within 48 h"""
    _check('FAQ-3.1.5, 3.5.1')


def test_faq_3_1_6_unicom_no_mo():
    """FAQ-3.1.6: China Unicom handsets cannot send MO"""
    _check('FAQ-3.1.6')


def test_faq_3_5_2_routing():
    """FAQ-3.5.2: Longest-prefix routing of MOs; reports to the submitter; fallback to main"""
    _check('FAQ-3.5.2')


def test_faq_3_5_3_sdk_outcomes():
    """FAQ-3.5.3: SUBMIT↔RESP by Sequence_Id, RESP↔report by Msg_Id; one outcome per recipient"""
    _check('FAQ-3.5.3')


def test_faq_3_2_2_and_4_1_2_retention():
    """FAQ-3.2.2, 4.1.2: MOs and send records kept 7 days"""
    _check('FAQ-3.2.2, 4.1.2')


def test_faq_5_1_1_sub_account_cap():
    """FAQ-5.1.1: Sub-accounts capped by the package"""
    _check('FAQ-5.1.1')


def test_faq_5_1_3_extension_cap():
    """FAQ-5.1.3: ≤ 20 service-code extensions per enterprise"""
    _check('FAQ-5.1.3')


def test_faq_5_1_4_extension_ownership():
    """FAQ-5.1.4: Each sub-account owns one extension"""
    _check('FAQ-5.1.4')


def test_faq_5_1_2_and_5_2_5_and_5_2_6_contact_caps():
    """FAQ-5.1.2, 5.2.5, 5.2.6: Personal book caps; sum ≤ package; public = package − sum"""
    _check('FAQ-5.1.2, 5.2.5, 5.2.6')


def test_faq_5_2_3_and_5_2_4_sdk_import_rows():
    """FAQ-5.2.3, 5.2.4: Address book import xls/csv (SDK: xlsx, txt)"""
    _check('FAQ-5.2.3, 5.2.4')


def test_faq_5_2_7_sdk_import_duplicates():
    """FAQ-5.2.7: Duplicates on import: exact / partial / new"""
    _check('FAQ-5.2.7')


def test_client_merge_sdk_template_merge():
    """CLIENT-merge: Message templates with per-recipient fields"""
    _check('CLIENT-merge')


def test_client_numbers_sdk_recipients():
    """CLIENT-numbers: Recipients from numbers, groups, lists; invalid reported, duplicates once"""
    _check('CLIENT-numbers')


def test_faq_5_2_1_and_5_2_2_address_books():
    """FAQ-5.2.1, 5.2.2: Only normal enterprises have address books (public + personal)"""
    _check('FAQ-5.2.1, 5.2.2')


def test_client_accounts_roles_quotas_switches():
    """CLIENT-accounts: Sub-accounts with roles, quotas, MO switches"""
    _check('CLIENT-accounts')


def test_client_inbox_inbox_roundtrip():
    """CLIENT-inbox: Received messages inbox"""
    _check('CLIENT-inbox')


def test_client_password_sdk_change_password():
    """CLIENT-password: Change password (EMPP CHANGEPASS)"""
    _check('CLIENT-password')


def test_client_schedule_scheduled_campaigns():
    """CLIENT-schedule: Scheduled send (At_Time)"""
    _check('CLIENT-schedule')


def test_client_outbox_outbox_crash_continue():
    """CLIENT-outbox: Unsent lists survive crashes; continue / resend"""
    _check('CLIENT-outbox')


def test_client_bill_bill_counts():
    """CLIENT-bill: Bill: SMS counts per month"""
    _check('CLIENT-bill')


def test_client_birthday_birthday_greetings():
    """CLIENT-birthday: Birthday messages"""
    _check('CLIENT-birthday')


def test_every_checked_rule_has_its_test_here_and_nothing_else():
    here = {name for name in globals() if name.startswith(("test_faq_", "test_client_"))}
    assert here == {rule.test_name for rule in RULES.values() if rule.gap is None}


@pytest.mark.parametrize("rule_id", sorted(REGRESSIONS))
def test_regression_counterexample_now_passes(rule_id):
    REGRESSIONS[rule_id]()


def test_gaps_are_exactly_the_known_ones():
    gaps = {rule.id: rule.gap for rule in RULES.values() if rule.gap is not None}
    assert set(gaps) == KNOWN_GAPS, set(gaps) ^ KNOWN_GAPS
    assert all(reason.strip() for reason in gaps.values())


def test_every_rules_md_id_is_registered():
    if RULES_MD.exists():
        ids = re.findall(r"^\| ((?:FAQ|CLIENT)-[^|]+?) \|", RULES_MD.read_text(encoding="utf-8"), re.M)
    else:
        ids = [i for i in RULES if f"`{i}`" in CONFORMANCE_MD.read_text(encoding="utf-8")
               or i in CONFORMANCE_MD.read_text(encoding="utf-8")]
    assert ids and set(ids) == set(RULES), (set(ids) ^ set(RULES))


def test_every_rule_has_a_check_or_a_gap_reason():
    for rule in RULES.values():
        assert bool(rule.checks) != bool(rule.gap), rule.id
