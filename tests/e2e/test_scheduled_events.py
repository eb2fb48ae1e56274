"""Scheduled Events end to end: simulator IMDS → exporter process → Prometheus → Alertmanager."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e import harness
from tests.e2e.harness import Alertmanager, ExporterProcess, Prometheus, SimulatorProcess, WebhookSink

pytestmark = pytest.mark.e2e

# The Freeze of the demo scenario: announced at start, NotBefore 15 minutes later.
FREEZE = "C7061BAC-AFDC-4513-B24B-AA5F13A16123"


def test_freeze_imminent_alert_fires_then_resolves_when_the_event_starts(
    tmp_path: Path,
    start_exporter: Callable[[ExporterProcess], ExporterProcess],
    start_prometheus: Callable[..., Prometheus],
    alert_rules: list[Path],
    alertmanager: Alertmanager,
    webhook: WebhookSink,
) -> None:
    from exporter.demo import simulator_config

    sim = SimulatorProcess(tmp_path / "sim", ["--scenario", "demo"]).start()
    try:
        address = f"{harness.HOST}:{harness.free_port()}"
        config = simulator_config(sim.info, address)
        config["sources"] = {
            "scheduled_events": config["sources"]["scheduled_events"],
            "subscriptions": {"enabled": False},
        }
        exporter = start_exporter(ExporterProcess.serve(tmp_path / "exporter", config, address))
        prom = start_prometheus([exporter.address], rule_files=alert_rules, alertmanager=alertmanager)
        prom.wait_for_target_up(exporter.address)

        firing = webhook.wait_for_alert(
            "AzureScheduledEventFreezeImminent", "firing", labels={"event_id": FREEZE}
        )
        assert firing["labels"]["severity"] == "info"
        assert firing["labels"]["event_type"] == "Freeze"
        assert FREEZE in firing["annotations"]["description"]
        assert "Expected impact: 5 seconds" in firing["annotations"]["description"]
        assert firing["annotations"]["runbook_url"].endswith("#azurescheduledeventfreezeimminent")

        # Move Azure's clock past NotBefore: the Freeze starts (NotBefore emptied), so the
        # imminent alert resolves and the started alert takes over.
        sim.advance_clock(900)
        webhook.wait_for_alert("AzureScheduledEventFreezeImminent", "resolved", labels={"event_id": FREEZE})
        webhook.wait_for_alert("AzureScheduledEventStarted", "firing", labels={"event_id": FREEZE})
    finally:
        sim.stop()
