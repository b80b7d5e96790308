"""The SDK apart from its harness.

``pip install smsdk`` (no extra) must run ``smsdk send`` and ``smsdk plan``; the harness
commands need ``pip install 'smsdk[harness]'`` and say so in one line when it is missing.
Building a fresh venv per test is too slow, so a child process is made to look like one:
a ``sitecustomize`` puts an import blocker first on ``sys.meta_path`` that makes the
harness and its dependencies unimportable, as they are after a plain install.
"""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import smsdk
from smsdk import cli

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "harness"

BLOCKER = '''
import sys

BLOCKED = {blocked!r}


class _NotInstalled:
    """Import blocker: these top-level packages are not installed."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled)
'''


@pytest.fixture
def without(tmp_path):
    """``without(*packages)``: an environment for a child Python in which those top-level
    packages cannot be imported."""

    def make(*blocked: str) -> dict[str, str]:
        site = tmp_path / ("site-" + "-".join(blocked))
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(BLOCKER.format(blocked=set(blocked)), encoding="utf-8")
        path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
        return {**os.environ, "PYTHONPATH": path}

    return make


def run(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_the_blocker_blocks(without):
    """The premise of the other tests: in such a child, the harness and hypothesis are gone."""
    env = without("smsdk_harness", "hypothesis")
    for name in ("smsdk_harness", "smsdk_harness.fake_smsc", "hypothesis"):
        result = run(env, "-c", f"import {name}")
        assert result.returncode == 1 and "ModuleNotFoundError" in result.stderr, result.stderr
    assert run(env, "-c", "import smsdk, click, twisted").returncode == 0


def test_every_sdk_module_imports_without_the_harness(without):
    names = sorted(m.name for m in pkgutil.walk_packages(smsdk.__path__, "smsdk."))
    assert {"smsdk.cli", "smsdk.cli_send", "smsdk.demo", "smsdk.client", "smsdk.testing"} <= set(names)
    code = "import importlib, sys\nfor n in sys.argv[1:]:\n    importlib.import_module(n)\nprint('ok')"
    result = run(without("smsdk_harness", "hypothesis"), "-c", code, *names)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_plan_and_send_run_without_the_harness(without, server):
    env = without("smsdk_harness", "hypothesis")
    plan = run(env, "-m", "smsdk.cli", "plan", "--json", "-s", "【示例科技】", "您好")
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["sms_per_recipient"] == 1
    assert run(env, "-m", "smsdk.cli", "send", "--help").returncode == 0
    send = run(env, "-m", "smsdk.cli", "send", "--host", "127.0.0.1", "--port", str(server),
               "--account", "10657109000001", "--password", "secret", "--to", "13900000000",
               "--wait", "20", "--json", "hello")
    assert send.returncode == 0, send.stderr
    assert json.loads(send.stdout)["counts"] == {"delivered": 1}


@pytest.mark.parametrize("blocked", [("smsdk_harness", "hypothesis"), ("hypothesis",)])
def test_conformance_without_the_harness_says_what_to_install(without, blocked):
    result = run(without(*blocked), "-m", "smsdk.cli", "conformance", "--rule", "FAQ-2.5.1")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "pip install 'smsdk[harness]'" in lines[0]
    assert repr(blocked[0]) in lines[0]  # names what is missing


@pytest.mark.parametrize("command", [["fake-smsc", "--example-config"], ["fake-smsc"], ["demo"]])
def test_other_harness_commands_without_the_harness_say_what_to_install(without, command):
    result = run(without("smsdk_harness"), "-m", "smsdk.cli", *command)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"smsdk {command[0]} needs the test harness" in lines[0]
    assert "pip install 'smsdk[harness]'" in lines[0]


def test_the_fake_platform_does_not_need_hypothesis(without):
    """fake-smsc and the pytest plugin need only the harness package (what integrators'
    test suites load), not the conformance suite's hypothesis."""
    result = run(without("hypothesis"), "-m", "smsdk.cli", "fake-smsc", "--example-config")
    assert result.returncode == 0 and "[[enterprise]]" in result.stdout, result.stderr
    result = run(without("hypothesis"), "-c", "import smsdk_harness.fake_smsc.pytest_plugin")
    assert result.returncode == 0, result.stderr


def test_a_missing_module_that_is_not_the_harness_is_not_blamed_on_it(without):
    """Only the harness and its dependencies get the one-line hint; anything else missing is
    a real error and keeps its traceback."""
    code = (
        "import sys\nfrom smsdk import cli\n"
        "try:\n    cli._harness('demo', 'not_a_module_of_ours')\n"
        "except ModuleNotFoundError as e:\n    print('raised', e.name)\n"
    )
    result = run(without("hypothesis"), "-c", code)
    assert result.stdout.strip() == "raised not_a_module_of_ours", result.stderr


def test_the_harness_extra_lists_what_the_cli_calls_the_harness():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extra = meta["optional-dependencies"]["harness"]
    names = {re.match(r"[A-Za-z0-9_.-]+", req).group(0).lower().replace("-", "_") for req in extra}
    assert names | {"smsdk_harness"} == set(cli.HARNESS_MODULES)
    # none of them is a dependency of the SDK itself
    assert not names & {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in meta["dependencies"]}


def _private_sdk_imports(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            if node.module == "smsdk":
                modules += [f"smsdk.{alias.name}" for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "smsdk" and any(p.startswith("_") for p in parts[1:]):
                found.append(f"line {node.lineno}: {module}")
    return found


def test_the_scan_finds_private_imports():
    source = ("import smsdk._codec\nfrom smsdk._layouts import Dialect\nfrom smsdk import _frozen\n"
              "from smsdk.codec import Dialect\nfrom smsdk import codec\nimport smsdk_harness._x\n")
    assert _private_sdk_imports(source) == [
        "line 1: smsdk._codec", "line 2: smsdk._layouts", "line 3: smsdk._frozen"]


def test_the_harness_imports_only_public_sdk_modules():
    files = sorted(HARNESS.rglob("*.py"))
    assert len(files) > 10
    private = {str(f.relative_to(ROOT)): found for f in files
               if (found := _private_sdk_imports(f.read_text(encoding="utf-8")))}
    assert private == {}
