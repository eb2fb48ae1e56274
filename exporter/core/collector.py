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
from exporter.core.state import SourceState

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

    def collect(self) -> Iterator[Metric]:
        # "now" is read once per scrape so every relative value in one exposition agrees.
        now = datetime.fromtimestamp(self._clock(), UTC)
        views = []
        for state in self._states:
            view = state.view()
            views.append(view)
            if view.snapshot is None:
                continue
            try:
                # Materialised first so a translate bug cannot leave half a source in the output.
                families = list(state.spec.translate(view.snapshot, now))
            except Exception:
                log.exception("translate failed source=%s reason=internal", state.name)
                state.count_error(Reason.INTERNAL)
                continue
            yield from families
        yield selfmetrics.build_info(self._revision)
        yield from selfmetrics.source_metrics(views)
        yield from selfmetrics.azure_metrics(self._stats)
