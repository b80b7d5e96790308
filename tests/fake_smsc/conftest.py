"""Fixtures for the fake platform's model tests: a task.Clock and platforms on it."""

from __future__ import annotations

import pytest
from fake_smsc_helpers import config_text
from twisted.internet.task import Clock

from smsdk_harness.fake_smsc import Platform, load_config
from smsdk_harness.fake_smsc.simclock import ReactorClock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_platform(clock):
    made = []

    def make(**sections) -> Platform:
        p = Platform(load_config(config_text(**sections)), ReactorClock(clock))
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


@pytest.fixture
def platform(make_platform) -> Platform:
    return make_platform()

