"""The Azure calls of one refresh (reference §5.3, §6.1): one paged Resource Graph query over
``microsoft.hybridcompute/machines``, the Advisor cross-check (one more Resource Graph query, a
``summarize`` of a few rows) and, when enabled, the tenant-level ``agentVersions`` API. Nothing is
read per machine, so a refresh costs Resource Graph pages only.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exporter.azure import arm, resource_graph
from exporter.core.errors import Reason, classify, describe
from exporter.core.source import Issue
from exporter.sources.arc_agents.model import ReleaseTable, Snapshot, Version
from exporter.sources.arc_agents.parse import (
    Inputs,
    Problems,
    build_snapshot,
    parse_advisor,
    parse_agent_versions,
    parse_estate_versions,
    parse_machines,
    query_time,
)
from exporter.sources.arc_agents.parse_releases import build_table, packaged_text

if TYPE_CHECKING:
    from azure.core.rest import HttpRequest, HttpResponse

    from exporter.core.source import FetchContext
    from exporter.sources.arc_agents import Options

# Reference §5.3 plus the agentUpgrade fields and `queriedAt = now()`: support is judged at the
# service's time of the query, so the exposition needs no scrape-time clock (and a simulator's
# virtual clock moves it). lastAttemptMessage is free text and never a label: not read.
MACHINES_QUERY = """resources
| where type =~ 'microsoft.hybridcompute/machines'
| extend p = properties
| project id, name, subscriptionId, resourceGroup, location, kind,
          status = tostring(p.status),
          lastStatusChange = todatetime(p.lastStatusChange),
          agentVersion = tostring(p.agentVersion),
          osType = tostring(p.osType), osSku = tostring(p.osSku),
          enableAutomaticUpgrade = tobool(p.agentUpgrade.enableAutomaticUpgrade),
          desiredVersion = tostring(p.agentUpgrade.desiredVersion),
          lastAttemptStatus = tostring(p.agentUpgrade.lastAttemptStatus),
          lastAttemptTimestamp = todatetime(p.agentUpgrade.lastAttemptTimestamp),
          lastAttemptDesiredVersion = tostring(p.agentUpgrade.lastAttemptDesiredVersion),
          queriedAt = now()
| order by id asc"""

# Sharded replicas read only their subscriptions' machines; the releases installed anywhere in the
# tenant (for "newest known") come from this summary: one row per release, one page.
ESTATE_VERSIONS_QUERY = """resources
| where type =~ 'microsoft.hybridcompute/machines'
| summarize machines = count() by agentVersion = tostring(properties.agentVersion)"""

# Microsoft's sample "Arc-enabled servers not running the latest released agent version" (Learn,
# Resource Graph samples for Arc) matches the recommendation by its solution text; summarised to one
# row per latestVersion, so it is one page however many machines are behind.
ADVISOR_SOLUTION = "Upgrade to the latest version of the Azure Connected Machine agent"
ADVISOR_QUERY = f"""advisorresources
| where type == 'microsoft.advisor/recommendations'
| where properties.category == 'HighAvailability'
| where properties.shortDescription.solution == '{ADVISOR_SOLUTION}'
| summarize machines = count() by latestVersion = tostring(properties.extendedProperties.latestVersion)"""

# Tenant-level; in the preview specs and in a stable client at 2025-01-13 (reference §5.1).
AGENT_VERSIONS_PATH = "/providers/Microsoft.HybridCompute/osType/{os}/agentVersions"
AGENT_VERSIONS_API_VERSION = "2025-01-13"
OS_TYPES = ("windows", "linux")


class Calls:
    """Thread-safe count of the calls (pages) one refresh makes, per api."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter({"resource_graph": 0, "arm": 0})

    def add(self, api: str) -> None:
        with self._lock:
            self._counts[api] += 1

    def items(self) -> tuple[tuple[str, int], ...]:
        with self._lock:
            return tuple(sorted(self._counts.items()))


class _CountingGraph:
    """A `GraphClient` that counts the pages it sends."""

    def __init__(self, client: resource_graph.GraphClient, calls: Calls) -> None:
        self._client, self._calls = client, calls

    def _send_request(self, request: HttpRequest, *, stream: bool = False, **kwargs: Any) -> HttpResponse:
        self._calls.add("resource_graph")
        return self._client._send_request(request, stream=stream, **kwargs)


def _table(ctx: FetchContext[Options, Snapshot], problems: Problems) -> ReleaseTable:
    issues: list[Issue] = []
    user_text, name = None, ""
    path = ctx.options.release_table_file
    if path:
        name = Path(path).name
        try:
            user_text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            ctx.problem(
                Reason.NOT_FOUND,
                "release_table_file unreadable; packaged release table used",
                key=f"release_table_file:{path}",
                file=path,
                error=type(exc).__name__,
            )
    table = build_table(packaged_text(), user_text, name, issues)
    for issue in issues:
        problems.add(issue.key, issue.reason, issue.message, "", **dict(issue.fields))
    return table


def _advisor(ctx: FetchContext[Options, Snapshot], graph: Any, problems: Problems) -> list[Version]:
    try:
        # Tenant-wide (one summarised page): every replica must see the same newest version.
        rows = resource_graph.query(graph, ADVISOR_QUERY, ctx.azure.cfg.subscriptions)
    except Exception as exc:  # noqa: BLE001 - a cross-check: its failure never fails the refresh
        ctx.problem(classify(exc), "Advisor cross-check failed; skipped", key="advisor", error=describe(exc))
        return []
    return parse_advisor(rows, problems)


def _agent_versions(
    ctx: FetchContext[Options, Snapshot], calls: Calls, problems: Problems
) -> tuple[list[Version], bool]:
    """The versions offered for every OS type, and whether the API is absent (404/400 for all)."""
    client = ctx.azure.arm("arm")
    out: list[Version] = []
    absent = 0
    for os_type in OS_TYPES:
        calls.add("arm")
        try:
            body = arm.get_json(
                client, AGENT_VERSIONS_PATH.format(os=os_type), {"api-version": AGENT_VERSIONS_API_VERSION}
            )
        except Exception as exc:  # noqa: BLE001 - optional: the table and the estate still decide
            reason = classify(exc)
            absent += reason in (Reason.NOT_FOUND, Reason.BAD_REQUEST)
            ctx.problem(
                reason,
                "agentVersions API failed; skipped",
                key=f"agent_versions:{os_type}",
                error=describe(exc),
            )
            continue
        out += parse_agent_versions(body, problems)
    if absent == len(OS_TYPES):
        ctx.logger.warning("agentVersions API not available; not asked again until restart")
    return out, absent == len(OS_TYPES)


# The sharding key of the tenant-wide catalog series (one replica states them).
CATALOG_SHARD_KEY = "arc_agents.catalog"


def fetch(ctx: FetchContext[Options, Snapshot]) -> Snapshot:
    opts = ctx.options
    calls = Calls()
    problems = Problems()
    table = _table(ctx, problems)
    azure = ctx.azure
    graph = _CountingGraph(azure.resource_graph(), calls)
    rows = resource_graph.query_in(graph, MACHINES_QUERY, azure.scope())
    fetched_at = ctx.now()
    machines = parse_machines(rows, problems)
    external: list[tuple[str, Version]] = []
    if opts.advisor_cross_check:
        external += [("advisor", v) for v in _advisor(ctx, graph, problems)]
    previous = ctx.previous
    absent = previous is not None and previous.agent_versions_api_absent
    if opts.agent_versions_api and not absent:
        offered, absent = _agent_versions(ctx, calls, problems)
        external += [("agent_versions_api", v) for v in offered]
    estate = None
    if azure.shard.sharded:
        estate = parse_estate_versions(
            resource_graph.query(graph, ESTATE_VERSIONS_QUERY, azure.cfg.subscriptions)
        )
    inputs = Inputs(
        fetched_at=fetched_at,
        evaluated_at=query_time(rows) or fetched_at,
        machines=machines,
        table=table,
        external=tuple(external),
        requests=calls.items(),
        agent_versions_api_absent=absent,
        estate_versions=estate,
    )
    issues = problems.issues()
    ctx.report(issues, already_reported=previous.issue_keys if previous is not None else frozenset())
    snapshot = build_snapshot(
        inputs,
        previous,
        timedelta(seconds=opts.expiring_within),
        opts.per_machine_series,
        frozenset(i.key for i in issues),
    )
    return replace(snapshot, states_catalog=azure.shard.owns(CATALOG_SHARD_KEY))
