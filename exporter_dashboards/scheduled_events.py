"""Azure Update / Scheduled Events: upcoming maintenance per VM with countdowns (IMDS)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import table
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from exporter_dashboards.common import (
    JOB,
    OK,
    WARN,
    Column,
    Row,
    Series,
    Sort,
    Style,
    cells,
    count_stat,
    dashboard,
    data_age_stat,
    errors_by_reason_series,
    job_variable,
    organize,
    query_variable,
    source_up_stat,
    stat_panel,
    table_panel,
    timeseries_panel,
    value,
)

FILE = "scheduled-events.json"
UID = "azure-update-scheduled-events"
SOURCE = "scheduled_events"

SEL = f'{JOB}, node=~"$node"'
INFO = f"azure_scheduled_event_info{{{SEL}}}"
STATUS = f"azure_scheduled_event_status{{{SEL}}}"
EVENT = "job, instance, event_id"
# The info series (fixed for an event's life) with the event's current status and its description
# (empty when Azure sends none) joined on: one row per event and affected VM.
DESCRIPTION = (
    f"(azure_scheduled_event_description_info{{{SEL}}} or on ({EVENT}) "
    f"group by ({EVENT}, event_type, node) ({STATUS}))"
)
EVENTS = (
    f"({INFO} * on ({EVENT}) group_left (event_status) ({STATUS} == 1) "
    f"* on ({EVENT}) group_left (description) {DESCRIPTION})"
)
UNTIL = f"azure_scheduled_event_seconds_until_not_before{{{SEL}}}"
# Red when due within a minute, orange within 15 minutes, yellow within the hour.
COUNTDOWN = ((None, "red"), (60, "orange"), (900, "yellow"), (3600, OK))
INFO_JOIN = "* on (job, instance, event_id, resource) group_left (event_status, event_source, description)"


def distinct_events(status: str) -> str:
    # An event for an availability set or scale set is reported by every member: count it once.
    return f'count(group by (event_id) (azure_scheduled_event_status{{{SEL}, event_status="{status}"}} == 1))'


def build() -> dm.Dashboard:
    upcoming = Row(
        "Upcoming events",
        [
            *cells(
                4,
                (
                    count_stat(
                        "Scheduled events",
                        "Distinct events announced and not yet started (an event for an availability set "
                        "or scale set counts once, however many nodes report it).",
                        distinct_events("Scheduled"),
                        alarm=WARN,
                    ),
                    4,
                ),
                (
                    count_stat(
                        "Started events",
                        "Distinct events in progress.",
                        distinct_events("Started"),
                        alarm=WARN,
                    ),
                    4,
                ),
                (
                    stat_panel(
                        "Next event starts in",
                        "Shortest time until NotBefore over all scheduled events (computed at scrape "
                        "time; negative: due, waiting to start).",
                        f"min({UNTIL})",
                        unit="s",
                        steps=COUNTDOWN,
                        no_value="none scheduled",
                    ),
                    4,
                ),
                (
                    stat_panel(
                        "Scheduled events by type",
                        "Distinct scheduled events per type right now.",
                        "count by (event_type) (group by (event_id, event_type) (azure_scheduled_event_status"
                        f'{{{SEL}, event_status="Scheduled"}} == 1)) '
                        "or on (event_type) (0 * max by (event_type) "
                        f"(azure_scheduled_events{{{SEL}}}))",
                        legend="{{event_type}}",
                        steps=((None, OK), (1, WARN)),
                        text_mode=cm.BigValueTextMode.VALUE_AND_NAME,
                        orientation=cm.VizOrientation.VERTICAL,
                    ),
                    12,
                ),
            ),
            *cells(
                9,
                (
                    table_panel(
                        "Upcoming events",
                        "Every scheduled event and affected VM with a live countdown to NotBefore (the "
                        "earliest start). Events for an availability set or scale set are reported by every "
                        "member: the Reported by column names the exporter instance, VM the affected "
                        "resource.",
                        [
                            f"{UNTIL} {INFO_JOIN} {EVENTS}",
                            f"azure_scheduled_event_not_before_timestamp_seconds"
                            f"{{{SEL}}} * 1000 {INFO_JOIN} {EVENTS}",
                        ],
                        [
                            Column(value("A"), "Starts in", unit="s", steps=COUNTDOWN),
                            Column(value("B"), "Not before", unit="dateTimeFromNow"),
                            Column("event_type", "Type"),
                            Column("resource", "VM"),
                            Column("node", "Node"),
                            Column("instance", "Reported by"),
                            Column("event_source", "Source"),
                            Column("event_status", "Status"),
                            Column("event_id", "Event id"),
                            Column("description", "Description"),
                        ],
                        hide=("resource_type",),
                        sort=Sort("Starts in"),
                    ),
                    24,
                ),
            ),
            *cells(7, (_in_progress_table(), 24)),
        ],
    )
    over_time = Row(
        "Over time",
        cells(
            8,
            (
                timeseries_panel(
                    "Events by type over time",
                    "Distinct events per type and status (an event reported by several VMs of one set "
                    "counts once).",
                    [
                        Series(
                            "count by (event_type, event_status) (group by (event_id, event_type, "
                            f"event_status) ({STATUS} == 1))",
                            "{{event_type}} {{event_status}}",
                        )
                    ],
                    unit="short",
                    decimals=0,
                    style=Style(
                        fill=20,
                        stack=True,
                        step=True,
                        legend_table=True,
                        legend_right=True,
                        legend_calcs=("max",),
                    ),
                ),
                12,
            ),
            (
                timeseries_panel(
                    "Time until NotBefore",
                    "Countdown per event and VM; a line ends when the event starts (NotBefore is "
                    "emptied) or is cancelled. The line marks 15 minutes.",
                    [Series(UNTIL, "{{event_type}} {{resource}} {{event_id}}")],
                    unit="s",
                    minimum=None,
                    steps=((None, OK), (900, "red")),
                    style=Style(fill=0, sort=cm.SortOrder.ASCENDING),
                ),
                12,
            ),
        ),
    )
    per_node = Row(
        "Per node",
        cells(
            8,
            (
                table_panel(
                    "Per node",
                    "One row per exporter (VM or Kubernetes node): events it sees, time to its next event "
                    "and document incarnation.",
                    [
                        "sum by (job, instance, node) "
                        f'(azure_scheduled_events{{{SEL}, event_status="Scheduled"}})',
                        "sum by (job, instance, node) "
                        f'(azure_scheduled_events{{{SEL}, event_status="Started"}})',
                        f"min by (job, instance, node) ({UNTIL})",
                        "max by (job, instance, node) "
                        f"(azure_scheduled_events_document_incarnation{{{SEL}}})",
                    ],
                    [
                        Column("instance", "Instance"),
                        Column("node", "Node"),
                        Column(value("A"), "Scheduled"),
                        Column(value("B"), "Started"),
                        Column(value("C"), "Next event in", unit="s", steps=COUNTDOWN),
                        Column(value("D"), "Document incarnation"),
                    ],
                ),
                24,
            ),
        ),
    )
    freshness = Row(
        "Data freshness",
        cells(
            5,
            (
                source_up_stat(
                    SOURCE,
                    "azure_update_exporter_source_up of the scheduled_events source per exporter: 0 when the "
                    "last poll of IMDS failed (off Azure, IMDS unreachable, throttled); the last good events "
                    "are kept meanwhile.",
                    per_instance=True,
                    title="IMDS polling up",
                ),
                8,
            ),
            (
                data_age_stat(
                    SOURCE,
                    "Time since the last successful IMDS poll per exporter (the source polls every second).",
                    warn=10,
                    crit=60,
                    per_instance=True,
                ),
                8,
            ),
            (
                timeseries_panel(
                    "IMDS requests and errors",
                    "IMDS answers per status code (429: rate limit of 5 requests/s per VM; error: no "
                    "answer) and the source's errors by reason.",
                    [
                        Series(
                            "sum by (code) (rate(azure_update_exporter_azure_requests_total"
                            f'{{{JOB}, api="imds"}}[$__rate_interval]))',
                            "HTTP {{code}}",
                        ),
                        errors_by_reason_series(SOURCE, legend_prefix="error "),
                    ],
                    unit="reqps",
                ),
                8,
            ),
        ),
    )
    return dashboard(
        uid=UID,
        title="Azure Update / Scheduled Events",
        description="VM Scheduled Events from the Instance Metadata Service (azure-update-exporter source "
        "scheduled_events): upcoming maintenance, evictions and deletions per VM, with countdowns.",
        variables=[
            job_variable(SOURCE),
            query_variable("node", "Node", f"label_values(azure_scheduled_events{{{JOB}}}, node)"),
        ],
        rows=[upcoming, over_time, per_node, freshness],
    )


def _in_progress_table() -> table.Panel:
    # Two queries joined on the event id (an info row per resource, a duration per event).
    columns = [
        Column("event_id", "Event id"),
        Column("event_type 1", "Type"),
        Column("event_status", "Status"),
        Column("resource", "VM"),
        Column("node 1", "Node"),
        Column("instance 1", "Reported by"),
        Column("event_source", "Source"),
        Column(value("B"), "Expected impact", unit="s"),
        Column("description", "Description"),
    ]
    hidden = (
        "Time",
        "Time 1",
        "Time 2",
        "__name__",
        "__name__ 1",
        "__name__ 2",
        value("A"),
        "job",
        "job 1",
        "job 2",
        "instance 2",
        "node 2",
        "event_type 2",
        "resource_type",
    )
    return table_panel(
        "Events in progress and expected impact",
        "Pending and started events (NotBefore is emptied once an event starts; Azure removes it about "
        "10 minutes later) with the expected impact of each (DurationInSeconds; empty when Azure sends "
        "-1, unknown).",
        [EVENTS, f"azure_scheduled_event_duration_seconds{{{SEL}}}"],
        columns,
        transformations=[
            dm.DataTransformerConfig(id_val="joinByField", options={"byField": "event_id", "mode": "outer"}),
            organize(
                columns,
                hide=hidden,
                aliases={"event_type": "Type", "node": "Node", "instance": "Reported by"},
            ),
        ],
    )
