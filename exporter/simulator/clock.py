"""Virtual clock that drives scenarios.

Virtual time runs at ``speed`` virtual seconds per real second from ``start`` and can be pushed
forward with :meth:`SimClock.advance`, so tests can expire tokens or move an update run along
without sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SimClock:
    """Thread-safe virtual clock: ``start + real_elapsed * speed + advanced``."""

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("SimClock start must be timezone-aware")
        if speed <= 0:
            raise ValueError("SimClock speed must be > 0")
        self._start = (start or datetime.now(UTC)).astimezone(UTC)
        self._speed = speed
        self._t0 = time.monotonic()
        self._advanced = 0.0
        self._lock = threading.Lock()

    @property
    def start(self) -> datetime:
        return self._start

    @property
    def speed(self) -> float:
        return self._speed

    def elapsed(self) -> float:
        """Virtual seconds since start (including any :meth:`advance`)."""
        with self._lock:
            return (time.monotonic() - self._t0) * self._speed + self._advanced

    def now(self) -> datetime:
        """Current virtual time, timezone-aware UTC."""
        return self._start + timedelta(seconds=self.elapsed())

    def advance(self, seconds: float) -> datetime:
        """Jump virtual time forward; returns the new virtual now."""
        if seconds < 0:
            raise ValueError("the simulator clock only moves forward")
        with self._lock:
            self._advanced += seconds
        return self.now()

    def to_real_seconds(self, virtual_seconds: float) -> float:
        """How long ``virtual_seconds`` last on the wall clock (clients live in real time)."""
        return virtual_seconds / self._speed
