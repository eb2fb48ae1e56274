"""Azure Update Manager: patch orchestration, assessments, installations and maintenance schedules.

Every Azure VM and Arc-enabled server with its Update Manager state, from six paged Resource
Graph queries (reference §6): machines and their patch settings (``resources``), the latest
assessment (``patchassessmentresources``) and installation (``patchinstallationresources``) per
machine, InGuestPatch maintenance configurations (``resources``), their assignments and their
runs (``maintenanceresources``). A refresh costs ceil(rows / 1000) pages per query and nothing
per machine; `azure_update_exporter_update_manager_requests_last_refresh{query}` shows it.

    azure_update_manager_machine_orchestration_mode{subscription_id="6f1c…",resource_group="rg-sql",
        machine="sql-vm-01",machine_type="vm",mode="customer_managed_schedules"} 1
    azure_update_manager_machine_assessment_status{…,machine="web-vm-02",status="NoRecentAssessment"} 1
    azure_update_manager_machine_pending_patches{…,machine="sql-vm-01",classification="security"} 3
    azure_update_manager_machine_installation_status{…,machine="srv-web-07",machine_type="arc",
        status="Failed"} 1
    azure_update_manager_machine_installation_maintenance_window_exceeded{…,machine="srv-web-07"} 1
    azure_update_manager_machine_maintenance_configuration{…,machine="sql-vm-01",
        configuration_subscription_id="6f1c…",configuration_resource_group="rg-patching",
        maintenance_configuration="mc-sql-sunday"} 1
    azure_update_manager_machine_misconfiguration{…,machine="app-vm-07",problem="no_schedule_attached"} 1
    azure_update_manager_maintenance_window_next_start_timestamp_seconds{subscription_id="6f1c…",
        resource_group="rg-patching",maintenance_configuration="mc-sql-sunday"} 1.7958564e+09
    azure_update_manager_maintenance_run_status{…,maintenance_configuration="mc-sql-sunday",
        status="Completed"} 1
    azure_update_manager_machines{subscription_id="6f1c…",machine_type="vm",
        mode="azure_managed_safe_deployment"} 412
    azure_update_manager_pending_patches{subscription_id="6f1c…",classification="critical"} 17

Choices:

- Labels ``subscription_id``, ``resource_group`` and ``machine`` come from the lowercased ARM ID;
  ``machine_type`` is ``vm`` or ``arc``. Tables are joined on lowercased machine IDs.
- No assessment row (Resource Graph keeps 7 days) is ``NoRecentAssessment``, never "no missing
  patches"; pending counts are exposed only for assessments that Succeeded or
  CompletedWithWarnings, so a failed assessment's zeros never look fully patched.
- The next maintenance window and assessment freshness are computed at refresh time (they move
  only when a window passes or an assessment ages past a threshold, and the interval is minutes),
  which keeps translate independent of the scrape time (``uses_now=False``): the exposition is
  encoded once per refresh, however large the estate. A window shows until it ends, so while it is
  open its start is in the past.
- ``aggregates_only`` drops every per-machine series and keeps the per-subscription aggregates and
  the per-configuration series, for estates where one series set per machine is too many.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from exporter.core.registry import register
from exporter.core.source import SourceSpec
from exporter.sources.update_manager.fetch import fetch as _fetch
from exporter.sources.update_manager.model import Snapshot
from exporter.sources.update_manager.translate import translate as _translate

# fetch and translate are imported under private names so that the package attributes `fetch`
# and `translate` stay the submodules (tests import the queries from `…update_manager.fetch`).
__all__ = ["SPEC", "Options"]


@dataclass(frozen=True, slots=True)
class Options:
    # Keep only the per-subscription aggregates and per-configuration series (no per-machine series).
    aggregates_only: bool = False
    # An assessment older than this counts as "stale" in azure_update_manager_machines_by_assessment_freshness
    # (periodic assessment runs about every 24 hours).
    assessment_stale_after: float = field(default=2 * 86400.0, metadata={"duration": True, "min": 60})


SPEC: SourceSpec[Snapshot, Options] = register(
    SourceSpec(
        name="update_manager",
        summary="Azure Update Manager: patch orchestration, assessments, installations, schedules",
        fetch=_fetch,
        translate=_translate,
        options_type=Options,
        default_enabled=True,
        # Assessments land about once a day and installations per window; 10 minutes follows a
        # running maintenance window closely while a 120k-machine estate (~500 pages) stays well
        # inside the Resource Graph quota (15 queries / 5 s).
        default_interval=600.0,
        # ~500 pages at the quota's pace take about 3 minutes; 5 minutes leaves room for retries.
        default_timeout=300.0,
        uses_now=False,
        demo_config=lambda info: {"interval": "15s", "timeout": "15s"},
    )
)
