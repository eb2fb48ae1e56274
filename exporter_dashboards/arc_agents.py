"""Azure Update / Arc Agents: Connected Machine agent currency, automatic upgrade and connection
state of Azure Arc-enabled servers."""

from __future__ import annotations

from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from exporter_dashboards.common import (
    BAD,
    BUSY,
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
    dashboard_url,
    data_age_stat,
    errors_by_reason_series,
    job_variable,
    resource_group_variable,
    source_up_stat,
    stat_panel,
    subscription_variable,
    table_panel,
    timeseries_panel,
    value,
)

FILE = "arc-agents.json"
UID = "azure-update-arc-agents"
SOURCE = "arc_agents"

# The fleet series are per subscription (they also exist with per_machine_series: false), so only
# the per-machine panels can be narrowed to a resource group.
FLEET = f"{JOB}, {SUBSCRIPTION}"
SEL = f"{JOB}, {SUBSCRIPTION}, {RESOURCE_GROUP}"
AGENTS = f"azure_arc_agents{{{FLEET}}}"
SUPPORT = "azure_arc_agent_support_machines"
MACHINE_ID = "job, instance, subscription_id, resource_group, machine"
PER_SUBSCRIPTION = "Per subscription: the Resource group filter does not narrow it."

SUPPORT_COLOURS = {"supported": OK, "expiring": "yellow", "unsupported": BAD, "unknown": "purple"}
STATUS_COLOURS = {
    "Connected": OK,
    "Disconnected": WARN,
    "Error": BAD,
    "Expired": "dark-red",
    "AwaitingConnection": BUSY,
    "Unknown": NEUTRAL,
}
DISCONNECTED = f'azure_arc_machine_status{{{SEL}, status=~"Disconnected|Expired"}} == 1'
AUTOMATIC_UPGRADE = f"azure_arc_agent_automatic_upgrade_enabled_machines{{{FLEET}}}"
UPGRADE_FAILED = f"azure_arc_agent_upgrade_failed_machines{{{FLEET}}}"
LAST_ATTEMPT_FAILED = f'azure_arc_agent_upgrade_last_attempt_status{{{SEL}, status="Failed"}} == 1'


def build() -> dm.Dashboard:
    return dashboard(
        uid=UID,
        title="Azure Update / Arc Agents",
        description="Azure Arc Connected Machine agents (azure-update-exporter source arc_agents): "
        "version distribution, support window, automatic upgrade, connection state and a "
        "per-subscription table.",
        variables=[
            job_variable(SOURCE),
            subscription_variable("azure_arc_agents", description="Azure subscription id of the machines."),
            resource_group_variable(
                "azure_arc_machine_info",
                description="Narrows the per-machine panels (the fleet counts are per subscription).",
            ),
        ],
        rows=[_fleet(), _support(), _upgrade(), _connection(), _per_subscription(), _freshness()],
        time_from="now-24h",
        refresh="1m",
    )


def _fleet() -> Row:
    return Row(
        "Fleet overview",
        [
            *cells(
                4,
                (
                    stat_panel(
                        "Arc machines",
                        f"Arc-enabled servers Resource Graph returns for the selected subscriptions. "
                        f"{PER_SUBSCRIPTION}",
                        f"sum({AGENTS}) or vector(0)",
                    ),
                    4,
                ),
                (
                    count_stat(
                        "Agent out of support",
                        "Machines whose agent release is more than a year old (release month + 365 "
                        "days): Microsoft supports only agents released within the last year. "
                        f"{PER_SUBSCRIPTION}",
                        f'sum({SUPPORT}{{{FLEET}, state="unsupported"}})',
                    ),
                    4,
                ),
                (
                    count_stat(
                        "Support ends within 30 days",
                        "Machines whose agent's support ends within sources.arc_agents.expiring_within "
                        f"(default 30 days). {PER_SUBSCRIPTION}",
                        f'sum({SUPPORT}{{{FLEET}, state="expiring"}})',
                        alarm="yellow",
                    ),
                    4,
                ),
                (
                    count_stat(
                        "Version unknown",
                        "Machines whose agentVersion is unreadable or not in the release table: their "
                        f"support cannot be judged. {PER_SUBSCRIPTION}",
                        f'sum({SUPPORT}{{{FLEET}, state="unknown"}})',
                        alarm="purple",
                    ),
                    4,
                ),
                (
                    count_stat(
                        "Disconnected",
                        "Machines in status Disconnected (no heartbeat for 15-30 minutes). "
                        f"{PER_SUBSCRIPTION}",
                        f'sum(azure_arc_agents{{{FLEET}, status="Disconnected"}})',
                        alarm=WARN,
                    ),
                    4,
                ),
                (
                    count_stat(
                        "Expired",
                        "Machines in status Expired (45 days disconnected): they must be reconnected by "
                        f"hand. {PER_SUBSCRIPTION}",
                        f'sum(azure_arc_agents{{{FLEET}, status="Expired"}})',
                    ),
                    4,
                ),
            ),
            *cells(
                8,
                (
                    bargauge_panel(
                        "Agent version distribution",
                        f"Machines per installed agent release (major.minor; unknown: unreadable). "
                        f"{PER_SUBSCRIPTION}",
                        f"sort_desc(sum by (agent_version) ({AGENTS}))",
                        "{{agent_version}}",
                    ),
                    8,
                ),
                (
                    bargauge_panel(
                        "Machines by support state",
                        "supported, expiring (support ends soon), unsupported (release older than a "
                        f"year), unknown (version not judged). {PER_SUBSCRIPTION}",
                        f"sum by (state) ({SUPPORT}{{{FLEET}}})",
                        "{{state}}",
                        colours=SUPPORT_COLOURS,
                    ),
                    8,
                ),
                (
                    bargauge_panel(
                        "Machines by status",
                        f"properties.status of every machine. {PER_SUBSCRIPTION}",
                        f"sum by (status) ({AGENTS})",
                        "{{status}}",
                        colours=STATUS_COLOURS,
                    ),
                    8,
                ),
            ),
        ],
    )


def _support() -> Row:
    return Row(
        "Support window",
        cells(
            10,
            (
                table_panel(
                    "Support left per machine",
                    "Installed release and build, its release month, the time until its support ends "
                    "(negative: ended; red when ended, yellow within 30 days) and how many minor "
                    "versions it is behind the newest known. Machines whose release is unknown or newer "
                    "than the release table are not listed (see Version unknown).",
                    [
                        f"(azure_arc_agent_support_end_timestamp_seconds{{{SEL}}} - time()) "
                        f"* on ({MACHINE_ID}) group_left (agent_version, agent_build) "
                        f"azure_arc_agent_version_info{{{SEL}}}",
                        f"azure_arc_agent_release_timestamp_seconds{{{SEL}}} * 1000",
                        f"azure_arc_agent_versions_behind{{{SEL}}}",
                    ],
                    [
                        Column("subscription_id", "subscription_id"),
                        Column("resource_group", "resource_group"),
                        Column("machine", "machine"),
                        Column("agent_version", "release"),
                        Column("agent_build", "build"),
                        Column(value("B"), "released", unit="dateTimeAsIsoNoDateIfToday"),
                        Column(
                            value("A"),
                            "support left",
                            unit="dtdurations",
                            steps=((None, BAD), (0, "yellow"), (30 * 86400, OK)),
                        ),
                        Column(value("C"), "versions behind", unit="short"),
                    ],
                    hide=("instance",),
                    sort=Sort("support left"),
                ),
                16,
            ),
            (
                timeseries_panel(
                    "Support states over time",
                    f"Machines per support state, stacked. {PER_SUBSCRIPTION}",
                    [Series(f"sum by (state) ({SUPPORT}{{{FLEET}}})", "{{state}}")],
                    unit="short",
                    style=Style(fill=20, stack=True, colours=SUPPORT_COLOURS),
                ),
                8,
            ),
        ),
    )


def _upgrade() -> Row:
    newest = stat_panel(
        "Newest known agent",
        "Newest release known and where it was seen first: table (the exporter's release table), "
        "agent_versions_api, advisor or estate (installed somewhere).",
        f"azure_arc_agent_newest_version_info{{{JOB}}}",
        legend="{{agent_version}} ({{source}})",
        text_mode=cm.BigValueTextMode.NAME,
    ).color_mode(cm.BigValueColorMode.NONE)
    return Row(
        "Automatic agent upgrade",
        [
            *cells(
                4,
                (
                    stat_panel(
                        "Automatic upgrade coverage",
                        "Share of machines with agentUpgrade.enableAutomaticUpgrade true (orange below "
                        f"90 %). {PER_SUBSCRIPTION}",
                        f"sum({AUTOMATIC_UPGRADE}) / sum({AGENTS})",
                        unit="percentunit",
                        steps=((None, WARN), (0.9, OK)),
                        decimals=1,
                    ),
                    6,
                ),
                (
                    count_stat(
                        "Last attempt failed",
                        f"Machines whose last automatic agent upgrade attempt Failed. {PER_SUBSCRIPTION}",
                        f"sum({UPGRADE_FAILED})",
                        alarm=WARN,
                    ),
                    6,
                ),
                (
                    count_stat(
                        "Downgrades in range",
                        "Machines whose agent release went down between two refreshes, in the "
                        f"dashboard's time range. {PER_SUBSCRIPTION}",
                        f"sum(increase(azure_arc_agent_downgrades_total{{{FLEET}}}[$__range]))",
                        alarm=WARN,
                    ).decimals(0),  # increase() extrapolates: 1.03 downgrades reads as 1
                    6,
                ),
                (newest, 6),
            ),
            *cells(
                8,
                (
                    table_panel(
                        "Failed automatic upgrades",
                        "Machines whose last automatic agent upgrade attempt failed: the version it "
                        "tried (target), when, and the version now desired.",
                        [
                            f"({LAST_ATTEMPT_FAILED}) * on ({MACHINE_ID}) group_left (desired_version, "
                            f"last_attempt_desired_version) azure_arc_agent_upgrade_info{{{SEL}}}",
                            f"azure_arc_agent_upgrade_last_attempt_timestamp_seconds{{{SEL}}} * 1000 "
                            f"and on ({MACHINE_ID}) ({LAST_ATTEMPT_FAILED})",
                        ],
                        [
                            Column("subscription_id", "subscription_id"),
                            Column("resource_group", "resource_group"),
                            Column("machine", "machine"),
                            Column("last_attempt_desired_version", "target"),
                            Column(value("B"), "attempted", unit="dateTimeFromNow"),
                            Column("desired_version", "desired_version"),
                        ],
                        hide=("instance", value("A"), "status"),
                        sort=Sort("attempted", desc=True),
                    ),
                    12,
                ),
                (
                    timeseries_panel(
                        "Automatic upgrade over time",
                        "Machines with automatic upgrade on, and with a failed last attempt. "
                        f"{PER_SUBSCRIPTION}",
                        [
                            Series(f"sum({AUTOMATIC_UPGRADE})", "enabled"),
                            Series(f"sum({UPGRADE_FAILED})", "last attempt failed"),
                        ],
                        unit="short",
                        style=Style(fill=20, colours={"enabled": OK, "last attempt failed": BAD}),
                    ),
                    12,
                ),
            ),
        ],
    )


def _connection() -> Row:
    return Row(
        "Connection",
        cells(
            8,
            (
                table_panel(
                    "Disconnected and expired machines",
                    "Machines in status Disconnected or Expired, since when (properties.lastStatusChange) "
                    "and for how long.",
                    [
                        f"time() - azure_arc_machine_last_status_change_timestamp_seconds{{{SEL}}} "
                        f"and on ({MACHINE_ID}) ({DISCONNECTED})",
                        DISCONNECTED,
                        f"azure_arc_machine_last_status_change_timestamp_seconds{{{SEL}}} * 1000 "
                        f"and on ({MACHINE_ID}) ({DISCONNECTED})",
                    ],
                    [
                        Column("subscription_id", "subscription_id"),
                        Column("resource_group", "resource_group"),
                        Column("machine", "machine"),
                        Column(
                            "status",
                            "status",
                            mappings={s: ("", STATUS_COLOURS[s]) for s in ("Disconnected", "Expired")},
                            background=True,
                        ),
                        Column(value("C"), "since", unit="dateTimeAsIsoNoDateIfToday"),
                        Column(value("A"), "for", unit="dtdurations"),
                    ],
                    hide=("instance", value("B")),
                    sort=Sort("for", desc=True),
                ),
                12,
            ),
            (
                timeseries_panel(
                    "Machines by status over time",
                    f"properties.status of every machine, stacked. {PER_SUBSCRIPTION}",
                    [Series(f"sum by (status) ({AGENTS})", "{{status}}")],
                    unit="short",
                    style=Style(fill=20, stack=True, colours=STATUS_COLOURS),
                ),
                12,
            ),
        ),
    )


def _per_subscription() -> Row:
    measures = [
        ("machines", AGENTS),
        ("out of support", f'{SUPPORT}{{{FLEET}, state="unsupported"}}'),
        ("expiring", f'{SUPPORT}{{{FLEET}, state="expiring"}}'),
        ("unknown version", f'{SUPPORT}{{{FLEET}, state="unknown"}}'),
        ("automatic upgrade", AUTOMATIC_UPGRADE),
        ("upgrade failed", UPGRADE_FAILED),
        ("disconnected", f'azure_arc_agents{{{FLEET}, status="Disconnected"}}'),
        ("expired", f'azure_arc_agents{{{FLEET}, status="Expired"}}'),
    ]
    alarms = {"out of support": BAD, "expiring": "yellow", "upgrade failed": WARN, "expired": BAD}
    columns = [
        Column(
            "subscription_id",
            "subscription_id",
            link=dashboard_url(UID, "var-subscription=${__data.fields.subscription_id}"),
            link_title="Only this subscription",
        ),
        *(
            Column(
                value(chr(ord("A") + i)),
                title,
                unit="short",
                steps=((None, OK), (1, alarms[title])) if title in alarms else None,
            )
            for i, (title, _) in enumerate(measures)
        ),
    ]
    return Row(
        "Per subscription",
        cells(
            8,
            (
                table_panel(
                    "Subscriptions",
                    "Per subscription: machines, agents out of support or expiring, unknown versions, "
                    "automatic upgrade on, failed attempts, disconnected and expired machines. Click a "
                    "subscription to narrow the dashboard to it.",
                    [f"sum by (subscription_id) ({expr})" for _, expr in measures],
                    columns,
                    hide=("instance",),
                    sort=Sort("out of support", desc=True),
                ),
                24,
            ),
        ),
    )


def _freshness() -> Row:
    return Row(
        "Data freshness",
        cells(
            5,
            (source_up_stat(SOURCE, "Last refresh of the arc_agents source succeeded."), 5),
            (
                data_age_stat(
                    SOURCE,
                    "Time since the last successful refresh (default interval 5 minutes).",
                    warn=900,
                    crit=1800,
                ),
                5,
            ),
            (
                stat_panel(
                    "Release table behind",
                    "Releases newer than the exporter's release table; above 0, add them to "
                    "release_table_file (support of agents newer than the table cannot be judged).",
                    f"max(azure_arc_agent_release_table_versions_behind{{{JOB}}})",
                    steps=((None, OK), (1, BUSY)),
                ),
                4,
            ),
            (
                timeseries_panel(
                    "Azure calls per refresh",
                    "Calls the last successful refresh made: Resource Graph pages of both queries, and "
                    "agentVersions calls (0 unless agent_versions_api is on).",
                    [Series(f"azure_update_exporter_arc_requests_last_refresh{{{JOB}}}", "{{api}}")],
                    unit="short",
                ),
                5,
            ),
            (
                timeseries_panel(
                    "Errors by reason",
                    "Failed refreshes and odd input (unknown status, unreadable versions, failed Advisor "
                    "or agentVersions calls), per second by reason.",
                    [errors_by_reason_series(SOURCE)],
                    unit="ops",
                ),
                5,
            ),
        ),
    )
