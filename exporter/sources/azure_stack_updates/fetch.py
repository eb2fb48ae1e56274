"""One refresh: every configured Azure Stack Hub stamp (``fetch_hub``) and the Azure Local clusters
(``fetch_local``) read in parallel; a stamp that fails keeps its last data.

Stamps are read on the source's long-lived pool and awaited until the refresh deadline: a stamp
that accepts connections and never answers is a timeout for that stamp (its calls are bounded
by the same deadline), never a refresh without the healthy stamps."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from exporter.azure.clients import Scope
from exporter.core.errors import Reason, SourceError, classify, describe
from exporter.core.identity import resource_identity
from exporter.core.source import FetchContext, Issue
from exporter.sources.azure_stack_updates import fetch_hub as hub
from exporter.sources.azure_stack_updates import fetch_local as local
from exporter.sources.azure_stack_updates.model import Snapshot, Stamp
from exporter.sources.azure_stack_updates.model_states import HUB, LOCAL

if TYPE_CHECKING:
    from exporter.sources.azure_stack_updates import Options


Job = Callable[[], tuple[Stamp, list[Issue]]]


@dataclass
class _Outcome:
    stamps: list[Stamp] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    # (the stamp as exposed after the failure, or None when not even the cluster list was read)
    failures: list[tuple[Stamp | None, BaseException]] = field(default_factory=list)


def fetch(ctx: FetchContext[Options, Snapshot]) -> Snapshot:
    opts = ctx.options
    configured = hub.parse_targets(opts.hub_admin_endpoints)
    # Sharded: each replica reads the stamps that hash to it (Local clusters follow their subscription).
    targets = [t for t in configured if ctx.azure.shard.owns(t.endpoint.lower())]
    if not configured and not opts.local_enabled:
        raise SourceError(Reason.CONFIG, "nothing to watch: set hub_admin_endpoints and/or local_enabled")
    previous = {s.key: s for s in ctx.previous.stamps} if ctx.previous is not None else {}
    hub_settings = hub.HubSettings(
        opts.hub_audience, opts.hub_subscription_id, opts.hub_region, opts.hub_api_version,
        opts.max_updates, opts.max_runs,
    )  # fmt: skip
    local_settings = local.LocalSettings(
        opts.local_api_version, opts.local_source, ctx.azure.scope() if opts.local_enabled else Scope(),
        opts.max_updates, opts.max_runs,
    )  # fmt: skip
    hub_out, local_out = _Outcome(), _Outcome()
    hub_jobs = []
    for target in targets:
        key = target.endpoint.lower()
        before = previous.get(key)
        fallback = _unreached(before, HUB, hub.fallback_name(target, hub_settings), key, target.endpoint)
        future = ctx.submit(opts.parallelism, hub.read_stamp, ctx, target, before, hub_settings)
        hub_jobs.append((future, before, fallback))
    if opts.local_enabled:
        _fetch_local(ctx, previous, local_settings, local_out)
    for future, before, fallback in hub_jobs:
        _settle(ctx, future, before, fallback, hub_out)
    if targets and not hub_out.stamps:
        raise _all_failed("every Azure Stack Hub stamp", hub_out.failures)
    if not targets and local_out.failures and not local_out.stamps:
        raise _all_failed("Azure Local", local_out.failures)
    failed = [s for s, _ in hub_out.failures + local_out.failures if s is not None]
    stamps = _unique_names([*hub_out.stamps, *local_out.stamps, *failed])
    issues = [*hub_out.issues, *local_out.issues]
    _report(ctx, issues)
    limits = ([(HUB, opts.hub_run_duration_limit)] if configured else []) + (
        [(LOCAL, opts.local_run_duration_limit)] if opts.local_enabled else []
    )
    return Snapshot(
        fetched_at=ctx.now(),
        stamps=tuple(sorted(stamps, key=lambda s: (s.platform, s.name))),
        run_duration_limits=tuple(limits),
        issue_keys=frozenset(i.key for i in issues),
    )


def _fetch_local(
    ctx: FetchContext[Options, Snapshot],
    previous: dict[str, Stamp],
    settings: local.LocalSettings,
    out: _Outcome,
) -> None:
    known = [s for s in previous.values() if s.platform == LOCAL]
    try:
        clusters = local.list_clusters(ctx, settings)
        if settings.source == local.RESOURCE_GRAPH:
            for stamp, issues in local.read_fleet(ctx, clusters, settings):
                out.stamps.append(_recovered(ctx, previous.get(stamp.key), stamp))
                out.issues.extend(issues)
            return
    except Exception as exc:  # noqa: BLE001 - listing failed: every known cluster keeps its data
        for stamp in known:
            _fail(ctx, _unreached(stamp, LOCAL, stamp.name, stamp.key, stamp.endpoint), exc, out)
        if not known:
            _fail(ctx, None, exc, out)
        return
    jobs = []
    for cluster in clusters:
        before = previous.get(cluster)
        fallback = _unreached(
            before, LOCAL, cluster, cluster, ctx.azure.cloud.arm_endpoint, resource_id=cluster
        )
        future = ctx.submit(ctx.options.parallelism, local.read_cluster, ctx, cluster, before, settings)
        jobs.append((future, before, fallback))
    for future, before, fallback in jobs:
        _settle(ctx, future, before, fallback, out)


def _settle(
    ctx: FetchContext[Options, Snapshot],
    future: Future[tuple[Stamp, list[Issue]]],
    previous: Stamp | None,
    fallback: Stamp,
    out: _Outcome,
) -> None:
    try:
        stamp, issues = future.result(timeout=ctx.remaining())
    except FutureTimeout:
        future.cancel()
        _fail(ctx, fallback, TimeoutError("no answer before the refresh deadline"), out)
        return
    except Exception as exc:  # noqa: BLE001 - classified and counted; the stamp keeps its data
        _fail(ctx, fallback, exc, out)
        return
    out.stamps.append(_recovered(ctx, previous, stamp))
    out.issues.extend(issues)


def _fail(
    ctx: FetchContext[Options, Snapshot], stamp: Stamp | None, exc: BaseException, out: _Outcome
) -> None:
    reason = classify(exc)
    platform, name, key = (
        (stamp.platform, stamp.name, stamp.key) if stamp is not None else (LOCAL, "-", "list")
    )
    ctx.problem(
        reason,
        "update API unreachable; last data kept",
        key=f"unreachable:{platform}:{key}:{reason.value}",
        platform=platform,
        stamp=name or "-",
        error=describe(exc),
    )
    out.failures.append((stamp, exc))


def _unreached(
    previous: Stamp | None, platform: str, name: str, key: str, endpoint: str, resource_id: str = ""
) -> Stamp:
    """The stamp as exposed after a failed read: old data, api_up 0, one more failure."""
    if previous is not None:
        return replace(previous, api_up=False, api_consecutive_failures=previous.api_consecutive_failures + 1)
    if resource_id:  # an Azure Local cluster: the `stamp` label is its name, as after a success
        name = resource_identity(resource_id).name
    return Stamp(
        platform,
        name,
        key,
        endpoint,
        "",
        None,
        api_up=False,
        api_consecutive_failures=1,
        resource_id=resource_id,
    )


def _recovered(ctx: FetchContext[Options, Snapshot], previous: Stamp | None, stamp: Stamp) -> Stamp:
    if previous is not None and not previous.api_up:
        ctx.logger.info(
            "stamp update API reachable again platform=%s stamp=%s failures=%d",
            stamp.platform,
            stamp.name,
            previous.api_consecutive_failures,
        )
    return stamp


def _all_failed(what: str, failures: list[tuple[Stamp | None, BaseException]]) -> SourceError:
    reasons = Counter(classify(exc) for _, exc in failures)
    reason = reasons.most_common(1)[0][0] if reasons else Reason.INTERNAL
    first = describe(failures[0][1]) if failures else ""
    return SourceError(reason, f"{what} unreachable ({len(failures)}): {first}")


def _unique_names(stamps: list[Stamp]) -> list[Stamp]:
    # Two Hub endpoints can report the same region; the later one is told apart by its host.
    # Azure Local clusters of the same name in different resource groups are told apart by their
    # identity labels already.
    seen: set[tuple[str, str, str, str]] = set()
    out = []
    for stamp in stamps:
        ident = resource_identity(stamp.resource_id)
        if (stamp.platform, ident.subscription_id, ident.resource_group, stamp.name) in seen:
            stamp = replace(stamp, name=f"{stamp.name}@{stamp.endpoint.split('://', 1)[-1].split('/', 1)[0]}")
        seen.add((stamp.platform, ident.subscription_id, ident.resource_group, stamp.name))
        out.append(stamp)
    return out


def _report(ctx: FetchContext[Options, Snapshot], issues: list[Issue]) -> None:
    """Counts and logs data issues that were not in the previous snapshot (not on every refresh)."""
    ctx.report(issues, already_reported=ctx.previous.issue_keys if ctx.previous is not None else frozenset())
