"""Reasons that say what to check: TLS verification, a body cut off mid-transfer, a configuration
that cannot work. Real sockets, the real SDKs, the HTTPS simulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import trustme

from exporter.app import Exporter
from exporter.core.errors import Reason
from exporter.simulator import FaultRule, Simulator

SUBS = "subscriptions"


def errors(exporter: Exporter, source: str, reason: Reason) -> float | None:
    return exporter.registry.get_sample_value(
        "azure_update_exporter_source_errors_total", {"source": source, "reason": reason.value}
    )


def test_certificate_verification_failure_on_the_token_endpoint_is_tls(
    make_exporter: Callable[..., Exporter], tmp_path: Path
) -> None:
    """The token endpoint's certificate is not signed by the configured CA: check ca_bundle,
    not the credential (it was counted as `token`)."""
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    exporter = make_exporter(azure={"ca_bundle": str(other_ca), "retry_total": 0})
    assert exporter.refresh_all_once() == {SUBS: False}
    assert errors(exporter, SUBS, Reason.TLS) == 1.0
    assert errors(exporter, SUBS, Reason.TOKEN) == 0.0


def test_a_body_cut_off_mid_transfer_is_a_connection_failure(
    sim: Simulator, make_exporter: Callable[..., Exporter]
) -> None:
    """Full Content-Length, half the body, connection closed (it was counted as `internal`)."""
    exporter = make_exporter(only=(SUBS, "scheduled_events"), azure={"retry_total": 0})
    assert exporter.refresh_all_once() == {SUBS: True, "scheduled_events": True}
    sim.faults.add(FaultRule("arm.subscriptions", "truncated"))
    sim.faults.add(FaultRule("imds.*", "truncated"))
    assert exporter.refresh_all_once() == {SUBS: False, "scheduled_events": False}
    assert errors(exporter, SUBS, Reason.CONNECTION) == 1.0
    assert errors(exporter, "scheduled_events", Reason.CONNECTION) == 1.0
    assert errors(exporter, SUBS, Reason.INTERNAL) == 0.0
    assert errors(exporter, "scheduled_events", Reason.INTERNAL) == 0.0
