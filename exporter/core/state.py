"""Per-source refresh state: the last good snapshot plus the bookkeeping behind self-metrics."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from exporter.core.errors import Reason
from exporter.core.source import AnySpec


@dataclass(frozen=True, slots=True)
class StateView:
    """A consistent copy taken under the lock, so a scrape never sees a half-updated state."""

    name: str
    interval: float
    snapshot: Any | None
    # The snapshot's cached encoding (exporter.core.render.Exposition), published with it.
    exposition: Any | None
    up: bool
    attempted: bool
    last_success: float | None
    last_duration: float | None
    refreshes: int
    errors: dict[Reason, int]
    consecutive_failures: int
    last_reason: Reason | None
    encode_failures: int = 0


@dataclass
class SourceState:
    spec: AnySpec
    interval: float
    timeout: float
    options: Any
    snapshot: Any | None = None
    exposition: Any | None = None
    up: bool = False
    attempted: bool = False
    last_success: float | None = None
    last_duration: float | None = None
    refreshes: int = 0
    errors: Counter[Reason] = field(default_factory=Counter)
    consecutive_failures: int = 0
    last_reason: Reason | None = None
    # Times the source's families could not be encoded and were left out of a scrape.
    encode_failures: int = 0
    _encode_failing: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    def record_success(
        self,
        snapshot: Any,
        finished_at: float,
        duration: float,
        problems: list[Reason],
        exposition: Any | None = None,
    ) -> None:
        # Snapshot and its encoded bytes become visible together: no scrape ever finds a
        # snapshot whose bytes it would have to encode itself.
        with self._lock:
            self.snapshot = snapshot
            self.exposition = exposition
            self.up = True
            self.attempted = True
            self.last_success = finished_at
            self.last_duration = duration
            self.refreshes += 1
            self.consecutive_failures = 0
            self.last_reason = None
            self.errors.update(problems)

    def record_failure(self, reason: Reason, duration: float) -> None:
        # The snapshot is deliberately left alone: the last good data keeps being served.
        with self._lock:
            self.up = False
            self.attempted = True
            self.last_duration = duration
            self.refreshes += 1
            self.consecutive_failures += 1
            self.last_reason = reason
            self.errors[reason] += 1

    def count_error(self, reason: Reason) -> None:
        with self._lock:
            self.errors[reason] += 1

    def count_encode_failure(self) -> bool:
        """Count one encode failure; True if the source encoded fine until now (log it then)."""
        with self._lock:
            self.encode_failures += 1
            first = not self._encode_failing
            self._encode_failing = True
            return first

    def clear_encode_failure(self) -> bool:
        """The source encoded; True if it was failing until now (log the recovery)."""
        with self._lock:
            was_failing = self._encode_failing
            self._encode_failing = False
            return was_failing

    def view(self) -> StateView:
        with self._lock:
            return StateView(
                name=self.spec.name,
                interval=self.interval,
                snapshot=self.snapshot,
                exposition=self.exposition,
                up=self.up,
                attempted=self.attempted,
                last_success=self.last_success,
                last_duration=self.last_duration,
                refreshes=self.refreshes,
                errors=dict(self.errors),
                consecutive_failures=self.consecutive_failures,
                last_reason=self.last_reason,
                encode_failures=self.encode_failures,
            )
