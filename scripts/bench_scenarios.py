"""Simulated estates and one-source exporter configurations shared by the benchmark scripts.

Each builder returns a simulator scenario (the YAML document `python -m exporter.simulator
--scenario` reads, or what `exporter.simulator.start` takes) of a generated estate: subscriptions
named `sub-<i>`, the Resource Graph quota off (a benchmark measures the exporter, not the 15
queries per 5 s Azure allows) and, optionally, a fixed latency on every ARM and Resource Graph
reply.
"""

from __future__ import annotations

from typing import Any

from exporter.core.registry import all_specs


def subscriptions(count: int) -> list[dict[str, str]]:
    return [
        {"id": f"00000000-0000-4000-8000-{i:012d}", "display_name": f"sub-{i}", "state": "Enabled"}
        for i in range(count)
    ]


def _estate(subs: int, latency: float, **sections: Any) -> dict[str, Any]:
    faults = [
        {"route": route, "kind": "latency", "seconds": latency}
        for route in ("arm.*", "resource_graph")
        if latency > 0
    ]
    return {
        "subscriptions": subscriptions(subs),
        "resource_graph": {"quota_per_5s": 0},
        **sections,
        "faults": faults,
    }


def vmss_estate(scale_sets: int, subs: int, latency: float = 0.0, page_size: int = 1000) -> dict[str, Any]:
    """Half the scale sets eligible for automatic OS upgrades; ARM's read bucket off."""
    return _estate(
        subs,
        latency,
        arm={"page_size": page_size, "read_bucket_size": 0},
        vmss={"generate": {"count": scale_sets, "eligible_ratio": 0.5}},
    )


def arc_estate(machines: int, subs: int, latency: float = 0.0) -> dict[str, Any]:
    """Arc-enabled servers spread over the subscriptions (the arc_agents source)."""
    return _estate(subs, latency, arc_agents={"generate": {"count": machines}})


def update_manager_estate(vms: int, arc: int, subs: int, latency: float = 0.0) -> dict[str, Any]:
    """Azure VMs and Arc machines under Update Manager: mixed patch modes, one dynamic schedule."""
    return _estate(subs, latency, update_manager={"generate": {"vms": vms, "arc": arc}})


def only(
    raw: dict[str, Any], sources: dict[str, dict[str, Any]], *, demo_settings: bool = True
) -> dict[str, Any]:
    """`raw` (from `exporter.demo.simulator_config`) with just `sources` (name -> options)
    enabled; with `demo_settings` the demo's settings of each (short intervals, demo-only
    options) are kept under the options given, otherwise the source's defaults are.

    Every other registered source is switched off explicitly: a source missing from the
    configuration runs with its defaults, and most are enabled by default.
    """
    chosen = {
        name: {**(raw["sources"].get(name, {}) if demo_settings else {}), **options, "enabled": True}
        for name, options in sources.items()
    }
    raw["sources"] = {name: chosen.get(name, {"enabled": False}) for name in all_specs()}
    return raw
