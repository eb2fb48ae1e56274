"""Every dashboard query returns data when a real Prometheus scrapes the demo exporter."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.dashboards import DASHBOARDS, concrete, load, queries, unfiltered
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
