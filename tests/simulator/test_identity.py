"""Real azure-identity credentials obtain tokens from the simulator; ARM checks them."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential, ManagedIdentityCredential

from exporter.simulator import Simulator, start

from .conftest import ARM_SCOPE


def _subs(http: requests.Session, sim: Simulator, token: str) -> requests.Response:
    return http.get(
        f"{sim.base_url}/subscriptions",
        params={"api-version": "2022-12-01"},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_client_secret_credential_gets_a_token_arm_accepts(
    sim: Simulator, credential: ClientSecretCredential, http: requests.Session
) -> None:
    token = credential.get_token(ARM_SCOPE)
    assert token.expires_on > 0
    assert _subs(http, sim, token.token).status_code == 200


def test_msal_discovers_the_tenant_then_posts_client_credentials(sim: Simulator) -> None:
    fresh = sim.credential()
    fresh.get_token(ARM_SCOPE)
    assert sim.requests.count("token.openid", status=200) == 1
    assert sim.requests.count("token.aad", status=200) == 1


def test_wrong_secret_is_rejected_like_entra_id(sim: Simulator, http: requests.Session) -> None:
    bad = sim.credential("not-the-secret")
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        bad.get_token(ARM_SCOPE)
    raw = http.post(
        f"{sim.base_url}/{sim.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sim.client_id,
            "client_secret": "x",
            "scope": ARM_SCOPE,
        },
    )
    assert raw.status_code == 401
    assert raw.json()["error"] == "invalid_client"
    assert raw.json()["error_codes"] == [7000215]


def test_unknown_client_and_tenant_and_bad_scope(sim: Simulator, http: requests.Session) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
    }
    url = f"{sim.base_url}/{sim.tenant_id}/oauth2/v2.0/token"
    assert http.post(url, data={**form, "client_id": "nobody", "scope": ARM_SCOPE}).json()["error"] == (
        "unauthorized_client"
    )
    bad_scope = http.post(url, data={**form, "scope": "https://management.azure.com/user_impersonation"})
    assert (bad_scope.status_code, bad_scope.json()["error"]) == (400, "invalid_scope")
    other_tenant = http.post(url.replace(sim.tenant_id, "contoso.onmicrosoft.com"), data=form)
    assert other_tenant.json()["error_codes"] == [90002]


def test_app_service_managed_identity(
    sim: Simulator, http: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{sim.base_url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", sim.info()["identity_header"])
    token = ManagedIdentityCredential(connection_verify=str(sim.ca_path)).get_token(ARM_SCOPE)
    assert sim.requests.count("token.managed_identity", status=200) == 1
    assert _subs(http, sim, token.token).status_code == 200
    wrong_header = http.get(
        f"{sim.base_url}/msi/token",
        params={"api-version": "2019-08-01", "resource": "https://management.azure.com"},
        headers={"X-IDENTITY-HEADER": "guess"},
    )
    assert wrong_header.status_code == 401


def test_imds_managed_identity(
    sim: Simulator, http: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", sim.imds_url)
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "AZURE_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    token = ManagedIdentityCredential().get_token(ARM_SCOPE)
    assert sim.requests.count("token.imds", status=200) == 1, sim.requests.entries
    assert _subs(http, sim, token.token).status_code == 200
    no_metadata = requests.get(
        f"{sim.imds_url}/metadata/identity/oauth2/token",
        params={"api-version": "2018-02-01", "resource": "https://management.azure.com"},
        timeout=5,
    )
    assert no_metadata.status_code == 400


def test_missing_and_unknown_tokens(sim: Simulator, http: requests.Session) -> None:
    missing = http.get(f"{sim.base_url}/subscriptions", params={"api-version": "2022-12-01"})
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "AuthenticationFailed"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    unknown = _subs(http, sim, "not-a-token")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (401, "InvalidAuthenticationToken")


def test_token_expires_on_the_virtual_clock() -> None:
    # Own simulator: advancing the shared one would expire the session credential's cached token.
    with start({"identity": {"token_lifetime_seconds": 600}}) as own, requests.Session() as http:
        http.trust_env = False
        http.verify = str(own.ca_path)
        cred = own.credential()
        token = cred.get_token(ARM_SCOPE).token
        assert _subs(http, own, token).status_code == 200
        own.clock.advance(601)
        expired = _subs(http, own, token)
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "ExpiredAuthenticationToken"
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
