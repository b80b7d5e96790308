"""Configuration of the fake platform: every number of RULES.md is a setting here.

``load_config(path_or_text)`` reads TOML (a path, a ``pathlib.Path``, or the TOML text
itself) and ``default_config()`` returns the embedded demo (:data:`DEFAULT_TOML`).  Both
return a :class:`PlatformConfig`; a bad file raises :class:`ConfigError` whose message
starts with the key at fault, e.g. ``enterprise[0].accounts[1].extension: must be
digits``.  Unknown keys are errors too (a typo must not silently fall back to a default).

Every key, its default and its rule are listed in ``docs/fake-smsc.md`` and shown in
``example.toml`` beside this file.
"""

from __future__ import annotations

import builtins
import datetime as _dt
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

from smsdk import numbers as _numbers
from smsdk.china_time import CHINA as _CHINA

__all__ = [
    "AccountConfig",
    "ConfigError",
    "ControlConfig",
    "DEFAULT_CHECK_ORDER",
    "DEFAULT_TOML",
    "EmppConfig",
    "EnterpriseConfig",
    "HttpConfig",
    "NetworkConfig",
    "OverloadConfig",
    "PackageConfig",
    "PlatformConfig",
    "ROLES",
    "check_stat",
    "default_config",
    "load_config",
    "parse_config",
]


class ConfigError(ValueError):
    """A bad configuration value; ``key`` is its dotted path (``enterprise[0].rate``)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


#: SUBMIT checks in the order the platform applies them (RULES.md §1; the brief of the
#: model).  ``platform.check_order`` may reorder them; every name must appear once.
DEFAULT_CHECK_ORDER: tuple[str, ...] = (
    "length",       # 6: a SUBMIT without UDH over single_max chars (FAQ-2.5.5)
    "src_id",       # 10: Src_Id not the account's number or a registered extension (FAQ-2.5.8)
    "dest",         # 13: an invalid or PHS number refuses the whole packet (FAQ-2.1.9)
    "role",         # 10007 a role that cannot send; 10000 staff to a non-public-book number
    "group",        # 15: more numbers than group_send_limit (FAQ-2.2.5)
    "rate",         # 10004: token bucket per account (FAQ-2.2.3)
    "overload",     # 10005: fault injection (FAQ-2.2.8)
    "service_id",   # 7: only with strict_service_id (FAQ-2.5.7)
    "quota",        # 10003: EMPP_TESTEPR_MAXCOUNT, quota used up (PROTOCOL.md §1.8)
    "duplicate",    # 14: same text to the same number within the window (off by default)
)

#: Account roles (CLIENT-accounts).  ``contact_only`` cannot log in; ``data_entry`` logs in
#: but can neither send nor receive (see platform_accounts.py).
ROLES = ("admin", "service", "staff", "data_entry", "contact_only")

_STAT = re.compile(r"[A-Z]{7}|[A-Z]{2}:\d{4}")


def check_stat(value: object) -> str:
    """A network outcome: ``"never"`` or a 7-char Stat (``DELIVRD``, ``UNDELIV``,
    ``REJECTD``, ``CA:0054`` ...).  ValueError saying what is wrong otherwise."""
    if value == "never":
        return "never"
    if not isinstance(value, str) or not _STAT.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an outcome: expected 'never' or a 7-char Stat such as "
            "'DELIVRD', 'UNDELIV', 'REJECTD' or a network code 'CA:0054'"
        )
    return value


# ------------------------------------------------------------------------------ dataclasses


@dataclass(frozen=True)
class PackageConfig:
    """A package (FAQ-5.1.1, decided table): sub-account and contact caps."""

    name: str
    sub_accounts: int
    contacts: int


@dataclass(frozen=True)
class OverloadConfig:
    """10005 fault injection (FAQ-2.2.8): each SUBMIT is refused with ``probability``,
    and always while the model clock is inside one of ``windows`` ((start, end) seconds
    on the clock, start inclusive, end exclusive)."""

    probability: float = 0.0
    windows: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class HttpConfig:
    """Numbers for the HTTP front end (FAQ-3.4.2, PROTOCOL.md §3b); the model keeps them."""

    poll_interval: float = 60.0
    report_window_minutes: int = 60
    report_days: int = 3
    auth_skew_minutes: int = 10
    text_max: int = 512
    push_retry_hours: float = 48.0


@dataclass(frozen=True)
class EmppConfig:
    """Numbers for the EMPP front end (``[platform.empp]``; PROTOCOL.md §1.12, §1.15).

    ``version``: the CONNECT Version accepted (others get status 4).
    ``silence_timeout``: a link with no inbound byte this long is dropped (0: never); the
    official client sends ACTIVE_TEST every 5 s (older build 29 s) and the SDK after 30 s
    idle, so anything over ~60 s keeps well-behaved clients up.
    ``terminate_timeout``: our TERMINATE unanswered this long: the link is closed anyway.
    ``max_frame_length``: inbound Total_Length refused above this (the link is dropped).
    ``deliver_track`` / ``deliver_resp_timeout``: how many DELIVERs per connection are
    remembered, and how long, waiting for their DELIVER_RESP.  A DELIVER takes no window
    slot and is never resent on the same link (the official client never answers them);
    with ``redeliver_unacked`` the ones still waiting when the link ends go back to the
    account's offline queue and are sent again after its next login (FAQ-3.1.5).
    ``login_timeout``: a connection without an accepted CONNECT this long is closed (0: never).
    ``max_connections`` / ``max_connections_per_address``: open connections at most, in
    total and from one peer address; one more is closed at once.
    ``login_failure_window``, ``login_max_failures`` (per account and address),
    ``login_max_failures_per_address``: after that many failed logins (status 3) within the
    window, further CONNECTs of that key are answered 3 without checking the password
    (window 0: no throttling).  See :mod:`.guard`.
    """

    version: int = 0x10
    silence_timeout: float = 90.0
    terminate_timeout: float = 5.0
    max_frame_length: int = 4096
    deliver_track: int = 4096
    deliver_resp_timeout: float = 60.0
    redeliver_unacked: bool = True
    login_timeout: float = 10.0
    max_connections: int = 1024
    max_connections_per_address: int = 64
    login_failure_window: float = 60.0
    login_max_failures: int = 5
    login_max_failures_per_address: int = 20


@dataclass(frozen=True)
class ControlConfig:
    """The control API (``[control]``): ``token`` is the bearer token it requires; empty:
    none on loopback, a random one (printed at start) on any other interface."""

    token: str = ""


@dataclass(frozen=True)
class NetworkConfig:
    """The simulated network: a seeded RNG, a delay range and a default outcome mix, plus
    per-number overrides (number -> (stat, delay or None))."""

    seed: int = 0
    delay_min: float = 0.5
    delay_max: float = 2.0
    mix: tuple[tuple[str, float], ...] = (("DELIVRD", 1.0),)
    outcomes: tuple[tuple[str, str, float | None], ...] = ()


@dataclass(frozen=True)
class AccountConfig:
    """An account (main when ``extension`` is empty): its number is the enterprise's
    service code + extension, and that number is also its login id."""

    extension: str
    password: str
    role: str
    name: str = ""
    quota: int | None = None
    rate: float | None = None
    contacts: int = 0
    receive_private_mo: bool = True
    receive_public_mo: bool = True
    push_url: str = ""
    ability: int = 0


@dataclass(frozen=True)
class EnterpriseConfig:
    id: str
    name: str
    service_code: str
    signature: str
    package: str
    kind: str
    list_policy: str
    unicom: bool
    telecom: bool
    rate: float
    burst: float
    group_send_limit: int
    max_extensions: int
    quota: int | None
    extensions: tuple[str, ...]
    blacklist: tuple[str, ...]
    whitelist: tuple[str, ...]
    accounts: tuple[AccountConfig, ...]


@dataclass(frozen=True)
class PlatformConfig:
    """Everything the model needs.  Times are seconds on the model clock unless named."""

    epoch: float | None = None
    gateway_code: int = 2100
    msgid_sequence: int = 0
    login_policy: str = "kick"
    strict_service_id: bool = False
    service_ids: tuple[str, ...] = ("QSH0010500", "QSH0010501")
    cut: int = 60
    single_max: int = 70
    single_max_ascii: int = 140
    part_chars: int = 67
    part_chars_16: int = 66
    signature_max: int = 10
    src_id_max: int = 18
    max_dest: int = 99
    group_send_limit: int = 5
    rate: float = 100.0
    max_extensions: int = 20
    offline_hours: float = 48.0
    offline_from: str = "item"
    expired_hours: float = 48.0
    retention_days: float = 7.0
    housekeeping_interval: float = 60.0
    duplicate_check: bool = False
    duplicate_window: float = 600.0
    check_order: tuple[str, ...] = DEFAULT_CHECK_ORDER
    platform_blacklist: tuple[str, ...] = ()
    source_blacklist: tuple[str, ...] = ()
    overload: OverloadConfig = field(default_factory=OverloadConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    empp: EmppConfig = field(default_factory=EmppConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    packages: dict[str, PackageConfig] = field(default_factory=dict)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    enterprises: tuple[EnterpriseConfig, ...] = ()

    @property
    def offline_seconds(self) -> float:
        return self.offline_hours * 3600.0

    @property
    def expired_seconds(self) -> float:
        return self.expired_hours * 3600.0

    @property
    def retention_seconds(self) -> float:
        return self.retention_days * 86400.0


DEFAULT_PACKAGES: dict[str, tuple[int, int]] = {
    "basic": (5, 500),
    "standard": (20, 2000),
    "premium": (100, 10000),
}


# ------------------------------------------------------------------------------ embedded demo

#: The embedded demo configuration (``default_config()``): one enterprise signing
#: 【示例科技】 with a main account 10657109000001 and a sub-account on extension 01, one
#: blacklisted number, China Unicom service off.
DEFAULT_TOML = """\
[platform]
login_policy = "kick"

[network]
seed = 1

[[enterprise]]
id = "00001"
name = "示例科技"
service_code = "10657109000001"
signature = "【示例科技】"
package = "standard"
list_policy = "blacklist"
unicom = false
telecom = false
blacklist = ["13800138666"]

[[enterprise.accounts]]
extension = ""
password = "demo-main"
role = "admin"
name = "管理员"

[[enterprise.accounts]]
extension = "01"
password = "demo-sub"
role = "service"
name = "销售部"
contacts = 100
"""


def default_config() -> PlatformConfig:
    """The embedded demo (:data:`DEFAULT_TOML`)."""
    return parse_config(tomllib.loads(DEFAULT_TOML))


def load_config(source: str | os.PathLike[str]) -> PlatformConfig:
    """Read a TOML configuration from a path or from TOML text.

    A ``Path``, or a ``str`` naming an existing file (or ending in ``.toml`` without a
    newline), is read as a file; any other ``str`` is the TOML text itself.
    """
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source
        and (source.endswith(".toml") or Path(source).is_file())
    ):
        path = Path(source)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(str(path), f"not valid TOML: {e}") from None
        except OSError as e:
            raise ConfigError(str(path), f"cannot be read: {e.strerror or e}") from None
        return parse_config(data)
    if not isinstance(source, str):
        raise TypeError(f"load_config takes a path or TOML text, not {type(source).__name__}")
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("<toml>", f"not valid TOML: {e}") from None
    return parse_config(data)


# ------------------------------------------------------------------------------ reading


class _Table:
    """A TOML table being read: typed getters that name the key, and a check that every
    key was used."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(path or "<root>", f"must be a table, not {_kind(data)}")
        self.data = data
        self.path = path
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, default: Any = None) -> Any:
        self.used.add(name)
        return self.data.get(name, default)

    def table(self, name: str) -> _Table:
        self.used.add(name)
        return _Table(self.data.get(name, {}), self.key(name))

    def bool(self, name: str, default: bool) -> bool:
        v = self.raw(name, default)
        if not isinstance(v, bool):
            raise ConfigError(self.key(name), f"must be true or false, not {_kind(v)}")
        return v

    @overload
    def int(self, name: builtins.str, default: builtins.int | None, lo: builtins.int | None = None,
            hi: builtins.int | None = None, *, optional: Literal[False] = False) -> builtins.int: ...
    @overload
    def int(self, name: builtins.str, default: builtins.int | None, lo: builtins.int | None = None,
            hi: builtins.int | None = None, *, optional: builtins.bool) -> builtins.int | None: ...
    def int(self, name: builtins.str, default: builtins.int | None, lo: builtins.int | None = None,
            hi: builtins.int | None = None, *, optional: builtins.bool = False) -> builtins.int | None:
        v = self.raw(name, default)
        if v is None and optional:
            return None
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(self.key(name), f"must be an integer, not {_kind(v)}")
        _range(self.key(name), v, lo, hi)
        return v

    @overload
    def num(self, name: builtins.str, default: float | None, lo: float | None = None,
            hi: float | None = None, *, positive: builtins.bool = False,
            optional: Literal[False] = False) -> float: ...
    @overload
    def num(self, name: builtins.str, default: float | None, lo: float | None = None,
            hi: float | None = None, *, positive: builtins.bool = False,
            optional: builtins.bool) -> float | None: ...
    def num(self, name: builtins.str, default: float | None, lo: float | None = None,
            hi: float | None = None, *, positive: builtins.bool = False,
            optional: builtins.bool = False) -> float | None:
        v = self.raw(name, default)
        if v is None and optional:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ConfigError(self.key(name), f"must be a finite number, not {_kind(v)}")
        if positive and v <= 0:
            raise ConfigError(self.key(name), f"must be greater than 0, got {v}")
        _range(self.key(name), v, lo, hi)
        return float(v)

    def str(self, name: builtins.str, default: builtins.str | None,
            choices: tuple[builtins.str, ...] | None = None) -> builtins.str:
        v = self.raw(name, default)
        if v is None:
            raise ConfigError(self.key(name), "is required")
        if not isinstance(v, str):
            raise ConfigError(self.key(name), f"must be a string, not {_kind(v)}")
        if choices is not None and v not in choices:
            raise ConfigError(
                self.key(name), f"must be one of {', '.join(map(repr, choices))}, got {v!r}"
            )
        return v

    def digits(self, name: builtins.str, default: builtins.str | None, *,
               allow_empty: builtins.bool = False, max_len: builtins.int | None = None) -> builtins.str:
        v = self.str(name, default)
        if v == "" and allow_empty:
            return v
        if not v or not (v.isascii() and v.isdigit()):
            raise ConfigError(self.key(name), f"must be digits, got {v!r}")
        if max_len is not None and len(v) > max_len:
            raise ConfigError(self.key(name), f"must be at most {max_len} digits, got {len(v)}")
        return v

    def list(self, name: builtins.str) -> builtins.list[Any]:
        v = self.raw(name, [])
        if not isinstance(v, list):
            raise ConfigError(self.key(name), f"must be an array, not {_kind(v)}")
        return v

    def done(self) -> None:
        extra = sorted(set(self.data) - self.used)
        if extra:
            raise ConfigError(self.key(extra[0]), "unknown key")


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return f"boolean {str(v).lower()}"
    if isinstance(v, (int, float)):
        return f"number {v}"
    if isinstance(v, str):
        return f"string {v!r}"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "a table"
    return type(v).__name__


def _range(key: str, v: float, lo: float | None, hi: float | None) -> None:
    if lo is not None and v < lo:
        raise ConfigError(key, f"must be at least {lo}, got {v}")
    if hi is not None and v > hi:
        raise ConfigError(key, f"must be at most {hi}, got {v}")


def _mobile(key: str, value: Any) -> str:
    """A list entry that must be a mainland mobile number; returns the 11-digit form."""
    if not isinstance(value, str):
        raise ConfigError(key, f"must be a mobile number string, not {_kind(value)}")
    checked = _numbers.check(value)
    if checked.number is None:
        assert checked.rejection is not None
        raise ConfigError(key, f"{value!r}: {checked.rejection.value}")
    return checked.number


def _epoch(key: str, v: Any) -> float | None:
    if v is None or v == "real":
        return None
    if isinstance(v, bool):
        raise ConfigError(key, f"must be a UNIX time, an ISO 8601 date-time or 'real', not {_kind(v)}")
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, _dt.datetime):  # a TOML offset date-time
        if v.tzinfo is None:
            v = v.replace(tzinfo=_CHINA)
        return v.timestamp()
    if isinstance(v, str):
        try:
            d = _dt.datetime.fromisoformat(v)
        except ValueError:
            raise ConfigError(
                key, f"must be a UNIX time, an ISO 8601 date-time or 'real', got {v!r}"
            ) from None
        if d.tzinfo is None:
            d = d.replace(tzinfo=_CHINA)
        return d.timestamp()
    raise ConfigError(key, f"must be a UNIX time, an ISO 8601 date-time or 'real', not {_kind(v)}")



def parse_config(data: dict[str, Any]) -> PlatformConfig:
    """Validate a parsed TOML document (a dict) into a :class:`PlatformConfig`."""
    root = _Table(data, "")
    p = root.table("platform")

    cut = p.int("cut", 60, 2, 70)
    single_max = p.int("single_max", 70, 2, 70)
    if cut > single_max:
        raise ConfigError(p.key("cut"), f"must be at most single_max ({single_max}), got {cut}")
    single_max_ascii = p.int("single_max_ascii", 140, single_max, 140)
    part_chars = p.int("part_chars", 67, 2, 67)
    part_chars_16 = p.int("part_chars_16", 66, 2, 66)
    signature_max = p.int("signature_max", 10, 0, min(part_chars, part_chars_16) - 2)
    if cut + signature_max > single_max:
        raise ConfigError(
            p.key("signature_max"),
            f"cut ({cut}) + signature_max ({signature_max}) must fit in single_max ({single_max})",
        )
    rate = p.num("rate", 100.0, positive=True)
    group_send_limit = p.int("group_send_limit", 5, 1, 99)
    max_extensions = p.int("max_extensions", 20, 1)

    order_raw = p.raw("check_order", list(DEFAULT_CHECK_ORDER))
    if not isinstance(order_raw, list) or not all(isinstance(x, str) for x in order_raw):
        raise ConfigError(p.key("check_order"), "must be an array of check names")
    if "role" not in order_raw and "dest" in order_raw:
        # an order written before the role check existed: it runs right after "dest"
        order_raw = list(order_raw)
        order_raw.insert(order_raw.index("dest") + 1, "role")
    if sorted(order_raw) != sorted(DEFAULT_CHECK_ORDER):
        missing = sorted(set(DEFAULT_CHECK_ORDER) - set(order_raw))
        unknown = sorted(set(order_raw) - set(DEFAULT_CHECK_ORDER))
        raise ConfigError(
            p.key("check_order"),
            "must name every check exactly once "
            f"({', '.join(DEFAULT_CHECK_ORDER)}); missing {missing}, unknown {unknown}",
        )

    service_ids = p.list("service_ids") if p.has("service_ids") else ["QSH0010500", "QSH0010501"]
    p.used.add("service_ids")
    for i, s in enumerate(service_ids):
        if not isinstance(s, str) or len(s) > 10:
            raise ConfigError(p.key(f"service_ids[{i}]"), "must be a string of at most 10 chars")

    pb = tuple(_mobile(p.key(f"platform_blacklist[{i}]"), v)
               for i, v in enumerate(p.list("platform_blacklist")))
    sb = []
    for i, v in enumerate(p.list("source_blacklist")):
        k = p.key(f"source_blacklist[{i}]")
        if not isinstance(v, str) or not v.isascii() or not v.isdigit():
            raise ConfigError(k, f"must be digits (a Src_Id prefix), got {v!r}")
        sb.append(v)

    o = p.table("overload")
    windows = []
    for i, w in enumerate(o.list("windows")):
        k = o.key(f"windows[{i}]")
        if (not isinstance(w, list) or len(w) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in w)):
            raise ConfigError(k, "must be [start, end] in seconds on the model clock")
        if not w[0] < w[1]:
            raise ConfigError(k, f"start {w[0]} must be before end {w[1]}")
        windows.append((float(w[0]), float(w[1])))
    overload = OverloadConfig(o.num("probability", 0.0, 0.0, 1.0), tuple(windows))
    o.done()

    h = p.table("http")
    http = HttpConfig(
        poll_interval=h.num("poll_interval", 60.0, 0.0),
        report_window_minutes=h.int("report_window_minutes", 60, 1),
        report_days=h.int("report_days", 3, 1),
        auth_skew_minutes=h.int("auth_skew_minutes", 10, 0),
        text_max=h.int("text_max", 512, 1),
        push_retry_hours=h.num("push_retry_hours", 48.0, 0.0),
    )
    h.done()

    em = p.table("empp")
    empp = EmppConfig(
        version=em.int("version", 0x10, 0, 0xFF),
        silence_timeout=em.num("silence_timeout", 90.0, 0.0),
        terminate_timeout=em.num("terminate_timeout", 5.0, positive=True),
        max_frame_length=em.int("max_frame_length", 4096, 12 + 171 + 32 + 140, 1 << 20),
        deliver_track=em.int("deliver_track", 4096, 0),
        deliver_resp_timeout=em.num("deliver_resp_timeout", 60.0, positive=True),
        redeliver_unacked=em.bool("redeliver_unacked", True),
        login_timeout=em.num("login_timeout", 10.0, 0.0),
        max_connections=em.int("max_connections", 1024, 1),
        max_connections_per_address=em.int("max_connections_per_address", 64, 1),
        login_failure_window=em.num("login_failure_window", 60.0, 0.0),
        login_max_failures=em.int("login_max_failures", 5, 1),
        login_max_failures_per_address=em.int("login_max_failures_per_address", 20, 1),
    )
    em.done()

    platform_kw: dict[str, Any] = dict(
        epoch=_epoch(p.key("epoch"), p.raw("epoch")),
        gateway_code=p.int("gateway_code", 2100, 0, 0x3FFFFF),
        msgid_sequence=p.int("msgid_sequence", 0, 0, 0xFFFF),
        login_policy=p.str("login_policy", "kick", ("kick", "refuse")),
        strict_service_id=p.bool("strict_service_id", False),
        service_ids=tuple(service_ids),
        cut=cut,
        single_max=single_max,
        single_max_ascii=single_max_ascii,
        part_chars=part_chars,
        part_chars_16=part_chars_16,
        signature_max=signature_max,
        src_id_max=p.int("src_id_max", 18, 1, 21),
        max_dest=p.int("max_dest", 99, 1),
        group_send_limit=group_send_limit,
        rate=rate,
        max_extensions=max_extensions,
        offline_hours=p.num("offline_hours", 48.0, 0.0),
        offline_from=p.str("offline_from", "item", ("item", "disconnect")),
        expired_hours=p.num("expired_hours", 48.0, positive=True),
        retention_days=p.num("retention_days", 7.0, positive=True),
        housekeeping_interval=p.num("housekeeping_interval", 60.0, positive=True),
        duplicate_check=p.bool("duplicate_check", False),
        duplicate_window=p.num("duplicate_window", 600.0, positive=True),
        check_order=tuple(order_raw),
        platform_blacklist=pb,
        source_blacklist=tuple(sb),
        overload=overload,
        http=http,
        empp=empp,
    )
    p.done()

    # packages: defaults, each overridable, more may be added
    pk = root.table("packages")
    packages: dict[str, PackageConfig] = {}
    for name in [*DEFAULT_PACKAGES, *(n for n in pk.data if n not in DEFAULT_PACKAGES)]:
        subs, contacts = DEFAULT_PACKAGES.get(name, (None, None))
        t = pk.table(name)
        packages[name] = PackageConfig(
            name, t.int("sub_accounts", subs, 0), t.int("contacts", contacts, 0)
        )
        t.done()
    pk.done()

    network = _network(root.table("network"))

    c = root.table("control")
    token = c.str("token", "")
    if token and (len(token) < 16 or not token.isascii() or not token.isprintable() or " " in token):
        raise ConfigError(c.key("token"), "must be at least 16 printable ASCII characters without spaces")
    control = ControlConfig(token)
    c.done()

    ents_raw = root.raw("enterprise", [])
    if not isinstance(ents_raw, list):
        raise ConfigError("enterprise", "must be an array of tables ([[enterprise]])")
    enterprises = tuple(
        _enterprise(_Table(e, f"enterprise[{i}]"), platform_kw, packages)
        for i, e in enumerate(ents_raw)
    )
    _check_unique(enterprises)
    root.done()
    return PlatformConfig(**platform_kw, packages=packages, network=network,
                          enterprises=enterprises, control=control)


def _network(t: _Table) -> NetworkConfig:
    seed = t.int("seed", 0)
    dmin = t.num("delay_min", 0.5, 0.0)
    dmax = t.num("delay_max", max(2.0, dmin), 0.0)
    if dmax < dmin:
        raise ConfigError(t.key("delay_max"), f"must be at least delay_min ({dmin}), got {dmax}")
    mix_t = t.table("mix")
    mix = []
    for stat, weight in (mix_t.data or {"DELIVRD": 1.0}).items():
        k = mix_t.key(stat)
        try:
            check_stat(stat)
        except ValueError as e:
            raise ConfigError(k, str(e)) from None
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise ConfigError(k, f"must be a weight >= 0, not {_kind(weight)}")
        mix_t.used.add(stat)
        mix.append((stat, float(weight)))
    if not any(w > 0 for _, w in mix):
        raise ConfigError(mix_t.path, "needs at least one outcome with a weight above 0")
    outcomes = []
    oc = t.table("outcomes")
    for number, v in oc.data.items():
        k = oc.key(number)
        num = _mobile(k, number)
        delay = None
        if isinstance(v, dict):
            sub = _Table(v, k)
            stat = sub.str("stat", None)
            delay = sub.num("delay", None, 0.0, optional=True)
            sub.done()
        else:
            stat = v
        try:
            check_stat(stat)
        except ValueError as e:
            raise ConfigError(k, str(e)) from None
        oc.used.add(number)
        outcomes.append((num, stat, delay))
    t.done()
    return NetworkConfig(seed, dmin, dmax, tuple(mix), tuple(outcomes))


def _enterprise(t: _Table, pkw: dict[str, Any], packages: dict[str, PackageConfig]) -> EnterpriseConfig:
    src_max = pkw["src_id_max"]
    service_code = t.digits("service_code", None, max_len=src_max)
    signature = t.str("signature", "")
    if signature:
        if len(signature) < 3 or signature[0] != "【" or signature[-1] != "】":
            raise ConfigError(t.key("signature"), f"must be written 【…】 (or \"\"), got {signature!r}")
        from smsdk.text import count

        if count(signature) > pkw["signature_max"]:
            raise ConfigError(
                t.key("signature"),
                f"{signature!r} counts {count(signature)} chars; at most signature_max = "
                f"{pkw['signature_max']} (brackets included)",
            )
    package = t.str("package", "basic", tuple(packages))
    rate = t.num("rate", pkw["rate"], positive=True)
    burst = t.num("burst", rate, positive=True)
    max_ext = t.int("max_extensions", pkw["max_extensions"], 1)
    quota = t.int("quota", None, 0, optional=True)

    exts = []
    for i, e in enumerate(t.list("extensions")):
        k = t.key(f"extensions[{i}]")
        if not isinstance(e, str) or not e.isascii() or not e.isdigit():
            raise ConfigError(k, f"must be digits (an extension after the service code), got {e!r}")
        if len(service_code + e) > src_max:
            raise ConfigError(k, f"service code + extension must be at most {src_max} digits")
        exts.append(e)

    bl = tuple(_mobile(t.key(f"blacklist[{i}]"), v) for i, v in enumerate(t.list("blacklist")))
    wl = tuple(_mobile(t.key(f"whitelist[{i}]"), v) for i, v in enumerate(t.list("whitelist")))
    both = sorted(set(bl) & set(wl))
    if both:
        raise ConfigError(
            t.key("whitelist"),
            f"{both[0]} is also in the blacklist: an enterprise's blacklist and whitelist "
            "never share a number (FAQ-2.1.7)",
        )

    kind = t.str("kind", "normal", ("normal", "channel", "partner"))
    accs_raw = t.raw("accounts", [])
    if not isinstance(accs_raw, list):
        raise ConfigError(t.key("accounts"), "must be an array of tables ([[enterprise.accounts]])")
    accounts = []
    seen: dict[str, int] = {}
    for j, a in enumerate(accs_raw):
        at = _Table(a, t.key(f"accounts[{j}]"))
        acc = _account(at, service_code, src_max)
        if acc.extension in seen:
            raise ConfigError(
                at.key("extension"),
                f"extension {acc.extension!r} is already used by accounts[{seen[acc.extension]}]",
            )
        if acc.extension and acc.extension in exts:
            raise ConfigError(
                at.key("extension"),
                f"extension {acc.extension!r} is registered by hand in extensions: a "
                "sub-account cannot take a hand-registered code (FAQ-5.1.4)",
            )
        _account_fits(at, acc, kind)
        seen[acc.extension] = j
        accounts.append(acc)
    if "" not in seen:
        raise ConfigError(t.key("accounts"), "needs a main account (extension = \"\")")
    pkg = packages[package]
    subs = len(accounts) - 1
    if subs > pkg.sub_accounts:
        raise ConfigError(
            t.key("accounts"),
            f"{subs} sub-accounts exceed package {package!r}'s {pkg.sub_accounts} (FAQ-5.1.1)",
        )
    total_contacts = sum(a.contacts for a in accounts)
    if total_contacts > pkg.contacts:
        raise ConfigError(
            t.key("accounts"),
            f"personal address-book caps add up to {total_contacts}, over package "
            f"{package!r}'s {pkg.contacts} contacts (FAQ-5.2.5)",
        )
    codes = {service_code} | {service_code + a.extension for a in accounts} | {
        service_code + e for e in exts}
    if len(codes) > max_ext:
        raise ConfigError(
            t.key("extensions"),
            f"{len(codes)} extension codes (service code and sub-accounts' included) exceed "
            f"max_extensions = {max_ext} (FAQ-5.1.3)",
        )

    cfg = EnterpriseConfig(
        id=t.str("id", service_code),
        name=t.str("name", ""),
        service_code=service_code,
        signature=signature,
        package=package,
        kind=kind,
        list_policy=t.str("list_policy", "blacklist", ("blacklist", "whitelist")),
        unicom=t.bool("unicom", False),
        telecom=t.bool("telecom", False),
        rate=rate,
        burst=burst,
        group_send_limit=t.int("group_send_limit", pkw["group_send_limit"], 1, pkw["max_dest"]),
        max_extensions=max_ext,
        quota=quota,
        extensions=tuple(exts),
        blacklist=bl,
        whitelist=wl,
        accounts=tuple(accounts),
    )
    t.done()
    return cfg


def _account(t: _Table, service_code: str, src_max: int) -> AccountConfig:
    ext = t.digits("extension", "", allow_empty=True)
    if len(service_code + ext) > src_max:
        raise ConfigError(
            t.key("extension"), f"service code + extension must be at most {src_max} digits"
        )
    password = t.str("password", None)
    if len(password) > 16:
        raise ConfigError(t.key("password"), "must be at most 16 chars (EMPP CHANGEPASS field)")
    cfg = AccountConfig(
        extension=ext,
        password=password,
        role=t.str("role", "admin" if ext == "" else "service", ROLES),
        name=t.str("name", ""),
        quota=t.int("quota", None, 0, optional=True),
        rate=t.num("rate", None, positive=True, optional=True),
        contacts=t.int("contacts", 0, 0),
        receive_private_mo=t.bool("receive_private_mo", True),
        receive_public_mo=t.bool("receive_public_mo", ext == ""),
        push_url=t.str("push_url", ""),
        ability=t.int("ability", 0, 0, 3),
    )
    t.done()
    return cfg


def _account_fits(t: _Table, acc: AccountConfig, kind: str) -> None:
    """The role and the personal-book cap of an account fit its enterprise (the same
    refusals as ``Platform.add_account``)."""
    if acc.extension == "" and acc.role != "admin":
        raise ConfigError(t.key("role"), f"the main account's role is admin, got {acc.role!r}")
    if acc.contacts and kind != "normal":
        raise ConfigError(t.key("contacts"), f"a {kind} enterprise has no address books "
                          "(FAQ-5.2.1): contacts must be 0")
    if acc.contacts and acc.role in ("staff", "contact_only"):
        raise ConfigError(t.key("contacts"), f"role {acc.role!r} has no personal address book "
                          "(CLIENT-accounts): contacts must be 0")
    if acc.role == "staff" and kind != "normal":
        raise ConfigError(t.key("role"), f"'staff' may send only to public-book contacts and a "
                          f"{kind} enterprise has no address books (FAQ-5.2.1)")


def _check_unique(enterprises: tuple[EnterpriseConfig, ...]) -> None:
    ids: dict[str, int] = {}
    numbers: dict[str, str] = {}
    for i, e in enumerate(enterprises):
        if e.id in ids:
            raise ConfigError(f"enterprise[{i}].id", f"{e.id!r} is already enterprise[{ids[e.id]}]'s id")
        ids[e.id] = i
        for j, a in enumerate(e.accounts):
            n = e.service_code + a.extension
            if n in numbers:
                raise ConfigError(
                    f"enterprise[{i}].accounts[{j}]",
                    f"account number {n} is already {numbers[n]}'s",
                )
            numbers[n] = f"enterprise[{i}].accounts[{j}]"
