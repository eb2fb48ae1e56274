"""The containment boundary around one source's encoding: it can never fail the endpoint.

Label values are already sanitised (``exporter.core.labels``), so an encoder failure here means
a translate produced something prometheus-client cannot encode. That source is left out of the
scrape, counted in ``azure_update_exporter_source_encode_failures_total{source}`` and logged
once until it encodes again; every other source is still served.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from exporter.core.errors import describe
from exporter.core.state import SourceState

log = logging.getLogger("exporter.render")

Encoder = Callable[[Collector], bytes]


class Fixed(Collector):
    """Lets an encoder render a fixed list of families."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def encode_source(state: SourceState, families: Iterable[Metric], encoder: Encoder) -> bytes:
    """`families` of `state`'s source encoded, or b"" (counted, logged once) if that fails."""
    try:
        data = encoder(Fixed(families))
    except Exception as exc:  # the boundary: any encoder failure stays in this source
        if state.count_encode_failure():
            # One line with the traceback when it starts, none while it persists.
            log.error(  # noqa: TRY400 - exc_info is passed explicitly
                "source left out of the exposition: its series cannot be encoded source=%s error=%r",
                state.name,
                describe(exc),
                exc_info=exc,
            )
        return b""
    if state.clear_encode_failure():
        log.info("source encodes again source=%s", state.name)
    return data
