"""Listing the subscriptions the identity can see (ARM ``GET /subscriptions``, paged)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from exporter.azure.arm import list_paged
from exporter.core.errors import PayloadError, Reason
from exporter.core.source import Issue
from exporter.core.subscription_health import merge_health
from exporter.core.values import identifier
from exporter.sources.subscriptions.model import Snapshot
from exporter.sources.subscriptions.parse import parse

if TYPE_CHECKING:
    from exporter.core.source import FetchContext
    from exporter.sources.subscriptions import Options

API_VERSION = "2022-12-01"
# The sharding key of the tenant-wide `azure_subscriptions` counts (one replica states them).
COUNTS_KEY = "azure_subscriptions"


def fetch(ctx: FetchContext[Options, Snapshot]) -> Snapshot:
    client = ctx.azure.arm("arm")
    items = list(list_paged(client, "/subscriptions", API_VERSION))
    issues: list[Issue] = []
    snapshot = parse(items, issues)
    ctx.report(issues)
    shard = ctx.azure.shard
    explicit = {identifier(s) for s in ctx.azure.cfg.subscriptions}
    if explicit:
        visible = {s.subscription_id for s in snapshot.subscriptions}
        for missing in sorted(m for m in explicit - visible if shard.owns(m)):
            ctx.problem(
                Reason.FORBIDDEN, "configured subscription not visible to the identity", subscription=missing
            )
        previous = ctx.previous.subscription_health if ctx.previous is not None else ()
        health = merge_health(explicit, explicit - visible, previous, ctx.now())
        kept = tuple(s for s in snapshot.subscriptions if s.subscription_id in explicit)
        snapshot = Snapshot(kept, subscription_health=health)
    if not items and not explicit:
        raise PayloadError("the identity sees no subscription", Reason.FORBIDDEN)
    if shard.sharded:  # each subscription's series come from the one replica that owns it
        snapshot = Snapshot(
            tuple(s for s in snapshot.subscriptions if shard.owns(s.subscription_id)),
            counted_states=tuple(s.state for s in snapshot.subscriptions),
            counts=shard.owns(COUNTS_KEY),
            subscription_health=tuple(
                h for h in snapshot.subscription_health if shard.owns(h.subscription_id)
            ),
        )
    return snapshot
