"""Azure Stack Hub and Azure Local update runs: versions, update states, run progress, last success.

Azure Stack Hub alerts only on a failed update or one that needs attention, never on success,
and says nothing at all when a bad update takes the admin API down. This source replaces the
Get-AzsUpdate / Get-AzsUpdateRun polling loops (reference: shared azure-apis.md §1, §2).

    azure_stack_update_stamp_info{platform="hub",subscription_id="501ae7e4-…",
        resource_group="system.redmond",stamp="redmond",
        resource_id="/subscriptions/501ae7e4-…/resourcegroups/system.redmond/providers/…"} 1
    azure_stack_update_current_version{platform="hub",…,stamp="redmond",version="1.2406.1.23",
        oem_version="2.3.2406.4"} 1
    azure_stack_update_location_state{platform="hub",…,stamp="redmond",state="UpdateInProgress"} 1
    azure_stack_update_state{platform="hub",…,stamp="redmond",update="Microsoft1.2408.0.19",
        state="Installing"} 1
    azure_stack_updates{platform="hub",…,stamp="redmond",state="Installed"} 2
    azure_stack_update_run_state{platform="hub",…,stamp="redmond",update="Microsoft1.2408.0.19",
        run_id="a6ad672e-…",state="InProgress"} 1
    azure_stack_update_run_steps{platform="hub",…,run_id="a6ad672e-…",status="Success"} 4
    azure_stack_update_run_current_step_start_timestamp_seconds{…,phase="Cloud Update",
        step="Restart Storage Hosts"} 1.79532e+09
    azure_stack_update_in_progress{platform="hub",…,stamp="redmond"} 1
    azure_stack_update_last_success_timestamp_seconds{platform="local",subscription_id="9e8d7c6b-…",
        resource_group="rg-azlocal-ams01",stamp="azl-ams01"} 1.79163e+09
    azure_stack_update_api_consecutive_failures{platform="hub",…,stamp="redmond"} 0
    azure_stack_update_run_duration_seconds{…,run_id="a6ad672e-…"} 5462.0

Choices:

- ``platform`` is ``hub`` or ``local``; ``subscription_id``, ``resource_group`` and ``stamp`` are the
  identity labels (exporter.core.identity): an Azure Local cluster's subscription, resource group and
  name; a Hub stamp's Default Provider Subscription, ``system.<region>`` and region (lowercased; or
  the name given as ``name=https://…`` in ``hub_admin_endpoints``). The full id is only on
  ``azure_stack_update_stamp_info``. ``update`` keeps Azure's case (it is a version such as
  ``Microsoft1.2408.0.19``); ``run_id`` is the lowercased run GUID. All come from resource ids.
- State sets only where a state still changes: an update that is idle (``Ready``…) or final
  (``Installed``…) is counted per state in ``azure_stack_updates`` instead of a state set each.
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

Parts: ``model_states`` the enum values, ``model`` the snapshot types and the rules that bound
them, ``parse`` the pure payload parsers, ``parse_pep`` the privileged endpoint's update status XML,
``fetch`` one refresh over ``fetch_hub`` (Hub stamps), ``fetch_local`` (Azure Local clusters) and
``fetch_read`` (updates and runs, the same shape on both), ``translate`` the metric families.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exporter.config import is_guid
from exporter.core.errors import SourceError
from exporter.core.registry import register
from exporter.core.source import SourceSpec
from exporter.sources.azure_stack_updates import fetch_hub as hub
from exporter.sources.azure_stack_updates import fetch_local as local
from exporter.sources.azure_stack_updates.fetch import fetch
from exporter.sources.azure_stack_updates.translate import translate, translate_live, translate_static

# The regions of the simulator's Hub stamps (the demo scenario's azure_stack section), for demo mode.
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


def demo_config(info: dict[str, Any]) -> dict[str, Any]:
    base = str(info["base_url"]).rstrip("/")
    return {
        "interval": "15s",
        "timeout": "15s",
        "hub_admin_endpoints": [f"{base}/azurestack/{region}" for region in DEMO_HUB_REGIONS],
        "local_enabled": True,
    }


def check_options(options: Options) -> list[tuple[str, str]]:
    problems = []
    if not options.hub_admin_endpoints and not options.local_enabled:
        problems.append(
            ("hub_admin_endpoints", "nothing to watch: set hub_admin_endpoints and/or local_enabled")
        )
    try:
        hub.parse_targets(options.hub_admin_endpoints)
    except SourceError as exc:
        problems.append(("hub_admin_endpoints", str(exc)))
    sub = options.hub_subscription_id
    if sub and not is_guid(sub):
        problems.append(("hub_subscription_id", f"invalid value {sub!r}; allowed: a subscription ID (GUID)"))
    return problems


SPEC = register(
    SourceSpec(
        name="azure_stack_updates",
        summary="Azure Stack Hub (admin API) and Azure Local update locations, updates and runs",
        fetch=fetch,
        translate=translate,
        # Only the time-relative family is encoded per scrape; the rest once per refresh.
        translate_static=translate_static,
        translate_live=translate_live,
        options_type=Options,
        # Needs hub_admin_endpoints or local_enabled; most Azure estates have neither.
        default_enabled=False,
        # Runs take hours and steps minutes; the admin API is not throttled like public ARM.
        default_interval=120.0,
        default_timeout=100.0,
        demo_config=demo_config,
        check_options=check_options,
    )
)
