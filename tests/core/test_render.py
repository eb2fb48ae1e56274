"""The scrape renderer: the registry's bytes, static parts encoded once per snapshot, published
only with their bytes, gzip bodies made of cached members."""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from datetime import UTC, datetime

import pytest
from freezegun import freeze_time
from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

from exporter.azure.policies import AzureStats
from exporter.core.collector import ExporterCollector
from exporter.core.render import (
    OPENMETRICS,
    TEXT,
    Exposition,
    Inflated,
    Renderer,
    cached_format,
    encode_families,
    joined,
)
from tests.core.fakes import ScriptedFetch, Snap, make_runner
from tests.core.fakes import translate as fake_translate
from tests.core.fakes import translate_live as fake_live
from tests.core.fakes import translate_static as fake_static

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
# What Prometheus 2.x and 3.x send, and what curl sends.
ACCEPTS = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
    "",
)


class Counting:
    def __init__(self, fn):
        self.fn = fn
        self.calls = 0

    def __call__(self, *args):
        self.calls += 1
        return self.fn(*args)


def estate(renderer_encodes: bool = True):
    """Three sources, one of each kind: split static/live, static only, live only."""
    runners = []
    counters = {}
    for name, kwargs in (
        ("split", {"translate_static": Counting(fake_static), "translate_live": Counting(fake_live)}),
        ("static", {"uses_now": False, "translate": Counting(fake_translate)}),
        ("live", {"translate": Counting(fake_translate)}),
    ):
        fetch = ScriptedFetch()
        fetch.script.extend([lambda ctx: Snap(1.0, T0), lambda ctx: Snap(2.0, T0)])
        counters[name] = kwargs
        runners.append(make_runner(fetch, name=name, **kwargs))  # type: ignore[arg-type]
    collector = ExporterCollector([r.state for r in runners], AzureStats(), revision="r")
    renderer = Renderer(collector)
    if renderer_encodes:
        for runner in runners:
            runner._encode = renderer.encode
    for runner in runners:
        assert runner.refresh_once()
    return runners, counters, collector, renderer


def render(renderer: Renderer, accept: str, *, compress: bool) -> tuple[bytes, list[bytes]]:
    encoder, content_type = choose_encoder(accept)
    chunks = renderer.body(encoder, content_type, gzip=compress)
    return joined(chunks), chunks


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("published", [True, False], ids=["published", "encoded-by-scrape"])
@freeze_time("2026-11-21T10:00:30Z")
def test_body_is_the_full_registry_render_in_every_format(accept: str, published: bool):
    _, _, collector, renderer = estate(renderer_encodes=published)
    encoder, _ = choose_encoder(accept)
    body, _ = render(renderer, accept, compress=False)
    assert body == encoder(collector)
    assert body.count(b"# EOF") == (1 if "openmetrics" in accept else 0)


@pytest.mark.parametrize("accept", ACCEPTS)
@freeze_time("2026-11-21T10:00:30Z")
def test_gzip_body_is_cached_members_and_live_members(accept: str):
    _, _, collector, renderer = estate()
    encoder, _ = choose_encoder(accept)
    body, chunks = render(renderer, accept, compress=True)
    assert gzip.decompress(body) == encoder(collector)
    members = 0
    rest = body
    while rest:  # each chunk is one complete member
        d = zlib.decompressobj(31)
        d.decompress(rest)
        assert d.eof
        rest = d.unused_data
        members += 1
    assert members == len(chunks) > 1


def test_static_part_is_encoded_once_per_snapshot_and_live_part_per_scrape():
    runners, counters, _, renderer = estate()
    for accept in ACCEPTS * 2:
        for compress in (True, False):
            render(renderer, accept, compress=compress)
    assert counters["split"]["translate_static"].calls == 1
    assert counters["split"]["translate_live"].calls == len(ACCEPTS) * 4
    assert counters["static"]["translate"].calls == 1
    assert counters["live"]["translate"].calls == len(ACCEPTS) * 4
    runners[0].refresh_once()  # a new snapshot comes with its own bytes
    with freeze_time("2026-11-21T10:01:00Z"):
        body, _ = render(renderer, "", compress=False)
    assert counters["split"]["translate_static"].calls == 2
    assert b"fake_value 2.0" in body
    assert b"fake_age_seconds 60.0" in body


def test_self_metrics_are_live_even_when_the_source_is_cached():
    from exporter.core.errors import Reason

    runners, _, _, renderer = estate()
    render(renderer, "", compress=False)
    runners[1].state.record_failure(Reason.TIMEOUT, 1.0)
    body, _ = render(renderer, "", compress=False)
    assert b'azure_update_exporter_source_up{source="static"} 0.0' in body
    assert b"fake_value 1.0" in body  # last good data still served


def test_snapshot_is_never_visible_before_its_bytes_are_ready():
    encoding = threading.Event()
    release = threading.Event()

    def slow_static(snap: Snap):
        if snap.value == 2.0:
            encoding.set()
            assert release.wait(5)
        return fake_static(snap)

    fetch = ScriptedFetch()
    fetch.script.extend([lambda ctx: Snap(1.0, T0), lambda ctx: Snap(2.0, T0)])
    runner = make_runner(fetch, translate_static=slow_static, translate_live=fake_live)
    collector = ExporterCollector([runner.state], AzureStats(), revision="r")
    renderer = Renderer(collector)
    runner._encode = renderer.encode
    assert runner.refresh_once()
    refresh = threading.Thread(target=runner.refresh_once)
    refresh.start()
    try:
        assert encoding.wait(5)
        view = runner.state.view()
        assert view.snapshot.value == 1.0  # the new snapshot is fetched but not published
        body, _ = render(renderer, "", compress=False)
        assert b"fake_value 1.0" in body
        time.sleep(0.2)
    finally:
        release.set()
        refresh.join(5)
    view = runner.state.view()
    assert view.snapshot.value == 2.0
    assert isinstance(view.exposition, Exposition)
    assert view.last_duration >= 0.2  # the refresh's duration includes the encoding
    body, _ = render(renderer, "", compress=False)
    assert b"fake_value 2.0" in body


@freeze_time("2026-11-21T10:00:30Z")
def test_encoding_failure_publishes_the_snapshot_and_scrapes_still_serve_it():
    runner = make_runner(ScriptedFetch(), uses_now=False)
    collector = ExporterCollector([runner.state], AzureStats(), revision="r")
    renderer = Renderer(collector)

    def broken(state, snapshot):
        raise RuntimeError("encoder bug")

    runner._encode = broken
    assert runner.refresh_once()
    assert runner.state.view().errors
    body, _ = render(renderer, "", compress=False)
    assert body == generate_latest(collector)


class _One:
    def __init__(self, family):
        self.family = family

    def collect(self):
        return [self.family]


def three_families():
    gauge = GaugeMetricFamily("g", 'help with "quotes"', labels=["a"])
    gauge.add_metric(['x"y'], 1.0)
    plain = GaugeMetricFamily("h", "plain help", labels=["a"])
    plain.add_metric(["v"], 2.0)
    counter = CounterMetricFamily("c", "a counter", labels=[])
    counter.add_metric([], 3.0)
    return [gauge, plain, counter]


def test_encoding_consumes_the_families_and_frees_their_samples():
    families = three_families()
    kept = list(families)
    encode_families(families)
    assert families == []
    assert all(family.samples == [] for family in kept)


def test_formats_share_bytes_only_where_they_agree():
    exposition = encode_families(three_families())
    om, text = exposition.formats[OPENMETRICS], exposition.formats[TEXT]
    from exporter.core.containment import Fixed as _Fixed

    fixed = _Fixed(three_families())
    assert gzip.decompress(om.gzip) + b"# EOF\n" == choose_encoder(ACCEPTS[0])[0](fixed)
    assert gzip.decompress(text.gzip) == generate_latest(fixed)
    assert text.gzip != om.gzip  # HELP escaping and a counter's TYPE differ
    assert (om.size, text.size) == (len(gzip.decompress(om.gzip)), len(gzip.decompress(text.gzip)))
    plain = GaugeMetricFamily("h", "plain help", labels=["a"])
    plain.add_metric(["v"], 2.0)
    same = encode_families([plain])
    assert same.formats[TEXT].gzip is same.formats[OPENMETRICS].gzip  # identical bytes kept once


def test_an_uncompressed_scrape_inflates_the_cached_member_in_pieces():
    family = GaugeMetricFamily("big", "many series", labels=["i"])
    for index in range(40_000):
        family.add_metric([f"series-{index}"], float(index))
    expected = generate_latest(_One(family))
    encoded = encode_families([family]).formats[TEXT]
    inflated = Inflated(encoded)
    pieces = list(inflated)
    assert len(pieces) > 1
    assert max(map(len, pieces)) <= 256 * 1024
    assert b"".join(pieces) == bytes(inflated) == expected
    assert len(inflated) == len(expected)


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/openmetrics-text; version=1.0.0; charset=utf-8", OPENMETRICS),
        ("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8", OPENMETRICS),
        ("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores", OPENMETRICS),
        ("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=dots", None),
        ("application/openmetrics-text; version=2.0.0; charset=utf-8; escaping=underscores", None),
        ("text/plain; version=0.0.4; charset=utf-8", TEXT),
        ("text/plain; version=1.0.0; charset=utf-8; escaping=values", None),
    ],
)
def test_only_formats_whose_bytes_equal_the_cache_are_served_from_it(content_type, expected):
    assert cached_format(content_type) == expected


@pytest.mark.parametrize(
    "accept",
    [
        "application/openmetrics-text;version=1.0.0;escaping=dots",
        "text/plain;version=1.0.0;escaping=values",
        "application/openmetrics-text;version=2.0.0",
    ],
)
@freeze_time("2026-11-21T10:00:30Z")
def test_other_formats_are_rendered_per_scrape_with_the_negotiated_encoder(accept: str):
    _, _, collector, renderer = estate()
    encoder, _ = choose_encoder(accept)
    body, _ = render(renderer, accept, compress=False)
    assert body == encoder(collector)
