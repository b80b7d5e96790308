"""``smsdk fake-smsc`` and ``smsdk demo`` as a person runs them: real processes, loopback."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "harness" / "fake_smsc" / "example.toml"
SIG = "【示例科技】"


def smsdk(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smsdk.cli", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


class Running:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smsdk.cli", "fake-smsc", "--port", "0", "--http-port", "0",
             "--control-port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.banner: list[str] = []
        for line in self.proc.stdout:
            self.banner.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C"):
                break
        text = "\n".join(self.banner)
        self.port = int(re.search(r"EMPP on [\d.]+:(\d+)", text).group(1))
        self.control = int(re.search(r"control API on http://[\d.]+:(\d+)/", text).group(1))
        self.http_port = int(re.search(r"HTTP interface on http://[\d.]+:(\d+)/", text).group(1))
        token = re.search(r"token \(send 'Authorization: Bearer <token>'\): (\S+)", text)
        self.token = token.group(1) if token else None

    def http(self, method: str, path: str, body: object = None, *,
             content_type: str = "application/json", token: str | None = None) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(f"http://127.0.0.1:{self.control}{path}", data=data, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def interrupt(self) -> tuple[int, str, str]:
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=20)
        return self.proc.returncode, out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=10)


@pytest.fixture
def running(request):
    made = []

    def start(*args: str) -> Running:
        r = Running(*args)
        made.append(r)
        return r

    yield start
    for r in made:
        r.kill()


def test_fake_smsc_serves_the_sdk_and_the_control_api_and_stops_on_ctrl_c(running):
    fake = running("--config", str(EXAMPLE))
    banner = "\n".join(fake.banner)
    assert "10657109000001" in banner and "demo-main" in banner and SIG in banner
    result = smsdk("send", "--host", "127.0.0.1", "--port", str(fake.port), "--account", "10657109000001",
                   "--password", "demo-main", "-s", SIG, "--to", "13900139000", "--to", "13800138666",
                   "--json", "--wait", "20", "您好，测试")
    data = json.loads(result.stdout)
    assert {o["recipient"]: o["status"] for o in data["outcomes"]} == {
        "13900139000": "DELIVRD", "13800138666": "DTBLACK"}
    code, phone = fake.http("GET", "/handsets/13900139000")
    assert code == 200 and phone["texts"] == ["您好，测试" + SIG]
    code, out = fake.http("POST", "/clock/advance", {"seconds": 1})
    assert code == 409 and "error" in out
    code, out = fake.http("POST", "/lists/EB", {"value": "13900139001", "enterprise": "00001"},
                          content_type="text/plain")  # what a cross-origin page may send
    assert code == 415 and "application/json" in out["error"]
    code, out = fake.http("POST", "/lists/EB", {"value": "13900139001", "enterprise": "00001"})
    assert code == 200
    returncode, out, err = fake.interrupt()
    assert returncode == 0 and "stopped." in out
    assert "Traceback" not in err


def test_control_host_apart_from_host_and_a_token_off_loopback(running):
    fake = running("--host", "0.0.0.0", "--control-host", "0.0.0.0")
    banner = "\n".join(fake.banner)
    assert "EMPP on 0.0.0.0:" in banner and fake.token and len(fake.token) >= 24
    code, out = fake.http("GET", "/status")
    assert code == 401 and "Bearer" in out["error"]
    assert fake.http("GET", "/status", token="not-the-token")[0] == 401
    assert fake.http("GET", "/status", token=fake.token)[0] == 200
    assert fake.interrupt()[0] == 0
    # --host alone does not move the control API off loopback
    other = running("--host", "0.0.0.0")
    assert "control API on http://127.0.0.1:" in "\n".join(other.banner) and other.token is None
    assert other.http("GET", "/status")[0] == 200
    assert other.interrupt()[0] == 0


def test_fake_smsc_with_a_simulated_clock(running):
    fake = running("--simulated-clock")
    assert "clock: simulated" in "\n".join(fake.banner)
    before = fake.http("GET", "/clock")[1]["seconds"]
    code, out = fake.http("POST", "/clock/advance", {"seconds": 3600})
    assert code == 200 and out["seconds"] == before + 3600
    code, out = fake.http("POST", "/mo", {"from": "13900139000", "to": "10657109000001", "text": "hi"})
    assert code == 200 and out["items"][0]["state"] == "offline"
    assert fake.interrupt()[0] == 0


def test_fake_smsc_refuses_a_bad_config_with_the_key(tmp_path):
    bad = tmp_path / "fake.toml"
    bad.write_text('[platform]\nlogin_policy = "both"\n', encoding="utf-8")
    result = smsdk("fake-smsc", "--config", str(bad), "--port", "0", "--control-port", "0")
    assert result.returncode == 1
    assert "platform.login_policy" in result.stderr and "Traceback" not in result.stderr


def test_example_config_is_printed_and_loads(tmp_path):
    result = smsdk("fake-smsc", "--example-config")
    assert result.returncode == 0 and "[platform.empp]" in result.stdout
    path = tmp_path / "fake.toml"
    path.write_text(result.stdout, encoding="utf-8")
    from smsdk_harness.fake_smsc import load_config

    assert load_config(path).enterprises[0].signature == SIG


def test_demo_runs_a_durable_campaign_through_a_workspace(tmp_path):
    path = tmp_path / "ws" / "demo.sqlite3"
    result = smsdk("demo", "--workspace", str(path), timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert f"workspace: {path}" in out
    # the import reports the bundled csv's PHS row; one outcome per recipient, by name
    assert "6 rows → 5 added" in out and "02161234567" in out and "PHS" in out
    for expected in ("张三", "DTBLACK", "UNSURPT", "13800138666", "13000130000",
                     "张三您好，周末促销：全场满 200 减 50，详情见门店公告。" + SIG, "收到，周六去看看", "1 unread"):
        assert expected in out, expected
    billed = re.search(r"billed account 10657109000001 (\d+) SMS \(the SDK's plan for the delivered "
                       r"recipients: (\d+)\)", out)
    assert billed and billed.group(1) == billed.group(2) == "3"
    assert "5 recipients: 3 delivered, 2 failed" in out

    # what the demo printed is in the workspace file, where the workspace commands find it
    sent = smsdk("campaign", "sent", "--json", "--workspace", str(path))
    assert sent.returncode == 0, sent.stderr
    (campaign,) = json.loads(sent.stdout)["campaigns"]  # one mailing: one personal campaign
    assert campaign["personal"] is True and campaign["text"].startswith("{name}您好")
    assert campaign["account"] == "10657109000001"
    assert campaign["counts"] == {"delivered": 3, "failed": 2}
    shown = smsdk("campaign", "show", str(campaign["id"]), "--json", "--workspace", str(path))
    assert sorted(r["text"][:2] for r in json.loads(shown.stdout)["recipients"]) == sorted(
        ["张三", "李四", "王五", "赵六", "钱七"])
    group = smsdk("book", "contacts", "--group", "客户", "--json", "--workspace", str(path))
    assert group.returncode == 0, group.stderr
    assert len(group.stdout.strip().splitlines()) == 5
    inbox = smsdk("inbox", "list", "--json", "--workspace", str(path))
    assert inbox.returncode == 0 and "收到，周六去看看" in inbox.stdout and "13800138000" in inbox.stdout
    assert "问候" in smsdk("template", "list", "--workspace", str(path)).stdout


def test_demo_without_workspace_uses_a_fresh_temporary_file():
    result = smsdk("demo", timeout=120)
    assert result.returncode == 0, result.stderr
    found = re.search(r"^workspace: (\S+)$", result.stdout, re.M)
    assert found, result.stdout
    path = Path(found.group(1))
    assert path.is_file() and path.name == "workspace.sqlite3"
    assert "5 recipients: 3 delivered, 2 failed" in result.stdout


def test_fake_smsc_serves_the_http_interface_and_prints_its_port(running):
    import hashlib
    from datetime import datetime, timedelta, timezone

    fake = running("--config", str(EXAMPLE))
    assert f"HTTP interface on http://127.0.0.1:{fake.http_port}/" in "\n".join(fake.banner)
    ts = datetime.now(timezone(timedelta(hours=8))).strftime("%Y%m%d%H%M")
    auth = hashlib.md5(("00001" + "demo-main" + ts).encode()).hexdigest()
    query = urllib.parse.urlencode({"enterpriseid": "00001", "accountid": "", "mobs": "13900139000",
                                    "msg": "HTTP 您好", "timestamp": ts, "auth": auth}, encoding="gbk")
    with urllib.request.urlopen(f"http://127.0.0.1:{fake.http_port}/httpserver?{query}", timeout=10) as r:
        body = r.read().decode("gbk")
    assert body.startswith("100\n") and body.split("\n")[1].isdigit()
    # 513 chars: refused with 104 and the reason
    with urllib.request.urlopen(f"http://127.0.0.1:{fake.http_port}/httpserver", timeout=10, data=urllib.parse.urlencode(
            {"enterpriseid": "00001", "accountid": "", "mobs": "13900139000", "msg": "x" * 513,
             "timestamp": ts, "auth": auth}).encode()) as r:
        assert r.read().decode("gbk").startswith("104\n")
    assert fake.interrupt()[0] == 0


def test_fake_smsc_http_port_defaults_to_8000():
    result = smsdk("fake-smsc", "--help")
    assert "--http-port" in result.stdout and "8000" in result.stdout and "--no-http" in result.stdout
