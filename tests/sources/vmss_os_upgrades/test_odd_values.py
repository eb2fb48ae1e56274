"""Issue 9 class 1: absurd numbers in one scale set drop that field (counted), never the source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exporter.core.errors import Reason
from exporter.core.source import Issue
from exporter.sources.vmss_os_upgrades.parse import parse_history, parse_scale_sets

PAYLOADS = Path(__file__).resolve().parents[2] / "payloads" / "vmss_os_upgrades"
ABSURD = [float("inf"), float("nan"), 10**400, "1e400", -3, 2.5]


def rows() -> list[dict]:
    data: list[dict] = json.loads((PAYLOADS / "resourcegraph-vmss.json").read_text())["data"]
    return data


def history() -> list[dict]:
    value: list[dict] = json.loads((PAYLOADS / "vmss-os-upgrade-history.json").read_text())["value"]
    return value


@pytest.mark.parametrize("capacity", ABSURD)
def test_absurd_capacity_drops_the_field_not_the_scale_set(capacity):
    data = rows()
    data[0]["capacity"] = capacity
    issues: list[Issue] = []
    scale_sets = parse_scale_sets(data, issues)
    assert [s.name for s in scale_sets] == ["vmss-batch", "vmss-web-prod"]
    assert scale_sets[1].capacity is None
    assert scale_sets[0].capacity == 40
    assert [i.reason for i in issues] == [Reason.MALFORMED_PAYLOAD]


@pytest.mark.parametrize("value", ABSURD)
def test_absurd_instance_count_is_counted_and_taken_as_zero(value):
    items = history()
    items[0]["properties"]["progress"]["failedInstanceCount"] = value
    issues: list[Issue] = []
    parsed = parse_history(items, issues, "ref")
    assert parsed.latest is not None
    assert parsed.latest.progress.failed == 0
    assert parsed.latest.progress.successful == 4
    assert [i.reason for i in issues] == [Reason.MALFORMED_PAYLOAD]


@pytest.mark.parametrize(
    ("gone", "eligible", "mass"),
    [(1, 1, True), (5, 5, True), (1, 5, False), (2, 3, False), (3, 5, True), (3, 6, False), (0, 0, False)],
)
def test_mass_not_found_is_all_or_most_eligible_scale_sets(gone, eligible, mass):
    """Issue 9 class 3: a deleted set or two is the estate changing; most of them is Compute broken."""
    from exporter.sources.vmss_os_upgrades.fetch_merge import is_mass_not_found

    assert is_mass_not_found(gone, eligible) is mass
