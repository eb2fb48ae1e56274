"""Test certificates (trustme, as the simulator's TLS) and a served exporter app with a web config."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import trustme
import yaml
from prometheus_client import CollectorRegistry

from exporter.azure.policies import AzureStats
from exporter.core.collector import ExporterCollector
from exporter.core.render import Renderer
from exporter.server import HttpServer, make_app
from tests.core.fakes import ScriptedFetch, make_runner

PASSWORD = "s3cret-scrape"
# Cost 4 (bcrypt's minimum) keeps tests fast; the cost does not change what is verified.
PASSWORD_HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()


@dataclass
class Pki:
    directory: Path
    ca: trustme.CA
    ca_file: Path
    cert_file: Path
    key_file: Path
    client_ca_file: Path
    client_cert_file: Path  # certificate and key in one PEM, as requests/ssl accept it

    def reissue_server(self, *names: str) -> trustme.LeafCert:
        """Write a new server certificate and key over the old files (new serial, same CA)."""
        leaf = self.ca.issue_cert(*(names or ("127.0.0.1", "localhost")))
        write_leaf(leaf, self.cert_file, self.key_file)
        return leaf


def write_leaf(leaf: trustme.LeafCert, cert_file: Path, key_file: Path) -> None:
    # Write beside, then rename: the way a Secret update or cert-manager swaps files.
    for path, data in (
        (cert_file, b"".join(p.bytes() for p in leaf.cert_chain_pems)),
        (key_file, leaf.private_key_pem.bytes()),
    ):
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)


def make_pki(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="exporter web tests")
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert_file, key_file = directory / "server.crt", directory / "server.key"
    write_leaf(ca.issue_cert("127.0.0.1", "localhost"), cert_file, key_file)
    client_ca = trustme.CA(organization_name="exporter web tests clients")
    client_ca_file = directory / "client-ca.pem"
    client_ca.cert_pem.write_to_path(str(client_ca_file))
    client = client_ca.issue_cert("prometheus@example.test")
    client_cert_file = directory / "client.pem"
    client.private_key_and_cert_chain_pem.write_to_path(str(client_cert_file))
    return Pki(directory, ca, ca_file, cert_file, key_file, client_ca_file, client_cert_file)


def write_web_config(directory: Path, document: dict[str, Any], name: str = "web-config.yml") -> Path:
    path = directory / name
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(document))
    tmp.replace(path)
    return path


def served(web_config: Path | None, **server_args: Any) -> Iterator[tuple[HttpServer, str]]:
    """A started HttpServer over the real app with one refreshed fake source; yields (server, base URL)."""
    runner = make_runner(ScriptedFetch())
    runner.refresh_once()
    registry = CollectorRegistry(auto_describe=False)
    collector = ExporterCollector([runner.state], AzureStats())
    registry.register(collector)
    app = make_app(registry, [runner.state], Renderer(collector))
    server = HttpServer("127.0.0.1", 0, app, web_config_file=web_config, **server_args)
    server.start()
    scheme = "https" if server.tls else "http"
    try:
        yield server, f"{scheme}://127.0.0.1:{server.port}"
    finally:
        server.stop()
