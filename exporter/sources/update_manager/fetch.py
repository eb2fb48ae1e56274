"""The refresh: six paged Resource Graph queries (reference §6.2-6.4), nothing per machine.

Each query projects ``id`` and orders by it, so it costs ceil(rows / 1000) pages. A query that
fails keeps that table's rows from the previous snapshot (counted by reason, logged once), so a
failing table or subscription batch never blanks the others; only when every query fails does
the refresh fail and the whole last good snapshot stay.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from exporter.azure import resource_graph
from exporter.core.errors import classify, describe
from exporter.core.source import FetchContext, Issue
from exporter.sources.update_manager import parse
from exporter.sources.update_manager.fetch_combine import (
    configuration_states,
    machine_states,
    subscription_totals,
)
from exporter.sources.update_manager.fetch_graph import QuotaGraph
from exporter.sources.update_manager.model import Snapshot, Tables

if TYPE_CHECKING:
    from exporter.sources.update_manager import Options

MACHINES = """resources
| where type in~ ('microsoft.compute/virtualmachines', 'microsoft.hybridcompute/machines')
| extend osType = tostring(iff(type =~ 'microsoft.hybridcompute/machines', properties.osType,
                                properties.storageProfile.osDisk.osType))
| extend ps = iff(osType =~ 'windows', properties.osProfile.windowsConfiguration.patchSettings,
                                       properties.osProfile.linuxConfiguration.patchSettings)
| project id, name, type, subscriptionId, resourceGroup, location, tags, osType,
          patchMode = tostring(ps.patchMode),
          assessmentMode = tostring(ps.assessmentMode),
          bypassPlatformSafetyChecksOnUserSchedule =
              tobool(ps.automaticByPlatformSettings.bypassPlatformSafetyChecksOnUserSchedule),
          rebootSetting = tostring(ps.automaticByPlatformSettings.rebootSetting),
          enableHotpatching = tobool(ps.enableHotpatching),
          enableAutomaticUpdates = tobool(properties.osProfile.windowsConfiguration.enableAutomaticUpdates)
| order by id asc"""

ASSESSMENTS = """patchassessmentresources
| where type in~ ('microsoft.compute/virtualmachines/patchassessmentresults',
                  'microsoft.hybridcompute/machines/patchassessmentresults')
| project id, type, subscriptionId, resourceGroup,
          status = tostring(properties.status),
          osType = tostring(properties.osType),
          rebootPending = tobool(properties.rebootPending),
          startedBy = tostring(properties.startedBy),
          lastModifiedDateTime = tostring(properties.lastModifiedDateTime),
          availablePatchCountByClassification = properties.availablePatchCountByClassification
| order by id asc"""

INSTALLATIONS = """patchinstallationresources
| where type in~ ('microsoft.compute/virtualmachines/patchinstallationresults',
                  'microsoft.hybridcompute/machines/patchinstallationresults')
| extend machineId = tolower(substring(id, 0, indexof(tolower(id), '/patchinstallationresults/')))
| extend lastModified = todatetime(properties.lastModifiedDateTime)
| summarize arg_max(lastModified, *) by machineId
| project id, type, subscriptionId, resourceGroup,
          status = tostring(properties.status),
          startDateTime = tostring(properties.startDateTime),
          lastModifiedDateTime = tostring(properties.lastModifiedDateTime),
          installedPatchCount = toint(properties.installedPatchCount),
          failedPatchCount = toint(properties.failedPatchCount),
          pendingPatchCount = toint(properties.pendingPatchCount),
          excludedPatchCount = toint(properties.excludedPatchCount),
          notSelectedPatchCount = toint(properties.notSelectedPatchCount),
          maintenanceWindowExceeded = tobool(properties.maintenanceWindowExceeded),
          rebootStatus = tostring(properties.rebootStatus),
          startedBy = tostring(properties.startedBy),
          maintenanceRunId = tostring(properties.maintenanceRunId)
| order by id asc"""

CONFIGURATIONS = """resources
| where type =~ 'microsoft.maintenance/maintenanceconfigurations'
| where properties.maintenanceScope =~ 'InGuestPatch'
| project id, name, subscriptionId, resourceGroup, location, properties
| order by id asc"""

ASSIGNMENTS = """maintenanceresources
| where type =~ 'microsoft.maintenance/configurationassignments'
| project id, subscriptionId, properties
| order by id asc"""

# One row per (configuration, run, status): a run's machines are summarized in the query, so
# 30 days of runs over a large estate still fit in a page or two.
RUNS = """maintenanceresources
| where type in~ ('microsoft.maintenance/applyupdates',
                  'microsoft.maintenance/maintenanceconfigurations/applyupdates')
| where properties.maintenanceScope =~ 'InGuestPatch'
| extend configurationId = tolower(tostring(properties.maintenanceConfigurationId)),
         runId = tolower(tostring(properties.correlationId)),
         status = tostring(properties.status)
| summarize machines = count(), startDateTime = min(todatetime(properties.startDateTime)),
            endDateTime = max(todatetime(properties.endDateTime)) by configurationId, runId, status
| project id = strcat(runId, '#', tolower(status)), configurationId, runId, status, machines,
          startDateTime, endDateTime
| order by id asc"""

Parser = Callable[[list[dict[str, Any]], list[Issue]], tuple[Any, ...]]
QUERIES: tuple[tuple[str, str, str, Parser], ...] = (
    # (query label, table field, KQL, parser)
    ("machines", "machines", MACHINES, parse.parse_machines),
    ("assessments", "assessments", ASSESSMENTS, parse.parse_assessments),
    ("installations", "installations", INSTALLATIONS, parse.parse_installations),
    ("maintenance_configurations", "configurations", CONFIGURATIONS, parse.parse_configurations),
    ("configuration_assignments", "assignments", ASSIGNMENTS, parse.parse_assignments),
    ("maintenance_runs", "runs", RUNS, parse.parse_runs),
)


def fetch(ctx: FetchContext[Options, Snapshot]) -> Snapshot:
    opts = ctx.options
    azure = ctx.azure
    graph = QuotaGraph(azure.resource_graph(), deadline=time.monotonic() + ctx.timeout)
    previous = ctx.previous.tables if ctx.previous is not None else Tables()
    tables = previous
    scope = azure.scope()  # this replica's subscriptions (all of azure.subscriptions unsharded)
    issues: list[Issue] = []
    failures: list[Exception] = []
    for label, table, kql, parser in QUERIES:
        graph.current = label
        try:
            rows = resource_graph.query_in(graph, kql, scope)
        except Exception as exc:  # noqa: BLE001 - classified and counted; the previous rows stay
            failures.append(exc)
            ctx.problem(
                classify(exc),
                "update_manager query failed; keeping its previous rows",
                key=f"query|{label}|{classify(exc).value}",
                query=label,
                error=describe(exc),
            )
            continue
        tables = replace(tables, **{table: parser(rows, issues)})
    if len(failures) == len(QUERIES):
        raise failures[0]
    already = {i.key for i in ctx.previous.issues} if ctx.previous is not None else set()
    ctx.report(issues, already_reported=already)
    now = ctx.now()
    machines = machine_states(tables)
    return Snapshot(
        tables=tables,
        machines=machines,
        configurations=configuration_states(tables, machines, now),
        subscriptions=subscription_totals(machines, now, timedelta(seconds=opts.assessment_stale_after)),
        computed_at=now,
        pages=tuple((label, graph.pages[label]) for label, *_ in QUERIES),
        per_machine=not opts.aggregates_only,
        issues=tuple(issues),
    )
