"""Integration fixtures: the real exporter (credentials, SDK clients, scheduler, collector) against
the HTTPS simulator over real sockets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from exporter.app import Exporter
from exporter.config import from_dict, merge
from exporter.demo import simulator_config
from exporter.simulator import Simulator, start


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with start() as simulator:
        yield simulator


@pytest.fixture
def make_exporter(sim: Simulator) -> Iterator[Callable[..., Exporter]]:
    made: list[Exporter] = []

    def make(only: tuple[str, ...] = ("subscriptions",), **overrides: Any) -> Exporter:
        raw = simulator_config(sim.info(), "127.0.0.1:0")
        raw["sources"] = {name: {**raw["sources"].get(name, {}), "enabled": True} for name in only}
        raw = merge(raw, {"sources": {n: {"enabled": False} for n in _all_sources() if n not in only}})
        exporter = Exporter(from_dict(merge(raw, overrides)))
        made.append(exporter)
        return exporter

    yield make
    for exporter in made:
        exporter.stop()


def _all_sources() -> list[str]:
    from exporter.core.registry import all_specs

    return list(all_specs())
