"""Benchmark of the update_manager source: one refresh over a large simulated estate.

Prints refresh time, Resource Graph pages, series count, exposition size, scrape latency and peak
RSS; it asserts nothing. Usage:

    .venv/bin/python scripts/bench_update_manager.py [--vms 100000] [--arc 20000] [--aggregates-only]
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

from bench_scenarios import only, update_manager_estate

from exporter.app import Exporter
from exporter.config import from_dict
from exporter.demo import simulator_config
from exporter.simulator import start

PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"


def scrape(url: str, headers: dict[str, str], count: int) -> tuple[list[float], bytes]:
    timings, body = [], b""
    for _ in range(count):
        t0 = time.perf_counter()
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our own http URL
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            body = response.read()
        timings.append(time.perf_counter() - t0)
    return timings, body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=100_000)
    parser.add_argument("--arc", type=int, default=20_000)
    parser.add_argument("--subscriptions", type=int, default=20)
    parser.add_argument("--aggregates-only", action="store_true")
    parser.add_argument("--scrapes", type=int, default=5)
    args = parser.parse_args()
    with start(update_manager_estate(args.vms, args.arc, args.subscriptions)) as sim:
        options = {"interval": "20m", "timeout": "20m", "aggregates_only": args.aggregates_only}
        raw = only(
            simulator_config(sim.info(), "127.0.0.1:0"), {"update_manager": options}, demo_settings=False
        )
        exporter = Exporter(from_dict(raw))
        started = time.perf_counter()
        results = exporter.refresh_all_once()
        refresh = time.perf_counter() - started
        exporter.start(schedule=False)
        url = f"http://127.0.0.1:{exporter.port}/metrics"
        plain, body = scrape(url, {}, args.scrapes)
        prometheus, gz = scrape(url, {"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"}, args.scrapes)
        exporter.stop()
        pages = sim.requests.count("resource_graph")
    series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mode = "aggregates only" if args.aggregates_only else "per machine"
    print(
        f"estate: {args.vms} VMs + {args.arc} Arc machines, {args.subscriptions} subscriptions ({mode}); "
        f"{results}"
    )
    print(
        f"refresh: {refresh:.1f} s; Resource Graph pages: {pages}; "
        f"other requests: {sim.requests.count('arm.*')}"
    )
    print(
        f"series: {series}; text body {len(body) / 2**20:.1f} MiB, openmetrics+gzip {len(gz) / 2**20:.1f} MiB"
    )
    for label, timings in (("text", plain), ("openmetrics+gzip", prometheus)):
        print(
            f"scrape {label}: p50 {statistics.median(timings) * 1000:.0f} ms, "
            f"max {max(timings) * 1000:.0f} ms"
        )
    print(f"peak RSS (exporter + simulator in one process): {rss_mib:.0f} MiB")


if __name__ == "__main__":
    main()
