"""Label values are made encodable in one place, and one source's encoding can never fail a scrape."""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial

import pytest
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as om
from prometheus_client.samples import Sample

from exporter.azure.policies import AzureStats
from exporter.core.collector import ExporterCollector
from exporter.core.labels import MAX_LABEL_VALUE_CHARS, label_value
from exporter.core.render import Renderer, cached_format, joined
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


def renderer_for(*translates, uses_now: bool = False, split: bool = False) -> tuple[Renderer, list]:
    """A renderer over one source per translate; the refresh thread encodes static parts, as in production.

    `split`: each translate is a (static, live) pair.
    """
    runners = []
    for index, translate in enumerate(translates):
        if split:
            static, live = translate
            runner = make_runner(
                ScriptedFetch(), name=f"src{index}", translate_static=static, translate_live=live
            )
        else:
            runner = make_runner(ScriptedFetch(), name=f"src{index}", translate=translate, uses_now=uses_now)
        runners.append(runner)
    collector = ExporterCollector([r.state for r in runners], AzureStats(), revision="r")
    renderer = Renderer(collector)
    for runner in runners:
        runner._encode = renderer.encode
        assert runner.refresh_once()
    return renderer, runners


def render(renderer: Renderer, encoder, content_type: str, *, compress: bool = False) -> bytes:
    body = joined(renderer.body(encoder, content_type, gzip=compress))
    return gzip.decompress(body) if compress else body


def static_of(translate):
    return lambda snap: translate(snap, datetime(2026, 11, 21, tzinfo=UTC))


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
    body = render(renderer, encoder, content_type)
    assert 'bad_info{display_name="prod\ufffd"} 1.0'.encode() in body
    assert b'good_info{display_name="fine"} 1.0' in body


def test_collect_path_is_sanitised_too():
    _, runners = renderer_for(named("bad", "a\ud800b"))
    collector = ExporterCollector([r.state for r in runners], AzureStats())
    assert b'bad_info{display_name="a\xef\xbf\xbdb"} 1.0' in generate_latest(collector)


def test_a_source_that_cannot_be_encoded_is_left_out_counted_and_logged_once(caplog):
    renderer, _ = renderer_for(unencodable, named("good", "fine"), uses_now=True)
    with caplog.at_level(logging.ERROR, logger="exporter.render"):
        first = render(renderer, generate_latest, CONTENT_TYPE_PLAIN_0_0_4)
        second = render(renderer, OM, OM_TYPE)
    for body in (first, second):
        assert b'good_info{display_name="fine"} 1.0' in body
        assert b"broken_value" not in body
    assert second.count(b"# EOF") == 1
    assert b'azure_update_exporter_source_encode_failures_total{source="src0"} 2.0' in second
    assert b'azure_update_exporter_source_encode_failures_total{source="src1"} 0.0' in second
    lines = [r for r in caplog.records if "left out of the exposition" in r.getMessage()]
    assert len(lines) == 1
    assert "source=src0" in lines[0].getMessage()


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_cached_source_that_cannot_be_encoded_is_counted_once_per_snapshot(caplog, compress: bool):
    with caplog.at_level(logging.ERROR, logger="exporter.render"):
        renderer, runners = renderer_for(unencodable, named("good", "fine"), uses_now=False)
        for encoder, content_type in ((generate_latest, CONTENT_TYPE_PLAIN_0_0_4), (OM, OM_TYPE)) * 2:
            body = render(renderer, encoder, content_type, compress=compress)
            assert b'good_info{display_name="fine"} 1.0' in body
            assert b"broken_value" not in body
    # Encoded once, in the refresh thread, for both cached formats: one left-out snapshot.
    assert runners[0].state.view().encode_failures == 1
    assert runners[1].state.view().encode_failures == 0
    assert b'azure_update_exporter_source_encode_failures_total{source="src0"} 1.0' in body
    assert len([r for r in caplog.records if "left out of the exposition" in r.getMessage()]) == 1


def test_uncached_format_leaves_the_source_out_of_every_scrape():
    renderer, runners = renderer_for(unencodable, named("good", "fine"), uses_now=False)
    encoder, content_type = choose_encoder("text/plain;version=1.0.0;escaping=dots")
    assert cached_format(content_type) is None
    for _ in range(2):
        body = render(renderer, encoder, content_type)
        assert b'good__info{display__name="fine"} 1.0' in body  # dots escaping doubles underscores
        assert b"broken" not in body
    assert runners[0].state.view().encode_failures == 3  # the refresh's static encoding, two scrapes


def test_split_source_is_left_out_whole_when_its_live_part_cannot_be_encoded():
    renderer, runners = renderer_for(
        (static_of(named("a", "x")), unencodable), (static_of(named("b", "y")), named("c", "z")), split=True
    )
    for _ in range(2):
        body = render(renderer, OM, OM_TYPE)
        assert b"a_info" not in body  # its cached static part is left out with its live part
        assert b"broken_value" not in body
        assert b'b_info{display_name="y"} 1.0' in body
        assert b'c_info{display_name="z"} 1.0' in body
        assert body.count(b"# EOF") == 1
    assert runners[0].state.view().encode_failures == 2
    assert runners[1].state.view().encode_failures == 0


def test_split_source_whose_static_part_cannot_be_encoded_is_left_out_until_its_next_snapshot():
    renderer, runners = renderer_for((static_of(unencodable), named("live", "z")), split=True)
    for _ in range(3):
        body = render(renderer, OM, OM_TYPE)
        assert b"live_info" not in body
        assert b"broken_value" not in body
    assert runners[0].state.view().encode_failures == 1


def test_recovery_is_logged_and_a_new_episode_logs_again(caplog):
    broken = {"now": True}

    def flaky(snap: Snap, now: datetime) -> Iterator[Metric]:
        yield from (unencodable if broken["now"] else named("ok", "fine"))(snap, now)

    renderer, _ = renderer_for(flaky, uses_now=True)
    with caplog.at_level(logging.INFO, logger="exporter.render"):
        for state in (True, True, False, False, True):
            broken["now"] = state
            render(renderer, generate_latest, CONTENT_TYPE_PLAIN_0_0_4)
    messages = [r.getMessage().split(" source=")[0] for r in caplog.records]
    assert messages == [
        "source left out of the exposition: its series cannot be encoded",
        "source encodes again",
        "source left out of the exposition: its series cannot be encoded",
    ]
