"""Static checks of the shipped Grafana dashboards (they must import anywhere: no hard-coded
data source, stable uid, shared tag and freshness row)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.dashboards import DASHBOARDS, ROOT, concrete, load, panels, queries

DOCS = (ROOT / "docs/dashboards.md").read_text()


def test_there_are_dashboards():
    assert any(p.name == "exporter.json" for p in DASHBOARDS)


def test_uids_are_unique():
    uids = [load(p)["uid"] for p in DASHBOARDS]
    assert len(uids) == len(set(uids))


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_conventions(path: Path):
    dash = load(path)
    assert dash["uid"].startswith("azure-update-")
    assert dash["title"].startswith("Azure Update / ")
    assert "azure-update-exporter" in dash["tags"]
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in panels(dash):
        if panel.get("type") == "row":
            continue
        assert panel.get("datasource", {}).get("uid") == "${datasource}", panel.get("title")
        for target in panel.get("targets", []):
            if "datasource" in target:
                assert target["datasource"].get("uid") == "${datasource}", panel.get("title")
    # No data source uid is hard-coded anywhere in the file.
    # "-- Grafana --" is Grafana's built-in annotation source, present in every install.
    uids = set(_walk_uids(dash))
    assert uids <= {"${datasource}", "-- Grafana --"}, uids


def _walk_uids(node: object):
    if isinstance(node, dict):
        ds = node.get("datasource")
        if isinstance(ds, dict) and "uid" in ds:
            yield ds["uid"]
        if isinstance(ds, str) and ds not in ("${datasource}", "$datasource"):
            yield ds
        for value in node.values():
            yield from _walk_uids(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_uids(value)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_has_a_freshness_panel(path: Path):
    exprs = " ".join(expr for _, expr in queries(load(path)))
    assert "azure_update_exporter_source_up" in exprs or "source_last_success_timestamp_seconds" in exprs


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_queries_parse(path: Path, tmp_path: Path):
    """Every query, variables substituted, is valid PromQL (checked by promtool via a rules file)."""
    rules = [
        {"record": f"dashboard:query:{i}", "expr": concrete(expr)}
        for i, (_, expr) in enumerate(queries(load(path)))
    ]
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        ["promtool", "check", "rules", str(rules_file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_is_documented(path: Path):
    assert f"`dashboards/{path.name}`" in DOCS
    assert f"`{load(path)['uid']}`" in DOCS
