"""Shared test settings.

Hypothesis profiles (tests/hypothesis_profiles.py): ``ci`` (default; bounded so the suite
stays fast on 2 cores) and ``thorough`` (``HYPOTHESIS_PROFILE=thorough``) for long local runs.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

import hypothesis_profiles

hypothesis_profiles.load()


@pytest.fixture(scope="session")
def codec_twins():
    """(compiled, pure) codec modules, for differential tests; both are always built."""
    return importlib.import_module("smsdk._codec"), importlib.import_module("smsdk._codec_py")


@pytest.fixture(scope="session")
def split_twins():
    """(compiled, pure) text planner modules, for differential tests."""
    return importlib.import_module("smsdk._split"), importlib.import_module("smsdk._split_py")


@pytest.fixture(scope="session")
def msgid_twins():
    """(compiled, pure) Msg_Id core modules, for differential tests."""
    return importlib.import_module("smsdk._msgid"), importlib.import_module("smsdk._msgid_py")


@pytest.fixture
def server():
    """Port of a minimal EMPP server (``python -m smsdk.testing``, password ``secret``) in a
    process of its own, for tests that run the CLI as a person does."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "smsdk.testing", "--port", "0", "--password", "secret"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = proc.stdout.readline()
        assert "127.0.0.1:" in line, line
        yield int(line.rsplit(":", 1)[1])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
