"""Per-source simulator modules (target layout): each has ``register(router)``.

Imported lazily by ``register_all`` because the modules use the shared route helpers in
``exporter.simulator.routes``, whose package registers these.
"""

from __future__ import annotations

from exporter.simulator.router import Router


def register_all(router: Router) -> None:
    from exporter.simulator.sources import arc_agents

    arc_agents.register(router)
