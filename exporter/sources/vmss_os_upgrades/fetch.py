"""One refresh: Resource Graph discovery, then the two Compute calls per eligible scale set in
parallel (``fetch_calls``), merged with the previous snapshot (``fetch_merge``)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from exporter.azure import resource_graph
from exporter.core.source import FetchContext, Issue
from exporter.sources.vmss_os_upgrades.fetch_calls import QUERY, Calls, Outcome
from exporter.sources.vmss_os_upgrades.fetch_calls import CountingGraph as _CountingGraph
from exporter.sources.vmss_os_upgrades.fetch_calls import fetch_one as _fetch_one
from exporter.sources.vmss_os_upgrades.fetch_merge import combine, report
from exporter.sources.vmss_os_upgrades.model import ScaleSet, Snapshot
from exporter.sources.vmss_os_upgrades.parse import parse_scale_sets

if TYPE_CHECKING:
    from exporter.sources.vmss_os_upgrades import Options


def eligible(scale_set: ScaleSet, options: Options) -> bool:
    return scale_set.automatic_os_upgrade or (options.include_rolling_mode and scale_set.mode == "Rolling")


def fetch(ctx: FetchContext[Options, Snapshot]) -> Snapshot:
    opts = ctx.options
    deadline = time.monotonic() + ctx.timeout
    calls = Calls()
    azure = ctx.azure
    # Scoped to this replica's subscriptions when sharded (AzureContext.scope).
    rows = resource_graph.query_in(_CountingGraph(azure.resource_graph(), calls), QUERY, azure.scope())
    issues: list[Issue] = []
    scale_sets = parse_scale_sets(rows, issues, opts.expect_automatic_os_upgrade_tag)
    todo = [s for s in scale_sets if eligible(s, opts)]
    outcomes: dict[tuple[str, str, str], Outcome] = {}
    if todo:
        workers = min(opts.concurrency, len(todo))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vmss") as pool:
            results = pool.map(lambda s: _fetch_one(azure, s, calls, deadline), todo)
            outcomes = {s.key: out for s, out in zip(todo, results, strict=True)}
    snapshot = combine(scale_sets, outcomes, ctx.previous, opts, ctx.now(), calls.items(), issues)
    report(ctx, issues, outcomes, scale_sets)
    return snapshot
