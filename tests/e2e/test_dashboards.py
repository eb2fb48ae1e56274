"""Every dashboard query returns data when a real Prometheus scrapes the demo exporter, and the
overview tells sources that do not run from sources with nothing to report."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
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
    # The demo runs every source.
    prom = start_prometheus([demo_exporter.address])
    prom.wait_for_target_up(demo_exporter.address)
    running = _check_overview(prom)
    assert {
        "scheduled_events",
        "vmss_os_upgrades",
        "azure_stack_updates",
        "arc_agents",
        "update_manager",
    } <= running

    # The resource table joins VMSS and Azure Local rows on their shared identity labels.
    cells = _resource_table(prom)
    assert sum(cells["Scale sets"].values()) == len(prom.query("azure_vmss_info"))
    assert cells["Scale sets"][("6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10", "rg-web-prod")] == 1
    assert (
        cells["Azure Local clusters updating"][("9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4", "rg-azlocal-ams01")]
        == 1
    )


def test_overview_with_a_source_switched_off(
    start_exporter: Callable[[ExporterProcess], ExporterProcess],
    start_prometheus: Callable[..., Prometheus],
    tmp_path: Path,
) -> None:
    exporter = start_exporter(ExporterProcess.demo(tmp_path / "demo", ["--no-collector.vmss_os_upgrades"]))
    prom = start_prometheus([exporter.address])
    prom.wait_for_target_up(exporter.address)
    assert "vmss_os_upgrades" not in _check_overview(prom)
    assert set(_resource_table(prom)["Scale sets"].values()) == {overview.NOT_ENABLED}


def _check_overview(prom: Prometheus) -> set[str]:
    """Every number of every source row is one value: NOT_ENABLED exactly when the source does
    not run. Returns the sources that run."""
    running = {s["metric"]["source"] for s in prom.query("azure_update_exporter_source_up")}
    rows = _panels_by_row(load(ROOT / "dashboards" / overview.FILE))
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
    return running


def _resource_table(prom: Prometheus) -> dict[str, dict[tuple[str, str], float]]:
    """Column title -> {(subscription_id, resource_group): value}; checks that every column has
    a value in every row and "not enabled" exactly for sources that do not run."""
    running = {s["metric"]["source"] for s in prom.query("azure_update_exporter_source_up")}
    dash = load(ROOT / "dashboards" / overview.FILE)
    table = next(p for p in panels(dash) if p.get("title") == "Resource groups across sources")
    targets = [t["expr"] for t in sorted(table["targets"], key=lambda t: t["refId"])]
    groups = {_identity(s) for s in prom.query(concrete(targets[0]))}
    assert groups
    columns = [(row, column) for row in overview.SOURCES for column in row.columns]
    cells: dict[str, dict[tuple[str, str], float]] = {}
    for expr, (row, column) in zip(targets[1:], columns, strict=True):
        values = {_identity(s): float(s["value"][1]) for s in prom.query(concrete(expr))}
        assert set(values) == groups, column.title
        if row.source in running:
            assert overview.NOT_ENABLED not in values.values(), column.title
        else:
            assert set(values.values()) == {overview.NOT_ENABLED}, column.title
        cells[column.title] = values
    return cells


def _identity(sample: dict[str, Any]) -> tuple[str, str]:
    return sample["metric"]["subscription_id"], sample["metric"]["resource_group"]


def _panels_by_row(dash: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    current: list[dict[str, Any]] = []
    for panel in dash["panels"]:
        if panel["type"] == "row":
            current = rows.setdefault(panel["title"], [])
        else:
            current.append(panel)
    return rows
