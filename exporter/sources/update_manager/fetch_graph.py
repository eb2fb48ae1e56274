"""A Resource Graph client wrapper for one refresh: counts pages per query and respects the quota.

Every response carries ``x-ms-user-quota-remaining`` and ``x-ms-user-quota-resets-after``
(``hh:mm:ss``; reference §6.1). When the quota is spent the next page waits for the reset if
that fits in the time the refresh has left; otherwise the refresh is throttled now rather than
sleeping past its deadline (or collecting 429s).
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from exporter.core.errors import Reason, SourceError

if TYPE_CHECKING:
    from azure.core.rest import HttpRequest, HttpResponse

    from exporter.azure.resource_graph import GraphClient

_HHMMSS = re.compile(r"^\s*(\d+):(\d{2}):(\d{2})(?:\.\d+)?\s*$")
MAX_QUOTA_WAIT = 60.0  # the quota window is 5 s; a longer reset is suspicious, wait at most this


def parse_resets_after(value: str | None) -> float | None:
    m = _HHMMSS.match(value or "")
    if m is None:
        return None
    hours, minutes, seconds = (int(g) for g in m.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


class QuotaGraph:
    """A `GraphClient` for `exporter.azure.resource_graph.query` that paces the pages it sends."""

    def __init__(
        self,
        client: GraphClient,
        deadline: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._deadline = deadline
        self._sleep, self._clock = sleep, clock
        self._lock = threading.Lock()
        self._wait_until = 0.0
        self.pages: Counter[str] = Counter()
        self.current = ""  # the query being paged, for the count
        self.waited = 0.0

    def _send_request(self, request: HttpRequest, *, stream: bool = False, **kwargs: Any) -> HttpResponse:
        with self._lock:
            wait = self._wait_until - self._clock()
        if wait > 0:
            if self._clock() + wait > self._deadline:
                raise SourceError(
                    Reason.THROTTLED,
                    f"Resource Graph quota spent; it resets in {wait:.0f}s, after this refresh's deadline",
                )
            self._sleep(wait)
            self.waited += wait
        self.pages[self.current] += 1
        response = self._client._send_request(request, stream=stream, **kwargs)
        self._note_quota(response)
        return response

    def _note_quota(self, response: HttpResponse) -> None:
        headers = response.headers
        remaining = headers.get("x-ms-user-quota-remaining")
        resets = parse_resets_after(headers.get("x-ms-user-quota-resets-after"))
        if remaining is not None and resets is not None and remaining.strip() == "0":
            with self._lock:
                self._wait_until = self._clock() + min(resets, MAX_QUOTA_WAIT)
