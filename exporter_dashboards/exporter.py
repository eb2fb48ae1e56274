"""Azure Update / Exporter: health of the exporter itself, every source side by side."""

from __future__ import annotations

from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from exporter_dashboards.common import (
    BAD,
    JOB,
    OK,
    UP_DOWN,
    WARN,
    Column,
    Row,
    Series,
    Style,
    cells,
    dashboard,
    job_variable,
    stat_panel,
    table_panel,
    timeseries_panel,
)

FILE = "exporter.json"
UID = "azure-update-exporter"

PER_SOURCE = cm.BigValueTextMode.VALUE_AND_NAME


def build() -> dm.Dashboard:
    freshness = Row(
        "Freshness",
        cells(
            5,
            (
                stat_panel(
                    "Source up",
                    "1 when the source's last refresh succeeded. While 0, the last good data stays "
                    "exposed and ages (see Data age).",
                    f"azure_update_exporter_source_up{{{JOB}}}",
                    legend="{{source}}",
                    steps=((None, BAD), (1, OK)),
                    mappings=[UP_DOWN],
                    text_mode=PER_SOURCE,
                ),
                8,
            ),
            (
                stat_panel(
                    "Data age",
                    "Time since each source's last successful refresh (compare with its interval).",
                    f"time() - azure_update_exporter_source_last_success_timestamp_seconds{{{JOB}}}",
                    legend="{{source}}",
                    unit="s",
                    decimals=0,
                    steps=((None, OK), (900, WARN), (1800, BAD)),
                    text_mode=PER_SOURCE,
                ),
                8,
            ),
            (
                stat_panel(
                    "Consecutive failures",
                    "Failed refreshes in a row per source; 0 after a success. The source-down "
                    "alert fires on a sustained failure.",
                    f"azure_update_exporter_source_consecutive_failures{{{JOB}}}",
                    legend="{{source}}",
                    steps=((None, OK), (1, WARN), (3, BAD)),
                    text_mode=PER_SOURCE,
                ),
                8,
            ),
        ),
    )
    refreshes = Row(
        "Refreshes",
        cells(
            8,
            (
                timeseries_panel(
                    "Refresh duration",
                    "Duration of each source's last refresh, successful or not (bounded by the "
                    "source's timeout).",
                    [Series(f"azure_update_exporter_source_refresh_duration_seconds{{{JOB}}}", "{{source}}")],
                    unit="s",
                    style=Style(legend_table=True, legend_calcs=("lastNotNull", "max")),
                ),
                12,
            ),
            (
                timeseries_panel(
                    "Errors by reason",
                    "Failed refreshes and partial problems (one subscription's 403, an unknown "
                    "enum value) per source and reason, per second.",
                    [
                        Series(
                            "sum by (source, reason) (rate(azure_update_exporter_source_errors_total"
                            f"{{{JOB}}}[$__rate_interval]))",
                            "{{source}} {{reason}}",
                        )
                    ],
                    unit="ops",
                ),
                12,
            ),
        ),
    )
    azure_api = Row(
        "Azure API",
        [
            *cells(
                8,
                (
                    timeseries_panel(
                        "Requests by API and code",
                        "HTTP requests to Azure per attempt (retries count) by API and status code; "
                        'code "error" when no response came.',
                        [
                            Series(
                                "sum by (api, code) (rate(azure_update_exporter_azure_requests_total"
                                f"{{{JOB}}}[$__rate_interval]))",
                                "{{api}} {{code}}",
                            )
                        ],
                        unit="reqps",
                    ),
                    12,
                ),
                (
                    timeseries_panel(
                        "Throttled (429) by API",
                        "Azure answers with 429 per API: the exporter is using up a quota (Resource "
                        "Graph, ARM reads, IMDS).",
                        [
                            Series(
                                "sum by (api) (rate(azure_update_exporter_azure_throttled_total"
                                f"{{{JOB}}}[$__rate_interval]))",
                                "{{api}}",
                            )
                        ],
                        unit="reqps",
                    ),
                    12,
                ),
            ),
            *cells(
                4,
                (
                    table_panel(
                        "Build",
                        "Version, revision and Python version of every exporter instance.",
                        [f"azure_update_exporter_build_info{{{JOB}}}"],
                        [
                            Column("instance", "Instance"),
                            Column("version", "Version"),
                            Column("revision", "Revision"),
                            Column("python_version", "Python"),
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
        title="Azure Update / Exporter",
        description="Health of azure-update-exporter itself: per-source freshness, refresh errors by "
        "reason, Azure request and throttling rates.",
        variables=[job_variable(None)],
        rows=[freshness, refreshes, azure_api],
    )
