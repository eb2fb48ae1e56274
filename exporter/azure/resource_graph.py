"""Paged Resource Graph queries (reference §6.1).

Paging follows `$skipToken` until it is absent; `resultTruncated` is never trusted to mean
"no more pages" (peers lost rows that way). Queries must project `id` for paging to work.

Each page is a raw POST through the `ResourceGraphClient`'s own pipeline (auth, retry, request
counting, user agent, cloud endpoint as built in `exporter.azure.clients`), and the rows are the
wire JSON: the SDK's model deserialisation of a response walked every value of every row and
cost seconds of CPU (holding the interpreter lock) per large refresh, to produce the same dicts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ResourceNotModifiedError,
    map_error,
)
from azure.core.rest import HttpRequest, HttpResponse
from azure.mgmt.core.exceptions import ARMErrorFormat

from exporter.core.errors import PayloadError

if TYPE_CHECKING:
    from exporter.azure.clients import Scope

PAGE_SIZE = 1000
SUBSCRIPTIONS_PER_REQUEST = 300  # Learn recommends fewer than 300 per request
MAX_PAGES = 10_000
# The api-version azure-mgmt-resourcegraph 8.0.1 sends (its `build_resources_request` default).
API_VERSION = "2021-03-01"
PATH = "/providers/Microsoft.ResourceGraph/resources"
# The exception types the SDK's `resources` raised, which callers and `classify` rely on.
ERROR_MAP: dict[int, type[HttpResponseError]] = {
    401: ClientAuthenticationError,
    404: ResourceNotFoundError,
    409: ResourceExistsError,
    304: ResourceNotModifiedError,
}

log = logging.getLogger("exporter.azure.resource_graph")


class GraphClient(Protocol):
    """`ResourceGraphClient`, or a wrapper of one that counts or paces its pages.

    `_send_request` is the generated client's way to run a request through its pipeline; it
    joins a relative URL onto the client's endpoint.
    """

    def _send_request(self, request: HttpRequest, *, stream: bool = False, **kwargs: Any) -> HttpResponse: ...


def query(client: GraphClient, kql: str, subscriptions: Sequence[str] = ()) -> list[dict[str, Any]]:
    """All rows of `kql` over `subscriptions` (empty = every subscription the identity can see)."""
    if not subscriptions:
        return _query_scope(client, kql, None)
    rows: list[dict[str, Any]] = []
    for start in range(0, len(subscriptions), SUBSCRIPTIONS_PER_REQUEST):
        rows.extend(_query_scope(client, kql, list(subscriptions[start : start + SUBSCRIPTIONS_PER_REQUEST])))
    return rows


def query_in(client: GraphClient, kql: str, scope: Scope) -> list[dict[str, Any]]:
    """All rows of `kql` over a replica's `AzureContext.scope()`; no request when it owns none."""
    if scope.empty:
        return []
    return query(client, kql, () if scope.everything else scope.subscriptions)


def request_body(kql: str, subscriptions: list[str] | None, skip_token: str | None) -> dict[str, Any]:
    """The body the SDK serialised from `QueryRequest`/`QueryRequestOptions` (None left out)."""
    options: dict[str, Any] = {} if skip_token is None else {"$skipToken": skip_token}
    options.update({"$top": PAGE_SIZE, "resultFormat": "objectArray", "allowPartialScopes": False})
    body: dict[str, Any] = {} if subscriptions is None else {"subscriptions": subscriptions}
    body.update({"query": kql, "options": options})
    return body


def page(client: GraphClient, body: dict[str, Any]) -> dict[str, Any]:
    """One POST of `body`; the response object as sent. Raises what the SDK's `resources` did
    for a status other than 200 (HttpResponseError and its subclasses, ARM error format) and
    PayloadError for a body that is not a JSON object."""
    request = HttpRequest(
        "POST", PATH, params={"api-version": API_VERSION}, json=body, headers={"Accept": "application/json"}
    )
    response = client._send_request(request)
    if response.status_code != 200:
        map_error(status_code=response.status_code, response=response, error_map=ERROR_MAP)
        raise HttpResponseError(response=response, error_format=ARMErrorFormat)
    text = response.text()
    if not text:
        raise PayloadError("Resource Graph returned an empty body")
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError) as exc:  # not JSON, or nested beyond the recursion limit
        raise PayloadError("Resource Graph returned a body that is not JSON") from exc
    if not isinstance(parsed, dict):
        raise PayloadError("Resource Graph returned a body that is not a JSON object")
    return parsed


def _query_scope(client: GraphClient, kql: str, subscriptions: list[str] | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    skip_token: str | None = None
    for _ in range(MAX_PAGES):
        response = page(client, request_body(kql, subscriptions, skip_token))
        data = response.get("data")
        if not isinstance(data, list):
            raise PayloadError("Resource Graph returned data that is not an object array")
        rows.extend(row for row in data if isinstance(row, dict))
        skip_token = response.get("$skipToken")
        if not skip_token:
            if str(response.get("resultTruncated")).lower() == "true":
                log.warning(
                    "resource graph result truncated without a skip token; does the query project id?"
                )
            return rows
        if not isinstance(skip_token, str):
            raise PayloadError("Resource Graph returned a $skipToken that is not a string")
    raise PayloadError(f"Resource Graph query needed more than {MAX_PAGES} pages")
