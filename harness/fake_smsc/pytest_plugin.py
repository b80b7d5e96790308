"""pytest plugin: the ``fake_smsc`` fixture (an in-process fake 企信通 platform).

Installed with smsdk as the ``pytest11`` entry point ``fake_smsc``; without the entry point,
load it with ``pytest -p smsdk_harness.fake_smsc.pytest_plugin``.

::

    def test_my_sender(fake_smsc):
        # EMPP on 127.0.0.1:<ephemeral port>, the embedded demo config, real time
        my_app.send_sms(host=fake_smsc.host, port=fake_smsc.port,
                        account=fake_smsc.account().id, password=fake_smsc.account().password)
        fake_smsc.run_until(lambda: fake_smsc.handset("13800138000").texts)
        assert fake_smsc.handset("13800138000").texts == ["您好【示例科技】"]

    @pytest.mark.fake_smsc(simulated_clock=True, config="tests/fake.toml")
    def test_offline_reports(fake_smsc):
        ...
        fake_smsc.advance(47 * 3600)          # simulated hours, in a blink

The fixture yields a :class:`~smsdk_harness.fake_smsc.runner.FakeSmsc`: ``host``, ``port``,
``accounts`` / ``account(id)``, ``platform`` (the model: inspection and control),
``client(...)`` (an ``smsdk.Client`` wired to it), and the helpers that turn the reactor
by hand (``run_until``, ``run_until_idle``, ``run``, ``wait``, ``advance``).  It is
stopped after the test (clients made by ``client()`` too).

Options (the ``fake_smsc`` marker's keywords, or override the ``fake_smsc_options``
fixture): ``config`` (a ``PlatformConfig``, a TOML path or text; default the embedded
demo), ``simulated_clock`` (default False), ``http_port`` (the HTTP interface,
``fake_smsc.http_url``; default 0: an ephemeral port; None: none), ``control_port`` (None:
no HTTP control API; 0: an ephemeral port), ``host`` ("127.0.0.1").  ``--fake-smsc-config PATH`` sets the
default config for a whole run.

The helpers turn Twisted's global reactor with ``reactor.iterate()``; they are for plain
(synchronous) tests.  Under pytest-twisted or trial, where the reactor runs, use
``FakeSmsc.start(...)`` directly and wait on Deferreds.  Nothing here imports the reactor
until the fixture is used, so a conftest may still install another reactor first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

_MARKER = "fake_smsc"
_OPTIONS = ("config", "simulated_clock", "http_port", "control_port", "host")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fake_smsc", "the fake 企信通 platform (smsdk)")
    group.addoption("--fake-smsc-config", default=None, metavar="PATH",
                    help="TOML config of the fake_smsc fixture (default: the embedded demo).")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(config=None, simulated_clock=False, http_port=0, control_port=None, host='127.0.0.1'): "
        "options of the fake_smsc fixture (an in-process fake 企信通 platform)",
    )


@pytest.fixture
def fake_smsc_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The options of the ``fake_smsc`` fixture: the ``fake_smsc`` marker's keywords over
    ``--fake-smsc-config``.  Override this fixture to set them for a module or a directory."""
    options: dict[str, Any] = {}
    path = request.config.getoption("--fake-smsc-config", default=None)
    if path:
        options["config"] = path
    for marker in reversed(list(request.node.iter_markers(_MARKER))):
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{_MARKER} takes keywords only: {', '.join(_OPTIONS)}")
        unknown = set(marker.kwargs) - set(_OPTIONS)
        if unknown:
            raise pytest.UsageError(f"@pytest.mark.{_MARKER}: unknown option(s) {', '.join(sorted(unknown))}; "
                                    f"use {', '.join(_OPTIONS)}")
        options.update(marker.kwargs)
    return options


@pytest.fixture
def fake_smsc(fake_smsc_options: dict[str, Any]) -> Iterator[Any]:
    """An in-process fake 企信通 platform on an ephemeral loopback port (see the module
    docstring)."""
    from twisted.internet import reactor

    from .runner import FakeSmsc

    fake = FakeSmsc.start(
        fake_smsc_options.get("config"),
        reactor=reactor,
        simulated_clock=bool(fake_smsc_options.get("simulated_clock", False)),
        host=fake_smsc_options.get("host", "127.0.0.1"),
        port=0,
        http_port=fake_smsc_options.get("http_port", 0),
        control_port=fake_smsc_options.get("control_port"),
    )
    try:
        yield fake
    finally:
        done = fake.stop()
        try:
            fake.wait(done, timeout=10.0)
            # let the closed connections' last callbacks run
            fake.run(0.01)
        except Exception:  # pragma: no cover - teardown must not mask the test's own error
            pass
