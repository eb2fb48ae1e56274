"""Docs follow the code: every exposed metric is documented and every documented one exists,
every config key is in docs/configuration.md, every source has permissions documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter.app import Exporter
from exporter.config import AzureConfig, ShardingConfig, from_dict
from exporter.core.registry import all_specs
from exporter.demo import simulator_config
from exporter.simulator import start

ROOT = Path(__file__).resolve().parents[1]
METRICS_MD = (ROOT / "docs/metrics.md").read_text()
CONFIG_MD = (ROOT / "docs/configuration.md").read_text()
# prometheus-client's own process/platform/gc collectors are documented as a group.
STANDARD = ("process_", "python_")


def _base(name: str) -> str:
    return name.removesuffix("_total")


def documented_metrics() -> set[str]:
    return {_base(m) for m in re.findall(r"^\| `([a-z_:]+)` \|", METRICS_MD, flags=re.MULTILINE)}


@pytest.fixture(scope="module")
def demo_exposition() -> str:
    with start("demo") as sim:
        raw = simulator_config(sim.info(), "127.0.0.1:0")
        exporter = Exporter(from_dict(raw))
        try:
            exporter.refresh_all_once()
            return generate_latest(exporter.registry).decode()
        finally:
            exporter.stop()


def exposed_families(text: str) -> set[str]:
    return {_base(f.name) for f in text_string_to_metric_families(text) if not f.name.startswith(STANDARD)}


def test_every_exposed_metric_is_documented(demo_exposition: str):
    missing = exposed_families(demo_exposition) - documented_metrics()
    assert not missing, f"add these to docs/metrics.md: {sorted(missing)}"


def test_every_documented_metric_is_exposed(demo_exposition: str):
    stale = documented_metrics() - exposed_families(demo_exposition)
    assert not stale, f"documented but not exposed by the demo: {sorted(stale)}"


def test_demo_enables_every_source():
    with start("demo") as sim:
        enabled = set(simulator_config(sim.info())["sources"])
    assert enabled == set(all_specs())


def _keys(cls: type, prefix: str) -> list[str]:
    out = []
    for f in dataclasses.fields(cls):
        path = f"{prefix}.{f.name}"
        if dataclasses.is_dataclass(f.type) or f.name == "credential":
            out += _keys(type(getattr(cls(), f.name)), path)
        else:
            out.append(path)
    return out


def test_every_config_key_is_documented():
    keys = [*_keys(AzureConfig, "azure"), *_keys(ShardingConfig, "sharding")]
    keys += ["web.listen_address", "web.config_file", "log.level", "log.format"]
    keys += [f"sources.<name>.{k}" for k in ("enabled", "interval", "timeout")]
    missing = [k for k in keys if f"`{k}`" not in CONFIG_MD]
    assert not missing


def test_every_source_is_in_the_configuration_table():
    for name, spec in all_specs().items():
        assert re.search(rf"^\| `{name}` \|", CONFIG_MD, flags=re.MULTILINE), name
        for f in dataclasses.fields(spec.options_type):
            assert f"`{f.name}`" in CONFIG_MD, f"option {name}.{f.name} not documented"
