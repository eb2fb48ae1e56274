"""Metric families of the `subscriptions` source (names documented in docs/metrics.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime

from prometheus_client.metrics_core import Metric

from exporter.core.families import add_state, gauge
from exporter.sources.subscriptions.model import STATES, Snapshot


def translate(snapshot: Snapshot, now: datetime) -> Iterator[Metric]:
    info = gauge(
        "azure_subscription_info",
        "Subscriptions the exporter's identity can see (ARM subscriptions list); always 1.",
        ["subscription_id", "resource_id", "display_name", "tenant_id"],
    )
    state = gauge(
        "azure_subscription_state",
        "State of each visible subscription: 1 for the current state, 0 for the others.",
        ["subscription_id", "state"],
    )
    count = gauge("azure_subscriptions", "Visible subscriptions by state.", ["state"])
    for sub in snapshot.subscriptions:
        info.add_metric([sub.subscription_id, sub.resource_id, sub.display_name, sub.tenant_id], 1.0)
        add_state(state, [sub.subscription_id], sub.state, STATES)
    if snapshot.counts:
        counted = snapshot.counted_states
        by_state = Counter(s.state for s in snapshot.subscriptions) if counted is None else Counter(counted)
        for name in sorted(set(STATES) | set(by_state)):
            count.add_metric([name], float(by_state.get(name, 0)))
    yield from (info, state, count)
