"""Static checks of the shipped Grafana dashboards (they must import anywhere: no hard-coded
data source, stable uid, shared tag and freshness row), that they are generated from
exporter_dashboards/, that the SDK reads them back unchanged, and the description and unit rules."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from exporter.core.registry import all_specs
from exporter_dashboards import HAND_WRITTEN, overview
from exporter_dashboards.render import generated, round_trip
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


# --- Built from code (exporter_dashboards/, grafana-foundation-sdk) ---------------------------

GENERATED = generated()
BUILT = [p for p in DASHBOARDS if p.name not in HAND_WRITTEN]


def test_every_dashboard_file_is_generated():
    assert sorted(GENERATED) == sorted(p.name for p in BUILT)


@pytest.mark.parametrize("path", BUILT, ids=lambda p: p.stem)
def test_committed_json_is_the_generated_json(path: Path):
    assert path.read_text() == GENERATED[path.name], (
        f"dashboards/{path.name} differs from exporter_dashboards/: run scripts/build_dashboards.py"
    )


def test_build_script_check_mode():
    script = ROOT / "scripts/build_dashboards.py"
    result = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", BUILT, ids=lambda p: p.stem)
def test_sdk_round_trip_drops_no_key(path: Path):
    """Schema check: the SDK's typed model (dashboard, panel options and field config per panel
    plugin, Prometheus queries) reads the file back and encodes it unchanged. A key the model
    does not know, or a value of the wrong shape, is lost on the way and shows up here."""
    dash = load(path)
    assert round_trip(dash) == dash, _first_difference(dash, round_trip(dash))


def test_round_trip_catches_an_unknown_key():
    dash = load(BUILT[0])
    panel = next(p for p in panels(dash) if p.get("type") == "stat")
    panel["options"]["colourMode"] = "background"  # misspelt: Grafana would ignore it
    assert round_trip(dash) != dash


def _first_difference(a: object, b: object, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in b:
                return f"{path}/{key} dropped"
            if key not in a:
                return f"{path}/{key} added"
            diff = _first_difference(a[key], b[key], f"{path}/{key}")
            if diff:
                return diff
        return ""
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items became {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            diff = _first_difference(x, y, f"{path}/{i}")
            if diff:
                return diff
        return ""
    return "" if a == b else f"{path}: {a!r} became {b!r}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_panel_has_a_description(path: Path):
    missing = [
        p.get("title")
        for p in panels(load(path))
        if p.get("type") != "row" and not p.get("description", "").strip()
    ]
    assert not missing, missing


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_panel_ids_are_unique(path: Path):
    ids = [p["id"] for p in panels(load(path))]
    assert len(ids) == len(set(ids))


# The rule for units. A query *yields a time* when its expression reads a metric whose name ends
# in `_seconds` (a duration, a timestamp, a countdown) or calls `time()`, unless its outermost
# operation is `count` (it then counts series that match a time condition). Such a query yields
#   - a *date* when it reads a `_timestamp_seconds` metric and multiplies by 1000 (Grafana's date
#     units take milliseconds): its unit must be one of Grafana's date units (dateTime*);
#   - else a *duration*: its unit must be one of Grafana's time units in seconds or milliseconds.
# The unit that applies to a query's values is an override of its field (by the table column it
# is renamed to, by `Value #<refId>`, by the frame's refId), else the panel's default unit.
DURATION_UNITS = {"s", "ms", "dtdurations", "dtdurationms", "dthms", "dtdhms", "clocks", "clockms"}
DATE_UNITS = {
    "dateTimeAsIso",
    "dateTimeAsIsoNoDateIfToday",
    "dateTimeAsUS",
    "dateTimeAsUSNoDateIfToday",
    "dateTimeAsLocal",
    "dateTimeAsLocalNoDateIfToday",
    "dateTimeAsSystem",
    "dateTimeFromNow",
}


def time_kind(expr: str) -> str | None:
    if not re.search(r"[a-z0-9_]_seconds\b|\btime\(\)", expr):
        return None
    if re.match(r"^[\s(]*count\b", expr):
        return None
    if re.search(r"_timestamp_seconds\b", expr) and re.search(r"\*\s*1000\b", expr):
        return "date"
    return "duration"


def unit_of(panel: dict, ref: str) -> str | None:
    targets = panel.get("targets", [])
    names = {f"Value #{ref}"} | ({"Value"} if len(targets) == 1 else set())
    for transformation in panel.get("transformations", []):
        renames = transformation.get("options", {}).get("renameByName", {})
        names |= {renames[n] for n in list(names) if n in renames}
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        matcher = override["matcher"]
        if (matcher["id"] == "byName" and matcher["options"] in names) or (
            matcher["id"] == "byFrameRefID" and matcher["options"] == ref
        ):
            for prop in override["properties"]:
                if prop["id"] == "unit":
                    return prop["value"]
    return panel.get("fieldConfig", {}).get("defaults", {}).get("unit")


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_time_and_duration_values_have_a_unit(path: Path):
    wrong = []
    for panel in panels(load(path)):
        for target in panel.get("targets", []):
            kind = time_kind(target.get("expr", ""))
            unit = unit_of(panel, target["refId"])
            if kind == "date" and unit not in DATE_UNITS:
                wrong.append(f"{panel['title']} {target['refId']}: a date shown as {unit!r}")
            if kind == "duration" and unit not in DURATION_UNITS:
                wrong.append(f"{panel['title']} {target['refId']}: a duration shown as {unit!r}")
    assert not wrong, wrong


@pytest.mark.parametrize(
    ("expr", "kind"),
    [
        ("max(time() - x_last_success_timestamp_seconds)", "duration"),
        ("x_refresh_duration_seconds", "duration"),
        ("x_start_timestamp_seconds * 1000", "date"),
        ("count(group by (e) (x_seconds_until_not_before < 3600)) or vector(0)", None),
        ("sum(x_instances)", None),
    ],
)
def test_time_kind_rule(expr: str, kind: str | None):
    assert time_kind(expr) == kind


def test_unit_rule_catches_a_missing_unit():
    dash = load(ROOT / "dashboards/exporter.json")
    panel = next(p for p in panels(dash) if p.get("title") == "Data age")
    assert time_kind(panel["targets"][0]["expr"]) == "duration"
    assert unit_of(panel, "A") == "s"
    panel["fieldConfig"]["defaults"]["unit"] = "short"
    assert unit_of(panel, "A") not in DURATION_UNITS


def test_every_source_has_a_row_in_the_overview():
    rows = {row.source for row in overview.SOURCES}
    assert set(all_specs()) <= rows, "add a SourceRow to exporter_dashboards/overview.py"


def test_overview_links_to_existing_dashboards():
    uids = {load(p)["uid"] for p in DASHBOARDS}
    for row in overview.SOURCES:
        if row.dashboard_uid is not None:
            assert row.dashboard_uid in uids, row


METRIC = re.compile(r"\b(azure_[a-z0-9_]+)\b")


def _metrics(exprs: list[str]) -> set[str]:
    return {name for expr in exprs for name in METRIC.findall(expr)}


def _source_row_exprs(row: overview.SourceRow) -> list[str]:
    return [h.expr for h in row.headlines] + [c.expr for c in row.columns] + [row.inventory or ""]


def test_every_metric_a_dashboard_reads_is_documented():
    """Names in queries exist (docs/metrics.md lists every metric the exporter exposes). The
    overview's rows for sources not registered yet (built on other branches) use the names their
    issues give; once such a source is registered, its names are checked too."""
    metrics_doc = (ROOT / "docs/metrics.md").read_text()
    registered = set(all_specs())
    assumed = set()
    for row in overview.SOURCES:
        if row.source not in registered:
            assumed |= _metrics(_source_row_exprs(row))
    undocumented = {}
    for path in DASHBOARDS:
        names = _metrics([expr for _, expr in queries(load(path))]) - assumed
        missing = sorted(n for n in names if f"`{n}`" not in metrics_doc)
        if missing:
            undocumented[path.name] = missing
    assert not undocumented, undocumented
