"""Route modules. Each has ``register(router)``; add a new module to ``MODULES`` below.

Order matters only where path patterns overlap: the first matching route wins.
"""

from __future__ import annotations

from collections.abc import Callable

from exporter.simulator.router import Router
from exporter.simulator.routes import arm, azure_stack, control, imds, resource_graph, token, vmss
from exporter.simulator.sources import update_manager

MODULES: tuple[Callable[[Router], None], ...] = (
    control.register,
    token.register,
    arm.register,
    resource_graph.register,
    imds.register,
    vmss.register,
    azure_stack.register,
    update_manager.register,
)


def register_all(router: Router) -> None:
    for register in MODULES:
        register(router)
