"""Issue 9 class 1: one absurd run duration or date drops that field (counted); the stamp stays
reachable and its runs are still exposed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exporter.core.errors import Reason
from exporter.core.source import Issue
from exporter.core.values import join_key
from exporter.sources.azure_stack_updates.model import run_candidates, runs_by_update
from exporter.sources.azure_stack_updates.model_states import HUB
from exporter.sources.azure_stack_updates.parse import parse_location, parse_run, parse_update

PAYLOADS = Path(__file__).resolve().parents[2] / "payloads" / "azure_stack_updates"


def runs() -> list[dict]:
    value: list[dict] = json.loads((PAYLOADS / "azurestack-update-runs.json").read_text())["value"]
    return value


def succeeded() -> dict:
    run = runs()[0]
    run["properties"]["state"] = "Succeeded"
    run["properties"].pop("progress", None)
    return run


@pytest.mark.parametrize("duration", ["P99999999999D", "PT" + "9" * 400 + "S", "P40000D"])
def test_absurd_run_duration_is_dropped_and_counted(duration):
    run = succeeded()
    run["properties"]["duration"] = duration
    issues: list[Issue] = []
    parsed = parse_run(run, HUB, issues)
    assert parsed is not None
    assert parsed.duration_seconds is None
    assert [(i.reason, i.key.split(":")[0]) for i in issues] == [(Reason.MALFORMED_PAYLOAD, "duration")]


def test_start_near_year_9999_plus_duration_does_not_overflow():
    run = succeeded()
    run["properties"]["timeStarted"] = "9998-12-31T23:00:00Z"
    run["properties"]["duration"] = "P3650D"
    parsed = parse_run(run, HUB, [])
    assert parsed is not None
    assert parsed.duration_seconds == 3650 * 86400
    assert parsed.ended is None


def test_huge_numbers_as_versions_become_empty_text():
    props = {"currentVersion": 10**400, "currentOemVersion": float("nan"), "state": "AppliedSuccessfully"}
    location = {"id": "x", "properties": props}
    parsed = parse_location(location, HUB, [])
    assert (parsed.current_version, parsed.current_oem_version) == ("", "")


def test_update_name_with_stray_whitespace_still_joins_its_runs():
    """Issue 9 class 9: identifiers are normalised the same way on both sides of a join."""
    updates = json.loads((PAYLOADS / "azurestack-updates.json").read_text())["value"]
    item = next(u for u in updates if u["id"].endswith("/Microsoft1.2408.0.19"))
    item["id"] += " "  # as one stamp wrote it
    run = runs()[0]
    assert "/updates/Microsoft1.2408.0.19/" in run["id"]
    run["id"] = run["id"].replace("/updates/Microsoft1.2408.0.19/", "/updates/ Microsoft1.2408.0.19/")
    run["id"] = run["id"].replace("/updateRuns/", "/updateRuns/ ").upper().replace("MICROSOFT1", "Microsoft1")
    update = parse_update(item, HUB, [])
    parsed = parse_run(run, HUB, [])
    assert update is not None
    assert parsed is not None
    assert update.name == parsed.update == "Microsoft1.2408.0.19"
    assert parsed.run_id == parsed.run_id.strip().lower()
    assert [u.name for u in run_candidates([update], 5)] == ["Microsoft1.2408.0.19"]
    assert runs_by_update([parsed])[join_key(update.name)] == (parsed,)
    lowered = parse_run({**run, "id": run["id"].replace("Microsoft1", "microsoft1")}, HUB, [])
    assert lowered is not None
    assert join_key(lowered.update) == join_key(update.name)
