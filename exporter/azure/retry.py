"""The one retry policy of every Azure pipeline: azure-core's, bounded by the refresh deadline.

azure-core honours `Retry-After` by sleeping for it, however long: Compute's throttling answers
say 120 s or 1200 s, far past a source's timeout, and the whole refresh would stall behind one
scale set. Inside a refresh (`exporter.core.deadline`) this policy

- does not retry when the wait (Retry-After, or the backoff) would end after the deadline: the
  429 is returned, so that item fails as `throttled` and the others are published;
- shortens the connect and read timeouts of every attempt to the time left, so a server that
  accepts a connection and never answers costs at most the time left, not `request_timeout`;
- gives up with a timeout once the time is over instead of starting another attempt.

Outside a refresh (no deadline) it is azure-core's policy unchanged.
"""

from __future__ import annotations

from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import RetryPolicy

from exporter.core import deadline

MIN_ATTEMPT_SECONDS = 0.05  # a socket timeout of 0 would mean "non-blocking", not "no time"


class DeadlineRetryPolicy(RetryPolicy):  # type: ignore[type-arg]
    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        settings = super().configure_retries(options)
        left = deadline.remaining()
        if left is not None:
            settings["timeout"] = min(settings["timeout"], left)
        return settings

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        if not super().is_retry(settings, response):
            return False
        left = deadline.remaining()
        if left is None:
            return True
        wait = self.get_retry_after(response)
        if wait is None:
            wait = self.get_backoff_time(settings)
        return wait < left

    def _sleep_backoff(self, settings: dict[str, Any], transport: Any) -> None:
        backoff = deadline.bounded(self.get_backoff_time(settings))
        if backoff > 0:
            transport.sleep(backoff)

    def _configure_timeout(
        self, request: PipelineRequest[Any], absolute_timeout: float, is_response_error: bool
    ) -> None:
        super()._configure_timeout(request, absolute_timeout, is_response_error)
        left = deadline.remaining()
        if left is None:
            return
        options = request.context.options
        config = getattr(request.context.transport, "connection_config", None)
        for key, default in (
            ("connection_timeout", getattr(config, "timeout", None)),
            ("read_timeout", getattr(config, "read_timeout", None)),
        ):
            configured = options.get(key) or default
            if isinstance(configured, int | float):
                options[key] = max(MIN_ATTEMPT_SECONDS, min(float(configured), left))
