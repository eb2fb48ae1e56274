"""Simulated Azure Stack Hub admin API and Azure Local update resources over HTTPS (real tokens)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from azure.identity import ClientSecretCredential

from exporter.simulator import FaultRule, Simulator, start
from exporter.simulator.scenario import ScenarioError
from exporter.simulator.sources.azure_stack_updates.scenario import load_section

SUB_LOCAL = "9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4"
AUDIENCE = "https://adminmanagement.north.contoso.example/7a1c"
SCENARIO: dict[str, Any] = {
    "start_time": "2026-11-21T10:00:00Z",
    # Tests move the clock by hours; tokens must outlive that (their lifetime is virtual).
    "identity": {"token_lifetime_seconds": 10_000_000},
    "subscriptions": [{"id": SUB_LOCAL, "display_name": "Edge"}],
    "arm": {"page_size": 2},
    "resource_graph": {"quota_per_5s": 0},
    "azure_stack": {
        "hub": [
            {
                "region": "north",
                "audience": AUDIENCE,
                "subscription_id": "0d1f6e4e-8c1a-4a53-b6f4-7e2f31c9b800",
                "current_version": "1.2406.1.23",
                "step_offset": "-08:00",
                "last_updated": -86400,
                "updates": [
                    {"name": "Microsoft1.2406.1.23", "runs": [{"start": -90000, "seconds": 3600}]},
                    {"name": "Microsoft1.2408.0.19", "runs": [{"start": 100, "seconds": 1200}]},
                    {"name": "Microsoft1.2408.1.50", "state": "HasPrerequisite"},
                ],
                "outages": [{"start": 50000, "seconds": 600}],
            },
            {
                "region": "south",
                "api_versions": ["2016-05-01"],
                "updates": [
                    {
                        "name": "Microsoft1.2408.0.19",
                        "runs": [{"start": -600, "seconds": 1200, "fail_at": "Restart Storage Hosts"}],
                    }
                ],
            },
        ],
        "local": [
            {
                "subscription_id": SUB_LOCAL,
                "resource_group": "rg-azl",
                "name": "azl-01",
                "current_version": "10.2408.2.7",
                "updates": [{"name": "Solution10.2411.0.24", "runs": [{"start": -100, "seconds": 1000}]}],
            }
        ],
    },
}
ADMIN = (
    "/subscriptions/0d1f6e4e-8c1a-4a53-b6f4-7e2f31c9b800/resourceGroups/System.north"
    "/providers/Microsoft.Update.Admin/updateLocations"
)
CLUSTER = (
    f"/subscriptions/{SUB_LOCAL}/resourceGroups/rg-azl/providers/Microsoft.AzureStackHCI/clusters/azl-01"
)


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with start(SCENARIO) as running:
        yield running


@pytest.fixture(scope="module")
def credential(sim: Simulator) -> ClientSecretCredential:
    return sim.credential()


@pytest.fixture(scope="module")
def http(sim: Simulator) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(sim.ca_path)
        yield session


@pytest.fixture(autouse=True)
def _clear_faults(sim: Simulator) -> Iterator[None]:
    yield
    sim.faults.clear()


def token(credential: ClientSecretCredential, audience: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential.get_token(audience + '/.default').token}"}


def stamp_audience(sim: Simulator, http: requests.Session, region: str) -> str:
    body = http.get(
        f"{sim.base_url}/azurestack/{region}/metadata/endpoints", params={"api-version": "2015-01-01"}
    )
    return str(body.json()["authentication"]["audiences"][0])


def get(
    sim: Simulator, http: requests.Session, headers: dict[str, str], path: str, version: str
) -> requests.Response:
    return http.get(
        f"{sim.base_url}/azurestack/north{path}", params={"api-version": version}, headers=headers
    )


def test_metadata_endpoints_needs_no_token(sim: Simulator, http: requests.Session) -> None:
    response = http.get(
        f"{sim.base_url}/azurestack/north/metadata/endpoints", params={"api-version": "2015-01-01"}
    )
    assert response.status_code == 200
    auth = response.json()["authentication"]
    assert auth == {"loginEndpoint": f"{sim.base_url}/", "audiences": [AUDIENCE]}
    assert http.get(f"{sim.base_url}/azurestack/nowhere/metadata/endpoints").status_code == 404


def test_admin_api_wants_a_token_for_the_stamp_audience(
    sim: Simulator, http: requests.Session, credential: ClientSecretCredential
) -> None:
    assert get(sim, http, {}, ADMIN, "2021-07-01").status_code == 401
    wrong = get(sim, http, token(credential, "https://management.azure.com"), ADMIN, "2021-07-01")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"
    assert get(sim, http, token(credential, AUDIENCE), ADMIN, "2021-07-01").status_code == 200


def test_default_provider_subscription_and_system_resource_group(
    sim: Simulator, http: requests.Session, credential: ClientSecretCredential
) -> None:
    headers = token(credential, AUDIENCE)
    subs = get(sim, http, headers, "/subscriptions", "2016-06-01").json()["value"]
    assert subs[0]["displayName"] == "Default Provider Subscription"
    groups = get(
        sim, http, headers, "/subscriptions/0d1f6e4e-8c1a-4a53-b6f4-7e2f31c9b800/resourcegroups", "2016-02-01"
    )
    assert "system.north" in [g["name"] for g in groups.json()["value"]]


def test_legacy_stamp_rejects_the_newer_api_version(
    sim: Simulator, http: requests.Session, credential: ClientSecretCredential
) -> None:
    audience = stamp_audience(sim, http, "south")
    path = (
        f"{sim.base_url}/azurestack/south/subscriptions/"
        f"{load_section(SCENARIO['azure_stack']).hub[1].subscription_id}"
        "/resourcegroups/system.south/providers/Microsoft.Update.Admin/updateLocations"
    )
    headers = token(credential, audience)
    rejected = http.get(path, params={"api-version": "2021-07-01"}, headers=headers)
    assert rejected.status_code == 400
    assert rejected.json()["error"]["code"] == "InvalidApiVersionParameter"
    [location] = http.get(path, params={"api-version": "2016-05-01"}, headers=headers).json()["value"]
    assert set(location["properties"]) == {"currentVersion", "currentOemVersion", "lastUpdated", "state"}
    assert location["properties"]["state"] == "UpdateInProgress"
    runs_url = f"{path}/south/updates/Microsoft1.2408.0.19/updateRuns"
    runs = http.get(runs_url, params={"api-version": "2016-05-01"}, headers=headers).json()["value"]
    # Legacy stamps answer with slash-joined names; the id is the truth.
    assert runs[0]["name"].startswith("south/Microsoft1.2408.0.19/")
    top_level = http.get(f"{path}/south/updateRuns", params={"api-version": "2016-05-01"}, headers=headers)
    assert top_level.status_code == 400


def test_a_run_walks_through_its_steps_and_succeeds(
    sim: Simulator, http: requests.Session, credential: ClientSecretCredential
) -> None:
    headers = token(credential, AUDIENCE)
    runs_path = f"{ADMIN}/north/updates/Microsoft1.2408.0.19/updateRuns"
    # Before the run starts (t≈0, it starts at t=100): none, and the update is Ready.
    assert get(sim, http, headers, runs_path, "2021-07-01").json()["value"] == []
    update = get(sim, http, headers, f"{ADMIN}/north/updates/Microsoft1.2408.0.19", "2021-07-01").json()
    assert update["properties"]["state"] == "Ready"
    assert update["properties"]["installedDate"].startswith("9999-12-31T11:59:59.99999999")
    sim.clock.advance(400)  # t≈400: 300 s into a 1200 s run
    [run] = get(sim, http, headers, runs_path, "2021-07-01").json()["value"]
    props = run["properties"]
    assert props["state"] == "InProgress"
    assert props["duration"].startswith("PT0H5M")
    assert props["progress"]["status"] == "InProgress"
    assert props["progress"]["startTimeUtc"].endswith("-08:00")
    statuses = [s["status"] for phase in props["progress"]["steps"] for s in phase["steps"]]
    assert statuses[-1] == "InProgress"
    assert set(statuses[:-1]) <= {"Success"}
    [location] = get(sim, http, headers, ADMIN, "2021-07-01").json()["value"]
    assert location["properties"]["state"] == "UpdateInProgress"
    sim.clock.advance(1000)  # t≈1400: finished at 1300
    [run] = get(sim, http, headers, runs_path, "2021-07-01").json()["value"]
    assert run["properties"]["state"] == "Succeeded"
    assert run["properties"]["duration"] == "PT0H20M0.0000000S"
    assert run["properties"]["progress"]["endTimeUtc"]
    [location] = get(sim, http, headers, ADMIN, "2021-07-01").json()["value"]
    assert location["properties"]["currentVersion"] == "1.2408.0.19"
    assert location["properties"]["state"] == "AppliedUpdateAvailableSuccessfully"  # 1.2408.1.50 waits
    update = get(sim, http, headers, f"{ADMIN}/north/updates/Microsoft1.2408.0.19", "2021-07-01").json()
    assert update["properties"]["state"] == "Installed"
    # Both runs through the 2021-07-01 top-level list, paged two by two.
    page = get(sim, http, headers, f"{ADMIN}/north/updateRuns", "2021-07-01").json()
    assert len(page["value"]) == 2


def test_a_run_fails_at_its_step(
    sim: Simulator, http: requests.Session, credential: ClientSecretCredential
) -> None:
    audience = stamp_audience(sim, http, "south")
    sub = load_section(SCENARIO["azure_stack"]).hub[1].subscription_id
    path = (
        f"{sim.base_url}/azurestack/south/subscriptions/{sub}/resourceGroups/System.south"
        "/providers/Microsoft.Update.Admin/updateLocations/south/updates/Microsoft1.2408.0.19/updateRuns"
    )
    sim.clock.advance(2000)
    [run] = http.get(path, params={"api-version": "2016-05-01"}, headers=token(credential, audience)).json()[
        "value"
    ]
    progress = run["properties"]["progress"]
    assert run["properties"]["state"] == "Failed"
    assert progress["status"] == "Error"
    assert "endTimeUtc" not in progress  # as in the spec example of a failed run
    [failed] = [s for phase in progress["steps"] for s in phase["steps"] if s["status"] == "Error"]
    assert failed["name"] == "Restart Storage Hosts"
    assert failed["errorMessage"]


def test_outage_window_answers_503_everywhere(
    sim: Simulator, http: requests.Session, credential: ClientSecretCredential
) -> None:
    headers = token(credential, AUDIENCE)
    now = (sim.clock.now() - sim.clock.start).total_seconds()
    sim.clock.advance(50000 - now + 1)
    assert http.get(f"{sim.base_url}/azurestack/north/metadata/endpoints").status_code == 503
    response = get(sim, http, headers, ADMIN, "2021-07-01")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "ServiceUnavailable"
    sim.clock.advance(600)
    assert get(sim, http, headers, ADMIN, "2021-07-01").status_code == 200


def test_faults_use_the_azurestack_route_names(
    sim: Simulator, http: requests.Session, credential: ClientSecretCredential
) -> None:
    sim.faults.add(FaultRule("azurestack.updates", "status", status=500, count=1))
    headers = token(credential, AUDIENCE)
    assert get(sim, http, headers, f"{ADMIN}/north/updates", "2021-07-01").status_code == 500
    assert get(sim, http, headers, f"{ADMIN}/north/updates", "2021-07-01").status_code == 200
    assert sim.requests.count("azurestack.updates", status=500) == 1


def test_local_update_resources_on_arm(
    sim: Simulator, http: requests.Session, credential: ClientSecretCredential
) -> None:
    headers = token(credential, "https://management.azure.com")
    base = f"{sim.base_url}{CLUSTER}"
    old = http.get(f"{base}/updates", params={"api-version": "2022-12-01"}, headers=headers)
    assert old.status_code == 400
    summary = http.get(
        f"{base}/updateSummaries/default", params={"api-version": "2025-10-01"}, headers=headers
    )
    assert summary.json()["type"] == "microsoft.azurestackhci/clusters/updatesummaries"
    [update] = http.get(f"{base}/updates", params={"api-version": "2025-10-01"}, headers=headers).json()[
        "value"
    ]
    assert update["properties"]["availabilityType"] == "Online"
    runs = http.get(f"{base}/updates/Solution10.2411.0.24/updateRuns", params={"api-version": "2025-10-01"},
                    headers=headers).json()["value"]  # fmt: skip
    assert runs[0]["properties"]["progress"]["steps"][0]["expectedExecutionTime"] == ""
    missing = http.get(
        f"{sim.base_url}/subscriptions/{SUB_LOCAL}/resourceGroups/rg-azl/providers/Microsoft.AzureStackHCI"
        "/clusters/nope/updates",
        params={"api-version": "2025-10-01"},
        headers=headers,
    )
    assert missing.status_code == 404


def test_resource_graph_lists_clusters_and_update_data(
    sim: Simulator, http: requests.Session, credential: ClientSecretCredential
) -> None:
    headers = token(credential, "https://management.azure.com")
    url = f"{sim.base_url}/providers/Microsoft.ResourceGraph/resources"

    def query(kql: str) -> list[dict[str, Any]]:
        body = {"query": kql, "options": {"resultFormat": "objectArray"}}
        response = http.post(url, params={"api-version": "2024-04-01"}, json=body, headers=headers)
        return list(response.json()["data"])

    [cluster] = query("resources | where type =~ 'microsoft.azurestackhci/clusters' | project id, name")
    assert cluster["id"] == CLUSTER
    runs = query(
        "extensibilityresources | where type =~ 'microsoft.azurestackhci/clusters/updates/updateruns' "
        "| project id, properties"
    )
    assert runs[0]["type"] == "microsoft.azurestackhci/clusters/updates/updateruns"
    assert runs[0]["properties"]["state"] in ("InProgress", "Succeeded")


def test_scenario_section_errors_are_all_reported() -> None:
    with pytest.raises(ScenarioError) as exc:
        load_section(
            {
                "hub": [{"updates": [{"name": "u", "runs": [{"fail_at": "No Such Step", "bogus": 1}]}]}],
                "local": [{"name": "c"}],
                "extra": 1,
            }
        )
    text = "\n".join(exc.value.problems)
    for expected in (
        "azure_stack.extra: unknown key",
        "azure_stack.hub[0].region: required",
        "azure_stack.hub[0].updates[0].runs[0].bogus: unknown key",
        "azure_stack.hub[0].updates[0].runs[0].fail_at: 'No Such Step'",
        "azure_stack.local[0].subscription_id: required",
    ):
        assert expected in text


def test_default_section_serves_the_demo_stamps() -> None:
    from exporter.sources.azure_stack_updates import DEMO_HUB_REGIONS

    assert tuple(s.region for s in load_section(None).hub) == DEMO_HUB_REGIONS
    with start("demo") as demo:
        assert {s.region for s in load_section(demo.state.sections["azure_stack"]).hub} == set(
            DEMO_HUB_REGIONS
        )
