"""A cheaper exposition encoder, byte for byte the output of prometheus-client's.

prometheus-client's encoders check every character of every label value in Python
(`_is_legacy_labelname_rune`); at 300k series that is most of a refresh's encoding and most of a
scrape's live part. This encoder handles the families an exporter like ours produces (gauges
and counters with legacy names, no units, timestamps or exemplars) with string methods that run
in C, and hands every other family to prometheus-client unchanged. tests/core/test_encode.py
compares the two on tricky names, label values, help texts and floats; the renderer tests
compare whole expositions of every source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import partial

from prometheus_client import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from exporter.core.gil import PACE, paced

EOF_LINE = b"# EOF\n"
# Names that every escaping scheme we serve leaves untouched (no ':' either: OpenMetrics sample
# names are escaped with the label-name rule).
_LEGACY = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_SIMPLE_TYPES = frozenset({"gauge", "counter"})
BS, NL, QUOTE = "\\", "\n", '"'
_PC_OPENMETRICS = partial(openmetrics.generate_latest, escaping=openmetrics.UNDERSCORES, version="1.0.0")


class _One(Collector):
    def __init__(self, family: Metric) -> None:
        self._family = family

    def collect(self) -> Iterable[Metric]:
        return (self._family,)


def _simple(family: Metric) -> bool:
    if family.type not in _SIMPLE_TYPES or family.unit or not _LEGACY.match(family.name):
        return False
    sample_name = family.name + "_total" if family.type == "counter" else family.name
    for sample in paced(family.samples):
        if sample.name != sample_name or sample.timestamp is not None or sample.exemplar is not None:
            return False
        if sample.native_histogram is not None:
            return False
        for key in sample.labels:
            if not _LEGACY.match(key):
                return False
    return True


def _value(value: float) -> str:
    return "1.0" if value == 1.0 else str(floatToGoString(value))  # type: ignore[no-untyped-call]


def _samples(family: Metric) -> str:
    """Sample lines: the same in OpenMetrics and text for the families `_simple` accepts."""
    return "".join(_sample_lines(family.samples))


def _sample_chunks(family: Metric) -> list[bytes]:
    """The sample lines in chunks of PACE samples: joining and encoding one chunk is a short C
    call, so a refresh encoding a family of 100k series never holds the GIL for long."""
    samples = family.samples
    return [
        "".join(_sample_lines(samples[start : start + PACE])).encode()
        for start in range(0, len(samples), PACE)
    ]


def _sample_lines(samples: list[Sample]) -> list[str]:
    lines = []
    for sample in paced(samples):
        labels = sample.labels
        if labels:
            pairs = ",".join(
                f'{key}="{value.replace(BS, BS + BS).replace(NL, BS + "n").replace(QUOTE, BS + QUOTE)}"'
                for key, value in sorted(labels.items())
            )
            lines.append(f"{sample.name}{{{pairs}}} {_value(sample.value)}\n")
        else:
            lines.append(f"{sample.name} {_value(sample.value)}\n")
    return lines


def _head(family: Metric, openmetrics_format: bool) -> str:
    name, doc, kind = family.name, family.documentation, family.type
    if openmetrics_format:
        doc = doc.replace(BS, BS + BS).replace(NL, BS + "n").replace(QUOTE, BS + QUOTE)
        return f"# HELP {name} {doc}\n# TYPE {name} {kind}\n"
    shown = name + "_total" if kind == "counter" else name
    doc = doc.replace(BS, BS + BS).replace(NL, BS + "n")
    return f"# HELP {shown} {doc}\n# TYPE {shown} {kind}\n"


def encode_family(family: Metric, openmetrics_format: bool) -> bytes:
    """One family in OpenMetrics 1.0 (without "# EOF") or text 0.0.4, as prometheus-client writes it."""
    if not _simple(family):
        if openmetrics_format:
            encoded: bytes = _PC_OPENMETRICS(_One(family))
            return encoded.removesuffix(EOF_LINE)
        return generate_latest(_One(family))
    return (_head(family, openmetrics_format) + _samples(family)).encode()


def encode_both(family: Metric) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """(OpenMetrics chunks, text chunks) of one family, as prometheus-client writes them.

    The sample lines are the same bytes object in both formats (only HELP and, for counters,
    TYPE differ), so a large estate is held once, not twice.
    """
    if not _simple(family):
        om, text = encode_family(family, True), encode_family(family, False)
        return (om,), (om if text == om else text,)
    body = _sample_chunks(family)
    head_om = _head(family, True).encode()
    head_text = _head(family, False).encode()
    return (head_om, *body), (head_om if head_text == head_om else head_text, *body)
