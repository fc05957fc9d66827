"""Byte sizes: ``parse_bytes`` and ``format_bytes``."""

from __future__ import annotations

import math

import pytest

from checkmate_opt.units import format_bytes, parse_bytes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12GB", 12 * 10**9),
        ("500MiB", 500 * 2**20),
        ("1KiB", 1024),
        ("1.5KiB", 1536),
        ("2TiB", 2 * 2**40),
        ("3GiB", 3 * 2**30),
        ("16 gb", 16 * 10**9),  # units are case-insensitive, blanks allowed
        ("  7mb  ", 7 * 10**6),
        ("1K", 1000),
        ("2M", 2 * 10**6),
        ("4T", 4 * 10**12),
        ("100B", 100),
        ("100", 100),
        ("0", 0),
        ("1e9", 10**9),
        ("2.5e3KB", 2_500_000),
        ("+8", 8),
        (".5KB", 500),
        ("10.7", 10),  # fractional bytes round down
    ],
)
def test_parse_strings(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize(("value", "expected"), [(1024, 1024), (0, 0), (2.9, 2), (1e6, 10**6)])
def test_parse_numbers(value, expected):
    result = parse_bytes(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", [-1, -0.5, "-5GB", "-1", "-0.1KiB"])
def test_negative_is_rejected(value):
    with pytest.raises(ValueError, match=">= 0"):
        parse_bytes(value)


@pytest.mark.parametrize(
    "value", ["", "GB", "abc", "1..2GB", "12 G B", "1,000", "0x10", "nan", "inf", "None"]
)
def test_garbage_is_rejected(value):
    with pytest.raises(ValueError, match="cannot parse"):
        parse_bytes(value)


@pytest.mark.parametrize("value", ["12 parsecs", "5PB", "3kb/s"])
def test_unknown_unit_is_rejected(value):
    with pytest.raises(ValueError, match=r"unknown unit|cannot parse"):
        parse_bytes(value)


def test_unknown_unit_message_lists_the_units():
    with pytest.raises(ValueError, match=r"unknown unit 'parsecs'.*GiB"):
        parse_bytes("12 parsecs")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_rejected(value):
    with pytest.raises(ValueError, match=r"finite|>= 0"):
        parse_bytes(value)


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_rejected(value):
    with pytest.raises(ValueError, match="byte count"):
        parse_bytes(value)


def test_none_is_rejected():
    with pytest.raises(ValueError, match="cannot parse"):
        parse_bytes(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0 B"), (999, "999 B"), (1500, "1.50 KB"), (12 * 10**9, "12.00 GB"), (5e15, "5000.00 TB")],
)
def test_format_bytes(value, text):
    assert format_bytes(value) == text


@pytest.mark.parametrize("value", [1, 999, 12_345, 6_000_000, 7 * 10**9])
def test_format_then_parse_is_close(value):
    # format keeps three significant digits at least; parsing it back lands within 1%
    back = parse_bytes(format_bytes(value).replace(" ", ""))
    assert abs(back - value) <= 0.01 * value
