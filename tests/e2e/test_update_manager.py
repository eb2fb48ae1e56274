"""Update Manager end to end: a standalone simulator whose maintenance run fails and a later one
succeeds on its virtual clock, the exporter as a real process, a real Prometheus with alerts/*.yaml
and a real Alertmanager.

AzureUpdateManagerInstallationFailed must fire after the failed run and resolve after the
successful one (the clock is driven through ``POST /_sim/clock``).
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
ALERT = "AzureUpdateManagerInstallationFailed"
SCENARIO = {
    "subscriptions": [{"id": SUB, "display_name": "Contoso Production"}],
    "update_manager": {
        "machines": [
            {
                "subscription": SUB,
                "resource_group": "rg-sql",
                "name": "sql-vm-01",
                "patch_mode": "AutomaticByPlatform",
                "bypass": True,
                "assessment": {"status": "Succeeded", "age": 600, "counts": {"security": 2}},
            }
        ],
        "configurations": [
            {
                "subscription": SUB,
                "name": "mc-sql-sunday",
                "start": "2026-01-04 02:00",
                "duration": "03:00",
                "time_zone": "W. Europe Standard Time",
                "recur_every": "Week Sunday",
            }
        ],
        "assignments": [{"configuration": "mc-sql-sunday", "machines": ["sql-vm-01"]}],
        # t=100-110 s: a run that fails one patch; t=1000-1010 s: the next run installs everything.
        "runs": [
            {"configuration": "mc-sql-sunday", "at": 100, "duration": 10, "outcome": "Failed", "failed": 1},
            {
                "configuration": "mc-sql-sunday",
                "at": 1000,
                "duration": 10,
                "outcome": "Succeeded",
                "installed": 3,
            },
        ],
    },
}


@pytest.fixture
def um_simulator(tmp_path: Path) -> Iterator[SimulatorProcess]:
    scenario = tmp_path / "update-manager-scenario.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO))
    sim = SimulatorProcess(tmp_path / "simulator", extra_args=["--scenario", str(scenario)])
    try:
        yield sim.start()
    finally:
        sim.stop()


def test_failed_installation_alert_fires_and_resolves_through_alertmanager(
    tmp_path: Path,
    um_simulator: SimulatorProcess,
    start_exporter: Callable[[ExporterProcess], ExporterProcess],
    alert_rules: list[Path],
    alertmanager: Alertmanager,
    webhook: WebhookSink,
    start_prometheus: Callable[..., Prometheus],
) -> None:
    address = f"{harness.HOST}:{harness.free_port()}"
    config = harness.one_source_config(
        um_simulator.info, address, "update_manager", interval="1s", timeout="1s"
    )
    exp = start_exporter(ExporterProcess.serve(tmp_path / "exporter", config, address))

    prom = start_prometheus([exp.address], rule_files=alert_rules, alertmanager=alertmanager)
    prom.wait_for_target_up(exp.address)
    labels = {
        "subscription_id": SUB,
        "resource_group": "rg-sql",
        "machine": "sql-vm-01",
        "machine_type": "vm",
    }
    prom.wait_for_query('azure_update_manager_machine_pending_patches{machine="sql-vm-01"} == 2')
    assert not [a for a in webhook.alerts() if a["labels"]["alertname"] == ALERT]

    um_simulator.advance_clock(200)  # the first run has failed
    firing = webhook.wait_for_alert(ALERT, "firing", labels=labels)
    assert firing["labels"] == {
        "alertname": ALERT,
        "severity": "warning",
        "job": harness.JOB_NAME,
        "instance": exp.address,
        **labels,
    }
    assert firing["annotations"]["description"].startswith(
        "The latest patch installation on vm machine sql-vm-01 (resource group rg-sql"
    )
    assert firing["annotations"]["runbook_url"].endswith(
        "/docs/runbooks.md#azureupdatemanagerinstallationfailed"
    )
    prom.wait_for_alert("AzureUpdateManagerScheduledRunFailed", "firing")

    um_simulator.advance_clock(900)  # the next run installed everything
    resolved = webhook.wait_for_alert(ALERT, "resolved", labels=labels)
    assert resolved["labels"] == firing["labels"]
    [status] = prom.wait_for_query(
        'azure_update_manager_machine_installation_status{machine="sql-vm-01", status="Succeeded"} == 1'
    )
    assert status["value"][1] == "1"
