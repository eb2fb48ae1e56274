"""Azure Update Manager in Resource Graph: the six tables the ``update_manager`` source queries.

Providers answer the source's queries (machines with patch settings, ``patchassessmentresources``,
``patchinstallationresources``, maintenance configurations, configuration assignments and
summarized apply-update runs) with rows shaped like the real projections. Retention is the
service's: assessments older than 7 days and installations older than 30 days are not returned.
Scenario section::

    update_manager:
      machines:
        - name: sql-vm-01                 # also: subscription (default: the first), resource_group,
          type: vm                        #   location, tags, os (Windows | Linux)
          patch_mode: AutomaticByPlatform # null: not set; also assessment_mode, bypass (bool),
          bypass: true                    #   reboot_setting, hotpatching, automatic_updates
          assessment:                     # null: no assessment row at all
            status: Succeeded
            age: 3600                     # seconds before the simulator's start
            every: 86400                  # optional: periodic re-assessment on the virtual clock
            reboot_pending: false
            counts: {critical: 1, security: 3}
          installation: {status: Succeeded, age: 86400, duration: 1800, installed: 4, failed: 0,
                         pending: 0, excluded: 0, not_selected: 0, window_exceeded: false,
                         reboot_status: NotNeeded}
      configurations:
        - {name: mc-sql-sunday, resource_group: rg-patching, start: "2026-01-04 02:00",
           duration: "03:00", time_zone: "W. Europe Standard Time", recur_every: "Week Sunday",
           expiration: null, reboot_setting: IfRequired}
        - {name: mc-soon, start_in: 300, duration: "01:00", recur_every: Day}   # 5 min after the start
      assignments:
        - {configuration: mc-sql-sunday, machines: [sql-vm-01]}           # static
        - {configuration: mc-linux, dynamic: {os_types: [Linux], tags: {patchgroup: [weekly]}}}
      runs:                               # maintenance runs on the virtual clock
        - {configuration: mc-sql-sunday, at: 60, duration: 300, outcome: Failed,
           failed: 1, installed: 3, window_exceeded: false}   # machines: default = static assignees
        - {configuration: mc-soon, at: window, duration: 120}  # at the configuration's next window
      generate: {vms: 1000, arc: 200}     # a large estate (mixed modes, one dynamic schedule)

During a run (``at`` ≤ t < ``at + duration``) its machines' latest installation is InProgress and
the run's apply-update rows are InProgress; afterwards both carry the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from exporter.simulator.router import Router
from exporter.simulator.routes import resource_graph
from exporter.simulator.scenario import ScenarioError
from exporter.simulator.state import ScenarioState
from exporter.sources.update_manager.parse_schedule import next_window, parse_window, zone

SECTION = "update_manager"
_ASSIGNMENTS = "providers/Microsoft.Maintenance/configurationAssignments"
ASSESSMENT_RETENTION = timedelta(days=7)
INSTALLATION_RETENTION = timedelta(days=30)
_PROVIDERS = {"vm": "Microsoft.Compute/virtualMachines", "arc": "Microsoft.HybridCompute/machines"}
_KINDS = {"vm": "microsoft.compute/virtualmachines", "arc": "microsoft.hybridcompute/machines"}
_LINUX = ("critical", "security", "other")
_WINDOWS = (
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


@dataclass(frozen=True, slots=True)
class MachineSpec:
    subscription: str
    resource_group: str
    name: str
    type: str = "vm"
    os: str = "Windows"
    location: str = "westeurope"
    tags: dict[str, str] = field(default_factory=dict)
    patch_mode: str | None = None
    assessment_mode: str | None = "AutomaticByPlatform"
    bypass: bool | None = None
    reboot_setting: str | None = None
    hotpatching: bool | None = None
    automatic_updates: bool | None = None
    assessment: dict[str, Any] | None = None
    installation: dict[str, Any] | None = None

    @property
    def arm_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/{_PROVIDERS[self.type]}/{self.name}"
        )


@dataclass(frozen=True, slots=True)
class Estate:
    machines: tuple[MachineSpec, ...]
    configurations: tuple[dict[str, Any], ...]
    assignments: tuple[dict[str, Any], ...]
    runs: tuple[dict[str, Any], ...]
    generated: int  # how many of `machines` (at the end) were generated


_MACHINE_KEYS = set(MachineSpec.__dataclass_fields__)


def load(section: dict[str, Any], subscriptions: list[str]) -> Estate:
    """The scenario section → Estate; ScenarioError lists every problem."""
    problems: list[str] = []
    allowed = {"machines", "configurations", "assignments", "runs", "generate"}
    problems += [
        f"{SECTION}.{k}: unknown key; allowed: {sorted(allowed)}" for k in sorted(set(section) - allowed)
    ]
    default_sub = subscriptions[0] if subscriptions else "00000000-0000-0000-0000-000000000000"
    machines = []
    for i, raw in enumerate(section.get("machines") or []):
        where = f"{SECTION}.machines[{i}]"
        if not isinstance(raw, dict) or "name" not in raw:
            problems.append(f"{where}: expected a mapping with a name")
            continue
        unknown = sorted(set(raw) - _MACHINE_KEYS)
        if unknown:
            problems.append(f"{where}: unknown keys {unknown}; allowed: {sorted(_MACHINE_KEYS)}")
            continue
        raw = {"subscription": default_sub, "resource_group": "rg-default", **raw}
        if raw.get("type", "vm") not in _PROVIDERS:
            problems.append(f"{where}.type: expected vm or arc")
            continue
        machines.append(MachineSpec(**raw))
    configurations = []
    for i, raw in enumerate(section.get("configurations") or []):
        if (
            not isinstance(raw, dict)
            or not {"name", "duration", "recur_every"} <= set(raw)
            or ("start" in raw) == ("start_in" in raw)
        ):
            problems.append(
                f"{SECTION}.configurations[{i}]: needs name, duration, recur_every and one of start, start_in"
            )
            continue
        configurations.append({"subscription": default_sub, "resource_group": "rg-patching", **raw})
    names = {c["name"] for c in configurations}
    assignments = []
    for i, raw in enumerate(section.get("assignments") or []):
        if not isinstance(raw, dict) or raw.get("configuration") not in names:
            problems.append(f"{SECTION}.assignments[{i}]: configuration must name one of {sorted(names)}")
            continue
        assignments.append(raw)
    runs = []
    for i, raw in enumerate(section.get("runs") or []):
        if not isinstance(raw, dict) or raw.get("configuration") not in names or "at" not in raw:
            problems.append(f"{SECTION}.runs[{i}]: needs at and a configuration of {sorted(names)}")
            continue
        if raw["at"] != "window" and (isinstance(raw["at"], bool) or not isinstance(raw["at"], int | float)):
            problems.append(f"{SECTION}.runs[{i}].at: seconds after the start, or 'window'")
            continue
        runs.append(raw)
    generated: list[MachineSpec] = []
    if section.get("generate") is not None:
        generated = _generate(section["generate"], subscriptions or [default_sub], problems)
        if generated:
            configurations.append(_GENERATED_CONFIG | {"subscription": (subscriptions or [default_sub])[0]})
            assignments += [
                {"configuration": _GENERATED_CONFIG["name"], "subscription": sub, "dynamic": _GENERATED_SCOPE}
                for sub in subscriptions or [default_sub]
            ]
    if problems:
        raise ScenarioError(problems)
    return Estate(
        tuple(machines + generated), tuple(configurations), tuple(assignments), tuple(runs), len(generated)
    )


_GENERATED_CONFIG = {
    "name": "mc-generated-weekly",
    "resource_group": "rg-patching",
    "start": "2026-01-03 22:00",
    "duration": "03:00",
    "time_zone": "W. Europe Standard Time",
    "recur_every": "Week Saturday",
}
_GENERATED_SCOPE = {"tags": {"patchgroup": ["weekly"]}}


def _generate(raw: Any, subscriptions: list[str], problems: list[str]) -> list[MachineSpec]:
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k, 0), int) for k in ("vms", "arc")):
        problems.append(f"{SECTION}.generate: expected {{vms: N, arc: N}}")
        return []
    out = []
    modes = (
        ("AutomaticByPlatform", True),  # customer-managed schedules (tagged for the dynamic scope)
        ("AutomaticByPlatform", False),  # Azure-managed safe deployment
        ("AutomaticByOS", None),
        ("Manual", None),
    )
    for kind, count in (("vm", int(raw.get("vms", 0))), ("arc", int(raw.get("arc", 0)))):
        for i in range(count):
            mode, bypass = modes[i % 4]
            linux = i % 3 == 0
            if linux and mode in ("AutomaticByOS", "Manual"):
                mode = "ImageDefault"
            status = "Failed" if i % 50 == 7 else "Succeeded"
            out.append(
                MachineSpec(
                    subscription=subscriptions[i % len(subscriptions)],
                    resource_group=f"rg-{kind}-{i // 500:03d}",
                    name=f"{kind}-{i:06d}",
                    type=kind,
                    os="Linux" if linux else "Windows",
                    tags={"patchgroup": "weekly"} if bypass else {},
                    patch_mode=mode,
                    bypass=bypass if kind == "vm" else None,
                    assessment=None
                    if i % 20 == 3
                    else {
                        "status": status,
                        "age": 3600 + (i % 72) * 3600,
                        "counts": {"critical": i % 3 == 1, "security": i % 5, "other": i % 7},
                    },
                    installation=None if i % 2 else {"status": "Succeeded", "age": 2 * 86400, "installed": 3},
                )
            )
    return out


def estate(state: ScenarioState) -> Estate:
    with state.lock:
        cached: Estate | None = state.store.get("update_manager.estate")
        if cached is None:
            cached = load(state.section(SECTION), state.subscription_ids)
            state.store["update_manager.estate"] = cached
        return cached


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _config_id(config: dict[str, Any]) -> str:
    return (
        f"/subscriptions/{config['subscription']}/resourcegroups/{config['resource_group']}"
        f"/providers/microsoft.maintenance/maintenanceconfigurations/{config['name']}"
    )


# --------------------------------------------------------------------------- machines


def machine_row(m: MachineSpec) -> dict[str, Any]:
    return {
        "id": m.arm_id,
        "name": m.name,
        "type": _KINDS[m.type],
        "subscriptionId": m.subscription,
        "resourceGroup": m.resource_group,
        "location": m.location,
        "tags": dict(m.tags),
        "osType": m.os if m.type == "vm" else m.os.lower(),
        "patchMode": m.patch_mode,
        "assessmentMode": m.assessment_mode,
        "bypassPlatformSafetyChecksOnUserSchedule": m.bypass,
        "rebootSetting": m.reboot_setting,
        "enableHotpatching": m.hotpatching,
        "enableAutomaticUpdates": m.automatic_updates,
    }


def _cached_rows(state: ScenarioState, table: str, build: Any) -> list[dict[str, Any]]:
    """Rows of the generated machines, which do not change on the clock: built once."""
    key = f"update_manager.rows.{table}"
    with state.lock:
        rows: list[dict[str, Any]] | None = state.store.get(key)
    if rows is None:
        e = estate(state)
        rows = [r for m in e.machines[len(e.machines) - e.generated :] if (r := build(state, m)) is not None]
        with state.lock:
            state.store[key] = rows
    return rows


def _by_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: str(r["id"]).lower())  # `order by id asc`


def _explicit(state: ScenarioState) -> tuple[MachineSpec, ...]:
    e = estate(state)
    return e.machines[: len(e.machines) - e.generated]


def machine_rows(state: ScenarioState, body: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [machine_row(m) for m in _explicit(state)]
    return _by_id(rows + _cached_rows(state, "machines", lambda _s, m: machine_row(m)))


# --------------------------------------------------------------------------- assessments


def assessment_row(state: ScenarioState, m: MachineSpec) -> dict[str, Any] | None:
    a = m.assessment
    if a is None:
        return None
    start, now = state.clock.start, state.clock.now()
    modified = start - timedelta(seconds=float(a.get("age", 3600)))
    every = a.get("every")
    if every:
        periods = max(0, int((now - modified).total_seconds() // float(every)))
        modified += timedelta(seconds=periods * float(every))
    if now - modified > ASSESSMENT_RETENTION:
        return None
    counts = a.get("counts") or {}
    names = _LINUX if m.os == "Linux" else _WINDOWS
    return {
        "id": f"{m.arm_id}/patchAssessmentResults/latest",
        "type": f"{_KINDS[m.type]}/patchassessmentresults",
        "subscriptionId": m.subscription,
        "resourceGroup": m.resource_group,
        "status": a.get("status", "Succeeded"),
        "osType": m.os,
        "rebootPending": bool(a.get("reboot_pending", False)),
        "startedBy": a.get("started_by", "Platform"),
        "lastModifiedDateTime": _iso(modified),
        # A failed assessment carries zeros, as the service's does.
        "availablePatchCountByClassification": {
            n: (0 if a.get("status") == "Failed" else int(counts.get(n, 0))) for n in names
        },
    }


def assessment_rows(state: ScenarioState, body: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [r for m in _explicit(state) if (r := assessment_row(state, m)) is not None]
    return _by_id(rows + _cached_rows(state, "assessments", assessment_row))


# --------------------------------------------------------------------------- installations and runs


def _run_machines(e: Estate, run: dict[str, Any]) -> list[MachineSpec]:
    if "machines" in run:
        wanted = set(run["machines"])
        return [m for m in e.machines if m.name in wanted]
    static = {
        name
        for a in e.assignments
        if a["configuration"] == run["configuration"]
        for name in a.get("machines") or []
    }
    return [m for m in e.machines if m.name in static]


def _start_local(state: ScenarioState, config: dict[str, Any]) -> str:
    """``startDateTime`` as Azure has it: ``start``, or ``start_in`` seconds after the clock's start
    written as wall-clock time in the configuration's zone (so a demo window comes up soon)."""
    if "start" in config:
        return str(config["start"])
    moment = state.clock.start + timedelta(seconds=float(config["start_in"]))
    return moment.astimezone(zone(config.get("time_zone", "UTC"))).strftime("%Y-%m-%d %H:%M")


def _run_start(state: ScenarioState, run: dict[str, Any]) -> datetime:
    if run["at"] != "window":
        return state.clock.start + timedelta(seconds=float(run["at"]))
    # The configuration's first window from the clock's start; the grammar is the Maintenance RP's,
    # computed with the exporter's parser (the exporter's own tests pin it down independently).
    config = next(c for c in estate(state).configurations if c["name"] == run["configuration"])
    window = parse_window(
        _start_local(state, config),
        config["duration"],
        config.get("time_zone", "UTC"),
        config["recur_every"],
        config.get("expiration"),
    )
    upcoming = next_window(window, state.clock.start)
    return upcoming.start if upcoming is not None else datetime.max.replace(tzinfo=UTC)


def _run_state(state: ScenarioState, run: dict[str, Any]) -> tuple[datetime, datetime, str] | None:
    """(start, end, status) of a run that has started on the virtual clock, else None."""
    start = _run_start(state, run)
    end = start + timedelta(seconds=float(run.get("duration", 300)))
    now = state.clock.now()
    if now < start:
        return None
    return start, end, ("InProgress" if now < end else str(run.get("outcome", "Succeeded")))


def _run_id(config: dict[str, Any], start: datetime) -> str:
    return f"{_config_id(config)}/providers/microsoft.maintenance/applyupdates/{start:%Y%m%d%H%M%S}"


def installation_row(state: ScenarioState, m: MachineSpec) -> dict[str, Any] | None:
    inst = m.installation
    if inst is None:
        return None
    finished = state.clock.start - timedelta(seconds=float(inst.get("age", 86400)))
    started = finished - timedelta(seconds=float(inst.get("duration", 1800)))
    return _installation(m, inst, started, finished, str(inst.get("status", "Succeeded")), "")


def _installation(
    m: MachineSpec, values: dict[str, Any], started: datetime, modified: datetime, status: str, run_id: str
) -> dict[str, Any]:
    return {
        "id": f"{m.arm_id}/patchInstallationResults/{m.name}-{started:%Y%m%d%H%M%S}",
        "type": f"{_KINDS[m.type]}/patchinstallationresults",
        "subscriptionId": m.subscription,
        "resourceGroup": m.resource_group,
        "status": status,
        "startDateTime": _iso(started),
        "lastModifiedDateTime": _iso(modified),
        "installedPatchCount": int(values.get("installed", 0)),
        "failedPatchCount": int(values.get("failed", 0)),
        "pendingPatchCount": int(values.get("pending", 0)),
        "excludedPatchCount": int(values.get("excluded", 0)),
        "notSelectedPatchCount": int(values.get("not_selected", 0)),
        "maintenanceWindowExceeded": bool(values.get("window_exceeded", False)),
        "rebootStatus": values.get("reboot_status", "NotNeeded"),
        "startedBy": "Platform",
        "maintenanceRunId": run_id,
    }


def installation_rows(state: ScenarioState, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The latest installation per machine (the query's arg_max), runs on the clock included."""
    e = estate(state)
    now = state.clock.now()
    latest: dict[str, dict[str, Any]] = {}
    for m in _explicit(state):
        row = installation_row(state, m)
        if row is not None:
            latest[m.arm_id] = row
    configs = {c["name"]: c for c in e.configurations}
    for run in sorted(e.runs, key=lambda r: _run_start(state, r)):
        current = _run_state(state, run)
        if current is None:
            continue
        start, end, status = current
        run_id = _run_id(configs[run["configuration"]], start)
        for m in _run_machines(e, run):
            values = run if status != "InProgress" else {}
            latest[m.arm_id] = _installation(m, values, start, min(now, end), status, run_id)
    rows = [r for r in latest.values() if now - _parse(r["lastModifiedDateTime"]) <= INSTALLATION_RETENTION]
    return _by_id(rows + _cached_rows(state, "installations", installation_row))


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace(".0000000Z", "+00:00"))


def run_rows(state: ScenarioState, body: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (configuration, run, status), as the source's summarize returns them."""
    e = estate(state)
    configs = {c["name"]: c for c in e.configurations}
    rows = []
    for run in e.runs:
        current = _run_state(state, run)
        if current is None:
            continue
        start, end, status = current
        config = configs[run["configuration"]]
        run_id = _run_id(config, start)
        # The Maintenance RP's apply-update status: a failed installation fails the run.
        run_status = {"Succeeded": "Completed", "CompletedWithWarnings": "Completed"}.get(status, status)
        machines = _run_machines(e, run)
        rows.append(
            {
                "id": f"{run_id}#{run_status.lower()}",
                "configurationId": _config_id(config),
                "runId": run_id,
                "status": run_status,
                "machines": len(machines),
                "startDateTime": _iso(start),
                "endDateTime": _iso(end),
                "subscriptionId": config["subscription"],
            }
        )
    return _by_id(rows)


# --------------------------------------------------------------------------- maintenance configurations


def configuration_rows(state: ScenarioState, body: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for c in estate(state).configurations:
        window = {
            "startDateTime": _start_local(state, c),
            "duration": c["duration"],
            "timeZone": c.get("time_zone", "UTC"),
            "recurEvery": c["recur_every"],
            "expirationDateTime": c.get("expiration") or "9999-12-31 23:59",
        }
        rows.append(
            {
                "id": _config_id(c).replace("/resourcegroups/", "/resourceGroups/"),
                "name": c["name"],
                "subscriptionId": c["subscription"],
                "resourceGroup": c["resource_group"],
                "location": c.get("location", "westeurope"),
                "properties": {
                    "maintenanceScope": "InGuestPatch",
                    "maintenanceWindow": window,
                    "installPatches": {"rebootSetting": c.get("reboot_setting", "IfRequired")},
                    "extensionProperties": {"InGuestPatchMode": "User"},
                    "visibility": "Custom",
                    "namespace": "Microsoft.Maintenance",
                },
            }
        )
    return _by_id(rows)


def assignment_rows(state: ScenarioState, body: dict[str, Any]) -> list[dict[str, Any]]:
    e = estate(state)
    configs = {c["name"]: c for c in e.configurations}
    by_name = {m.name: m for m in e.machines}
    rows = []
    for i, a in enumerate(e.assignments):
        config_id = _config_id(configs[a["configuration"]])
        for name in a.get("machines") or []:
            machine = by_name.get(name)
            if machine is None:
                continue
            rows.append(
                {
                    "id": f"{machine.arm_id}/{_ASSIGNMENTS}/{a['configuration']}",
                    "subscriptionId": machine.subscription,
                    "properties": {"maintenanceConfigurationId": config_id, "resourceId": machine.arm_id},
                }
            )
        dynamic = a.get("dynamic")
        if dynamic is not None:
            sub = a.get("subscription") or configs[a["configuration"]]["subscription"]
            rows.append(
                {
                    "id": f"/subscriptions/{sub}/{_ASSIGNMENTS}/dyn-{i}",
                    "subscriptionId": sub,
                    "properties": {
                        "maintenanceConfigurationId": config_id,
                        "resourceId": f"/subscriptions/{sub}",
                        "filter": {
                            "resourceTypes": dynamic.get("resource_types") or [],
                            "resourceGroups": dynamic.get("resource_groups") or [],
                            "osTypes": dynamic.get("os_types") or [],
                            "locations": dynamic.get("locations") or [],
                            "tagSettings": {
                                "tags": dynamic.get("tags") or {},
                                "filterOperator": dynamic.get("filter_operator", "Any"),
                            },
                        },
                    },
                }
            )
    return _by_id(rows)


# --------------------------------------------------------------------------- registration


def _starts(prefix: str, *needles: str) -> Any:
    return lambda q: q.startswith(prefix) and all(n in q for n in needles)


PROVIDERS = (
    (
        "update_manager.machines",
        _starts("resources", "'microsoft.hybridcompute/machines'", "patchmode"),
        machine_rows,
    ),
    ("update_manager.assessments", _starts("patchassessmentresources"), assessment_rows),
    ("update_manager.installations", _starts("patchinstallationresources"), installation_rows),
    (
        "update_manager.configurations",
        _starts("resources", "'microsoft.maintenance/maintenanceconfigurations'"),
        configuration_rows,
    ),
    (
        "update_manager.assignments",
        _starts("maintenanceresources", "configurationassignments"),
        assignment_rows,
    ),
    ("update_manager.runs", _starts("maintenanceresources", "applyupdates"), run_rows),
)


def register(router: Router) -> None:
    for name, matches, rows in PROVIDERS:
        resource_graph.register_provider(name, matches, rows)
