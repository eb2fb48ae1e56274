"""Every supported credential type obtains a token from the simulator and lists subscriptions,
through the exporter's one credential/client factory (real azure-identity, real sockets)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from exporter.core.errors import Reason
from exporter.simulator.scenario import DEFAULT_IDENTITY_HEADER

SUBS = "subscriptions"


def test_managed_identity_app_service_protocol(sim, make_exporter, monkeypatch):
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{sim.base_url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", DEFAULT_IDENTITY_HEADER)
    # System-assigned: no client_id (the simulator rejects a client id it does not host).
    exporter = make_exporter(
        azure={"credential": {"type": "managed_identity", "client_id": None, "client_secret_file": None}}
    )
    assert exporter.refresh_all_once() == {SUBS: True}
    assert sim.requests.count("token.managed_identity", status=200) == 1


def test_workload_identity_federated_token(sim, make_exporter, tmp_path: Path):
    token_file = tmp_path / "federated-token"
    token_file.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2ln")
    exporter = make_exporter(
        azure={"credential": {"type": "workload_identity", "federated_token_file": str(token_file)}}
    )
    assert exporter.refresh_all_once() == {SUBS: True}
    assert sim.requests.count("token.aad", status=200) == 1


def test_client_certificate(sim, make_exporter, tmp_path: Path):
    # azure-identity signs client assertions with RS256, so the key must be RSA.
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    cert = ca.issue_cert("exporter.example", key_type=trustme.KeyType.RSA)
    pem = tmp_path / "client.pem"
    pem.write_bytes(cert.private_key_pem.bytes() + b"".join(c.bytes() for c in cert.cert_chain_pems))
    exporter = make_exporter(
        azure={"credential": {"type": "client_certificate", "client_certificate_file": str(pem)}}
    )
    assert exporter.refresh_all_once() == {SUBS: True}
    assert sim.requests.count("token.aad", status=200) == 1


def test_default_credential_from_environment(sim, make_exporter, monkeypatch, tmp_path: Path):
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "prod")
    monkeypatch.setenv("AZURE_TENANT_ID", sim.tenant_id)
    monkeypatch.setenv("AZURE_CLIENT_ID", sim.client_id)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", sim.client_secret)
    exporter = make_exporter(azure={"credential": {"type": "default", "client_secret_file": None}})
    assert exporter.refresh_all_once() == {SUBS: True}
    assert sim.requests.count("token.aad", status=200) == 1


@pytest.mark.parametrize(
    ("cloud", "scope_host"),
    [
        ("public", "management.azure.com"),
        ("usgov", "management.core.usgovcloudapi.net"),
        ("china", "management.chinacloudapi.cn"),
    ],
)
def test_sovereign_cloud_scopes(cloud: str, scope_host: str):
    from exporter.azure.clouds import resolve
    from exporter.config import AzureConfig

    endpoints = resolve(AzureConfig(cloud=cloud))
    assert endpoints.arm_scope == f"https://{scope_host}/.default"


def test_unusable_certificate_is_a_token_error(sim, make_exporter, tmp_path: Path):
    pem = tmp_path / "client.pem"
    pem.write_text("not a certificate")
    exporter = make_exporter(
        azure={"credential": {"type": "client_certificate", "client_certificate_file": str(pem)}}
    )
    assert exporter.refresh_all_once() == {SUBS: False}
    errors = exporter.registry.get_sample_value(
        "azure_update_exporter_source_errors_total", {"source": SUBS, "reason": "token"}
    )
    assert errors == 1.0


@pytest.mark.parametrize("tenant_id", ["adfs", None])
def test_adfs_authority_as_the_stamp_metadata_reports_it(sim, make_exporter, tenant_id):
    """Azure Stack Hub's /metadata/endpoints gives loginEndpoint `https://adfs.<fqdn>/adfs/`;
    used as authority_host as it is, azure-identity would ask `…/adfs/adfs`."""
    exporter = make_exporter(
        azure={"authority_host": f"{sim.base_url}/adfs/", "credential": {"tenant_id": tenant_id}}
    )
    assert exporter.refresh_all_once() == {"subscriptions": True}
    token_paths = {e.path for e in sim.requests.entries if e.route == "token.aad"}
    assert token_paths == {"/adfs/oauth2/token"}


def test_a_pod_started_before_its_federated_token_is_mounted_recovers_in_seconds(
    sim, make_exporter, tmp_path: Path, monkeypatch
):
    """Workload identity: the webhook's AZURE_FEDERATED_TOKEN_FILE does not exist yet when the pod
    starts. The real credential fails (`token`), the scheduler retries after ~5 s (not the
    15-minute interval) and the refresh succeeds once the file is there. The wait is injected."""
    token_file = tmp_path / "azure-identity-token"
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    exporter = make_exporter(
        azure={"credential": {"type": "workload_identity", "client_secret_file": None}},
        sources={SUBS: {"interval": "15m"}},
    )
    runner = exporter.runners[0]
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        if len(waits) == 1:  # the kubelet mounts the projected token meanwhile
            token_file.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2ln")
        return len(waits) >= 2

    runner._wait = wait
    runner._run()
    assert runner.state.view().errors.get(Reason.TOKEN) == 1
    assert runner.state.view().up is True
    assert waits[0] < 6  # retried after ~5 s, not after the 15-minute interval
    assert waits[1] > 800  # healthy: back on the interval
