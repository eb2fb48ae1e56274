"""The scrape renderer: same bytes as the registry path, encoded once per snapshot when allowed."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from freezegun import freeze_time
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.openmetrics import exposition as om

from exporter.azure.policies import AzureStats
from exporter.core.collector import ExporterCollector
from exporter.core.render import Renderer
from tests.core.fakes import ScriptedFetch, Snap, make_runner
from tests.core.fakes import translate as fake_translate

OM_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


class CountingTranslate:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, snap, now):
        self.calls += 1
        return fake_translate(snap, now)


def setup(uses_now: bool):
    fetch = ScriptedFetch()
    fetch.script.extend([lambda ctx: Snap(1.0, T0), lambda ctx: Snap(2.0, T0)])
    counting = CountingTranslate()
    runner = make_runner(fetch, translate=counting, uses_now=uses_now)
    runner.refresh_once()
    collector = ExporterCollector([runner.state], AzureStats(), revision="r")
    return runner, counting, collector, Renderer(collector)


@freeze_time("2026-11-21T10:00:30Z")
def test_same_bytes_as_the_registry_path_in_both_formats():
    _, _, collector, renderer = setup(uses_now=False)
    assert renderer.render(generate_latest, CONTENT_TYPE_PLAIN_0_0_4) == generate_latest(collector)
    om_encoder = partial(om.generate_latest, escaping=om.UNDERSCORES, version="1.0.0")
    body = renderer.render(om_encoder, OM_TYPE)
    assert body == om_encoder(collector)
    assert body.count(b"# EOF") == 1


def test_snapshot_is_encoded_once_until_the_next_refresh():
    runner, counting, _, renderer = setup(uses_now=False)
    first = renderer.render(generate_latest, CONTENT_TYPE_PLAIN_0_0_4)
    second = renderer.render(generate_latest, CONTENT_TYPE_PLAIN_0_0_4)
    assert counting.calls == 1
    assert b"fake_value 1.0" in first
    assert b"fake_value 1.0" in second
    runner.refresh_once()  # a new snapshot invalidates the cached bytes
    third = renderer.render(generate_latest, CONTENT_TYPE_PLAIN_0_0_4)
    assert counting.calls == 2
    assert b"fake_value 2.0" in third


def test_time_relative_sources_are_rendered_at_every_scrape():
    _, counting, _, renderer = setup(uses_now=True)
    with freeze_time("2026-11-21T10:00:30Z"):
        assert b"fake_age_seconds 30.0" in renderer.render(generate_latest, CONTENT_TYPE_PLAIN_0_0_4)
    with freeze_time("2026-11-21T10:01:00Z"):
        assert b"fake_age_seconds 60.0" in renderer.render(generate_latest, CONTENT_TYPE_PLAIN_0_0_4)
    assert counting.calls == 2


def test_self_metrics_are_live_even_when_the_source_is_cached():
    runner, _, _, renderer = setup(uses_now=False)
    renderer.render(generate_latest, CONTENT_TYPE_PLAIN_0_0_4)
    runner.state.record_failure(__import__("exporter.core.errors", fromlist=["Reason"]).Reason.TIMEOUT, 1.0)
    body = renderer.render(generate_latest, CONTENT_TYPE_PLAIN_0_0_4)
    assert b'azure_update_exporter_source_up{source="fake"} 0.0' in body
    assert b"fake_value 1.0" in body  # last good data still served


def test_warm_encodes_after_refresh_so_scrapes_do_not():
    runner, counting, _, renderer = setup(uses_now=False)
    renderer.warm(runner.state)
    assert counting.calls == 2  # OpenMetrics and text, in the refresh thread
    from prometheus_client.exposition import choose_encoder

    for accept in ("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5", ""):
        encoder, content_type = choose_encoder(accept)
        renderer.render(encoder, content_type)
    assert counting.calls == 2  # both scrapes served from the warmed cache


def test_runner_warms_the_renderer_after_each_success():
    warmed = []
    runner = make_runner(ScriptedFetch(), on_success=warmed.append)
    runner.refresh_once()
    assert warmed == [runner.state]
