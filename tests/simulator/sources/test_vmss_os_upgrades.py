"""Simulator VMSS routes: upgrade timelines on the virtual clock, wire shapes, errors, Resource Graph
rows and fault injection on every route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.identity import ClientSecretCredential
from azure.mgmt.resourcegraph import ResourceGraphClient

from exporter.azure import resource_graph as rg_query
from exporter.core.source import Issue
from exporter.simulator import FaultRule, ScenarioError, Simulator, load_scenario, start
from exporter.simulator.sources import vmss_os_upgrades as vmss
from exporter.sources.vmss_os_upgrades import Options
from exporter.sources.vmss_os_upgrades.fetch import eligible
from exporter.sources.vmss_os_upgrades.fetch_calls import QUERY
from exporter.sources.vmss_os_upgrades.model import Progress, Upgrade
from exporter.sources.vmss_os_upgrades.parse import parse_history, parse_rolling, parse_scale_sets

ARM_SCOPE = "https://management.azure.com/.default"
PAYLOADS = Path(__file__).resolve().parents[2] / "payloads" / "vmss_os_upgrades"
SUB_A = "6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10"
SUB_B = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
API = {"api-version": "2024-11-01"}
START = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
SCENARIO: dict[str, Any] = {
    "start_time": START.isoformat(),
    "subscriptions": [{"id": SUB_A}, {"id": SUB_B}],
    "resource_graph": {"quota_per_5s": 0},
    "arm": {"page_size": 2},
    "vmss": {
        "scale_sets": [
            {
                "subscription": SUB_A,
                "resource_group": "rg-web-prod",
                "name": "vmss-web-prod",
                "capacity": 10,
                "history": [{"code": "Completed", "started_ago": 86400, "duration": 3600}],
                "upgrade": {"start_after": 0, "batch_seconds": 60, "outcome": "completed"},
            },
            {"subscription": SUB_A, "resource_group": "rg-gone", "name": "vmss-gone", "deleted": True},
            {"subscription": SUB_B, "resource_group": "rg-new", "name": "vmss-new", "mode": "Manual"},
        ],
        "generate": {"count": 2500, "eligible_ratio": 0.4},
    },
}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with start(SCENARIO) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(sim: Simulator) -> Iterator[None]:
    yield
    sim.faults.clear()
    sim.requests.clear()
    sim.state.section("vmss").pop("forbidden_subscriptions", None)


@pytest.fixture(scope="module")
def credential(sim: Simulator) -> ClientSecretCredential:
    return sim.credential()


@pytest.fixture
def http(sim: Simulator, credential: ClientSecretCredential) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(sim.ca_path)
        session.headers["Authorization"] = f"Bearer {credential.get_token(ARM_SCOPE).token}"
        yield session


def url(sim: Simulator, sub: str, group: str, name: str, tail: str = "") -> str:
    return (
        f"{sim.base_url}/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Compute"
        f"/virtualMachineScaleSets/{name}{tail}"
    )


def spec(**upgrade: Any) -> vmss.ScaleSetSpec:
    [loaded] = vmss.load_section(
        {"scale_sets": [{"resource_group": "rg", "name": "v", "capacity": 10, "upgrade": upgrade}]}, [SUB_A]
    )
    return loaded


def latest(spec_: vmss.ScaleSetSpec, elapsed: float) -> Upgrade:
    issues: list[Issue] = []
    parsed = parse_history(vmss.live_entries(spec_, START, elapsed), issues).latest
    assert issues == []
    assert parsed is not None
    return parsed


# --------------------------------------------------------------------------- timelines


def test_upgrade_rolls_forward_batch_by_batch_to_completed() -> None:
    s = spec(start_after=100, batch_seconds=60, outcome="completed")
    assert vmss.live_entries(s, START, 99) == []
    seen = []
    for batch in range(5):
        up = latest(s, 100 + batch * 60 + 30)
        assert up.code == "RollingForward"
        seen.append(up.progress)
    # 20 % of 10 instances per batch: 2 upgrading, the rest pending or done.
    assert seen == [Progress(2 * k, 0, 2, 8 - 2 * k) for k in range(5)]
    done = latest(s, 100 + 5 * 60)
    assert (done.code, done.progress) == ("Completed", Progress(10, 0, 0, 0))
    assert done.ended_at is not None
    assert (done.ended_at - done.started_at).total_seconds() == 300  # type: ignore[operator]
    assert done.started_by == "Platform"
    assert done.target_image.endswith(":22.04.202611200")


def test_upgrade_hits_failed_instances_faults_and_recovers() -> None:
    s = spec(batch_seconds=60, outcome="faulted", fail_batch=1, failed_instances=2, recover_after=600)
    assert latest(s, 90).progress == Progress(2, 0, 2, 6)
    faulted = latest(s, 130)
    assert (faulted.code, faulted.progress) == ("Faulted", Progress(2, 2, 0, 6))
    assert faulted.error_code == vmss.FAULT_ERROR
    assert latest(s, 719).code == "Faulted"
    retry = vmss.live_entries(s, START, 750)
    assert [e["properties"]["runningStatus"]["code"] for e in retry] == ["RollingForward", "Faulted"]
    assert latest(s, 750).progress.failed == 0
    assert latest(s, 720 + 300).code == "Completed"


def test_upgrade_rolls_back() -> None:
    s = spec(batch_seconds=60, outcome="rolled_back", fail_batch=1, failed_instances=1)
    assert latest(s, 130).code == "RollingBack"
    after = latest(s, 181)
    assert (after.code, after.rolled_back, after.progress.failed) == ("Faulted", 4, 1)
    assert latest(s, 100000).code == "Faulted"  # no recover_after: stays faulted


def test_scenario_validation_names_every_problem() -> None:
    with pytest.raises(ScenarioError) as info:
        vmss.load_section(
            {
                "scale_sets": [
                    {"name": "a", "resource_group": "r", "capacity": "ten", "colour": "red"},
                    {"name": "b", "resource_group": "r", "upgrade": {"outcome": "exploded"}},
                    {"name": "c", "resource_group": "r", "history": [{"code": "Completed", "when": 1}]},
                ],
                "extra": 1,
            },
            [SUB_A],
        )
    problems = "\n".join(info.value.problems)
    for needle in (
        "capacity: expected int",
        "colour: unknown key",
        "outcome: 'exploded'",
        "when: unknown key",
        "vmss.extra: unknown key",
    ):
        assert needle in problems


def test_demo_scenario_vmss_section_is_valid() -> None:
    demo = load_scenario("demo")
    specs = vmss.load_section(demo.section("vmss"), [s.id for s in demo.subscriptions])
    outcomes = {s.upgrade.outcome for s in specs if s.upgrade}
    assert outcomes == {"completed", "faulted", "rolled_back"}


# --------------------------------------------------------------------------- wire


def test_history_is_paged_and_parses(sim: Simulator, http: requests.Session) -> None:
    first = http.get(url(sim, SUB_A, "RG-WEB-PROD", "VMSS-WEB-PROD", "/osUpgradeHistory"), params=API)
    assert first.status_code == 200
    assert first.headers["x-ms-ratelimit-remaining-resource"].startswith("Microsoft.Compute/")
    body = first.json()
    assert len(body["value"]) == 2  # the live upgrade and the past one; page size 2
    assert "nextLink" not in body
    parsed = parse_history(body["value"], [])
    assert parsed.latest is not None
    assert parsed.latest.code == "RollingForward"
    item = body["value"][0]
    assert item["type"] == "Microsoft.Compute/virtualMachineScaleSets/rollingUpgrades"
    assert item["properties"]["runningStatus"]["startTime"].endswith("0+00:00")  # 7 fractional digits


def test_rolling_latest_and_model(sim: Simulator, http: requests.Session) -> None:
    body = http.get(
        url(sim, SUB_A, "rg-web-prod", "vmss-web-prod", "/rollingUpgrades/latest"), params=API
    ).json()
    assert body["name"] == "latest"
    assert body["properties"]["policy"]["maxBatchInstancePercent"] == 20
    assert parse_rolling(body, []).code == "RollingForward"
    model = http.get(url(sim, SUB_A, "rg-web-prod", "vmss-web-prod"), params=API).json()
    assert (
        model["properties"]["upgradePolicy"]["automaticOSUpgradePolicy"]["enableAutomaticOSUpgrade"] is True
    )
    assert model["sku"]["capacity"] == 10


def test_never_upgraded_answers_the_404_example(sim: Simulator, http: requests.Session) -> None:
    response = http.get(url(sim, SUB_B, "rg-new", "vmss-new", "/rollingUpgrades/latest"), params=API)
    assert response.status_code == 404
    assert response.json() == json.loads((PAYLOADS / "vmss-rolling-upgrade-latest-404.json").read_text())
    assert http.get(url(sim, SUB_B, "rg-new", "vmss-new", "/osUpgradeHistory"), params=API).json() == {
        "value": []
    }


@pytest.mark.parametrize("tail", ["/osUpgradeHistory", "/rollingUpgrades/latest", ""])
def test_deleted_unknown_forbidden_and_bad_requests(
    sim: Simulator, http: requests.Session, tail: str
) -> None:
    gone = http.get(url(sim, SUB_A, "rg-gone", "vmss-gone", tail), params=API)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "ResourceNotFound")
    other = "00000000-0000-0000-0000-00000000dead"
    missing_sub = http.get(url(sim, other, "rg", "x", tail), params=API)
    assert missing_sub.json()["error"]["code"] == "SubscriptionNotFound"
    old = http.get(
        url(sim, SUB_A, "rg-web-prod", "vmss-web-prod", tail), params={"api-version": "2018-06-01"}
    )
    assert (old.status_code, old.json()["error"]["code"]) == (400, "NoRegisteredProviderFound")
    anonymous = requests.get(
        url(sim, SUB_A, "rg-web-prod", "vmss-web-prod", tail), params=API, verify=str(sim.ca_path), timeout=10
    )
    assert anonymous.status_code == 401
    sim.state.section("vmss")["forbidden_subscriptions"] = [SUB_A.upper()]
    denied = http.get(url(sim, SUB_A, "rg-web-prod", "vmss-web-prod", tail), params=API)
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "AuthorizationFailed")
    assert http.get(url(sim, SUB_B, "rg-new", "vmss-new", "/osUpgradeHistory"), params=API).status_code == 200


def test_resource_graph_rows_page_over_the_generated_estate(
    sim: Simulator, credential: ClientSecretCredential
) -> None:
    client = ResourceGraphClient(
        credential, base_url=sim.base_url, credential_scopes=[ARM_SCOPE], connection_verify=str(sim.ca_path)
    )
    rows = rg_query.query(client, QUERY)
    assert len(rows) == 2503
    assert sim.requests.count("resource_graph") == 3  # 1,000 rows per page
    assert [r["id"].lower() for r in rows] == sorted(r["id"].lower() for r in rows)
    issues: list[Issue] = []
    parsed = parse_scale_sets(rows, issues)
    assert issues == []
    assert sum(eligible(s, Options()) for s in parsed) == 1000 + 3  # 40 % generated + web, gone, new
    only_b = rg_query.query(client, QUERY, [SUB_B])
    assert {r["subscriptionId"] for r in only_b} == {SUB_B}


@pytest.mark.parametrize(
    "route", ["arm.vmss.os_upgrade_history", "arm.vmss.rolling_upgrade_latest", "arm.vmss.get"]
)
def test_fault_injection_on_every_route(sim: Simulator, http: requests.Session, route: str) -> None:
    tail = {
        "arm.vmss.os_upgrade_history": "/osUpgradeHistory",
        "arm.vmss.rolling_upgrade_latest": "/rollingUpgrades/latest",
        "arm.vmss.get": "",
    }[route]
    target = url(sim, SUB_A, "rg-web-prod", "vmss-web-prod", tail)
    sim.faults.add(FaultRule(route, "status", status=429, retry_after=7, count=1))
    throttled = http.get(target, params=API)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "7"
    error = throttled.json()["error"]
    assert (error["code"], error["details"][0]["code"]) == ("OperationNotAllowed", "TooManyRequests")
    assert (
        error.keys()
        == json.loads((PAYLOADS / "compute-error-429-throttled.json").read_text())["error"].keys()
    )
    sim.faults.add(FaultRule(route, "status", status=503, count=1))
    unavailable = http.get(target, params=API)
    assert (unavailable.status_code, unavailable.json()["error"]["code"]) == (503, "ServiceUnavailable")
    sim.faults.add(FaultRule(route, "malformed", count=1))
    with pytest.raises(ValueError):
        http.get(target, params=API).json()
    assert http.get(target, params=API).status_code == 200
    assert sim.requests.count(route) == 4
