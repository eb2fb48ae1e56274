"""The single Prometheus collector: each source's translate over its last snapshot, plus self-metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from exporter.azure.policies import AzureStats
from exporter.core import selfmetrics
from exporter.core.errors import Reason
from exporter.core.labels import sanitise
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
    ) -> None:
        self._states = list(states)
        self._stats = stats
        self._revision = revision
        # Looked up at call time (not bound as a default) so freezegun can pin it in tests.
        self._clock = clock or (lambda: time.time())

    @property
    def states(self) -> list[SourceState]:
        return self._states

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def source_families(self, state: SourceState, snapshot: object, now: datetime) -> list[Metric]:
        """One source's families; a translate bug is logged and counted, never raised."""
        if snapshot is None:
            return []
        try:
            # Materialised first so a translate bug cannot leave half a source in the output;
            # label values are made encodable here, once for every source.
            return sanitise(state.spec.translate(snapshot, now))
        except Exception:
            log.exception("translate failed source=%s reason=internal", state.name)
            state.count_error(Reason.INTERNAL)
            return []

    def self_families(self, views: Sequence[StateView]) -> Iterator[Metric]:
        yield selfmetrics.build_info(self._revision)
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
