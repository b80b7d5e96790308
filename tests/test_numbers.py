import pytest
from hypothesis import given, strategies as st

from smsdk import numbers
from smsdk.numbers import Carrier, Rejection


@pytest.mark.parametrize(
    "given_, expected",
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("008613800138000", "13800138000"),
        ("(138) 0013 8000", "13800138000"),
        ("\u3000138 0013 8000 ", "13800138000"),
    ],
)
def test_normal_forms(given_, expected):
    assert numbers.normalize(given_) == expected


@pytest.mark.parametrize(
    "given_, rejection",
    [
        ("", Rejection.EMPTY),
        ("  ", Rejection.EMPTY),
        (None, Rejection.EMPTY),
        ("1380013800", Rejection.INVALID),       # 10 digits
        ("138001380001", Rejection.INVALID),     # 12 digits
        ("12800138000", Rejection.INVALID),      # 12x is no mobile range
        ("1380013800a", Rejection.INVALID),
        ("02161234567", Rejection.PHS),          # Shanghai fixed line / PHS style
        ("075512345678", Rejection.PHS),
    ],
)
def test_refusals_say_why(given_, rejection):
    checked = numbers.check(given_)
    assert checked.number is None and checked.rejection is rejection
    with pytest.raises(ValueError, match=rejection.value.split(" ")[0]):
        numbers.normalize(given_)


def test_carriers_by_longest_prefix():
    assert numbers.carrier("13800138000") is Carrier.MOBILE
    assert numbers.carrier("13000138000") is Carrier.UNICOM
    assert numbers.carrier("18900138000") is Carrier.TELECOM
    assert numbers.carrier("13490138000") is Carrier.TELECOM   # 1349 (satellite) beats 134
    assert numbers.carrier("17040138000") is Carrier.UNICOM    # 1704 beats 170 (none)
    assert numbers.carrier("16200138000") is Carrier.UNKNOWN


def test_check_all_keeps_first_seen_order_and_reports_everything():
    result = numbers.check_all(["13800138000", "bad", "+8613800138000", "13900139000", "02161234567"])
    assert result.numbers == ("13800138000", "13900139000")
    assert [c.given for c in result.rejected] == ["bad", "02161234567"]
    assert [c.given for c in result.duplicates] == ["+8613800138000"]


@given(st.lists(st.one_of(st.from_regex(r"1[3-9]\d{9}", fullmatch=True), st.text(max_size=14))))
def test_every_input_is_accounted_for_once(items):
    result = numbers.check_all(items)
    assert len(result.numbers) + len(result.rejected) + len(result.duplicates) == len(items)
    assert len(set(result.numbers)) == len(result.numbers)
    for number in result.numbers:
        assert len(number) == 11 and number.isdigit()
