"""Log of every request the simulator answered, for assertions and the control API."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

# Status recorded when no HTTP response was sent (timeout or reset fault).
NO_RESPONSE = 0


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    route: str
    method: str
    path: str
    status: int  # NO_RESPONSE (0) when the connection was dropped without a reply
    at: datetime  # virtual time
    fault: str | None = None
    user_agent: str = ""


class RequestLog:
    """Thread-safe, bounded in memory so a long demo cannot grow without limit."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._entries: list[LoggedRequest] = []
        self._max = max_entries
        self._lock = threading.Lock()

    def record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)
            if len(self._entries) > self._max:
                del self._entries[: len(self._entries) - self._max]

    @property
    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def count(self, route_glob: str = "*", status: int | None = None) -> int:
        return sum(
            1
            for e in self.entries
            if fnmatchcase(e.route, route_glob) and (status is None or e.status == status)
        )

    def summary(self) -> dict[str, dict[str, int]]:
        """Counts by route, then by status (as a string, for JSON)."""
        counts = Counter((e.route, e.status) for e in self.entries)
        out: dict[str, dict[str, int]] = {}
        for (route, status), n in sorted(counts.items()):
            out.setdefault(route, {})[str(status)] = n
        return out

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
