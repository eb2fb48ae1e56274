"""Arc agents end to end: a standalone simulator whose estate runs on its virtual clock, the exporter
as a real process, a real Prometheus with alerts/*.yaml and a real Alertmanager.

AzureArcAgentOutOfSupport must fire when srv-sql-01's agent (1.56, released September 2025) crosses
its end of support (2026-09-01) on the simulator's clock, and resolve once the machine is upgraded to
1.67. The exporter judges support at Resource Graph's now(), so the clock is driven through
``POST /_sim/clock`` and nothing waits for real days to pass.
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
ALERT = "AzureArcAgentOutOfSupport"
SQL = {"subscription_id": SUB, "resource_group": "rg-arc-onprem", "machine": "srv-sql-01"}
SCENARIO = {
    "start_time": "2026-08-31T23:55:00+00:00",  # 5 minutes before 1.56 goes out of support
    "subscriptions": [{"id": SUB, "display_name": "Contoso Production"}],
    "arc_agents": {
        "machines": [
            {
                "subscription": SUB,
                "resource_group": "rg-arc-onprem",
                "name": "srv-sql-01",
                "version": "1.56.03167.2465",
                "automatic_upgrade": True,
                "changes": [
                    {"at": 1800, "version": "1.67.03504.3207", "last_attempt": {"status": "Success"}}
                ],
            },
            {"subscription": SUB, "resource_group": "rg-arc-onprem", "name": "srv-web-07", "version": "1.66"},
        ]
    },
}


@pytest.fixture
def arc_simulator(tmp_path: Path) -> Iterator[SimulatorProcess]:
    scenario = tmp_path / "arc-scenario.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO))
    sim = SimulatorProcess(tmp_path / "simulator", extra_args=["--scenario", str(scenario)])
    try:
        yield sim.start()
    finally:
        sim.stop()


def test_out_of_support_alert_fires_at_support_end_and_resolves_after_upgrade(
    tmp_path: Path,
    arc_simulator: SimulatorProcess,
    start_exporter: Callable[[ExporterProcess], ExporterProcess],
    alert_rules: list[Path],
    alertmanager: Alertmanager,
    webhook: WebhookSink,
    start_prometheus: Callable[..., Prometheus],
) -> None:
    address = f"{harness.HOST}:{harness.free_port()}"
    config = harness.one_source_config(arc_simulator.info, address, "arc_agents", interval="1s", timeout="1s")
    exp = start_exporter(ExporterProcess.serve(tmp_path / "exporter", config, address))

    prom = start_prometheus([exp.address], rule_files=alert_rules, alertmanager=alertmanager)
    prom.wait_for_target_up(exp.address)
    prom.wait_for_query('azure_arc_agent_supported{machine="srv-sql-01"} == 1')
    [end] = prom.wait_for_query('azure_arc_agent_support_end_timestamp_seconds{machine="srv-sql-01"}')
    assert float(end["value"][1]) == 1788220800  # 2026-09-01T00:00:00Z = September 2025 + 365 days
    assert not [a for a in webhook.alerts() if a["labels"]["alertname"] == ALERT]

    arc_simulator.advance_clock(600)  # 2026-09-01 00:05 on the simulator's clock: past the end of support
    firing = webhook.wait_for_alert(ALERT, "firing", labels=SQL)
    assert firing["labels"] == {
        "alertname": ALERT,
        "severity": "warning",
        "job": harness.JOB_NAME,
        "instance": exp.address,
        **SQL,
    }
    annotations = firing["annotations"]
    assert "runs agent 1.56, released more than a year ago" in annotations["description"]
    assert annotations["runbook_url"].endswith("/docs/runbooks.md#azurearcagentoutofsupport")
    alerts = [a["labels"] for a in webhook.alerts() if a["labels"]["alertname"] == ALERT]
    assert {labels["machine"] for labels in alerts} == {"srv-sql-01"}  # srv-web-07 (1.66) is supported

    arc_simulator.advance_clock(1300)  # past 1,800 s: automatic upgrade installed 1.67
    resolved = webhook.wait_for_alert(ALERT, "resolved", labels=SQL)
    assert resolved["labels"] == firing["labels"]
    [version] = prom.wait_for_query(
        'azure_arc_agent_version_info{machine="srv-sql-01", agent_version="1.67"}'
    )
    assert version["metric"]["agent_build"] == "1.67.03504.3207"
    [up] = prom.wait_for_query('azure_update_exporter_source_up{source="arc_agents"}')
    assert up["value"][1] == "1"
