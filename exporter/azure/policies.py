"""Counting Azure requests in one place: an azure-core policy that runs once per HTTP attempt."""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy, SansIOHTTPPolicy

APIS = ("arm", "resource_graph", "compute", "imds", "azurestack")


class AzureStats:
    """Thread-safe request and throttle counters behind `azure_update_exporter_azure_*_total`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str]] = Counter()
        self._throttled: Counter[str] = Counter()

    def record(self, api: str, code: int | str) -> None:
        with self._lock:
            self._requests[(api, str(code))] += 1
            if code in (429, "429"):
                self._throttled[api] += 1

    def requests(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._requests)

    def throttled(self) -> dict[str, int]:
        with self._lock:
            return dict(self._throttled)

    def total(self, api: str | None = None) -> int:
        with self._lock:
            return sum(n for (a, _), n in self._requests.items() if api is None or a == api)


class RequestCountingPolicy(HTTPPolicy):  # type: ignore[type-arg]
    """Placed after the retry policy, so every attempt (including retried 429s) is counted."""

    def __init__(self, api: str, stats: AzureStats) -> None:
        super().__init__()
        self._api = api
        self._stats = stats

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        try:
            response = self.next.send(request)
        except Exception:
            # "error" = no HTTP status: connection refused/reset, TLS failure, timeout.
            self._stats.record(self._api, "error")
            raise
        self._stats.record(self._api, response.http_response.status_code)
        return response


# Seeded from os.urandom at import; getrandbits is one C call, safe across threads.
_REQUEST_IDS = random.Random()  # noqa: S311 - request ids must be unique, not unpredictable


class RequestIdPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """`x-ms-client-request-id` from `uuid4`.

    azure-core's own policy calls `uuid.uuid1()`, which goes through libuuid; libuuid keeps a
    clock file open per thread and never closes it, so every new thread that makes a call
    leaks a file descriptor. A random id serves the same purpose (correlating with Azure's
    logs) without the leak. The bits come from a generator seeded once from the OS rather than
    `uuid4`'s read of os.urandom per call: an id needs to be unique, not secret, and a system
    call per request gives the GIL away and waits to get it back while a refresh is busy.
    """

    HEADER = "x-ms-client-request-id"

    def on_request(self, request: PipelineRequest[Any]) -> None:
        headers = request.http_request.headers
        if self.HEADER not in headers:
            headers[self.HEADER] = str(uuid.UUID(int=_REQUEST_IDS.getrandbits(128), version=4))
