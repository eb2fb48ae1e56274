"""ARM tenant-level routes: subscriptions. Route name ``arm.subscriptions``."""

from __future__ import annotations

from typing import Any

from exporter.simulator.arm_helpers import arm_paged, arm_route, require_subscription
from exporter.simulator.router import Router, SimRequest, SimResponse
from exporter.simulator.scenario import SubscriptionSpec
from exporter.simulator.state import ScenarioState

# Microsoft.Resources subscriptions accept any version from this one on.
MIN_SUBSCRIPTIONS_API = "2016-06-01"


def register(router: Router) -> None:
    router.add(
        "GET",
        r"/subscriptions/?",
        "arm.subscriptions",
        arm_route(list_subscriptions, min_api_version=MIN_SUBSCRIPTIONS_API, scope="tenant"),
    )
    router.add(
        "GET",
        r"/subscriptions/(?P<subscription_id>[^/]+)/?",
        "arm.subscriptions",
        arm_route(get_subscription, min_api_version=MIN_SUBSCRIPTIONS_API, scope="subscription"),
    )


def subscription_body(sub: SubscriptionSpec) -> dict[str, Any]:
    body = {
        "id": f"/subscriptions/{sub.id}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub.id,
        "tenantId": sub.tenant_id,
        "displayName": sub.display_name,
        "state": sub.state,
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": sub.quota_id,
            "spendingLimit": sub.spending_limit,
        },
    }
    return {k: v for k, v in body.items() if k not in sub.omit}


def list_subscriptions(req: SimRequest, state: ScenarioState) -> SimResponse:
    items = [subscription_body(s) for s in state.subscriptions]
    return SimResponse(200, arm_paged(items, req, state))


def get_subscription(req: SimRequest, state: ScenarioState) -> SimResponse:
    sub_id = require_subscription(req, state)
    sub = next(s for s in state.subscriptions if s.id == sub_id)
    return SimResponse(200, subscription_body(sub))
