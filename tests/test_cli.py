"""The command line, as a person runs it: real processes, a minimal server on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from smsdk.cli import main
from smsdk_harness.fake_smsc.config import DEFAULT_TOML

ROOT = Path(__file__).resolve().parent.parent
SIG = "【示例科技】"


def test_plan_shows_parts_and_billing():
    result = CliRunner().invoke(main, ["plan", "--signature", SIG, "--json", "-n", "3", "长" * 130])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [len(p["text"]) for p in data["parts"]] == [67, 61, 2]  # the last leaves room for 6 chars
    assert data["sms_per_recipient"] == 3 and data["sms_billed"] == 9
    assert data["received"] == ["长" * 130 + SIG]


def test_plan_table_output():
    result = CliRunner().invoke(main, ["plan", "-s", SIG, "您好" * 31])
    assert result.exit_code == 0, result.output
    assert "UCS2" in result.output and "05 00 03" in result.output


def test_plan_refuses_bad_input_with_a_sentence_not_a_traceback():
    result = CliRunner().invoke(main, ["plan", "-s", "示例科技", "hello"])
    assert result.exit_code == 1
    assert "Error:" in result.output and "【" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["plan", ""])
    assert result.exit_code == 1 and "empty" in result.output.lower()


def smsdk(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smsdk.cli", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_send_prints_one_json_object_with_every_recipient(server, tmp_path):
    numbers = tmp_path / "to.txt"
    numbers.write_text("# campaign\n13800000001\n\n13800000002\n02161234567\n13800000001\n", encoding="utf-8")
    result = smsdk("send", "--host", "127.0.0.1", "--port", str(server), "--account", "10657109000001",
                   "--password", "secret", "-s", SIG, "--to", "13900000000", "--to-file", str(numbers),
                   "--wait", "20", "--json", "您好，测试消息")
    assert result.returncode == 1, result.stderr  # one PHS number: not every recipient delivered
    data = json.loads(result.stdout)
    states = {o["recipient"]: o["state"] for o in data["outcomes"]}
    assert states == {"13900000000": "delivered", "13800000001": "delivered", "13800000002": "delivered",
                      "02161234567": "rejected"}
    assert data["counts"] == {"delivered": 3, "rejected": 1}
    assert data["duplicates_dropped"] == 1 and data["elapsed_seconds"] > 0


def test_send_all_delivered_exits_zero_with_a_line_per_recipient(server):
    result = smsdk("send", "--host", "127.0.0.1", "--port", str(server), "--account", "10657109000001",
                   "--password", "secret", "--to", "13900000000", "--to", "13900000001", "hello")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and all("delivered DELIVRD" in line for line in lines)


def test_send_with_wrong_password_exits_3_without_retrying(server):
    result = smsdk("send", "--host", "127.0.0.1", "--port", str(server), "--account", "10657109000001",
                   "--password", "wrong", "--to", "13900000000", "hello", timeout=30)
    assert result.returncode == 3
    assert "authentication" in result.stderr and "Traceback" not in result.stderr


def test_send_without_recipients_is_a_usage_error():
    result = smsdk("send", "--host", "127.0.0.1", "--account", "1", "--password", "p", "hello")
    assert result.returncode == 2 and "--to" in result.stderr


def test_asyncio_example_runs():
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "asyncio_send.py")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["13800138000", "delivered", "DELIVRD", "13900139000", "delivered", "DELIVRD"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_against(fake, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the CLI in a child process while this process turns the fake platform's reactor."""
    proc = subprocess.Popen([sys.executable, "-m", "smsdk.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        fake.run_until(lambda: proc.poll() is not None, timeout=timeout, what="the CLI to exit")
        out, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


NEVER_REPORTED = DEFAULT_TOML.replace("[network]\nseed = 1\n", """[network]
seed = 1
delay_min = 0.1
delay_max = 0.2

[network.outcomes]
"13800138002" = "never"
""")


@pytest.mark.fake_smsc(config=NEVER_REPORTED)
def test_send_prints_every_recipient_when_wait_runs_out(fake_smsc):
    account = fake_smsc.account()
    result = _run_against(fake_smsc, [
        "send", "--host", fake_smsc.host, "--port", str(fake_smsc.port), "--account", account.id,
        "--password", account.password, "-s", account.signature, "--wait", "4", "--json",
        "--to", "13800138000", "--to", "13800138002", "--to", "0216123456", "您好"])
    assert result.returncode == 1, result.stderr  # documented: not every recipient delivered
    assert "Traceback" not in result.stderr
    data = json.loads(result.stdout)
    states = {o["recipient"]: o["state"] for o in data["outcomes"]}
    # 13800138002 never gets a report on the demo platform: accepted, still awaiting it
    assert states == {"13800138000": "delivered", "13800138002": "accepted", "0216123456": "rejected"}
    assert data["counts"] == {"delivered": 1, "accepted": 1, "rejected": 1}


def test_send_to_a_port_where_nothing_listens_exits_3_with_one_sentence():
    port = _free_port()
    result = smsdk("send", "--host", "127.0.0.1", "--port", str(port), "--account", "10657109000001",
                   "--password", "secret", "--login-timeout", "2", "--to", "13900000000", "hello", timeout=30)
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"smsdk send: could not log in to 127.0.0.1:{port} within 2 s: "
        "connection refused (nothing listening there?)"]
    assert result.stdout == ""


def test_send_to_a_server_that_never_answers_the_login_exits_3():
    import socket

    with socket.socket() as silent:  # accepts TCP connections (backlog), never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        result = smsdk("send", "--host", "127.0.0.1", "--port", str(port), "--account", "10657109000001",
                       "--password", "secret", "--login-timeout", "1.5", "--to", "13900000000", "hello",
                       timeout=30)
    assert result.returncode == 3, result.stderr
    assert "could not log in" in result.stderr and "within 1.5 s" in result.stderr
    assert "Traceback" not in result.stderr


def test_send_with_an_account_that_cannot_be_sent_is_a_usage_error():
    result = smsdk("send", "--host", "127.0.0.1", "--account", "账号", "--password", "p", "--to", "13900000000",
                   "hello", timeout=30)
    assert result.returncode == 2 and "account" in result.stderr and "Traceback" not in result.stderr


def test_asyncio_example_exits_when_a_recipient_is_rejected(fake_smsc):
    account = fake_smsc.account()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "asyncio_send.py"), fake_smsc.host, str(fake_smsc.port),
         account.id, account.password, "13800138000", "0216123456"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        fake_smsc.run_until(lambda: proc.poll() is not None, timeout=30, what="the example to exit")
        out, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, err  # not every recipient was delivered
    assert out.split() == ["0216123456", "rejected", "13800138000", "delivered", "DELIVRD"]


def test_json_rows_show_the_possible_duplicate_flag_of_a_recipient_without_an_outcome():
    # a recipient flagged (its SUBMIT went twice) but with no final outcome yet when --wait
    # runs out: its row said possible_duplicate false, and the JSON count left it out
    from smsdk import cli_send
    from smsdk.dispatch import Dispatcher, DispatchSettings

    d = Dispatcher(settings=DispatchSettings(rate=1000))
    sub = d.add("hi", ["13800138000", "13900139000"], signature=SIG, now=0)
    job = d.pop_ready(0)
    d.on_submit_resent(job)  # the session sent it again: both copies may be accepted
    rows = {row["recipient"]: row for row in cli_send._rows(sub)}
    assert sub.possible_duplicates == 2 and not sub.outcomes
    assert all(rows[n]["state"] == "pending" and rows[n]["possible_duplicate"] for n in rows)
