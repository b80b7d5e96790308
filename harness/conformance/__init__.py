"""Conformance harness: one hypothesis property per RULES.md rule id (docs/conformance.md).

``registry.RULES`` maps every rule id to its title and either a check (a property run
against a :class:`~.target.Target`) or the reason it is a gap; ``runner.run`` executes them
and builds the rule-by-rule table (``smsdk conformance``).
"""

from .registry import RULES, Rule
from .runner import RuleResult, run, render_table

__all__ = ["RULES", "Rule", "RuleResult", "run", "render_table"]
