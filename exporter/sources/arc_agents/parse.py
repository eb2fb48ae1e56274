"""Pure parsers for the Arc Resource Graph rows, the Advisor cross-check and the agentVersions API,
and the snapshot built from them (reference §5).

Labels come from the lowercased resource ID. One bad machine never fails the refresh: an
unreadable field is dropped for that machine and counted. Problems are grouped by field and value
(not by machine), so 20,000 machines with a null ``agentVersion`` are one log line and one count.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from exporter.core.errors import Reason
from exporter.core.gil import PACE_ITEMS, paced
from exporter.core.identity import normalise_resource_id
from exporter.core.source import Issue
from exporter.core.timefmt import parse_iso
from exporter.sources.arc_agents.model import (
    ATTEMPT_STATUSES,
    MISSING_STATUS,
    STATUSES,
    Entry,
    Machine,
    ReleaseTable,
    Snapshot,
    Version,
)
from exporter.sources.arc_agents.parse_releases import assess, newest_version, parse_version

_MACHINE_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)"
    r"/providers/microsoft\.hybridcompute/machines/(?P<name>[^/]+)$"
)
_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})


@dataclass
class Problems:
    """Odd input grouped by key: how many machines, and one example (for the log line)."""

    found: dict[str, tuple[Reason, str, tuple[tuple[str, str], ...]]] = field(default_factory=dict)
    machines: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, reason: Reason, message: str, ref: str, **fields: str) -> None:
        self.found.setdefault(key, (reason, message, tuple(sorted(fields.items()))))
        self.machines[key] += 1
        self.examples.setdefault(key, ref)

    def issues(self) -> list[Issue]:
        return [
            Issue(
                key,
                reason,
                message,
                (*fields, ("machines", str(self.machines[key])), ("example", self.examples[key])),
            )
            for key, (reason, message, fields) in sorted(self.found.items())
        ]


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _short(value: object) -> str:
    return repr(value)[:40]


def _enum(value: str, known: Iterable[str], what: str, ref: str, problems: Problems) -> str:
    for candidate in known:
        if candidate.lower() == value.lower():
            return candidate
    problems.add(
        f"{what}:{value[:40]}", Reason.UNKNOWN_ENUM, f"unknown {what}; passed through", ref, value=value[:40]
    )
    return value


def _bool(value: object, what: str, ref: str, problems: Problems) -> bool | None:
    """true/false, also as strings ("true", "False"); null → False (the setting is not on)."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE or text == "":
        return False
    problems.add(
        f"{what}:bad",
        Reason.MALFORMED_PAYLOAD,
        f"{what} is not a boolean; not exposed",
        ref,
        value=_short(value),
    )
    return None


def _time(value: object, what: str, ref: str, problems: Problems) -> datetime | None:
    try:
        return parse_iso(value)
    except ValueError:
        problems.add(
            f"{what}:bad",
            Reason.MALFORMED_PAYLOAD,
            f"unparseable {what}; not exposed",
            ref,
            value=_short(value),
        )
        return None


def _version(value: object, ref: str, problems: Problems) -> Version | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.add(
            "agentVersion:missing", Reason.MISSING_FIELD, "machine without agentVersion; version unknown", ref
        )
        return None
    version = parse_version(value)
    if version is None:
        problems.add(
            f"agentVersion:{_short(value)}",
            Reason.MALFORMED_PAYLOAD,
            "unparseable agentVersion; version unknown",
            ref,
            value=_short(value),
        )
    return version


def parse_machine(row: object, problems: Problems) -> Machine | None:
    """One projected Resource Graph row → Machine; None (and a problem) without a machine id."""
    if not isinstance(row, Mapping):
        problems.add("row", Reason.MALFORMED_PAYLOAD, "Resource Graph row is not an object; skipped", "")
        return None
    match = _MACHINE_ID.match(normalise_resource_id(_text(row.get("id"))))
    if match is None:
        problems.add("row:id", Reason.MISSING_FIELD, "row without an Arc machine resource id; skipped", "")
        return None
    ref = "/".join(match.group("sub", "rg", "name"))
    status_text = _text(row.get("status"))
    if status_text:
        status = _enum(status_text, STATUSES, "status", ref, problems)
    else:
        problems.add(
            "status:missing", Reason.MISSING_FIELD, "machine without status; exposed as Unknown", ref
        )
        status = MISSING_STATUS
    attempt = _text(row.get("lastAttemptStatus"))
    return Machine(
        subscription_id=match.group("sub"),
        resource_group=match.group("rg"),
        name=match.group("name"),
        location=_text(row.get("location")).lower(),
        kind=_text(row.get("kind")),
        os_type=_text(row.get("osType")).lower(),
        os_sku=_text(row.get("osSku")),
        status=status,
        last_status_change=_time(row.get("lastStatusChange"), "lastStatusChange", ref, problems),
        agent_build=_text(row.get("agentVersion")),
        version=_version(row.get("agentVersion"), ref, problems),
        automatic_upgrade=_bool(row.get("enableAutomaticUpgrade"), "enableAutomaticUpgrade", ref, problems),
        desired_version=_text(row.get("desiredVersion")),
        last_attempt_status=_enum(attempt, ATTEMPT_STATUSES, "lastAttemptStatus", ref, problems)
        if attempt
        else "",
        last_attempt_at=_time(row.get("lastAttemptTimestamp"), "lastAttemptTimestamp", ref, problems),
        last_attempt_desired_version=_text(row.get("lastAttemptDesiredVersion")),
    )


def parse_machines(rows: Iterable[object], problems: Problems) -> tuple[Machine, ...]:
    found: dict[tuple[str, str, str], Machine] = {}
    for row in paced(rows, PACE_ITEMS):
        machine = parse_machine(row, problems)
        if machine is not None:
            found.setdefault(machine.key, machine)
    return tuple(found[k] for k in sorted(found))


def query_time(rows: Iterable[object]) -> datetime | None:
    """The newest ``queriedAt`` (KQL ``now()``) of the rows: the service's clock for the query."""
    newest: datetime | None = None
    for row in rows:
        if isinstance(row, Mapping):
            try:
                moment = parse_iso(row.get("queriedAt"))
            except ValueError:
                continue
            if moment is not None and (newest is None or moment > newest):
                newest = moment
    return newest


def parse_advisor(rows: Iterable[object], problems: Problems) -> list[Version]:
    """``latestVersion`` values of the Advisor "upgrade the agent" recommendations."""
    out: list[Version] = []
    for row in rows:
        value = row.get("latestVersion") if isinstance(row, Mapping) else None
        version = parse_version(value)
        if version is None:
            problems.add(
                "advisor:latestVersion",
                Reason.MALFORMED_PAYLOAD,
                "unparseable Advisor latestVersion",
                "",
                value=_short(value),
            )
            continue
        out.append(version)
    return out


def parse_agent_versions(body: object, problems: Problems) -> list[Version]:
    """``{"value": [{"agentVersion": "1.67", ...}]}`` of ``osType/{os}/agentVersions``."""
    items = body.get("value") if isinstance(body, Mapping) else None
    if not isinstance(items, list):
        problems.add(
            "agent_versions:body", Reason.MALFORMED_PAYLOAD, "agentVersions answer without a value list", ""
        )
        return []
    out: list[Version] = []
    for item in items:
        value = item.get("agentVersion") if isinstance(item, Mapping) else None
        version = parse_version(value)
        if version is None:
            problems.add(
                "agent_versions:agentVersion",
                Reason.MALFORMED_PAYLOAD,
                "unparseable agentVersions entry",
                "",
                value=_short(value),
            )
            continue
        out.append(version)
    return out


@dataclass(frozen=True, slots=True)
class Inputs:
    """What one refresh read, before it is judged against the table and the previous snapshot."""

    fetched_at: datetime
    evaluated_at: datetime
    machines: tuple[Machine, ...]
    table: ReleaseTable
    external: tuple[tuple[str, Version], ...] = ()  # ("advisor" | "agent_versions_api", version)
    requests: tuple[tuple[str, int], ...] = ()
    agent_versions_api_absent: bool = False
    # Sharded: the releases installed across the whole tenant (one summarised query), so every
    # replica judges "newest" alike; None: this replica's machines are the whole estate.
    estate_versions: tuple[Version, ...] | None = None


def parse_estate_versions(rows: Iterable[object]) -> tuple[Version, ...]:
    """``agentVersion`` of the tenant-wide summary rows; unreadable ones are left out (the
    per-machine rows of the owning replica count them)."""
    versions = (parse_version(row.get("agentVersion")) for row in rows if isinstance(row, Mapping))
    return tuple(sorted({v for v in versions if v is not None}))


def build_snapshot(
    inputs: Inputs,
    previous: Snapshot | None,
    expiring_within: timedelta,
    per_machine: bool,
    issue_keys: frozenset[str],
) -> Snapshot:
    """Assess every machine, and count downgrades against the previous snapshot's versions."""
    table = inputs.table
    candidates: list[tuple[str, Version]] = list(inputs.external)
    if table.newest is not None:
        candidates.append(("table", table.newest))
    if inputs.estate_versions is not None:
        candidates += [("estate", v) for v in inputs.estate_versions]
    else:
        candidates += [("estate", m.version) for m in inputs.machines if m.version is not None]
    newest = newest_version(candidates)
    known = {v for _, v in candidates} | {r.version for r in table.releases}
    before = {e.machine.key: e for e in previous.machines} if previous is not None else {}
    downgrades: Counter[str] = Counter(dict(previous.downgrades) if previous is not None else {})
    entries: list[Entry] = []
    at = inputs.evaluated_at
    for machine in paced(inputs.machines, PACE_ITEMS):
        old = before.get(machine.key)
        downgraded_at = old.downgraded_at if old is not None else None
        old_version = old.machine.version if old is not None else None
        if machine.version is not None and old_version is not None and machine.version < old_version:
            downgrades[machine.subscription_id] += 1
            downgraded_at = at
        assessment = assess(
            machine.version, table, newest.version if newest else None, known, at, expiring_within
        )
        entries.append(Entry(machine, assessment, downgraded_at))
    return Snapshot(
        fetched_at=inputs.fetched_at,
        evaluated_at=at,
        machines=tuple(entries),
        table_newest=table.newest,
        newest=newest,
        downgrades=tuple(sorted(downgrades.items())),
        requests=inputs.requests,
        per_machine=per_machine,
        issue_keys=issue_keys,
        agent_versions_api_absent=inputs.agent_versions_api_absent,
    )
