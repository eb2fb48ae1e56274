"""Metric families of the `scheduled_events` source (names documented in docs/metrics.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporter.core.families import add_state, gauge
from exporter.sources.scheduled_events.model import EVENT_STATUSES, EVENT_TYPES, Snapshot


def translate(snapshot: Snapshot, now: datetime) -> Iterator[Metric]:
    yield from translate_static(snapshot)
    yield from translate_live(snapshot, now)


def translate_live(snapshot: Snapshot, now: datetime) -> Iterator[Metric]:
    """The one family relative to the scrape's "now", encoded at every scrape."""
    extra = [] if snapshot.node is None else ["node"]
    node = [] if snapshot.node is None else [snapshot.node]
    until = gauge(
        "azure_scheduled_event_seconds_until_not_before",
        "Seconds from the scrape until NotBefore (negative once passed), computed at scrape time; "
        "absent once Started.",
        ["event_id", "event_type", "resource", *extra],
    )
    for ev in snapshot.events:
        if ev.not_before is None:
            continue
        for resource in ev.resources:
            until.add_metric(
                [ev.event_id, ev.event_type, resource, *node], (ev.not_before - now).total_seconds()
            )
    yield until


def translate_static(snapshot: Snapshot) -> Iterator[Metric]:
    """Everything but the time-relative family: encoded once per snapshot."""
    extra = [] if snapshot.node is None else ["node"]
    node = [] if snapshot.node is None else [snapshot.node]
    cached = (
        "IMDS Scheduled Events, polled in the background (every second by default); see "
        'azure_update_exporter_source_last_success_timestamp_seconds{source="scheduled_events"}.'
    )
    info = gauge(
        "azure_scheduled_event_info",
        f"A pending or started scheduled event per affected resource, with the labels fixed for the "
        f"event's life; always 1. {cached}",
        ["event_id", "event_type", "event_source", "resource_type", "resource", *extra],
    )
    status = gauge(
        "azure_scheduled_event_status",
        f"Status of each scheduled event: 1 for the current status, 0 for the others. {cached}",
        ["event_id", "event_type", *extra, "event_status"],
    )
    description = gauge(
        "azure_scheduled_event_description_info",
        f"Description of each scheduled event (whitespace collapsed, at most 128 characters); always 1; "
        f"absent when Azure sends none. {cached}",
        ["event_id", "event_type", "description", *extra],
    )
    not_before = gauge(
        "azure_scheduled_event_not_before_timestamp_seconds",
        f"Earliest start (NotBefore) of a scheduled event; absent once Started. {cached}",
        ["event_id", "event_type", "resource", *extra],
    )
    duration = gauge(
        "azure_scheduled_event_duration_seconds",
        f"Expected impact of a scheduled event (DurationInSeconds); absent when unknown (-1). {cached}",
        ["event_id", "event_type", *extra],
    )
    counts = gauge(
        "azure_scheduled_events",
        f"Scheduled events by type and status, 0 for every documented type and status. {cached}",
        ["event_type", "event_status", *extra],
    )
    incarnation = gauge(
        "azure_scheduled_events_document_incarnation",
        f"DocumentIncarnation of the Scheduled Events document; increases when the events change. {cached}",
        extra,
    )
    tally: Counter[tuple[str, str]] = Counter()
    for ev in snapshot.events:
        tally[(ev.event_type, ev.event_status)] += 1
        add_state(status, [ev.event_id, ev.event_type, *node], ev.event_status, EVENT_STATUSES)
        if ev.description:
            description.add_metric([ev.event_id, ev.event_type, ev.description, *node], 1.0)
        if ev.duration_seconds is not None:
            duration.add_metric([ev.event_id, ev.event_type, *node], float(ev.duration_seconds))
        for resource in ev.resources:
            info.add_metric(
                [ev.event_id, ev.event_type, ev.event_source, ev.resource_type, resource, *node], 1.0
            )
            if ev.not_before is not None:
                labels = [ev.event_id, ev.event_type, resource, *node]
                not_before.add_metric(labels, ev.not_before.timestamp())
    _add_counts(counts, tally, node)
    if snapshot.incarnation is not None:
        incarnation.add_metric(node, float(snapshot.incarnation))
    yield from (info, status, description, not_before, duration, counts, incarnation)


def _add_counts(family: GaugeMetricFamily, tally: Counter[tuple[str, str]], node: list[str]) -> None:
    types = list(EVENT_TYPES) + sorted({t for t, _ in tally} - set(EVENT_TYPES))
    statuses = list(EVENT_STATUSES) + sorted({s for _, s in tally} - set(EVENT_STATUSES))
    for event_type in types:
        for status in statuses:
            family.add_metric([event_type, status, *node], float(tally.get((event_type, status), 0)))
