"""Azure Update / VMSS OS Upgrades: automatic OS image and rolling upgrades of scale sets."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common, table
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from exporter_dashboards.common import (
    BAD,
    BUSY,
    DATASOURCE,
    JOB,
    NEUTRAL,
    OK,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    WARN,
    Column,
    Row,
    Series,
    Sort,
    Style,
    bargauge_panel,
    cells,
    count_stat,
    dashboard,
    data_age_stat,
    errors_by_reason_series,
    fixed_colour,
    instant,
    job_variable,
    organize,
    resource_group_variable,
    source_up_stat,
    stat_panel,
    subscription_variable,
    table_panel,
    thresholds,
    timeseries_panel,
    value,
)

FILE = "vmss-os-upgrades.json"
UID = "azure-update-vmss-os-upgrades"
SOURCE = "vmss_os_upgrades"

SEL = f"{JOB}, {SUBSCRIPTION}, {RESOURCE_GROUP}"
SCALE_SETS = f"azure_vmss_info{{{SEL}}}"
MODE = f"azure_vmss_upgrade_policy_mode{{{SEL}}}"
STATUS = "azure_vmss_os_upgrade_status"
INSTANCES = f"azure_vmss_os_upgrade_instances{{{SEL}}}"
VMSS_ID = "job, instance, subscription_id, resource_group, vmss"

CODE_COLOURS = {
    "RollingForward": BUSY,
    "RollingBack": WARN,
    "Cancelled": "yellow",
    "Completed": OK,
    "Faulted": BAD,
}
STATE_COLOURS = {"successful": OK, "failed": BAD, "in_progress": BUSY, "pending": NEUTRAL}
STATES = ("successful", "in_progress", "pending", "failed")


def build() -> dm.Dashboard:
    fleet = Row(
        "Fleet overview",
        [
            *cells(
                4,
                (
                    stat_panel(
                        "Scale sets",
                        "Every scale set Resource Graph returns for the selected subscriptions.",
                        f"count({SCALE_SETS}) or vector(0)",
                    ),
                    4,
                ),
                (
                    stat_panel(
                        "Automatic OS upgrade on",
                        "Scale sets with automaticOSUpgradePolicy.enableAutomaticOSUpgrade true.",
                        f"sum(azure_vmss_automatic_os_upgrade_enabled{{{SEL}}}) or vector(0)",
                    ),
                    4,
                ),
                (
                    count_stat(
                        "Upgrading now",
                        "Scale sets whose latest OS image upgrade is RollingForward or RollingBack.",
                        f'count({STATUS}{{{SEL}, code=~"RollingForward|RollingBack"}} == 1)',
                        alarm=BUSY,
                    ),
                    4,
                ),
                (
                    count_stat(
                        "Faulted",
                        "Scale sets whose latest OS image upgrade is Faulted (alert "
                        "AzureVmssOsUpgradeFaulted).",
                        f'count({STATUS}{{{SEL}, code="Faulted"}} == 1)',
                    ),
                    4,
                ),
                (
                    count_stat(
                        "Failed instances",
                        "Instances that failed in the latest OS image upgrade, all scale sets.",
                        f'sum(azure_vmss_os_upgrade_instances{{{SEL}, state="failed"}})',
                    ),
                    4,
                ),
                (
                    count_stat(
                        "Rolled back instances",
                        "Instances the latest OS image upgrades rolled back, all scale sets.",
                        f"sum(azure_vmss_os_upgrade_rollback_instances{{{SEL}}})",
                        alarm=WARN,
                    ),
                    4,
                ),
            ),
            *cells(
                6,
                (
                    bargauge_panel(
                        "Scale sets by upgrade mode",
                        "upgradePolicy.mode of every scale set.",
                        f"count by (mode) ({MODE} == 1)",
                        "{{mode}}",
                    ),
                    8,
                ),
                (
                    bargauge_panel(
                        "Latest upgrade by code",
                        "Code of each eligible scale set's latest OS image upgrade.",
                        f"count by (code) ({STATUS}{{{SEL}}} == 1)",
                        "{{code}}",
                        colours=CODE_COLOURS,
                    ),
                    8,
                ),
                (
                    bargauge_panel(
                        "Instances in latest upgrades by state",
                        "Instances of the latest OS image upgrades, all scale sets.",
                        f"sum by (state) ({INSTANCES})",
                        "{{state}}",
                        colours=STATE_COLOURS,
                    ),
                    8,
                ),
            ),
        ],
    )
    per_scale_set = Row(
        "Per scale set",
        [
            *cells(
                9,
                (
                    _progress_table(
                        "Latest OS image upgrade progress",
                        "Share of each scale set's instances per state in its latest OS image upgrade "
                        "(osUpgradeHistory): successful, in progress, pending, failed.",
                        "azure_vmss_os_upgrade_instances",
                    ),
                    12,
                ),
                (
                    _progress_table(
                        "Latest rolling upgrade progress",
                        "The same for rollingUpgrades/latest (also manual rolling upgrades); absent for "
                        "scale sets that never had one.",
                        "azure_vmss_rolling_upgrade_instances",
                    ),
                    12,
                ),
            ),
            *cells(
                9,
                (
                    table_panel(
                        "Latest OS image upgrade per scale set",
                        "Newest entry of each scale set's OS upgrade history: code, who started it, target "
                        "image, error code, start (relative) and end.",
                        [
                            f"({STATUS}{{{SEL}}} == 1) * on ({VMSS_ID}) group_left (started_by, "
                            f"target_image) azure_vmss_os_upgrade_info{{{SEL}}}",
                            f"azure_vmss_os_upgrade_start_timestamp_seconds{{{SEL}}} * 1000",
                            f"azure_vmss_os_upgrade_end_timestamp_seconds{{{SEL}}} * 1000",
                            f"azure_vmss_os_upgrade_error{{{SEL}}}",
                        ],
                        [
                            Column("subscription_id", "subscription_id"),
                            Column("resource_group", "resource_group"),
                            Column("vmss", "scale set"),
                            Column(
                                "code",
                                "code",
                                mappings={c: ("", colour) for c, colour in CODE_COLOURS.items()},
                                background=True,
                            ),
                            Column(value("B"), "started", unit="dateTimeFromNow"),
                            Column(value("C"), "ended", unit="dateTimeAsIso"),
                            Column("started_by", "started_by"),
                            Column("target_image", "target_image"),
                            Column("error_code", "error_code"),
                        ],
                        hide=(value("A"), value("D"), "instance"),
                        sort=Sort("started", desc=True),
                    ),
                    24,
                ),
            ),
        ],
    )
    history = Row(
        "History",
        cells(
            8,
            (
                timeseries_panel(
                    "Latest upgrade code over time",
                    "Scale sets per code of their latest OS image upgrade.",
                    [Series(f"count by (code) ({STATUS}{{{SEL}}} == 1)", "{{code}}")],
                    unit="short",
                    style=Style(fill=20, stack=True, colours=CODE_COLOURS),
                ),
                8,
            ),
            (
                timeseries_panel(
                    "Outcomes in the history window",
                    "OS image upgrades per code in the window Azure returns (last five attempts within two "
                    "months), all scale sets.",
                    [Series(f"sum by (code) (azure_vmss_os_upgrades{{{SEL}}})", "{{code}}")],
                    unit="short",
                    style=Style(draw=cm.GraphDrawStyle.BARS, fill=20, stack=True, colours=CODE_COLOURS),
                ),
                8,
            ),
            (
                timeseries_panel(
                    "Instances by state over time",
                    "Instances of the latest OS image upgrades by state, all scale sets: batches move from "
                    "pending through in progress to successful.",
                    [
                        Series(f"sum by (state) ({INSTANCES})", "{{state}}"),
                        Series(f"sum(azure_vmss_os_upgrade_rollback_instances{{{SEL}}})", "rolled back"),
                    ],
                    unit="short",
                    style=Style(colours={**STATE_COLOURS, "rolled back": WARN}),
                ),
                8,
            ),
        ),
    )
    freshness = Row(
        "Data freshness",
        cells(
            5,
            (source_up_stat(SOURCE, "Last refresh of the vmss_os_upgrades source succeeded."), 6),
            (
                data_age_stat(
                    SOURCE,
                    "Time since the last successful refresh (default interval 5 minutes).",
                    warn=900,
                    crit=1800,
                ),
                6,
            ),
            (
                timeseries_panel(
                    "Azure calls per refresh",
                    "Calls the last refresh made: Resource Graph pages, and 2 Compute calls per eligible "
                    "scale set.",
                    [Series(f"azure_update_exporter_vmss_requests_last_refresh{{{JOB}}}", "{{api}}")],
                    unit="short",
                ),
                6,
            ),
            (
                timeseries_panel(
                    "Errors by reason",
                    "Failed refreshes and per-subscription problems (403, 429 after retries, …).",
                    [errors_by_reason_series(SOURCE)],
                    unit="ops",
                ),
                6,
            ),
        ),
    )
    return dashboard(
        uid=UID,
        title="Azure Update / VMSS OS Upgrades",
        description="VM Scale Set automatic OS image upgrades (azure-update-exporter source "
        "vmss_os_upgrades): "
        "fleet overview, per-scale-set progress of the latest upgrade, and the history of outcomes.",
        variables=[
            job_variable(SOURCE),
            subscription_variable("azure_vmss_info"),
            resource_group_variable("azure_vmss_info"),
        ],
        rows=[fleet, per_scale_set, history, freshness],
        time_from="now-24h",
        refresh="1m",
    )


def _progress_table(title: str, description: str, metric: str) -> table.Panel:
    """One row per scale set, one gauge cell per instance state (its share of the instances)."""
    expr = f"{metric}{{{SEL}}} / on ({VMSS_ID}) group_left () (sum without (state) ({metric}{{{SEL}}}) > 0)"
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(instant(expr, as_table=True))
        .align(cm.FieldTextAlignment.AUTO)
        .cell_options(cm.TableAutoCellOptions())
        .cell_height(cm.TableCellHeight.SM)
        .show_header(True)
        .footer(common.TableFooterOptions().show(False))
        .thresholds(thresholds(((None, OK),)))
        .transformations(
            [
                dm.DataTransformerConfig(id_val="labelsToFields", options={}),
                dm.DataTransformerConfig(
                    id_val="groupingToMatrix",
                    options={
                        "columnField": "state",
                        "rowField": "vmss",
                        "valueField": "Value",
                        "emptyValue": "null",
                    },
                ),
                organize(
                    [Column("vmss\\state", "scale set"), *(Column(state, state) for state in STATES)], hide=()
                ),
            ]
        )
    )
    for state in STATES:
        panel = panel.override_by_name(
            state,
            [
                dm.DynamicConfigValue(
                    id_val="custom.cellOptions",
                    value={"type": "gauge", "mode": "basic", "valueDisplayMode": "text"},
                ),
                fixed_colour(STATE_COLOURS[state]),
                dm.DynamicConfigValue(id_val="unit", value="percentunit"),
                dm.DynamicConfigValue(id_val="min", value=0),
                dm.DynamicConfigValue(id_val="max", value=1),
            ],
        )
    return panel
