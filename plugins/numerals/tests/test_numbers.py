import pytest
from seqkit_numerals.numbers import check_lang, check_supported, describe_range, parse_bound, parse_number

from seqkit import SeqkitError


@pytest.mark.parametrize("text, value", [
    ("42", 42), ("-7", -7), ("+5", 5), ("1,000", 1000), ("1_000", 1000), ("12,345,678", 12345678),
    ("1_0000", 10000), (" 007 ", 7), ("−12", -12), ("-0", 0), ("101001001001", 101001001001),
])
def test_parse_number_accepts(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text, words", [
    ("abc", "not an integer"), ("1e5", "scientific"), ("3.5", "not an integer"), ("", "empty"),
    ("  ", "empty"), ("1,00", "groups of three"), ("1,0000", "groups of three"), ("1__0", "not an integer"),
    ("--5", "not an integer"), ("5-", "not an integer"), ("0x10", "not an integer"),
])
def test_parse_number_rejects(text, words):
    with pytest.raises(SeqkitError, match=words):
        parse_number(text)


def test_parse_bound():
    assert parse_bound("1e9") == 10**9
    assert parse_bound("1e15") == 10**15
    assert parse_bound("10**12") == 10**12
    assert parse_bound("1_000") == 1000
    for bad in ("abc", "1.5", "1"):
        with pytest.raises(SeqkitError):
            parse_bound(bad)


def test_languages_and_limits():
    assert check_lang("fr") == "fr"
    with pytest.raises(SeqkitError, match="does not know the language 'xx'"):
        check_lang("xx")
    check_supported(10**300, "en")
    with pytest.raises(SeqkitError, match="beyond what num2words supports"):
        check_supported(10**400, "en")


def test_describe_range():
    assert describe_range(0, 10**9) == "0 <= n < 10^9"
    assert describe_range(-(10**15 - 1), 10**15) == "-10^15 < n < 10^15"
    assert describe_range(0, 1000) == "0 <= n < 10^3"
