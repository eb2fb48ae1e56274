"""VMSS OS upgrades end to end: a standalone simulator whose upgrade fails on its virtual clock, the
exporter as a real process, a real Prometheus with alerts/*.yaml and a real Alertmanager.

AzureVmssOsUpgradeFailedInstances must fire while the simulated upgrade has failed instances and
resolve once the platform's retry replaces it (the clock is driven through ``POST /_sim/clock``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e import harness
from tests.e2e.harness import Alertmanager, ExporterProcess, Prometheus, SimulatorProcess, WebhookSink

pytestmark = pytest.mark.e2e

SUB = "6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10"
ALERT = "AzureVmssOsUpgradeFailedInstances"
SCENARIO = {
    "subscriptions": [{"id": SUB, "display_name": "Contoso Production"}],
    "vmss": {
        "scale_sets": [
            {
                "subscription": SUB,
                "resource_group": "rg-web-prod",
                "name": "vmss-web-prod",
                "capacity": 10,
                # batch 0 (t 0-60 s) upgrades fine, batch 1 leaves 2 failed instances and the upgrade
                # Faults at t=120 s; the platform's retry starts at t=720 s with no failures.
                "upgrade": {
                    "batch_seconds": 60,
                    "outcome": "faulted",
                    "fail_batch": 1,
                    "failed_instances": 2,
                    "recover_after": 600,
                },
            },
            {
                "subscription": SUB,
                "resource_group": "rg-batch",
                "name": "vmss-batch",
                "mode": "Manual",
                "automatic_os_upgrade": None,
            },
        ]
    },
}


@pytest.fixture
def vmss_simulator(tmp_path: Path) -> Iterator[SimulatorProcess]:
    scenario = tmp_path / "vmss-scenario.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO))
    sim = SimulatorProcess(tmp_path / "simulator", extra_args=["--scenario", str(scenario)])
    try:
        yield sim.start()
    finally:
        sim.stop()


def test_failed_instances_alert_fires_and_resolves_through_alertmanager(
    tmp_path: Path,
    vmss_simulator: SimulatorProcess,
    start_exporter: Callable[[ExporterProcess], ExporterProcess],
    alert_rules: list[Path],
    alertmanager: Alertmanager,
    webhook: WebhookSink,
    start_prometheus: Callable[..., Prometheus],
) -> None:
    address = f"{harness.HOST}:{harness.free_port()}"
    config = harness.one_source_config(
        vmss_simulator.info, address, "vmss_os_upgrades", interval="1s", timeout="1s"
    )
    exp = start_exporter(ExporterProcess.serve(tmp_path / "exporter", config, address))

    prom = start_prometheus([exp.address], rule_files=alert_rules, alertmanager=alertmanager)
    prom.wait_for_target_up(exp.address)
    labels = {"subscription_id": SUB, "resource_group": "rg-web-prod", "vmss": "vmss-web-prod"}
    prom.wait_for_query('azure_vmss_os_upgrade_instances{vmss="vmss-web-prod", state="in_progress"} > 0')
    assert not [a for a in webhook.alerts() if a["labels"]["alertname"] == ALERT]

    vmss_simulator.advance_clock(150)  # batch 1 failed: Faulted with 2 failed instances
    firing = webhook.wait_for_alert(ALERT, "firing", labels=labels)
    assert firing["labels"] == {
        "alertname": ALERT,
        "severity": "critical",
        "job": harness.JOB_NAME,
        "instance": exp.address,
        **labels,
    }
    annotations = firing["annotations"]
    assert annotations["description"].startswith("2 instance(s) of scale set vmss-web-prod (resource group")
    assert annotations["runbook_url"].endswith("/docs/runbooks.md#azurevmssosupgradefailedinstances")
    prom.wait_for_alert("AzureVmssOsUpgradeFaulted", "firing", labels=labels)

    vmss_simulator.advance_clock(700)  # the platform's retry is rolling forward without failures
    resolved = webhook.wait_for_alert(ALERT, "resolved", labels=labels)
    assert resolved["labels"] == firing["labels"]
    [up] = prom.wait_for_query('azure_update_exporter_source_up{source="vmss_os_upgrades"}')
    assert up["value"][1] == "1"
