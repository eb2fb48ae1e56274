"""The Azure calls of one refresh: Resource Graph discovery, then per eligible scale set the OS
upgrade history and ``rollingUpgrades/latest`` (reference §4.1-4.3, §4.5).

Every call (page) is counted per api. Per scale set, a 404 from the history call means the set
was deleted after discovery (``GONE``, and ``rollingUpgrades/latest`` is not asked); a 404 from
``rollingUpgrades/latest`` means no rolling upgrade (None). Any other failure is a `Failure`.
A later history page that fails, or whose nextLink leaves the ARM endpoint (never followed: the
request would carry the bearer token), is a `Partial`: the entries read before it are kept.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from azure.core.exceptions import HttpResponseError

from exporter.azure.arm import get_json, same_origin
from exporter.core.errors import PayloadError, Reason, classify, describe
from exporter.sources.vmss_os_upgrades.model import ScaleSet

if TYPE_CHECKING:
    from azure.core.rest import HttpRequest, HttpResponse

    from exporter.azure.clients import AzureContext
    from exporter.azure.resource_graph import GraphClient

# Resource Graph projection (reference §4.5) plus tags and the rolling upgrade policy object.
QUERY = """resources
| where type =~ 'microsoft.compute/virtualmachinescalesets'
| extend upgradePolicy = properties.upgradePolicy,
         osPolicy = properties.upgradePolicy.automaticOSUpgradePolicy
| project id, name, subscriptionId, resourceGroup, location, tags,
          capacity = toint(sku.capacity),
          orchestrationMode = tostring(properties.orchestrationMode),
          upgradeMode = tostring(upgradePolicy.mode),
          enableAutomaticOSUpgrade = tobool(osPolicy.enableAutomaticOSUpgrade),
          disableAutomaticRollback = tobool(osPolicy.disableAutomaticRollback),
          rollingUpgradePolicy = upgradePolicy.rollingUpgradePolicy
| order by id asc"""

MAX_HISTORY_PAGES = 20  # the history holds at most five entries; this only bounds a broken nextLink
# Raw ARM GETs (no SDK models to build and turn back into the wire dicts parse reads).
COMPUTE_API_VERSION = "2024-07-01"


class Calls:
    """Thread-safe count of Azure calls (pages) one refresh makes, per api."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, api: str, n: int = 1) -> None:
        with self._lock:
            self._counts[api] += n

    def items(self) -> tuple[tuple[str, int], ...]:
        with self._lock:
            return tuple(sorted({"resource_graph": 0, "compute": 0, **self._counts}.items()))


class CountingGraph:
    """A `GraphClient` that counts the pages it sends."""

    def __init__(self, client: GraphClient, calls: Calls) -> None:
        self._client, self._calls = client, calls

    def _send_request(self, request: HttpRequest, *, stream: bool = False, **kwargs: Any) -> HttpResponse:
        self._calls.add("resource_graph")
        return self._client._send_request(request, stream=stream, **kwargs)


@dataclass(frozen=True, slots=True)
class Failure:
    reason: Reason
    message: str


class Gone:
    """The scale set answered 404: deleted after discovery."""


GONE = Gone()


@dataclass(frozen=True, slots=True)
class Partial:
    """History entries read before a later page failed (`failure`)."""

    items: list[dict[str, Any]]
    failure: Failure


@dataclass(frozen=True, slots=True)
class Outcome:
    gone: bool = False
    history: list[dict[str, Any]] | Partial | Failure | None = None
    rolling: dict[str, Any] | Failure | None = None  # None: no rolling upgrade (404)


def _failure(exc: Exception) -> Failure:
    reason = classify(exc)
    shape_errors = TypeError | ValueError | AttributeError | RecursionError
    if reason is Reason.INTERNAL and isinstance(exc, shape_errors):
        reason = Reason.MALFORMED_PAYLOAD  # a body of the wrong shape (or depth)
    return Failure(reason, describe(exc))


def _status(exc: Exception) -> int | None:
    return exc.status_code if isinstance(exc, HttpResponseError) else None


def _path(scale_set: ScaleSet) -> str:
    return (
        f"/subscriptions/{quote(scale_set.subscription_id)}/resourceGroups/{quote(scale_set.resource_group)}"
        f"/providers/Microsoft.Compute/virtualMachineScaleSets/{quote(scale_set.name)}"
    )


def _items(page: dict[str, Any]) -> list[dict[str, Any]]:
    value = page.get("value", [])
    if not isinstance(value, list):
        raise PayloadError("'value' of osUpgradeHistory is not a list")
    return [item for item in value if isinstance(item, dict)]


def history_call(
    client: Any, scale_set: ScaleSet, calls: Calls, issuer: str
) -> list[dict[str, Any]] | Partial | Failure | Gone:
    """The OS upgrade history; `issuer` is the ARM endpoint its nextLinks must stay on."""
    pages, failed = 0, False
    items: list[dict[str, Any]] = []
    try:
        url: str | None = f"{_path(scale_set)}/osUpgradeHistory"
        params: dict[str, str] | None = {"api-version": COMPUTE_API_VERSION}
        while url and pages < MAX_HISTORY_PAGES:
            page = get_json(client, url, params)
            pages += 1
            items.extend(_items(page))
            link = page.get("nextLink") or None
            if link and not same_origin(link, issuer):
                foreign = Failure(
                    Reason.MALFORMED_PAYLOAD, "history nextLink leaves the ARM endpoint; not followed"
                )
                return Partial(items, foreign)
            url, params = (link if isinstance(link, str) else None), None
    except Exception as exc:  # noqa: BLE001 - every failure is classified and counted per scale set
        failed = True
        if pages:
            return Partial(items, _failure(exc))  # a later page: keep what was read
        return GONE if _status(exc) == 404 else _failure(exc)
    finally:
        calls.add("compute", pages + failed)
    return items


def rolling_call(client: Any, scale_set: ScaleSet, calls: Calls) -> dict[str, Any] | Failure | None:
    calls.add("compute")
    try:
        return get_json(
            client, f"{_path(scale_set)}/rollingUpgrades/latest", {"api-version": COMPUTE_API_VERSION}
        )
    except Exception as exc:  # noqa: BLE001 - classified and counted per scale set
        return None if _status(exc) == 404 else _failure(exc)


def fetch_one(azure: AzureContext, scale_set: ScaleSet, calls: Calls, deadline: float) -> Outcome:
    if time.monotonic() > deadline:
        late = Failure(Reason.TIMEOUT, "refresh ran out of time before this scale set")
        return Outcome(history=late, rolling=late)
    try:
        client = azure.arm("compute")
    except Exception as exc:  # noqa: BLE001 - e.g. a credential that cannot be built
        failure = _failure(exc)
        return Outcome(history=failure, rolling=failure)
    history = history_call(client, scale_set, calls, azure.cloud.arm_endpoint)
    if isinstance(history, Gone):
        return Outcome(gone=True)
    return Outcome(history=history, rolling=rolling_call(client, scale_set, calls))
