"""Label values are made encodable in one place, and one source's encoding can never fail a scrape."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from functools import partial

import pytest
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as om
from prometheus_client.samples import Sample

from exporter.azure.policies import AzureStats
from exporter.core.collector import ExporterCollector
from exporter.core.labels import MAX_LABEL_VALUE_CHARS, label_value
from exporter.core.render import Renderer
from tests.core.fakes import ScriptedFetch, Snap, make_runner

OM_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
OM = partial(om.generate_latest, escaping=om.UNDERSCORES, version="1.0.0")


def named(name: str, value: str):
    def translate(snap: Snap, now: datetime) -> Iterator[Metric]:
        family = GaugeMetricFamily(f"{name}_info", "test", labels=["display_name"])
        family.add_metric([value], 1.0)
        yield family

    return translate


def unencodable(snap: Snap, now: datetime) -> Iterator[Metric]:
    family = GaugeMetricFamily("broken_value", "a sample value no encoder can format", labels=[])
    family.samples.append(Sample("broken_value", {}, "not a number"))  # type: ignore[arg-type]
    yield family


def renderer_for(*translates, uses_now: bool = False) -> tuple[Renderer, list]:
    runners = []
    for index, translate in enumerate(translates):
        runner = make_runner(ScriptedFetch(), name=f"src{index}", translate=translate, uses_now=uses_now)
        runner.refresh_once()
        runners.append(runner)
    collector = ExporterCollector([r.state for r in runners], AzureStats(), revision="r")
    return Renderer(collector), runners


def test_lone_surrogate_is_replaced_and_a_well_formed_pair_kept():
    assert label_value("prod\udcff") == "prod\ufffd"
    assert label_value("\ud83d\ude00") == "\U0001f600"  # a pair split into halves is one character
    assert label_value("ok") == "ok"
    long = "x" * (MAX_LABEL_VALUE_CHARS + 50)
    assert len(label_value(long)) == MAX_LABEL_VALUE_CHARS
    assert label_value(long).endswith("…")


@pytest.mark.parametrize(
    ("encoder", "content_type"), [(generate_latest, CONTENT_TYPE_PLAIN_0_0_4), (OM, OM_TYPE)]
)
def test_surrogate_in_a_label_no_longer_fails_the_scrape(encoder, content_type):
    renderer, _ = renderer_for(named("bad", "prod\udcff"), named("good", "fine"))
    body = renderer.render(encoder, content_type)
    assert 'bad_info{display_name="prod\ufffd"} 1.0'.encode() in body
    assert b'good_info{display_name="fine"} 1.0' in body


def test_collect_path_is_sanitised_too():
    _, runners = renderer_for(named("bad", "a\ud800b"))
    collector = ExporterCollector([r.state for r in runners], AzureStats())
    assert b'bad_info{display_name="a\xef\xbf\xbdb"} 1.0' in generate_latest(collector)


def test_a_source_that_cannot_be_encoded_is_left_out_counted_and_logged_once(caplog):
    renderer, _ = renderer_for(unencodable, named("good", "fine"), uses_now=True)
    with caplog.at_level(logging.ERROR, logger="exporter.render"):
        first = renderer.render(generate_latest, CONTENT_TYPE_PLAIN_0_0_4)
        second = renderer.render(OM, OM_TYPE)
    for body in (first, second):
        assert b'good_info{display_name="fine"} 1.0' in body
        assert b"broken_value" not in body
    assert second.count(b"# EOF") == 1
    assert b'azure_update_exporter_source_encode_failures_total{source="src0"} 2.0' in second
    assert b'azure_update_exporter_source_encode_failures_total{source="src1"} 0.0' in second
    lines = [r for r in caplog.records if "left out of the exposition" in r.getMessage()]
    assert len(lines) == 1
    assert "source=src0" in lines[0].getMessage()


def test_cached_source_that_cannot_be_encoded_is_counted_once_per_snapshot():
    renderer, runners = renderer_for(unencodable, named("good", "fine"), uses_now=False)
    renderer.warm(runners[0].state)  # both formats, in the refresh thread
    for _ in range(3):
        renderer.render(generate_latest, CONTENT_TYPE_PLAIN_0_0_4)
    assert runners[0].state.view().encode_failures == 2


def test_recovery_is_logged_and_a_new_episode_logs_again(caplog):
    broken = {"now": True}

    def flaky(snap: Snap, now: datetime) -> Iterator[Metric]:
        yield from (unencodable if broken["now"] else named("ok", "fine"))(snap, now)

    renderer, _ = renderer_for(flaky, uses_now=True)
    with caplog.at_level(logging.INFO, logger="exporter.render"):
        for state in (True, True, False, False, True):
            broken["now"] = state
            renderer.render(generate_latest, CONTENT_TYPE_PLAIN_0_0_4)
    messages = [r.getMessage().split(" source=")[0] for r in caplog.records]
    assert messages == [
        "source left out of the exposition: its series cannot be encoded",
        "source encodes again",
        "source left out of the exposition: its series cannot be encoded",
    ]
