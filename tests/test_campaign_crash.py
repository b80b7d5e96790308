"""The crash test of durable campaigns, as a person would live it: ``smsdk fake-smsc`` in one
process (behind its fault proxy, which holds every answer back 0.3 s so SUBMITs are always
in flight), ``smsdk campaign send`` in another, killed with SIGKILL half way; then
``smsdk campaign continue`` (and ``--resend-unknown``).  The platform's control API says
what it accepted per number: nobody is lost, and anyone accepted twice is flagged possible
duplicate in the workspace."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

ACCOUNT = "10657109000001"
PASSWORD = "crash-pw"
CONFIG = f"""
[platform]
rate = 100000.0

[network]
delay_min = 0.0
delay_max = 0.0

[[enterprise]]
service_code = "{ACCOUNT}"
signature = "【示例科技】"

[[enterprise.accounts]]
extension = ""
password = "{PASSWORD}"
"""
NUMBERS = [f"139{i:08d}" for i in range(600)]


class Platform:
    def __init__(self, tmp: Path, config_text: str = CONFIG) -> None:
        config = tmp / "fake.toml"
        config.write_text(config_text, encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smsdk.cli", "fake-smsc", "--config", str(config), "--port", "0",
             "--no-http", "--control-port", "0", "--fault-proxy", "0", "--fault-seed", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        banner = []
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            banner.append(line)
            if line.startswith("Ctrl-C"):
                break
        text = "".join(banner)
        self.proxy = int(re.search(r"fault proxy on [\d.]+:(\d+)", text).group(1))  # type: ignore[union-attr]
        self.control = int(re.search(r"control API on http://[\d.]+:(\d+)/", text).group(1))  # type: ignore[union-attr]

    def api(self, method: str, path: str, body: object = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.control}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def accepted_per_number(self) -> Counter:
        subs = self.api("GET", f"/submissions?account={ACCOUNT}&limit=100000")["submissions"]
        return Counter(n for s in subs if s["msg_id"] is not None for n in s["dest"])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.communicate(timeout=20)


@pytest.fixture
def platform(tmp_path):
    p = Platform(tmp_path)
    yield p
    p.stop()


def campaign(*args: str, workspace: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "smsdk.cli", "campaign", *args, "--workspace", str(workspace),
            "--host", "127.0.0.1", "--port", str(port), "--account", ACCOUNT, "--password", PASSWORD,
            "--wait", "5", "--group-send-limit", "1", "--json"]


def states(workspace: Path) -> Counter:
    db = sqlite3.connect(workspace)
    try:
        # as smsdk.workspace.outbox reads it: 'queued' up to written_through was written
        return Counter(dict(db.execute(
            "SELECT CASE WHEN r.state = 'queued' AND r.id <= c.written_through THEN 'submitted' "
            "ELSE r.state END AS s, COUNT(*) FROM campaign_recipients r "
            "JOIN campaigns c ON c.id = r.campaign_id GROUP BY s")))
    except sqlite3.OperationalError:  # not created yet
        return Counter()
    finally:
        db.close()


def wait_until(proc: subprocess.Popen, ready) -> None:
    """Wait (on the process, no sleep) until ready() holds; the process must still run."""
    for _ in range(3000):
        try:
            proc.wait(timeout=0.02)
            break
        except subprocess.TimeoutExpired:
            pass
        if ready():
            break
    assert proc.poll() is None, ("the campaign ended too early", proc.communicate())


def sending(tmp_path: Path, ws: Path, port: int, rate: int, text: str) -> subprocess.Popen:
    """``smsdk campaign send`` of TEXT to NUMBERS (from a file) at ``rate``, in its own process
    (Popen directly: a process started with '&' from a shell would ignore SIGINT)."""
    (tmp_path / "numbers.txt").write_text("\n".join(NUMBERS), encoding="utf-8")
    return subprocess.Popen(
        campaign("send", "--to-file", str(tmp_path / "numbers.txt"), "--rate", str(rate), text,
                 workspace=ws, port=port),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_kill_9_mid_campaign_then_continue_loses_nobody_and_flags_every_duplicate(platform, tmp_path):
    ws = tmp_path / "ws.sqlite3"
    platform.api("POST", "/faults", {"delay_down": 0.3})  # answers late: SUBMITs always in flight

    sender = sending(tmp_path, ws, platform.proxy, 200, "双十一大促，全场五折")
    # wait until part of the campaign was accepted, then kill -9
    wait_until(sender, lambda: states(ws)["accepted"] + states(ws)["delivered"] >= 150)
    sender.send_signal(signal.SIGKILL)
    sender.communicate(timeout=20)

    at_crash = states(ws)
    assert at_crash["queued"] > 0 and at_crash["submitted"] > 0, at_crash  # unsent, some unknown
    platform.api("POST", "/faults/clear", {})

    listed = subprocess.run([sys.executable, "-m", "smsdk.cli", "campaign", "unsent", "--json",
                             "--workspace", str(ws)], capture_output=True, text=True, timeout=60)
    unsent = json.loads(listed.stdout)["campaigns"]
    assert [c["state"] for c in unsent] == ["unsent"] and unsent[0]["counts"]["submitted"] == at_crash["submitted"]
    cid = str(unsent[0]["id"])

    # continue: only the queued ones; the unknown ones are left for an explicit choice
    before = platform.accepted_per_number()
    out = subprocess.run(campaign("continue", cid, workspace=ws, port=platform.proxy),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr  # still unsent: the unknown ones
    after = platform.accepted_per_number()
    db = sqlite3.connect(ws)
    unknown = {n for (n,) in db.execute("SELECT number FROM campaign_recipients WHERE state = 'submitted'")}
    assert len(unknown) == at_crash["submitted"]
    assert not any(after[n] > before[n] for n in unknown)  # none of them sent again

    out = subprocess.run(campaign("continue", cid, "--resend-unknown", workspace=ws, port=platform.proxy),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    final = platform.accepted_per_number()
    rows = {n: (s, bool(d)) for n, s, d in db.execute(
        "SELECT number, state, possible_duplicate FROM campaign_recipients")}
    db.close()
    assert set(final) == set(NUMBERS)  # nobody lost
    # every report reached its row: those received but not yet written when the process was
    # killed were never answered (DELIVER_RESP waits for the write), so the platform sent
    # them again after the next login
    assert all(state == "delivered" for state, _ in rows.values()), Counter(rows.values())
    twice = {n for n, k in final.items() if k > 1}
    assert twice, "the unknown ones were accepted before the crash: resending them doubles them"
    assert all(rows[n][1] for n in twice)  # every double is flagged: none resent unflagged
    assert twice <= unknown


def test_reports_of_recipients_accepted_before_a_kill_reach_them_after_continue(tmp_path):
    # reports come 4 s after the SUBMIT: none reaches the process before it is killed; the
    # platform keeps them for the next login (FAQ-3.1.5) or sends them to it live
    slow = CONFIG.replace("delay_min = 0.0\ndelay_max = 0.0", "delay_min = 4.0\ndelay_max = 4.0")
    platform = Platform(tmp_path, slow)
    try:
        ws = tmp_path / "ws.sqlite3"
        sender = sending(tmp_path, ws, platform.proxy, 200, "双十一大促")
        wait_until(sender, lambda: states(ws)["accepted"] >= 150)
        sender.send_signal(signal.SIGKILL)
        sender.communicate(timeout=20)
        db = sqlite3.connect(ws)
        before = {n for (n,) in db.execute("SELECT number FROM campaign_recipients WHERE state = 'accepted'")}
        assert len(before) >= 150
        out = subprocess.run(campaign("continue", "1", workspace=ws, port=platform.proxy) + ["--wait", "15"],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode in (0, 1), out.stderr
        rows = dict(db.execute("SELECT number, state FROM campaign_recipients"))
        db.close()
        assert Counter(rows[n] for n in before) == Counter({"delivered": len(before)})
        late = json.loads(out.stdout)["late_reports"]
        assert late["resolved"] == len(before) and late["awaiting"] == 0
    finally:
        platform.stop()


def test_ctrl_c_stops_cleanly_writes_everything_and_says_how_to_continue(platform, tmp_path):
    ws = tmp_path / "ws.sqlite3"
    sender = sending(tmp_path, ws, platform.proxy, 100, "周末促销")
    wait_until(sender, lambda: states(ws)["delivered"] >= 100)
    sender.send_signal(signal.SIGINT)
    stdout, stderr = sender.communicate(timeout=60)
    assert sender.returncode == 130, stderr
    assert "interrupted (SIGINT)" in stderr and "smsdk campaign continue 1" in stderr
    (summary,) = json.loads(stdout)["summary"]
    # every answer the client had got was written; a SUBMIT written just before the stop (no
    # drain) may have been accepted with its answer still on the wire: that one is unknown
    accepted = set(platform.accepted_per_number())
    db = sqlite3.connect(ws)
    rows = dict(db.execute("SELECT number, state FROM campaign_recipients"))
    db.close()
    known = {n for n, s in rows.items() if s in ("accepted", "delivered")}
    assert known <= accepted
    assert len(accepted - known) <= summary["unknown"]
    assert summary["accepted"] == len(known)
    assert summary["unsent"] == len(NUMBERS) - len(known) > 0
    assert summary["sent"] == len(known) + summary["unknown"]
    again = ["--resend-unknown"] if summary["unknown"] else []
    out = subprocess.run(campaign("continue", "1", *again, workspace=ws, port=platform.proxy),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    # nobody lost; anyone accepted twice (an unknown one resent) is flagged, none unflagged
    per_number = platform.accepted_per_number()
    assert set(per_number) == set(NUMBERS)
    db = sqlite3.connect(ws)
    flagged = {n for (n,) in db.execute(
        "SELECT number FROM campaign_recipients WHERE possible_duplicate = 1")}
    db.close()
    assert {n for n, c in per_number.items() if c > 1} <= flagged
