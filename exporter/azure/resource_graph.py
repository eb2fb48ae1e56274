"""Paged Resource Graph queries (reference §6.1).

Paging follows `$skipToken` until it is absent; `resultTruncated` is never trusted to mean
"no more pages" (peers lost rows that way). Queries must project `id` for paging to work.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from exporter.core.errors import PayloadError

if TYPE_CHECKING:
    from exporter.azure.clients import Scope

PAGE_SIZE = 1000
SUBSCRIPTIONS_PER_REQUEST = 300  # Learn recommends fewer than 300 per request
MAX_PAGES = 10_000

log = logging.getLogger("exporter.azure.resource_graph")


def query(client: Any, kql: str, subscriptions: Sequence[str] = ()) -> list[dict[str, Any]]:
    """All rows of `kql` over `subscriptions` (empty = every subscription the identity can see)."""
    if not subscriptions:
        return _query_scope(client, kql, None)
    rows: list[dict[str, Any]] = []
    for start in range(0, len(subscriptions), SUBSCRIPTIONS_PER_REQUEST):
        rows.extend(_query_scope(client, kql, list(subscriptions[start : start + SUBSCRIPTIONS_PER_REQUEST])))
    return rows


def query_in(client: Any, kql: str, scope: Scope) -> list[dict[str, Any]]:
    """All rows of `kql` over a replica's `AzureContext.scope()`; no request when it owns none."""
    if scope.empty:
        return []
    return query(client, kql, () if scope.everything else scope.subscriptions)


def _query_scope(client: Any, kql: str, subscriptions: list[str] | None) -> list[dict[str, Any]]:
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    rows: list[dict[str, Any]] = []
    skip_token: str | None = None
    for _ in range(MAX_PAGES):
        options = QueryRequestOptions(top=PAGE_SIZE, skip_token=skip_token, result_format="objectArray")
        try:
            response = client.resources(QueryRequest(subscriptions=subscriptions, query=kql, options=options))
        except RecursionError as exc:  # the SDK's json.loads on a body nested beyond the limit
            raise PayloadError("Resource Graph returned JSON nested too deeply") from exc
        if response is None:  # a 200 with an empty body deserialises to None
            raise PayloadError("Resource Graph returned an empty body")
        data = response.data
        if not isinstance(data, list):
            raise PayloadError("Resource Graph returned data that is not an object array")
        rows.extend(row for row in data if isinstance(row, dict))
        skip_token = response.skip_token
        if not skip_token:
            if str(response.result_truncated).lower() == "true":
                log.warning(
                    "resource graph result truncated without a skip token; does the query project id?"
                )
            return rows
    raise PayloadError(f"Resource Graph query needed more than {MAX_PAGES} pages")
