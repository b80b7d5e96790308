"""The fake 企信通 platform: a pure model over an injectable clock, with thin front ends."""

# The model (no sockets) is Platform; configuration comes from TOML through load_config /
# default_config.  See docs/fake-smsc.md.

from .config import (
    ConfigError,
    PlatformConfig,
    default_config,
    load_config,
    parse_config,
)
from .items import (
    BindResult,
    CheckResult,
    ListConflict,
    ManagementError,
    MoItem,
    MoOutcome,
    MoRecord,
    MoRefused,
    ReceivedMessage,
    ReportItem,
    ReportRecord,
    Sink,
    SubmissionRecord,
    SubmitOutcome,
    UnknownAccount,
)
from .model import Account, Enterprise, Platform
from .network import Handset

# The front ends, imported on first use (the pytest plugin imports this package at every
# pytest start): FakeSmsc (runner.py), EmppServer (empp_server.py), ControlApi
# (control.py), SimulatedClock (simclock.py), FaultProxy (faultproxy.py).
_FRONT_ENDS = {
    "FakeSmsc": "runner",
    "AccountInfo": "runner",
    "EmppServer": "empp_server",
    "EmppConnection": "empp_server",
    "ControlApi": "control",
    "SimulatedClock": "simclock",
    "FaultProxy": "faultproxy",
    "FaultPolicy": "faultproxy",
}


def __getattr__(name: str):  # PEP 562
    module = _FRONT_ENDS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "Account",
    "AccountInfo",
    "ControlApi",
    "EmppConnection",
    "EmppServer",
    "FakeSmsc",
    "FaultPolicy",
    "FaultProxy",
    "SimulatedClock",
    "BindResult",
    "CheckResult",
    "ConfigError",
    "Enterprise",
    "Handset",
    "ListConflict",
    "ManagementError",
    "MoItem",
    "MoOutcome",
    "MoRecord",
    "MoRefused",
    "Platform",
    "PlatformConfig",
    "ReceivedMessage",
    "ReportItem",
    "ReportRecord",
    "Sink",
    "SubmissionRecord",
    "SubmitOutcome",
    "UnknownAccount",
    "default_config",
    "load_config",
    "parse_config",
]
