"""The ARM subscriptions list as a Snapshot (pure apart from reporting problems to ``ctx``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from exporter.core.errors import Reason
from exporter.core.identity import resource_identity
from exporter.sources.subscriptions.model import STATES, Snapshot, Subscription

if TYPE_CHECKING:
    from exporter.core.source import FetchContext
    from exporter.sources.subscriptions import Options


def parse(items: Iterable[dict[str, Any]], ctx: FetchContext[Options, Snapshot] | None = None) -> Snapshot:
    found: dict[str, Subscription] = {}
    for item in items:
        sub_id = item.get("subscriptionId")
        if not isinstance(sub_id, str) or not sub_id:
            if ctx:
                ctx.problem(Reason.MISSING_FIELD, "subscription without subscriptionId skipped")
            continue
        state = str(item.get("state") or "Unknown")
        if state not in STATES and ctx:
            ctx.problem(Reason.UNKNOWN_ENUM, "unknown subscription state", key=f"state:{state}", state=state)
        identity = resource_identity(f"/subscriptions/{sub_id}")
        found[identity.subscription_id] = Subscription(
            subscription_id=identity.subscription_id,
            display_name=str(item.get("displayName") or ""),
            state=state,
            tenant_id=str(item.get("tenantId") or "").strip().lower(),
        )
    return Snapshot(tuple(found[k] for k in sorted(found)))
