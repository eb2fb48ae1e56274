"""Reading Azure Local (Azure Stack HCI) clusters on the public ARM endpoint (reference §2).

Clusters are listed through Resource Graph across the configured subscriptions. Then either
(``local_source: arm``, the default) per cluster ``updateSummaries/default``, ``updates`` and the
``updateRuns`` of the updates that may have run, or (``local_source: resource_graph``) three
``extensibilityresources`` queries for the whole fleet: cheaper for many clusters, but that
table is observed rather than documented and may lag ARM by minutes (§2.5).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import HttpResponseError

from exporter.azure import resource_graph
from exporter.azure.arm import get_json
from exporter.azure.clients import Scope
from exporter.core.identity import resource_identity
from exporter.core.values import join_key
from exporter.sources.azure_stack_updates.fetch_read import read_updates_and_runs
from exporter.sources.azure_stack_updates.model import (
    Location,
    Run,
    Stamp,
    Update,
    build_data,
    run_candidates,
    version_key,
)
from exporter.sources.azure_stack_updates.model_states import LOCAL
from exporter.sources.azure_stack_updates.parse import cluster_id, parse_location, parse_run, parse_update

if TYPE_CHECKING:
    from exporter.core.source import FetchContext, Issue

DEFAULT_API_VERSION = "2025-10-01"
RESOURCE_GRAPH = "resource_graph"
CLUSTERS_QUERY = (
    "resources | where type =~ 'microsoft.azurestackhci/clusters' "
    "| project id, name, subscriptionId, resourceGroup, location | order by id asc"
)


def extensibility_query(kind: str) -> str:
    """Update data of every cluster from ``extensibilityresources``, full properties (§2.5)."""
    return (
        f"extensibilityresources | where type =~ 'microsoft.azurestackhci/clusters/{kind}' "
        "| project id, name, type, subscriptionId, resourceGroup, properties | order by id asc"
    )


@dataclass(frozen=True, slots=True)
class LocalSettings:
    api_version: str
    source: str  # "arm" | "resource_graph"
    subscriptions: Scope  # this replica's subscriptions (AzureContext.scope)
    max_updates: int
    max_runs: int


def list_clusters(ctx: FetchContext[Any, Any], settings: LocalSettings) -> list[str]:
    rows = resource_graph.query_in(ctx.azure.resource_graph(), CLUSTERS_QUERY, settings.subscriptions)
    return sorted({cid for cid in (cluster_id(row.get("id")) for row in rows) if cid})


def read_cluster(
    ctx: FetchContext[Any, Any], cluster: str, previous: Stamp | None, settings: LocalSettings
) -> tuple[Stamp, list[Issue]]:
    """One cluster through ARM; raises on failure (the caller keeps the old data)."""
    issues: list[Issue] = []
    client = ctx.azure.arm("arm")
    params = {"api-version": settings.api_version}
    try:
        summary: Location | None = parse_location(
            get_json(client, f"{cluster}/updateSummaries/default", params), LOCAL, issues
        )
    except HttpResponseError as exc:
        if exc.status_code != 404:
            raise
        summary = None  # a cluster that has not reported update data yet
    previous_runs = previous.data.all_runs if previous is not None and previous.data is not None else ()
    updates, runs = read_updates_and_runs(
        client, cluster, settings.api_version, LOCAL, previous_runs, settings.max_runs, issues
    )
    endpoint = ctx.azure.cloud.arm_endpoint
    stamp = _stamp(cluster, endpoint, settings.api_version, summary, updates, runs, settings)
    return replace(stamp, api_last_success=ctx.now()), issues


def read_fleet(
    ctx: FetchContext[Any, Any], clusters: Sequence[str], settings: LocalSettings
) -> list[tuple[Stamp, list[Issue]]]:
    """Every cluster from three Resource Graph queries; raises if one fails."""
    client = ctx.azure.resource_graph()
    subs = settings.subscriptions
    rows = {
        kind: _by_cluster(resource_graph.query_in(client, extensibility_query(kind), subs))
        for kind in ("updatesummaries", "updates", "updates/updateruns")
    }
    out = []
    for cluster in sorted(set(clusters) | set(rows["updatesummaries"]) | set(rows["updates"])):
        issues: list[Issue] = []
        summaries = [parse_location(r, LOCAL, issues) for r in rows["updatesummaries"].get(cluster, [])]
        updates = [u for u in (parse_update(r, LOCAL, issues) for r in rows["updates"].get(cluster, [])) if u]
        runs = [
            r for r in (parse_run(i, LOCAL, issues) for i in rows["updates/updateruns"].get(cluster, [])) if r
        ]
        runs = _bounded_runs(runs, updates, settings.max_runs)
        summary = summaries[0] if summaries else None
        stamp = _stamp(cluster, RESOURCE_GRAPH, "", summary, updates, runs, settings)
        out.append((replace(stamp, api_last_success=ctx.now()), issues))
    return out


def _by_cluster(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        cid = cluster_id(row.get("id"))
        if cid:
            grouped.setdefault(cid, []).append(row)
    return grouped


def _bounded_runs(runs: list[Run], updates: list[Update], max_runs: int) -> list[Run]:
    """The same bound the ARM path applies by reading only some updates' runs."""
    names = {join_key(u.name) for u in run_candidates(updates, max_runs)}
    if not updates:  # Resource Graph may show runs before their update: newest updates win
        ordered = sorted({r.update for r in runs}, key=lambda n: version_key("", n), reverse=True)
        names = {join_key(n) for n in ordered[:max_runs]}
    return [r for r in runs if join_key(r.update) in names]


def _stamp(
    cluster: str,
    endpoint: str,
    api_version: str,
    summary: Location | None,
    updates: list[Update],
    runs: list[Run],
    settings: LocalSettings,
) -> Stamp:
    return Stamp(
        platform=LOCAL,
        name=resource_identity(cluster).name,
        key=cluster,
        endpoint=endpoint,
        api_version=api_version,
        data=build_data(summary, updates, runs, settings.max_updates),
        api_up=True,
        api_consecutive_failures=0,
        resource_id=cluster,
    )
