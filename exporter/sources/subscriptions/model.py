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

    @property
    def resource_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}"


@dataclass(frozen=True, slots=True)
class Snapshot:
    subscriptions: tuple[Subscription, ...]
