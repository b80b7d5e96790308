"""The end-to-end load script must keep working (it is how integrators size their systems).
Timings are measured by it, never asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_e2e_load_script_runs_and_loses_nothing(tmp_path):
    out = tmp_path / "e2e.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "e2e_load.py"), "--messages", "300", "--windows", "16",
         "--groups", "1", "5", "--json", str(out)],
        capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert "recipients/s" in result.stdout
    data = json.loads(out.read_text())
    assert [(r["group"], r["window"]) for r in data["runs"]] == [(1, 16), (5, 16)]
    assert all(r["delivered"] == r["messages"] == 300 for r in data["runs"])
    assert data["memory_per_tracked_recipient"] > 0


def test_http_load_script_runs_and_loses_nothing(tmp_path):
    out = tmp_path / "http.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "http_load.py"), "--requests", "60", "--numbers", "1", "3",
         "--concurrency", "4", "--json", str(out)],
        capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert "requests/s" in result.stdout
    runs = json.loads(out.read_text())["runs"]
    assert sorted((r["mode"], r["numbers"]) for r in runs) == [
        ("inproc", 1), ("inproc", 3), ("sdk", 1), ("sdk", 3), ("wire", 1), ("wire", 3)]
    assert all(r["reports"] == r["requests"] * r["numbers"] for r in runs)


def test_soak_script_runs_a_clean_campaign_and_reports_every_figure(tmp_path):
    out = tmp_path / "soak.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--scenario", "clean", "--recipients", "60",
         "--rate", "100", "--grace", "10", "--json", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| clean | 60 |" in result.stdout
    [run] = json.loads(out.read_text(encoding="utf-8"))["results"]
    assert run["scenario"] == "clean" and run["missing"] == 0 and run["holds"]
    assert sum(run["outcomes"].values()) == 60 and run["accepted_twice"] == 0
    assert run["last_outcome"] > 0 and run["flagged_from"] in ("outcome.possible_duplicate",
                                                                "dispatcher.possible_duplicates")


def test_outbox_load_script_runs_and_loses_nothing(tmp_path):
    out = tmp_path / "outbox.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "outbox_load.py"), "--messages", "300", "--rounds", "1",
         "--json", str(out)],
        capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert "outbox cost" in result.stdout
    runs = json.loads(out.read_text())["runs"]
    assert sorted(r["durable"] for r in runs) == [False, True]
    assert all(r["delivered"] == r["messages"] == 300 for r in runs)
