"""Metric families of the `update_manager` source (names documented in docs/metrics.md).

Pure and independent of the scrape time: everything relative to "now" (next window, freshness)
was computed at fetch time, so the exposition is encoded once per refresh (`uses_now=False`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporter.core.families import add_state, gauge, timestamp
from exporter.core.gil import PACE_ITEMS, paced
from exporter.sources.update_manager.model import (
    ASSESSMENT_STATES,
    INSTALLATION_STATES,
    LINUX_CLASSIFICATIONS,
    NO_RECENT_ASSESSMENT,
    ORCHESTRATION_MODES,
    RUN_STATES,
    USABLE_ASSESSMENT,
    ConfigurationState,
    MachineState,
    Snapshot,
    SubscriptionTotals,
)

MACHINE = ("subscription_id", "resource_group", "machine", "machine_type")
CONFIG = ("subscription_id", "resource_group", "maintenance_configuration")
SUB = ("subscription_id",)
CACHED = (
    "Resource Graph, refreshed in the background; see "
    'azure_update_exporter_source_last_success_timestamp_seconds{source="update_manager"}.'
)
_ASSESSMENT_STATES = (*ASSESSMENT_STATES, NO_RECENT_ASSESSMENT)
_OPEN_INSTALLATION = ("InProgress", "NotStarted")

_MACHINE_FAMILIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "machine_info",
        "Every Azure VM and Arc machine with its full lowercased resource id, OS type and location; "
        "always 1.",
        ("resource_id", "os_type", "location"),
    ),
    (
        "machine_orchestration_mode",
        "Update Manager patch orchestration option from the machine's patch settings: 1 for the current "
        "one (customer_managed_schedules, azure_managed_safe_deployment, automatic_by_os, manual; an "
        "unknown patchMode passes through).",
        ("mode",),
    ),
    (
        "machine_hotpatching_enabled",
        "1 if hotpatching is enabled in the machine's patch settings; absent when it does not say.",
        (),
    ),
    (
        "machine_assessment_status",
        "Status of the latest patch assessment; NoRecentAssessment when Resource Graph holds none "
        "(it keeps 7 days), which is not the same as no missing patches.",
        ("status",),
    ),
    ("machine_assessment_timestamp_seconds", "lastModifiedDateTime of the latest patch assessment.", ()),
    ("machine_reboot_pending", "1 if the latest patch assessment reports a pending reboot.", ()),
    (
        "machine_pending_patches",
        "Patches available by classification in the latest assessment; only when it Succeeded or "
        "CompletedWithWarnings (a failed assessment's zeros are not 'fully patched'). Linux machines "
        "report critical, security and other.",
        ("classification",),
    ),
    ("machine_installation_status", "Status of the latest patch installation (last 30 days).", ("status",)),
    ("machine_installation_start_timestamp_seconds", "startDateTime of the latest patch installation.", ()),
    (
        "machine_installation_end_timestamp_seconds",
        "lastModifiedDateTime of the latest patch installation once it is no longer running.",
        (),
    ),
    ("machine_installation_patches", "Patches of the latest installation by result.", ("result",)),
    (
        "machine_installation_maintenance_window_exceeded",
        "1 if the latest installation ran out of its maintenance window.",
        (),
    ),
    (
        "machine_maintenance_configuration",
        "The machine is covered by this maintenance configuration (static or dynamic scope); always 1.",
        ("configuration_subscription_id", "configuration_resource_group", "maintenance_configuration"),
    ),
    (
        "machine_misconfiguration",
        "A patch orchestration problem of the machine (no_schedule_attached, "
        "schedule_prerequisites_not_met, assessment_not_periodic); present only while it holds, always 1.",
        ("problem",),
    ),
)

_CONFIG_FAMILIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "maintenance_configuration_info",
        "Every InGuestPatch maintenance configuration (Update Manager schedule) with its window "
        "definition as Azure has it; always 1.",
        ("resource_id", "location", "time_zone", "recur_every", "duration", "reboot_setting"),
    ),
    (
        "maintenance_window_next_start_timestamp_seconds",
        "Start of the maintenance window that is open now or opens next (computed at refresh time); "
        "absent once the schedule expired or when its window cannot be understood.",
        (),
    ),
    ("maintenance_window_next_end_timestamp_seconds", "End of that maintenance window.", ()),
    ("maintenance_window_duration_seconds", "Length of each maintenance window.", ()),
    ("maintenance_configuration_expired", "1 if no window opens before expirationDateTime any more.", ()),
    ("maintenance_configuration_machines", "Known machines the configuration's assignments cover.", ()),
    (
        "maintenance_run_status",
        "Status of the latest maintenance run (its machines' worst): 1 for the current one.",
        ("status",),
    ),
    ("maintenance_run_machines", "Machines of the latest maintenance run by status.", ("status",)),
    ("maintenance_run_start_timestamp_seconds", "Start of the latest maintenance run.", ()),
    ("maintenance_run_end_timestamp_seconds", "End of the latest maintenance run.", ()),
)

_SUB_FAMILIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("machines", "Machines by type and patch orchestration option.", ("machine_type", "mode")),
    (
        "machines_by_assessment_freshness",
        "Machines by latest assessment: recent, stale (older than the source's assessment_stale_after), "
        "failed, none (no assessment in 7 days).",
        ("freshness",),
    ),
    (
        "machines_by_installation_status",
        "Machines by status of their latest installation; None: no installation in 30 days.",
        ("status",),
    ),
    (
        "pending_patches",
        "Patches pending by classification, summed over machines whose latest assessment can be believed.",
        ("classification",),
    ),
    (
        "machines_with_pending_patches",
        "Machines with at least one pending patch of the classification.",
        ("classification",),
    ),
    ("misconfigured_machines", "Machines with the patch orchestration problem.", ("problem",)),
    ("machines_reboot_pending", "Machines whose latest assessment reports a pending reboot.", ()),
)


def _build(
    prefix: str, specs: tuple[tuple[str, str, tuple[str, ...]], ...], ids: tuple[str, ...]
) -> dict[str, GaugeMetricFamily]:
    return {
        name: gauge(f"{prefix}{name}", f"{help_text} {CACHED}", [*ids, *labels])
        for name, help_text, labels in specs
    }


def translate(snapshot: Snapshot, now: datetime) -> Iterator[Metric]:
    if snapshot.per_machine:
        machines = _build("azure_update_manager_", _MACHINE_FAMILIES, MACHINE)
        for state in paced(snapshot.machines, PACE_ITEMS):
            _machine(machines, state)
        yield from machines.values()
    configs = _build("azure_update_manager_", _CONFIG_FAMILIES, CONFIG)
    for config in snapshot.configurations:
        _configuration(configs, config)
    yield from configs.values()
    subs = _build("azure_update_manager_", _SUB_FAMILIES, SUB)
    for totals in snapshot.subscriptions:
        _subscription(subs, totals)
    yield from subs.values()
    pages = gauge(
        "azure_update_exporter_update_manager_requests_last_refresh",
        "Resource Graph pages (requests; SDK retries not counted) the last successful update_manager "
        "refresh made, by query: ceil(rows / 1000) each, nothing per machine.",
        ["query"],
    )
    for query, count in snapshot.pages:
        pages.add_metric([query], float(count))
    yield pages


def _machine(f: dict[str, GaugeMetricFamily], state: MachineState) -> None:
    m = state.machine
    ids = [m.subscription_id, m.resource_group, m.name, m.machine_type]
    f["machine_info"].add_metric([*ids, m.id, m.os_type, m.location], 1.0)
    add_state(f["machine_orchestration_mode"], ids, state.orchestration_mode, ORCHESTRATION_MODES)
    if m.hotpatching is not None:
        f["machine_hotpatching_enabled"].add_metric(ids, float(m.hotpatching))
    add_state(f["machine_assessment_status"], ids, state.assessment_status, _ASSESSMENT_STATES)
    a = state.assessment
    if a is not None:
        if a.last_modified is not None:
            f["machine_assessment_timestamp_seconds"].add_metric(ids, a.last_modified.timestamp())
        if a.reboot_pending is not None:
            f["machine_reboot_pending"].add_metric(ids, float(a.reboot_pending))
        if a.status in USABLE_ASSESSMENT:
            linux = (a.os_type or m.os_type) == "Linux"
            for classification, count in a.counts:
                if not linux or classification in LINUX_CLASSIFICATIONS:
                    f["machine_pending_patches"].add_metric([*ids, classification], float(count))
    i = state.installation
    if i is not None:
        add_state(f["machine_installation_status"], ids, i.status, INSTALLATION_STATES)
        _set(f["machine_installation_start_timestamp_seconds"], ids, timestamp(i.started_at))
        if i.status not in _OPEN_INSTALLATION:
            _set(f["machine_installation_end_timestamp_seconds"], ids, timestamp(i.last_modified))
        for result, count in i.counts:
            f["machine_installation_patches"].add_metric([*ids, result], float(count))
        if i.window_exceeded is not None:
            f["machine_installation_maintenance_window_exceeded"].add_metric(ids, float(i.window_exceeded))
    for config_id in state.schedules:
        parts = config_id.split("/")  # /subscriptions/<s>/resourcegroups/<rg>/providers/…/<name>
        f["machine_maintenance_configuration"].add_metric([*ids, parts[2], parts[4], parts[-1]], 1.0)
    for problem in state.problems:
        f["machine_misconfiguration"].add_metric([*ids, problem], 1.0)


def _configuration(f: dict[str, GaugeMetricFamily], state: ConfigurationState) -> None:
    c = state.configuration
    ids = [c.subscription_id, c.resource_group, c.name]
    f["maintenance_configuration_info"].add_metric(
        [*ids, c.id, c.location, c.time_zone, c.recur_every, c.duration, c.reboot_setting], 1.0
    )
    f["maintenance_configuration_machines"].add_metric(ids, float(state.machines))
    if c.window is not None:
        f["maintenance_window_duration_seconds"].add_metric(ids, c.window.duration.total_seconds())
        f["maintenance_configuration_expired"].add_metric(ids, float(state.expired))
    if state.next_window is not None:
        f["maintenance_window_next_start_timestamp_seconds"].add_metric(
            ids, state.next_window.start.timestamp()
        )
        f["maintenance_window_next_end_timestamp_seconds"].add_metric(ids, state.next_window.end.timestamp())
    run = state.last_run
    if run is not None:
        add_state(f["maintenance_run_status"], ids, run.status, RUN_STATES)
        counts = dict(run.machines)
        for status in [*RUN_STATES, *sorted(set(counts) - set(RUN_STATES))]:
            f["maintenance_run_machines"].add_metric([*ids, status], float(counts.get(status, 0)))
        _set(f["maintenance_run_start_timestamp_seconds"], ids, timestamp(run.started_at))
        _set(f["maintenance_run_end_timestamp_seconds"], ids, timestamp(run.ended_at))


def _subscription(f: dict[str, GaugeMetricFamily], t: SubscriptionTotals) -> None:
    ids = [t.subscription_id]
    for machine_type, mode, count in t.machines_by_mode:
        f["machines"].add_metric([*ids, machine_type, mode], float(count))
    for name, pairs in (
        ("machines_by_assessment_freshness", t.machines_by_freshness),
        ("machines_by_installation_status", t.machines_by_installation),
        ("pending_patches", t.pending_patches),
        ("machines_with_pending_patches", t.machines_with_pending),
        ("misconfigured_machines", t.problems),
    ):
        for label, count in pairs:
            f[name].add_metric([*ids, label], float(count))
    f["machines_reboot_pending"].add_metric(ids, float(t.reboot_pending))


def _set(family: GaugeMetricFamily, labels: list[str], value: float | None) -> None:
    if value is not None:
        family.add_metric(labels, value)
