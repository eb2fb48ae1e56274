"""Snapshot types and enum values of the `subscriptions` source."""

from __future__ import annotations

from dataclasses import dataclass

from exporter.core.subscription_health import SubscriptionHealth

# SubscriptionState in the ARM resources spec.
STATES = ("Enabled", "Warned", "PastDue", "Disabled", "Deleted")


@dataclass(frozen=True, slots=True)
class Subscription:
    subscription_id: str
    display_name: str
    state: str
    tenant_id: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    subscriptions: tuple[Subscription, ...]
    # The configured subscriptions (azure.subscriptions), up while visible (self-metrics read this).
    subscription_health: tuple[SubscriptionHealth, ...] = ()
