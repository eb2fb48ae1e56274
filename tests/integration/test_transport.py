"""The shared Azure session: the environment is read once per host, with the same answers as
requests gives, TLS still verified, and a netrc entry never replaces the bearer token."""

from __future__ import annotations

import pytest
import requests

from exporter.azure.transport import SettledSession

URL = "https://management.azure.com/subscriptions?api-version=2022-12-01"
ENVIRONMENTS = [
    {},
    {"HTTPS_PROXY": "http://proxy.example:3128"},
    {"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": "management.azure.com"},
    {"REQUESTS_CA_BUNDLE": "/etc/ssl/custom.pem"},
    {"CURL_CA_BUNDLE": "/etc/ssl/curl.pem", "HTTP_PROXY": "http://p:1"},
]


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("verify", [True, None, "/etc/ssl/ours.pem"])
def test_settings_are_what_requests_would_use(monkeypatch, env, verify):
    for key in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "ALL_PROXY"):
        monkeypatch.delenv(key, raising=False)
        monkeypatch.delenv(key.lower(), raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settled = SettledSession()
    for _ in range(2):  # computed once, then reused: same answer both times
        got = settled.merge_environment_settings(URL, {}, None, verify, None)
        assert got == requests.Session().merge_environment_settings(URL, {}, None, verify, None)
        got["proxies"]["https"] = "mutated by a caller"
    other = "https://adminmanagement.local.azurestack.external/x"
    assert settled.merge_environment_settings(other, {}, None, verify, None) == (
        requests.Session().merge_environment_settings(other, {}, None, verify, None)
    )


def test_clients_share_one_session_and_verify_tls(sim, make_exporter, monkeypatch, tmp_path):
    # A netrc entry for the simulator: stock requests would send it as Basic auth over the bearer.
    host = sim.base_url.split("//")[1].split(":")[0]
    (tmp_path / ".netrc").write_text(f"machine {host} login someone password secret\n")
    (tmp_path / ".netrc").chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    exporter = make_exporter(only=("subscriptions", "vmss_os_upgrades"))
    assert all(exporter.refresh_all_once().values())
    azure = exporter.azure()
    transports = [
        client._client._pipeline._transport
        for client in azure._clients.values()
        if hasattr(client, "_client")
    ]
    transports += [c._pipeline._transport for c in azure._clients.values() if hasattr(c, "_pipeline")]
    assert transports
    assert {id(t.session) for t in transports} == {id(azure._session)}
    with pytest.raises(requests.exceptions.SSLError):  # verification is on: our CA only
        SettledSession().get(f"{sim.base_url}/_sim/health", timeout=5)


def test_the_ca_bundle_is_checked_once(tmp_path):
    from types import SimpleNamespace

    from exporter.azure.transport import SettledAdapter

    adapter = SettledAdapter()
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(OSError, match="invalid path"):
        adapter.cert_verify(SimpleNamespace(), "https://x", missing, None)
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not read here: urllib3 loads it when it connects\n")
    first, second = SimpleNamespace(), SimpleNamespace()
    adapter.cert_verify(first, "https://x", str(bundle), None)
    bundle.unlink()  # checked once, as requests' other environment settings are
    adapter.cert_verify(second, "https://x", str(bundle), None)
    assert vars(first) == vars(second) == {"cert_reqs": "CERT_REQUIRED", "ca_certs": str(bundle)}
