"""Raw ARM GETs with the ARM error envelope and `nextLink` paging (reference §7.1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from azure.core.exceptions import HttpResponseError, map_error
from azure.core.rest import HttpRequest
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.exceptions import ARMErrorFormat

from exporter.core.errors import PayloadError

MAX_PAGES = 10_000  # a server that keeps sending nextLink must not keep us busy forever


def get_json(
    client: ARMPipelineClient[Any, Any], url: str, params: dict[str, str] | None = None
) -> dict[str, Any]:
    # send_request does not join relative paths onto the client's base URL; nextLinks are absolute.
    absolute = url if url.startswith("https://") or url.startswith("http://") else client.format_url(url)
    request = HttpRequest("GET", absolute, params=params or {}, headers={"Accept": "application/json"})
    response = client.send_request(request)
    if response.status_code >= 400:
        map_error(status_code=response.status_code, response=response, error_map={})
        raise HttpResponseError(response=response, error_format=ARMErrorFormat)
    try:
        body = json.loads(response.text())
    except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, nested beyond recursion
        raise PayloadError(f"response of {request.url.split('?')[0]} is not JSON") from exc
    if not isinstance(body, dict):
        raise PayloadError(f"response of {request.url.split('?')[0]} is not a JSON object")
    return body


def list_paged(client: ARMPipelineClient[Any, Any], path: str, api_version: str) -> Iterator[dict[str, Any]]:
    """Every item of an ARM list, following `nextLink` verbatim until absent/null/empty."""
    url: str | None = path
    params: dict[str, str] | None = {"api-version": api_version}
    for _ in range(MAX_PAGES):
        if not url:
            return
        page = get_json(client, url, params)
        value = page.get("value", [])
        if not isinstance(value, list):
            raise PayloadError(f"'value' of {path} is not a list")
        yield from (item for item in value if isinstance(item, dict))
        # nextLink already carries api-version and $skiptoken.
        url, params = page.get("nextLink") or None, None
    raise PayloadError(f"{path}: more than {MAX_PAGES} pages")
