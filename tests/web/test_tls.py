"""TLS, mTLS and basic auth from the web-config file, with real TLS clients over real sockets."""

from __future__ import annotations

import base64
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import pytest
import requests

from exporter.server import HttpServer
from tests.web.support import PASSWORD, PASSWORD_HASH, Pki, make_pki, served, write_web_config


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


def tls_config(pki: Pki, **extra: object) -> dict[str, object]:
    # Relative names: resolved against the web-config file's directory, as exporter-toolkit does.
    return {"tls_server_config": {"cert_file": "server.crt", "key_file": "server.key", **extra}}


@pytest.fixture
def tls_auth(pki: Pki) -> Iterator[tuple[HttpServer, str]]:
    config = {
        **tls_config(pki),
        "basic_auth_users": {"prometheus": PASSWORD_HASH},
        "http_server_config": {"headers": {"X-Content-Type-Options": "nosniff"}},
    }
    yield from served(write_web_config(pki.directory, config))


def test_tls_and_basic_auth_with_requests(tls_auth, pki):
    server, base = tls_auth
    assert server.tls
    ok = requests.get(f"{base}/metrics", verify=pki.ca_file, auth=("prometheus", PASSWORD), timeout=5)
    assert ok.status_code == 200
    assert "fake_value 0.0" in ok.text
    assert ok.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "auth", [None, ("prometheus", "wrong"), ("someone", PASSWORD), ("prometheus", "")], ids=str
)
@pytest.mark.parametrize("path", ["/metrics", "/healthz", "/readyz", "/"])
def test_every_path_needs_the_password(tls_auth, pki, auth, path):
    _, base = tls_auth
    response = requests.get(f"{base}{path}", verify=pki.ca_file, auth=auth, timeout=5)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Basic"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "fake_value" not in response.text


def test_plain_http_to_the_tls_port_gets_nothing(tls_auth):
    server, _ = tls_auth
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    assert b"fake_value" not in received
    assert not received.startswith(b"HTTP/1.1 200")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{server.port}/metrics", timeout=5)


def test_untrusted_server_certificate_is_refused_by_clients(tls_auth, tmp_path):
    _, base = tls_auth
    other = make_pki(tmp_path / "other")
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{base}/metrics", verify=other.ca_file, timeout=5)


def peer_serial(port: int, ca_file: Path) -> int:
    context = ssl.create_default_context(cafile=str(ca_file))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        cert = tls.getpeercert()
        assert cert is not None
        return int(str(cert["serialNumber"]), 16)


def test_certificate_replaced_on_disk_is_served_without_restart(pki):
    for server, _ in served(write_web_config(pki.directory, tls_config(pki))):
        before = peer_serial(server.port, pki.ca_file)
        assert peer_serial(server.port, pki.ca_file) == before  # unchanged files: same context
        time.sleep(0.01)  # a distinct mtime even on coarse file systems
        pki.reissue_server()
        after = peer_serial(server.port, pki.ca_file)
        assert after != before
        # A broken pair (key of another certificate) fails closed, then a good pair serves again.
        good_key = pki.key_file.read_bytes()
        other = pki.ca.issue_cert("127.0.0.1")
        pki.key_file.write_bytes(other.private_key_pem.bytes())
        with pytest.raises((ssl.SSLError, ConnectionError)):
            peer_serial(server.port, pki.ca_file)
        pki.key_file.write_bytes(good_key)
        assert peer_serial(server.port, pki.ca_file) == after


def test_mtls_require_and_verify_client_cert(pki, tmp_path):
    config = tls_config(pki, client_auth_type="RequireAndVerifyClientCert", client_ca_file="client-ca.pem")
    for _, base in served(write_web_config(pki.directory, config)):
        ok = requests.get(f"{base}/metrics", verify=pki.ca_file, cert=str(pki.client_cert_file), timeout=5)
        assert ok.status_code == 200
        with pytest.raises((requests.exceptions.SSLError, requests.ConnectionError)):
            requests.get(f"{base}/metrics", verify=pki.ca_file, timeout=5)
        # A certificate from a CA the server does not trust for clients.
        stranger = make_pki(tmp_path / "stranger")
        with pytest.raises((requests.exceptions.SSLError, requests.ConnectionError)):
            requests.get(
                f"{base}/metrics", verify=pki.ca_file, cert=str(stranger.client_cert_file), timeout=5
            )


def test_verify_client_cert_if_given(pki, tmp_path):
    config = tls_config(pki, client_auth_type="VerifyClientCertIfGiven", client_ca_file="client-ca.pem")
    for _, base in served(write_web_config(pki.directory, config)):
        assert requests.get(f"{base}/healthz", verify=pki.ca_file, timeout=5).status_code == 200
        with_cert = requests.get(
            f"{base}/healthz", verify=pki.ca_file, cert=str(pki.client_cert_file), timeout=5
        )
        assert with_cert.status_code == 200
        stranger = make_pki(tmp_path / "stranger")
        with pytest.raises((requests.exceptions.SSLError, requests.ConnectionError)):
            requests.get(
                f"{base}/healthz", verify=pki.ca_file, cert=str(stranger.client_cert_file), timeout=5
            )


def handshake(
    port: int, ca_file: Path, *, maximum: ssl.TLSVersion, alpn: list[str] | None = None
) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = maximum
    if alpn:
        context.set_alpn_protocols(alpn)
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def test_min_version_tls13_refuses_tls12_clients(pki):
    for server, _ in served(write_web_config(pki.directory, tls_config(pki, min_version="TLS13"))):
        with handshake(server.port, pki.ca_file, maximum=ssl.TLSVersion.TLSv1_3) as tls:
            assert tls.version() == "TLSv1.3"
        with pytest.raises(ssl.SSLError):
            handshake(server.port, pki.ca_file, maximum=ssl.TLSVersion.TLSv1_2)


def test_cipher_suites_and_max_version(pki):
    # trustme issues ECDSA keys: an ECDSA suite.
    config = tls_config(pki, max_version="TLS12", cipher_suites=["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"])
    for server, _ in served(write_web_config(pki.directory, config)):
        with handshake(server.port, pki.ca_file, maximum=ssl.TLSVersion.TLSv1_3) as tls:
            assert tls.version() == "TLSv1.2"
            assert tls.cipher()[0] == "ECDHE-ECDSA-AES256-GCM-SHA384"


@pytest.mark.parametrize(("http2", "selected"), [(True, "h2"), (False, "http/1.1")])
def test_http2_key_controls_alpn(pki, http2, selected):
    config = {**tls_config(pki), "http_server_config": {"http2": http2}}
    for server, _ in served(write_web_config(pki.directory, config)):
        with handshake(
            server.port, pki.ca_file, maximum=ssl.TLSVersion.TLSv1_3, alpn=["h2", "http/1.1"]
        ) as tls:
            assert tls.selected_alpn_protocol() == selected


def h2_get(port: int, ca_file: Path, path: str, headers: list[tuple[str, str]]) -> tuple[int, bytes]:
    """One HTTP/2 request with the h2 protocol library over a real TLS socket (ALPN h2)."""
    with handshake(port, ca_file, maximum=ssl.TLSVersion.TLSv1_3, alpn=["h2"]) as tls:
        assert tls.selected_alpn_protocol() == "h2"
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        request = [(":method", "GET"), (":path", path), (":scheme", "https"), (":authority", "127.0.0.1")]
        conn.send_headers(1, [*request, *headers], end_stream=True)
        tls.sendall(conn.data_to_send())
        status, body = 0, b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            data = tls.recv(65536)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    status = int(dict(event.headers)[b":status"])
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    return status, body
            tls.sendall(conn.data_to_send())
        raise AssertionError("no complete HTTP/2 response")


def test_http2_scrape_with_basic_auth(tls_auth, pki):
    server, _ = tls_auth
    token = base64.b64encode(f"prometheus:{PASSWORD}".encode()).decode()
    status, body = h2_get(server.port, pki.ca_file, "/metrics", [("authorization", f"Basic {token}")])
    assert status == 200
    assert b"fake_value 0.0" in body
    assert h2_get(server.port, pki.ca_file, "/metrics", [])[0] == 401
