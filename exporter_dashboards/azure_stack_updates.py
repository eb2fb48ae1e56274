"""Azure Update / Azure Stack Updates: Azure Stack Hub and Azure Local update runs."""

from __future__ import annotations

from grafana_foundation_sdk.models import dashboard as dm

from exporter_dashboards.common import (
    BAD,
    BUSY,
    JOB,
    NEUTRAL,
    OK,
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
    fixed_colour,
    job_variable,
    query_variable,
    source_up_stat,
    stat_panel,
    state_timeline_panel,
    table_panel,
    timeseries_panel,
    value,
)

FILE = "azure-stack-updates.json"
UID = "azure-update-azure-stack-updates"
SOURCE = "azure_stack_updates"

SEL = f'{JOB}, platform=~"$platform", stamp=~"$stamp"'
# A stamp's identity labels (docs/metrics.md, label schema): a Hub stamp's subscription is its
# Default Provider Subscription and its resource group system.<region>.
STAMP_ID = "job, instance, platform, subscription_id, resource_group, stamp"
RUN_ID = f"{STAMP_ID}, update, run_id"
RUN_STATE = "azure_stack_update_run_state"
RUN_STATES = {"InProgress": ("InProgress", BUSY), "Succeeded": ("Succeeded", OK), "Failed": ("Failed", BAD)}


def build() -> dm.Dashboard:
    stamps = Row(
        "Stamps",
        [
            *cells(
                4,
                (
                    count_stat(
                        "Stamps updating",
                        "Stamps and clusters with an update in progress (maintenance mode).",
                        f"count(azure_stack_update_in_progress{{{SEL}}} == 1)",
                        alarm=BUSY,
                    ),
                    4,
                ),
                (
                    count_stat(
                        "Failed runs",
                        "Latest runs of updates that ended Failed and were not resumed yet.",
                        f'count({RUN_STATE}{{{SEL}, state="Failed"}} == 1)',
                    ),
                    4,
                ),
                (
                    count_stat(
                        "Update APIs unreachable",
                        "Stamps whose update API the exporter could not read on its last try.",
                        f"count(azure_stack_update_api_up{{{SEL}}} == 0)",
                    ),
                    4,
                ),
                (
                    stat_panel(
                        "Newest successful update",
                        "The most recent successful update on any selected stamp.",
                        f"max(azure_stack_update_last_success_timestamp_seconds{{{SEL}}}) * 1000",
                        unit="dateTimeFromNow",
                        steps=((None, NEUTRAL),),
                    ),
                    6,
                ),
                (
                    stat_panel(
                        "Stamps watched",
                        "Hub stamps and Azure Local clusters the exporter reads.",
                        f"count(azure_stack_update_api_up{{{SEL}}}) or vector(0)",
                        steps=((None, NEUTRAL),),
                    ),
                    6,
                ),
            ),
            *cells(
                8,
                (
                    table_panel(
                        "Current version per stamp",
                        "Installed version, update state, last successful update and whether an update runs "
                        "now, per Hub stamp (platform hub, stamp = region) and Azure Local cluster (platform "
                        "local, stamp = cluster name, with its subscription and resource group).",
                        [
                            f"azure_stack_update_last_success_timestamp_seconds{{{SEL}}} * 1000 * on "
                            f"({STAMP_ID}) "
                            f"group_left (version, oem_version) "
                            f"azure_stack_update_current_version{{{SEL}}}",
                            f"max by ({STAMP_ID}, state) (azure_stack_update_location_state{{{SEL}}} == 1)",
                            f"azure_stack_update_in_progress{{{SEL}}}",
                            f"azure_stack_update_api_up{{{SEL}}}",
                        ],
                        [
                            Column("platform", "Platform"),
                            Column("stamp", "Stamp"),
                            Column("resource_group", "Resource group"),
                            Column("version", "Version"),
                            Column("oem_version", "OEM version"),
                            Column("state", "Update state"),
                            Column(value("A"), "Last success", unit="dateTimeFromNow"),
                            Column(
                                value("C"), "Updating", mappings={"0": ("no", OK), "1": ("updating", BUSY)}
                            ),
                            Column(
                                value("D"), "API up", mappings={"0": ("unreachable", BAD), "1": ("up", OK)}
                            ),
                            Column("instance", "Reported by"),
                        ],
                        hide=(value("B"), "subscription_id"),
                        sort=Sort("Stamp"),
                    ),
                    24,
                ),
            ),
        ],
    )
    runs = Row(
        "Runs",
        [
            *cells(
                8,
                (
                    state_timeline_panel(
                        "Run timeline",
                        "State of the latest run of each update over time: InProgress, Succeeded, Failed (a "
                        "failed run disappears once it is resumed by a newer run).",
                        f"max by (platform, stamp, update) (\n"
                        f'  ({RUN_STATE}{{{SEL}, state="InProgress"}} == 1) * 1\n'
                        f'  or ({RUN_STATE}{{{SEL}, state="Succeeded"}} == 1) * 2\n'
                        f'  or ({RUN_STATE}{{{SEL}, state="Failed"}} == 1) * 3\n'
                        f'  or ({RUN_STATE}{{{SEL}, state!~"InProgress|Succeeded|Failed"}} == 1) * 4\n'
                        ")",
                        "{{stamp}} {{update}}",
                        {
                            "1": ("InProgress", BUSY),
                            "2": ("Succeeded", OK),
                            "3": ("Failed", BAD),
                            "4": ("Other", NEUTRAL),
                        },
                    ),
                    16,
                ),
                (
                    state_timeline_panel(
                        "Maintenance mode",
                        "azure_stack_update_in_progress: while 1, the example Alertmanager configuration "
                        "inhibits the stamp's warning alerts.",
                        f"azure_stack_update_in_progress{{{SEL}}}",
                        "{{stamp}}",
                        {"0": ("idle", OK), "1": ("updating", BUSY)},
                    ),
                    8,
                ),
            ),
            *cells(
                8,
                (
                    bargauge_panel(
                        "Step progress of current runs",
                        "Leaf steps of running and failed runs by status (the API lists a step once it has "
                        "started).",
                        f"azure_stack_update_run_steps{{{SEL}}} and on ({RUN_ID}) "
                        f'({RUN_STATE}{{{SEL}, state=~"InProgress|Failed"}} == 1)',
                        "{{stamp}} {{update}} {{status}}",
                    )
                    .override_by_regexp(".*InProgress$", [fixed_colour(BUSY)])
                    .override_by_regexp(".*Error$", [fixed_colour(BAD)]),
                    10,
                ),
                (
                    table_panel(
                        "Current step",
                        "The deepest InProgress step of each running run (the failed step of a failed run), "
                        "how long the run has been going and how long ago that step started.",
                        [
                            f"azure_stack_update_run_duration_seconds{{{SEL}}} * on ({RUN_ID}) "
                            "group_left (phase, step) "
                            f"azure_stack_update_run_current_step_start_timestamp_seconds{{{SEL}}}",
                            f"time() - azure_stack_update_run_current_step_start_timestamp_seconds{{{SEL}}}",
                            f"max by ({RUN_ID}, state) ({RUN_STATE}{{{SEL}}} == 1)",
                        ],
                        [
                            Column("stamp", "Stamp"),
                            Column("update", "Update"),
                            Column("phase", "Phase"),
                            Column("step", "Step"),
                            Column("state", "Run", mappings=RUN_STATES),
                            Column(value("A"), "Running for", unit="s"),
                            Column(value("B"), "On this step for", unit="s"),
                            Column("platform", "Platform"),
                        ],
                        hide=("instance", "run_id", "subscription_id", "resource_group", value("C")),
                    ),
                    14,
                ),
            ),
        ],
    )
    history = Row(
        "History",
        [
            *cells(
                9,
                (
                    table_panel(
                        "Runs",
                        "The latest run of each of the newest updates per stamp (bounded by max_runs): "
                        "start, "
                        "end, duration and state. Older runs are in Prometheus' history of these series.",
                        [
                            f"azure_stack_update_run_start_timestamp_seconds{{{SEL}}} * 1000 * on ({RUN_ID}) "
                            f"group_left (state) ({RUN_STATE}{{{SEL}}} == 1)",
                            f"azure_stack_update_run_end_timestamp_seconds{{{SEL}}} * 1000",
                            f"azure_stack_update_run_duration_seconds{{{SEL}}}",
                        ],
                        [
                            Column("platform", "Platform"),
                            Column("stamp", "Stamp"),
                            Column("update", "Update"),
                            Column("state", "State", mappings=RUN_STATES),
                            Column(value("A"), "Started", unit="dateTimeAsIso"),
                            Column(value("B"), "Ended", unit="dateTimeAsIso"),
                            Column(value("C"), "Duration", unit="s"),
                            Column("run_id", "Run"),
                        ],
                        hide=("instance",),
                        sort=Sort("Started", desc=True),
                    ),
                    24,
                ),
            ),
            *cells(
                8,
                (
                    timeseries_panel(
                        "Run durations",
                        "Duration of each exposed run; a running run's line grows until it ends (compare "
                        "with the configured limit).",
                        [
                            Series(
                                f"azure_stack_update_run_duration_seconds{{{SEL}}}", "{{stamp}} {{update}}"
                            ),
                            Series(
                                "max by (platform) (azure_stack_update_run_duration_limit_seconds"
                                f'{{{JOB}, platform=~"$platform"}})',
                                "limit {{platform}}",
                            ),
                        ],
                        unit="s",
                        style=Style(legend_table=True, legend_calcs=("lastNotNull", "max")),
                    ),
                    12,
                ),
                (
                    table_panel(
                        "Updates",
                        "The newest updates per stamp (bounded by max_updates) with their version, the state "
                        "of those being worked on or failed, and the installation time of installed ones "
                        "(idle and final updates have no state series: see Idle and final updates).",
                        [
                            f"azure_stack_update_info{{{SEL}}}",
                            f"max by ({STAMP_ID}, update, state) (azure_stack_update_state{{{SEL}}} == 1)",
                            f"azure_stack_update_installed_timestamp_seconds{{{SEL}}} * 1000",
                        ],
                        [
                            Column("stamp", "Stamp"),
                            Column("update", "Update"),
                            Column("version", "Version"),
                            Column("state", "State"),
                            Column(value("C"), "Installed", unit="dateTimeAsIso"),
                            Column("platform", "Platform"),
                        ],
                        hide=(
                            "instance",
                            "subscription_id",
                            "resource_group",
                            "package_type",
                            value("A"),
                            value("B"),
                        ),
                        sort=Sort("Update", desc=True),
                    ),
                    8,
                ),
                (
                    bargauge_panel(
                        "Idle and final updates",
                        "Exposed updates waiting for an operator (Ready, HasPrerequisite, ...) or done for "
                        "good (Installed, Obsolete, Recalled, Invalid), by state, over the selected stamps.",
                        f"sum by (state) (azure_stack_updates{{{SEL}}}) > 0",
                        "{{state}}",
                    ),
                    4,
                ),
            ),
        ],
    )
    freshness = Row(
        "Data freshness",
        [
            *cells(
                5,
                (
                    source_up_stat(
                        SOURCE,
                        "Whether the last refresh of the azure_stack_updates source succeeded (0 when every "
                        "Hub stamp was unreachable).",
                    ),
                    6,
                ),
                (
                    data_age_stat(
                        SOURCE, "Time since the last successful refresh of the source.", warn=600, crit=1800
                    ),
                    6,
                ),
                (
                    timeseries_panel(
                        "Update API failures in a row",
                        "Failed reads per stamp, and failed refreshes of the whole source (when every Hub "
                        "stamp is unreachable); the unreachable alert fires at 3.",
                        [
                            Series(f"azure_stack_update_api_consecutive_failures{{{SEL}}}", "{{stamp}}"),
                            Series(
                                "azure_update_exporter_source_consecutive_failures"
                                f'{{{JOB}, source="{SOURCE}"}}',
                                "source",
                            ),
                        ],
                        unit="short",
                        style=Style(legend_table=True, legend_calcs=("lastNotNull", "max")),
                    ),
                    12,
                ),
            ),
            *cells(
                6,
                (
                    table_panel(
                        "Endpoints",
                        "Endpoint and api-version used per stamp (a Hub stamp that rejects 2021-07-01 is "
                        "read "
                        "with 2016-05-01).",
                        [f"azure_stack_update_api_info{{{SEL}}}"],
                        [
                            Column("platform", "Platform"),
                            Column("stamp", "Stamp"),
                            Column("endpoint", "Endpoint"),
                            Column("api_version", "api-version"),
                            Column("instance", "Reported by"),
                        ],
                        hide=("Value",),
                    ),
                    24,
                ),
            ),
        ],
    )
    return dashboard(
        uid=UID,
        title="Azure Update / Azure Stack Updates",
        description="Azure Stack Hub and Azure Local update runs (azure-update-exporter source "
        "azure_stack_updates): current version per stamp, run timeline, step progress, history of runs and "
        "their durations.",
        variables=[
            job_variable(SOURCE),
            query_variable(
                "platform", "Platform", f"label_values(azure_stack_update_api_up{{{JOB}}}, platform)"
            ),
            query_variable(
                "stamp",
                "Stamp",
                f'label_values(azure_stack_update_api_up{{{JOB}, platform=~"$platform"}}, stamp)',
            ),
        ],
        rows=[stamps, runs, history, freshness],
        time_from="now-24h",
    )
