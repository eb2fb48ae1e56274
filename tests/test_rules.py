"""Alert rules: promtool lint and unit tests, and meta-tests over every alert in alerts/.

Generic on purpose: a new ``alerts/<source>.yaml`` with its ``tests/alerts/<source>.test.yaml`` and
its ``docs/runbooks.md`` sections is picked up without touching this file. promtool comes from the
Debian ``prometheus`` package; without it these tests fail (they must run in CI).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import require_binary, rule_files

REPO_ROOT = Path(__file__).resolve().parents[1]
ALERTS_DIR = REPO_ROOT / "alerts"
ALERT_TESTS_DIR = REPO_ROOT / "tests" / "alerts"
RUNBOOKS = REPO_ROOT / "docs" / "runbooks.md"

RUNBOOK_URL_PREFIX = (
    "https://github.com/azure-update-exporter/azure-update-exporter/blob/main/docs/runbooks.md#"
)
SEVERITIES = {"info", "warning", "critical"}
JOB_SELECTOR = 'job=~".*azure-update-exporter.*"'
ALERT_NAME = re.compile(r"^Azure[A-Z][A-Za-z0-9]*$")

RULE_FILES = rule_files(ALERTS_DIR)
TEST_FILES = sorted([*ALERT_TESTS_DIR.glob("*.test.yaml"), *ALERT_TESTS_DIR.glob("*.test.yml")])


def _alerts() -> list[tuple[Path, dict[str, Any]]]:
    alerts = []
    for path in RULE_FILES:
        document = yaml.safe_load(path.read_text()) or {}
        for group in document.get("groups") or []:
            alerts.extend((path, rule) for rule in group.get("rules") or [] if "alert" in rule)
    return alerts


ALERTS = _alerts()
ALERT_IDS = [rule["alert"] for _, rule in ALERTS]


def _alert_rule_tests() -> list[tuple[Path, dict[str, Any]]]:
    cases = []
    for path in TEST_FILES:
        document = yaml.safe_load(path.read_text()) or {}
        for test in document.get("tests") or []:
            cases.extend((path, case) for case in test.get("alert_rule_test") or [])
    return cases


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _runbook_anchors() -> set[str]:
    anchors, fenced = set(), False
    for line in RUNBOOKS.read_text().splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
        if match and not fenced:
            anchors.add(github_anchor(match.group(1)))
    return anchors


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool")


def _run(argv: list[str], cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=60, check=False)


def test_rule_files_and_tests_exist() -> None:
    # Guards the parametrized tests below against silently collecting nothing.
    assert RULE_FILES, f"no rule files in {ALERTS_DIR}"
    assert TEST_FILES, f"no *.test.yaml in {ALERT_TESTS_DIR}"
    assert ALERTS, "no alerting rules found"


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_promtool_check_rules(promtool: str, path: Path) -> None:
    result = _run([promtool, "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_promtool_test_rules(promtool: str, path: Path) -> None:
    # rule_files inside a test file are relative to the test file's directory.
    result = _run([promtool, "test", "rules", path.name], cwd=path.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_names_are_unique_per_severity() -> None:
    # One name may appear at two severities (two thresholds, node-mixin style), never twice at one.
    keys = [(r["alert"], (r.get("labels") or {}).get("severity")) for _, r in ALERTS]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    assert not duplicates, f"alert (name, severity) defined more than once: {duplicates}"


@pytest.mark.parametrize(("path", "rule"), ALERTS, ids=ALERT_IDS)
def test_alert_labels_and_annotations(path: Path, rule: dict[str, Any]) -> None:
    name = rule["alert"]
    assert ALERT_NAME.match(name), f"{name}: alert names are CamelCase with the Azure domain prefix"
    severity = (rule.get("labels") or {}).get("severity")
    assert severity in SEVERITIES, f"{name} in {path.name}: severity {severity!r} not in {sorted(SEVERITIES)}"

    annotations = rule.get("annotations") or {}
    missing = sorted({"summary", "description", "runbook_url"} - set(annotations))
    assert not missing, f"{name} in {path.name}: missing annotations {missing}"
    assert annotations["summary"].strip(), f"{name}: empty summary"
    assert "{{" not in annotations["summary"], (
        f"{name}: summary is fixed text; templating goes in description"
    )
    assert "{{" in annotations["description"], f"{name}: description should be templated with the labels"
    assert annotations["runbook_url"] == RUNBOOK_URL_PREFIX + name.lower(), (
        f"{name}: runbook_url must be {RUNBOOK_URL_PREFIX}{name.lower()}"
    )


@pytest.mark.parametrize(("path", "rule"), ALERTS, ids=ALERT_IDS)
def test_alert_uses_job_selector(path: Path, rule: dict[str, Any]) -> None:
    # The job-label contract: the chart renders its selector in place of this one.
    assert JOB_SELECTOR in rule["expr"], f"{rule['alert']} in {path.name}: expr must select {JOB_SELECTOR}"


@pytest.mark.parametrize(("path", "rule"), ALERTS, ids=ALERT_IDS)
def test_alert_has_runbook_section(path: Path, rule: dict[str, Any]) -> None:
    name = rule["alert"]
    assert name.lower() in _runbook_anchors(), f"{name}: add a '## {name}' section to docs/runbooks.md"


@pytest.mark.parametrize(("path", "rule"), ALERTS, ids=ALERT_IDS)
def test_alert_has_positive_and_negative_promtool_cases(path: Path, rule: dict[str, Any]) -> None:
    name = rule["alert"]
    cases = [case for _, case in _alert_rule_tests() if case.get("alertname") == name]
    positive = [case for case in cases if case.get("exp_alerts")]
    negative = [case for case in cases if not case.get("exp_alerts")]
    assert positive, f"{name}: no promtool case in tests/alerts/ where it fires"
    assert negative, (
        f"{name}: no promtool case in tests/alerts/ where it does not fire (at `for` minus a step)"
    )
    for case in positive:
        for expected in case["exp_alerts"]:
            assert (expected.get("exp_labels") or {}).get("severity"), (
                f"{name}: positive case lacks exp_labels"
            )
            annotations = set(expected.get("exp_annotations") or {})
            assert {"summary", "description", "runbook_url"} <= annotations, (
                f"{name}: a positive case must assert summary, description and runbook_url"
            )
