"""The hypothesis budget follows the profile: no test caps a thorough run."""

from __future__ import annotations

import ast
from pathlib import Path

import hypothesis_profiles
import pytest
from hypothesis import settings
from hypothesis_profiles import CI_EXAMPLES, examples

TESTS = Path(__file__).resolve().parent


def test_no_test_sets_max_examples_itself():
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name == "hypothesis_profiles.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "max_examples":
                found.append(f"{path.relative_to(TESTS)}:{node.value.lineno}")
    assert found == [], "use @examples(n) from hypothesis_profiles"


@pytest.fixture
def profile():
    """Load a profile for one test, then the one that was loaded before."""
    before = settings._current_profile
    yield settings.load_profile
    settings.load_profile(before)


def test_a_share_of_the_ci_budget_is_the_count_itself(profile):
    profile("ci")
    assert settings.default.max_examples == CI_EXAMPLES
    assert examples(40).max_examples == 40
    assert examples(CI_EXAMPLES).max_examples == CI_EXAMPLES


def test_a_thorough_run_raises_every_share(profile):
    profile("thorough")
    assert examples(40).max_examples == 5000 * 40 // CI_EXAMPLES
    assert examples(1).max_examples == 5000 // CI_EXAMPLES


def test_the_profile_comes_from_the_environment(profile, monkeypatch):
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "thorough")
    hypothesis_profiles.load()
    assert settings.default.max_examples == 5000
    monkeypatch.delenv("HYPOTHESIS_PROFILE")
    hypothesis_profiles.load()
    assert settings.default.max_examples == CI_EXAMPLES


@pytest.mark.parametrize("count", [0, -1, CI_EXAMPLES + 1])
def test_a_share_outside_the_budget_is_refused(count):
    with pytest.raises(ValueError, match="ci_count"):
        examples(count)
