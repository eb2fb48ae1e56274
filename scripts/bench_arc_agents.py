"""Benchmark of the arc_agents source: one refresh over a large simulated Arc estate.

Prints refresh time, Resource Graph pages, series and body size with and without per-machine
series, and peak RSS; it asserts nothing. Usage:
.venv/bin/python scripts/bench_arc_agents.py [--machines 20000] [--subscriptions 50] [--scrapes 10]
"""

from __future__ import annotations

# ruff: noqa: T201 - a benchmark prints its figures
import argparse
import resource
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_scenarios import arc_estate, only

from exporter.app import Exporter
from exporter.config import from_dict
from exporter.demo import simulator_config
from exporter.simulator import start

PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"


def scrape(url: str, count: int) -> tuple[list[float], int]:
    timings, size = [], 0
    headers = {"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"}
    for _ in range(count):
        t0 = time.perf_counter()
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our own http URL
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            size = len(response.read())
        timings.append(time.perf_counter() - t0)
    return timings, size


def run(sim_info: dict[str, object], per_machine: bool, scrapes: int) -> tuple[float, int, list[float], int]:
    options = {"interval": "10m", "timeout": "10m", "per_machine_series": per_machine}
    raw = only(simulator_config(sim_info, "127.0.0.1:0"), {"arc_agents": options}, demo_settings=False)
    exporter = Exporter(from_dict(raw))
    try:
        started = time.perf_counter()
        ok = exporter.refresh_all_once()["arc_agents"]
        refresh = time.perf_counter() - started
        if not ok:
            raise SystemExit("refresh failed")
        series = sum(len(f.samples) for f in exporter.registry.collect() if f.name.startswith("azure_arc_"))
        exporter.start(schedule=False)
        timings, size = scrape(f"http://127.0.0.1:{exporter.port}/metrics", scrapes)
    finally:
        exporter.stop()
    return refresh, series, timings, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--machines", type=int, default=20_000)
    parser.add_argument("--subscriptions", type=int, default=50)
    parser.add_argument("--scrapes", type=int, default=10)
    args = parser.parse_args()
    with start(arc_estate(args.machines, args.subscriptions)) as sim:
        info = sim.info()
        print(f"estate: {args.machines} Arc machines in {args.subscriptions} subscriptions")
        for per_machine in (True, False):
            before = sim.requests.count("resource_graph")
            refresh, series, timings, size = run(info, per_machine, args.scrapes)
            pages = sim.requests.count("resource_graph") - before
            print(
                f"per_machine_series={str(per_machine).lower()}: refresh {refresh:.2f} s "
                f"({pages} Resource Graph requests, {sim.requests.count('arm.*')} ARM), {series} series; "
                f"scrape p50 {statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms, "
                f"{size / 1024:.0f} KiB (OpenMetrics + gzip)"
            )
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS (exporter + simulator in one process): {rss_mib:.0f} MiB")


if __name__ == "__main__":
    main()
