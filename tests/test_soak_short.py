"""A short soak in the suite: benchmarks/soak.py's campaigns, 300 recipients each, through the
fault proxy against the fake platform on the real reactor (loopback).  The one-outcome
promise must hold in every scenario: 0 recipients without an outcome, and at least as many
flagged possible duplicates as numbers the platform accepted twice (docs/reliability.md).

Timings are never asserted; the deadlines (soak.py's ``grace``) are generous, because the
suite runs under CPU contention.  A broken promise reports where the missing recipients
were lost (``missing_where``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECIPIENTS = 300
GRACE = 90.0   # seconds past the expected sending time before a recipient counts as missing


def _load_soak():
    name = "smsdk_soak_benchmark"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "soak.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # (its dataclasses look their module up)
        spec.loader.exec_module(module)
    return sys.modules[name]


soak = _load_soak()


def _check(result) -> None:
    detail = (f"{result.scenario}: outcomes {result.outcomes}, faults {result.faults}, "
              f"missing by where {result.missing_where}")
    assert result.missing == 0, detail
    assert sum(result.outcomes.values()) == result.recipients == RECIPIENTS, detail
    assert result.flagged >= result.accepted_twice, detail
    assert result.flagged_from == "outcome.possible_duplicate", detail
    assert result.holds


# (scenario, seed): terminate-stop's seed 1 stops the client at once (the two TERMINATEs
# cross), seed 7 in the first reactor turn after the client took the platform's TERMINATE
CASES = [("cuts", 1), ("delays", 1), ("busy", 1), ("terminate", 1),
         ("terminate-stop", 1), ("terminate-stop", 7), ("disk", 1)]


@pytest.mark.parametrize(("name", "seed"), CASES, ids=[f"{n}-seed{s}" for n, s in CASES])
def test_short_soak_every_recipient_gets_one_outcome_and_duplicates_are_flagged(name, seed):
    result = soak.run_scenario(name, RECIPIENTS, seed, rate=500.0, grace=GRACE)
    _check(result)
    faults = result.faults
    # the faults really happened (else the scenario proves nothing)
    if name == "cuts":
        assert faults.get("proxy connections", 0) >= 2, faults   # at least one cut, then a reconnect
    elif name == "delays":
        # every SUBMIT is sent again after response_timeout: the platform accepts copies
        assert result.accepted_twice > 0 and result.flagged >= result.accepted_twice
    elif name == "busy":
        assert faults.get("10005", 0) > 0, faults
    elif name == "terminate":
        assert faults.get("TERMINATE", 0) >= 1 and faults.get("proxy connections", 0) >= 2, faults
    elif name == "terminate-stop":
        how = "client.stop() crossing the TERMINATE" if seed == 1 else "client.stop() after the TERMINATE"
        assert faults.get("TERMINATE") == 1 and faults.get(how) == 1, faults
        assert faults.get("awaiting an outcome at stop()", 0) > 0, faults  # stopped with recipients queued
        assert result.outcomes.get("cancelled", 0) > 0, result.outcomes
    elif name == "disk":
        # the outbox's commits failed while the campaign ran, and its rows say every outcome
        assert faults.get("commits refused", 0) > 0, faults


def test_soak_refuses_an_unknown_scenario_by_name():
    with pytest.raises(ValueError, match="terminate-stop"):
        soak.run_scenario("terminate-sotp", 10, 1)
