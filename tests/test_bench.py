"""The benchmark scripts at a tiny scale, so they cannot rot unnoticed (a configuration rule once
broke every one of them): each runs as a subprocess against the real simulator, must exit 0 and
print every figure, and the request counts it prints must be the pages the tiny estate needs.
The figures themselves are the scripts' business, not these tests'."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from exporter.sources.update_manager.fetch import QUERIES as UPDATE_MANAGER_QUERIES

ROOT = Path(__file__).resolve().parents[1]
QUERIES = tuple(label for label, *_ in UPDATE_MANAGER_QUERIES)


def run(script: str, *args: str, timeout: float = 90) -> str:
    result = subprocess.run(
        [sys.executable, f"scripts/{script}", *args],
        capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def rows(table: str) -> dict[str, str]:
    """Figure name -> the rest of its line, for the names in bench.py's table (two spaces or more
    separate the columns; names have single spaces)."""
    out = {}
    for line in table.splitlines():
        name, _, rest = line.partition("  ")
        if rest:
            out[name] = rest.strip()
    return out


def test_bench_prints_every_figure() -> None:
    table = rows(
        run(
            "bench.py",
            *("--scale-sets", "40", "--subscriptions", "2", "--cycles", "3", "--real-cycles", "1"),
            *("--naive-scrapes", "1", "--scrapes-per-round", "2", "--scrape-pause", "0.01"),
            *("--refresh-scale-sets", "40", "--refresh-subscriptions", "2", "--cpu-scale-sets", "20"),
            *("--latency", "0.001", "--scrape-latency", "0.001", "--refresh-concurrency", "4"),
            *("--arc-machines", "50", "--um-vms", "50", "--um-arc", "10", "--graph-subscriptions", "2"),
        )
    )
    scrape = [
        "median scrape",
        "p99 scrape incl. during refreshes",
        "p99 / max while refreshing",
        "p99 during real refreshes / replays",
        "median during real refreshes / replays / steady",
        "speed-up over naive",
        "body on the wire",
    ]
    expected = [
        "series exposed",
        *(f"{fmt}: {figure}" for fmt in ("openmetrics+gzip", "text+gzip") for figure in scrape),
        "text, uncompressed (curl): median scrape",
        "peak RSS of the exporter",
        "refresh incl. encoding (real / replay)",
        "refresh 40 scale sets / 2 subscriptions @ 1 ms",
        "refresh without its encoding: the Azure calls",
        "exporter CPU per Azure request",
        "Resource Graph requests per refresh: vmss_os_upgrades discovery",
        "Resource Graph requests per refresh: arc_agents",
        "refresh arc_agents @ 1 ms",
        "Resource Graph requests per refresh: update_manager",
        "refresh update_manager @ 1 ms",
    ]
    assert [name for name in expected if name not in table] == [], table
    graph = "Resource Graph requests per refresh: "
    assert table[f"{graph}vmss_os_upgrades discovery"].startswith("1 pages ")
    # 50 machines: one page of the machines query and the Advisor summary; nothing per machine.
    assert table[f"{graph}arc_agents"].startswith("2 pages, 0 ARM ")
    assert "52 ARM reads" in table[f"{graph}arc_agents"]
    um = table[f"{graph}update_manager"]
    assert um.startswith("6 pages, 0 ARM ")
    assert all(re.search(rf"\b{query} 1\b", um) for query in QUERIES), um
    assert "188 ARM reads" in um  # 3 per machine + 4 per subscription


def test_bench_arc_agents_runs() -> None:
    out = run("bench_arc_agents.py", "--machines", "50", "--subscriptions", "2", "--scrapes", "1")
    for per_machine in ("true", "false"):
        assert f"per_machine_series={per_machine}: refresh " in out
    assert out.count("(2 Resource Graph requests, 0 ARM)") == 2, out
    assert "peak RSS" in out


def test_bench_update_manager_runs() -> None:
    out = run(
        "bench_update_manager.py", *("--vms", "50", "--arc", "10", "--subscriptions", "2", "--scrapes", "1")
    )
    assert "{'update_manager': True}" in out, out
    assert "Resource Graph pages: 6; other requests: 0" in out
    assert "scrape openmetrics+gzip: p50" in out


def test_bench_http_runs() -> None:
    out = run(
        "bench_http.py",
        *("--subscriptions", "2", "--scale-sets", "20", "--scrapers", "2", "--scrapes", "2", "--rounds", "1"),
    )
    for label in ("before: wsgiref", "after: hypercorn", "after: +tls+auth"):
        assert re.search(rf"^{re.escape(label)} +scrapes +4 errors +0 ", out, re.MULTILINE), out
