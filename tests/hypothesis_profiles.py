"""Hypothesis budgets for the test suite.

Profiles: ``ci`` (the default; bounded so the suite stays fast on 2 cores) and ``thorough``
(``HYPOTHESIS_PROFILE=thorough``) for long local runs.  A property that is slow per example
asks for a *share* of the profile's budget with ``@examples(n)``: n examples under ``ci``,
the same share of any other profile (``thorough`` runs it 5000/150 times as often).  Tests
never set ``max_examples`` themselves: a fixed count would cap a thorough run
(tests/test_hypothesis_profiles.py checks it).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI_EXAMPLES = 150

settings.register_profile(
    "ci",
    max_examples=CI_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("thorough", max_examples=5000, deadline=None, print_blob=True)


def load() -> None:
    """Load the profile HYPOTHESIS_PROFILE names (default ``ci``)."""
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def examples(ci_count: int) -> settings:
    """Settings for a slow property: ``ci_count`` examples under ``ci``, the same share of
    the profile loaded now under any other (at least one).  Use it as a decorator."""
    if not 1 <= ci_count <= CI_EXAMPLES:
        raise ValueError(f"ci_count must be in 1..{CI_EXAMPLES}, got {ci_count}")
    return settings(max_examples=max(1, settings.default.max_examples * ci_count // CI_EXAMPLES))
