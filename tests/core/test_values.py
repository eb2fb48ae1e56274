"""Absurd numbers and dates from Azure become None/ValueError, never OverflowError."""

from __future__ import annotations

import json

import pytest

from exporter.core.timefmt import parse_iso, parse_iso_duration, parse_rfc1123
from exporter.core.values import bounded_int, count, finite, identifier, preview, text

HUGE = 10**400


@pytest.mark.parametrize("value", [float("inf"), float("nan"), HUGE, "1e400", "NaN", True, None, [], {}])
def test_finite_rejects_what_no_sample_can_hold(value):
    assert finite(value) is None


def test_counts_and_integers_are_bounded():
    assert count(3) == 3
    assert count(3.0) == 3
    assert count("7") == 7
    for bad in (-1, 1.5, 2**53 + 1, HUGE, float("inf"), "x", False):
        assert count(bad) is None
    assert bounded_int(-(2**53)) == -(2**53)
    assert bounded_int(HUGE) is None
    assert bounded_int(1.0) is None


def test_text_and_preview_never_raise():
    deep: list[object] = []
    for _ in range(5000):
        deep = [deep]
    huge = json.loads("9" * 4000)
    for value in (deep, huge, HUGE, float("nan"), {"a": 1}):
        assert isinstance(text(value), str)
        assert isinstance(preview(value), str)
    assert text(huge) == ""
    assert text(HUGE) == ""
    assert text(12) == "12"


def test_identifier_is_stripped_and_lowercased():
    assert identifier("  Microsoft1.2408.0.19 ") == "microsoft1.2408.0.19"
    assert identifier(None) == ""


@pytest.mark.parametrize(
    ("parser", "value"),
    [
        (parse_iso, "2026-13-01T00:00:00Z"),
        (parse_rfc1123, "Fri, 31 Dec 9999 23:59:59 -0100"),
        (parse_iso_duration, "P99999999999D"),
        (parse_iso_duration, "PT" + "9" * 400 + "S"),
        (parse_iso_duration, "P36600D"),
    ],
)
def test_out_of_range_dates_and_durations_are_value_errors(parser, value):
    with pytest.raises(ValueError, match=r"range|not an"):
        parser(value)


def test_fractional_durations_keep_microseconds():
    assert parse_iso_duration("PT14H43M50.0644552S") == 53030.064455
