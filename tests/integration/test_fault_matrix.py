"""The transport fault matrix: every fault kind against every source, end to end.

Each cell runs the real exporter against the demo estate of the HTTPS simulator: one good
refresh, then the fault on the source's data calls (every one of them, so the refresh fails),
then recovery once the fault is cleared. In every cell the refresh fails without raising, the
last good series stay exposed unchanged, `source_up` turns 0, exactly one error is counted
under the expected reason, and the next refresh after the fault succeeds.

`test_the_matrix_is_complete` keeps the table honest: every registered source times every kind is a
cell or is listed as not applicable with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter.app import Exporter
from exporter.config import from_dict
from exporter.core.errors import Reason
from exporter.core.registry import all_specs
from exporter.demo import simulator_config
from exporter.simulator import FaultRule, Simulator, start

DEMO = Path(__file__).resolve().parents[2] / "exporter/simulator/scenarios/demo.yaml"
KINDS = ("401", "403", "404", "429", "500", "503", "malformed", "empty", "reset", "timeout", "token",
         "token_expiry")  # fmt: skip


@dataclass(frozen=True)
class Target:
    """Where a source's data calls go, and how to configure the source for the matrix."""

    route: str
    options: dict[str, Any]
    overrides: dict[str, str]  # kind -> route, where the data route cannot show that kind


TARGETS = {
    "subscriptions": Target("arm.subscriptions", {}, {}),
    # A 404 on a scale set's history means "deleted since discovery", not a failure: the 404
    # cell is Resource Graph answering 404 (a mass 404 of the history is issue 9's class 3).
    "vmss_os_upgrades": Target("arm.vmss.*", {}, {"404": "resource_graph"}),
    # Hub only (Azure Local has its own cells through ARM/Resource Graph in its tests).
    "azure_stack_updates": Target("azurestack.*", {"local_enabled": False}, {}),
    "scheduled_events": Target("imds.*", {"request_timeout": "1s", "first_request_timeout": "1s"}, {}),
    # Every call of both is a Resource Graph page (the optional agentVersions API is off here).
    "arc_agents": Target("resource_graph", {"agent_versions_api": False}, {}),
    "update_manager": Target("resource_graph", {}, {}),
}
NOT_APPLICABLE = {
    ("scheduled_events", "token"): "IMDS Scheduled Events take no token (Metadata: true header only)",
    ("scheduled_events", "token_expiry"): "IMDS Scheduled Events take no token",
}
EXPECTED = {
    "401": Reason.UNAUTHORIZED,
    "403": Reason.FORBIDDEN,
    "404": Reason.NOT_FOUND,
    "429": Reason.THROTTLED,
    "500": Reason.SERVER_ERROR,
    "503": Reason.SERVER_ERROR,
    "malformed": Reason.MALFORMED_PAYLOAD,
    "empty": Reason.MALFORMED_PAYLOAD,
    "reset": Reason.CONNECTION,
    "timeout": Reason.TIMEOUT,
    "token": Reason.TOKEN,
    "token_expiry": Reason.UNAUTHORIZED,  # ARM rejects the expired token; the next refresh renews it
}
CELLS = [
    (source, kind)
    for source in TARGETS
    for kind in KINDS
    if (source, kind) not in NOT_APPLICABLE
]  # fmt: skip


def quiet_demo() -> dict[str, Any]:
    """The demo estate without its own friction (injected faults, outages, quotas)."""
    scenario = yaml.safe_load(DEMO.read_text())
    scenario["faults"] = []
    scenario["resource_graph"]["quota_per_5s"] = 0
    scenario["imds"]["rate_limit_per_second"] = 0
    for stamp in scenario["azure_stack"]["hub"]:
        stamp.pop("outages", None)
    return scenario


@pytest.fixture(scope="module")
def demo() -> Iterator[Simulator]:
    with start(quiet_demo()) as simulator:
        yield simulator


@pytest.fixture
def sim(demo: Simulator) -> Iterator[Simulator]:
    demo.faults.clear()
    yield demo
    demo.faults.clear()


@pytest.fixture
def make(sim: Simulator) -> Iterator[Callable[[str], Exporter]]:
    made: list[Exporter] = []

    def build(source: str) -> Exporter:
        raw = simulator_config(sim.info(), "127.0.0.1:0")
        raw["azure"].update(retry_total=0, request_timeout="1s")
        section = {**raw["sources"].get(source, {}), **TARGETS[source].options}
        raw["sources"] = {name: {"enabled": False} for name in all_specs()}
        raw["sources"][source] = {**section, "enabled": True, "timeout": "5s"}
        exporter = Exporter(from_dict(raw))
        made.append(exporter)
        return exporter

    yield build
    for exporter in made:
        exporter.stop()


def series(exporter: Exporter) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    """The source's own series (name and labels), without the exporter's and the runtime's."""
    own = ("azure_update_exporter_", "process_", "python_")
    return {
        (s.name, tuple(sorted(s.labels.items())))
        for family in exporter.registry.collect()
        for s in family.samples
        if not s.name.startswith(own)
    }


def self_metric(exporter: Exporter, source: str, name: str, **labels: str) -> float | None:
    return exporter.registry.get_sample_value(
        f"azure_update_exporter_source_{name}", {"source": source, **labels}
    )


def errors(exporter: Exporter, source: str) -> dict[str, float]:
    return {r.value: self_metric(exporter, source, "errors_total", reason=r.value) or 0.0 for r in Reason}


def inject(sim: Simulator, exporter: Exporter, source: str, kind: str) -> None:
    route = TARGETS[source].overrides.get(kind, TARGETS[source].route)
    if kind == "token":
        exporter.azure().close()  # forget the cached token: the next refresh must ask again
        sim.faults.add(FaultRule("token.aad", "status", status=401))
    elif kind == "token_expiry":
        sim.clock.advance(7200)  # past the demo's token lifetime: ARM now rejects the cached token
    elif kind.isdigit():
        sim.faults.add(FaultRule(route, "status", status=int(kind), retry_after=0 if kind == "429" else None))
    elif kind == "timeout":
        sim.faults.add(FaultRule(route, "timeout", seconds=5))  # accepts, answers nothing for 5 s
    else:
        sim.faults.add(FaultRule(route, kind))  # type: ignore[arg-type]


@pytest.mark.parametrize(("source", "kind"), CELLS, ids=[f"{s}-{k}" for s, k in CELLS])
def test_fault_cell(sim: Simulator, make: Callable[[str], Exporter], source: str, kind: str) -> None:
    exporter = make(source)
    assert exporter.refresh_all_once() == {source: True}
    good, before = series(exporter), errors(exporter, source)
    assert good, "the source exposes nothing to keep"
    inject(sim, exporter, source, kind)
    assert exporter.refresh_all_once() == {source: False}
    assert series(exporter) == good  # the last good data is still served
    assert self_metric(exporter, source, "up") == 0.0
    after = errors(exporter, source)
    counted = {r: after[r] - before[r] for r in after if after[r] != before[r]}
    assert counted == {EXPECTED[kind].value: 1.0}
    sim.faults.clear()
    assert exporter.refresh_all_once() == {source: True}
    assert self_metric(exporter, source, "up") == 1.0
    assert self_metric(exporter, source, "consecutive_failures") == 0.0


def test_the_matrix_is_complete() -> None:
    assert set(TARGETS) == set(all_specs()), "a registered source has no row in the fault matrix"
    for source in all_specs():
        for kind in KINDS:
            assert (source, kind) in CELLS or (source, kind) in NOT_APPLICABLE, (source, kind)
    assert len(KINDS) == 12
