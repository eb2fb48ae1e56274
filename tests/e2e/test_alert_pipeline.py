"""The exporter as a real process, scraped by a real Prometheus, alerting through a real Alertmanager.

Needs the Debian ``prometheus`` and ``prometheus-alertmanager`` packages; without them these tests
fail (CI must run them). Rules are loaded from ``alerts/*.yaml`` with every ``for:`` shortened to
``conftest.E2E_FOR``; nothing else about them changes.
"""

from __future__ import annotations

import platform
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import exporter
from tests.e2e import harness
from tests.e2e.harness import (
    Alertmanager,
    ExporterProcess,
    Prometheus,
    SimulatorProcess,
    WebhookSink,
)

pytestmark = pytest.mark.e2e

RUNBOOK_URL_PREFIX = (
    "https://github.com/azure-update-exporter/azure-update-exporter/blob/main/docs/runbooks.md#"
)
# Short refreshes so a fault shows in source_up within seconds.
REFRESH_INTERVAL = "2s"


def _exporter_rule(alertname: str) -> dict:
    document = yaml.safe_load((harness.ALERTS_DIR / "exporter.yaml").read_text())
    return next(r for g in document["groups"] for r in g["rules"] if r.get("alert") == alertname)


def test_prometheus_scrapes_demo_exporter(
    demo_exporter: ExporterProcess, start_prometheus: Callable[..., Prometheus]
) -> None:
    prom = start_prometheus([demo_exporter.address])
    prom.wait_for_target_up(demo_exporter.address)

    [build_info] = prom.wait_for_query("azure_update_exporter_build_info")
    labels = build_info["metric"]
    assert labels["job"] == harness.JOB_NAME
    assert labels["instance"] == demo_exporter.address
    assert labels["version"] == exporter.__version__
    assert labels["python_version"] == platform.python_version()
    assert "revision" in labels
    assert build_info["value"][1] == "1"

    # /readyz means every enabled source refreshed once; against the demo estate they succeed.
    up = prom.wait_for_query("azure_update_exporter_source_up")
    assert {s["metric"]["source"]: s["value"][1] for s in up} == {s["metric"]["source"]: "1" for s in up}


def test_demo_metrics_pass_promtool_check_metrics(
    demo_exporter: ExporterProcess, binaries: dict[str, str]
) -> None:
    exposition = demo_exporter.metrics()
    assert "azure_update_exporter_build_info" in exposition
    result = subprocess.run(
        [binaries["promtool"], "check", "metrics"],
        input=exposition,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_source_down_alert_fires_and_resolves_through_alertmanager(
    tmp_path: Path,
    simulator: SimulatorProcess,
    start_exporter: Callable[[ExporterProcess], ExporterProcess],
    alert_rules: list[Path],
    alertmanager: Alertmanager,
    webhook: WebhookSink,
    start_prometheus: Callable[..., Prometheus],
) -> None:
    from exporter.demo import simulator_config

    address = f"{harness.HOST}:{harness.free_port()}"
    config = simulator_config(simulator.info, address)
    # No SDK retries: a faulted request fails the refresh at once instead of after back-off.
    config["azure"]["retry_total"] = 0
    for source in config["sources"].values():
        source["interval"] = REFRESH_INTERVAL
        source["timeout"] = REFRESH_INTERVAL  # at most the interval (check-config)
    # The Resource Graph sources at this interval would spend the simulated per-user quota, so the
    # 503s below would be counted as throttling instead; this test is about the alert path.
    for name in ("arc_agents", "update_manager"):
        config["sources"][name] = {"enabled": False}
    exp = start_exporter(ExporterProcess.serve(tmp_path / "exporter", config, address))

    prom = start_prometheus([exp.address], rule_files=alert_rules, alertmanager=alertmanager)
    prom.wait_for_target_up(exp.address)
    prom.wait_for_query("azure_update_exporter_source_up == 1")
    assert not [a for a in webhook.alerts() if a["labels"]["alertname"] == "AzureUpdateExporterSourceDown"]

    simulator.inject_fault("arm.*", "status", status=503)
    firing = webhook.wait_for_alert("AzureUpdateExporterSourceDown", "firing")
    source = firing["labels"]["source"]
    assert firing["labels"] == {
        "alertname": "AzureUpdateExporterSourceDown",
        "severity": "warning",
        "job": harness.JOB_NAME,
        "instance": exp.address,
        "source": source,
    }
    annotations = firing["annotations"]
    assert annotations["summary"] == _exporter_rule("AzureUpdateExporterSourceDown")["annotations"]["summary"]
    assert annotations["description"].startswith(f"Source {source} on {exp.address} has failed")
    assert annotations["runbook_url"] == RUNBOOK_URL_PREFIX + "azureupdateexportersourcedown"
    # The 503s are counted under the documented reason.
    prom.wait_for_query(
        f'azure_update_exporter_source_errors_total{{source="{source}", reason="server_error"}} > 0',
        timeout=10,
    )

    simulator.clear_faults()
    resolved = webhook.wait_for_alert("AzureUpdateExporterSourceDown", "resolved", labels={"source": source})
    assert resolved["labels"] == firing["labels"]
