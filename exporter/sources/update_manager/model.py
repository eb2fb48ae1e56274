"""Snapshot types and enum values of the `update_manager` source.

`Tables` holds what each Resource Graph query returned (parsed), so a query that fails on one
refresh can fall back to its previous rows; the rest is derived from the tables by
`fetch_combine.combine` at fetch time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from exporter.core.source import Issue
from exporter.sources.update_manager.parse_schedule import Occurrence, Window

VM, ARC = "vm", "arc"

# Update Manager's four orchestration options (reference §6.3), as label values.
CUSTOMER_MANAGED = "customer_managed_schedules"
SAFE_DEPLOYMENT = "azure_managed_safe_deployment"
AUTOMATIC_BY_OS = "automatic_by_os"
MANUAL = "manual"
ORCHESTRATION_MODES = (CUSTOMER_MANAGED, SAFE_DEPLOYMENT, AUTOMATIC_BY_OS, MANUAL)
PATCH_MODES = ("AutomaticByPlatform", "AutomaticByOS", "Manual", "ImageDefault")
ASSESSMENT_MODES = ("AutomaticByPlatform", "ImageDefault")

NO_RECENT_ASSESSMENT = "NoRecentAssessment"  # no assessment row: Resource Graph keeps 7 days
ASSESSMENT_STATES = ("Succeeded", "CompletedWithWarnings", "Failed", "InProgress", "Unknown")
USABLE_ASSESSMENT = ("Succeeded", "CompletedWithWarnings")  # counts can be believed
INSTALLATION_STATES = ("Succeeded", "CompletedWithWarnings", "Failed", "InProgress", "NotStarted", "Unknown")
NO_INSTALLATION = "None"  # no installation row in the 30 days Resource Graph keeps
REBOOT_STATES = ("NotNeeded", "Required", "Started", "Failed", "Completed", "Unknown")
# Apply-update (maintenance run) states, worst first: a run's status is its machines' worst.
RUN_STATES = (
    "Failed",
    "InProgress",
    "RetryNow",
    "RetryLater",
    "Pending",
    "Cancel",
    "Cancelled",
    "Completed",
    "NoUpdatesPending",
)
CLASSIFICATIONS = (
    "critical",
    "security",
    "definition",
    "updateRollup",
    "featurePack",
    "servicePack",
    "tools",
    "updates",
    "other",
)
LINUX_CLASSIFICATIONS = ("critical", "security", "other")
INSTALL_RESULTS = ("installed", "failed", "pending", "excluded", "not_selected")
SCOPE = "InGuestPatch"

# Misconfigurations (issue 13): nothing will ever patch the machine; a schedule that cannot run;
# no periodic assessment (the portal's data goes stale).
NO_SCHEDULE = "no_schedule_attached"
PREREQUISITES_NOT_MET = "schedule_prerequisites_not_met"
ASSESSMENT_NOT_PERIODIC = "assessment_not_periodic"
PROBLEMS = (NO_SCHEDULE, PREREQUISITES_NOT_MET, ASSESSMENT_NOT_PERIODIC)

# Assessment freshness of a machine, for the per-subscription aggregate.
RECENT, STALE, FAILED, NONE = "recent", "stale", "failed", "none"
FRESHNESS = (RECENT, STALE, FAILED, NONE)


@dataclass(frozen=True, slots=True)
class Machine:
    id: str  # lowercased ARM ID, the join key
    subscription_id: str
    resource_group: str
    name: str
    machine_type: str  # vm | arc
    location: str
    os_type: str  # Windows | Linux | "" (as Azure spells it, first letter upper)
    tags: tuple[tuple[str, str], ...]
    patch_mode: str | None
    assessment_mode: str | None
    bypass_platform_safety_checks: bool | None
    reboot_setting: str | None
    hotpatching: bool | None
    automatic_updates: bool | None  # Windows VMs: windowsConfiguration.enableAutomaticUpdates


@dataclass(frozen=True, slots=True)
class Assessment:
    machine_id: str
    status: str
    os_type: str
    reboot_pending: bool | None
    started_by: str
    last_modified: datetime | None
    counts: tuple[tuple[str, int], ...]  # classification -> available patches; missing keys are 0


@dataclass(frozen=True, slots=True)
class Installation:
    machine_id: str
    status: str
    started_at: datetime | None
    last_modified: datetime | None
    counts: tuple[tuple[str, int], ...]  # INSTALL_RESULTS -> patches
    window_exceeded: bool | None
    reboot_status: str
    started_by: str
    maintenance_run_id: str


@dataclass(frozen=True, slots=True)
class DynamicScope:
    """A dynamic-scope assignment's filter; empty tuples match everything."""

    resource_types: tuple[str, ...]
    resource_groups: tuple[str, ...]
    os_types: tuple[str, ...]
    locations: tuple[str, ...]
    tags: tuple[tuple[str, tuple[str, ...]], ...]
    match_all_tags: bool  # tagSettings.filterOperator All (default Any)


@dataclass(frozen=True, slots=True)
class Assignment:
    id: str
    configuration_id: str  # lowercased
    resource_id: str  # lowercased: a machine (static) or a subscription / resource group (dynamic)
    scope: DynamicScope | None  # None: static assignment of `resource_id`


@dataclass(frozen=True, slots=True)
class Configuration:
    id: str  # lowercased
    subscription_id: str
    resource_group: str
    name: str
    location: str
    scope: str
    start: str  # as Azure has it, local to time_zone
    expiration: str
    duration: str
    time_zone: str
    recur_every: str
    reboot_setting: str
    window: Window | None  # None: the maintenanceWindow could not be understood (an Issue says why)


@dataclass(frozen=True, slots=True)
class RunPart:
    """Machines of one maintenance run (correlationId) that share a status."""

    configuration_id: str
    run_id: str
    status: str
    machines: int
    started_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class Tables:
    machines: tuple[Machine, ...] = ()
    assessments: tuple[Assessment, ...] = ()
    installations: tuple[Installation, ...] = ()
    configurations: tuple[Configuration, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    runs: tuple[RunPart, ...] = ()


@dataclass(frozen=True, slots=True)
class MachineState:
    machine: Machine
    assessment: Assessment | None  # None: no assessment in the 7 days Resource Graph keeps
    installation: Installation | None
    orchestration_mode: str
    schedules: tuple[str, ...]  # configuration IDs whose assignments cover the machine
    problems: tuple[str, ...]

    @property
    def assessment_status(self) -> str:
        return self.assessment.status if self.assessment is not None else NO_RECENT_ASSESSMENT


@dataclass(frozen=True, slots=True)
class LastRun:
    run_id: str
    status: str
    machines: tuple[tuple[str, int], ...]  # status -> machines
    started_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class ConfigurationState:
    configuration: Configuration
    next_window: Occurrence | None  # computed at fetch time; None once expired or not understood
    expired: bool
    machines: int  # known machines the assignments cover
    last_run: LastRun | None


@dataclass(frozen=True, slots=True)
class SubscriptionTotals:
    subscription_id: str
    machines_by_mode: tuple[tuple[str, str, int], ...]  # (machine_type, mode, machines)
    machines_by_freshness: tuple[tuple[str, int], ...]
    machines_by_installation: tuple[tuple[str, int], ...]
    pending_patches: tuple[tuple[str, int], ...]  # classification -> patches (usable assessments)
    machines_with_pending: tuple[tuple[str, int], ...]  # classification -> machines
    problems: tuple[tuple[str, int], ...]
    reboot_pending: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    tables: Tables
    machines: tuple[MachineState, ...]
    configurations: tuple[ConfigurationState, ...]
    subscriptions: tuple[SubscriptionTotals, ...]
    computed_at: datetime
    pages: tuple[tuple[str, int], ...]  # query -> Resource Graph pages of the last refresh
    per_machine: bool = True
    issues: tuple[Issue, ...] = field(default=())
