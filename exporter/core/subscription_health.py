"""Per-subscription freshness of the ARM sources: which subscriptions' data is current.

A source that reads many subscriptions keeps a subscription's previous data when its calls fail
(one failing subscription never blanks another), so ``source_up`` alone cannot show partial
staleness. Such a source's snapshot carries ``subscription_health`` (`SubscriptionScoped`); the
self-metrics turn it into

    azure_update_exporter_subscription_up{source,subscription_id}
    azure_update_exporter_subscription_last_success_timestamp_seconds{source,subscription_id}

for every source at once (one family each, however many sources report).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from prometheus_client.core import GaugeMetricFamily

PREFIX = "azure_update_exporter"


@dataclass(frozen=True, slots=True)
class SubscriptionHealth:
    subscription_id: str
    up: bool  # every call of the last refresh for this subscription succeeded
    last_success: datetime | None  # end of the last refresh in which it was up


@runtime_checkable
class SubscriptionScoped(Protocol):
    @property
    def subscription_health(self) -> tuple[SubscriptionHealth, ...]: ...


def merge_health(
    subscriptions: Iterable[str],
    failed: Collection[str],
    previous: Iterable[SubscriptionHealth],
    now: datetime,
) -> tuple[SubscriptionHealth, ...]:
    """This refresh's health: up unless in `failed`; a failed one keeps its last success."""
    before = {h.subscription_id: h for h in previous}
    out = []
    for sub in sorted(set(subscriptions)):
        if sub in failed:
            old = before.get(sub)
            out.append(SubscriptionHealth(sub, False, old.last_success if old else None))
        else:
            out.append(SubscriptionHealth(sub, True, now))
    return tuple(out)


def health_families(
    by_source: Iterable[tuple[str, bool, Iterable[SubscriptionHealth]]],
) -> Iterator[GaugeMetricFamily]:
    """The two families from (source, source_up, health) triples.

    A subscription is up only while its source is up too: a whole failed refresh makes every
    subscription's data as stale as the source's.
    """
    up = GaugeMetricFamily(
        f"{PREFIX}_subscription_up",
        "1 if the source's last refresh read this subscription completely (and the source is up); "
        "0 while its previous data is served.",
        labels=["source", "subscription_id"],
    )
    last = GaugeMetricFamily(
        f"{PREFIX}_subscription_last_success_timestamp_seconds",
        "Unix time of the last refresh that read this subscription completely; its data age is "
        "time() minus this.",
        labels=["source", "subscription_id"],
    )
    for source, source_up, health in by_source:
        for h in health:
            up.add_metric([source, h.subscription_id], 1.0 if (h.up and source_up) else 0.0)
            if h.last_success is not None:
                last.add_metric([source, h.subscription_id], h.last_success.timestamp())
    yield up
    yield last
