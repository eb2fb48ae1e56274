"""Self-tests of the e2e harness, independent of the exporter.

The e2e test proves Prometheus -> rules -> Alertmanager -> webhook with a static /metrics
endpoint, so a failure in test_alert_pipeline.py points at the exporter or its rules, not here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.e2e import harness
from tests.e2e.harness import Alertmanager, Prometheus, StaticMetricsServer, WebhookSink

SELFTEST_RULES = """\
groups:
  - name: harness
    rules:
      - alert: HarnessSelfTest
        expr: harness_selftest_value{job=~".*azure-update-exporter.*"} > 0
        for: 10m
        labels:
          severity: info
        annotations:
          summary: Harness self-test.
          description: "{{ $labels.instance }} reports {{ $value }}."
"""


def test_load_rules_rewrites_only_for(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "selftest.yaml").write_text(SELFTEST_RULES)
    (src / "alertmanager.yml").write_text("route: {receiver: x}\n")
    (src / "notes.txt").write_text("not rules\n")

    copies = harness.load_rules(tmp_path / "out", source_dir=src, for_override="1s")

    assert [p.name for p in copies] == ["selftest.yaml"]
    original = yaml.safe_load(SELFTEST_RULES)["groups"][0]["rules"][0]
    rewritten = yaml.safe_load(copies[0].read_text())["groups"][0]["rules"][0]
    assert rewritten["for"] == "1s"
    assert {k: v for k, v in rewritten.items() if k != "for"} == {
        k: v for k, v in original.items() if k != "for"
    }


def test_load_rules_without_override_copies_verbatim(tmp_path: Path) -> None:
    copies = harness.load_rules(tmp_path / "out")
    assert copies, "alerts/ holds no rule files"
    for copy in copies:
        assert copy.read_text() == (harness.ALERTS_DIR / copy.name).read_text()


def test_missing_binary_fails_with_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", os.devnull)
    with pytest.raises(pytest.fail.Exception, match="apt-get install prometheus prometheus-alertmanager"):
        harness.require_binary("alertmanager")


@pytest.mark.e2e
def test_alert_fires_and_resolves_through_alertmanager(
    tmp_path: Path,
    webhook: WebhookSink,
    alertmanager: Alertmanager,
    start_prometheus: Callable[..., Prometheus],
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "selftest.yaml").write_text(SELFTEST_RULES)
    rules = harness.load_rules(tmp_path / "rules", source_dir=src, for_override="1s")
    metrics = StaticMetricsServer(value=1).start()
    try:
        prom = start_prometheus([metrics.address], rule_files=rules, alertmanager=alertmanager)
        prom.wait_for_target_up(metrics.address)
        [sample] = prom.wait_for_query("harness_selftest_value")
        assert sample["metric"] == {
            "__name__": "harness_selftest_value",
            "job": harness.JOB_NAME,
            "instance": metrics.address,
        }
        assert sample["value"][1] == "1"

        prom.wait_for_alert("HarnessSelfTest", "firing")
        firing = webhook.wait_for_alert("HarnessSelfTest", "firing")
        assert firing["labels"] == {
            "alertname": "HarnessSelfTest",
            "severity": "info",
            "job": harness.JOB_NAME,
            "instance": metrics.address,
        }
        assert firing["annotations"]["description"] == f"{metrics.address} reports 1."
        assert not [a for a in webhook.alerts() if a["status"] == "resolved"]

        metrics.value = 0
        resolved = webhook.wait_for_alert("HarnessSelfTest", "resolved")
        assert resolved["labels"] == firing["labels"]
    finally:
        metrics.stop()
