"""The simulator's per-source parts: each source's REST routes, Resource Graph providers and
scenario section. The shared engine (server, router, faults, clock, scenario, tokens, ARM
helpers, the Resource Graph engine, the control API) lives outside this package.

Every source has ``exporter/simulator/sources/<name>.py`` (or a package of that name when large)
with ``register(router)``; add it to ``SOURCES`` below, the one explicit list (keyed by the
source's registered name, so tests/test_source_layout.py can check that none is missing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from exporter.simulator.router import Router
from exporter.simulator.sources import (
    arc_agents,
    scheduled_events,
    subscriptions,
    update_manager,
    vmss_os_upgrades,
)
from exporter.simulator.sources.azure_stack_updates import routes as azure_stack_updates


@dataclass(frozen=True, slots=True)
class SimulatedSource:
    register: Callable[[Router], None]
    # The top-level scenario section the source's routes read (scenarios/demo.yaml has one).
    scenario_section: str


SOURCES: dict[str, SimulatedSource] = {
    "subscriptions": SimulatedSource(subscriptions.register, "subscriptions"),
    "scheduled_events": SimulatedSource(scheduled_events.register, "imds"),
    "vmss_os_upgrades": SimulatedSource(vmss_os_upgrades.register, "vmss"),
    "azure_stack_updates": SimulatedSource(azure_stack_updates.register, "azure_stack"),
    "arc_agents": SimulatedSource(arc_agents.register, "arc_agents"),
    "update_manager": SimulatedSource(update_manager.register, "update_manager"),
}


def register_all(router: Router) -> None:
    for source in SOURCES.values():
        source.register(router)
