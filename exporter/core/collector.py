"""The single Prometheus collector: each source's translate over its last snapshot, plus self-metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from exporter.azure.policies import AzureStats
from exporter.core import selfmetrics
from exporter.core.errors import Reason
from exporter.core.labels import sanitise
from exporter.core.sharding import Shard
from exporter.core.state import SourceState, StateView

log = logging.getLogger("exporter.collector")


class ExporterCollector(Collector):
    def __init__(
        self,
        states: Sequence[SourceState],
        stats: AzureStats,
        *,
        revision: str = "unknown",
        clock: Callable[[], float] | None = None,
        shard: Shard | None = None,
    ) -> None:
        self._states = list(states)
        self._shard = shard or Shard()
        self._stats = stats
        self._revision = revision
        # Looked up at call time (not bound as a default) so freezegun can pin it in tests.
        self._clock = clock or (lambda: time.time())
        self._failing: dict[str, object] = {}

    @property
    def states(self) -> list[SourceState]:
        return self._states

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def source_families(
        self,
        state: SourceState,
        snapshot: object,
        now: datetime,
        translate: Callable[[Any, datetime], Iterable[Metric]] | None = None,
    ) -> list[Metric]:
        """One source's families (or the part `translate` makes); a translate bug is logged and
        counted, never raised."""
        if snapshot is None:
            return []
        try:
            # Materialised first so a translate bug cannot leave half a source in the output;
            # label values are made encodable here, once for every source.
            return sanitise((translate or state.spec.translate)(snapshot, now))
        except Exception as exc:  # noqa: BLE001 - counted every scrape, logged once per snapshot
            state.count_error(Reason.INTERNAL)
            self._log_translate_failure(state.name, snapshot, exc)
            return []

    def _log_translate_failure(self, source: str, snapshot: object, exc: Exception) -> None:
        """The traceback once per failing snapshot (episode), not on every scrape."""
        if self._failing.get(source) is snapshot:
            return
        self._failing[source] = snapshot
        log.error("translate failed source=%s reason=internal", source, exc_info=exc)

    def self_families(self, views: Sequence[StateView]) -> Iterator[Metric]:
        yield selfmetrics.build_info(self._revision)
        yield selfmetrics.shard_info(self._shard)
        yield from selfmetrics.source_metrics(views)
        yield from selfmetrics.subscription_metrics(views)
        yield from selfmetrics.azure_metrics(self._stats)

    def collect(self) -> Iterator[Metric]:
        # "now" is read once per scrape so every relative value in one exposition agrees.
        now = self.now()
        views = [state.view() for state in self._states]
        for state, view in zip(self._states, views, strict=True):
            yield from self.source_families(state, view.snapshot, now)
        yield from self.self_families(views)
