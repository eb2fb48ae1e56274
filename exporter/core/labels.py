"""Label values made safe to encode, applied in one place to every source's families.

A label value is Azure's text (display names, descriptions, step names). prometheus-client
encodes the exposition as UTF-8 and raises on a lone surrogate (``"\\udcff"`` from a ``\\ud83d``
JSON escape without its pair), which used to fail every scrape. ``ExporterCollector`` passes each
source's families through ``sanitise`` after translate, so no source has to remember it.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.metrics_core import Metric

from exporter.core.gil import paced

# Longer values are truncated (with a trailing "…"): they only come from free text, and a
# multi-kilobyte label hurts Prometheus and the dashboards far more than a cut one.
MAX_LABEL_VALUE_CHARS = 1024
ELLIPSIS = "…"
REPLACEMENT = "\ufffd"


def label_value(value: object) -> str:
    """`value` with lone surrogates replaced by U+FFFD and cut to MAX_LABEL_VALUE_CHARS."""
    if not isinstance(value, str):
        value = str(value)
    if value.isascii() and len(value) <= MAX_LABEL_VALUE_CHARS:
        return value  # the common case: nothing to do, nothing allocated
    # UTF-16 with surrogatepass joins a well-formed pair and leaves lone halves undecodable.
    text = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if len(text) > MAX_LABEL_VALUE_CHARS:
        text = text[: MAX_LABEL_VALUE_CHARS - 1] + ELLIPSIS
    return text


def sanitise(families: Iterable[Metric]) -> list[Metric]:
    """The families with every label value made safe; samples are replaced only when changed."""
    out = list(families)
    for family in out:
        for index, sample in enumerate(paced(family.samples)):
            labels = sample.labels
            if _safe(labels):
                continue
            family.samples[index] = sample._replace(labels={k: label_value(v) for k, v in labels.items()})
    return out


def _safe(labels: dict[str, str]) -> bool:
    # One join per sample instead of a check per value: this runs for every series of a refresh.
    try:
        joined = "".join(labels.values())
    except TypeError:  # a non-string label value
        return False
    if not joined.isascii():
        return False
    return len(joined) <= MAX_LABEL_VALUE_CHARS or max(map(len, labels.values())) <= MAX_LABEL_VALUE_CHARS
