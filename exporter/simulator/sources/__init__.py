"""Per-source simulator modules (routes, Resource Graph providers, scenario handling).

Each module has ``register(router)``; `exporter.simulator.routes.MODULES` lists them.
"""
