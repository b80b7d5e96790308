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
KNOWN_GAPS = {
    "FAQ-2.1.3", "FAQ-2.3.2", "FAQ-2.4.1", "FAQ-3.1.3, 3.3", "FAQ-3.1.4, 3.4.1", "FAQ-3.4.2",
    "FAQ-5.2.1, 5.2.2", "FAQ-5.2.3, 5.2.4", "FAQ-5.2.7",
    "CLIENT-accounts", "CLIENT-merge", "CLIENT-numbers", "CLIENT-schedule", "CLIENT-outbox",
    "CLIENT-bill", "CLIENT-birthday", "CLIENT-inbox",
}


def _make(rule):
    def test(rule=rule):
        ctx = Context(Target(), PROFILE)
        for fn in rule.checks:
            fn(ctx)

    test.__name__ = rule.test_name
    test.__doc__ = f"{rule.id}: {rule.title}"
    return test


for _rule in RULES.values():
    if _rule.gap is None:
        globals()[_rule.test_name] = _make(_rule)
del _rule


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
