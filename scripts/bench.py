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
        exporter.start()
        url = f"http://127.0.0.1:{exporter.port}/metrics"
        timings, size = [], 0
        for _ in range(args.scrapes):
            t0 = time.perf_counter()
            with urllib.request.urlopen(url, timeout=30) as response:
                size = len(response.read())
            timings.append(time.perf_counter() - t0)
        exporter.stop()
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    timings.sort()
    print(f"estate: {args.subscriptions} subscriptions, {args.scale_sets} scale sets; sources: {results}")
    print(
        f"refresh (all sources, once): {refresh * 1000:.0f} ms; "
        f"ARM requests: {sim.requests.count('arm.*')}, Resource Graph: {sim.requests.count('resource_graph')}"
    )
    print(
        f"scrape: p50 {statistics.median(timings) * 1000:.1f} ms, "
        f"p99 {timings[int(len(timings) * 0.99) - 1] * 1000:.1f} ms, body {size / 1024:.0f} KiB"
    )
    print(f"peak RSS (exporter + simulator in one process): {rss_mib:.0f} MiB")


if __name__ == "__main__":
    main()
