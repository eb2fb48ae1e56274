"""Resource Graph through the real ResourceGraphClient: paging, truncation, formats, quota."""

from __future__ import annotations

from typing import Any, cast

import pytest
import requests
from azure.identity import ClientSecretCredential
from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from exporter.simulator import Simulator, start
from exporter.simulator.routes.resource_graph import projects_id, register_provider

from .conftest import ARM_SCOPE, RG_ROWS, SUBS

MACHINES = "resources | where type =~ 'microsoft.hybridcompute/machines' | project id, name | order by id asc"
RG_URL = "/providers/Microsoft.ResourceGraph/resources"


def _client(sim: Simulator, credential: ClientSecretCredential) -> ResourceGraphClient:
    return ResourceGraphClient(
        credential,
        base_url=sim.base_url,
        credential_scopes=[ARM_SCOPE],
        connection_verify=str(sim.ca_path),
        retry_total=0,
    )


def _post(
    http: requests.Session, sim: Simulator, bearer: str, body: dict[str, Any], api_version: str = "2024-04-01"
) -> requests.Response:
    return http.post(
        f"{sim.base_url}{RG_URL}",
        params={"api-version": api_version},
        json=body,
        headers={"Authorization": f"Bearer {bearer}"},
    )


def test_sdk_pages_through_2500_rows_with_skip_token(
    sim: Simulator, credential: ClientSecretCredential
) -> None:
    client = _client(sim, credential)
    ids: list[str] = []
    token = None
    pages = 0
    while True:
        options = QueryRequestOptions(top=1000, skip_token=token, result_format="objectArray")
        page = client.resources(QueryRequest(subscriptions=SUBS[:2], query=MACHINES, options=options))
        assert page.total_records == RG_ROWS
        assert page.result_truncated == "false"
        data = cast(list[dict[str, Any]], page.data)  # objectArray: a list of row objects
        ids += [row["id"] for row in data]
        pages += 1
        token = page.skip_token
        if not token:
            break
    assert pages == 3
    assert len(ids) == len(set(ids)) == RG_ROWS
    assert sim.requests.count("resource_graph", status=200) == 3


def test_without_id_results_are_truncated_at_1000(
    sim: Simulator, http: requests.Session, bearer: str
) -> None:
    query = "resources | where type =~ 'microsoft.hybridcompute/machines' | project name, subscriptionId"
    body = _post(http, sim, bearer, {"subscriptions": SUBS, "query": query}).json()
    assert body["count"] == 1000
    assert body["resultTruncated"] == "true"
    assert "$skipToken" not in body


def test_scoping_to_subscriptions_and_table_format(
    sim: Simulator, http: requests.Session, bearer: str
) -> None:
    body = _post(
        http,
        sim,
        bearer,
        {"subscriptions": [SUBS[0]], "query": MACHINES, "options": {"$top": 5, "resultFormat": "table"}},
    ).json()
    assert body["totalRecords"] == RG_ROWS // 2
    assert body["count"] == 5
    assert [c["name"] for c in body["data"]["columns"]] == ["id", "name", "subscriptionId", "agentVersion"]
    assert {row[2] for row in body["data"]["rows"]} == {SUBS[0]}
    assert "$skipToken" in body


def test_skip_token_reused_for_another_query_is_rejected(
    sim: Simulator, http: requests.Session, bearer: str
) -> None:
    first = _post(http, sim, bearer, {"subscriptions": SUBS, "query": MACHINES}).json()
    other = _post(
        http,
        sim,
        bearer,
        {"subscriptions": SUBS[:1], "query": MACHINES, "options": {"$skipToken": first["$skipToken"]}},
    )
    assert other.status_code == 400
    assert other.json()["error"]["code"] == "BadRequest"


def test_unknown_query_bad_query_and_api_version(sim: Simulator, http: requests.Session, bearer: str) -> None:
    empty = _post(http, sim, bearer, {"query": "resources | where type == 'nothing/here'"}).json()
    assert (empty["totalRecords"], empty["data"], empty["resultTruncated"]) == (0, [], "false")
    bad = _post(http, sim, bearer, {"query": "resources | let x = 1"})
    assert bad.status_code == 400
    assert bad.json()["error"]["details"][0]["code"] == "InvalidQuery"
    wrong_version = _post(http, sim, bearer, {"query": MACHINES}, api_version="2020-01-01")
    assert wrong_version.status_code == 400
    for version in ("2019-04-01", "2021-03-01", "2021-06-01-preview", "2022-10-01"):
        assert (
            _post(http, sim, bearer, {"query": MACHINES, "options": {"$top": 1}}, version).status_code == 200
        )


def test_registered_provider_supplies_rows(sim: Simulator, http: requests.Session, bearer: str) -> None:
    def rows(state: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"id": f"/subscriptions/{s}/x", "subscriptionId": s, "n": 1} for s in state.subscription_ids]

    register_provider("test_simtest_table", lambda q: "simtesttable" in q, rows)
    body = _post(
        http, sim, bearer, {"subscriptions": SUBS[:3], "query": "SimTestTable\n| project id, n"}
    ).json()
    assert body["count"] == 3


def test_quota_throttles_with_429_and_headers(credential: ClientSecretCredential) -> None:
    with start({"resource_graph": {"quota_per_5s": 3}}) as own, requests.Session() as http:
        http.trust_env = False
        http.verify = str(own.ca_path)
        cred = own.credential()
        bearer = cred.get_token(ARM_SCOPE).token
        answers = [_post(http, own, bearer, {"query": MACHINES}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-ms-user-quota-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[0].headers["x-ms-user-quota-resets-after"] in ("00:00:04", "00:00:05")
    throttled = answers[3]
    assert 1 <= int(throttled.headers["Retry-After"]) <= 5
    assert throttled.json()["error"]["code"] == "RateLimiting"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("resources | project id, name", True),
        ("resources | project name, id = tolower(id)", True),
        ("resources | where x", True),
        ("resources | project name, subscriptionId", False),
        ("resources | project id | project name", False),
        ("resources | project-away id | project vmId = id", False),
        ("resources | summarize count() by subscriptionId", False),
        ("resources | summarize arg_max(t, *) by id", True),
    ],
)
def test_projects_id_heuristic(query: str, expected: bool) -> None:
    assert projects_id(query) is expected
