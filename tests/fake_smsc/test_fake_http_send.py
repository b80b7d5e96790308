"""/httpserver (PROTOCOL.md §3b; FAQ-2.1.4, 2.3.2, 2.4.1, 2.2.3, 2.2.5, 2.1.9): answers,
refusal codes, the HTTP splitting row, all-or-nothing pieces."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_profiles import examples

from fake_smsc_helpers import EB_NUMBER, MOBILE, MOBILE2, PHS, SIG
from http_helpers import MAIN, MAIN_PW, SUB, SUB_PW, World, md5


@pytest.fixture
def world():
    w = World()
    yield w
    w.close()


def test_accepted_answer_is_100_then_the_send_id_and_the_handset_gets_it_signed(world):
    a = world.send("您好，测试", f"{MOBILE},{MOBILE2}")
    assert a.code == 100 and a.text() == f"100\n{a.lines[0]}\n"
    send_id = int(a.lines[0])
    rec = world.platform.submissions()[-1]
    assert rec.id == send_id and rec.via == "http" and rec.src_id == MAIN and rec.dest == (MOBILE, MOBILE2)
    world.settle()
    assert world.platform.handset(MOBILE).texts == ["您好，测试" + SIG]
    assert world.platform.handset(MOBILE2).texts == ["您好，测试" + SIG]


def test_a_sub_account_sends_with_its_own_password_and_number(world):
    a = world.send("hi", accountid="01", password=SUB_PW)
    assert a.code == 100
    assert world.platform.submissions()[-1].account_id == SUB
    assert world.send("hi", accountid="01", password=MAIN_PW).code == 102


def test_a_hand_registered_extension_is_the_main_accounts_src_id(world):
    assert world.send("hi", accountid="88").code == 100
    rec = world.platform.submissions()[-1]
    assert rec.account_id == MAIN and rec.src_id == MAIN + "88"


def test_the_legacy_plain_password_works_and_a_wrong_one_is_102(world):
    base = {"enterpriseid": "E1", "accountid": "", "mobs": MOBILE, "msg": "hi"}
    assert world.http.handle("/httpserver", {**base, "pswd": MAIN_PW}).code == 100
    a = world.http.handle("/httpserver", {**base, "pswd": "nope"})
    assert a.code == 102 and "wrong password" in a.reason


@pytest.mark.parametrize("minutes, code", [(0, 100), (-10, 100), (10, 100), (-11, 102), (11, 102),
                                           (-600, 102)])
def test_the_timestamp_must_be_within_10_minutes_of_the_platform_clock(world, minutes, code):
    world.clock.advance(30)  # mid-minute: a stamp floors to its minute
    ts = world.stamp(minutes)
    a = world.http.handle("/httpserver", {"enterpriseid": "E1", "accountid": "", "mobs": MOBILE,
                                          "msg": "hi", "timestamp": ts, "auth": md5("E1", MAIN_PW, ts)})
    assert a.code == code, a.reason
    if code == 102:
        assert "platform clock" in a.reason


def test_auth_is_lowercase_md5_of_eid_password_timestamp(world):
    ts = world.stamp()
    base = {"enterpriseid": "E1", "accountid": "", "mobs": MOBILE, "msg": "hi", "timestamp": ts}
    assert world.http.handle("/httpserver", {**base, "auth": md5(MAIN, MAIN_PW, ts)}).code == 100
    assert world.http.handle("/httpserver", {**base, "auth": md5("E1", "other", ts)}).code == 102
    assert world.http.handle("/httpserver", {**base, "auth": md5("E1", MAIN_PW, ts).upper()}).code == 102
    a = world.http.handle("/httpserver", {**base, "auth": md5("E1", MAIN_PW, ts), "timestamp": "2024050108"})
    assert a.code == 101 and "timestamp" in a.reason
    a = world.http.handle("/httpserver", {**base, "auth": md5("E1", MAIN_PW, ts), "timestamp": "202413010800"})
    assert a.code == 101 and "real" in a.reason


@pytest.mark.parametrize("missing", ["enterpriseid", "accountid", "mobs", "msg", "timestamp"])
def test_each_missing_parameter_is_101_naming_it(world, missing):
    ts = world.stamp()
    params = {"enterpriseid": "E1", "accountid": "", "mobs": MOBILE, "msg": "hi", "timestamp": ts,
              "auth": md5("E1", MAIN_PW, ts)}
    del params[missing]
    a = world.http.handle("/httpserver", params)
    assert a.code == 101 and missing in a.reason


def test_no_credentials_at_all_is_101(world):
    a = world.http.handle("/httpserver", {"enterpriseid": "E1", "accountid": "", "mobs": MOBILE, "msg": "hi"})
    assert a.code == 101 and "auth" in a.reason


def test_a_parameter_given_twice_is_101(world):
    ts = world.stamp()
    a = world.http.handle("/httpserver", {b"enterpriseid": [b"E1"], b"accountid": [b""],
                                          b"mobs": [MOBILE.encode(), MOBILE2.encode()], b"msg": [b"hi"],
                                          b"timestamp": [ts.encode()],
                                          b"auth": [md5("E1", MAIN_PW, ts).encode()]})
    assert a.code == 101 and "'mobs' is given 2 times" in a.reason


@pytest.mark.parametrize("params, code, words", [
    ({"enterpriseid": "E9"}, 103, "no enterprise"),
    ({"accountid": "77"}, 103, "not a registered"),
    ({"accountid": "x1"}, 101, "digits"),
    ({"msg": ""}, 104, "empty"),
    ({"msg": "x" * 513}, 104, "513 chars; at most 512"),
    ({"msg": "中" * 513}, 104, "513 chars"),
    ({"mobs": ""}, 101, "mobs is empty"),
    ({"mobs": ",".join(f"1380013800{i}" for i in range(6))}, 15, "6 numbers"),
    ({"mobs": PHS}, 13, "PHS"),
    ({"mobs": f"{MOBILE},abc"}, 13, "whole packet"),
    ({"mobs": f"{MOBILE};{MOBILE2}"}, 13, ""),
    ({"attime": "tomorrow"}, 101, "attime"),
    ({"attime": "20241301120000"}, 101, "real time"),
    ({"charset": "big5"}, 101, "charset"),
])
def test_refusals(world, params, code, words):
    a = world.send(**params)
    assert a.code == code, a.reason
    assert words in a.reason
    assert a.text().startswith(f"{code}\n")


def test_text_that_is_not_gbk_is_101_and_utf_8_is_taken_with_the_charset(world):
    # UTF-8 sent as if it were GBK: refused where the bytes are not GBK (elsewhere they read
    # as other characters, as on any GBK platform: the SDK sends GBK or says charset=utf-8)
    a = world.send("你".encode("utf-8"))
    assert a.code == 101 and "not URL-encoded GBK" in a.reason and "charset=utf-8" in a.reason
    assert world.send(b"\xff\xfe").code == 101
    emoji = "hi 😀".encode("utf-8")
    a = world.send("你好".encode("gbk"), charset="utf-8")
    assert a.code == 101 and "not URL-encoded UTF-8" in a.reason
    a = world.send(emoji, charset="utf-8")
    assert a.code == 100
    rec = world.platform.submissions()[-1]
    assert rec.msg_fmt == 8 and rec.text == "hi 😀"  # UCS2: never garbled or replaced
    assert world.send("你好".encode("gbk")).code == 100
    assert world.platform.submissions()[-1].text == "你好"


def test_512_chars_go_out_as_ceil_len_over_60_signed_pieces(world):
    text = "".join(chr(0x4E00 + i) for i in range(512))
    a = world.send(text)
    assert a.code == 100
    world.settle()
    texts = world.platform.handset(MOBILE).texts
    assert len(texts) == math.ceil(512 / 60) == 9
    assert all(t.endswith(SIG) for t in texts)
    assert "".join(t[: -len(SIG)] for t in texts) == text
    assert world.platform.billing(MAIN) == 9


def test_rate_covers_every_piece_or_nothing_is_sent():
    w = World(enterprise="rate = 10.0")
    try:
        # 3 pieces × 4 numbers = 12 tokens > 10: refused whole, nothing submitted
        mobs = ",".join(f"1380013800{i}" for i in range(4))
        a = w.send("x" * 150, mobs)
        assert a.code == 10004 and "12" in a.reason
        assert w.platform.submissions() == []
        # 3 × 3 = 9 fits: every piece accepted
        a = w.send("x" * 150, ",".join(f"1380013800{i}" for i in range(3)))
        assert a.code == 100 and len(w.platform.submissions()) == 3
        # one token left: a 1-number single piece passes, the next one is 10004 from the model
        assert w.send("y", MOBILE).code == 100
        a = w.send("z", MOBILE)
        assert a.code == 10004 and "rate" in a.reason
    finally:
        w.close()


def test_quota_covers_every_piece_or_105():
    w = World(accounts="quota = 5")  # on the sub-account
    try:
        a = w.send("x" * 130, f"{MOBILE},{MOBILE2}", accountid="01", password=SUB_PW)  # 3 × 2 = 6
        assert a.code == 105 and "6 SMS" in a.reason
        assert w.platform.submissions() == []
        assert w.send("x" * 130, MOBILE, accountid="01", password=SUB_PW).code == 100  # 3
        a = w.send("x" * 30, f"{MOBILE},{MOBILE2},13700137000", accountid="01", password=SUB_PW)
        assert a.code == 105  # the model's own quota check (one piece, 3 > 2 left)
    finally:
        w.close()


def test_overload_is_one_draw_per_request_and_windows_refuse_with_10005(world):
    world.platform.set_overload(windows=[(0, 10)])
    assert world.send("hi").code == 10005
    world.platform.set_overload(windows=[])
    world.platform.set_overload(probability=1.0)
    assert world.send("x" * 200).code == 10005
    assert world.platform.submissions()[-1].via == "http"
    world.platform.set_overload(probability=0.0)
    # the draw is made for the first piece only: a multi-piece request is never half sent
    world.platform.set_overload(probability=0.5)
    for i in range(20):
        before = len([r for r in world.platform.submissions() if r.accepted])
        a = world.send(f"{i:03d}" + "x" * 200)
        after = len([r for r in world.platform.submissions() if r.accepted])
        assert (a.code, after - before) in ((100, 4), (10005, 0))
    assert world.platform.overload_probability == 0.5


def test_attime_holds_the_send_until_then(world):
    at = (world.platform.china_now()).strftime("%Y%m%d") + "090000"  # 09:00, an hour on
    a = world.send("later", attime=at)
    assert a.code == 100
    world.settle()
    assert world.platform.handset(MOBILE).texts == []
    world.clock.advance(3600)
    world.settle()
    assert world.platform.handset(MOBILE).texts == ["later" + SIG]


def test_lists_and_unicom_give_reports_not_refusals(world):
    assert world.send("hi", f"{EB_NUMBER},13000130000").code == 100
    world.settle()
    stats = {r.item.dest_terminal_id: r.item.stat for r in world.platform.reports()}
    assert stats == {EB_NUMBER: "DTBLACK", "13000130000": "UNSURPT"}
    assert {r.state for r in world.platform.reports()} == {"stored"}  # kept for polling


def test_the_jar_path_alias_and_unknown_paths(world):
    ts = world.stamp()
    params = {"enterpriseid": "E1", "accountid": "", "mobs": MOBILE, "msg": "hi", "timestamp": ts,
              "auth": md5("E1", MAIN_PW, ts)}
    assert world.http.handle("/esmp/httpserver", params).code == 100
    assert world.http.handle("/nothing", params) is None


# -- properties ----------------------------------------------------------------------------

cjk = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
ascii_ = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


@examples(40)
@given(text=st.integers(1, 512).flatmap(lambda n: st.text(st.one_of(cjk, ascii_), min_size=n, max_size=n)))
def test_property_any_text_up_to_512_arrives_whole_in_ceil_n_60_signed_sms(text):
    w = World()
    try:
        a = w.send(text)
        assert a.code == 100, a.reason
        w.settle()
        texts = w.platform.handset(MOBILE).texts
        assert len(texts) == math.ceil(len(text) / 60)
        assert all(t.endswith(SIG) and len(t) - len(SIG) <= 60 for t in texts)
        assert "".join(t[: -len(SIG)] for t in texts) == text
    finally:
        w.close()


@examples(40)
@given(text=st.text(st.one_of(cjk, ascii_), min_size=1, max_size=80), utf8=st.booleans())
def test_property_gbk_or_utf_8_bytes_with_their_charset_arrive_unchanged(text, utf8):
    w = World()
    try:
        if utf8:
            a = w.send(text.encode("utf-8"), charset="utf-8")
        else:
            a = w.send(text.encode("gbk"))
        assert a.code == 100, a.reason
        assert "".join(r.text for r in w.platform.submissions()) == text
    finally:
        w.close()


@examples(40)
@given(n=st.integers(1, 9), over=st.integers(0, 3))
def test_property_numbers_over_the_group_limit_are_15_and_nothing_is_sent(n, over):
    w = World()
    try:
        count = n + over
        a = w.send("hi", ",".join(f"139{i:08d}" for i in range(count)))
        assert (a.code == 100) == (count <= 5)
        if count > 5:
            assert a.code == 15 and not any(r.accepted for r in w.platform.submissions())
    finally:
        w.close()


@examples(40)
@given(skew=st.integers(-30, 30), second=st.integers(0, 59))
def test_property_auth_window_is_10_minutes_either_way(skew, second):
    w = World()
    try:
        w.clock.advance(second)
        ts = w.stamp(skew)
        a = w.http.handle("/httpserver", {"enterpriseid": "E1", "accountid": "", "mobs": MOBILE,
                                          "msg": "hi", "timestamp": ts, "auth": md5("E1", MAIN_PW, ts)})
        # minutes apart, the clock read to its minute (the seconds past do not count)
        assert (a.code == 100) == (abs(skew) <= 10), (skew, second, a.reason)
    finally:
        w.close()
