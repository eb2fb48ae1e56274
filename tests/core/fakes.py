"""A source whose fetch is scripted by the test: real scheduler and collector, fake I/O."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporter.azure.policies import AzureStats
from exporter.core.scheduler import SourceRunner
from exporter.core.source import FetchContext, NoOptions, SourceSpec
from exporter.core.state import SourceState


@dataclass(frozen=True)
class Snap:
    value: float
    fetched_at: datetime


def translate(snap: Snap, now: datetime) -> Iterator[Metric]:
    yield from translate_static(snap)
    yield from translate_live(snap, now)


def translate_static(snap: Snap) -> Iterator[Metric]:
    g = GaugeMetricFamily("fake_value", "value", labels=[])
    g.add_metric([], snap.value)
    yield g


def translate_live(snap: Snap, now: datetime) -> Iterator[Metric]:
    age = GaugeMetricFamily("fake_age_seconds", "age at scrape time", labels=[])
    age.add_metric([], (now - snap.fetched_at).total_seconds())
    yield age


class ScriptedFetch:
    def __init__(self) -> None:
        self.script: list[Callable[[FetchContext[Any, Any]], Snap]] = []
        self.calls = 0
        self.running = 0
        self.max_running = 0
        self._lock = threading.Lock()

    def __call__(self, ctx: FetchContext[Any, Any]) -> Snap:
        with self._lock:
            self.calls += 1
            self.running += 1
            self.max_running = max(self.max_running, self.running)
            step = self.script.pop(0) if self.script else (lambda c: Snap(0.0, c.now()))
        try:
            return step(ctx)
        finally:
            with self._lock:
                self.running -= 1


def make_runner(
    fetch: ScriptedFetch,
    *,
    name: str = "fake",
    timeout: float = 5.0,
    clock: Callable[[], float] | None = None,
    translate: Callable[[Snap, datetime], Iterator[Metric]] = translate,
    uses_now: bool = True,
    translate_static: Callable[[Snap], Iterator[Metric]] | None = None,
    translate_live: Callable[[Snap, datetime], Iterator[Metric]] | None = None,
    encode: Callable[[SourceState, Any], Any] | None = None,
    interval: float = 60.0,
    rng: random.Random | None = None,
    wait: Callable[[float], bool] | None = None,
) -> SourceRunner:
    spec = SourceSpec(
        name=name,
        summary="fake",
        fetch=fetch,
        translate=translate,
        options_type=NoOptions,
        needs_azure=False,
        uses_now=uses_now,
        translate_static=translate_static,
        translate_live=translate_live,
    )
    state = SourceState(spec=spec, interval=interval, timeout=timeout, options=NoOptions())
    return SourceRunner(state, AzureStats(), None, clock=clock, encode=encode, rng=rng, wait=wait)
