"""The exporter's own metrics, rendered from source states and request counters at scrape time."""

from __future__ import annotations

import platform
from collections.abc import Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporter import __version__
from exporter.azure.policies import APIS, AzureStats
from exporter.core.errors import Reason
from exporter.core.sharding import Shard
from exporter.core.state import StateView
from exporter.core.subscription_health import SubscriptionScoped, health_families

PREFIX = "azure_update_exporter"


def build_info(revision: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        f"{PREFIX}_build_info",
        "Build information of the running exporter; always 1.",
        labels=["version", "revision", "python_version"],
    )
    family.add_metric([__version__, revision, platform.python_version()], 1.0)
    return family


def shard_info(shard: Shard) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        f"{PREFIX}_shard_info",
        "The shard this replica serves (--shard of --total-shards); always 1. Data series of a "
        "subscription or stamp come from exactly one shard.",
        labels=["shard", "total_shards"],
    )
    family.add_metric([str(shard.index), str(shard.total)], 1.0)
    return family


def source_metrics(views: Sequence[StateView]) -> Iterator[Metric]:
    up = GaugeMetricFamily(
        f"{PREFIX}_source_up", "1 if the last refresh of the source succeeded.", labels=["source"]
    )
    last = GaugeMetricFamily(
        f"{PREFIX}_source_last_success_timestamp_seconds",
        "Unix time of the last successful refresh; data age is time() minus this.",
        labels=["source"],
    )
    interval = GaugeMetricFamily(
        f"{PREFIX}_source_interval_seconds", "Configured refresh interval of the source.", labels=["source"]
    )
    duration = GaugeMetricFamily(
        f"{PREFIX}_source_refresh_duration_seconds",
        "Wall time the last refresh of the source took, successful or not.",
        labels=["source"],
    )
    refreshes = CounterMetricFamily(
        f"{PREFIX}_source_refreshes", "Refresh attempts of the source since start.", labels=["source"]
    )
    errors = CounterMetricFamily(
        f"{PREFIX}_source_errors",
        "Errors while refreshing the source, by reason (a failed refresh, or a partial problem "
        "such as one failing subscription or an unknown enum value).",
        labels=["source", "reason"],
    )
    failures = GaugeMetricFamily(
        f"{PREFIX}_source_consecutive_failures",
        "Refreshes of the source that failed in a row; 0 after a success.",
        labels=["source"],
    )
    encode_failures = CounterMetricFamily(
        f"{PREFIX}_source_encode_failures",
        "Times the source's series could not be encoded and were left out of the exposition "
        "(the other sources were still served); the cause is logged.",
        labels=["source"],
    )
    for view in views:
        encode_failures.add_metric([view.name], float(view.encode_failures))
        up.add_metric([view.name], 1.0 if view.up else 0.0)
        if view.last_success is not None:
            last.add_metric([view.name], view.last_success)
        interval.add_metric([view.name], view.interval)
        if view.last_duration is not None:
            duration.add_metric([view.name], view.last_duration)
        refreshes.add_metric([view.name], float(view.refreshes))
        for reason in Reason:
            errors.add_metric([view.name, reason.value], float(view.errors.get(reason, 0)))
        failures.add_metric([view.name], float(view.consecutive_failures))
    yield from (up, last, interval, duration, refreshes, errors, failures, encode_failures)


def subscription_metrics(views: Sequence[StateView]) -> Iterator[Metric]:
    """Per-subscription freshness of the sources whose snapshots carry it."""
    yield from health_families(
        (view.name, view.up, view.snapshot.subscription_health)
        for view in views
        if isinstance(view.snapshot, SubscriptionScoped)
    )


def azure_metrics(stats: AzureStats) -> Iterator[Metric]:
    requests = CounterMetricFamily(
        f"{PREFIX}_azure_requests",
        "HTTP requests sent to Azure, by API and status code "
        "(each retry counts; code 'error' = no response).",
        labels=["api", "code"],
    )
    for (api, code), count in sorted(stats.requests().items()):
        requests.add_metric([api, code], float(count))
    throttled = CounterMetricFamily(
        f"{PREFIX}_azure_throttled", "Azure responses with status 429 (throttled), by API.", labels=["api"]
    )
    counts = stats.throttled()
    for api in sorted(set(APIS) | set(counts)):
        throttled.add_metric([api], float(counts.get(api, 0)))
    yield requests
    yield throttled
