"""Raw ARM GETs with the ARM error envelope and `nextLink` paging (reference §7.1).

Paging links are a trust boundary: the request carries a bearer token, so a ``nextLink`` is only
followed on the scheme, host and port of the endpoint that issued it (`same_origin`). Anything
else is a ``malformed_payload`` and never a request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from azure.core.exceptions import HttpResponseError, map_error
from azure.core.rest import HttpRequest
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.exceptions import ARMErrorFormat

from exporter.core.errors import PayloadError
from exporter.core.gil import GATE

MAX_PAGES = 10_000  # a server that keeps sending nextLink must not keep us busy forever


def get_json(
    client: ARMPipelineClient[Any, Any], url: str, params: dict[str, str] | None = None
) -> dict[str, Any]:
    # Before building the request and after parsing its reply: where a refresh steps aside for a
    # scrape (exporter.core.gil; the session checks around the HTTP exchange itself).
    GATE.checkpoint()
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
    GATE.checkpoint()
    return body


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number
        return (scheme, "\0invalid", None)
    return (scheme, (parts.hostname or "").lower(), port)


_DEFAULT_PORTS = {"https": 443, "http": 80}


def same_origin(link: object, issuer: str) -> bool:
    """True if paging `link` (absolute, or relative to `issuer`) stays on `issuer`'s scheme, host
    and port: the only links a bearer token may follow."""
    if not isinstance(link, str) or not link:
        return False
    return _origin(urljoin(issuer, link)) == _origin(issuer)


def list_paged(client: ARMPipelineClient[Any, Any], path: str, api_version: str) -> Iterator[dict[str, Any]]:
    """Every item of an ARM list, following `nextLink` verbatim until absent/null/empty.

    A nextLink to another host (or not a string) raises PayloadError before any request is sent.
    """
    url: str | None = path
    params: dict[str, str] | None = {"api-version": api_version}
    issuer = client.format_url(path)
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
        if url and not same_origin(url, issuer):
            raise PayloadError(f"nextLink of {path} leaves {urlsplit(issuer).netloc}; not followed")
    raise PayloadError(f"{path}: more than {MAX_PAGES} pages")
