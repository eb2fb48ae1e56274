"""The simulator's shared routes (control API, token endpoints, Resource Graph engine). Each has
``register(router)``. A source's own routes live in ``exporter.simulator.sources``, not here.

Order matters only where path patterns overlap: the first matching route wins. Shared routes
are registered before every source's.
"""

from __future__ import annotations

from collections.abc import Callable

from exporter.simulator.router import Router
from exporter.simulator.routes import control, resource_graph, token

MODULES: tuple[Callable[[Router], None], ...] = (
    control.register,
    token.register,
    resource_graph.register,
)


def register_all(router: Router) -> None:
    for register in MODULES:
        register(router)
