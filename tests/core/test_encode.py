"""The cheaper encoder writes exactly what prometheus-client writes, family by family."""

from __future__ import annotations

import math
from functools import partial

import pytest
from prometheus_client import generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    StateSetMetricFamily,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as om
from prometheus_client.samples import Sample

from exporter.core.containment import Fixed as _Fixed
from exporter.core.encode import _simple, encode_both, encode_family

OPENMETRICS = partial(om.generate_latest, escaping=om.UNDERSCORES, version="1.0.0")
VALUES = [
    0.0,
    -0.0,
    1.0,
    1,
    -1.5,
    0.1,
    1e-7,
    123456789.0,
    1e22,
    2**53 + 1.0,
    math.inf,
    -math.inf,
    math.nan,
    5,
]
LABEL_VALUES = ["", "plain", 'qu"ote', "back\\slash", "new\nline", "ünïcødé ✓", '\\"\n', "a,b=c{d}"]
HELPS = ["plain help", 'with "quotes"', "back\\slash and\nnewline", "ünïcødé", ""]


def families() -> list[Metric]:
    out: list[Metric] = []
    for i, help_text in enumerate(HELPS):
        gauge = GaugeMetricFamily(f"test_gauge_{i}", help_text, labels=["b_label", "a_label", "_x"])
        for j, value in enumerate(VALUES):
            gauge.add_metric([LABEL_VALUES[j % len(LABEL_VALUES)], f"v{j}", LABEL_VALUES[-1 - j % 3]], value)
        out.append(gauge)
        counter = CounterMetricFamily(f"test_counter_{i}", help_text, labels=["code"])
        for j, value in enumerate(v for v in VALUES if not math.isnan(v) and v >= 0):
            counter.add_metric([str(j)], value)
        out.append(counter)
    unlabelled = GaugeMetricFamily("test_unlabelled", "no labels")
    unlabelled.add_metric([], 42.0)
    out.append(unlabelled)
    out.append(GaugeMetricFamily("test_empty", "no samples", labels=["a"]))
    # Handed to prometheus-client: other types, units, timestamps, created, odd names.
    created = CounterMetricFamily("test_created", "with created", labels=["a"], created=1700000000.0)
    created.add_metric(["x"], 1.0, created=1700000000.0)
    out.append(created)
    out.append(GaugeMetricFamily("test_unit_seconds", "unit", unit="seconds", value=1.0))
    stamped = GaugeMetricFamily("test_stamped", "timestamp", labels=[])
    stamped.add_metric([], 1.0, timestamp=1700000000.5)
    out.append(stamped)
    colon = GaugeMetricFamily("test:colon", "colon in name", labels=[])
    colon.add_metric([], 1.0)
    out.append(colon)
    odd_label = GaugeMetricFamily("test_odd_label", "odd label name", labels=[])
    odd_label.samples.append(Sample("test_odd_label", {"odd-label": "x"}, 1.0))
    out.append(odd_label)
    out.append(InfoMetricFamily("test_build", "info", value={"version": "1"}))
    out.append(StateSetMetricFamily("test_state", "stateset", value={"a": True, "b": False}))
    out.append(
        HistogramMetricFamily("test_hist", "histogram", buckets=[("1.0", 1), ("+Inf", 2)], sum_value=3)
    )
    return out


@pytest.mark.parametrize("family", families(), ids=lambda f: f.name)
def test_byte_identical_to_prometheus_client(family: Metric):
    expected_om = OPENMETRICS(_Fixed([family])).removesuffix(b"# EOF\n")
    expected_text = generate_latest(_Fixed([family]))
    assert encode_family(family, True) == expected_om
    assert encode_family(family, False) == expected_text
    om_chunks, text_chunks = encode_both(family)
    assert (b"".join(om_chunks), b"".join(text_chunks)) == (expected_om, expected_text)
    for om_chunk, text_chunk in zip(om_chunks, text_chunks, strict=True):
        if om_chunk == text_chunk:
            assert om_chunk is text_chunk  # what both formats have in common is stored once
    fast = family.name.startswith(("test_gauge", "test_counter", "test_unlabelled", "test_empty"))
    assert _simple(family) == fast  # the cases above really take the cheaper path


def test_runtime_collectors_are_byte_identical():
    from prometheus_client import CollectorRegistry
    from prometheus_client.gc_collector import GCCollector
    from prometheus_client.platform_collector import PlatformCollector

    registry = CollectorRegistry(auto_describe=False)
    GCCollector(registry=registry)
    PlatformCollector(registry=registry)
    for family in registry.collect():
        assert encode_family(family, True) == OPENMETRICS(_Fixed([family])).removesuffix(b"# EOF\n")
        assert encode_family(family, False) == generate_latest(_Fixed([family]))
