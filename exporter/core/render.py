"""Exposition rendering: each source's bytes, and their gzip member, encoded once per snapshot.

A scrape of 300k series must not encode, compress or even copy the whole body. So the refresh
thread encodes a fresh snapshot's *static* families (everything that does not depend on "now")
in OpenMetrics and text, compresses each into one gzip member, and publishes the snapshot
together with those bytes (`Exposition`). A scrape then only encodes the small live part: the
families that depend on "now" (`SourceSpec.translate_live`: seconds until, running durations),
the self-metrics and the runtime metrics, and returns a list of chunks that the server writes
one after the other. Gzip members may be concatenated (RFC 1952 §2.2; Go's gzip reader, and so
Prometheus, reads multi-member bodies), so a gzip body is the cached members with the live
parts compressed in between.

Each source's encoding, static and live, runs inside the containment boundary
(`exporter.core.containment`): a source whose families cannot be encoded is left out of the
body and counted, never failing the endpoint. A failed static encoding is counted once per
snapshot (like its bytes, the failure is cached); a failed live part once per scrape.

The body is byte for byte what prometheus-client renders from the full registry (runtime
collectors, then every source's families, then the self-metrics): tests compare them.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.registry import Collector

from exporter.core.collector import ExporterCollector
from exporter.core.containment import Fixed, contained, encode_failed, encoded
from exporter.core.encode import EOF_LINE, encode_both, encode_family
from exporter.core.gil import collection_paused, release
from exporter.core.source import AnySpec
from exporter.core.state import SourceState

Encoder = Callable[[Collector], bytes]
Translate = Callable[[Any, datetime], Iterable[Metric]]
OPENMETRICS = "openmetrics"
TEXT = "text"
# Static members once per refresh, off the scrape path: smaller bodies are worth the CPU.
STATIC_GZIP_LEVEL = 6
# Live parts on every scrape: a few kilobytes, speed first.
LIVE_GZIP_LEVEL = 1
# Uncompressed bytes an uncompressed scrape inflates at a time.
INFLATE_PIECE = 256 * 1024
# Seconds the runtime metrics (process_*, python_*) are reused between scrapes: Prometheus
# scrapes far less often, so each scrape still sees fresh values.
RUNTIME_MAX_AGE = 1.0


def cached_format(content_type: str) -> str | None:
    """Which cached encoding serves a negotiated content type, None if none does.

    Every metric name of the exporter is a valid legacy name, which the `underscores` and
    `allow-utf-8` escapings leave as they are (tests check it with Prometheus's own Accept
    header); `dots` and `values` rewrite every underscore, so they are encoded per scrape.
    """
    params = [p.strip() for p in content_type.split(";")]
    escaping = next((p.partition("=")[2] for p in params if p.startswith("escaping=")), None)
    if escaping not in (None, openmetrics.UNDERSCORES, openmetrics.ALLOWUTF8):
        return None
    if params[0] == "application/openmetrics-text" and "version=1.0.0" in params:
        return OPENMETRICS
    if content_type == CONTENT_TYPE_PLAIN_0_0_4:
        return TEXT
    return None


@dataclass(frozen=True, slots=True)
class Encoded:
    """One source's static families in one format: one gzip member, and its uncompressed size.

    Only the compressed bytes are kept (30 times smaller at 300k series): Prometheus always asks
    for gzip, and a scraper that does not (curl) gets the member inflated as it is written.
    """

    gzip: bytes
    size: int


class Inflated:
    """A cached gzip member served uncompressed: inflated a piece at a time while it is written
    (exporter.web.asgi), never held whole. `len()` is its uncompressed size, for Content-Length."""

    __slots__ = ("_member", "_size")

    def __init__(self, encoded: Encoded) -> None:
        self._member = encoded.gzip
        self._size = encoded.size

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[bytes]:
        inflate = zlib.decompressobj(31)
        data = self._member
        while data:
            piece = inflate.decompress(data, INFLATE_PIECE)
            data = inflate.unconsumed_tail
            if piece:
                yield piece
        rest = inflate.flush()
        if rest:
            yield rest

    def __bytes__(self) -> bytes:
        return zlib.decompress(self._member, 31)


# A body part: bytes, or a cached member inflated while it is written.
Part = bytes | Inflated


class Body:
    """A WSGI body of parts: any WSGI server iterates it as bytes; exporter.web.asgi writes
    `parts` as they are, inflating an `Inflated` piece by piece."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[Part]) -> None:
        self.parts = parts

    def __iter__(self) -> Iterator[bytes]:
        for part in self.parts:
            if isinstance(part, bytes):
                yield part
            else:
                yield from part

    def __len__(self) -> int:
        return sum(map(len, self.parts))


def joined(parts: Iterable[Part]) -> bytes:
    """The body in one buffer (tests and `collect --once`; scrapes write the parts in turn)."""
    return b"".join(part if isinstance(part, bytes) else bytes(part) for part in parts)


@dataclass(frozen=True, slots=True)
class Exposition:
    """A snapshot's static families encoded in every cached format, published with the snapshot."""

    formats: dict[str, Encoded]
    # The static families could not be encoded: the source is left out until its next snapshot.
    left_out: bool = False


LEFT_OUT = Exposition({}, left_out=True)


class FamilyFilter(Collector):
    """The families of `source` named in `names` (by family or sample name), for `name[]`.

    prometheus-client's own restricted registry only knows collectors that describe their
    names up front, which ours deliberately do not (no collect() at registration).
    """

    def __init__(self, source: Collector, names: set[str]) -> None:
        self._source = source
        self._names = names

    def collect(self) -> Iterator[Metric]:
        for family in self._source.collect():
            if family.name in self._names or any(s.name in self._names for s in family.samples):
                yield family


def split(spec: AnySpec) -> tuple[Translate | None, Translate | None]:
    """(static, live) translate of a source; either may be None."""
    if spec.translate_static is not None and spec.translate_live is not None:
        static = spec.translate_static
        return (lambda snapshot, _now: static(snapshot)), spec.translate_live
    if not spec.uses_now:
        return spec.translate, None
    return None, spec.translate


def gzip_member(chunks: Iterable[bytes], level: int) -> bytes:
    """One gzip member of the chunks, without joining them first (mtime 0: deterministic)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    parts = [compressor.compress(chunk) for chunk in chunks]
    parts.append(compressor.flush())
    return b"".join(parts)


def encode_families(families: list[Metric]) -> Exposition:
    """Both cached formats of `families`, sharing the bytes the formats have in common.

    OpenMetrics 1.0 and text 0.0.4 differ only in HELP escaping and counters' TYPE lines, so
    each family's sample lines are stored once for both. OpenMetrics first: Prometheus asks for it.
    The list is consumed: each family is freed (in slices, `exporter.core.gil`) once encoded.
    """
    om_chunks: list[bytes] = []
    text_chunks: list[bytes] = []
    families.reverse()
    while families:
        family = families.pop()
        om, text = encode_both(family)
        om_chunks.extend(om)
        text_chunks.extend(text)
        release(family)
    om_gzip = gzip_member(om_chunks, STATIC_GZIP_LEVEL)
    same = all(t is o for t, o in zip(text_chunks, om_chunks, strict=True))
    text_gzip = om_gzip if same else gzip_member(text_chunks, STATIC_GZIP_LEVEL)
    return Exposition(
        {
            OPENMETRICS: Encoded(om_gzip, sum(map(len, om_chunks))),
            TEXT: Encoded(text_gzip, sum(map(len, text_chunks))),
        }
    )


class Renderer:
    def __init__(self, collector: ExporterCollector, runtime: CollectorRegistry | None = None) -> None:
        self._collector = collector
        # process/platform/gc metrics of prometheus-client: live, reused for up to RUNTIME_MAX_AGE.
        self._runtime = runtime
        self._lock = threading.Lock()
        # Snapshots published without an exposition (the encode hook failed, or a runner built
        # without one): encoded by the first scrape that needs it, kept with its snapshot.
        self._late: dict[str, tuple[object, Exposition]] = {}
        self._runtime_cache: dict[str, tuple[float, list[bytes]]] = {}

    def encode(self, state: SourceState, snapshot: object) -> Exposition | None:
        """The static part of a fresh snapshot, for the refresh thread to publish with it."""
        static, dynamic = split(state.spec)
        if static is None:
            return None
        now = self._collector.now()
        with collection_paused():
            families = self._collector.source_families(state, snapshot, now, static)
            try:
                exposition = encode_families(families)
            except Exception as exc:  # noqa: BLE001 - the containment boundary: counted, logged once
                encode_failed(state, exc)
                return LEFT_OUT
            finally:
                for family in families:
                    release(family)
        if dynamic is None:
            # A source with a live part has encoded again only once that part does too.
            encoded(state)
        return exposition

    def _exposition(self, state: SourceState, snapshot: object, published: object) -> Exposition | None:
        if isinstance(published, Exposition):
            return published
        with self._lock:
            late = self._late.get(state.name)
        if late is not None and late[0] is snapshot:
            return late[1]
        exposition = self.encode(state, snapshot)
        if exposition is not None:
            with self._lock:
                # The snapshot object is kept with its bytes, so identity cannot be reused.
                self._late[state.name] = (snapshot, exposition)
        return exposition

    def _runtime_chunks(self, fmt: str) -> list[bytes]:
        """prometheus-client's process/platform/gc metrics, reused for up to RUNTIME_MAX_AGE.

        Reading them opens half a dozen /proc files; every file operation gives up the GIL, and
        while a refresh encodes, each reacquisition can wait a switch interval.
        """
        assert self._runtime is not None
        now = time.monotonic()
        with self._lock:
            cached = self._runtime_cache.get(fmt)
        if cached is not None and now - cached[0] < RUNTIME_MAX_AGE:
            return cached[1]
        chunks = [encode_family(family, fmt == OPENMETRICS) for family in self._runtime.collect()]
        with self._lock:
            self._runtime_cache[fmt] = (now, chunks)
        return chunks

    def _per_scrape(
        self,
        state: SourceState,
        snapshot: object,
        now: datetime,
        parts: tuple[Translate, ...],
        encode_chunks: Callable[[Collector], list[bytes]],
    ) -> list[bytes] | None:
        """The chunks of a source's parts encoded now, or None if the source is left out."""

        def encode() -> list[bytes]:
            chunks: list[bytes] = []
            for translate in parts:
                chunks.extend(
                    encode_chunks(Fixed(self._collector.source_families(state, snapshot, now, translate)))
                )
            return chunks

        return contained(state, encode)

    def body(self, encoder: Encoder, content_type: str, *, gzip: bool) -> list[Part]:
        """The /metrics body as parts to write in order (never joined into one buffer)."""
        fmt = cached_format(content_type)
        openmetrics_body = content_type.startswith("application/openmetrics-text")
        now = self._collector.now()
        views = [state.view() for state in self._collector.states]
        out: list[Part] = []
        live: list[bytes] = []

        def encode_chunks(collector: Collector) -> list[bytes]:
            if fmt is not None:
                return [encode_family(family, fmt == OPENMETRICS) for family in collector.collect()]
            data = encoder(collector)
            return [data.removesuffix(EOF_LINE) if openmetrics_body else data]

        def flush() -> None:
            if live:
                out.append(gzip_member(live, LIVE_GZIP_LEVEL) if gzip else b"".join(live))
                live.clear()

        if self._runtime is not None:
            if fmt is None:
                live.extend(encode_chunks(self._runtime))
            else:
                live.extend(self._runtime_chunks(fmt))
        for state, view in zip(self._collector.states, views, strict=True):
            if view.snapshot is None:
                continue
            static, dynamic = split(state.spec)
            exposition = None
            if fmt is not None and static is not None:
                exposition = self._exposition(state, view.snapshot, view.exposition)
                if exposition is not None and exposition.left_out:
                    continue  # counted and logged when the snapshot was encoded
            # A format we do not cache (OpenMetrics 2, text 1.0) encodes the static part now:
            # the rare scraper pays.
            per_scrape = tuple(
                part for part in ((static if exposition is None else None), dynamic) if part is not None
            )
            chunks: list[bytes] = []
            if per_scrape:
                encoded_now = self._per_scrape(state, view.snapshot, now, per_scrape, encode_chunks)
                if encoded_now is None:
                    continue  # left out of this scrape, counted
                chunks = encoded_now
            if exposition is not None:
                cached = exposition.formats[fmt] if fmt is not None else None
                if cached is not None:
                    flush()
                    out.append(cached.gzip if gzip else Inflated(cached))
            live.extend(chunks)
        # Fresh views: encode failures counted just now show in this very scrape.
        fresh = [state.view() for state in self._collector.states]
        live.extend(encode_chunks(Fixed(self._collector.self_families(fresh))))
        if openmetrics_body:
            live.append(EOF_LINE)
        flush()
        return out
