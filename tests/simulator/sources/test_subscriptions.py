"""ARM subscriptions through azure-mgmt-core's ARMPipelineClient, paging and validation."""

from __future__ import annotations

from typing import Any

import requests
from azure.core.pipeline import policies
from azure.core.rest import HttpRequest
from azure.identity import ClientSecretCredential
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

from exporter.simulator import Simulator

from ..conftest import ARM_SCOPE, SUBS


def _client(sim: Simulator, credential: ClientSecretCredential) -> ARMPipelineClient[HttpRequest, Any]:
    return ARMPipelineClient(
        base_url=sim.base_url,
        policies=[
            policies.HeadersPolicy(),
            policies.RetryPolicy(retry_total=0),
            ARMChallengeAuthenticationPolicy(credential, ARM_SCOPE),
        ],
        connection_verify=str(sim.ca_path),
    )


def test_list_subscriptions_follows_next_links(sim: Simulator, credential: ClientSecretCredential) -> None:
    client = _client(sim, credential)
    url: str | None = f"{sim.base_url}/subscriptions?api-version=2022-12-01"
    seen: list[str] = []
    pages = 0
    while url:
        response = client.send_request(HttpRequest("GET", url))
        assert response.status_code == 200
        assert response.headers["x-ms-request-id"]
        assert int(response.headers["x-ms-ratelimit-remaining-tenant-reads"]) > 0
        body = response.json()
        seen += [s["subscriptionId"] for s in body["value"]]
        url = body.get("nextLink")
        assert url is None or url.startswith(sim.base_url + "/subscriptions?")
        pages += 1
    assert seen == SUBS
    assert pages == 3  # page_size 2 in the test scenario
    first = client.send_request(HttpRequest("GET", f"{sim.base_url}/subscriptions?api-version=2022-12-01"))
    sub = first.json()["value"][0]
    assert sub["id"] == f"/subscriptions/{SUBS[0]}"
    assert sub["tenantId"] == sim.tenant_id
    assert sub["state"] == "Enabled"
    assert sub["authorizationSource"] == "RoleBased"
    assert "quotaId" in sub["subscriptionPolicies"]


def test_get_one_subscription_case_insensitively(sim: Simulator, http: requests.Session, bearer: str) -> None:
    auth = {"Authorization": f"Bearer {bearer}"}
    ok = http.get(
        f"{sim.base_url}/SUBSCRIPTIONS/{SUBS[1].upper()}", params={"API-VERSION": "2020-01-01"}, headers=auth
    )
    assert ok.status_code == 200
    assert ok.json()["subscriptionId"] == SUBS[1]
    assert "x-ms-ratelimit-remaining-subscription-reads" in ok.headers
    missing = http.get(
        f"{sim.base_url}/subscriptions/{'9' * 8}-0000-4000-8000-000000000000",
        params={"api-version": "2020-01-01"},
        headers=auth,
    )
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "SubscriptionNotFound")


def test_api_version_is_required_and_checked(sim: Simulator, http: requests.Session, bearer: str) -> None:
    auth = {"Authorization": f"Bearer {bearer}"}
    url = f"{sim.base_url}/subscriptions"
    missing = http.get(url, headers=auth)
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "MissingApiVersionParameter")
    for bad in ("2015-01-01", "latest"):
        old = http.get(url, params={"api-version": bad}, headers=auth)
        assert (old.status_code, old.json()["error"]["code"]) == (400, "InvalidApiVersionParameter")


def test_unknown_path_and_method(sim: Simulator, http: requests.Session) -> None:
    assert http.get(f"{sim.base_url}/nowhere").status_code == 404
    assert http.delete(f"{sim.base_url}/subscriptions").status_code == 405
    assert sim.requests.count("unknown") == 2


def test_next_link_base_and_omitted_fields_model_hostile_answers(http: requests.Session) -> None:
    from exporter.simulator import start

    scenario = {
        "arm": {"page_size": 1, "next_link_base": "https://elsewhere.example:8443/"},
        "subscriptions": [{"id": SUBS[0], "omit": ["displayName", "tenantId"]}, {"id": SUBS[1]}],
    }
    with start(scenario) as odd:
        http.verify = str(odd.ca_path)
        token = odd.credential().get_token(ARM_SCOPE).token
        page = http.get(
            f"{odd.base_url}/subscriptions",
            params={"api-version": "2022-12-01"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
    assert page["nextLink"].startswith("https://elsewhere.example:8443/subscriptions?")
    assert "displayName" not in page["value"][0]
    assert "tenantId" not in page["value"][0]
    assert page["value"][0]["state"] == "Enabled"
