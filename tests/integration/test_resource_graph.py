"""`exporter.azure.resource_graph` through the exporter's own ResourceGraphClient pipeline against
the HTTPS simulator: raw POSTs whose rows are the wire JSON, `$skipToken` paging, SDK error types."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest, HttpResponse
from azure.mgmt.resourcegraph import models
from azure.mgmt.resourcegraph._utils.serialization import Deserializer, Serializer
from azure.mgmt.resourcegraph.operations._resource_graph_client_operations import build_resources_request

from exporter.azure import resource_graph
from exporter.azure.clients import USER_AGENT
from exporter.azure.resource_graph import GraphClient
from exporter.core.errors import PayloadError, Reason, classify
from exporter.simulator import FaultRule, Simulator

TABLE = "rgwiretesttable"
QUERY = "RgWireTestTable\n| project id, subscriptionId, properties, tags\n| order by id asc"


class Recording:
    """A GraphClient (as the sources' counting wrappers are) that keeps every request and reply."""

    def __init__(self, client: GraphClient) -> None:
        self._client = client
        self.sent: list[tuple[HttpRequest, dict[str, Any]]] = []
        self.replies: list[dict[str, Any]] = []

    def _send_request(self, request: HttpRequest, *, stream: bool = False, **kwargs: Any) -> HttpResponse:
        self.sent.append((request, json.loads(request.content)))
        response = self._client._send_request(request, stream=stream, **kwargs)
        if response.status_code == 200 and response.text():
            self.replies.append(json.loads(response.text()))
        return response


def _rows(sim: Simulator, n: int) -> list[dict[str, Any]]:
    subs = sim.state.subscription_ids
    rows = []
    for i in range(n):
        sub = subs[i % 2]
        rows.append(
            {
                "id": f"/subscriptions/{sub}/resourceGroups/rg-wire/providers/Contoso.Test/things/t{i:05d}",
                "subscriptionId": sub,
                # Names and shapes no SDK model knows: they reach the caller exactly as sent.
                "properties": {"$odd.key": [1, 2.5, None, {"nested@odata.type": "#x"}], "flag": True},
                "tags": {"owner team": "sre"},
            }
        )
    return rows


@pytest.fixture
def graph(sim: Simulator, make_exporter: Callable[..., Any]) -> Callable[[int], Recording]:
    sim.state.section("resource_graph")["quota_per_5s"] = 0

    def with_rows(n: int) -> Recording:
        sim.state.section("resource_graph")["datasets"].insert(0, {"match": TABLE, "rows": _rows(sim, n)})
        return Recording(make_exporter().azure().resource_graph())

    return with_rows


@pytest.fixture
def deserialised(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every use of the SDK's model deserialiser (the ResourceGraphClient's `_deserialize`)."""
    calls: list[str] = []
    for name in ("__call__", "_deserialize", "failsafe_deserialize", "deserialize_data"):
        original = getattr(Deserializer, name)

        def spy(self: Any, *args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Deserializer, name, spy)
    return calls


def test_rows_are_the_wire_json_without_sdk_deserialisation(
    sim: Simulator, graph: Callable[[int], Recording], deserialised: list[str]
) -> None:
    client = graph(3)
    subs = sim.state.subscription_ids[:2]
    rows = resource_graph.query(client, QUERY, subs)
    assert rows == _rows(sim, 3)
    assert all(type(row) is dict for row in rows)
    assert deserialised == []
    ((request, body),) = client.sent
    assert request.method == "POST"
    assert request.url == "/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01"
    assert body == {
        "subscriptions": subs,
        "query": QUERY,
        "options": {"$top": 1000, "resultFormat": "objectArray", "allowPartialScopes": False},
    }
    # Through the exporter's pipeline: its user agent, counted as a resource_graph request.
    [entry] = [e for e in sim.requests.entries if e.route == "resource_graph"]
    assert (entry.method, entry.path) == ("POST", "/providers/Microsoft.ResourceGraph/resources")
    assert entry.user_agent.startswith(USER_AGENT)


def test_the_spy_sees_the_sdk_path(
    sim: Simulator, make_exporter: Callable[..., Any], deserialised: list[str]
) -> None:
    """The deserialiser spy is not blind: the SDK's own `resources` call goes through it."""
    sdk = make_exporter().azure().resource_graph()
    sdk.resources(models.QueryRequest(query=QUERY, subscriptions=sim.state.subscription_ids[:2]))
    assert deserialised


def test_paging_follows_every_skip_token(sim: Simulator, graph: Callable[[int], Recording]) -> None:
    client = graph(2500)
    subs = sim.state.subscription_ids[:2]
    rows = resource_graph.query(client, QUERY, subs)
    assert [row["id"] for row in rows] == [row["id"] for row in _rows(sim, 2500)]
    assert len(client.sent) == 3 == sim.requests.count("resource_graph", status=200)
    tokens = [body["options"].get("$skipToken") for _, body in client.sent]
    assert tokens[0] is None
    # Each request carries the token of the page before it, though that page said "not truncated".
    assert tokens[1:] == [reply["$skipToken"] for reply in client.replies[:2]]
    assert all(reply["resultTruncated"] == "false" for reply in client.replies)
    assert "$skipToken" not in client.replies[2]
    assert all(body["subscriptions"] == subs and body["query"] == QUERY for _, body in client.sent)


def test_the_request_is_what_the_sdk_sent() -> None:
    """Same api-version and body as `ResourceGraphClient.resources` (an SDK upgrade that moves
    its default api-version fails here: check the response shape before following it)."""
    assert build_resources_request().url == f"{resource_graph.PATH}?api-version={resource_graph.API_VERSION}"
    serializer = Serializer({k: v for k, v in models.__dict__.items() if isinstance(v, type)})
    serializer.client_side_validation = False
    for subs, token in ((None, None), (["s1", "s2"], None), (["s1"], "tok"), (None, "tok")):
        options = models.QueryRequestOptions(top=1000, skip_token=token, result_format="objectArray")
        sdk = serializer.body(
            models.QueryRequest(subscriptions=subs, query="q", options=options), "QueryRequest"
        )
        assert resource_graph.request_body("q", subs, token) == sdk


@pytest.mark.parametrize(
    ("fault", "error", "reason"),
    [
        (FaultRule("resource_graph", "status", status=401), ClientAuthenticationError, Reason.UNAUTHORIZED),
        (FaultRule("resource_graph", "status", status=404), ResourceNotFoundError, Reason.NOT_FOUND),
        (FaultRule("resource_graph", "status", status=403), HttpResponseError, Reason.FORBIDDEN),
        (FaultRule("resource_graph", "empty"), PayloadError, Reason.MALFORMED_PAYLOAD),
    ],
    ids=["401", "404", "403", "empty"],
)
def test_errors_keep_the_sdk_types(
    sim: Simulator,
    graph: Callable[[int], Recording],
    deserialised: list[str],
    fault: FaultRule,
    error: type[Exception],
    reason: Reason,
) -> None:
    client = graph(1)
    sim.faults.add(fault)
    with pytest.raises(error) as raised:
        resource_graph.query(client, QUERY, sim.state.subscription_ids[:1])
    assert classify(raised.value) is reason
    if isinstance(raised.value, HttpResponseError):
        assert raised.value.error is not None
        assert raised.value.error.code  # the ARM error envelope
    assert deserialised == []


def test_a_bad_query_is_an_arm_error_with_details(sim: Simulator, graph: Callable[[int], Recording]) -> None:
    client = graph(1)
    sim.state.section("resource_graph")["datasets"].insert(0, {"match": "| let ", "error": "InvalidQuery"})
    with pytest.raises(HttpResponseError) as raised:
        resource_graph.query(client, "resources | let x = 1", sim.state.subscription_ids[:1])
    assert raised.value.status_code == 400
    assert raised.value.error is not None
    assert raised.value.error.code == "BadRequest"
    assert raised.value.error.details[0].code == "InvalidQuery"
    assert classify(raised.value) is Reason.BAD_REQUEST
