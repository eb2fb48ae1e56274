"""Azure Update / Estate overview: every source's headline side by side, exporter health, and one
table of resource groups joined across sources on (subscription_id, resource_group).

Data-driven: each source is one `SourceRow` in `SOURCES` (headline stats for its row, columns for
the resource table, the dashboard to drill into). Adding a source is adding one entry.

"Not enabled": a source the exporter does not run has no `azure_update_exporter_source_up` series.
Every query of a source's row ends in a fallback chain, so it always returns a number:
the source's own value if any, else 0 when the source runs (nothing to count), else -1
(`NOT_ENABLED`), which a value mapping shows as "not enabled" in grey.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import stat
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from exporter_dashboards import azure_stack_updates, scheduled_events, vmss_os_upgrades
from exporter_dashboards.common import (
    BAD,
    BUSY,
    DISABLED,
    JOB,
    NEUTRAL,
    OK,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    UID_PREFIX,
    WARN,
    Cell,
    Column,
    Row,
    Sort,
    cells,
    count_stat,
    dashboard,
    dashboard_url,
    job_variable,
    resource_group_variable,
    stat_panel,
    subscription_variable,
    table_panel,
    value,
    value_map,
)

FILE = "overview.json"
UID = f"{UID_PREFIX}overview"

NOT_ENABLED = -1
NOT_ENABLED_TEXT = "not enabled"
SUB_RG = f"{JOB}, {SUBSCRIPTION}, {RESOURCE_GROUP}"
IDENTITY = "subscription_id, resource_group"


@dataclass(frozen=True)
class Headline:
    """One number in a source's row: `expr` is a PromQL count (an empty result means 0)."""

    title: str
    description: str
    expr: str
    alarm: str = BAD  # colour from 1 up; 0 is green


@dataclass(frozen=True)
class ResourceColumn:
    """One column of the resource table: `expr` aggregated `by (subscription_id, resource_group)`,
    filtered with `SUB_RG` (or an equivalent) so the table's variables apply."""

    title: str
    expr: str
    alarm: str | None = BAD  # None: a plain count (an inventory), not a problem


@dataclass(frozen=True)
class SourceRow:
    source: str  # the `source` label of azure_update_exporter_source_up
    title: str
    dashboard_uid: str | None  # the source's own dashboard (drill-down), if it has one
    headlines: Sequence[Headline]
    # Series that put a resource group in the table (with subscription_id and resource_group).
    inventory: str | None = None
    columns: Sequence[ResourceColumn] = ()
    # The source's dashboard has `subscription` and `resource_group` variables (table drill-down).
    filters_by_resource_group: bool = False


def enabled(source: str) -> str:
    return f'group(azure_update_exporter_source_up{{{JOB}, source="{source}"}})'


def or_not_enabled(expr: str, source: str, *, on: str = "", base: str = "") -> str:
    """`expr`, else 0 while `source` runs, else NOT_ENABLED. With `on` and `base`, per row of
    `base` (label set `on`) instead of one number."""
    state = f"(0 * {enabled(source)}) or on () vector({NOT_ENABLED})"  # 0 or NOT_ENABLED
    if not on:
        return f"({expr}) or on () {state}"
    return f"({expr}) or on ({on}) ({base} * on () group_left () ({state}))"


SE_UNTIL = f"azure_scheduled_event_seconds_until_not_before{{{JOB}}}"
LOCAL = 'platform="local"'

SOURCES: tuple[SourceRow, ...] = (
    SourceRow(
        "subscriptions",
        "Subscriptions",
        None,
        [
            Headline(
                "Subscriptions visible",
                "Subscriptions the exporter's identity can read: the scope of every other source.",
                f"count(azure_subscription_info{{{JOB}}})",
                alarm=NEUTRAL,
            ),
            Headline(
                "Subscriptions not Enabled",
                "Visible subscriptions in a state other than Enabled (Warned, PastDue, Disabled, Deleted): "
                "resources there are read-only or gone.",
                f'count(azure_subscription_state{{{JOB}, state!="Enabled"}} == 1)',
                alarm=WARN,
            ),
        ],
    ),
    SourceRow(
        "scheduled_events",
        "Scheduled Events",
        scheduled_events.UID,
        [
            Headline(
                "Events within the hour",
                "Distinct Scheduled Events whose NotBefore is less than an hour away or passed (waiting "
                "to start); an event reported by several VMs counts once.",
                f"count(group by (event_id) ({SE_UNTIL} < 3600))",
                alarm=WARN,
            ),
            Headline(
                "Events in progress",
                "Distinct events that have started (VMs paused, rebooting or being redeployed now).",
                "count(group by (event_id) "
                f'(azure_scheduled_event_status{{{JOB}, event_status="Started"}} == 1))',
                alarm=BUSY,
            ),
        ],
    ),
    SourceRow(
        "vmss_os_upgrades",
        "VMSS OS upgrades",
        vmss_os_upgrades.UID,
        [
            Headline(
                "Scale sets upgrading",
                "Scale sets whose latest OS image upgrade is RollingForward or RollingBack.",
                f'count(azure_vmss_os_upgrade_status{{{JOB}, code=~"RollingForward|RollingBack"}} == 1)',
                alarm=BUSY,
            ),
            Headline(
                "Upgrades faulted",
                "Scale sets whose latest OS image upgrade is Faulted.",
                f'count(azure_vmss_os_upgrade_status{{{JOB}, code="Faulted"}} == 1)',
            ),
            Headline(
                "Failed instances",
                "Instances that failed in the latest OS image upgrades.",
                f'sum(azure_vmss_os_upgrade_instances{{{JOB}, state="failed"}}) > 0',
            ),
        ],
        inventory=f"azure_vmss_info{{{SUB_RG}}}",
        columns=[
            ResourceColumn("Scale sets", f"count by ({IDENTITY}) (azure_vmss_info{{{SUB_RG}}})", None),
            ResourceColumn(
                "Scale sets upgrading",
                f"count by ({IDENTITY}) "
                f'(azure_vmss_os_upgrade_status{{{SUB_RG}, code=~"RollingForward|RollingBack"}} == 1)',
                BUSY,
            ),
            ResourceColumn(
                "Failed instances",
                f'sum by ({IDENTITY}) (azure_vmss_os_upgrade_instances{{{SUB_RG}, state="failed"}}) > 0',
            ),
        ],
        filters_by_resource_group=True,
    ),
    SourceRow(
        "azure_stack_updates",
        "Azure Stack updates",
        azure_stack_updates.UID,
        [
            Headline(
                "Stamps updating",
                "Azure Stack Hub stamps and Azure Local clusters with an update in progress.",
                f"count(azure_stack_update_in_progress{{{JOB}}} == 1)",
                alarm=BUSY,
            ),
            Headline(
                "Stamps with a failed run",
                "Stamps whose latest run of some update ended Failed and was not resumed yet.",
                "count(count by (platform, subscription_id, resource_group, stamp) "
                f'(azure_stack_update_run_state{{{JOB}, state="Failed"}} == 1))',
            ),
            Headline(
                "Update APIs unreachable",
                "Stamps whose update API the exporter could not read on its last try.",
                f"count(azure_stack_update_api_up{{{JOB}}} == 0)",
            ),
        ],
        # Azure Local clusters only: a Hub stamp's subscription_id and resource_group are those of
        # its own admin ARM (Default Provider Subscription, system.<region>), not of the estate.
        inventory=f"azure_stack_update_stamp_info{{{SUB_RG}, {LOCAL}}}",
        columns=[
            ResourceColumn(
                "Azure Local clusters updating",
                f"sum by ({IDENTITY}) (azure_stack_update_in_progress{{{SUB_RG}, {LOCAL}}})",
                BUSY,
            ),
            ResourceColumn(
                "Azure Local runs failed",
                f"count by ({IDENTITY}) "
                f'(azure_stack_update_run_state{{{SUB_RG}, {LOCAL}, state="Failed"}} == 1) > 0',
            ),
        ],
    ),
    # Planned sources (arc_agents, update_manager): metric names as their issues name them; check
    # them against docs/metrics.md once those sources are merged.
    SourceRow(
        "arc_agents",
        "Arc agents",
        f"{UID_PREFIX}arc-agents",
        [
            Headline(
                "Agents out of support",
                "Arc-enabled machines whose Connected Machine agent is older than its one-year support "
                "window.",
                f'sum(azure_arc_agent_support_machines{{{JOB}, state="unsupported"}})',
            ),
            Headline(
                "Support ends soon",
                "Machines whose agent leaves support within `expiring_within` (30 days by default).",
                f'sum(azure_arc_agent_support_machines{{{JOB}, state="expiring"}})',
                alarm=WARN,
            ),
            Headline(
                "Machines disconnected",
                "Arc machines that stopped sending heartbeats (Disconnected).",
                f'sum(azure_arc_agents{{{JOB}, status="Disconnected"}})',
                alarm=WARN,
            ),
        ],
        inventory=f"azure_arc_machine_info{{{SUB_RG}}}",
        columns=[
            ResourceColumn(
                "Agents out of support", f"count by ({IDENTITY}) (azure_arc_agent_supported{{{SUB_RG}}} == 0)"
            ),
        ],
        filters_by_resource_group=True,
    ),
    SourceRow(
        "update_manager",
        "Update Manager",
        f"{UID_PREFIX}update-manager",
        [
            Headline(
                "Critical patches pending",
                "Machines (Azure VMs and Arc) with at least one critical patch pending in their last "
                "assessment.",
                "sum(azure_update_manager_machines_with_pending_patches"
                f'{{{JOB}, classification="critical"}})',
            ),
            Headline(
                "Stale assessments",
                "Machines whose last patch assessment is older than `assessment_stale_after` (2 days by "
                "default) or missing for 7 days: their pending counts are not current.",
                "sum(azure_update_manager_machines_by_assessment_freshness"
                f'{{{JOB}, freshness=~"stale|none"}})',
                alarm=WARN,
            ),
            Headline(
                "Reboot pending",
                "Machines waiting for a reboot to finish installing patches.",
                f"sum(azure_update_manager_machines_reboot_pending{{{JOB}}})",
                alarm=WARN,
            ),
        ],
        inventory=f"azure_update_manager_machine_reboot_pending{{{SUB_RG}}}",
        columns=[
            ResourceColumn(
                "Machines with critical patches",
                f"count by ({IDENTITY}) "
                f'(azure_update_manager_machine_pending_patches{{{SUB_RG}, classification="critical"}} > 0)',
            ),
            ResourceColumn(
                "Stale assessments",
                f"count by ({IDENTITY}) "
                f"(time() - azure_update_manager_machine_assessment_timestamp_seconds{{{SUB_RG}}} > 172800)",
                WARN,
            ),
        ],
        filters_by_resource_group=True,
    ),
)

NOT_ENABLED_MAP = value_map({str(NOT_ENABLED): (NOT_ENABLED_TEXT, DISABLED)})
SOURCE_STATE_MAP = value_map(
    {str(NOT_ENABLED): (NOT_ENABLED_TEXT, DISABLED), "0": ("failing", BAD), "1": ("up", OK)}
)


def _drill_down(panel: stat.Panel, row: SourceRow) -> stat.Panel:
    if row.dashboard_uid is None:
        return panel
    return panel.links(
        [
            db.DashboardLink(f"{row.title} dashboard")
            .type(dm.DashboardLinkType.LINK)
            .url(dashboard_url(row.dashboard_uid))
        ]
    )


def source_row(row: SourceRow) -> Row:
    status = stat_panel(
        "Source",
        f"State of the {row.source} source: up (last refresh succeeded), failing (the last refresh "
        "failed on at least one exporter instance; the numbers beside it are the last good data), or "
        "not enabled in this exporter.",
        f'min(azure_update_exporter_source_up{{{JOB}, source="{row.source}"}}) or on () '
        f"vector({NOT_ENABLED})",
        steps=((None, BAD), (1, OK)),
        mappings=[SOURCE_STATE_MAP],
        no_value=NOT_ENABLED_TEXT,
    )
    headlines = [
        stat_panel(
            h.title,
            h.description,
            or_not_enabled(h.expr, row.source),
            steps=((None, OK), (1, h.alarm)),
            mappings=[NOT_ENABLED_MAP],
            no_value=NOT_ENABLED_TEXT,
        )
        for h in row.headlines
    ]
    width = (24 - 4) // max(len(headlines), 1)
    return Row(
        row.title,
        [Cell(_drill_down(status, row), 4, 4), *(Cell(_drill_down(p, row), width, 4) for p in headlines)],
    )


def exporter_health() -> Row:
    source_up = f"azure_update_exporter_source_up{{{JOB}}}"
    return Row(
        "Exporter health",
        cells(
            4,
            (
                stat_panel(
                    "Sources up",
                    "Enabled sources whose last refresh succeeded.",
                    f"count({source_up} == 1) or vector(0)",
                    steps=((None, NEUTRAL),),
                ),
                4,
            ),
            (
                count_stat(
                    "Sources failing",
                    "Enabled sources whose last refresh failed (their last good data stays and ages).",
                    f"count({source_up} == 0)",
                ),
                4,
            ),
            (
                stat_panel(
                    "Oldest data",
                    "Age of the oldest source's data: time since its last successful refresh.",
                    f"max(time() - azure_update_exporter_source_last_success_timestamp_seconds{{{JOB}}})",
                    unit="s",
                    decimals=0,
                    steps=((None, OK), (900, WARN), (1800, BAD)),
                ),
                4,
            ),
            (
                count_stat(
                    "Refresh errors (1 h)",
                    "Failed refreshes and partial problems of every source in the last hour.",
                    f"round(sum(increase(azure_update_exporter_source_errors_total{{{JOB}}}[1h])))",
                    alarm=WARN,
                ),
                4,
            ),
            (
                count_stat(
                    "Azure throttling (1 h)",
                    "Answers with 429 from any Azure API in the last hour.",
                    f"round(sum(increase(azure_update_exporter_azure_throttled_total{{{JOB}}}[1h])))",
                    alarm=WARN,
                ),
                4,
            ),
            (
                stat_panel(
                    "Exporter version",
                    "Versions of the exporter instances (more than one during a rollout).",
                    f"count by (version) (azure_update_exporter_build_info{{{JOB}}})",
                    legend="{{version}}",
                    steps=((None, NEUTRAL),),
                    text_mode=cm.BigValueTextMode.NAME,
                ),
                4,
            ),
        ),
    )


def base() -> str:
    """Every resource group some source has a resource in (the table's rows)."""
    inventories = " or ".join(row.inventory for row in SOURCES if row.inventory)
    return f"group by ({IDENTITY}) ({inventories})"


def resource_table() -> Cell:
    rows_base = base()
    exprs = [
        f"{rows_base} * on (subscription_id) group_left (display_name) "
        f"group by (subscription_id, display_name) (azure_subscription_info{{{JOB}}}) or {rows_base}"
    ]
    columns = [
        Column("display_name", "Subscription"),
        Column("subscription_id", "subscription_id"),
        Column("resource_group", "resource_group"),
    ]
    for row in SOURCES:
        for column in row.columns:
            ref = chr(ord("A") + len(exprs))
            exprs.append(or_not_enabled(column.expr, row.source, on=IDENTITY, base=rows_base))
            steps = ((None, "transparent"), (1, column.alarm)) if column.alarm else None
            columns.append(
                Column(
                    value(ref),
                    column.title,
                    mappings={str(NOT_ENABLED): (NOT_ENABLED_TEXT, DISABLED)},
                    steps=steps,
                    link=_table_link(row),
                    link_title=f"{row.title} dashboard",
                )
            )
    panel = table_panel(
        "Resource groups across sources",
        "One row per resource group that any source has a resource in, joined on subscription_id and "
        "resource_group; a cell links to that source's dashboard (filtered to the resource group where "
        'the dashboard can). "not enabled": the exporter does not run that source. Azure Stack Hub stamps '
        "(their subscription is the stamp's own admin subscription) and Scheduled Events (IMDS names VMs "
        "only by name) have no resource group of the estate and are counted in their rows above.",
        exprs,
        columns,
        hide=(value("A"), "instance"),
        sort=Sort("Subscription"),
    )
    return Cell(panel, 24, 10)


def _table_link(row: SourceRow) -> str | None:
    if row.dashboard_uid is None:
        return None
    if not row.filters_by_resource_group:
        return dashboard_url(row.dashboard_uid)
    return dashboard_url(
        row.dashboard_uid,
        "var-subscription=${__data.fields.subscription_id}",
        "var-resource_group=${__data.fields.resource_group}",
    )


def build() -> dm.Dashboard:
    return dashboard(
        uid=UID,
        title="Azure Update / Estate overview",
        description="Every source of azure-update-exporter side by side: one row of headline numbers per "
        'source ("not enabled" where the exporter does not run it), exporter health, and resource '
        "groups joined across sources, with links into each source's dashboard.",
        variables=[
            job_variable(None),
            subscription_variable("azure_subscription_info", description="Filters the resource table."),
            resource_group_variable(description="Filters the resource table."),
        ],
        rows=[
            *(source_row(row) for row in SOURCES),
            exporter_health(),
            Row("Resource groups", [resource_table()]),
        ],
        overview_link=False,
    )
