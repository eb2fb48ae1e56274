"""Helpers that every `translate` uses to build metric families the same way."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily


def gauge(name: str, help_text: str, labels: Sequence[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, labels=list(labels))


def add_state(
    family: GaugeMetricFamily,
    labels: Sequence[str],
    current: str,
    known: Iterable[str],
) -> None:
    """One series per known state (1 for the current one, 0 for the rest).

    An unknown value from Azure is passed through as its own series rather than dropped:
    Azure's enums are open-ended on the wire (reference: "modelAsString").
    """
    states = list(known)
    if current not in states:
        states.append(current)
    for state in states:
        family.add_metric([*labels, state], 1.0 if state == current else 0.0)


def timestamp(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None
