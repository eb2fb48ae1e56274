"""Enum values and snapshot types of the `vmss_os_upgrades` source (reference §4.1-4.5).

Parsers live in ``parse``. Every enum is open-ended on the wire: an unknown value passes through
as a label value and is counted as ``reason="unknown_enum"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from exporter.core.subscription_health import SubscriptionHealth

MODES = ("Automatic", "Manual", "Rolling")
# UpgradeState / RollingUpgradeStatusCode (reference §4.2): the same five values for both calls.
CODES = ("RollingForward", "RollingBack", "Cancelled", "Completed", "Faulted")
STARTED_BY = ("Unknown", "User", "Platform")


@dataclass(frozen=True, slots=True)
class ScaleSet:
    subscription_id: str
    resource_group: str
    name: str
    location: str
    capacity: int | None
    orchestration_mode: str
    mode: str
    automatic_os_upgrade: bool
    disable_automatic_rollback: bool
    max_batch_instance_percent: float | None = None
    max_unhealthy_upgraded_instance_percent: float | None = None
    # None: no expectation configured (expect_automatic_os_upgrade_tag unset).
    automatic_os_upgrade_expected: bool | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.subscription_id, self.resource_group, self.name)

    @property
    def resource_id(self) -> str:
        # parse accepts only ids of exactly this shape, so the id is rebuilt rather than stored.
        return (
            f"/subscriptions/{self.subscription_id}/resourcegroups/{self.resource_group}"
            f"/providers/microsoft.compute/virtualmachinescalesets/{self.name}"
        )


@dataclass(frozen=True, slots=True)
class Progress:
    successful: int = 0
    failed: int = 0
    in_progress: int = 0
    pending: int = 0

    def by_state(self) -> tuple[tuple[str, int], ...]:
        return (
            ("successful", self.successful),
            ("failed", self.failed),
            ("in_progress", self.in_progress),
            ("pending", self.pending),
        )


@dataclass(frozen=True, slots=True)
class Upgrade:
    """One osUpgradeHistory entry."""

    code: str
    started_at: datetime | None
    ended_at: datetime | None
    progress: Progress
    started_by: str
    target_image: str
    error_code: str
    rolled_back: int
    rollback_failed: int


@dataclass(frozen=True, slots=True)
class History:
    latest: Upgrade | None
    codes: tuple[tuple[str, int], ...]  # entries of the returned window per final/current code


@dataclass(frozen=True, slots=True)
class RollingUpgrade:
    code: str
    started_at: datetime | None
    progress: Progress


@dataclass(frozen=True, slots=True)
class Entry:
    scale_set: ScaleSet
    eligible: bool
    history: History | None = None  # None: not eligible, or never fetched successfully
    rolling: RollingUpgrade | None = None  # None: no rolling upgrade (404) or not fetched


@dataclass(frozen=True, slots=True)
class Snapshot:
    fetched_at: datetime
    scale_sets: tuple[Entry, ...]
    requests: tuple[tuple[str, int], ...] = ()  # api -> calls made by the refresh
    expectation: bool = False  # expect_automatic_os_upgrade_tag was configured
    # Per subscription with scale sets: were all its calls answered (self-metrics read this).
    subscription_health: tuple[SubscriptionHealth, ...] = ()
