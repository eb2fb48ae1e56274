"""Benchmark helper: the naive baseline (run by scripts/bench.py, not by hand).

What an exporter without a render cache does: prometheus-client's own HTTP server, and a
collector that translates the stored snapshots at every scrape. Same snapshots, same
translate functions as the exporter. `stop` on stdin ends it.
"""

from __future__ import annotations

# ruff: noqa: T201 - a benchmark helper reports on stdout
import pickle
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from exporter.core.registry import all_specs


class PerScrape(Collector):
    def __init__(self, snapshots: dict[str, Any]) -> None:
        specs = all_specs()
        self._parts = [(specs[name], snapshot) for name, snapshot in snapshots.items()]

    def collect(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        for spec, snapshot in self._parts:
            yield from spec.translate(snapshot, now)


def main() -> None:
    snapshots = pickle.loads(Path(sys.argv[1]).read_bytes())  # noqa: S301 - our own file
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PerScrape(snapshots))
    server, _ = start_http_server(0, addr="127.0.0.1", registry=registry)
    print("port", server.server_address[1], flush=True)
    sys.stdin.readline()
    server.shutdown()


if __name__ == "__main__":
    main()
