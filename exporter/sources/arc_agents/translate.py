"""Metric families of the `arc_agents` source (names documented in docs/metrics.md). Pure, and
independent of ``now``: support states are as of the snapshot's evaluation time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporter.core.families import add_state, gauge, timestamp
from exporter.core.gil import PACE_ITEMS, paced
from exporter.sources.arc_agents.model import (
    ATTEMPT_STATUSES,
    STATUSES,
    SUPPORT_STATES,
    UNKNOWN_VERSION,
    Entry,
    Snapshot,
)
from exporter.sources.arc_agents.parse_releases import versions_behind

LABELS = ("subscription_id", "resource_group", "machine")
CACHED = (
    "Refreshed every few minutes in the background; see "
    'azure_update_exporter_source_last_success_timestamp_seconds{source="arc_agents"}.'
)
_PER_MACHINE: list[tuple[str, str, list[str]]] = [
    (
        "azure_arc_machine_info",
        "Every Arc-enabled server (Resource Graph) with its full lowercased resource id and labels that "
        "do not change over its life; always 1.",
        [*LABELS, "resource_id", "kind", "os_type", "os_sku", "location"],
    ),
    (
        "azure_arc_agent_version_info",
        "Installed Connected Machine agent: release (major.minor, 'unknown' if unreadable) and build as "
        "sent; always 1. A new series starts when the agent is upgraded.",
        [*LABELS, "agent_version", "agent_build"],
    ),
    (
        "azure_arc_machine_status",
        "Machine status: 1 for the current one, 0 for the others.",
        [*LABELS, "status"],
    ),
    ("azure_arc_machine_last_status_change_timestamp_seconds", "properties.lastStatusChange.", list(LABELS)),
    (
        "azure_arc_agent_release_timestamp_seconds",
        "First day (UTC) of the release month of the installed agent; absent when the release is unknown "
        "or newer than the release table.",
        list(LABELS),
    ),
    (
        "azure_arc_agent_support_end_timestamp_seconds",
        "End of support of the installed agent: release + 365 days; absent when not known.",
        list(LABELS),
    ),
    (
        "azure_arc_agent_versions_behind",
        "Minor versions between the installed agent and the newest known version.",
        list(LABELS),
    ),
    (
        "azure_arc_agent_supported",
        "1 if the installed agent is within its support year (or newer than the release table) at the "
        "evaluation time, 0 if not; absent when unknown (see azure_arc_agent_support_known).",
        list(LABELS),
    ),
    (
        "azure_arc_agent_support_known",
        "1 if the installed agent's support can be judged, 0 if its version is unreadable or missing "
        "from the release table.",
        list(LABELS),
    ),
    (
        "azure_arc_agent_automatic_upgrade_enabled",
        "1 if agentUpgrade.enableAutomaticUpgrade is true, 0 if false or not set.",
        list(LABELS),
    ),
    (
        "azure_arc_agent_upgrade_last_attempt_timestamp_seconds",
        "agentUpgrade.lastAttemptTimestamp: the last automatic upgrade attempt.",
        list(LABELS),
    ),
    (
        "azure_arc_agent_upgrade_last_attempt_status",
        "agentUpgrade.lastAttemptStatus: 1 for the current one, 0 for the others; absent without attempt.",
        [*LABELS, "status"],
    ),
    (
        "azure_arc_agent_upgrade_info",
        "Automatic upgrade targets: agentUpgrade.desiredVersion and lastAttemptDesiredVersion ('' if "
        "unset); always 1.",
        [*LABELS, "desired_version", "last_attempt_desired_version"],
    ),
    (
        "azure_arc_agent_downgrade_timestamp_seconds",
        "Evaluation time of the last refresh that saw this machine's agent version go down (since the "
        "exporter started).",
        list(LABELS),
    ),
]


def _set(family: GaugeMetricFamily, labels: list[str], value: float | None) -> None:
    if value is not None:
        family.add_metric(labels, value)


def _per_machine(f: dict[str, GaugeMetricFamily], entry: Entry) -> None:
    m, a = entry.machine, entry.assessment
    ids = [m.subscription_id, m.resource_group, m.name]
    version = str(m.version) if m.version is not None else UNKNOWN_VERSION
    f["azure_arc_machine_info"].add_metric(
        [*ids, m.resource_id, m.kind, m.os_type, m.os_sku, m.location], 1.0
    )
    f["azure_arc_agent_version_info"].add_metric([*ids, version, m.agent_build], 1.0)
    add_state(f["azure_arc_machine_status"], ids, m.status, STATUSES)
    _set(f["azure_arc_machine_last_status_change_timestamp_seconds"], ids, timestamp(m.last_status_change))
    _set(f["azure_arc_agent_release_timestamp_seconds"], ids, timestamp(a.released))
    _set(f["azure_arc_agent_support_end_timestamp_seconds"], ids, timestamp(a.support_end))
    _set(f["azure_arc_agent_versions_behind"], ids, None if a.behind is None else float(a.behind))
    if a.known:
        f["azure_arc_agent_supported"].add_metric(ids, float(a.supported))
    f["azure_arc_agent_support_known"].add_metric(ids, float(a.known))
    if m.automatic_upgrade is not None:
        f["azure_arc_agent_automatic_upgrade_enabled"].add_metric(ids, float(m.automatic_upgrade))
    _set(f["azure_arc_agent_upgrade_last_attempt_timestamp_seconds"], ids, timestamp(m.last_attempt_at))
    if m.last_attempt_status:
        add_state(
            f["azure_arc_agent_upgrade_last_attempt_status"], ids, m.last_attempt_status, ATTEMPT_STATUSES
        )
    if m.desired_version or m.last_attempt_desired_version:
        f["azure_arc_agent_upgrade_info"].add_metric(
            [*ids, m.desired_version, m.last_attempt_desired_version], 1.0
        )
    _set(f["azure_arc_agent_downgrade_timestamp_seconds"], ids, timestamp(entry.downgraded_at))


def _fleet(snapshot: Snapshot) -> Iterator[Metric]:
    agents = gauge(
        "azure_arc_agents",
        f"Arc-enabled servers by subscription, agent release (major.minor) and status. {CACHED}",
        ["subscription_id", "agent_version", "status"],
    )
    support = gauge(
        "azure_arc_agent_support_machines",
        "Arc-enabled servers by the support state of their agent at the evaluation time: supported, "
        "expiring (support ends within sources.arc_agents.expiring_within), unsupported, unknown. "
        f"{CACHED}",
        ["subscription_id", "state"],
    )
    auto = gauge(
        "azure_arc_agent_automatic_upgrade_enabled_machines",
        f"Arc-enabled servers with automatic agent upgrade enabled. {CACHED}",
        ["subscription_id"],
    )
    failed = gauge(
        "azure_arc_agent_upgrade_failed_machines",
        f"Arc-enabled servers whose last automatic agent upgrade attempt Failed. {CACHED}",
        ["subscription_id"],
    )
    by_version: Counter[tuple[str, str, str]] = Counter()
    by_support: Counter[tuple[str, str]] = Counter()
    enabled: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    subscriptions: set[str] = set()
    for entry in paced(snapshot.machines, PACE_ITEMS):
        m = entry.machine
        sub = m.subscription_id
        subscriptions.add(sub)
        by_version[(sub, str(m.version) if m.version is not None else UNKNOWN_VERSION, m.status)] += 1
        by_support[(sub, entry.assessment.state)] += 1
        enabled[sub] += bool(m.automatic_upgrade)
        failures[sub] += m.last_attempt_status == "Failed"
    pairs = sorted({(sub, version) for sub, version, _ in by_version})
    statuses = [*STATUSES, *sorted({s for _, _, s in by_version} - set(STATUSES))]
    for sub, version in pairs:
        for status in statuses:
            agents.add_metric([sub, version, status], float(by_version[(sub, version, status)]))
    downgrades = CounterMetricFamily(
        "azure_arc_agent_downgrades",
        f"Machines whose agent version went down between two refreshes, since the exporter started. {CACHED}",
        labels=["subscription_id"],
    )
    counted = dict(snapshot.downgrades)
    for sub in sorted(subscriptions | set(counted)):
        for state in SUPPORT_STATES:
            support.add_metric([sub, state], float(by_support[(sub, state)]))
        auto.add_metric([sub], float(enabled[sub]))
        failed.add_metric([sub], float(failures[sub]))
        downgrades.add_metric([sub], float(counted.get(sub, 0)))
    yield from (agents, support, auto, failed, downgrades)


def _catalog(snapshot: Snapshot) -> Iterator[Metric]:
    newest = gauge(
        "azure_arc_agent_newest_version_info",
        "Newest known agent release and where it was seen (table, agent_versions_api, advisor, estate), "
        f"with the release table's newest; always 1. {CACHED}",
        ["agent_version", "source", "table_version"],
    )
    behind = gauge(
        "azure_arc_agent_release_table_versions_behind",
        "Minor versions the release table's newest entry is behind the newest known version: above 0, "
        f"add the new release to sources.arc_agents.release_table_file. {CACHED}",
        [],
    )
    table = str(snapshot.table_newest) if snapshot.table_newest is not None else ""
    if snapshot.newest is not None:
        newest.add_metric([str(snapshot.newest.version), snapshot.newest.source, table], 1.0)
        lag = 0
        if snapshot.table_newest is not None:
            lag = versions_behind(snapshot.table_newest, snapshot.newest.version, ())
        behind.add_metric([], float(lag))
    evaluated = gauge(
        "azure_arc_agents_evaluated_timestamp_seconds",
        "Time the support states were judged at: Resource Graph's now() for the machines query (the "
        f"exporter's clock if absent). {CACHED}",
        [],
    )
    evaluated.add_metric([], snapshot.evaluated_at.timestamp())
    requests = gauge(
        "azure_update_exporter_arc_requests_last_refresh",
        "Azure calls (pages; SDK retries not counted) the last successful arc_agents refresh made, by "
        "API: Resource Graph pages, plus 2 ARM calls when agent_versions_api is on.",
        ["api"],
    )
    for api, count in snapshot.requests:
        requests.add_metric([api], float(count))
    if snapshot.states_catalog:
        yield from (newest, behind, evaluated)
    yield requests


def translate(snapshot: Snapshot, now: datetime) -> Iterator[Metric]:
    if snapshot.per_machine:
        f = {name: gauge(name, f"{text} {CACHED}", labels) for name, text, labels in _PER_MACHINE}
        for entry in paced(snapshot.machines, PACE_ITEMS):
            _per_machine(f, entry)
        yield from f.values()
    yield from _fleet(snapshot)
    yield from _catalog(snapshot)
