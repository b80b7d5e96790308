"""Run the registered checks and build the rule-by-rule table (``smsdk conformance``)."""

from __future__ import annotations

import json
import logging
import time
import traceback
from dataclasses import asdict, dataclass
from typing import Any

from hypothesis import HealthCheck, settings

PROFILES = {"ci": 1, "thorough": 10}


@dataclass
class Target:
    """Where the checks run: ``None`` host = a fresh in-process fake per example."""

    host: str | None = None
    port: int = 0
    account: str = ""
    password: str = ""

    @property
    def in_process(self) -> bool:
        return self.host is None


class Context:
    def __init__(self, target: Target, profile: str = "ci") -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; one of {sorted(PROFILES)}")
        self.target = target
        self.profile = profile

    def settings(self, examples: int) -> settings:
        """Hypothesis settings for a property with ``examples`` examples in the ci profile."""
        ci = self.profile == "ci"
        return settings(
            max_examples=examples * PROFILES[self.profile],
            deadline=None,
            derandomize=ci,
            database=None,
            print_blob=False,
            suppress_health_check=list(HealthCheck),
        )


@dataclass
class RuleResult:
    id: str
    rule: str
    status: str  # pass / fail / n/a / gap
    detail: str = ""
    counterexample: str = ""
    seconds: float = 0.0


def _counterexample(exc: BaseException) -> str:
    notes = [n for n in getattr(exc, "__notes__", []) if n.strip()]
    lines = [n for n in notes if "Falsifying" in n or n.startswith(("    ", "  ")) or "(" in n]
    text = "\n".join(lines or notes)
    return text.strip()


def run_rule(rule: Any, ctx: Context) -> RuleResult:
    if rule.gap is not None:
        return RuleResult(rule.id, rule.title, "gap", rule.gap)
    if not ctx.target.in_process and rule.needs == "model":
        return RuleResult(rule.id, rule.title, "n/a",
                          "needs the fake platform's model/control API; not available on an external endpoint")
    checks = rule.checks if ctx.target.in_process else \
        [fn for fn in rule.checks if getattr(fn, "needs", "model") == "empp"]
    t0 = time.perf_counter()
    try:
        for fn in checks:
            fn(ctx)
    except Exception as exc:  # noqa: BLE001 - a failing property is a result
        return RuleResult(rule.id, rule.title, "fail",
                          f"{type(exc).__name__}: {exc}".strip()[:2000],
                          _counterexample(exc) or "".join(traceback.format_exception_only(exc)).strip(),
                          time.perf_counter() - t0)
    return RuleResult(rule.id, rule.title, "pass",
                      "; ".join(" ".join(fn.__doc__.split()) for fn in checks if fn.__doc__),
                      "", time.perf_counter() - t0)


def run(target: Target | None = None, profile: str = "ci", only: list[str] | None = None) -> list[RuleResult]:
    from .registry import RULES

    ctx = Context(target or Target(), profile)
    # the SDK clients of the properties log every kick and link drop they are put through
    quiet = logging.NullHandler()
    sdk_log = logging.getLogger("smsdk")
    sdk_log.addHandler(quiet)
    try:
        return [run_rule(rule, ctx) for rid, rule in RULES.items() if only is None or rid in only]
    finally:
        sdk_log.removeHandler(quiet)


def counts(results: list[RuleResult]) -> dict[str, int]:
    out = {"pass": 0, "fail": 0, "n/a": 0, "gap": 0}
    for r in results:
        out[r.status] += 1
    return out


def render_table(results: list[RuleResult], markdown: bool = False) -> str:
    def one_line(s: str, n: int) -> str:
        s = " ".join(s.split())
        return s if len(s) <= n else s[: n - 1] + "…"

    if markdown:
        rows = ["| id | rule | result | what is checked (gap: why not; fail: counterexample) |",
                "|---|---|---|---|"]
        for r in results:
            info = r.counterexample if r.status == "fail" else r.detail
            rows.append(f"| {r.id} | {r.rule} | {r.status} | {one_line(info, 1000).replace('|', '/')} |")
        c = counts(results)
        rows.append("")
        rows.append(f"{len(results)} rules: {c['pass']} pass, {c['fail']} fail, {c['n/a']} n/a, {c['gap']} gap.")
        return "\n".join(rows)
    width = max(len(r.id) for r in results)
    rows = []
    for r in results:
        info = r.counterexample if r.status == "fail" else r.detail
        rows.append(f"{r.id:<{width}}  {r.status:<4}  {one_line(r.rule, 60):<60}  {one_line(info, 120)}")
    c = counts(results)
    rows.append("")
    rows.append(f"{len(results)} rules: {c['pass']} pass, {c['fail']} fail, {c['n/a']} n/a, {c['gap']} gap")
    return "\n".join(rows)


def to_json(results: list[RuleResult], target: Target, profile: str) -> str:
    return json.dumps({
        "target": "in-process" if target.in_process else f"{target.host}:{target.port}",
        "profile": profile,
        "counts": counts(results),
        "rules": [asdict(r) for r in results],
    }, ensure_ascii=False, indent=2)
