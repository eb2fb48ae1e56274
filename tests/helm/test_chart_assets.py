"""The chart's alerts and dashboards are the repository's files (scripts/sync-chart-assets copies them)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from exporter import __version__
from tests.e2e.harness import rule_files
from tests.helm.chart import CHART, REPO_ROOT

SYNC = REPO_ROOT / "scripts" / "sync-chart-assets"
HINT = "run scripts/sync-chart-assets"


def _names(paths: list[Path]) -> list[str]:
    return sorted(p.name for p in paths)


def test_every_rule_file_is_one_the_chart_reads() -> None:
    # The chart globs files/alerts/*.yaml; a rule file named .yml would be left out of it.
    odd = [p.name for p in rule_files() if p.suffix != ".yaml"]
    assert not odd, f"name rule files alerts/<name>.yaml (the chart reads *.yaml): {odd}"


def test_chart_alerts_equal_repository_alerts() -> None:
    repo = rule_files()
    chart = sorted((CHART / "files" / "alerts").glob("*.yaml"))
    assert repo, "no rule files in alerts/"
    assert _names(chart) == _names(repo), f"chart alerts differ from alerts/*.yaml: {HINT}"
    for path in repo:
        copy = CHART / "files" / "alerts" / path.name
        assert copy.read_bytes() == path.read_bytes(), f"{copy} differs from {path}: {HINT}"


def test_chart_dashboards_equal_repository_dashboards() -> None:
    repo = sorted((REPO_ROOT / "dashboards").glob("*.json"))
    chart = sorted((CHART / "files" / "dashboards").glob("*.json"))
    assert repo, "no dashboards in dashboards/"
    assert _names(chart) == _names(repo), f"chart dashboards differ from dashboards/*.json: {HINT}"
    for path in repo:
        copy = CHART / "files" / "dashboards" / path.name
        assert copy.read_bytes() == path.read_bytes(), f"{copy} differs from {path}: {HINT}"


def test_sync_script_check_agrees() -> None:
    result = subprocess.run([str(SYNC), "--check"], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr


def test_chart_app_version_is_the_exporter_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert chart["appVersion"] == __version__, "bump Chart.yaml appVersion (and version) with the exporter"


def _value_keys(values: dict[str, Any], prefix: str = "") -> list[str]:
    # Leaves of values.yaml; maps that hold Kubernetes or exporter objects count as one value.
    objects = {"config", "resources", "nodeSelector", "affinity", "updateStrategy", "scheduledEvents",
               "podSecurityContext", "securityContext", "livenessProbe", "readinessProbe", "tlsConfig",
               "basicAuth"}  # fmt: skip
    keys = []
    for key, value in values.items():
        if isinstance(value, dict) and value and key not in objects:
            keys += _value_keys(value, f"{prefix}{key}.")
        else:
            keys.append(f"{prefix}{key}")
    return keys


def test_readme_documents_every_value() -> None:
    readme = (CHART / "README.md").read_text(encoding="utf-8")
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    rows = "\n".join(line for line in readme.splitlines() if line.startswith("| `"))
    missing = [
        key
        for key in _value_keys(values)
        if f"`{key}`" not in rows and not (key.startswith("podMonitor.") and "`podMonitor.*`" in rows)
    ]
    assert not missing, f"values missing from the table in {CHART / 'README.md'}: {missing}"
