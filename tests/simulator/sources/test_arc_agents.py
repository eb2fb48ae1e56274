"""Simulator Arc routes over real sockets: Resource Graph rows through the real SDK and our pager
(projection shape, paging, now() on the virtual clock), timelines (upgrades, downgrades, heartbeats
stopping), Advisor rows, the agentVersions API and scenario validation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from azure.identity import ClientSecretCredential
from azure.mgmt.resourcegraph import ResourceGraphClient

from exporter.azure import resource_graph as rg_query
from exporter.simulator import FaultRule, ScenarioError, Simulator, start
from exporter.simulator.sources import arc_agents
from exporter.sources.arc_agents.fetch import ADVISOR_QUERY, MACHINES_QUERY
from exporter.sources.arc_agents.parse import Problems, parse_machines, query_time

ARM_SCOPE = "https://management.azure.com/.default"
SUB_A = "6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10"
SUB_B = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
START = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
SCENARIO: dict[str, Any] = {
    "start_time": START.isoformat(),
    "subscriptions": [{"id": SUB_A}, {"id": SUB_B}],
    "resource_graph": {"quota_per_5s": 0},
    "arc_agents": {
        "advisor_latest_version": "1.67",
        "agent_versions": ["1.66", "1.67"],
        "machines": [
            {
                "subscription": SUB_A,
                "resource_group": "RG-Arc",
                "name": "srv-sql-01",
                "version": "1.60.03293.2680",
                "automatic_upgrade": True,
                "desired_version": "1.61",
                "last_attempt": {
                    "status": "Failed",
                    "at": -3600,
                    "message": "installer exited with code 1603",
                },
                "changes": [
                    {"at": 600, "version": "1.61", "last_attempt": {"status": "Success"}},
                    {"at": 900, "version": "1.44"},
                ],
            },
            {
                "subscription": SUB_B,
                "resource_group": "rg-edge",
                "name": "srv-edge-01",
                "os_type": "linux",
                "version": "1.55",
                "heartbeat_stops_at": 60,
            },
            {
                "subscription": SUB_B,
                "resource_group": "rg-old",
                "name": "srv-old",
                "version": "1.38",
                "status": "Expired",
            },
            {
                "subscription": SUB_B,
                "resource_group": "rg-odd",
                "name": "srv-odd",
                "version": None,
                "raw": {"status": None},
            },
        ],
        "generate": {"count": 2300, "prefix": "bulk"},
    },
}
MACHINES = 4 + 2300


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with start(SCENARIO) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(sim: Simulator) -> Iterator[None]:
    yield
    sim.faults.clear()
    sim.requests.clear()


@pytest.fixture(scope="module")
def credential(sim: Simulator) -> ClientSecretCredential:
    return sim.credential()


@pytest.fixture(scope="module")
def graph(sim: Simulator, credential: ClientSecretCredential) -> ResourceGraphClient:
    return ResourceGraphClient(
        credential, base_url=sim.base_url, credential_scopes=[ARM_SCOPE], connection_verify=str(sim.ca_path)
    )


@pytest.fixture
def http(sim: Simulator, credential: ClientSecretCredential) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(sim.ca_path)
        session.headers["Authorization"] = f"Bearer {credential.get_token(ARM_SCOPE).token}"
        yield session


def spec(**fields: Any) -> arc_agents.MachineSpec:
    loaded = arc_agents.load_section({"machines": [{"resource_group": "rg", "name": "m", **fields}]}, [SUB_A])
    [machine] = loaded.machines
    return machine


def row_at(machine: arc_agents.MachineSpec, elapsed: float) -> dict[str, Any]:
    return arc_agents.graph_row(machine, START, elapsed, START + timedelta(seconds=elapsed))


def test_machines_query_pages_through_the_sdk_with_the_projection_shape(
    sim: Simulator, graph: ResourceGraphClient
):
    rows = rg_query.query(graph, MACHINES_QUERY, [SUB_A, SUB_B])
    assert len(rows) == MACHINES
    assert sim.requests.count("resource_graph") == 3  # 1,000 per page
    assert [r["id"].lower() for r in rows] == sorted(r["id"].lower() for r in rows)
    sql = next(r for r in rows if r["name"] == "srv-sql-01")
    assert set(sql) == {
        "id", "name", "subscriptionId", "resourceGroup", "location", "kind", "status", "lastStatusChange",
        "agentVersion", "osName", "osType", "osSku", "enableAutomaticUpgrade", "desiredVersion",
        "lastAttemptStatus", "lastAttemptTimestamp", "lastAttemptDesiredVersion", "lastAttemptMessage",
        "queriedAt",
    }  # fmt: skip
    assert sql["resourceGroup"] == "rg-arc"  # Resource Graph lowercases it; the id keeps the case
    assert "/resourceGroups/RG-Arc/" in sql["id"]
    problems = Problems()
    machines = parse_machines(rows, problems)
    assert len(machines) == MACHINES
    assert {i.key for i in problems.issues()} == {"agentVersion:missing", "status:missing"}
    stamp = query_time(rows)
    assert stamp is not None
    assert abs((stamp - sim.clock.now()).total_seconds()) < 30


def test_subscription_scope_is_honoured(sim: Simulator, graph: ResourceGraphClient):
    rows = rg_query.query(graph, MACHINES_QUERY, [SUB_A])
    assert {r["subscriptionId"] for r in rows} == {SUB_A}


def test_builds_differ_by_os_and_keep_major_minor():
    win = row_at(spec(version="1.60"), 0)["agentVersion"]
    linux = row_at(spec(version="1.60", os_type="linux"), 0)["agentVersion"]
    assert win != linux
    assert win.startswith("1.60.")
    assert linux.startswith("1.60.")
    assert len(win.split(".")) == 4
    assert row_at(spec(version="1.67.03504.3207"), 0)["agentVersion"] == "1.67.03504.3207"


def test_upgrade_then_downgrade_on_the_virtual_clock():
    machine = spec(
        version="1.60",
        automatic_upgrade=True,
        last_attempt={"status": "Failed", "at": -3600},
        changes=[
            {"at": 600, "version": "1.61", "last_attempt": {"status": "Success"}},
            {"at": 900, "version": "1.44"},
        ],
    )
    before = row_at(machine, 599)
    assert before["agentVersion"].startswith("1.60.")
    assert before["lastAttemptStatus"] == "Failed"
    assert before["lastAttemptTimestamp"].startswith("2026-11-21T05:00:00")
    upgraded = row_at(machine, 600)
    assert upgraded["agentVersion"].startswith("1.61.")
    assert (upgraded["lastAttemptStatus"], upgraded["lastAttemptTimestamp"][:19]) == (
        "Success",
        "2026-11-21T06:10:00",
    )
    assert row_at(machine, 901)["agentVersion"].startswith("1.44.")


def test_heartbeats_stop_disconnected_after_20_minutes_expired_after_45_days():
    machine = spec(version="1.60", heartbeat_stops_at=60, status_since=-7200)
    assert row_at(machine, 60 + 1199)["status"] == "Connected"
    disconnected = row_at(machine, 60 + 1200)
    assert disconnected["status"] == "Disconnected"
    assert disconnected["lastStatusChange"].startswith("2026-11-21T06:21:00")
    expired = row_at(machine, 60 + 1200 + 45 * 86400)
    assert expired["status"] == "Expired"
    assert expired["lastStatusChange"].startswith("2027-01-05T06:21:00")


def test_machines_without_agent_upgrade_send_nulls_like_the_example():
    row = row_at(spec(version="1.44"), 0)
    assert row["enableAutomaticUpgrade"] is None
    assert row["lastAttemptStatus"] is None
    assert row["kind"] == ""


def test_advisor_summarises_machines_behind_its_latest_version(sim: Simulator, graph: ResourceGraphClient):
    rows = rg_query.query(graph, ADVISOR_QUERY, [SUB_A, SUB_B])
    [summary] = rows
    assert summary["latestVersion"] == "1.67"
    generated_behind = sum(
        1
        for i in range(2300)
        if arc_agents._GENERATED_VERSIONS[i % 10] != "1.67"
        and arc_agents._GENERATED_STATUSES[i % len(arc_agents._GENERATED_STATUSES)] != "Expired"
    )
    # srv-sql-01 (1.60) and srv-edge-01 (1.55) are behind; srv-old is Expired; srv-odd has no version.
    assert summary["machines"] == generated_behind + 2
    assert sim.requests.count("resource_graph") == 1
    [only_a] = rg_query.query(graph, ADVISOR_QUERY, [SUB_A])  # the recommendations of SUB_A's machines
    assert only_a["machines"] == 1 + sum(
        1
        for i in range(0, 2300, 2)
        if arc_agents._GENERATED_VERSIONS[i % 10] != "1.67"
        and arc_agents._GENERATED_STATUSES[i % len(arc_agents._GENERATED_STATUSES)] != "Expired"
    )


def test_agent_versions_api(sim: Simulator, http: requests.Session):
    url = f"{sim.base_url}/providers/Microsoft.HybridCompute/osType/windows/agentVersions"
    response = http.get(url, params={"api-version": "2025-01-13"}, timeout=10)
    assert response.status_code == 200
    assert response.json() == {
        "value": [
            {
                "agentVersion": "1.66",
                "downloadLink": "https://aka.ms/AzureConnectedMachineAgent",
                "osType": "Windows",
            },
            {
                "agentVersion": "1.67",
                "downloadLink": "https://aka.ms/AzureConnectedMachineAgent",
                "osType": "Windows",
            },
        ]
    }
    one = http.get(f"{url}/1.67", params={"api-version": "2025-09-16-preview"}, timeout=10)
    assert one.status_code == 200
    assert one.json()["agentVersion"] == "1.67"
    assert http.get(f"{url}/1.20", params={"api-version": "2025-01-13"}, timeout=10).status_code == 404
    old = http.get(url, params={"api-version": "2022-12-27"}, timeout=10)
    assert old.status_code == 400
    assert old.json()["error"]["code"] == "InvalidApiVersionParameter"
    assert (
        http.get(
            url, params={"api-version": "2025-01-13"}, headers={"Authorization": ""}, timeout=10
        ).status_code
        == 401
    )


def test_agent_versions_api_can_be_absent(sim: Simulator, http: requests.Session):
    sim.state.section("arc_agents")["agent_versions_api"] = False
    try:
        url = f"{sim.base_url}/providers/Microsoft.HybridCompute/osType/linux/agentVersions"
        response = http.get(url, params={"api-version": "2025-01-13"}, timeout=10)
    finally:
        sim.state.section("arc_agents")["agent_versions_api"] = True
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "InvalidResourceType"


def test_faults_apply_to_the_arc_routes(sim: Simulator, http: requests.Session):
    sim.faults.add(FaultRule(route="arm.arc.*", kind="status", status=503, count=1))
    url = f"{sim.base_url}/providers/Microsoft.HybridCompute/osType/linux/agentVersions"
    assert http.get(url, params={"api-version": "2025-01-13"}, timeout=10).status_code == 503
    assert http.get(url, params={"api-version": "2025-01-13"}, timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({"machines": [{"name": "m", "resource_group": "rg", "version": 1.6}]}, "expected a quoted version"),
        ({"machines": [{"name": "m", "resource_group": "rg", "colour": "red"}]}, "colour: unknown key"),
        (
            {"machines": [{"name": "m", "resource_group": "rg", "changes": [{"at": "soon"}]}]},
            "expected seconds",
        ),
        ({"machines": "m"}, "expected a list"),
        ({"generate": {"count": "many"}}, "arc_agents.generate"),
        ({"wat": 1}, "arc_agents.wat: unknown key"),
    ],
)
def test_scenario_problems_are_named(section: dict[str, Any], problem: str):
    with pytest.raises(ScenarioError) as error:
        arc_agents.load_section(section, [SUB_A])
    assert problem in str(error.value)
