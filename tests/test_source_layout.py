"""Every registered source has the same shape and every file that adding a source touches
(docs/architecture.md, "Adding a source"), so that checklist cannot rot.

Driven by the registry: a source added later is checked without touching this file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from exporter.core.registry import all_specs
from exporter.core.source import AnySpec
from exporter.simulator.sources import SOURCES as SIMULATED

ROOT = Path(__file__).resolve().parents[1]
SOURCES_DIR = ROOT / "exporter" / "sources"
SIMULATOR_DIR = ROOT / "exporter" / "simulator" / "sources"
CORE_FILES = {"__init__.py", "model.py", "parse.py", "fetch.py", "translate.py"}
# Extra modules of a big source are named after the part they belong to: fetch_hub.py, parse_pep.py.
# Helpers, and package data named after the part that reads it (arc_agents/parse_releases.csv).
HELPER = re.compile(r"^(model|parse|fetch|translate)_[a-z0-9_]+\.(py|csv|json)$")
METRICS_MD = (ROOT / "docs" / "metrics.md").read_text()
CONFIG_MD = (ROOT / "docs" / "configuration.md").read_text()
RUNBOOKS_MD = (ROOT / "docs" / "runbooks.md").read_text()
DEMO = yaml.safe_load((ROOT / "exporter" / "simulator" / "scenarios" / "demo.yaml").read_text())

# subscriptions is the scope of the other ARM sources, not an update signal of its own. Its failure
# modes are the exporter's: the identity losing access to a configured subscription counts
# errors_total{source="subscriptions",reason="forbidden"}, a failed list turns source_up 0, and both
# are alerted on by alerts/exporter.yaml (AzureUpdateExporterSourceDown, ...DataStale) and shown on
# dashboards/exporter.json (Source up, Errors by reason). So: no alert rules, no dashboard of its own.
NO_ALERTS = {"subscriptions"}
NO_DASHBOARD = {"subscriptions"}

SPECS = all_specs()
NAMES = sorted(SPECS)


def dashed(name: str) -> str:
    return name.replace("_", "-")


def test_the_registry_knows_sources() -> None:
    assert {"subscriptions", "scheduled_events", "vmss_os_upgrades", "azure_stack_updates"} <= set(NAMES)


def test_sources_folder_holds_one_package_per_source_and_nothing_else() -> None:
    entries = {p.name for p in SOURCES_DIR.iterdir() if p.name != "__pycache__"}
    assert entries == {"__init__.py", *NAMES}
    registry = (SOURCES_DIR / "__init__.py").read_text()
    for name in NAMES:
        assert f"from exporter.sources import {name} " in registry, f"{name} not imported by the registry"


@pytest.mark.parametrize("name", NAMES)
def test_source_package_has_the_five_parts_and_only_part_helpers(name: str) -> None:
    package = SOURCES_DIR / name
    files = {p.name for p in package.iterdir() if p.name != "__pycache__"}
    assert files >= CORE_FILES, f"{name}: missing {sorted(CORE_FILES - files)}"
    strays = sorted(f for f in files - CORE_FILES if not HELPER.match(f))
    assert not strays, f"{name}: not a core file or a <part>_<what>.py helper: {strays}"


@pytest.mark.parametrize("name", NAMES)
def test_spec_is_built_from_its_own_package(name: str) -> None:
    spec: AnySpec = SPECS[name]
    assert spec.name == name
    assert spec.fetch.__module__.startswith(f"exporter.sources.{name}."), spec.fetch.__module__
    assert spec.translate.__module__ == f"exporter.sources.{name}.translate"
    assert spec.options_type.__module__ == f"exporter.sources.{name}"
    doc = (SOURCES_DIR / name / "__init__.py").read_text()
    assert doc.startswith('"""'), f"{name}/__init__.py: module docstring with a sample exposition first"
    assert re.search(r"^SPEC(: [^=]+)? = register\(", doc, re.M), f"{name}: SPEC = register(SourceSpec(...))"


@pytest.mark.parametrize("name", NAMES)
def test_simulator_part_exists_and_is_listed(name: str) -> None:
    assert (SIMULATOR_DIR / f"{name}.py").is_file() or (SIMULATOR_DIR / name / "__init__.py").is_file()
    assert name in SIMULATED, f"add {name} to SOURCES in exporter/simulator/sources/__init__.py"


@pytest.mark.parametrize("name", NAMES)
def test_demo_scenario_has_the_section_and_the_spec_a_demo_config(name: str) -> None:
    assert SPECS[name].demo_config is not None, f"{name}: SourceSpec.demo_config (the demo enables it)"
    assert SIMULATED[name].scenario_section in DEMO, f"demo.yaml has no {SIMULATED[name].scenario_section}:"


@pytest.mark.parametrize("name", NAMES)
def test_alerts_file_and_its_promtool_test(name: str) -> None:
    if name in NO_ALERTS:
        pytest.skip(f"{name}: no alert rules of its own (reason above NO_ALERTS)")
    rules = ROOT / "alerts" / f"{dashed(name)}.yaml"
    assert rules.is_file(), rules
    assert (ROOT / "tests" / "alerts" / f"{dashed(name)}.test.yaml").is_file()
    alerts = [
        r["alert"] for g in yaml.safe_load(rules.read_text())["groups"] for r in g["rules"] if "alert" in r
    ]
    assert alerts, f"{rules} has no alert"
    for alert in alerts:
        assert re.search(rf"^#+ {alert}\b", RUNBOOKS_MD, flags=re.MULTILINE), f"runbook section for {alert}"


@pytest.mark.parametrize("name", NAMES)
def test_dashboard(name: str) -> None:
    if name in NO_DASHBOARD:
        pytest.skip(f"{name}: no dashboard of its own (reason above NO_ALERTS)")
    assert (ROOT / "dashboards" / f"{dashed(name)}.json").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_docs_rows(name: str) -> None:
    section = re.search(rf"^## Source `{name}`\n(.*?)(?=^## |\Z)", METRICS_MD, flags=re.MULTILINE | re.DOTALL)
    assert section, f"docs/metrics.md has no '## Source `{name}`' section"
    assert re.search(r"^\| `[a-z_:]+` \|", section.group(1), flags=re.MULTILINE), f"{name}: no metric rows"
    assert re.search(rf"^\| `{name}` \|", CONFIG_MD, flags=re.MULTILINE), f"docs/configuration.md: {name}"


@pytest.mark.parametrize("name", NAMES)
def test_tests_folder(name: str) -> None:
    folder = ROOT / "tests" / "sources" / name
    assert (folder / "__init__.py").is_file(), folder
    assert list(folder.glob("test_*.py")), folder
    assert (ROOT / "tests" / "simulator" / "sources" / f"test_{name}.py").is_file()
