"""Every real source, refreshed from the demo estate: the bytes a scrape gets (cached static parts,
live parts, gzip members) equal a fresh full render of the registry."""

from __future__ import annotations

import gzip

import pytest
from freezegun import freeze_time
from prometheus_client.exposition import choose_encoder

from exporter.app import Exporter
from exporter.config import from_dict
from exporter.core.render import Exposition, Renderer, joined, split
from exporter.demo import simulator_config
from exporter.simulator import start
from tests.core.test_render import ACCEPTS


@pytest.fixture(scope="module")
def refreshed() -> Exporter:
    with start("demo") as sim:
        exporter = Exporter(from_dict(simulator_config(sim.info(), "127.0.0.1:0")))
        try:
            assert all(exporter.refresh_all_once().values())
            yield exporter
        finally:
            exporter.stop()


def test_every_source_with_a_static_part_is_published_with_its_bytes(refreshed: Exporter):
    for state in refreshed.states:
        static, _ = split(state.spec)
        assert isinstance(state.view().exposition, Exposition) == (static is not None), state.name
    split_sources = {s.name for s in refreshed.states if s.spec.translate_live and s.spec.translate_static}
    assert {"scheduled_events", "azure_stack_updates"} <= split_sources


@pytest.mark.parametrize("accept", ACCEPTS)
def test_cached_bytes_equal_a_fresh_full_render(refreshed: Exporter, accept: str):
    # Without prometheus-client's process metrics, whose CPU seconds move between two renders.
    renderer = Renderer(refreshed.collector)
    encoder, content_type = choose_encoder(accept)
    with freeze_time(tick=False):  # one "now" for both renders: live values must agree
        expected = encoder(refreshed.collector)
        plain = joined(renderer.body(encoder, content_type, gzip=False))
        compressed = joined(renderer.body(encoder, content_type, gzip=True))
    assert b"azure_scheduled_event_seconds_until_not_before" in expected
    assert b"azure_stack_update_run_duration_seconds" in expected
    assert plain == expected
    assert gzip.decompress(compressed) == expected
