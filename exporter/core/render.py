"""Exposition rendering with a per-snapshot cache.

Encoding tens of thousands of series is the expensive part of a scrape. A source whose
translate ignores "now" (`SourceSpec.uses_now=False`) produces the same bytes until its next
refresh, so they are encoded once per snapshot and format; sources with time-relative values
(seconds until, running durations) and the self-metrics are encoded at every scrape.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from exporter.core.collector import ExporterCollector
from exporter.core.encode import Encoder, Fixed, encode_source
from exporter.core.state import SourceState

EOF_LINE = b"# EOF\n"
# Prometheus negotiates OpenMetrics 1.0.0; curl and older scrapers get text 0.0.4.
WARM_ACCEPT = ("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5", "")


class FamilyFilter(Collector):
    """The families of `source` named in `names` (by family or sample name), for `name[]`.

    prometheus-client's own restricted registry only knows collectors that describe their
    names up front, which ours deliberately do not (no collect() at registration).
    """

    def __init__(self, source: Collector, names: set[str]) -> None:
        self._source = source
        self._names = names

    def collect(self) -> Iterator[Metric]:
        for family in self._source.collect():
            if family.name in self._names or any(s.name in self._names for s in family.samples):
                yield family


class Renderer:
    def __init__(self, collector: ExporterCollector, runtime: CollectorRegistry | None = None) -> None:
        self._collector = collector
        # process/platform/gc metrics of prometheus-client: cheap, always live.
        self._runtime = runtime
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[object, bytes]] = {}

    def warm(self, state: SourceState) -> None:
        """Encode a fresh snapshot in the formats Prometheus asks for, off the scrape path.

        Called by the refresh thread after each success, so even the first scrape after a
        refresh finds the bytes ready.
        """
        view = state.view()
        if state.spec.uses_now or view.snapshot is None:
            return
        now = self._collector.now()
        for accept in WARM_ACCEPT:
            encoder, content_type = choose_encoder(accept)
            data = encode_source(state, self._collector.source_families(state, view.snapshot, now), encoder)
            with self._lock:
                self._cache[(state.name, content_type)] = (view.snapshot, data)

    def render(self, encoder: Encoder, content_type: str) -> bytes:
        openmetrics = content_type.startswith("application/openmetrics-text")
        now = self._collector.now()
        views = [state.view() for state in self._collector.states]
        chunks: list[bytes] = []
        if self._runtime is not None:
            chunks.append(encoder(self._runtime))
        for state, view in zip(self._collector.states, views, strict=True):
            if view.snapshot is None:
                continue
            if state.spec.uses_now:
                families = self._collector.source_families(state, view.snapshot, now)
                chunks.append(encode_source(state, families, encoder))
                continue
            key = (state.name, content_type)
            with self._lock:
                cached = self._cache.get(key)
            if cached is not None and cached[0] is view.snapshot:
                chunks.append(cached[1])
                continue
            data = encode_source(state, self._collector.source_families(state, view.snapshot, now), encoder)
            with self._lock:
                # The snapshot object is kept with its bytes, so identity cannot be reused.
                self._cache[key] = (view.snapshot, data)
            chunks.append(data)
        # A fresh view: encode failures counted just now show in this very scrape.
        chunks.append(
            encoder(Fixed(self._collector.self_families([s.view() for s in self._collector.states])))
        )
        if not openmetrics:
            return b"".join(chunks)
        # Each OpenMetrics chunk ends the exposition; only the last "# EOF" may stay.
        return b"".join(chunk.removesuffix(EOF_LINE) for chunk in chunks) + EOF_LINE
