"""Snapshot types and documented enum values of the `scheduled_events` source (reference §3.2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from exporter.core.source import Issue

# Documented values (reference §3.2); anything else passes through as a label value.
EVENT_TYPES = ("Freeze", "Reboot", "Redeploy", "Preempt", "Terminate")
EVENT_STATUSES = ("Scheduled", "Started")


@dataclass(frozen=True, slots=True)
class ScheduledEvent:
    event_id: str
    event_type: str
    event_status: str
    event_source: str
    resource_type: str
    resources: tuple[str, ...]
    not_before: datetime | None  # None: empty (a Started event) or unparseable
    description: str
    duration_seconds: int | None  # None: -1 ("unknown or not applicable"), missing or invalid


@dataclass(frozen=True, slots=True)
class Snapshot:
    fetched_at: datetime
    incarnation: int | None
    events: tuple[ScheduledEvent, ...]
    node: str | None = None
    issues: tuple[Issue, ...] = ()
