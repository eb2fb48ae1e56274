"""Azure Stack Hub admin update API and Azure Local update resources (reference §1, §2).

*Hub*: every stamp of the ``azure_stack.hub`` scenario section is an admin ARM endpoint rooted
at ``{base_url}/azurestack/{region}`` on the HTTPS listener (a real stamp's root is
``https://adminmanagement.{region}.{fqdn}``): ``/metadata/endpoints`` (no token), the admin
``/subscriptions`` (with the Default Provider Subscription), its resource groups, and
``Microsoft.Update.Admin`` updateLocations, updates and updateRuns. Tokens must carry the
stamp's audience; api-versions outside the stamp's ``api_versions`` get 400
InvalidApiVersionParameter (a legacy stamp only knows 2016-05-01). During an ``outages``
window every route of the stamp answers its status (503 by default).

*Azure Local*: the ``azure_stack.local`` clusters' ``updateSummaries``, ``updates`` and
``updateRuns`` on public ARM, plus Resource Graph rows for ``resources`` (clusters) and
``extensibilityresources`` (update data).

Route names: ``azurestack.metadata``, ``azurestack.subscriptions``,
``azurestack.resource_groups``, ``azurestack.update_locations``, ``azurestack.updates``,
``azurestack.update_runs``, ``arm.azurestackhci.update_summaries``,
``arm.azurestackhci.updates``, ``arm.azurestackhci.update_runs``. Scenario
format: ``scenario``; timelines: ``timeline``; bodies: ``bodies`` (this package).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from exporter.simulator.arm_helpers import SimError, arm_route, paged, require_api_version, require_bearer
from exporter.simulator.errors import arm_error, arm_fault_body, arm_unauthorized
from exporter.simulator.router import Handler, Router, SimRequest, SimResponse
from exporter.simulator.routes import resource_graph
from exporter.simulator.scenario import ScenarioError
from exporter.simulator.sources.azure_stack_updates.bodies import (
    HCI,
    legacy_version,
    location_body,
    now_offset,
    run_body,
    update_body,
)
from exporter.simulator.sources.azure_stack_updates.scenario import load_section
from exporter.simulator.sources.azure_stack_updates.timeline import (
    Section,
    StampSpec,
    UpdateSpec,
    ordered,
    run_at,
)
from exporter.simulator.state import ScenarioState

STORE_KEY = "azure_stack.section"
HUB_ROOT = r"/azurestack/(?P<stamp>[^/]+)"
ADMIN = (
    HUB_ROOT + r"/subscriptions/(?P<sub>[^/]+)/resourcegroups/System\.(?P<region>[^/]+)"
    r"/providers/Microsoft\.Update\.Admin/updateLocations"
)
CLUSTER = (
    r"/subscriptions/(?P<subscription_id>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.AzureStackHCI/clusters/(?P<cluster>[^/]+)"
)
LOCAL_MIN_API_VERSION = "2023-02-01"


def register(router: Router) -> None:
    hub: list[tuple[str, str, Callable[[SimRequest, ScenarioState, StampSpec], SimResponse]]] = [
        (HUB_ROOT + r"/metadata/endpoints/?", "azurestack.metadata", metadata),
        (HUB_ROOT + r"/subscriptions/?", "azurestack.subscriptions", subscriptions),
        (HUB_ROOT + r"/subscriptions/(?P<sub>[^/]+)/resourcegroups/?", "azurestack.resource_groups", groups),
        (ADMIN + r"/?", "azurestack.update_locations", locations),
        (ADMIN + r"/(?P<loc>[^/]+)/?", "azurestack.update_locations", locations),
        (ADMIN + r"/(?P<loc>[^/]+)/updates/?", "azurestack.updates", updates),
        (ADMIN + r"/(?P<loc>[^/]+)/updates/(?P<update>[^/]+)/?", "azurestack.updates", updates),
        (ADMIN + r"/(?P<loc>[^/]+)/updates/(?P<update>[^/]+)/updateRuns/?", "azurestack.update_runs", runs),
        (
            ADMIN + r"/(?P<loc>[^/]+)/updates/(?P<update>[^/]+)/updateRuns/(?P<run>[^/]+)/?",
            "azurestack.update_runs",
            runs,
        ),
        (ADMIN + r"/(?P<loc>[^/]+)/updateRuns/?", "azurestack.update_runs", runs),
    ]
    for path, name, handler in hub:
        router.add("GET", path, name, _hub(handler))
    local: list[tuple[str, str, Callable[[SimRequest, ScenarioState, StampSpec], SimResponse]]] = [
        (CLUSTER + r"/updateSummaries/?", "arm.azurestackhci.update_summaries", summaries),
        (CLUSTER + r"/updateSummaries/default/?", "arm.azurestackhci.update_summaries", summaries),
        (CLUSTER + r"/updates/?", "arm.azurestackhci.updates", updates),
        (CLUSTER + r"/updates/(?P<update>[^/]+)/?", "arm.azurestackhci.updates", updates),
        (CLUSTER + r"/updates/(?P<update>[^/]+)/updateRuns/?", "arm.azurestackhci.update_runs", runs),
        (
            CLUSTER + r"/updates/(?P<update>[^/]+)/updateRuns/(?P<run>[^/]+)/?",
            "arm.azurestackhci.update_runs",
            runs,
        ),
    ]
    for path, name, handler in local:
        wrapped = arm_route(_local(handler), min_api_version=LOCAL_MIN_API_VERSION, provider_type="clusters")
        router.add("GET", path, name, wrapped)
    router.add_fault_body("azurestack.*", arm_fault_body)
    resource_graph.register_provider("azurestackhci_clusters", _is_clusters_query, _cluster_rows)
    for kind in ("updatesummaries", "updates", "updates/updateruns"):
        matches, rows = _extensibility_provider(kind)
        resource_graph.register_provider(f"azurestackhci_{kind.replace('/', '_')}", matches, rows)


def _extensibility_provider(
    kind: str,
) -> tuple[Callable[[str], bool], Callable[[ScenarioState, dict[str, Any]], list[dict[str, Any]]]]:
    def matches(query: str) -> bool:
        return "extensibilityresources" in query and f"{HCI}/{kind}'" in query

    def rows(state: ScenarioState, body: dict[str, Any]) -> list[dict[str, Any]]:
        return _extensibility_rows(state, kind)

    return matches, rows


def section(state: ScenarioState) -> Section:
    """The validated section, parsed once per simulator (defaults when the scenario has none)."""
    with state.lock:
        cached = state.store.get(STORE_KEY)
        if cached is None:
            cached = load_section(state.sections.get("azure_stack"))
            state.store[STORE_KEY] = cached
        return cached


def _section_or_500(state: ScenarioState) -> Section:
    try:
        return section(state)
    except ScenarioError as exc:
        raise SimError(arm_error(500, "InvalidScenario", str(exc))) from None


# --------------------------------------------------------------------------- wrappers


def _hub(handler: Callable[[SimRequest, ScenarioState, StampSpec], SimResponse]) -> Handler:
    def wrapped(req: SimRequest, state: ScenarioState) -> SimResponse:
        stamp = _section_or_500(state).hub_stamp(req.params["stamp"])
        if stamp is None:
            raise SimError(arm_error(404, "NotFound", f"No Azure Stack Hub stamp at {req.path}."))
        _outage(stamp, state)
        if req.route != "azurestack.metadata":
            token = require_bearer(req, state)
            if token.kind != "unknown" and token.audience.rstrip("/").lower() != stamp.audience.lower():
                msg = (
                    "The access token has been obtained for wrong audience or resource "
                    f"'{token.audience}'. It should exactly match with one of the allowed audiences "
                    f"'{stamp.audience}'."
                )
                raise SimError(arm_unauthorized(state, "InvalidAuthenticationTokenAudience", msg))
        if "sub" in req.params and req.params["sub"].lower() != stamp.subscription_id:
            raise SimError(
                arm_error(
                    404, "SubscriptionNotFound", f"The subscription '{req.params['sub']}' could not be found."
                )
            )
        if "region" in req.params:
            if req.params["region"].lower() != stamp.region.lower():
                msg = f"Resource group 'System.{req.params['region']}' could not be found."
                raise SimError(arm_error(404, "ResourceGroupNotFound", msg))
            if "loc" in req.params and req.params["loc"].lower() != stamp.region.lower():
                raise _not_found("update location", req.params["loc"])
            accepted = stamp.api_versions
            if req.route == "azurestack.update_runs" and "update" not in req.params:
                accepted = tuple(v for v in accepted if v != "2016-05-01")  # top-level runs: 2021-07-01 only
            require_api_version(req, accepted=accepted)
        return handler(req, state, stamp)

    return wrapped


def _local(handler: Callable[[SimRequest, ScenarioState, StampSpec], SimResponse]) -> Handler:
    def wrapped(req: SimRequest, state: ScenarioState) -> SimResponse:
        cluster = _section_or_500(state).cluster(
            req.params["subscription_id"], req.params["rg"], req.params["cluster"]
        )
        if cluster is None:
            msg = (
                f"The Resource '{HCI}/{req.params['cluster']}' under resource group '{req.params['rg']}' "
                "was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            )
            raise SimError(arm_error(404, "ResourceNotFound", msg))
        _outage(cluster, state)
        return handler(req, state, cluster)

    return wrapped


def _outage(stamp: StampSpec, state: ScenarioState) -> None:
    outage = stamp.outage_at(now_offset(state))
    if outage is not None:
        body = arm_error(outage.status, "ServiceUnavailable", "The service is currently unavailable.")
        raise SimError(body)


def _not_found(what: str, name: str) -> SimError:
    return SimError(arm_error(404, "ResourceNotFound", f"The {what} '{name}' was not found."))


# --------------------------------------------------------------------------- Hub discovery


def metadata(req: SimRequest, state: ScenarioState, stamp: StampSpec) -> SimResponse:
    root = f"{req.base_url}/azurestack/{stamp.region}"
    return SimResponse(
        200,
        {
            "galleryEndpoint": f"{root}:30015/",
            "graphEndpoint": "https://graph.windows.net/",
            "portalEndpoint": f"{root}/portal/",
            "authentication": {
                "loginEndpoint": stamp.login_endpoint or f"{req.base_url}/",
                "audiences": [stamp.audience],
            },
        },
    )


def subscriptions(req: SimRequest, state: ScenarioState, stamp: StampSpec) -> SimResponse:
    require_api_version(req, minimum="2015-01-01")
    tenant = state.identity["tenant_id"]

    def sub(sub_id: str, name: str) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{sub_id}",
            "subscriptionId": sub_id,
            "displayName": name,
            "state": "Enabled",
            "tenantId": tenant,
        }

    items = [
        sub(stamp.subscription_id, "Default Provider Subscription"),
        sub(f"{stamp.subscription_id[:-12]}00000000beef", "Metering Subscription"),
        sub(f"{stamp.subscription_id[:-12]}00000000c0de", "Consumption Subscription"),
    ]
    return SimResponse(200, paged(items, req, 100))


def groups(req: SimRequest, state: ScenarioState, stamp: StampSpec) -> SimResponse:
    require_api_version(req, minimum="2015-01-01")
    names = [f"system.{stamp.region}", "default-resourcegroup"]
    items = [
        {
            "id": f"/subscriptions/{stamp.subscription_id}/resourceGroups/{n}",
            "name": n,
            "location": stamp.region,
            "properties": {"provisioningState": "Succeeded"},
        }
        for n in names
    ]
    return SimResponse(200, paged(items, req, 100))


# --------------------------------------------------------------------------- handlers


def locations(req: SimRequest, state: ScenarioState, stamp: StampSpec) -> SimResponse:
    body = location_body(state, stamp, legacy_version(req))
    if "loc" not in req.params:
        return SimResponse(200, {"value": [body], "nextLink": None})  # declared not pageable (§1.3)
    if req.params["loc"].lower() != stamp.region.lower():
        raise _not_found("update location", req.params["loc"])
    return SimResponse(200, body)


def summaries(req: SimRequest, state: ScenarioState, stamp: StampSpec) -> SimResponse:
    body = location_body(state, stamp, legacy=False)
    if req.path.rstrip("/").lower().endswith("/default"):
        return SimResponse(200, body)
    return SimResponse(200, {"value": [body]})


def _find_update(stamp: StampSpec, name: str) -> UpdateSpec:
    update = next((u for u in stamp.updates if u.name.lower() == name.lower()), None)
    if update is None:
        raise _not_found("update", name)
    return update


def _page_size(state: ScenarioState) -> int:
    return int(state.section("arm")["page_size"])


def updates(req: SimRequest, state: ScenarioState, stamp: StampSpec) -> SimResponse:
    legacy = legacy_version(req)
    if "update" in req.params:
        return SimResponse(200, update_body(state, stamp, _find_update(stamp, req.params["update"]), legacy))
    items = [update_body(state, stamp, u, legacy) for u in ordered(stamp.updates)]
    body = paged(items, req, _page_size(state))
    if stamp.platform == "hub":
        body.setdefault("nextLink", None)  # the spec examples send it explicitly
    return SimResponse(200, body)


def runs(req: SimRequest, state: ScenarioState, stamp: StampSpec) -> SimResponse:
    t = now_offset(state)
    legacy = legacy_version(req)
    chosen = [_find_update(stamp, req.params["update"])] if "update" in req.params else list(stamp.updates)
    views = [v for u in chosen for v in (run_at(r, u, t) for r in u.runs) if v is not None]
    if "run" in req.params:
        view = next((v for v in views if v.spec.run_id.lower() == req.params["run"].lower()), None)
        if view is None:
            raise _not_found("update run", req.params["run"])
        return SimResponse(200, run_body(state, stamp, view, legacy))
    items = [run_body(state, stamp, v, legacy) for v in sorted(views, key=lambda v: v.spec.start)]
    body = paged(items, req, _page_size(state))
    if stamp.platform == "hub":
        body.setdefault("nextLink", None)
    return SimResponse(200, body)


# --------------------------------------------------------------------------- Resource Graph


def _is_clusters_query(query: str) -> bool:
    return "extensibilityresources" not in query and f"type =~ '{HCI}'" in query


def _cluster_rows(state: ScenarioState, body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.cluster_id,
            "name": c.name,
            "subscriptionId": c.subscription_id,
            "resourceGroup": c.resource_group.lower(),
            "location": c.region,
        }
        for c in section(state).local
    ]


def _extensibility_rows(state: ScenarioState, kind: str) -> list[dict[str, Any]]:
    t = now_offset(state)
    rows: list[dict[str, Any]] = []
    for cluster in section(state).local:
        if kind == "updatesummaries":
            items = [location_body(state, cluster, legacy=False)]
        elif kind == "updates":
            items = [update_body(state, cluster, u, legacy=False) for u in ordered(cluster.updates)]
        else:
            views = [v for u in cluster.updates for v in (run_at(r, u, t) for r in u.runs) if v is not None]
            items = [run_body(state, cluster, v, legacy=False) for v in views]
        rows.extend(
            {
                "id": item["id"],
                "name": item["name"],
                "type": f"{HCI}/{kind}",  # Resource Graph lower-cases types (§2.4)
                "subscriptionId": cluster.subscription_id,
                "resourceGroup": cluster.resource_group.lower(),
                "properties": item["properties"],
            }
            for item in items
        )
    return sorted(rows, key=lambda r: str(r["id"]))
