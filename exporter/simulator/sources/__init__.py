"""The simulator's per-source parts: each source's REST routes, Resource Graph providers and
scenario section. The shared engine (server, router, faults, clock, scenario, tokens, ARM
helpers, the Resource Graph engine, the control API) lives outside this package.

Every source has ``exporter/simulator/sources/<name>.py`` (or a package of that name when large)
with ``register(router)``; add it to ``SOURCES`` below (the one explicit list).
"""

from __future__ import annotations

from collections.abc import Callable

from exporter.simulator.router import Router
from exporter.simulator.sources import scheduled_events, subscriptions, vmss_os_upgrades
from exporter.simulator.sources.azure_stack_updates import routes as azure_stack_updates

SOURCES: dict[str, Callable[[Router], None]] = {
    "subscriptions": subscriptions.register,
    "scheduled_events": scheduled_events.register,
    "vmss_os_upgrades": vmss_os_upgrades.register,
    "azure_stack_updates": azure_stack_updates.register,
}


def register_all(router: Router) -> None:
    for register in SOURCES.values():
        register(router)
