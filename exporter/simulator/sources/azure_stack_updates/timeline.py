"""Hub stamps and Azure Local clusters of the ``azure_stack`` scenario section as a pure function
of virtual time (see ``scenario`` for the section's format).

``sim.clock.advance(s)`` moves a run along without any background thread: at offset ``t`` (seconds
since the simulator started) a run has not started, is InProgress on some step, or has ended
(Succeeded, or Failed at its ``fail_at`` step). The update's state follows its latest started run
(Installing, Installed, InstallationFailed); the stamp's state and current version follow the
runs too unless the section gives ``state``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

HUB_PHASES: tuple[tuple[str, str, tuple[tuple[str, float], ...]], ...] = (
    (
        "Pre-engine Update",
        "Perform pre-engine update.",
        (("Check Cloud Health", 1), ("Stage Update Content", 2)),
    ),
    ("Engine Update", "Update the engine.", (("Update ECE Service", 1),)),
    (
        "Cloud Update",
        "Perform cloud update.",
        (
            ("Update Infrastructure VMs", 3),
            ("Restart Storage Hosts", 3),
            ("Update Resource Providers", 2),
            ("Verify Cloud Health", 1),
        ),
    ),
)
LOCAL_PHASES: tuple[tuple[str, str, tuple[tuple[str, float], ...]], ...] = (
    ("Prepare update", "Download and stage the update content.", (("Download update content", 2),)),
    ("Update health checks", "Run pre-update health checks.", (("Run pre-update health checks", 1),)),
    (
        "Install update",
        "Install the update on every node, one node at a time.",
        (("Update node AZL-N01", 3), ("Update node AZL-N02", 3)),
    ),
)
DEFAULT_ERROR = "Step failed: the node did not return to a healthy state within 02:30:00."
AVAILABLE_STATES = frozenset({"Ready", "HasPrerequisite", "Downloading", "ReadyToInstall"})
HUB_API_VERSIONS = ("2021-07-01", "2016-05-01")


@dataclass(frozen=True, slots=True)
class Leaf:
    phase: str
    phase_description: str
    name: str
    seconds: float


@dataclass(frozen=True, slots=True)
class RunSpec:
    run_id: str
    start: float
    leaves: tuple[Leaf, ...]
    fail_at: str | None
    error: str

    @property
    def end(self) -> float:
        """Offset at which the run finishes (at the failing step's end when it fails)."""
        t = self.start
        for leaf in self.leaves:
            t += leaf.seconds
            if leaf.name == self.fail_at:
                break
        return t


@dataclass(frozen=True, slots=True)
class UpdateSpec:
    name: str
    version: str
    state: str
    package_type: str
    publisher: str
    installed: float | None
    runs: tuple[RunSpec, ...]


@dataclass(frozen=True, slots=True)
class Outage:
    start: float
    seconds: float
    status: int


@dataclass(frozen=True, slots=True)
class StampSpec:
    """A Hub stamp (``platform == "hub"``) or an Azure Local cluster."""

    platform: str
    region: str  # Hub: region; Local: Azure location
    subscription_id: str
    resource_group: str  # Hub: System.{region}
    name: str  # Hub: region; Local: cluster name
    api_versions: tuple[str, ...]
    audience: str
    login_endpoint: str | None
    oem_family: str
    hardware_model: str
    current_version: str
    current_oem_version: str
    last_updated: float | None
    state: str | None
    step_offset: timedelta
    updates: tuple[UpdateSpec, ...]
    outages: tuple[Outage, ...]

    @property
    def cluster_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.AzureStackHCI/clusters/{self.name}"
        )

    def outage_at(self, t: float) -> Outage | None:
        return next((o for o in self.outages if o.start <= t < o.start + o.seconds), None)


@dataclass(frozen=True, slots=True)
class Section:
    hub: tuple[StampSpec, ...]
    local: tuple[StampSpec, ...]

    def hub_stamp(self, region: str) -> StampSpec | None:
        return next((s for s in self.hub if s.region.lower() == region.lower()), None)

    def cluster(self, subscription: str, group: str, name: str) -> StampSpec | None:
        key = (subscription.lower(), group.lower(), name.lower())
        return next(
            (
                c
                for c in self.local
                if (c.subscription_id.lower(), c.resource_group.lower(), c.name.lower()) == key
            ),
            None,
        )


# A quiet estate for scenarios without the section: the stamps the demo configuration names.
# --------------------------------------------------------------------------- the timeline


@dataclass(frozen=True, slots=True)
class RunView:
    """A run as it stands at virtual offset ``t``."""

    spec: RunSpec
    update: UpdateSpec
    state: str  # InProgress | Succeeded | Failed
    ended: float | None


def run_at(run: RunSpec, update: UpdateSpec, t: float) -> RunView | None:
    if t < run.start:
        return None
    if t < run.end:
        return RunView(run, update, "InProgress", None)
    return RunView(run, update, "Failed" if run.fail_at else "Succeeded", run.end)


def runs_at(stamp: StampSpec, t: float) -> list[RunView]:
    views = [run_at(r, u, t) for u in stamp.updates for r in u.runs]
    return [v for v in views if v is not None]


def update_at(update: UpdateSpec, t: float) -> tuple[str, float | None]:
    """(state, installed offset) of an update at ``t``: its latest started run decides."""
    views = [v for v in (run_at(r, update, t) for r in update.runs) if v is not None]
    if not views:
        return update.state, update.installed
    latest = max(views, key=lambda v: v.spec.start)
    return {
        "InProgress": ("Installing", None),
        "Failed": ("InstallationFailed", None),
    }.get(latest.state, ("Installed", latest.ended))


@dataclass(frozen=True, slots=True)
class LocationView:
    current_version: str
    state: str
    last_updated: float | None


def location_at(stamp: StampSpec, t: float) -> LocationView:
    views = runs_at(stamp, t)
    done = sorted((v for v in views if v.ended is not None), key=lambda v: v.ended or 0.0)
    succeeded = [v for v in done if v.state == "Succeeded"]
    version = succeeded[-1].update.version if succeeded else stamp.current_version
    ends = [v.ended or 0.0 for v in succeeded]
    if stamp.last_updated is not None:
        ends.append(stamp.last_updated)
    last = max(ends, default=None)
    if stamp.state:
        state = stamp.state
    elif any(v.state == "InProgress" for v in views):
        state = "UpdateInProgress"
    elif done and done[-1].state == "Failed":
        state = "UpdateFailed"
    elif any(update_at(u, t)[0] in AVAILABLE_STATES for u in stamp.updates):
        state = "AppliedUpdateAvailableSuccessfully" if stamp.platform == "hub" else "UpdateAvailable"
    else:
        state = "AppliedSuccessfully"
    return LocationView(version, state, last)


def progress(view: RunView, t: float, at: Any, local: bool) -> dict[str, Any]:
    """The step tree at ``t``: finished and running steps only, as the API lists them (§1.6)."""
    run = view.spec
    phases: list[dict[str, Any]] = []
    start = run.start
    for leaf in run.leaves:
        if start > t:
            break
        end = start + leaf.seconds
        failed = leaf.name == run.fail_at and end <= t
        status = "Error" if failed else ("Success" if end <= t else "InProgress")
        step = _step(leaf.name, f"{leaf.name} step.", status, at(start), at(end) if end <= t else None, local)
        if failed:
            step["errorMessage"] = run.error
        if not phases or phases[-1]["name"] != leaf.phase:
            phases.append(_step(leaf.phase, leaf.phase_description, "Success", at(start), None, local))
        phases[-1]["steps"].append(step)
        start = end
        if failed:
            break
    for phase in phases:
        statuses = {s["status"] for s in phase["steps"]}
        phase["status"] = (
            "Error" if "Error" in statuses else ("InProgress" if "InProgress" in statuses else "Success")
        )
        names = [leaf.name for leaf in run.leaves if leaf.phase == phase["name"]]
        complete = len(phase["steps"]) == len(names) and phase["status"] == "Success"
        if complete or phase["status"] == "Error":
            phase["endTimeUtc"] = phase["steps"][-1]["endTimeUtc"]
            if local:
                phase["lastUpdatedTimeUtc"] = phase["endTimeUtc"]
        if phase["status"] == "Error":
            phase["errorMessage"] = run.error
    root_status = {"InProgress": "InProgress", "Failed": "Error"}.get(view.state, "Success")
    description = "Start a new Azure Stack HCI update." if local else "Update Azure Stack."
    # The Hub spec example omits the root's endTimeUtc of a failed run; a succeeded one has it.
    root = _step("Unnamed step", description, root_status, at(run.start), None, local)
    if view.state == "Succeeded" or (local and view.state == "Failed"):
        root["endTimeUtc"] = at(run.end)
    if view.state == "Failed":
        root["errorMessage"] = run.error
    root["steps"] = phases
    return root


def _step(
    name: str, description: str, status: str, start: str, end: str | None, local: bool
) -> dict[str, Any]:
    step: dict[str, Any] = {
        "name": name,
        "description": description,
        "errorMessage": "",
        "status": status,
        "startTimeUtc": start,
    }
    if end is not None:
        step["endTimeUtc"] = end
    if local:
        step["lastUpdatedTimeUtc"] = end or start
        step["expectedExecutionTime"] = ""
    step["steps"] = []
    return step


# --------------------------------------------------------------------------- formats


def iso7(when: datetime, offset: timedelta = timedelta(0)) -> str:
    """``2026-11-21T08:12:44.5501223Z`` (7 fractional digits), or with a local offset."""
    local = when.astimezone(timezone(offset))
    text = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}1"
    if offset == timedelta(0):
        return text + "Z"
    return text + local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]


def iso3(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def duration(seconds: float) -> str:
    """``PT14H43M50.0644552S``."""
    seconds = max(0.0, seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"PT{int(hours)}H{int(minutes)}M{secs:.7f}S"


def ordered(updates: Sequence[UpdateSpec]) -> list[UpdateSpec]:
    return sorted(updates, key=lambda u: tuple(int(p) for p in u.version.split(".") if p.isdigit()))
