"""Joins the tables of one refresh into machine, configuration and subscription states (pure).

Joins use lowercased machine IDs. Time-relative results (the next maintenance window, assessment
freshness) are computed here from ``now`` = the refresh time: they change only when a window
passes or an assessment ages past a threshold, and the refresh interval is minutes, so the
exposition never depends on the scrape time and can be encoded once per refresh.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from exporter.sources.update_manager.model import (
    ARC,
    ASSESSMENT_NOT_PERIODIC,
    AUTOMATIC_BY_OS,
    CLASSIFICATIONS,
    CUSTOMER_MANAGED,
    FAILED,
    FRESHNESS,
    INSTALLATION_STATES,
    MANUAL,
    NO_INSTALLATION,
    NO_SCHEDULE,
    NONE,
    ORCHESTRATION_MODES,
    PREREQUISITES_NOT_MET,
    PROBLEMS,
    RECENT,
    RUN_STATES,
    SAFE_DEPLOYMENT,
    STALE,
    USABLE_ASSESSMENT,
    VM,
    Assignment,
    Configuration,
    ConfigurationState,
    DynamicScope,
    LastRun,
    Machine,
    MachineState,
    RunPart,
    SubscriptionTotals,
    Tables,
)
from exporter.sources.update_manager.parse_schedule import next_window

_RESOURCE_TYPES = {VM: "microsoft.compute/virtualmachines", ARC: "microsoft.hybridcompute/machines"}


def orchestration_mode(machine: Machine) -> str:
    """Update Manager's option for a machine's patch settings (reference §6.3).

    A missing patchMode is the platform default: Windows VMs use AutomaticByOS unless
    enableAutomaticUpdates is false, Linux VMs ImageDefault, Arc machines nothing (manual). Arc
    machines have no bypass flag: AutomaticByPlatform there means customer-managed schedules
    (Azure-managed safe deployment is for Azure VMs only). Unknown patch modes pass through.
    """
    mode = machine.patch_mode
    if mode is None:
        windows_vm = machine.machine_type == VM and machine.os_type == "Windows"
        return AUTOMATIC_BY_OS if windows_vm and machine.automatic_updates is not False else MANUAL
    if mode == "AutomaticByPlatform":
        if machine.machine_type == ARC or machine.bypass_platform_safety_checks:
            return CUSTOMER_MANAGED
        return SAFE_DEPLOYMENT
    if mode == "AutomaticByOS":
        return AUTOMATIC_BY_OS
    if mode in ("Manual", "ImageDefault"):
        return MANUAL
    return mode


def problems_of(machine: Machine, mode: str, scheduled: bool) -> tuple[str, ...]:
    found = []
    if mode == CUSTOMER_MANAGED and not scheduled:
        found.append(NO_SCHEDULE)  # the platform leaves it to a schedule that does not exist
    if scheduled and machine.machine_type == VM and mode != CUSTOMER_MANAGED:
        found.append(PREREQUISITES_NOT_MET)  # the portal's "prerequisites not met": the schedule never runs
    if machine.assessment_mode != "AutomaticByPlatform":
        found.append(ASSESSMENT_NOT_PERIODIC)
    return tuple(found)


def _in_scope(machine: Machine, assignment: Assignment, scope: DynamicScope) -> bool:
    if not machine.id.startswith(assignment.resource_id + "/"):
        return False
    if scope.resource_types and _RESOURCE_TYPES[machine.machine_type] not in scope.resource_types:
        return False
    if scope.resource_groups and machine.resource_group not in scope.resource_groups:
        return False
    if scope.os_types and machine.os_type.lower() not in scope.os_types:
        return False
    if scope.locations and machine.location not in scope.locations:
        return False
    if not scope.tags:
        return True
    tags = {k.lower(): v for k, v in machine.tags}
    hits = [k.lower() in tags and (not values or tags[k.lower()] in values) for k, values in scope.tags]
    return all(hits) if scope.match_all_tags else any(hits)


def memberships(
    machines: Iterable[Machine], assignments: Iterable[Assignment], configurations: set[str]
) -> dict[str, tuple[str, ...]]:
    """Machine ID → IDs of the (known, InGuestPatch) configurations assigned to it."""
    found: dict[str, set[str]] = defaultdict(set)
    dynamic: list[tuple[Assignment, DynamicScope]] = []
    for a in assignments:
        if a.configuration_id not in configurations:
            continue  # another scope (Host, OSImage...) or a configuration we cannot see
        if a.scope is None:
            found[a.resource_id].add(a.configuration_id)
        else:
            dynamic.append((a, a.scope))
    if dynamic:
        for machine in machines:
            for a, scope in dynamic:
                if _in_scope(machine, a, scope):
                    found[machine.id].add(a.configuration_id)
    return {k: tuple(sorted(v)) for k, v in found.items()}


def freshness(state: MachineState, now: datetime, stale_after: timedelta) -> str:
    a = state.assessment
    if a is None:
        return NONE
    if a.status == "Failed":
        return FAILED
    if a.last_modified is None or now - a.last_modified > stale_after:
        return STALE
    return RECENT


def _rank(status: str) -> int:
    # Unknown statuses rank worst: an odd value should be looked at, not hidden behind "Completed".
    return RUN_STATES.index(status) if status in RUN_STATES else -1


def last_runs(runs: Iterable[RunPart]) -> dict[str, LastRun]:
    by_run: dict[tuple[str, str], list[RunPart]] = defaultdict(list)
    for part in runs:
        by_run[(part.configuration_id, part.run_id)].append(part)
    latest: dict[str, LastRun] = {}
    for (config, run_id), parts in by_run.items():
        starts = [p.started_at for p in parts if p.started_at is not None]
        ends = [p.ended_at for p in parts if p.ended_at is not None]
        counts: Counter[str] = Counter()
        for p in parts:
            counts[p.status] += p.machines
        run = LastRun(
            run_id=run_id,
            status=min(counts, key=_rank),
            machines=tuple(sorted(counts.items())),
            started_at=min(starts) if starts else None,
            ended_at=max(ends) if ends else None,
        )
        current = latest.get(config)
        if current is None or _later(run, current):
            latest[config] = run
    return latest


def _later(run: LastRun, than: LastRun) -> bool:
    if run.started_at is None or than.started_at is None:
        return than.started_at is None and run.run_id > than.run_id
    return (run.started_at, run.run_id) > (than.started_at, than.run_id)


def configuration_state(
    config: Configuration, now: datetime, machines: int, last_run: LastRun | None
) -> ConfigurationState:
    upcoming = next_window(config.window, now) if config.window is not None else None
    return ConfigurationState(
        config, upcoming, config.window is not None and upcoming is None, machines, last_run
    )


def machine_states(tables: Tables) -> tuple[MachineState, ...]:
    assessments = {a.machine_id: a for a in tables.assessments}
    installations = {i.machine_id: i for i in tables.installations}
    config_ids = {c.id for c in tables.configurations}
    member = memberships(tables.machines, tables.assignments, config_ids)
    out = []
    for machine in tables.machines:
        mode = orchestration_mode(machine)
        schedules = member.get(machine.id, ())
        out.append(
            MachineState(
                machine=machine,
                assessment=assessments.get(machine.id),
                installation=installations.get(machine.id),
                orchestration_mode=mode,
                schedules=schedules,
                problems=problems_of(machine, mode, bool(schedules)),
            )
        )
    return tuple(out)


def configuration_states(
    tables: Tables, machines: Iterable[MachineState], now: datetime
) -> tuple[ConfigurationState, ...]:
    covered: Counter[str] = Counter()
    for state in machines:
        covered.update(state.schedules)
    runs = last_runs(tables.runs)
    return tuple(configuration_state(c, now, covered[c.id], runs.get(c.id)) for c in tables.configurations)


def subscription_totals(
    machines: Iterable[MachineState], now: datetime, stale_after: timedelta
) -> tuple[SubscriptionTotals, ...]:
    per_sub: dict[str, list[MachineState]] = defaultdict(list)
    for state in machines:
        per_sub[state.machine.subscription_id].append(state)
    out = []
    for sub, states in sorted(per_sub.items()):
        modes: Counter[tuple[str, str]] = Counter({(t, m): 0 for t in (VM, ARC) for m in ORCHESTRATION_MODES})
        fresh: Counter[str] = Counter({f: 0 for f in FRESHNESS})
        installs: Counter[str] = Counter({s: 0 for s in (*INSTALLATION_STATES, NO_INSTALLATION)})
        pending: Counter[str] = Counter({c: 0 for c in CLASSIFICATIONS})
        with_pending: Counter[str] = Counter({c: 0 for c in CLASSIFICATIONS})
        problems: Counter[str] = Counter({p: 0 for p in PROBLEMS})
        reboot = 0
        for s in states:
            modes[(s.machine.machine_type, s.orchestration_mode)] += 1
            fresh[freshness(s, now, stale_after)] += 1
            installs[s.installation.status if s.installation else NO_INSTALLATION] += 1
            problems.update(s.problems)
            a = s.assessment
            if a is not None and a.status in USABLE_ASSESSMENT:
                for classification, count in a.counts:
                    pending[classification] += count
                    with_pending[classification] += count > 0
                reboot += bool(a.reboot_pending)
        out.append(
            SubscriptionTotals(
                subscription_id=sub,
                machines_by_mode=tuple((t, m, n) for (t, m), n in modes.items()),
                machines_by_freshness=tuple(fresh.items()),
                machines_by_installation=tuple(installs.items()),
                pending_patches=tuple(pending.items()),
                machines_with_pending=tuple(with_pending.items()),
                problems=tuple(problems.items()),
                reboot_pending=reboot,
            )
        )
    return tuple(out)
