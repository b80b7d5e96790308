"""`smsdk conformance`: the table, the JSON, the exit status, usage errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from smsdk.cli import main


def test_conformance_in_process_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / "conf.json"
    res = CliRunner().invoke(main, ["conformance", "--rule", "FAQ-2.5.1", "--rule", "CLIENT-bill",
                                    "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "FAQ-2.5.1" in res.output and "2 pass, 0 fail, 0 n/a, 0 gap" in res.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["target"] == "in-process" and data["profile"] == "ci"
    assert {r["id"]: r["status"] for r in data["rules"]} == {"FAQ-2.5.1": "pass", "CLIENT-bill": "pass"}


def test_conformance_shows_a_gap_with_its_reason(tmp_path, monkeypatch):
    """No rule is a gap any more: one is made a gap for the test, to see it reported."""
    from smsdk_harness.conformance.registry import RULES

    rule = RULES["CLIENT-birthday"]
    monkeypatch.setattr(rule, "checks", [])
    monkeypatch.setattr(rule, "gap", "not built in this test")
    out = tmp_path / "conf.json"
    res = CliRunner().invoke(main, ["conformance", "--rule", "CLIENT-birthday", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "gap" in res.output and "not built in this test" in res.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert {r["id"]: r["status"] for r in data["rules"]} == {"CLIENT-birthday": "gap"}


def test_conformance_usage_errors():
    runner = CliRunner()
    assert runner.invoke(main, ["conformance", "--target", "nohostport"]).exit_code == 2
    assert runner.invoke(main, ["conformance", "--target", "127.0.0.1:9981"]).exit_code == 2
    assert runner.invoke(main, ["conformance", "--rule", "FAQ-9.9.9"]).exit_code == 2


def test_conformance_against_an_external_endpoint_runs_only_wire_checks(monkeypatch):
    """--target: model rules are n/a; the wire checks run (here against an in-memory link
    standing in for the TCP one, so the test needs no port)."""
    from smsdk_harness.conformance import empp_link
    from smsdk_harness.conformance.world import MAIN, MAIN_PW, World

    worlds = []

    class FakeTcp(empp_link.MemoryLink):
        def __init__(self, host, port, timeout=10.0):
            w = World()
            worlds.append(w)
            super().__init__(w.server, w.clock)

    monkeypatch.setattr(empp_link, "TcpLink", FakeTcp)
    res = CliRunner().invoke(main, ["conformance", "--target", "127.0.0.1:1", "--account", MAIN,
                                    "--password", MAIN_PW, "--json", "-", "--rule", "FAQ-2.2.5",
                                    "--rule", "FAQ-2.5.2"])
    for w in worlds:
        w.close()
    assert res.exit_code == 0, res.output
    data = json.loads(res.output[res.output.index("{"):])
    assert {r["id"]: r["status"] for r in data["rules"]} == {"FAQ-2.2.5": "pass", "FAQ-2.5.2": "n/a"}
    assert worlds  # the wire check did connect
