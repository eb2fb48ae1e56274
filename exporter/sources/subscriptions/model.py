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

    @property
    def resource_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}"


@dataclass(frozen=True, slots=True)
class Snapshot:
    subscriptions: tuple[Subscription, ...]
    # States of every visible subscription, counted in `azure_subscriptions`; None: those of
    # `subscriptions`. Sharded, a replica lists only its own subscriptions but the counts are of
    # all, stated by one replica (`counts` False on the others) so that no series is duplicated.
    counted_states: tuple[str, ...] | None = None
    counts: bool = True
    # The configured subscriptions (azure.subscriptions), up while visible (self-metrics read this).
    subscription_health: tuple[SubscriptionHealth, ...] = ()
