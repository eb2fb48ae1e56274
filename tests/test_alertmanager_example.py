"""alerts/alertmanager.example.yml: valid for amtool, routes every shipped alert by severity, and
inhibits a stamp's warnings during its update. The inhibition is proven end to end in
tests/e2e/test_azure_stack_updates.py."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import require_binary, rule_files

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "alerts" / "alertmanager.example.yml"
RECEIVER_BY_SEVERITY = {"info": "chat", "critical": "paging", "warning": "default"}


@pytest.fixture(scope="module")
def amtool() -> str:
    return require_binary("amtool")


def _amtool(amtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([amtool, *args], capture_output=True, text=True, timeout=30, check=False)


def _routes_test(amtool: str, receiver: str, labels: dict[str, str]) -> subprocess.CompletedProcess[str]:
    pairs = [f"{k}={v}" for k, v in labels.items()]
    return _amtool(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={EXAMPLE}",
        f"--verify.receivers={receiver}",
        *pairs,
    )


def _shipped_alerts() -> list[dict[str, Any]]:
    alerts = []
    for path in rule_files(ROOT / "alerts"):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups") or []:
            alerts.extend(rule for rule in group.get("rules") or [] if "alert" in rule)
    return alerts


def test_check_config(amtool: str) -> None:
    result = _amtool(amtool, "check-config", str(EXAMPLE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "1 inhibit rules" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        ({"alertname": "AzureStackUpdateSucceeded", "severity": "info", "stamp": "redmond"}, "chat"),
        ({"alertname": "AzureStackUpdateInProgress", "severity": "info", "stamp": "redmond"}, "chat"),
        ({"alertname": "AzureStackUpdateRunFailed", "severity": "critical", "stamp": "redmond"}, "paging"),
        ({"alertname": "AzureStackUpdateApiUnreachable", "severity": "critical"}, "paging"),
        ({"alertname": "AzureStackUpdateApiUnreachable", "severity": "warning"}, "default"),
        ({"alertname": "AzureStackUpdateNeedsAttention", "severity": "warning"}, "default"),
        ({"alertname": "SomethingWithoutSeverity"}, "default"),
    ],
)
def test_routes(amtool: str, labels: dict[str, str], receiver: str) -> None:
    result = _routes_test(amtool, receiver, labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_routes_test_detects_a_wrong_receiver(amtool: str) -> None:
    # Guards the test above: amtool must fail when the route resolves elsewhere.
    result = _routes_test(amtool, "chat", {"severity": "critical"})
    assert result.returncode != 0


@pytest.mark.parametrize("rule", _shipped_alerts(), ids=lambda r: f"{r['alert']}-{r['labels']['severity']}")
def test_every_shipped_alert_routes_by_its_severity(amtool: str, rule: dict[str, Any]) -> None:
    severity = rule["labels"]["severity"]
    result = _routes_test(
        amtool, RECEIVER_BY_SEVERITY[severity], {"alertname": rule["alert"], "severity": severity}
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_inhibition_during_an_update() -> None:
    config = yaml.safe_load(EXAMPLE.read_text())
    [rule] = config["inhibit_rules"]
    assert rule["source_matchers"] == ['alertname="AzureStackUpdateInProgress"']
    assert rule["target_matchers"] == ['severity="warning"', 'alertname!="AzureStackUpdateRunTooLong"']
    assert rule["equal"] == ["platform", "subscription_id", "resource_group", "stamp"]
    # The source alert exists, is not itself a warning, and carries the labels the rule matches on.
    [source] = [r for r in _shipped_alerts() if r["alert"] == "AzureStackUpdateInProgress"]
    assert source["labels"]["severity"] == "info"
    assert "azure_stack_update_in_progress" in source["expr"]


def test_the_success_notification_is_not_repeated_while_it_fires() -> None:
    config = yaml.safe_load(EXAMPLE.read_text())
    [chat] = [r for r in config["route"]["routes"] if r["receiver"] == "chat"]
    hours = int(chat["repeat_interval"].removesuffix("h"))
    [rule] = [r for r in _shipped_alerts() if r["alert"] == "AzureStackUpdateSucceeded"]
    assert "3 * 3600" in rule["expr"]
    assert hours > 3
