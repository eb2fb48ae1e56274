"""Throwaway CA and server certificate, so clients verify TLS instead of disabling it."""

from __future__ import annotations

import socket
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    context: ssl.SSLContext
    ca_path: Path
    tmpdir: tempfile.TemporaryDirectory[str]


def make_tls(host: str) -> TlsMaterial:
    """New CA per simulator; the leaf cert covers loopback names and ``host``."""
    ca = trustme.CA(organization_name="azure-update-exporter simulator")
    names = {"127.0.0.1", "::1", "localhost", socket.gethostname()}
    if host and host not in ("0.0.0.0", "::"):
        names.add(host)
    leaf = ca.issue_cert(*sorted(names))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    leaf.configure_cert(context)
    tmpdir = tempfile.TemporaryDirectory(prefix="azsim-")
    ca_path = Path(tmpdir.name) / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return TlsMaterial(context, ca_path, tmpdir)
