"""Azure Stack Hub and Azure Local update runs: versions, update states, run progress, last success.

Azure Stack Hub alerts only on a failed update or one that needs attention, never on success,
and says nothing at all when a bad update takes the admin API down. This source replaces the
Get-AzsUpdate / Get-AzsUpdateRun polling loops (reference: shared azure-apis.md §1, §2).

    azure_stack_update_location_info{platform="hub",stamp="redmond",current_version="1.2406.1.23",
        current_oem_version="2.3.2406.4"} 1
    azure_stack_update_location_state{platform="hub",stamp="redmond",state="UpdateInProgress"} 1
    azure_stack_update_state{platform="hub",stamp="redmond",update="Microsoft1.2408.0.19",
        version="1.2408.0.19",state="Installing"} 1
    azure_stack_update_run_state{platform="hub",stamp="redmond",update="Microsoft1.2408.0.19",
        run_id="a6ad672e-…",state="InProgress"} 1
    azure_stack_update_run_steps{platform="hub",stamp="redmond",…,run_id="a6ad672e-…",status="Success"} 4
    azure_stack_update_run_current_step_info{…,phase="Cloud Update",step="Restart Storage Hosts",
        status="InProgress"} 1
    azure_stack_update_in_progress{platform="hub",stamp="redmond"} 1
    azure_stack_update_last_success_timestamp_seconds{platform="local",
        stamp="/subscriptions/…/clusters/azl-ams01"} 1.79163e+09
    azure_stack_update_api_consecutive_failures{platform="hub",stamp="redmond"} 0
    azure_stack_update_run_duration_seconds{…,run_id="a6ad672e-…"} 5462.0

Choices:

- ``platform`` is ``hub`` or ``local``. ``stamp`` is the Hub region (lowercased; or the name given
  as ``name=https://…`` in ``hub_admin_endpoints``) or the lowercased Azure Local cluster resource
  id (an id, unique across subscriptions). ``update`` keeps Azure's case (it is a version such as
  ``Microsoft1.2408.0.19``); ``run_id`` is the lowercased run GUID. All come from resource ids.
- Bounded output: per stamp the newest ``max_updates`` updates, and the latest run of each of the
  newest ``max_runs`` updates that may have run. A Failed or InProgress run that started before
  another run of the same stamp is superseded (resumed or stale) and not exposed, so a failed run
  stops counting as failed once the update is resumed.
- Failure: one stamp that cannot be read keeps its last data, with ``azure_stack_update_api_up``
  0 and ``…_api_consecutive_failures`` climbing; the refresh still succeeds. When **every**
  configured Hub stamp is unreachable (or, without Hub stamps, Azure Local cannot be read at
  all) the refresh fails, so ``azure_update_exporter_source_up`` turns 0 and
  ``…_source_consecutive_failures`` climbs while the last known state is served; per-stamp
  gauges then keep their last values. The alert rules combine both.
- Tokens: Hub stamps use the exporter's one credential with the stamp's own audience
  (``audiences[0]/.default`` from ``/metadata/endpoints``). Stamps on the same Entra ID tenant
  as ``azure.*`` work; an AD FS stamp needs an exporter whose ``azure.authority_host`` and
  credential point at that AD FS (``tenant_id: adfs``, ``disable_instance_discovery: true``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from exporter.collectors.azure_stack import hub, local
from exporter.collectors.azure_stack.model import Snapshot, Stamp
from exporter.collectors.azure_stack.states import HUB, LOCAL
from exporter.collectors.azure_stack.translate import translate
from exporter.core.errors import Reason, SourceError, classify, describe
from exporter.core.registry import register
from exporter.core.source import FetchContext, Issue, SourceSpec

# The regions of the simulator's Hub stamps (exporter/simulator/routes/azure_stack.py), for demo mode.
DEMO_HUB_REGIONS = ("redmond", "seattle")


@dataclass(frozen=True, slots=True)
class Options:
    # Admin ARM endpoints of Azure Stack Hub stamps, e.g. https://adminmanagement.redmond.contoso.com;
    # `name=https://…` sets the stamp label (default: the region).
    hub_admin_endpoints: tuple[str, ...] = ()
    # Token audience; unset: discovered from each stamp's /metadata/endpoints (audiences[0]).
    hub_audience: str | None = None
    # Default Provider Subscription; unset: discovered from the admin /subscriptions.
    hub_subscription_id: str | None = None
    # Region (resource group System.{region}); unset: discovered from the System.* resource group.
    hub_region: str | None = None
    # First api-version tried; a stamp that rejects it is read with 2016-05-01 from then on.
    hub_api_version: str = hub.CURRENT_API_VERSION
    # Azure Local clusters of the subscriptions in azure.subscriptions (all visible ones if empty).
    local_enabled: bool = False
    # arm: per-cluster ARM calls (step trees, fresh); resource_graph: 3 queries for the whole fleet.
    local_source: str = field(default="arm", metadata={"choices": ("arm", local.RESOURCE_GRAPH)})
    local_api_version: str = local.DEFAULT_API_VERSION
    # Updates exposed per stamp (newest first) and updates whose latest run is exposed.
    max_updates: int = field(default=5, metadata={"min": 1})
    max_runs: int = field(default=5, metadata={"min": 1})
    # Exposed as azure_stack_update_run_duration_limit_seconds{platform} for AzureStackUpdateRunTooLong.
    hub_run_duration_limit: float = field(default=24 * 3600.0, metadata={"duration": True, "min": 60})
    local_run_duration_limit: float = field(default=12 * 3600.0, metadata={"duration": True, "min": 60})
    # Stamps and clusters read at the same time.
    parallelism: int = field(default=4, metadata={"min": 1})


Job = Callable[[], tuple[Stamp, list[Issue]]]


@dataclass
class _Outcome:
    stamps: list[Stamp] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    # (the stamp as exposed after the failure, or None when not even the cluster list was read)
    failures: list[tuple[Stamp | None, BaseException]] = field(default_factory=list)


def fetch(ctx: FetchContext[Options, Snapshot]) -> Snapshot:
    opts = ctx.options
    targets = hub.parse_targets(opts.hub_admin_endpoints)
    if not targets and not opts.local_enabled:
        raise SourceError(
            Reason.BAD_REQUEST, "nothing to watch: set hub_admin_endpoints and/or local_enabled"
        )
    previous = {s.key: s for s in ctx.previous.stamps} if ctx.previous is not None else {}
    hub_settings = hub.HubSettings(
        opts.hub_audience, opts.hub_subscription_id, opts.hub_region, opts.hub_api_version,
        opts.max_updates, opts.max_runs,
    )  # fmt: skip
    local_settings = local.LocalSettings(
        opts.local_api_version, opts.local_source, tuple(ctx.azure.cfg.subscriptions),
        opts.max_updates, opts.max_runs,
    )  # fmt: skip
    hub_out, local_out = _Outcome(), _Outcome()
    with ThreadPoolExecutor(max_workers=opts.parallelism, thread_name_prefix="azure-stack") as pool:
        hub_jobs = []
        for target in targets:
            key = target.endpoint.lower()
            before = previous.get(key)
            fallback = _unreached(before, HUB, hub.fallback_name(target, hub_settings), key, target.endpoint)
            hub_jobs.append(
                (pool.submit(hub.read_stamp, ctx, target, before, hub_settings), before, fallback)
            )
        if opts.local_enabled:
            _fetch_local(ctx, pool, previous, local_settings, local_out)
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
    limits = ([(HUB, opts.hub_run_duration_limit)] if targets else []) + (
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
    pool: ThreadPoolExecutor,
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
        fallback = _unreached(before, LOCAL, cluster, cluster, ctx.azure.cloud.arm_endpoint)
        jobs.append((pool.submit(local.read_cluster, ctx, cluster, before, settings), before, fallback))
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
        stamp, issues = future.result()
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


def _unreached(previous: Stamp | None, platform: str, name: str, key: str, endpoint: str) -> Stamp:
    """The stamp as exposed after a failed read: old data, api_up 0, one more failure."""
    if previous is not None:
        return replace(previous, api_up=False, api_consecutive_failures=previous.api_consecutive_failures + 1)
    return Stamp(platform, name, key, endpoint, "", None, api_up=False, api_consecutive_failures=1)


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
    seen: set[tuple[str, str]] = set()
    out = []
    for stamp in stamps:
        if (stamp.platform, stamp.name) in seen:
            stamp = replace(stamp, name=f"{stamp.name}@{stamp.endpoint.split('://', 1)[-1].split('/', 1)[0]}")
        seen.add((stamp.platform, stamp.name))
        out.append(stamp)
    return out


def _report(ctx: FetchContext[Options, Snapshot], issues: list[Issue]) -> None:
    """Counts and logs data issues that were not in the previous snapshot (not on every refresh)."""
    ctx.report(issues, already_reported=ctx.previous.issue_keys if ctx.previous is not None else frozenset())


def demo_config(info: dict[str, Any]) -> dict[str, Any]:
    base = str(info["base_url"]).rstrip("/")
    return {
        "interval": "15s",
        "timeout": "60s",
        "hub_admin_endpoints": [f"{base}/azurestack/{region}" for region in DEMO_HUB_REGIONS],
        "local_enabled": True,
    }


SPEC = register(
    SourceSpec(
        name="azure_stack_updates",
        summary="Azure Stack Hub (admin API) and Azure Local update locations, updates and runs",
        fetch=fetch,
        translate=translate,
        options_type=Options,
        # Needs hub_admin_endpoints or local_enabled; most Azure estates have neither.
        default_enabled=False,
        # Runs take hours and steps minutes; the admin API is not throttled like public ARM.
        default_interval=120.0,
        default_timeout=100.0,
        demo_config=demo_config,
    )
)

__all__ = ["SPEC", "Options", "Snapshot", "fetch", "translate"]
