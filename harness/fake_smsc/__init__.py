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

__all__ = [
    "Account",
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
