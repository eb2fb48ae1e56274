"""Azure Update / Update Manager: patch compliance of Azure VMs and Arc servers, installations and
maintenance schedules (Azure Update Manager in Resource Graph)."""

from __future__ import annotations

from grafana_foundation_sdk.models import dashboard as dm

from exporter_dashboards.common import (
    BAD,
    BUSY,
    DISABLED,
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
    job_variable,
    query_variable,
    resource_group_variable,
    source_up_stat,
    stat_panel,
    subscription_variable,
    table_panel,
    timeseries_panel,
    value,
)

FILE = "update-manager.json"
UID = "azure-update-update-manager"
SOURCE = "update_manager"

# The fleet series are per subscription (they also exist with aggregates_only: true); per-machine
# series narrow further by resource group and machine, schedules by resource group.
FLEET = f"{JOB}, {SUBSCRIPTION}"
SCHEDULE = f"{JOB}, {SUBSCRIPTION}, {RESOURCE_GROUP}"
MACHINE = f'{SCHEDULE}, machine=~"$machine"'
MACHINE_ID = "job, instance, subscription_id, resource_group, machine"
SCHEDULE_ID = "job, instance, subscription_id, resource_group, maintenance_configuration"
PER_SUBSCRIPTION = "Per subscription: the Resource group and Machine filters do not narrow it."
ASSESSED = f"azure_update_manager_machine_assessment_timestamp_seconds{{{MACHINE}}}"
STALE_AFTER = 2 * 86400  # the default assessment_stale_after, and the overview's "stale"

FRESHNESS_COLOURS = {"recent": OK, "stale": WARN, "failed": BAD, "none": DISABLED}
INSTALLATION_COLOURS = {
    "Succeeded": OK,
    "CompletedWithWarnings": "yellow",
    "Failed": BAD,
    "InProgress": BUSY,
    "NotStarted": NEUTRAL,
    "Unknown": "purple",
    "None": DISABLED,
}
RESULT_COLOURS = {
    "installed": OK,
    "failed": BAD,
    "pending": BUSY,
    "excluded": NEUTRAL,
    "not_selected": DISABLED,
}
RUN_COLOURS = {
    "Failed": BAD,
    "InProgress": BUSY,
    "RetryNow": WARN,
    "RetryLater": WARN,
    "Pending": NEUTRAL,
    "Cancel": NEUTRAL,
    "Cancelled": NEUTRAL,
    "Completed": OK,
    "NoUpdatesPending": OK,
}
MACHINE_COLUMNS = (
    Column("subscription_id", "subscription_id"),
    Column("resource_group", "resource_group"),
    Column("machine", "machine"),
    Column("machine_type", "machine_type"),
)
SCHEDULE_COLUMNS = (
    Column("subscription_id", "subscription_id"),
    Column("resource_group", "resource_group"),
    Column("maintenance_configuration", "maintenance_configuration"),
)


def _run_columns(colours: dict[str, str]) -> list[Column]:
    """A run's status (coloured), start and end: queries A, B and C of its table."""
    return [
        Column("status", "status", mappings={s: ("", c) for s, c in colours.items()}, background=True),
        Column(value("B"), "started", unit="dateTimeFromNow"),
        Column(value("C"), "ended", unit="dateTimeAsIso"),
    ]


def build() -> dm.Dashboard:
    return dashboard(
        uid=UID,
        title="Azure Update / Update Manager",
        description="Azure Update Manager patch state of Azure VMs and Arc servers (azure-update-exporter "
        "source update_manager): compliance overview, stale assessments, installation results over time, "
        "upcoming maintenance windows and a per-machine drill-down.",
        variables=[
            job_variable(SOURCE),
            subscription_variable(
                "azure_update_manager_machines", description="Azure subscription id of the machines."
            ),
            resource_group_variable(
                "azure_update_manager_machine_info",
                description="Narrows the per-machine and schedule panels (the fleet counts are per "
                "subscription).",
            ),
            query_variable(
                "machine",
                "Machine",
                f"label_values(azure_update_manager_machine_info{{{SCHEDULE}}}, machine)",
                description="Narrows the per-machine panels.",
            ),
        ],
        rows=[_compliance(), _assessments(), _installations(), _schedules(), _drill_down(), _freshness()],
        time_from="now-7d",
        refresh="1m",
    )


def _compliance() -> Row:
    return Row(
        "Compliance overview",
        [
            *cells(
                4,
                (
                    stat_panel(
                        "Machines",
                        f"Azure VMs and Arc servers Resource Graph returns for the selected subscriptions. "
                        f"{PER_SUBSCRIPTION}",
                        f"sum(azure_update_manager_machines{{{FLEET}}}) or vector(0)",
                    ),
                    4,
                ),
                (
                    count_stat(
                        "Pending critical patches",
                        "Critical patches pending, summed over machines whose latest assessment can be "
                        f"believed (Succeeded or CompletedWithWarnings). {PER_SUBSCRIPTION}",
                        f'sum(azure_update_manager_pending_patches{{{FLEET}, classification="critical"}})',
                    ),
                    4,
                ),
                (
                    count_stat(
                        "Pending security patches",
                        "Security patches pending, summed over machines whose latest assessment can be "
                        f"believed. {PER_SUBSCRIPTION}",
                        f'sum(azure_update_manager_pending_patches{{{FLEET}, classification="security"}})',
                        alarm=WARN,
                    ),
                    4,
                ),
                (
                    count_stat(
                        "Latest installation failed",
                        f"Machines whose latest patch installation (Resource Graph keeps 30 days) failed. "
                        f"{PER_SUBSCRIPTION}",
                        "sum(azure_update_manager_machines_by_installation_status"
                        f'{{{FLEET}, status="Failed"}})',
                    ),
                    4,
                ),
                (
                    count_stat(
                        "Misconfigured orchestration",
                        "Machines that no schedule will patch: customer-managed schedules without a "
                        "schedule attached, or a schedule whose prerequisites are not met. "
                        f"{PER_SUBSCRIPTION}",
                        "sum(azure_update_manager_misconfigured_machines"
                        f'{{{FLEET}, problem=~"no_schedule_attached|schedule_prerequisites_not_met"}})',
                        alarm=WARN,
                    ),
                    4,
                ),
                (
                    count_stat(
                        "Reboot pending",
                        "Machines whose latest believable assessment reports a pending reboot: patches "
                        f"are not in effect until they restart. {PER_SUBSCRIPTION}",
                        f"sum(azure_update_manager_machines_reboot_pending{{{FLEET}}})",
                        alarm=WARN,
                    ),
                    4,
                ),
            ),
            *cells(
                8,
                (
                    bargauge_panel(
                        "Machines by orchestration option",
                        "Patch orchestration option (mode) from each machine's patch settings, by machine "
                        f"type (vm, arc). {PER_SUBSCRIPTION}",
                        f"sum by (machine_type, mode) (azure_update_manager_machines{{{FLEET}}})",
                        "{{machine_type}} {{mode}}",
                    ),
                    8,
                ),
                (
                    bargauge_panel(
                        "Pending patches by classification",
                        f"Available patches in believable assessments, by classification. {PER_SUBSCRIPTION}",
                        f"sum by (classification) (azure_update_manager_pending_patches{{{FLEET}}})",
                        "{{classification}}",
                        colours={"critical": BAD, "security": WARN},
                    ),
                    8,
                ),
                (
                    bargauge_panel(
                        "Machines by assessment freshness",
                        "recent, stale (older than sources.update_manager.assessment_stale_after, default "
                        "2 days), failed (latest assessment failed), none (no assessment in the 7 days "
                        f"Resource Graph keeps). {PER_SUBSCRIPTION}",
                        "sum by (freshness) "
                        f"(azure_update_manager_machines_by_assessment_freshness{{{FLEET}}})",
                        "{{freshness}}",
                        colours=FRESHNESS_COLOURS,
                    ),
                    8,
                ),
            ),
        ],
    )


def _assessments() -> Row:
    stale = f"time() - {ASSESSED} > {STALE_AFTER}"
    return Row(
        "Assessments",
        cells(
            9,
            (
                table_panel(
                    "Stale assessments",
                    "Machines whose latest assessment is older than 2 days: when it ran and its age. "
                    "Their pending patch counts may be out of date.",
                    [stale, f"{ASSESSED} * 1000 and on ({MACHINE_ID}) ({stale})"],
                    [
                        *MACHINE_COLUMNS,
                        Column(value("B"), "assessed", unit="dateTimeAsIso"),
                        Column(value("A"), "age", unit="dtdurations"),
                    ],
                    hide=("instance",),
                    sort=Sort("age", desc=True),
                ),
                12,
            ),
            (
                table_panel(
                    "No recent assessment",
                    "Machines without any assessment row (Resource Graph keeps 7 days): not the same as "
                    "no missing patches. Check that periodic assessment is on and the agent is healthy.",
                    [
                        "azure_update_manager_machine_assessment_status"
                        f'{{{MACHINE}, status="NoRecentAssessment"}} == 1'
                    ],
                    list(MACHINE_COLUMNS),
                    hide=("instance", "Value", "status"),
                ),
                12,
            ),
        ),
    )


def _installations() -> Row:
    latest = "azure_update_manager_machine_installation"
    return Row(
        "Installations (history as long as Prometheus keeps it)",
        [
            *cells(
                8,
                (
                    timeseries_panel(
                        "Machines by latest installation status",
                        "Machines per status of their latest patch installation (None: none in 30 days). "
                        f"Resource Graph keeps 30 days; Prometheus keeps the history. {PER_SUBSCRIPTION}",
                        [
                            Series(
                                "sum by (status) "
                                f"(azure_update_manager_machines_by_installation_status{{{FLEET}}})",
                                "{{status}}",
                            )
                        ],
                        unit="short",
                        style=Style(
                            stack=True,
                            legend_table=True,
                            legend_right=True,
                            legend_calcs=("lastNotNull",),
                            colours=INSTALLATION_COLOURS,
                        ),
                    ),
                    12,
                ),
                (
                    timeseries_panel(
                        "Patches of the latest installations by result",
                        "Patches of each selected machine's latest installation, summed by result: "
                        "installed, failed, pending, excluded, not selected.",
                        [Series(f"sum by (result) ({latest}_patches{{{MACHINE}}})", "{{result}}")],
                        unit="short",
                        style=Style(
                            stack=True,
                            legend_table=True,
                            legend_right=True,
                            legend_calcs=("lastNotNull",),
                            colours=RESULT_COLOURS,
                        ),
                    ),
                    12,
                ),
            ),
            *cells(
                8,
                (
                    table_panel(
                        "Latest installation per machine",
                        "Status of each machine's latest patch installation (30 days), when it started and "
                        "ended (empty while it runs), whether it ran out of its maintenance window, and its "
                        "failed and installed patches.",
                        [
                            f"{latest}_status{{{MACHINE}}} == 1",
                            f"{latest}_start_timestamp_seconds{{{MACHINE}}} * 1000",
                            f"{latest}_end_timestamp_seconds{{{MACHINE}}} * 1000",
                            f"{latest}_maintenance_window_exceeded{{{MACHINE}}}",
                            f'sum without (result) ({latest}_patches{{{MACHINE}, result="failed"}})',
                            f'sum without (result) ({latest}_patches{{{MACHINE}, result="installed"}})',
                        ],
                        [
                            *MACHINE_COLUMNS,
                            *_run_columns(INSTALLATION_COLOURS),
                            Column(
                                value("D"),
                                "window exceeded",
                                mappings={"0": ("no", OK), "1": ("yes", BAD)},
                            ),
                            Column(value("E"), "failed patches", unit="short", steps=((None, OK), (1, BAD))),
                            Column(value("F"), "installed patches", unit="short"),
                        ],
                        hide=("instance", value("A")),
                        sort=Sort("started", desc=True),
                    ),
                    24,
                ),
            ),
        ],
    )


def _schedules() -> Row:
    window = "azure_update_manager_maintenance_window"
    run = "azure_update_manager_maintenance_run"
    return Row(
        "Maintenance schedules",
        [
            *cells(
                9,
                (
                    table_panel(
                        "Upcoming maintenance windows",
                        "Next (or open: start in the past) window of every InGuestPatch maintenance "
                        "configuration, computed at refresh time: start, time until it opens, end, length "
                        "and the machines its assignments cover.",
                        [
                            f"{window}_next_start_timestamp_seconds{{{SCHEDULE}}} * 1000",
                            f"{window}_next_start_timestamp_seconds{{{SCHEDULE}}} - time()",
                            f"{window}_next_end_timestamp_seconds{{{SCHEDULE}}} * 1000",
                            f"{window}_duration_seconds{{{SCHEDULE}}}",
                            f"azure_update_manager_maintenance_configuration_machines{{{SCHEDULE}}}",
                        ],
                        [
                            *SCHEDULE_COLUMNS,
                            Column(value("A"), "next window start", unit="dateTimeAsIso"),
                            Column(value("B"), "opens in", unit="dtdurations"),
                            Column(value("C"), "next window end", unit="dateTimeAsIso"),
                            Column(value("D"), "window length", unit="dtdurations"),
                            Column(value("E"), "machines", unit="short"),
                        ],
                        hide=("instance",),
                        sort=Sort("next window start"),
                    ),
                    12,
                ),
                (
                    table_panel(
                        "Latest run per schedule",
                        "Status of each configuration's latest run (its machines' worst), when it started "
                        "and ended.",
                        [
                            f"{run}_status{{{SCHEDULE}}} == 1",
                            f"{run}_start_timestamp_seconds{{{SCHEDULE}}} * 1000",
                            f"{run}_end_timestamp_seconds{{{SCHEDULE}}} * 1000",
                        ],
                        [
                            *SCHEDULE_COLUMNS,
                            *_run_columns(RUN_COLOURS),
                        ],
                        hide=("instance", value("A")),
                        sort=Sort("started", desc=True),
                    ),
                    12,
                ),
            ),
            *cells(
                7,
                (
                    table_panel(
                        "Machines per schedule",
                        "Machines the configuration's static and dynamic assignments cover (0: the "
                        "schedule patches nothing), and whether it has expired.",
                        [
                            f"azure_update_manager_maintenance_configuration_machines{{{SCHEDULE}}}",
                            f"azure_update_manager_maintenance_configuration_expired{{{SCHEDULE}}}",
                        ],
                        [
                            *SCHEDULE_COLUMNS,
                            Column(value("A"), "machines", unit="short", steps=((None, WARN), (1, OK))),
                            Column(value("B"), "expired", mappings={"0": ("no", OK), "1": ("yes", WARN)}),
                        ],
                        hide=("instance",),
                    ),
                    12,
                ),
                (
                    timeseries_panel(
                        "Machines of the latest runs by status",
                        "Machines of every selected configuration's latest run, by status.",
                        [Series(f"sum by (status) ({run}_machines{{{SCHEDULE}}}) > 0", "{{status}}")],
                        unit="short",
                        style=Style(stack=True, colours=RUN_COLOURS),
                    ),
                    12,
                ),
            ),
        ],
    )


def _drill_down() -> Row:
    return Row(
        "Machine drill-down",
        cells(
            9,
            (
                table_panel(
                    "Orchestration option",
                    "Patch orchestration option (mode) per machine (narrow with the Machine variable).",
                    [f"azure_update_manager_machine_orchestration_mode{{{MACHINE}}} == 1"],
                    [*MACHINE_COLUMNS, Column("mode", "mode")],
                    hide=("instance", "Value"),
                ),
                8,
            ),
            (
                table_panel(
                    "Pending patches",
                    "Pending patches per machine and classification, believable assessments only.",
                    [f"azure_update_manager_machine_pending_patches{{{MACHINE}}} > 0"],
                    [
                        *MACHINE_COLUMNS,
                        Column("classification", "classification"),
                        Column("Value", "patches", unit="short"),
                    ],
                    hide=("instance",),
                    sort=Sort("patches", desc=True),
                ),
                8,
            ),
            (
                table_panel(
                    "Misconfigurations",
                    "Patch orchestration problems per machine: no_schedule_attached, "
                    "schedule_prerequisites_not_met, assessment_not_periodic.",
                    [f"azure_update_manager_machine_misconfiguration{{{MACHINE}}}"],
                    [*MACHINE_COLUMNS, Column("problem", "problem")],
                    hide=("instance", "Value"),
                ),
                8,
            ),
        ),
    )


def _freshness() -> Row:
    pages = f"azure_update_exporter_update_manager_requests_last_refresh{{{JOB}}}"
    return Row(
        "Data freshness",
        cells(
            5,
            (source_up_stat(SOURCE, "Last refresh of the update_manager source succeeded."), 5),
            (
                data_age_stat(
                    SOURCE,
                    "Time since the last successful refresh (default interval 10 minutes; Resource Graph "
                    "itself lags by minutes).",
                    warn=1800,
                    crit=3600,
                ),
                5,
            ),
            (
                stat_panel(
                    "Resource Graph pages per refresh",
                    "Pages (requests) the last successful refresh made: ceil(rows / 1000) per query, "
                    "nothing per machine.",
                    f"sum({pages})",
                ),
                4,
            ),
            (
                timeseries_panel(
                    "Pages per query",
                    "Resource Graph pages of the last successful refresh, per query.",
                    [Series(pages, "{{query}}")],
                    unit="short",
                ),
                5,
            ),
            (
                timeseries_panel(
                    "Errors by reason",
                    "Failed queries (403, 429 after retries, timeouts) and odd input (unknown_enum, "
                    "malformed_payload), per second by reason.",
                    [errors_by_reason_series(SOURCE)],
                    unit="ops",
                ),
                5,
            ),
        ),
    )
