"""Every dashboard query returns data when a real Prometheus scrapes the demo exporter, and the
overview tells sources that do not run from sources with nothing to report."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from exporter_dashboards import overview
from tests.dashboards import DASHBOARDS, ROOT, concrete, load, panels, queries, unfiltered
from tests.e2e.harness import ExporterProcess, Prometheus

pytestmark = pytest.mark.e2e


def test_every_dashboard_query_returns_data(
    demo_exporter: ExporterProcess, start_prometheus: Callable[..., Prometheus]
) -> None:
    prom = start_prometheus([demo_exporter.address])
    prom.wait_for_target_up(demo_exporter.address)
    time.sleep(4)  # a few scrapes, so rate() and increase() have two samples
    empty = []
    for path in DASHBOARDS:
        for title, expr in queries(load(path)):
            if not prom.query(concrete(unfiltered(expr))):
                empty.append(f"{path.name} / {title}: {expr}")
    assert not empty, "queries without data against the demo:\n" + "\n".join(empty)


def _value(prom: Prometheus, expr: str) -> list[float]:
    return [float(sample["value"][1]) for sample in prom.query(concrete(expr))]


def test_overview_shows_not_enabled_exactly_for_sources_the_exporter_does_not_run(
    demo_exporter: ExporterProcess, start_prometheus: Callable[..., Prometheus]
) -> None:
    prom = start_prometheus([demo_exporter.address])
    prom.wait_for_target_up(demo_exporter.address)
    running = {s["metric"]["source"] for s in prom.query("azure_update_exporter_source_up")}
    assert {"scheduled_events", "vmss_os_upgrades", "azure_stack_updates"} <= running
    dash = load(ROOT / "dashboards" / overview.FILE)
    rows = _panels_by_row(dash)
    wrong = []
    for source in overview.SOURCES:
        for panel in rows[source.title]:
            values = _value(prom, panel["targets"][0]["expr"])
            if len(values) != 1:
                wrong.append(f"{source.source} / {panel['title']}: {values}")
            elif source.source in running and values[0] == overview.NOT_ENABLED:
                wrong.append(f"{source.source} / {panel['title']}: not enabled, but it runs")
            elif source.source not in running and values[0] != overview.NOT_ENABLED:
                wrong.append(f"{source.source} / {panel['title']}: {values[0]}, but it does not run")
    assert not wrong, wrong

    # The resource table: one row per resource group; "not enabled" cells only for absent sources.
    table = next(p for p in panels(dash) if p.get("title") == "Resource groups across sources")
    by_column = {t["refId"]: t["expr"] for t in table["targets"]}
    groups = {
        (s["metric"]["subscription_id"], s["metric"]["resource_group"])
        for s in prom.query(concrete(by_column.pop("A")))
    }
    assert ("9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4", "rg-azlocal-ams01") in groups  # an Azure Local cluster
    assert any(rg == "rg-web-prod" for _, rg in groups)  # a scale set
    cells: dict[str, dict[tuple[str, str], float]] = {}
    for ref, expr in by_column.items():
        cells[ref] = {
            (s["metric"]["subscription_id"], s["metric"]["resource_group"]): float(s["value"][1])
            for s in prom.query(concrete(expr))
        }
        assert set(cells[ref]) == groups, ref
    columns = [(row, column) for row in overview.SOURCES for column in row.columns]
    for ref, (row, column) in zip(sorted(cells), columns, strict=True):
        values = set(cells[ref].values())
        if row.source in running:
            assert overview.NOT_ENABLED not in values, column.title
        else:
            assert values == {overview.NOT_ENABLED}, column.title
    scale_sets = dict(zip(sorted(cells), columns, strict=True))
    ref = next(r for r, (_, c) in scale_sets.items() if c.title == "Scale sets")
    assert sum(cells[ref].values()) == len(prom.query("azure_vmss_upgrade_policy_info"))
    ref = next(r for r, (_, c) in scale_sets.items() if c.title == "Azure Local clusters updating")
    assert cells[ref][("9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4", "rg-azlocal-ams01")] == 1


def _panels_by_row(dash: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    current: list[dict[str, Any]] = []
    for panel in dash["panels"]:
        if panel["type"] == "row":
            current = rows.setdefault(panel["title"], [])
        else:
            current.append(panel)
    return rows
