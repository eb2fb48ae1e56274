"""Grafana dashboards of azure-update-exporter, built with grafana-foundation-sdk.

Not part of the exporter's runtime package (not in the wheel): `scripts/build_dashboards.py`
writes `dashboards/*.json` from here, and `tests/test_dashboards.py` fails when the committed
JSON differs. One module per dashboard, each with `FILE` (the JSON file name in `dashboards/`),
`UID` and `build()`; register a new one in `MODULES` below (see docs/dashboards.md).
"""

from __future__ import annotations

from types import ModuleType

from exporter_dashboards import (
    arc_agents,
    azure_stack_updates,
    exporter,
    overview,
    scheduled_events,
    update_manager,
    vmss_os_upgrades,
)

MODULES: tuple[ModuleType, ...] = (
    overview,
    exporter,
    scheduled_events,
    vmss_os_upgrades,
    azure_stack_updates,
    arc_agents,
    update_manager,
)

# Files in dashboards/ not generated here: a dashboard merged from a branch that wrote JSON by hand
# goes here until it is ported to a module (docs/dashboards.md), then leaves. They are exempt from
# the "committed = generated" and SDK round-trip tests and still under every other dashboard test.
# Empty: every dashboard is generated.
HAND_WRITTEN: frozenset[str] = frozenset()
