"""The arc_agents source end to end against the HTTPS simulator: real azure-identity, real
azure-mgmt-resourcegraph client and our pager, real scheduler and collector, no mocks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from exporter.app import Exporter
from exporter.config import from_dict, merge
from exporter.core.errors import Reason
from exporter.demo import simulator_config
from exporter.simulator import FaultRule, Simulator, start

SOURCE = "arc_agents"
SUB_A = "6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10"
SUB_B = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
SQL = {"subscription_id": SUB_A, "resource_group": "rg-arc", "machine": "srv-sql-01"}
EDGE = {"subscription_id": SUB_B, "resource_group": "rg-edge", "machine": "srv-edge-01"}
CANARY = {"subscription_id": SUB_B, "resource_group": "rg-edge", "machine": "srv-canary"}
SCENARIO: dict[str, Any] = {
    "start_time": "2026-11-21T06:00:00+00:00",
    "subscriptions": [{"id": SUB_A}, {"id": SUB_B}],
    "resource_graph": {"quota_per_5s": 0},
    "identity": {"token_lifetime_seconds": 86400 * 400},
    "arc_agents": {
        "advisor_latest_version": "1.67",
        "agent_versions": ["1.67", "1.68"],
        "machines": [
            {
                "subscription": SUB_A,
                "resource_group": "rg-arc",
                "name": "srv-sql-01",
                "version": "1.60.03293.2680",
                "automatic_upgrade": True,
                "last_attempt": {"status": "Failed", "at": -3600, "desired_version": "1.61"},
                "changes": [{"at": 600, "version": "1.44"}],  # a script reinstalls an old agent
            },
            {
                "subscription": SUB_B,
                "resource_group": "rg-edge",
                "name": "srv-edge-01",
                "os_type": "linux",
                "version": "1.66",
                "heartbeat_stops_at": 0,
            },
            {"subscription": SUB_B, "resource_group": "rg-edge", "name": "srv-canary", "version": "1.68"},
            {
                "subscription": SUB_B,
                "resource_group": "rg-edge",
                "name": "srv-odd",
                "version": "1.x",
                "status": "Rebooting",
                "raw": {"enableAutomaticUpgrade": "True"},
            },
        ],
    },
}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with start(SCENARIO) as simulator:
        yield simulator


@pytest.fixture
def arc_exporter(make_exporter: Callable[..., Exporter]) -> Callable[..., Exporter]:
    def make(**options: Any) -> Exporter:
        overrides = {"azure": {"retry_total": 0}, "sources": {SOURCE: options}}
        return make_exporter(only=(SOURCE,), **overrides)

    return make


UNSUPPORTED_IN_A = {"subscription_id": SUB_A, "state": "unsupported"}


def sample(exporter: Exporter, name: str, **labels: str) -> float | None:
    return exporter.registry.get_sample_value(name, labels)


def errors(exporter: Exporter, reason: Reason) -> float | None:
    return sample(exporter, "azure_update_exporter_source_errors_total", source=SOURCE, reason=reason.value)


def test_estate_through_the_real_sdk(sim: Simulator, arc_exporter: Callable[..., Exporter]) -> None:
    exporter = arc_exporter()
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sample(exporter, "azure_arc_agent_supported", **SQL) == 1
    assert sample(exporter, "azure_arc_agent_versions_behind", **SQL) == 8  # newest: 1.68 (API and canary)
    assert sample(exporter, "azure_arc_agent_upgrade_last_attempt_status", **SQL, status="Failed") == 1
    assert sample(exporter, "azure_arc_machine_status", **EDGE, status="Connected") == 1
    assert sample(exporter, "azure_arc_agent_supported", **CANARY) == 1
    assert sample(exporter, "azure_arc_agent_release_timestamp_seconds", **CANARY) is None
    newest = {"agent_version": "1.68", "source": "agent_versions_api", "table_version": "1.67"}
    assert sample(exporter, "azure_arc_agent_newest_version_info", **newest) == 1
    assert sample(exporter, "azure_arc_agent_release_table_versions_behind") == 1
    odd = {"subscription_id": SUB_B, "resource_group": "rg-edge", "machine": "srv-odd"}
    assert sample(exporter, "azure_arc_machine_status", **odd, status="Rebooting") == 1
    assert sample(exporter, "azure_arc_agent_support_known", **odd) == 0
    assert sample(exporter, "azure_arc_agent_automatic_upgrade_enabled", **odd) == 1
    assert errors(exporter, Reason.UNKNOWN_ENUM) == 1
    assert errors(exporter, Reason.MALFORMED_PAYLOAD) == 1
    assert sample(exporter, "azure_arc_agents_evaluated_timestamp_seconds") == pytest.approx(
        sim.clock.now().timestamp(), abs=30
    )
    # Resource Graph pages (machines + Advisor) and the 2 agentVersions calls; nothing per machine.
    assert sim.requests.count("resource_graph") == 2
    assert sim.requests.count("arm.arc.agent_versions") == 2
    assert sim.requests.count("arm.*") == 2

    sim.clock.advance(1300)  # srv-sql-01 downgraded at 600 s; srv-edge-01 Disconnected at 1200 s
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sample(exporter, "azure_arc_agent_downgrades_total", subscription_id=SUB_A) == 1
    assert sample(exporter, "azure_arc_agent_downgrades_total", subscription_id=SUB_B) == 0
    assert sample(exporter, "azure_arc_agent_downgrade_timestamp_seconds", **SQL) is not None
    assert sample(exporter, "azure_arc_agent_supported", **SQL) == 0  # 1.44: support ended 2025-07-01
    assert sample(exporter, "azure_arc_machine_status", **EDGE, status="Disconnected") == 1
    assert sample(exporter, "azure_arc_agent_support_machines", **UNSUPPORTED_IN_A) == 1
    # The same odd values are not counted again on every refresh.
    assert errors(exporter, Reason.UNKNOWN_ENUM) == 1

    sim.clock.advance(45 * 86400)
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sample(exporter, "azure_arc_machine_status", **EDGE, status="Expired") == 1
    assert sample(exporter, "azure_arc_agent_downgrades_total", subscription_id=SUB_A) == 1


def test_support_is_judged_on_the_service_clock(
    sim: Simulator, arc_exporter: Callable[..., Exporter]
) -> None:
    exporter = arc_exporter()
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sample(exporter, "azure_arc_agent_supported", **SQL) == 1  # 1.60 supported until 2027-01-01
    sim.clock.advance(41 * 86400)  # 2027-01-01 06:00 on the simulator's clock
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sample(exporter, "azure_arc_agent_supported", **EDGE) == 1
    assert sample(exporter, "azure_arc_agent_support_machines", **UNSUPPORTED_IN_A) == 1


def test_release_table_file_extends_the_packaged_table(
    tmp_path: Path, sim: Simulator, arc_exporter: Callable[..., Exporter]
) -> None:
    table = tmp_path / "releases.csv"
    table.write_text("version,release_date\n1.68,2026-09-10\n1.60,2026-02\n", encoding="utf-8")
    exporter = arc_exporter(release_table_file=str(table), agent_versions_api=False)
    assert exporter.refresh_all_once() == {SOURCE: True}
    september = 1788998400.0  # 2026-09-10T00:00:00Z
    assert sample(exporter, "azure_arc_agent_release_timestamp_seconds", **CANARY) == september
    assert sample(exporter, "azure_arc_agent_release_timestamp_seconds", **SQL) == 1769904000.0  # 2026-02-01
    assert sample(exporter, "azure_arc_agent_release_table_versions_behind") == 0
    newest = {"agent_version": "1.68", "source": "table", "table_version": "1.68"}
    assert sample(exporter, "azure_arc_agent_newest_version_info", **newest) == 1
    table.write_text("version,release_date\n1.68,soon\n", encoding="utf-8")  # read at every refresh
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sample(exporter, "azure_arc_agent_release_timestamp_seconds", **CANARY) is None
    assert errors(exporter, Reason.MALFORMED_PAYLOAD) == 2  # srv-odd's version, then the bad row
    table.unlink()
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert errors(exporter, Reason.NOT_FOUND) == 1


def test_optional_sources_of_the_newest_version_never_fail_the_refresh(
    sim: Simulator, arc_exporter: Callable[..., Exporter]
) -> None:
    sim.state.section("arc_agents")["agent_versions_api"] = False  # the API is not exposed: 404
    sim.faults.add(FaultRule("resource_graph", "status", status=403, after=1, count=1))  # the Advisor query
    exporter = arc_exporter()
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert errors(exporter, Reason.NOT_FOUND) == 2  # windows and linux
    assert errors(exporter, Reason.FORBIDDEN) == 1
    newest = {"agent_version": "1.68", "source": "estate", "table_version": "1.67"}
    assert sample(exporter, "azure_arc_agent_newest_version_info", **newest) == 1
    assert sim.requests.count("arm.arc.agent_versions", status=404) == 2
    # An API that is not there is not asked again; the Advisor query is, and works now.
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sim.requests.count("arm.arc.agent_versions") == 2
    assert sim.requests.count("resource_graph") == 4
    assert errors(exporter, Reason.NOT_FOUND) == 2


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (FaultRule("resource_graph", "status", status=500), Reason.SERVER_ERROR),
        (FaultRule("resource_graph", "status", status=429, retry_after=0), Reason.THROTTLED),
        (FaultRule("resource_graph", "malformed"), Reason.MALFORMED_PAYLOAD),
        (FaultRule("resource_graph", "reset"), Reason.CONNECTION),
    ],
    ids=["500", "429", "malformed", "reset"],
)
def test_resource_graph_failures_keep_the_last_good_snapshot(
    sim: Simulator, arc_exporter: Callable[..., Exporter], fault: FaultRule, reason: Reason
) -> None:
    exporter = arc_exporter(agent_versions_api=False)
    assert exporter.refresh_all_once() == {SOURCE: True}
    before = errors(exporter, reason)
    sim.faults.add(fault)
    assert exporter.refresh_all_once() == {SOURCE: False}
    assert errors(exporter, reason) == (before or 0) + 1
    assert sample(exporter, "azure_update_exporter_source_up", source=SOURCE) == 0
    assert sample(exporter, "azure_arc_agent_supported", **SQL) == 1  # last good data is served
    sim.faults.clear()
    assert exporter.refresh_all_once() == {SOURCE: True}


def test_throttling_is_retried_after_retry_after(
    sim: Simulator, make_exporter: Callable[..., Exporter]
) -> None:
    exporter = make_exporter(only=(SOURCE,), azure={"retry_total": 2})
    sim.faults.add(FaultRule("resource_graph", "status", status=429, retry_after=0.2, count=1))
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sample(exporter, "azure_update_exporter_azure_throttled_total", api="resource_graph") == 1
    assert errors(exporter, Reason.THROTTLED) == 0


SUBSCRIPTIONS = [f"00000000-0000-4000-8000-{i:012d}" for i in range(50)]


def test_20000_machines_in_50_subscriptions_cost_resource_graph_pages_only() -> None:
    estate = {
        "subscriptions": [{"id": s} for s in SUBSCRIPTIONS],
        "resource_graph": {"quota_per_5s": 0},
        "arc_agents": {"generate": {"count": 20_000}},
    }
    with start(estate) as big:
        raw = simulator_config(big.info(), "127.0.0.1:0")
        raw["sources"] = {name: {"enabled": name == SOURCE} for name in raw["sources"]}
        raw = merge(raw, {"sources": {SOURCE: {"per_machine_series": False}}})
        exporter = Exporter(from_dict(merge(raw, {"azure": {"retry_total": 0}})))
        try:
            started = time.monotonic()
            assert exporter.refresh_all_once() == {SOURCE: True}
            elapsed = time.monotonic() - started
            families = {f.name: f for f in exporter.registry.collect()}
        finally:
            exporter.stop()
    pages = 20 + 1  # 1,000 machines per page, plus the Advisor summary
    assert big.requests.count("resource_graph") == pages
    assert big.requests.count("arm.*") == 0
    assert big.requests.count("*") - big.requests.count("token*") == pages
    reported = {
        s.labels["api"]: s.value for s in families["azure_update_exporter_arc_requests_last_refresh"].samples
    }
    assert reported == {"resource_graph": pages, "arm": 0}
    counts = families["azure_arc_agents"].samples
    assert sum(s.value for s in counts) == 20_000
    assert {s.labels["subscription_id"] for s in counts} == set(SUBSCRIPTIONS)
    support = families["azure_arc_agent_support_machines"].samples
    assert sum(s.value for s in support) == 20_000
    assert "azure_arc_machine_info" not in families
    assert elapsed < 60, f"refresh of 20,000 machines took {elapsed:.1f}s"
