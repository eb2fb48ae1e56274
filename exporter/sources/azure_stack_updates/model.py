"""Snapshot types of the `azure_stack_updates` source and the pure rules that bound them.

Reference: shared azure-apis.md §1 (Hub) and §2 (Local). Parsers live in ``parse``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from exporter.core.values import join_key
from exporter.sources.azure_stack_updates.model_states import IN_PROGRESS_LOCATION_STATES, NO_RUN_STATES


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    status: str
    start: datetime | None
    end: datetime | None
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Run:
    update: str
    run_id: str  # lowercased leaf of the id (a GUID)
    state: str
    started: datetime | None
    ended: datetime | None  # finished runs only
    duration_seconds: float | None  # finished runs only; running ones are now - started
    progress: Step | None

    def step_counts(self) -> Counter[str]:
        """Leaf steps by status: the units of work done, running and failed."""
        counts: Counter[str] = Counter()
        if self.progress is not None:
            for leaf in _leaves(self.progress):
                counts[leaf.status or "Unknown"] += 1
        return counts

    def current_step(self) -> tuple[str, str, str] | None:
        """(phase, step, status) of the deepest InProgress step, or of the deepest Error step of
        a failed run; the PEP recipe ``//Step[@Status='InProgress']`` (§1.6)."""
        wanted = {"InProgress": "InProgress", "Failed": "Error"}.get(self.state)
        if wanted is None or self.progress is None:
            return None
        path = _find(self.progress, wanted)
        if path is None:
            return None
        phase = path[1].name if len(path) > 1 else ""
        return phase, path[-1].name, path[-1].status

    def current_step_started(self) -> datetime | None:
        """Start of the step `current_step` names (None when there is none or Azure gave no start)."""
        wanted = {"InProgress": "InProgress", "Failed": "Error"}.get(self.state)
        if wanted is None or self.progress is None:
            return None
        path = _find(self.progress, wanted)
        return path[-1].start if path is not None else None


def _leaves(step: Step) -> Iterable[Step]:
    if not step.steps:
        yield step
        return
    for child in step.steps:
        yield from _leaves(child)


def _find(step: Step, status: str) -> list[Step] | None:
    # The last matching child wins: steps are listed in execution order.
    for child in reversed(step.steps):
        found = _find(child, status)
        if found is not None:
            return [step, *found]
    return [step] if step.status == status else None


@dataclass(frozen=True, slots=True)
class Update:
    name: str
    version: str
    state: str
    package_type: str
    installed: datetime | None


@dataclass(frozen=True, slots=True)
class Location:
    """A Hub update location or an Azure Local update summary."""

    current_version: str
    current_oem_version: str
    state: str
    last_updated: datetime | None
    last_checked: datetime | None


@dataclass(frozen=True, slots=True)
class StampData:
    """One successful read of a stamp or cluster, already bounded for exposure."""

    location: Location | None
    updates: tuple[Update, ...]  # exposed: the newest `max_updates`
    runs: tuple[Run, ...]  # exposed: latest run per update, superseded runs dropped
    all_runs: tuple[Run, ...]  # every run read (reused for unchanged updates)
    in_progress: bool
    last_success: datetime | None


@dataclass(frozen=True, slots=True)
class HubDiscovery:
    """What a Hub stamp told us about itself once; not asked again while it stays valid."""

    audience: str
    login_endpoint: str
    subscription_id: str
    region: str


@dataclass(frozen=True, slots=True)
class Stamp:
    platform: str
    name: str  # the `stamp` label
    key: str  # identity across refreshes: admin endpoint or lowercased cluster id
    endpoint: str
    api_version: str
    data: StampData | None  # None until the first successful read
    api_up: bool
    api_consecutive_failures: int
    discovery: HubDiscovery | None = None
    # Normalised ARM id (exporter.core.identity): the Hub update location or the Azure Local
    # cluster; "" for a Hub stamp never reached. subscription_id/resource_group come from it.
    resource_id: str = ""
    # When the stamp's update API was last read successfully (kept while it fails).
    api_last_success: datetime | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    fetched_at: datetime
    stamps: tuple[Stamp, ...]
    run_duration_limits: tuple[tuple[str, float], ...]  # (platform, seconds)
    issue_keys: frozenset[str] = frozenset()


def version_key(version: str, name: str = "") -> tuple[tuple[int, ...], str]:
    return tuple(int(p) for p in re.findall(r"\d+", version or name)), name


def run_candidates(updates: Iterable[Update], max_runs: int) -> list[Update]:
    """Updates whose runs are read: the newest ``max_runs`` that may have run, installing first."""
    eligible = [u for u in updates if u.state not in NO_RUN_STATES]
    eligible.sort(key=lambda u: (u.state == "Installing", version_key(u.version, u.name)), reverse=True)
    return eligible[:max_runs]


def build_data(
    location: Location | None,
    updates: Iterable[Update],
    runs: Iterable[Run],
    max_updates: int,
) -> StampData:
    updates = sorted(updates, key=lambda u: version_key(u.version, u.name), reverse=True)
    every = tuple(runs)
    exposed = exposed_runs(every)
    in_progress = any(r.state == "InProgress" for r in exposed) or (
        location is not None and location.state in IN_PROGRESS_LOCATION_STATES
    )
    successes = [r.ended for r in every if r.state == "Succeeded" and r.ended is not None]
    if location is not None and location.last_updated is not None:
        successes.append(location.last_updated)
    return StampData(
        location=location,
        updates=tuple(updates[:max_updates]),
        runs=exposed,
        all_runs=every,
        in_progress=in_progress,
        last_success=max(successes) if successes else None,
    )


def exposed_runs(runs: Sequence[Run]) -> tuple[Run, ...]:
    """The latest run of each update, minus runs superseded on the stamp.

    Runs on a stamp are sequential, so a Failed or InProgress run that started before some
    other run of the same stamp is no longer current: it was resumed under a new run or left
    stale (§1.6 resumed runs, §2.5 pitfalls). Succeeded runs are never superseded.
    """
    floor = datetime.min.replace(tzinfo=UTC)

    def started(run: Run) -> datetime:
        return run.started if run.started is not None else floor

    latest: dict[str, Run] = {}
    for run in runs:
        current = latest.get(join_key(run.update))
        if current is None or (started(run), run.run_id) > (started(current), current.run_id):
            latest[join_key(run.update)] = run
    newest = max((started(r) for r in runs), default=floor)
    kept = [r for r in latest.values() if r.state not in ("Failed", "InProgress") or started(r) >= newest]
    kept.sort(key=lambda r: (started(r), r.run_id), reverse=True)
    return tuple(kept)


def runs_by_update(runs: Iterable[Run]) -> dict[str, tuple[Run, ...]]:
    """Runs by `join_key` of their update name."""
    grouped: dict[str, list[Run]] = {}
    for run in runs:
        grouped.setdefault(join_key(run.update), []).append(run)
    return {k: tuple(v) for k, v in grouped.items()}
