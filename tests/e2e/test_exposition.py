"""The cached exposition as Prometheus gets it: a gzip body of several members (one per source's
cached bytes, plus the live parts) is read completely by a real Prometheus, every series of every
source included."""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from exporter.demo import simulator_config
from tests.e2e import harness
from tests.e2e.harness import ExporterProcess, Prometheus, SimulatorProcess
from tests.integration.test_sharding import estate

pytestmark = pytest.mark.e2e

# Prometheus 2.x's scrape Accept header; it always asks for gzip.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
SOURCES = ("subscriptions", "vmss_os_upgrades", "azure_stack_updates")


def gzip_members(body: bytes) -> int:
    members = 0
    while body:
        decompressor = zlib.decompressobj(31)
        decompressor.decompress(body)
        assert decompressor.eof, "a gzip member is cut short"
        body = decompressor.unused_data
        members += 1
    return members


DATA = re.compile(r"azure_(vmss|subscription|stack)_.*")
COUNT_QUERY = f'count by (__name__) ({{job="{harness.JOB_NAME}", __name__=~"{DATA.pattern}"}})'


def series_per_name(text: str) -> Counter[str]:
    return Counter(
        sample.name
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if DATA.fullmatch(sample.name)
    )


def test_prometheus_reads_every_series_of_a_multi_member_gzip_body(
    tmp_path: Path,
    start_exporter: Callable[[ExporterProcess], ExporterProcess],
    start_prometheus: Callable[..., Prometheus],
) -> None:
    scenario = tmp_path / "estate.yaml"
    scenario.write_text(yaml.safe_dump(estate()))
    sim = SimulatorProcess(tmp_path / "simulator", extra_args=["--scenario", str(scenario)])
    try:
        sim.start()
        address = f"{harness.HOST}:{harness.free_port()}"
        config = simulator_config(sim.info, address)
        config["sources"] = {name: config["sources"][name] for name in SOURCES}
        exp = start_exporter(ExporterProcess.serve(tmp_path / "exporter", config, address))

        raw = requests.get(
            f"{exp.url}/metrics",
            headers={"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"},
            stream=True,
            timeout=10,
        )
        assert raw.headers["Content-Encoding"] == "gzip"
        body = raw.raw.read(decode_content=False)
        assert gzip_members(body) >= len(SOURCES) + 1  # the sources' cached members and live parts
        expected = series_per_name(exp.metrics())
        assert {n.split("_")[1] for n in expected} >= {"vmss", "subscription", "stack"}

        prom = start_prometheus([exp.address])
        target = prom.wait_for_target_up(exp.address)
        assert target["health"] == "up"
        assert prom.wait_for_query(COUNT_QUERY)

        def scraped() -> Counter[str]:
            return Counter({r["metric"]["__name__"]: int(r["value"][1]) for r in prom.query(COUNT_QUERY)})

        harness.wait_until(
            lambda: scraped() == expected, "Prometheus to hold every series the exporter serves"
        )
        # The last member (self-metrics, then "# EOF") arrived too.
        [build] = prom.wait_for_query(f'azure_update_exporter_build_info{{job="{harness.JOB_NAME}"}}')
        assert build["value"][1] == "1"
    finally:
        sim.stop()
