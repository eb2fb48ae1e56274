"""Subscriptions the exporter's identity can see: the scope every other ARM source covers.

A subscription that disappears from this list (access removed, subscription disabled) is the
first explanation for data that silently stops; hence a source of its own.

    azure_subscription_info{subscription_id="6f1c…",display_name="prod",tenant_id="72f9…"} 1
    azure_subscription_state{subscription_id="6f1c…",state="Enabled"} 1
    azure_subscription_state{subscription_id="6f1c…",state="Disabled"} 0
    azure_subscriptions{state="Enabled"} 2
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client.metrics_core import Metric

from exporter.azure.arm import list_paged
from exporter.core.errors import PayloadError, Reason
from exporter.core.families import add_state, gauge
from exporter.core.registry import register
from exporter.core.source import FetchContext, SourceSpec

API_VERSION = "2022-12-01"
# SubscriptionState in the ARM resources spec.
STATES = ("Enabled", "Warned", "PastDue", "Disabled", "Deleted")


@dataclass(frozen=True, slots=True)
class Options:
    pass


@dataclass(frozen=True, slots=True)
class Subscription:
    subscription_id: str
    display_name: str
    state: str
    tenant_id: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    subscriptions: tuple[Subscription, ...]


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
        found[sub_id.lower()] = Subscription(
            subscription_id=sub_id.lower(),
            display_name=str(item.get("displayName") or ""),
            state=state,
            tenant_id=str(item.get("tenantId") or "").lower(),
        )
    return Snapshot(tuple(found[k] for k in sorted(found)))


def fetch(ctx: FetchContext[Options, Snapshot]) -> Snapshot:
    client = ctx.azure.arm("arm")
    items = list(list_paged(client, "/subscriptions", API_VERSION))
    snapshot = parse(items, ctx)
    explicit = {s.lower() for s in ctx.azure.cfg.subscriptions}
    if explicit:
        visible = {s.subscription_id for s in snapshot.subscriptions}
        for missing in sorted(explicit - visible):
            ctx.problem(
                Reason.FORBIDDEN, "configured subscription not visible to the identity", subscription=missing
            )
        snapshot = Snapshot(tuple(s for s in snapshot.subscriptions if s.subscription_id in explicit))
    if not items and not explicit:
        raise PayloadError("the identity sees no subscription", Reason.FORBIDDEN)
    return snapshot


def translate(snapshot: Snapshot, now: datetime) -> Iterator[Metric]:
    info = gauge(
        "azure_subscription_info",
        "Subscriptions the exporter's identity can see (ARM subscriptions list); always 1.",
        ["subscription_id", "display_name", "tenant_id"],
    )
    state = gauge(
        "azure_subscription_state",
        "State of each visible subscription: 1 for the current state, 0 for the others.",
        ["subscription_id", "state"],
    )
    count = gauge("azure_subscriptions", "Visible subscriptions by state.", ["state"])
    by_state: Counter[str] = Counter()
    for sub in snapshot.subscriptions:
        info.add_metric([sub.subscription_id, sub.display_name, sub.tenant_id], 1.0)
        add_state(state, [sub.subscription_id], sub.state, STATES)
        by_state[sub.state] += 1
    for name in sorted(set(STATES) | set(by_state)):
        count.add_metric([name], float(by_state.get(name, 0)))
    yield from (info, state, count)


SPEC = register(
    SourceSpec(
        name="subscriptions",
        summary="Subscriptions visible to the identity (ARM)",
        fetch=fetch,
        translate=translate,
        options_type=Options,
        default_enabled=True,
        default_interval=900.0,
        default_timeout=60.0,
        uses_now=False,
        demo_config=lambda info: {"interval": "30s", "timeout": "20s"},
    )
)
