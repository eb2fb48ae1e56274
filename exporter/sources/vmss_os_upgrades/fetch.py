"""One refresh: Resource Graph discovery, then the two Compute calls per eligible scale set in
parallel (``fetch_calls``), merged with the previous snapshot (``fetch_merge``).

The calls run on the source's long-lived pool and are awaited until the refresh deadline: a
scale set still waiting then (a long Retry-After is not even waited for, see
`exporter.azure.retry`) is a timeout for that scale set only, which keeps its previous data,
and every scale set that did answer is published."""

from __future__ import annotations

from concurrent.futures import Future, wait
from typing import TYPE_CHECKING

from exporter.azure import resource_graph
from exporter.core.errors import Reason
from exporter.core.source import FetchContext, Issue
from exporter.sources.vmss_os_upgrades.fetch_calls import QUERY, Calls, Failure, Outcome
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
    calls = Calls()
    azure = ctx.azure
    # Scoped to this replica's subscriptions when sharded (AzureContext.scope).
    rows = resource_graph.query_in(_CountingGraph(azure.resource_graph(), calls), QUERY, azure.scope())
    issues: list[Issue] = []
    scale_sets = parse_scale_sets(rows, issues, opts.expect_automatic_os_upgrade_tag)
    todo = [s for s in scale_sets if eligible(s, opts)]
    outcomes = _fetch_all(ctx, todo, calls)
    snapshot = combine(scale_sets, outcomes, ctx.previous, opts, ctx.now(), calls.items(), issues)
    report(ctx, issues, outcomes, scale_sets)
    return snapshot


def _fetch_all(
    ctx: FetchContext[Options, Snapshot], todo: list[ScaleSet], calls: Calls
) -> dict[tuple[str, str, str], Outcome]:
    """Each scale set's outcome; those not finished by the deadline are timeouts."""
    azure, deadline = ctx.azure, ctx.deadline or 0.0
    futures: dict[tuple[str, str, str], Future[Outcome]] = {
        s.key: ctx.submit(ctx.options.concurrency, _fetch_one, azure, s, calls, deadline) for s in todo
    }
    wait(futures.values(), timeout=ctx.remaining())
    late = Failure(Reason.TIMEOUT, "no answer before the refresh deadline")
    outcomes = {}
    for key, future in futures.items():
        if future.done():
            outcomes[key] = future.result()
        else:
            future.cancel()  # not started yet: never will be
            outcomes[key] = Outcome(history=late, rolling=late)
    return outcomes
