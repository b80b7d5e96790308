"""The pytest plugin: the ``fake_smsc`` fixture (registered by the ``pytest11`` entry point,
as integrators get it), used here and from a separate pytest run with the marker (real
loopback sockets)."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap

import pytest

SIG = "【示例科技】"


def test_the_fixture_gives_a_platform_on_loopback_that_an_sdk_client_can_use(fake_smsc):
    assert fake_smsc.host == "127.0.0.1" and fake_smsc.port
    main = fake_smsc.account()
    assert (main.id, main.password, main.signature) == ("10657109000001", "demo-main", SIG)
    client = fake_smsc.client()
    fake_smsc.run_until(lambda: client.bound, what="the login")
    sub = client.send("您好，测试消息", to=["13800138000", "13800138666"])
    fake_smsc.wait(sub.deferred, timeout=10)
    assert {r: o.status for r, o in sub.outcomes.items()} == {
        "13800138000": "DELIVRD", "13800138666": "DTBLACK"}
    assert fake_smsc.handset("13800138000").texts == ["您好，测试消息" + SIG]
    fake_smsc.run_until_idle()
    (conn,) = fake_smsc.sessions()
    assert conn.counters["deliver_resp"] == 2  # the SDK answers every DELIVER


def test_the_fixture_is_stopped_after_each_test(fake_smsc):
    # a fresh platform: nothing from the previous test
    assert fake_smsc.platform.submissions() == [] and fake_smsc.sessions() == []


INTEGRATOR_TESTS = '''
import pytest

SIG = "【示例科技】"


def test_real_clock(fake_smsc):
    client = fake_smsc.client()
    fake_smsc.run_until(lambda: client.bound)
    fake_smsc.wait(client.send("hello", to=["13800138000"]).deferred)
    assert fake_smsc.handset("13800138000").texts == ["hello" + SIG]
    assert not fake_smsc.simulated


def test_an_sdk_client_built_by_hand(fake_smsc):
    from smsdk import Client

    account = fake_smsc.account()
    client = Client("127.0.0.1", fake_smsc.port, account=account.id, password=account.password,
                    signature=account.signature)
    fake_smsc.wait(client.start())
    sub = client.send("hello", to=["13800138000", "13000130000"])
    fake_smsc.wait(sub.deferred)
    assert {r: o.status for r, o in sub.outcomes.items()} == {
        "13800138000": "DELIVRD", "13000130000": "UNSURPT"}
    fake_smsc.wait(client.stop())


@pytest.mark.fake_smsc(simulated_clock=True, config="""
[network]
delay_min = 3600.0
delay_max = 3600.0
[[enterprise]]
service_code = "10657109000007"
signature = "【测试】"
[[enterprise.accounts]]
extension = ""
password = "pw"
""")
def test_simulated_clock_and_offline_reports(fake_smsc):
    assert fake_smsc.simulated and fake_smsc.account().id == "10657109000007"
    client = fake_smsc.client()
    fake_smsc.run_until(lambda: client.bound)
    sub = client.send("hi", to=["13800138000"])
    fake_smsc.run_until(lambda: sub.accepted)
    fake_smsc.wait(client.stop())
    fake_smsc.advance(47 * 3600)                       # simulated: takes no real time
    assert [i.stat for i in fake_smsc.platform.offline("10657109000007")] == ["DELIVRD"]
    again = fake_smsc.client()
    fake_smsc.run_until(lambda: again.unmatched_reports)
    assert again.unmatched_reports[0].stat == "DELIVRD"


@pytest.mark.fake_smsc(simulated_clock=True)
def test_heartbeats_survive_a_long_advance(fake_smsc):
    client = fake_smsc.client()
    fake_smsc.run_until(lambda: client.bound)
    fake_smsc.advance(600)                          # the client heartbeats on the same clock
    assert client.bound and len(fake_smsc.sessions()) == 1


@pytest.mark.fake_smsc(control_port=0)
def test_control_port(fake_smsc):
    assert fake_smsc.control_port
'''


def _entry_point_installed() -> bool:
    return any(ep.value == "smsdk_harness.fake_smsc.pytest_plugin"
               for ep in importlib.metadata.entry_points(group="pytest11"))


def test_an_integrators_suite_uses_the_fixture_and_the_marker(tmp_path):
    (tmp_path / "test_integrator.py").write_text(INTEGRATOR_TESTS, encoding="utf-8")
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers",
            "-W", "error::pytest.PytestUnknownMarkWarning", str(tmp_path)]
    if not _entry_point_installed():  # until the package is reinstalled with the entry point
        args[3:3] = ["-p", "smsdk_harness.fake_smsc.pytest_plugin"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_the_marker_refuses_unknown_options(tmp_path):
    (tmp_path / "test_bad.py").write_text(textwrap.dedent('''
        import pytest

        @pytest.mark.fake_smsc(simulated=True)
        def test_x(fake_smsc):
            pass
    '''), encoding="utf-8")
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)]
    if not _entry_point_installed():
        args[3:3] = ["-p", "smsdk_harness.fake_smsc.pytest_plugin"]
    result = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "unknown option(s) simulated" in result.stdout + result.stderr


@pytest.mark.parametrize("name", ["fake_smsc", "fake_smsc_options"])
def test_the_plugin_defines_no_generic_fixture_names(name):
    import smsdk_harness.fake_smsc.pytest_plugin as plugin

    fixtures = {n for n in dir(plugin) if hasattr(getattr(plugin, n), "_pytestfixturefunction")
                or type(getattr(plugin, n)).__name__ == "FixtureFunctionDefinition"}
    assert name in fixtures and all(f.startswith("fake_smsc") for f in fixtures)
