"""Metric families of the `vmss_os_upgrades` source (names documented in docs/metrics.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporter.core.families import add_state, gauge, timestamp
from exporter.core.gil import PACE_ITEMS, paced
from exporter.sources.vmss_os_upgrades.model import CODES, MODES, History, RollingUpgrade, Snapshot, Upgrade

LABELS = ("subscription_id", "resource_group", "vmss")
CACHED = (
    "Refreshed every few minutes in the background; see "
    'azure_update_exporter_source_last_success_timestamp_seconds{source="vmss_os_upgrades"}.'
)


def _families() -> dict[str, GaugeMetricFamily]:
    ids = list(LABELS)
    specs: list[tuple[str, str, list[str]]] = [
        (
            "azure_vmss_info",
            "Every scale set (Resource Graph) with its lowercased resource id, location and "
            "orchestration mode (fixed at creation); always 1.",
            [*ids, "resource_id", "location", "orchestration_mode"],
        ),
        (
            "azure_vmss_upgrade_policy_mode",
            "upgradePolicy.mode of every scale set: 1 for the current mode, 0 for the others.",
            [*ids, "mode"],
        ),
        (
            "azure_vmss_automatic_os_upgrade_enabled",
            "1 if automaticOSUpgradePolicy.enableAutomaticOSUpgrade is true, else 0.",
            ids,
        ),
        (
            "azure_vmss_automatic_rollback_disabled",
            "1 if automaticOSUpgradePolicy.disableAutomaticRollback is true, else 0.",
            ids,
        ),
        ("azure_vmss_capacity", "Instances the scale set is sized to (sku.capacity).", ids),
        (
            "azure_vmss_rolling_upgrade_policy_max_batch_instance_ratio",
            "rollingUpgradePolicy.maxBatchInstancePercent as a ratio: the largest batch upgraded at once.",
            ids,
        ),
        (
            "azure_vmss_rolling_upgrade_policy_max_unhealthy_upgraded_instance_ratio",
            "rollingUpgradePolicy.maxUnhealthyUpgradedInstancePercent as a ratio: upgraded instances "
            "allowed to be unhealthy before the upgrade stops.",
            ids,
        ),
        (
            "azure_vmss_automatic_os_upgrade_expected",
            "1 if the scale set's expectation tag (sources.vmss_os_upgrades.expect_automatic_os_upgrade_tag) "
            "asks for automatic OS image upgrade, else 0; absent unless configured.",
            ids,
        ),
        (
            "azure_vmss_os_upgrade_instances",
            "Instances of the latest OS image upgrade (osUpgradeHistory) by state.",
            [*ids, "state"],
        ),
        (
            "azure_vmss_os_upgrade_status",
            "Code of the latest OS image upgrade: 1 for the current code, 0 for the others.",
            [*ids, "code"],
        ),
        ("azure_vmss_os_upgrade_start_timestamp_seconds", "Start of the latest OS image upgrade.", ids),
        (
            "azure_vmss_os_upgrade_end_timestamp_seconds",
            "End of the latest OS image upgrade; absent while it runs.",
            ids,
        ),
        (
            "azure_vmss_os_upgrade_info",
            "Latest OS image upgrade: who started it and the target image (fixed for the upgrade's life); "
            "always 1.",
            [*ids, "started_by", "target_image"],
        ),
        (
            "azure_vmss_os_upgrade_error",
            "1 with the error code (error.code) of the latest OS image upgrade; absent while it has none.",
            [*ids, "error_code"],
        ),
        (
            "azure_vmss_os_upgrade_rollback_instances",
            "Instances rolled back by the latest OS image upgrade, by result.",
            [*ids, "result"],
        ),
        (
            "azure_vmss_os_upgrades",
            "OS image upgrades in the history window the API returns (at most five, two months) by code.",
            [*ids, "code"],
        ),
        (
            "azure_vmss_rolling_upgrade_instances",
            "Instances of the latest rolling upgrade (rollingUpgrades/latest) by state.",
            [*ids, "state"],
        ),
        (
            "azure_vmss_rolling_upgrade_status",
            "Code of the latest rolling upgrade: 1 for the current code, 0 for the others.",
            [*ids, "code"],
        ),
        ("azure_vmss_rolling_upgrade_start_timestamp_seconds", "Start of the latest rolling upgrade.", ids),
    ]
    return {name: gauge(name, f"{help_text} {CACHED}", labels) for name, help_text, labels in specs}


def _set(family: GaugeMetricFamily, labels: list[str], value: float | None) -> None:
    if value is not None:
        family.add_metric(labels, value)


def translate(snapshot: Snapshot, now: datetime) -> Iterator[Metric]:
    f = _families()
    for entry in paced(snapshot.scale_sets, PACE_ITEMS):
        s = entry.scale_set
        ids = [s.subscription_id, s.resource_group, s.name]
        f["azure_vmss_info"].add_metric([*ids, s.resource_id, s.location, s.orchestration_mode], 1.0)
        add_state(f["azure_vmss_upgrade_policy_mode"], ids, s.mode, MODES)
        f["azure_vmss_automatic_os_upgrade_enabled"].add_metric(ids, float(s.automatic_os_upgrade))
        f["azure_vmss_automatic_rollback_disabled"].add_metric(ids, float(s.disable_automatic_rollback))
        _set(f["azure_vmss_capacity"], ids, None if s.capacity is None else float(s.capacity))
        for name, percent in (
            ("azure_vmss_rolling_upgrade_policy_max_batch_instance_ratio", s.max_batch_instance_percent),
            (
                "azure_vmss_rolling_upgrade_policy_max_unhealthy_upgraded_instance_ratio",
                s.max_unhealthy_upgraded_instance_percent,
            ),
        ):
            _set(f[name], ids, None if percent is None else percent / 100)
        if snapshot.expectation:
            f["azure_vmss_automatic_os_upgrade_expected"].add_metric(
                ids, float(bool(s.automatic_os_upgrade_expected))
            )
        if entry.history is not None:
            _add_history(f, ids, entry.history)
        if entry.rolling is not None:
            _add_run(f, "rolling_upgrade", ids, entry.rolling)
    yield from f.values()
    requests = gauge(
        "azure_update_exporter_vmss_requests_last_refresh",
        "Azure calls (pages; SDK retries not counted) the last successful vmss_os_upgrades refresh made, "
        "by API: Resource Graph pages + 2 per eligible scale set.",
        ["api"],
    )
    for api, count in snapshot.requests:
        requests.add_metric([api], float(count))
    yield requests


def _add_history(f: dict[str, GaugeMetricFamily], ids: list[str], history: History) -> None:
    counts = dict(history.codes)
    for code in [*CODES, *sorted(set(counts) - set(CODES))]:
        f["azure_vmss_os_upgrades"].add_metric([*ids, code], float(counts.get(code, 0)))
    u = history.latest
    if u is None:
        return
    _add_run(f, "os_upgrade", ids, u)
    _set(f["azure_vmss_os_upgrade_end_timestamp_seconds"], ids, timestamp(u.ended_at))
    f["azure_vmss_os_upgrade_info"].add_metric([*ids, u.started_by, u.target_image], 1.0)
    if u.error_code:
        f["azure_vmss_os_upgrade_error"].add_metric([*ids, u.error_code], 1.0)
    f["azure_vmss_os_upgrade_rollback_instances"].add_metric([*ids, "succeeded"], float(u.rolled_back))
    f["azure_vmss_os_upgrade_rollback_instances"].add_metric([*ids, "failed"], float(u.rollback_failed))


def _add_run(
    f: dict[str, GaugeMetricFamily], kind: str, ids: list[str], run: Upgrade | RollingUpgrade
) -> None:
    """`azure_vmss_{kind}_instances`, `…_status` and `…_start_timestamp_seconds` of one upgrade."""
    for state, count in run.progress.by_state():
        f[f"azure_vmss_{kind}_instances"].add_metric([*ids, state], float(count))
    add_state(f[f"azure_vmss_{kind}_status"], ids, run.code, CODES)
    _set(f[f"azure_vmss_{kind}_start_timestamp_seconds"], ids, timestamp(run.started_at))
