"""Reading one Azure Stack Hub stamp through its admin ARM endpoint (reference §1).

Per stamp, once: ``/metadata/endpoints`` (unauthenticated) for the token audience, the admin
``/subscriptions`` for the Default Provider Subscription and the resource groups for
``System.{region}``; any of them can be configured instead. Then every refresh:
``updateLocations``, ``updates`` and the ``updateRuns`` of the updates that may have run.
The api-version starts at 2021-07-01 and falls back to 2016-05-01 when the stamp rejects it;
the choice is remembered for the stamp (for the life of the process).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import requests
from azure.core.exceptions import HttpResponseError

from exporter.azure.arm import get_json, list_paged
from exporter.azure.clients import USER_AGENT
from exporter.core import deadline
from exporter.core.errors import PayloadError, Reason, SourceError, reason_for_status
from exporter.core.identity import normalise_resource_id
from exporter.core.values import identifier
from exporter.sources.azure_stack_updates.fetch_read import read_updates_and_runs
from exporter.sources.azure_stack_updates.model import (
    HubDiscovery,
    Stamp,
    build_data,
)
from exporter.sources.azure_stack_updates.model_states import HUB
from exporter.sources.azure_stack_updates.parse import (
    id_segment,
    parse_location,
    parse_metadata,
    value_list,
)

if TYPE_CHECKING:
    from exporter.core.source import FetchContext, Issue

MIN_SECONDS = 0.05  # a socket timeout of 0 would mean "non-blocking"
API = "azurestack"  # the `api` label of azure_update_exporter_azure_requests_total
CURRENT_API_VERSION = "2021-07-01"
LEGACY_API_VERSION = "2016-05-01"
METADATA_API_VERSION = "2015-01-01"
SUBSCRIPTIONS_API_VERSION = "2016-06-01"
RESOURCE_GROUPS_API_VERSION = "2016-02-01"  # the oldest Resources version: every Hub build has it
DEFAULT_PROVIDER_SUBSCRIPTION = "default provider subscription"
# Codes a stamp answers (400) for an api-version it does not know (§1.2, §7.1).
API_VERSION_ERRORS = frozenset(
    {"invalidapiversionparameter", "noregisteredproviderfound", "invalidresourcetype"}
)


@dataclass(frozen=True, slots=True)
class HubTarget:
    endpoint: str  # admin ARM base URL without trailing slash
    label: str | None  # explicit `stamp` label (`name=https://…`), else the region


@dataclass(frozen=True, slots=True)
class HubSettings:
    audience: str | None
    subscription_id: str | None
    region: str | None
    api_version: str
    max_updates: int
    max_runs: int


def parse_targets(values: Sequence[str]) -> list[HubTarget]:
    """``https://adminmanagement.{region}.{fqdn}`` or ``name=https://…`` entries."""
    targets: list[HubTarget] = []
    for raw in values:
        label, sep, url = raw.partition("=") if "=" in raw.split("://", 1)[0] else ("", "", raw)
        url = url.strip().rstrip("/")
        if not url.startswith("https://"):
            raise SourceError(
                Reason.CONFIG,
                f"hub_admin_endpoints entry {raw!r} is not an https:// URL (bearer tokens need TLS)",
            )
        targets.append(HubTarget(url, (label.strip().lower() or None) if sep else None))
    return targets


def fallback_name(target: HubTarget, settings: HubSettings) -> str:
    """The `stamp` label before the region is known: configured, or the endpoint's host."""
    return target.label or (settings.region or "").lower() or (urlsplit(target.endpoint).hostname or "")


def read_stamp(
    ctx: FetchContext[Any, Any], target: HubTarget, previous: Stamp | None, settings: HubSettings
) -> tuple[Stamp, list[Issue]]:
    """One successful read of the stamp; raises on any failure (the caller keeps the old data)."""
    issues: list[Issue] = []
    discovery = previous.discovery if previous is not None and previous.discovery is not None else None
    if discovery is None:
        discovery = discover(ctx, target, settings)
        if discovery.login_endpoint and not _same_authority(discovery.login_endpoint, ctx):
            ctx.logger.warning(
                "stamp authority differs from azure.authority_host; tokens come from the configured "
                "authority (AD FS stamps need their own exporter config) endpoint=%s login_endpoint=%s",
                target.endpoint,
                discovery.login_endpoint,
            )
    client = ctx.azure.arm(API, base_url=target.endpoint, scope=f"{discovery.audience}/.default")
    api_version = (
        previous.api_version if previous is not None and previous.api_version else settings.api_version
    )
    base = (
        f"/subscriptions/{discovery.subscription_id}/resourceGroups/System.{discovery.region}"
        "/providers/Microsoft.Update.Admin/updateLocations"
    )
    try:
        body = get_json(client, base, {"api-version": api_version})
    except HttpResponseError as exc:
        if api_version == LEGACY_API_VERSION or not _is_api_version_error(exc):
            raise
        ctx.logger.info(
            "stamp rejects api-version; falling back endpoint=%s rejected=%s fallback=%s",
            target.endpoint,
            api_version,
            LEGACY_API_VERSION,
        )
        api_version = LEGACY_API_VERSION
        body = get_json(client, base, {"api-version": api_version})
    locations = value_list(body, "updateLocations")
    item = next(
        (
            i
            for i in locations
            if (id_segment(i.get("id"), "updateLocations") or "").lower() == discovery.region.lower()
        ),
        locations[0] if locations else None,
    )
    if item is None:
        raise PayloadError(f"no update location under System.{discovery.region}", Reason.NOT_FOUND)
    location = parse_location(item, HUB, issues)
    loc_path = f"{base}/{quote(id_segment(item.get('id'), 'updateLocations') or discovery.region, safe='')}"
    previous_runs = previous.data.all_runs if previous is not None and previous.data is not None else ()
    updates, runs = read_updates_and_runs(
        client, loc_path, api_version, HUB, previous_runs, settings.max_runs, issues
    )
    data = build_data(location, updates, runs, settings.max_updates)
    stamp = Stamp(
        platform=HUB,
        name=target.label or identifier(discovery.region),
        key=target.endpoint.lower(),
        endpoint=target.endpoint,
        api_version=api_version,
        data=data,
        api_up=True,
        api_consecutive_failures=0,
        discovery=discovery,
        resource_id=normalise_resource_id(str(item.get("id") or "")),
        api_last_success=ctx.now(),
    )
    return stamp, issues


def discover(ctx: FetchContext[Any, Any], target: HubTarget, settings: HubSettings) -> HubDiscovery:
    audience, login = settings.audience, ""
    if not audience:
        audience, login = fetch_metadata(ctx, target.endpoint)
    audience = audience.rstrip("/")
    client = ctx.azure.arm(API, base_url=target.endpoint, scope=f"{audience}/.default")
    subscription = settings.subscription_id or _default_provider_subscription(client)
    region = settings.region or _region(client, subscription, target.endpoint)
    return HubDiscovery(audience, login, subscription.lower(), region)


def fetch_metadata(ctx: FetchContext[Any, Any], endpoint: str) -> tuple[str, str]:
    """``GET {admin}/metadata/endpoints`` (no token): (audience, login endpoint)."""
    cfg = ctx.azure.cfg
    verify: bool | str = cfg.ca_bundle or True
    try:
        response = requests.get(
            f"{endpoint}/metadata/endpoints",
            params={"api-version": METADATA_API_VERSION},
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            timeout=(
                deadline.bounded(min(cfg.request_timeout, 10.0)) or MIN_SECONDS,
                deadline.bounded(cfg.request_timeout) or MIN_SECONDS,
            ),
            verify=verify,
            allow_redirects=False,
        )
    except requests.RequestException:
        ctx.stats.record(API, "error")
        raise
    ctx.stats.record(API, response.status_code)
    if response.status_code != 200:
        raise SourceError(
            reason_for_status(response.status_code),
            f"{endpoint}/metadata/endpoints answered HTTP {response.status_code}",
        )
    try:
        body = response.json()
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"{endpoint}/metadata/endpoints is not JSON") from exc
    return parse_metadata(body)


def _default_provider_subscription(client: Any) -> str:
    subs = [
        s for s in list_paged(client, "/subscriptions", SUBSCRIPTIONS_API_VERSION) if s.get("subscriptionId")
    ]
    named = [
        s for s in subs if str(s.get("displayName", "")).strip().lower() == DEFAULT_PROVIDER_SUBSCRIPTION
    ]
    # The display name is not confirmed stable across releases (§1.1): one subscription is enough.
    chosen = named or (subs if len(subs) == 1 else [])
    if not chosen:
        raise SourceError(
            Reason.NOT_FOUND,
            "no 'Default Provider Subscription' among the admin subscriptions; set hub_subscription_id",
        )
    return str(chosen[0]["subscriptionId"])


def _region(client: Any, subscription: str, endpoint: str) -> str:
    groups = list_paged(client, f"/subscriptions/{subscription}/resourcegroups", RESOURCE_GROUPS_API_VERSION)
    names = [str(g.get("name", "")) for g in groups]
    regions = sorted({n[7:] for n in names if n.lower().startswith("system.") and "." not in n[7:] and n[7:]})
    host = (urlsplit(endpoint).hostname or "").split(".")
    from_host = host[1] if len(host) > 2 and host[0] == "adminmanagement" else None  # §1.1 host form
    if len(regions) == 1:
        return regions[0]
    matching = [r for r in regions if from_host and r.lower() == from_host.lower()]
    if matching or (from_host and not regions):
        return matching[0] if matching else str(from_host)
    raise SourceError(Reason.NOT_FOUND, f"cannot tell the region of {endpoint}: set hub_region")


def _is_api_version_error(exc: HttpResponseError) -> bool:
    code = getattr(getattr(exc, "error", None), "code", None) or ""
    return exc.status_code == 400 and str(code).lower() in API_VERSION_ERRORS


def _same_authority(login_endpoint: str, ctx: FetchContext[Any, Any]) -> bool:
    configured = urlsplit(ctx.azure.cloud.authority_host).hostname or ""
    return (urlsplit(login_endpoint).hostname or "").lower() == configured.lower()
