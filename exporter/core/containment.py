"""The containment boundary around one source's encoding: it can never fail the endpoint.

Label values are already sanitised (``exporter.core.labels``), so an encoder failure here means
a translate produced something no encoder can write (a non-numeric sample value, say). That
source is left out of the exposition, counted in
``azure_update_exporter_source_encode_failures_total{source}`` and logged once until it encodes
again; every other source is still served. The renderer (``exporter.core.render``) runs each
source's static encoding (once per snapshot, in the refresh thread) and live encoding (per
scrape) inside this boundary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from exporter.core.errors import describe
from exporter.core.state import SourceState

log = logging.getLogger("exporter.render")

T = TypeVar("T")


class Fixed(Collector):
    """Lets an encoder render a fixed list of families."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def contained(state: SourceState, encode: Callable[[], T]) -> T | None:
    """`encode()` for `state`'s source, or None (counted, logged once per episode) if it raises."""
    try:
        result = encode()
    except Exception as exc:  # noqa: BLE001 - the boundary: any encoder failure stays in this source
        encode_failed(state, exc)
        return None
    encoded(state)
    return result


def encode_failed(state: SourceState, exc: BaseException) -> None:
    """Count one left-out encoding of `state`'s source; the traceback when an episode starts."""
    if state.count_encode_failure():
        log.error(
            "source left out of the exposition: its series cannot be encoded source=%s error=%r",
            state.name,
            describe(exc),
            exc_info=exc,
        )


def encoded(state: SourceState) -> None:
    """`state`'s source encoded; logs the end of a failing episode."""
    if state.clear_encode_failure():
        log.info("source encodes again source=%s", state.name)
