"""Enum values and snapshot types of the `arc_agents` source (reference §5).

Parsers live in ``parse``. Every enum is open-ended on the wire: an unknown value passes through
as a label value and is counted as ``reason="unknown_enum"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# MachineProperties.status: the SDK enum plus `Expired` (Learn, the official ARG sample) and
# `AwaitingConnection` (added to the 2025 API versions). `Unknown` stands for a null/missing status.
STATUSES = ("Connected", "Disconnected", "Error", "Expired", "AwaitingConnection")
MISSING_STATUS = "Unknown"
# AgentUpgrade.lastAttemptStatus (LastAttemptStatusEnum).
ATTEMPT_STATUSES = ("Success", "Failed")
# Support state of one machine's agent at the evaluation time (exclusive, used for the counts).
SUPPORTED, EXPIRING, UNSUPPORTED, UNKNOWN = "supported", "expiring", "unsupported", "unknown"
SUPPORT_STATES = (SUPPORTED, EXPIRING, UNSUPPORTED, UNKNOWN)
SUPPORT_DAYS = 365  # "versions released within the last year are supported" (reference §5.4)
UNKNOWN_VERSION = "unknown"  # agent_version label of machines whose version cannot be read

# Where the newest known version came from, most authoritative first (wins ties).
NEWEST_SOURCES = ("table", "agent_versions_api", "advisor", "estate")


@dataclass(frozen=True, slots=True, order=True)
class Version:
    """An agent release: major.minor (builds and re-releases of one release share it)."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


@dataclass(frozen=True, slots=True)
class Release:
    version: Version
    released: datetime  # first day of the release month, UTC (or an exact day from a user table)


@dataclass(frozen=True, slots=True)
class ReleaseTable:
    releases: tuple[Release, ...]  # oldest first, one per version
    custom_rows: int = 0  # rows that came from release_table_file

    def get(self, version: Version) -> Release | None:
        for release in self.releases:
            if release.version == version:
                return release
        return None

    @property
    def newest(self) -> Version | None:
        return self.releases[-1].version if self.releases else None


@dataclass(frozen=True, slots=True)
class Machine:
    subscription_id: str
    resource_group: str
    name: str
    location: str
    kind: str  # "" when null (most machines)
    os_type: str  # lowercased: windows, linux, or "" when missing
    os_sku: str
    status: str  # canonical casing, a passed-through unknown value, or MISSING_STATUS
    last_status_change: datetime | None
    agent_build: str  # agentVersion as sent ("" when null)
    version: Version | None  # major.minor of agent_build; None when unreadable
    automatic_upgrade: bool | None  # None: the value was garbage (counted)
    desired_version: str
    last_attempt_status: str  # "" when no attempt was reported
    last_attempt_at: datetime | None
    last_attempt_desired_version: str

    @property
    def resource_id(self) -> str:
        """The lowercased ARM id (subscription, group and name are already lowercased)."""
        return (
            f"/subscriptions/{self.subscription_id}/resourcegroups/{self.resource_group}"
            f"/providers/microsoft.hybridcompute/machines/{self.name}"
        )

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.subscription_id, self.resource_group, self.name)


@dataclass(frozen=True, slots=True)
class Assessment:
    """One machine's agent against the release table and the newest known version."""

    state: str  # one of SUPPORT_STATES
    released: datetime | None = None  # None: version unknown or newer than the table
    support_end: datetime | None = None
    behind: int | None = None  # minor versions behind the newest known; None: version unknown

    @property
    def known(self) -> bool:
        return self.state != UNKNOWN

    @property
    def supported(self) -> bool:
        return self.state in (SUPPORTED, EXPIRING)


@dataclass(frozen=True, slots=True)
class Entry:
    machine: Machine
    assessment: Assessment
    downgraded_at: datetime | None = None  # last refresh that saw this machine's version go down


@dataclass(frozen=True, slots=True)
class Newest:
    version: Version
    source: str  # one of NEWEST_SOURCES


@dataclass(frozen=True, slots=True)
class Snapshot:
    fetched_at: datetime
    evaluated_at: datetime  # Resource Graph's now() for the query (support states are as of it)
    machines: tuple[Entry, ...]
    table_newest: Version | None
    newest: Newest | None
    downgrades: tuple[tuple[str, int], ...] = ()  # subscription -> downgrades since the exporter started
    requests: tuple[tuple[str, int], ...] = ()  # api -> calls (pages) the refresh made
    per_machine: bool = True
    issue_keys: frozenset[str] = frozenset()  # reported already: not counted again next refresh
    # The agentVersions API answered 404/400 for every OS type (not exposed by this cloud or
    # api-version): it is not asked again until the exporter restarts.
    agent_versions_api_absent: bool = False
    # Sharded: the one replica that states the tenant-wide catalog (newest version, table lag,
    # evaluation time), so no series is exposed by two replicas.
    states_catalog: bool = True
