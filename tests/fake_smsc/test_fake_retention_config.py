"""Retention (FAQ-3.2.2, 4.1.2), management rules (FAQ-5.1.x) and the configuration:
defaults, the demo, and errors that name their key."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_smsc_helpers import MAIN, MOBILE, SUB, config_text, settle, text_submit

from smsdk_harness.fake_smsc import (
    ConfigError,
    ManagementError,
    Platform,
    default_config,
    load_config,
)
from smsdk_harness.fake_smsc.config import DEFAULT_CHECK_ORDER
from smsdk_harness.fake_smsc.simclock import ReactorClock

DAY = 86400.0


# ---------------------------------------------------------------- retention


def test_records_deleted_after_7_days(platform, clock):
    platform.submit(MAIN, text_submit("old"))
    platform.submit(MAIN, text_submit("x", to=("1",)))  # refused: also a send record
    platform.inject_mo(MOBILE, MAIN, "old mo")
    settle(clock, 1)
    clock.advance(7 * DAY - 120)
    assert len(platform.submissions()) == 2 and len(platform.mos()) == 1
    assert platform.handset(MOBILE).messages
    platform.submit(MAIN, text_submit("new"))
    settle(clock, 1)
    clock.advance(240)
    assert [r.text for r in platform.submissions()] == ["new"]
    assert platform.mos() == []
    assert [m.body for m in platform.handset(MOBILE).messages] == ["new"]
    assert len(platform.reports()) == 1


def test_memory_is_bounded_by_retention(platform, clock):
    platform.network.set_outcome("13800138009", "never")
    for _hour in range(10 * 24):
        platform.submit(MAIN, text_submit("tick", to=(MOBILE, "13800138009")))
        platform.inject_mo(MOBILE, SUB, "tock")
        clock.advance(0)
        clock.advance(3600)
    sizes = platform.sizes()
    assert sizes["submissions"] <= 7 * 24 + 1
    assert sizes["mos"] <= 7 * 24 + 1
    assert sizes["handset_messages"] <= 7 * 24 + 1
    assert sizes["offline"] <= 3 * 49  # 48 h of DELIVRD + EXPIRED reports and MOs
    assert sizes["timers"] <= 49          # pending EXPIRED reports only


def test_retention_days_is_a_setting(make_platform, clock):
    p = make_platform(platform="retention_days = 1")
    p.submit(MAIN, text_submit("x"))
    settle(clock, DAY + 61)
    assert p.submissions() == []


def test_scheduled_records_outlive_retention(platform, clock):
    out = platform.submit(MAIN, text_submit("far", at_time="240520080000032+"))
    clock.advance(8 * DAY)
    assert platform.scheduled() == [out.record]
    assert out.record in platform.submissions()
    settle(clock, 12 * DAY)
    clock.advance(2)
    assert platform.handset(MOBILE).texts


# ---------------------------------------------------------------- management


def test_sub_accounts_capped_by_package(clock):
    text = config_text().replace('package = "standard"', 'package = "basic"')
    p = Platform(load_config(text), ReactorClock(clock))
    try:
        for i in range(2, 6):  # basic: 5 sub-accounts, one exists
            p.add_account("E1", f"0{i}", "pw")
        with pytest.raises(ManagementError, match="FAQ-5.1.1"):
            p.add_account("E1", "06", "pw")
    finally:
        p.close()


def test_extensions_capped_and_owned(make_platform):
    p = make_platform(enterprise="max_extensions = 5")
    # service code, sub 01, hand-registered 88: 3 of 5
    p.register_extension("E1", MAIN + "77")
    p.add_account("E1", "02", "pw")
    with pytest.raises(ManagementError, match="FAQ-5.1.3"):
        p.register_extension("E1", MAIN + "66")
    with pytest.raises(ManagementError, match="FAQ-5.1.4"):
        p.unregister_extension("E1", SUB)
    with pytest.raises(ManagementError, match="FAQ-5.1.4"):
        p.add_account("E1", "77", "pw")  # hand-registered code blocks a sub-account
    p.unregister_extension("E1", MAIN + "77")
    p.add_account("E1", "77", "pw")
    p.remove_account(MAIN + "77")
    assert MAIN + "77" not in p.enterprise("E1").extensions
    with pytest.raises(ManagementError, match="service code"):
        p.register_extension("E1", "10657109000002")


def test_public_contacts(make_platform):
    p = make_platform(accounts="contacts = 300")
    assert p.public_contacts("E1") == 2000 - 300


# ---------------------------------------------------------------- configuration


def test_defaults_match_the_rules():
    cfg = load_config(config_text())
    assert (cfg.cut, cfg.signature_max, cfg.group_send_limit, cfg.rate) == (60, 10, 5, 100.0)
    assert (cfg.max_extensions, cfg.offline_hours, cfg.expired_hours, cfg.retention_days) == (
        20, 48.0, 48.0, 7.0)
    assert (cfg.http.poll_interval, cfg.http.report_window_minutes) == (60.0, 60)
    assert {n: (k.sub_accounts, k.contacts) for n, k in cfg.packages.items()} == {
        "basic": (5, 500), "standard": (20, 2000), "premium": (100, 10000)}
    assert cfg.login_policy == "kick" and not cfg.strict_service_id and not cfg.duplicate_check
    assert cfg.check_order == DEFAULT_CHECK_ORDER
    e = cfg.enterprises[0]
    assert e.burst == e.rate == 100.0 and e.group_send_limit == 5


def test_default_config_is_the_demo(clock):
    cfg = default_config()
    (e,) = cfg.enterprises
    assert e.signature == "【示例科技】" and e.service_code == "10657109000001"
    assert not e.unicom and e.blacklist
    assert [a.extension for a in e.accounts] == ["", "01"]
    p = Platform(cfg, ReactorClock(clock))
    p.close()


def test_example_toml_loads():
    path = Path(__import__("smsdk_harness.fake_smsc", fromlist=["x"]).__file__).parent / "example.toml"
    cfg = load_config(path)
    assert len(cfg.enterprises) == 2
    assert load_config(str(path)) == cfg


def test_epoch_forms(clock):
    a = load_config(config_text())
    assert a.epoch == 1714521600.0
    b = load_config(config_text().replace(f'"{"2024-05-01T08:00:00+08:00"}"', "1714521600"))
    assert b.epoch == a.epoch


def test_without_an_epoch_the_clock_shows_the_wall_time_read_at_start(clock):
    clock.advance(50.0)
    reads = []

    def wall_time() -> float:
        reads.append(1_800_000_000.0)
        return 1_800_000_000.0

    cfg = load_config(config_text().replace('epoch = "2024-05-01T08:00:00+08:00"', ""))
    p = Platform(cfg, ReactorClock(clock), wall_time=wall_time)
    try:
        assert p.wall.epoch == 1_800_000_000.0 - 50.0
        assert p.wall.unix() == 1_800_000_000.0
        clock.advance(10.0)
        assert p.wall.unix() == 1_800_000_010.0
        assert reads == [1_800_000_000.0]  # read once, at construction
        # a configured epoch wins: the wall time is not read
        Platform(load_config(config_text()), ReactorClock(clock), wall_time=wall_time).close()
        assert len(reads) == 1
    finally:
        p.close()


BAD = [
    ('extension = "01"', 'extension = "0x"', "enterprise[0].accounts[1].extension: must be digits"),
    ('package = "standard"', 'package = "gold"', "enterprise[0].package: must be one of"),
    ('signature = "【示例科技】"', 'signature = "示例"', "enterprise[0].signature: must be written"),
    ('signature = "【示例科技】"', 'signature = "【一二三四五六七八九】"', "enterprise[0].signature:"),
    ('blacklist = ["13800138666"]', 'blacklist = ["02112345678"]', "enterprise[0].blacklist[0]: "),
    ('[network]', '[network]\nseed = "x"', "network.seed: must be an integer"),
    ('[network]', '[network]\ncolour = 1', "network.colour: unknown key"),
    ('[platform]', '[platform]\nlogin_policy = "both"', "platform.login_policy: must be one of"),
    ('[platform]', '[platform]\nrate = 0', "platform.rate: must be greater than 0"),
    ('[platform]', '[platform]\ncheck_order = ["length"]', "platform.check_order: must name every"),
    ('epoch = "2024-05-01T08:00:00+08:00"', 'epoch = "yesterday"', "platform.epoch:"),
    ('[platform]', '[platform.overload]\nwindows = [[5, 1]]\n[platform]', "platform.overload.windows[0]"),
    ('password = "sub-pw"', 'password = 5', "enterprise[0].accounts[1].password: must be a string"),
    ('password = "sub-pw"', 'password = "sub-pw"\nrole = "boss"', "enterprise[0].accounts[1].role"),
    ('extension = "01"', 'extension = ""', "enterprise[0].accounts[1].extension: extension '' is already"),
    ('blacklist = ["13800138666"]', 'blacklist = ["13800138666"]\nwhitelist = ["13800138666"]',
     "enterprise[0].whitelist: 13800138666 is also in the blacklist"),
    ('extensions = ["88"]', 'extensions = ["01"]', "enterprise[0].accounts[1].extension: extension '01' is registered by hand"),
    ('[network]', '[network.outcomes]\n"13800138000" = "LOST"\n[network]', "network.outcomes.13800138000"),
]


@pytest.mark.parametrize("old,new,message", BAD)
def test_config_errors_name_the_key(old, new, message):
    text = config_text()
    assert old in text
    with pytest.raises(ConfigError) as e:
        load_config(text.replace(old, new, 1))
    assert str(e.value).startswith(message) or message in str(e.value), str(e.value)


def test_too_many_sub_accounts_in_config():
    subs = "".join(f'\n[[enterprise.accounts]]\nextension = "1{i}"\npassword = "p"\n' for i in range(5))
    text = config_text().replace('package = "standard"', 'package = "basic"') + subs
    with pytest.raises(ConfigError, match=r"enterprise\[0\]\.accounts: 6 sub-accounts exceed"):
        load_config(text)


def test_missing_main_account():
    with pytest.raises(ConfigError, match=r"enterprise\[0\]\.accounts: needs a main account"):
        load_config('[[enterprise]]\nservice_code = "1065"\n[[enterprise.accounts]]\nextension = "1"\npassword = "p"')


def test_toml_syntax_error():
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config("[platform\n")
