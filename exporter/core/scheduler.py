"""Background refresh: each source on its own interval with jitter and a timeout, never overlapping.

A scrape never waits on this; it reads whatever the last good refresh stored.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from typing import Any

from exporter.azure.policies import AzureStats
from exporter.core import deadline
from exporter.core.errors import Reason, classify, describe
from exporter.core.pool import SourcePool
from exporter.core.source import FetchContext, Problem
from exporter.core.state import SourceState
from exporter.log import quote

log = logging.getLogger("exporter.scheduler")

JITTER = 0.1
# After a failure the next attempt comes 5 s, 10 s, 20 s ... later, not an interval later (a
# transient 429 or a token mounted a moment after the pod started must not cost 15 minutes),
# capped at the interval and at 5 minutes. A source polled more often than that (IMDS, every
# second) backs off up to a minute so an exporter off Azure does not hammer a dead endpoint.
RETRY_FIRST = 5.0
RETRY_CAP = 300.0
MAX_FAILURE_BACKOFF = 60.0
# A refresh's calls must end a little before its timeout so that the items that did complete
# are merged and published (the scheduler's hard timeout is the backstop).
DEADLINE_MARGIN = 2.0


def next_delay(interval: float, consecutive_failures: int, rng: random.Random) -> float:
    """Seconds until the next refresh: interval ±10 %; after failures a capped exponential
    backoff with jitter that does not depend on the interval (see RETRY_FIRST)."""
    if consecutive_failures <= 0:
        return max(0.05, interval * (1 + rng.uniform(-JITTER, JITTER)))
    first = min(RETRY_FIRST, interval)
    cap = min(max(interval, MAX_FAILURE_BACKOFF), RETRY_CAP)
    base = min(first * 2.0 ** min(consecutive_failures - 1, 16), cap)
    return max(0.05, base * (1 + rng.uniform(-JITTER, JITTER)))


def fetch_deadline(started: float, timeout: float) -> float:
    """When the calls of a refresh started at `started` (monotonic) must be done."""
    return started + timeout - min(DEADLINE_MARGIN, timeout * 0.1)


class SourceRunner:
    """Refreshes one source. `refresh_once` is synchronous and usable without the thread."""

    def __init__(
        self,
        state: SourceState,
        stats: AzureStats,
        azure_factory: Callable[[], Any] | None,
        *,
        clock: Callable[[], float] | None = None,
        monotonic: Callable[[], float] | None = None,
        rng: random.Random | None = None,
        encode: Callable[[SourceState, Any], Any] | None = None,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self.state = state
        self._stats = stats
        self._azure_factory = azure_factory
        self._clock = clock or (lambda: time.time())
        self._monotonic = monotonic or (lambda: time.monotonic())
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        # One worker per source: a stuck fetch occupies it, so the next refresh cannot overlap.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"fetch-{state.name}")
        self._inflight: Future[Any] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._pool = SourcePool(f"{state.name}-call")
        # Partial problems of the last refresh, for the episode rule of FetchContext.problem.
        self._ongoing: dict[str, Problem] = {}
        self._log = logging.LoggerAdapter(log, {"source": state.name})
        self._failing_reason: Reason | None = None
        # Encodes a fresh snapshot before it is published (exporter.core.render.Renderer.encode).
        self._encode = encode
        self._hook_failing = False

    def _context(self) -> FetchContext[Any, Any]:
        spec = self.state.spec
        return FetchContext(
            source=spec.name,
            options=self.state.options,
            previous=self.state.snapshot,
            now=lambda: datetime.fromtimestamp(self._clock(), UTC),
            stats=self._stats,
            timeout=self.state.timeout,
            azure_factory=self._azure_factory if spec.needs_azure else None,
            deadline=fetch_deadline(time.monotonic(), self.state.timeout),
            pool=self._pool,
            ongoing=dict(self._ongoing),
        )

    def refresh_once(self) -> bool:
        """Run one refresh; returns True on success. Never raises."""
        started = self._monotonic()
        if self._inflight is not None and not self._inflight.done():
            self._fail(Reason.TIMEOUT, started, "previous refresh still running; skipped")
            return False
        ctx = self._context()
        future = self._executor.submit(_fetch_within_deadline, self.state.spec.fetch, ctx)
        self._inflight = future
        try:
            snapshot = future.result(timeout=self.state.timeout)
        except FutureTimeout:
            # The fetch may still be recording problems on its thread: leave them alone.
            self._fail(Reason.TIMEOUT, started, f"refresh exceeded timeout of {self.state.timeout:g}s")
            return False
        except Exception as exc:  # noqa: BLE001 - every failure is classified, logged and counted
            reason = classify(exc)
            self._keep_problems(ctx)
            self._fail(reason, started, describe(exc), exc if reason is Reason.INTERNAL else None)
            uses_azure = self._azure_factory is not None and self.state.spec.needs_azure
            if reason is Reason.UNAUTHORIZED and uses_azure and self._azure_factory is not None:
                # ARM rejected a token the credential still believes valid (expired early,
                # revoked, clock skew): drop cached tokens so the next refresh gets a new one.
                self._azure_factory().close()
            return False
        exposition = None
        if self._encode is not None:
            try:
                exposition = self._encode(self.state, snapshot)
            except Exception as exc:  # noqa: BLE001 - logged with traceback once and counted; scrapes encode then
                self._hook_failed(exc)
            else:
                self._hook_failing = False
        # The duration includes the encoding: the refresh is done when scrapes can use it.
        duration = self._monotonic() - started
        self._settle_problems(ctx)
        self.state.record_success(
            snapshot, self._clock(), duration, [p.reason for p in ctx.problems], exposition
        )
        if self._failing_reason is not None:
            self._log.info("refresh recovered source=%s duration=%.3f", self.state.name, duration)
        self._failing_reason = None
        return True

    def _fail(self, reason: Reason, started: float, message: str, exc: BaseException | None = None) -> None:
        duration = self._monotonic() - started
        self.state.record_failure(reason, duration)
        # One line (and for `internal` one traceback) when a failure starts or changes its
        # reason, not one per poll.
        new_episode = reason is not self._failing_reason
        level = logging.DEBUG
        if new_episode:
            level = logging.ERROR if exc is not None else logging.WARNING
        self._log.log(
            level,
            "refresh failed source=%s reason=%s consecutive_failures=%d error=%s",
            self.state.name,
            reason.value,
            self.state.consecutive_failures,
            quote(message),
            exc_info=exc if new_episode else None,
        )
        self._failing_reason = reason

    def _hook_failed(self, exc: BaseException) -> None:
        self.state.count_error(Reason.INTERNAL)
        if not self._hook_failing:
            self._log.error("encoding failed source=%s reason=internal", self.state.name, exc_info=exc)
        self._hook_failing = True

    def _settle_problems(self, ctx: FetchContext[Any, Any]) -> None:
        """After a successful refresh: its problems are the ongoing ones; those gone are logged."""
        for ident, cleared in sorted(self._ongoing.items()):
            if ident not in ctx.active:
                self._log.info(
                    "problem cleared source=%s reason=%s problem=%s",
                    self.state.name,
                    cleared.reason.value,
                    quote(cleared.message),
                )
        self._ongoing = dict(ctx.active)

    def _keep_problems(self, ctx: FetchContext[Any, Any]) -> None:
        # A failed refresh says nothing about what cleared; what it saw stays ongoing.
        self._ongoing.update(ctx.active)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"refresh-{self.state.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh_once()
            delay = next_delay(self.state.interval, self.state.consecutive_failures, self._rng)
            if self._wait(delay):
                return

    def stop(self) -> None:
        self._stop.set()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._pool.shutdown()


def _fetch_within_deadline(
    fetch: Callable[[FetchContext[Any, Any]], Any], ctx: FetchContext[Any, Any]
) -> Any:
    with deadline.scope(ctx.deadline):
        return fetch(ctx)


class Scheduler:
    def __init__(self, runners: list[SourceRunner]) -> None:
        self.runners = runners

    def start(self) -> None:
        for runner in self.runners:
            runner.start()

    def stop(self) -> None:
        for runner in self.runners:
            runner.stop()
