"""Benchmark: refresh cost and scrape latency/memory against a large simulated estate.

Prints figures; it asserts nothing (targets are checked by reading the figures, not by timed
unit tests). Usage: .venv/bin/python scripts/bench.py [--subscriptions N] [--scrapes N]
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

from exporter.app import Exporter
from exporter.config import from_dict
from exporter.demo import simulator_config
from exporter.simulator import start

PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"


def scrape(url: str, headers: dict[str, str], count: int) -> tuple[list[float], int]:
    timings, size = [], 0
    for _ in range(count):
        t0 = time.perf_counter()
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our own http URL
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            size = len(response.read())
        timings.append(time.perf_counter() - t0)
    return timings, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=2000)
    parser.add_argument("--scale-sets", type=int, default=2000, help="VMSS estate size (half eligible)")
    parser.add_argument("--scrapes", type=int, default=50)
    args = parser.parse_args()
    scenario = {
        "subscriptions": [
            {"id": f"00000000-0000-4000-8000-{i:012d}", "display_name": f"sub-{i}", "state": "Enabled"}
            for i in range(args.subscriptions)
        ],
        "arm": {"page_size": 100, "read_bucket_size": 0},
        "resource_graph": {"quota_per_5s": 0},
        "vmss": {"generate": {"count": args.scale_sets, "eligible_ratio": 0.5}},
    }
    with start(scenario) as sim:
        raw = simulator_config(sim.info(), "127.0.0.1:0")
        raw["sources"] = {name: raw["sources"][name] for name in ("subscriptions", "vmss_os_upgrades")}
        raw["sources"]["vmss_os_upgrades"]["concurrency"] = 16
        raw["sources"]["vmss_os_upgrades"]["timeout"] = "10m"
        exporter = Exporter(from_dict(raw))
        started = time.perf_counter()
        results = exporter.refresh_all_once()
        refresh = time.perf_counter() - started
        # Steady state: scrapes between refreshes (no background refresh competing for the GIL).
        exporter.start(schedule=False)
        url = f"http://127.0.0.1:{exporter.port}/metrics"
        plain = scrape(url, {}, args.scrapes)
        # What Prometheus sends.
        prometheus = scrape(url, {"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"}, args.scrapes)
        exporter.stop()
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"estate: {args.subscriptions} subscriptions, {args.scale_sets} scale sets; sources: {results}")
    print(
        f"refresh (all sources, once): {refresh * 1000:.0f} ms; "
        f"ARM requests: {sim.requests.count('arm.*')}, Resource Graph: {sim.requests.count('resource_graph')}"
    )
    for label, (timings, size) in (("text", plain), ("openmetrics+gzip", prometheus)):
        print(
            f"scrape {label}: p50 {statistics.median(timings) * 1000:.1f} ms, "
            f"max {max(timings) * 1000:.1f} ms, body {size / 1024:.0f} KiB"
        )
    print(f"peak RSS (exporter + simulator in one process): {rss_mib:.0f} MiB")


if __name__ == "__main__":
    main()
