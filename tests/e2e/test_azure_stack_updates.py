"""Azure Stack updates end to end: a standalone simulator whose update runs move on its virtual clock
(driven through ``POST /_sim/clock``), the exporter as a real process, a real Prometheus with
alerts/*.yaml (``for:`` shortened) and a real Alertmanager running alerts/alertmanager.example.yml
with its three receivers pointed at webhook sinks and its grouping timers shortened.

- A simulated success reaches the chat receiver; a simulated failure reaches the paging receiver;
  a warning for a stamp that is updating is inhibited, and delivered once the update has ended.
- With the only Hub stamp's admin API dark mid-update, the refresh fails, the critical
  AzureStackUpdateApiUnreachable reaches the paging receiver, and resolves when the API is back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter.core.registry import all_specs
from exporter.demo import simulator_config
from tests.e2e import harness
from tests.e2e.harness import Alertmanager, ExporterProcess, Prometheus, SimulatorProcess, WebhookSink

pytestmark = pytest.mark.e2e

EXAMPLE = harness.ALERTS_DIR / "alertmanager.example.yml"
RUNBOOK = "https://github.com/azure-update-exporter/azure-update-exporter/blob/main/docs/runbooks.md#"
RECEIVERS = ("default", "chat", "paging")
NORTH_RUNNING = {"name": "Microsoft1.2408.0.19", "runs": [{"start": -600, "seconds": 1200}]}  # ends at t=600
INSTALLED = {"name": "Microsoft1.2406.1.23", "runs": [{"start": -2592000, "seconds": 36000}]}
ROUTING_SCENARIO: dict[str, Any] = {
    "identity": {"token_lifetime_seconds": 86400},
    "azure_stack": {
        "hub": [
            {
                "region": "north",
                "current_version": "1.2406.1.23",
                "last_updated": -2592000,
                # An update that cannot download: a warning, inhibited while north updates.
                "updates": [
                    INSTALLED,
                    NORTH_RUNNING,
                    {"name": "Microsoft1.2408.1.50", "state": "DownloadFailed"},
                ],
            },
            {
                "region": "south",
                "api_versions": ["2016-05-01"],  # a legacy stamp
                "updates": [
                    {
                        "name": "Microsoft1.2408.0.19",
                        "runs": [{"start": -600, "seconds": 1200, "fail_at": "Verify Cloud Health"}],  # t=600
                    }
                ],
            },
        ]
    },
}
OUTAGE_SCENARIO: dict[str, Any] = {
    "identity": {"token_lifetime_seconds": 86400},
    "azure_stack": {
        "hub": [
            {
                "region": "north",
                "updates": [
                    INSTALLED,
                    {"name": "Microsoft1.2408.0.19", "runs": [{"start": -600, "seconds": 36000}]},
                ],
                "outages": [{"start": 1800, "seconds": 1800, "status": 503}],
            }
        ]
    },
}


class ExampleAlertmanager(Alertmanager):
    """The shipped example (routes, inhibition, repeat intervals) with webhook sinks as receivers."""

    def __init__(self, workdir: Path, sinks: dict[str, WebhookSink], binary: str) -> None:
        super().__init__(workdir, sinks["default"].url, binary=binary)
        self.sinks = sinks

    def config(self) -> dict[str, Any]:
        config = yaml.safe_load(EXAMPLE.read_text())
        config["route"] |= {"group_wait": "1s", "group_interval": "1s"}
        receivers = []
        for receiver in config["receivers"]:
            [settings] = [c for key, cfgs in receiver.items() if key.endswith("_configs") for c in cfgs]
            url = self.sinks[receiver["name"]].url
            hook = {"url": url, "send_resolved": settings.get("send_resolved", True)}
            receivers.append({"name": receiver["name"], "webhook_configs": [hook]})
        config["receivers"] = receivers
        return config


@pytest.fixture
def sinks() -> Iterator[dict[str, WebhookSink]]:
    started = {name: WebhookSink().start() for name in RECEIVERS}
    yield started
    for sink in started.values():
        sink.stop()


@pytest.fixture
def example_alertmanager(
    binaries: dict[str, str], sinks: dict[str, WebhookSink], tmp_path: Path
) -> Iterator[ExampleAlertmanager]:
    am = ExampleAlertmanager(tmp_path / "alertmanager", sinks, binaries["alertmanager"])
    try:
        am.start()
        yield am
    finally:
        am.stop()


def start_simulator(tmp_path: Path, scenario: dict[str, Any]) -> SimulatorProcess:
    path = tmp_path / "azure-stack-scenario.yaml"
    path.write_text(yaml.safe_dump(scenario))
    return SimulatorProcess(tmp_path / "simulator", extra_args=["--scenario", str(path)]).start()


@pytest.fixture
def simulators(tmp_path: Path) -> Iterator[Callable[[dict[str, Any]], SimulatorProcess]]:
    started: list[SimulatorProcess] = []

    def start(scenario: dict[str, Any]) -> SimulatorProcess:
        started.append(start_simulator(tmp_path, scenario))
        return started[-1]

    yield start
    for sim in started:
        sim.stop()


def exporter_config(
    sim: SimulatorProcess, address: str, regions: tuple[str, ...], interval: str
) -> dict[str, Any]:
    config = simulator_config(sim.info, address)
    config["azure"]["retry_total"] = 0  # a dark API fails a refresh at once, not after back-off
    config["sources"] = {name: {"enabled": False} for name in all_specs()}
    config["sources"]["azure_stack_updates"] = {
        "enabled": True,
        "interval": interval,
        "timeout": interval,  # at most the interval (check-config)
        "hub_admin_endpoints": [f"{sim.base_url}/azurestack/{r}" for r in regions],
        "local_enabled": False,
    }
    return config


def names(sink: WebhookSink) -> set[str]:
    return {a["labels"]["alertname"] for a in sink.alerts()}


def test_success_to_chat_failure_to_paging_and_maintenance_inhibition(
    tmp_path: Path,
    simulators: Callable[[dict[str, Any]], SimulatorProcess],
    start_exporter: Callable[[ExporterProcess], ExporterProcess],
    alert_rules: list[Path],
    example_alertmanager: ExampleAlertmanager,
    sinks: dict[str, WebhookSink],
    start_prometheus: Callable[..., Prometheus],
) -> None:
    sim = simulators(ROUTING_SCENARIO)
    address = f"{harness.HOST}:{harness.free_port()}"
    config = exporter_config(sim, address, ("north", "south"), "1s")
    exp = start_exporter(ExporterProcess.serve(tmp_path / "exporter", config, address))
    prom = start_prometheus([exp.address], rule_files=alert_rules, alertmanager=example_alertmanager)
    prom.wait_for_target_up(exp.address)

    # Both stamps update; north has a DownloadFailed update: its warning is inhibited, not sent.
    prom.wait_for_alert("AzureStackUpdateNeedsAttention", labels={"stamp": "north"})

    def inhibited() -> dict[str, Any] | None:
        for alert in example_alertmanager.alerts():
            if alert["labels"].get("alertname") == "AzureStackUpdateNeedsAttention":
                status = alert["status"]
                return alert if status["state"] == "suppressed" and status["inhibitedBy"] else None
        return None

    harness.wait_until(
        inhibited, "AzureStackUpdateNeedsAttention to be inhibited in Alertmanager", timeout=20
    )
    sinks["chat"].wait_for_alert("AzureStackUpdateInProgress", labels={"stamp": "north"}, timeout=20)
    assert "AzureStackUpdateNeedsAttention" not in names(sinks["default"])

    sim.advance_clock(900)  # north's run succeeds at t=600, south's fails at its last step at t=600

    success = sinks["chat"].wait_for_alert("AzureStackUpdateSucceeded", labels={"stamp": "north"})
    assert success["labels"] == {
        "alertname": "AzureStackUpdateSucceeded",
        "severity": "info",
        "job": harness.JOB_NAME,
        "instance": exp.address,
        "platform": "hub",
        # The simulator's Default Provider Subscription of the region, and System.{region}.
        "subscription_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "azurestack:north")),
        "resource_group": "system.north",
        "stamp": "north",
    }
    assert success["annotations"]["summary"] == "An Azure Stack update completed successfully."
    assert success["annotations"]["description"].endswith("it now runs version 1.2408.0.19.")
    assert success["annotations"]["runbook_url"] == RUNBOOK + "azurestackupdatesucceeded"

    failure = sinks["paging"].wait_for_alert("AzureStackUpdateRunFailed", labels={"stamp": "south"})
    assert {k: failure["labels"][k] for k in ("severity", "platform", "stamp", "update", "state")} == {
        "severity": "critical",
        "platform": "hub",
        "stamp": "south",
        "update": "Microsoft1.2408.0.19",
        "state": "Failed",
    }
    assert 'step "Verify Cloud Health" in phase "Cloud Update"' in failure["annotations"]["description"]

    # The update has ended: the inhibited warning is delivered to the default receiver now.
    attention = sinks["default"].wait_for_alert("AzureStackUpdateNeedsAttention", labels={"stamp": "north"})
    assert attention["labels"]["state"] == "DownloadFailed"
    # Nothing crossed routes.
    assert names(sinks["chat"]) <= {"AzureStackUpdateInProgress", "AzureStackUpdateSucceeded"}
    assert "AzureStackUpdateSucceeded" not in names(sinks["paging"]) | names(sinks["default"])
    assert "AzureStackUpdateRunFailed" not in names(sinks["chat"]) | names(sinks["default"])


def test_unreachable_admin_api_mid_update_pages_and_resolves(
    tmp_path: Path,
    simulators: Callable[[dict[str, Any]], SimulatorProcess],
    start_exporter: Callable[[ExporterProcess], ExporterProcess],
    alert_rules: list[Path],
    example_alertmanager: ExampleAlertmanager,
    sinks: dict[str, WebhookSink],
    start_prometheus: Callable[..., Prometheus],
) -> None:
    sim = simulators(OUTAGE_SCENARIO)
    address = f"{harness.HOST}:{harness.free_port()}"
    exp = start_exporter(
        ExporterProcess.serve(
            tmp_path / "exporter", exporter_config(sim, address, ("north",), "0.5s"), address
        )
    )
    prom = start_prometheus([exp.address], rule_files=alert_rules, alertmanager=example_alertmanager)
    prom.wait_for_target_up(exp.address)
    prom.wait_for_query('azure_stack_update_in_progress{stamp="north"} == 1')

    sim.advance_clock(1800)  # the admin API answers 503 for the next 30 virtual minutes
    firing = sinks["paging"].wait_for_alert("AzureStackUpdateApiUnreachable", labels={"stamp": "north"})
    assert firing["labels"] == {
        "alertname": "AzureStackUpdateApiUnreachable",
        "severity": "critical",
        "job": harness.JOB_NAME,
        "instance": exp.address,
        "platform": "hub",
        "subscription_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "azurestack:north")),
        "resource_group": "system.north",
        "stamp": "north",
    }
    assert firing["annotations"]["runbook_url"] == RUNBOOK + "azurestackupdateapiunreachable"
    # The only Hub stamp is dark: the refresh fails and the last known state is served.
    assert prom.query('azure_update_exporter_source_consecutive_failures{source="azure_stack_updates"} >= 3')
    assert prom.query('azure_stack_update_in_progress{stamp="north"} == 1')

    sim.advance_clock(1800)  # back
    resolved = sinks["paging"].wait_for_alert(
        "AzureStackUpdateApiUnreachable", "resolved", labels={"stamp": "north"}
    )
    assert resolved["labels"] == firing["labels"]
    assert "AzureStackUpdateApiUnreachable" not in names(sinks["default"])  # never the warning variant
