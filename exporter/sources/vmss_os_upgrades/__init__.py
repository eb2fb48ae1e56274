"""VM Scale Set automatic OS image upgrades: every scale set, its upgrade policy and its upgrades.

Replaces running ``az vmss get-os-upgrade-history`` by hand. Discovery is one paged Resource Graph
query over every subscription (reference §4.5); for each scale set with automatic OS image upgrade
(or, with ``include_rolling_mode``, upgrade mode Rolling) two Compute calls follow: the OS upgrade
history and ``rollingUpgrades/latest`` (reference §4.1-4.3), with bounded concurrency. Nothing is
read per instance, so a refresh costs Resource Graph pages + 2 per eligible scale set.

    azure_vmss_info{subscription_id="6f1c…",resource_group="rg-web-prod",vmss="vmss-web-prod",
        resource_id="/subscriptions/6f1c…/resourcegroups/rg-web-prod/providers/microsoft.compute/…",
        location="westeurope",orchestration_mode="Uniform"} 1
    azure_vmss_upgrade_policy_mode{…,vmss="vmss-web-prod",mode="Rolling"} 1
    azure_vmss_upgrade_policy_mode{…,vmss="vmss-web-prod",mode="Manual"} 0
    azure_vmss_automatic_os_upgrade_enabled{…,vmss="vmss-web-prod"} 1
    azure_vmss_os_upgrade_instances{…,vmss="vmss-web-prod",state="in_progress"} 2
    azure_vmss_os_upgrade_status{…,vmss="vmss-web-prod",code="RollingForward"} 1
    azure_vmss_os_upgrade_status{…,vmss="vmss-web-prod",code="Faulted"} 0
    azure_vmss_os_upgrade_start_timestamp_seconds{…,vmss="vmss-web-prod"} 1.795327331e+09
    azure_vmss_os_upgrade_info{…,started_by="Platform",
        target_image="Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:22.04.202611140"} 1
    azure_vmss_os_upgrade_rollback_instances{…,vmss="vmss-web-prod",result="succeeded"} 0
    azure_vmss_os_upgrades{…,vmss="vmss-web-prod",code="Faulted"} 1
    azure_vmss_rolling_upgrade_instances{…,vmss="vmss-web-prod",state="pending"} 6
    azure_update_exporter_vmss_requests_last_refresh{api="compute"} 4

Choices:

- Labels: ``subscription_id``, ``resource_group`` and ``vmss`` come from the lowercased resource ID.
- The "latest" OS upgrade is the history entry with the newest ``runningStatus.startTime``; the
  ``azure_vmss_os_upgrades{code}`` summary counts every entry the API returns (at most five,
  within two months).
- Per scale set, 404 from the history call means the set was deleted after discovery: it is
  dropped, counted as ``not_found`` per subscription and logged (and ``rollingUpgrades/latest`` is
  not asked). When all, or at least three and most, eligible sets answer 404 that is a broken view
  of Compute rather than a mass deletion: the refresh fails and the last good snapshot is kept.
  404 from ``rollingUpgrades/latest`` means "never had a rolling upgrade": no rolling series. Any
  other failure (403 for a subscription or resource group, 429 after the SDK's Retry-After
  retries, 5xx, timeouts) is counted once per reason and subscription, and that scale set keeps
  its upgrade data from the previous refresh, so one subscription's failure never blanks the
  others; ``azure_update_exporter_subscription_up{source="vmss_os_upgrades"}`` shows which
  subscriptions are stale. A later history page that fails (or whose nextLink leaves the ARM
  endpoint: never followed) keeps the entries read before it. Only when every eligible scale set
  fails does the refresh fail (and the whole last good snapshot is kept).
- Wire leniency: ``inProgressInstanceCount``/``inprogressInstanceCount`` and ``endTime``/
  ``completedTime`` are all accepted (field names are matched case-insensitively); unknown codes,
  modes and invokers pass through as label values and are counted as ``unknown_enum``.

Parts: ``model`` the enum values and snapshot types, ``parse`` the pure payload parsers, ``fetch``
one refresh over ``fetch_calls`` (the Resource Graph discovery and the two Compute calls per scale
set) and ``fetch_merge`` (the new snapshot from the calls' outcomes and the previous one),
``translate`` the metric families.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from exporter.core.registry import register
from exporter.core.source import SourceSpec
from exporter.sources.vmss_os_upgrades.fetch import fetch
from exporter.sources.vmss_os_upgrades.translate import translate


@dataclass(frozen=True, slots=True)
class Options:
    # Scale sets whose two Compute calls run at the same time (one connection each).
    concurrency: int = field(default=8, metadata={"min": 1})
    # Also read history and rollingUpgrades/latest for upgrade mode Rolling without automatic OS
    # image upgrade (model changes and manual OS upgrades roll out there too).
    include_rolling_mode: bool = True
    # Name of a scale-set tag whose true-ish value (true, yes, 1, on, enabled, required) says that
    # automatic OS image upgrade is expected; exposes azure_vmss_automatic_os_upgrade_expected for
    # the opt-in AzureVmssAutomaticOsUpgradeDisabled alert. Unset: no such series.
    expect_automatic_os_upgrade_tag: str | None = None


SPEC = register(
    SourceSpec(
        name="vmss_os_upgrades",
        summary="VM Scale Set automatic OS image upgrades: history and latest rolling upgrade (Compute)",
        fetch=fetch,
        translate=translate,
        options_type=Options,
        default_enabled=True,
        # A batch takes minutes (each waits up to 5 min for health), so 5 minutes still shows an
        # upgrade moving batch by batch while costing 2 Compute reads per eligible scale set.
        default_interval=300.0,
        # 2,000 calls (1,000 eligible sets) at 8 concurrent and ~0.25 s each take about a minute;
        # ARM's read bucket (250 burst, 25/s per subscription) can stretch that to ~1.5 min. 4 min
        # leaves room for Retry-After waits and stays below the interval.
        default_timeout=240.0,
        # Only timestamps, never "now": encoded once per refresh, however large the estate.
        uses_now=False,
        demo_config=lambda info: {
            "interval": "15s",
            "timeout": "15s",
            "expect_automatic_os_upgrade_tag": "automatic-os-upgrade",
        },
    )
)
