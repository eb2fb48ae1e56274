"""Property-based tests of every source's parsers (table: tests/sources/properties.py).

The default run tries DEFAULT_EXAMPLES derandomised cases per entry (cheap, never flaky). The
thorough run, deselected by default, tries SLOW_EXAMPLES random cases per entry:

    .venv/bin/python -m pytest -m slow tests/sources/test_parser_properties.py -q
    PROPERTY_EXAMPLES=1000 .venv/bin/python -m pytest -m slow tests/sources/test_parser_properties.py

Add ``-o log_cli=true --log-cli-level=INFO`` to see how many cases each entry ran.
"""

from __future__ import annotations

import logging
import os
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from prometheus_client import generate_latest
from prometheus_client.openmetrics import exposition as openmetrics

from exporter.core.containment import Fixed
from exporter.core.encode import encode_both
from exporter.core.labels import sanitise
from tests.sources.properties import PARSERS, ParserEntry

log = logging.getLogger(__name__)
DEFAULT_EXAMPLES = 100
# PROPERTY_EXAMPLES overrides the thorough budget (e.g. a quick 1,000 while working on a parser).
SLOW_EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "10000"))


def fast_encoder(collector: Fixed) -> None:
    """The cached path of a scrape (exporter.core.encode): both formats of every family."""
    for family in collector.collect():
        encode_both(family)


ENCODERS = (
    generate_latest,
    partial(openmetrics.generate_latest, escaping=openmetrics.UNDERSCORES),
    fast_encoder,
)


def check(entry: ParserEntry, payload: object) -> None:
    try:
        families = sanitise(entry.run(payload))
    except entry.allowed:
        return  # the whole payload rejected with the project's own error: counted by the fetch
    for encode in ENCODERS:
        encode(Fixed(families))


def run(entry: ParserEntry, examples: int, *, derandomize: bool) -> int:
    """Runs the property for `examples` generated cases; returns how many cases were tried."""
    tried = [0]

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=derandomize,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    @given(entry.payloads)
    def property_holds(payload: object) -> None:
        tried[0] += 1
        check(entry, payload)

    property_holds()
    log.info("property held entry=%s cases=%d", entry.name, tried[0])
    return tried[0]


@pytest.mark.parametrize("entry", PARSERS, ids=[e.name for e in PARSERS])
def test_parsers_raise_only_project_errors_and_translate_output_encodes(entry: ParserEntry) -> None:
    run(entry, DEFAULT_EXAMPLES, derandomize=True)


@pytest.mark.slow
@pytest.mark.parametrize("entry", PARSERS, ids=[e.name for e in PARSERS])
def test_parsers_thoroughly(entry: ParserEntry) -> None:
    assert run(entry, SLOW_EXAMPLES, derandomize=False) >= SLOW_EXAMPLES


def test_every_registered_source_with_parsers_is_in_the_table() -> None:
    from exporter.core.registry import all_specs

    covered = {e.name.split(".", 1)[0] for e in PARSERS}
    assert set(all_specs()) <= covered, "add the new source's parsers to tests/sources/properties.py"
