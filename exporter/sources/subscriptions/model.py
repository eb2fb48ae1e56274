"""Snapshot types and enum values of the `subscriptions` source."""

from __future__ import annotations

from dataclasses import dataclass

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
