"""TLS, client certificates and basic auth end to end: the exporter as a real process with
`--web.config.file`, a real Prometheus scraping it with `scheme: https`, `tls_config` and
`basic_auth`. The right credentials give `up == 1` and real data; a wrong password gives `up == 0`
with a 401; a certificate renewed on disk is what new connections get, and Prometheus stays up,
without restarting the exporter.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from exporter.core.registry import all_specs
from tests.e2e import harness
from tests.e2e.harness import ExporterProcess, Prometheus, SimulatorProcess
from tests.web.support import PASSWORD, PASSWORD_HASH, Pki, make_pki, write_web_config

pytestmark = pytest.mark.e2e

WRONG_JOB = f"{harness.JOB_NAME}-wrong-password"


def test_prometheus_scrapes_through_mtls_and_basic_auth(
    tmp_path: Path,
    simulator: SimulatorProcess,
    start_exporter: Callable[[ExporterProcess], ExporterProcess],
    start_prometheus: Callable[..., Prometheus],
) -> None:
    from exporter.demo import simulator_config

    pki = make_pki(tmp_path / "pki")
    web_config = write_web_config(
        pki.directory,
        {
            "tls_server_config": {
                "cert_file": "server.crt",
                "key_file": "server.key",
                "client_auth_type": "RequireAndVerifyClientCert",
                "client_ca_file": "client-ca.pem",
            },
            "basic_auth_users": {"prometheus": PASSWORD_HASH},
        },
    )
    address = f"{harness.HOST}:{harness.free_port()}"
    config = simulator_config(simulator.info, address)
    config["sources"] = {name: {"enabled": False} for name in all_specs()}
    config["sources"]["subscriptions"] = {"enabled": True}
    client = {"verify": str(pki.ca_file), "cert": str(pki.client_cert_file), "auth": ("prometheus", PASSWORD)}
    exp = start_exporter(
        ExporterProcess.serve(
            tmp_path / "exporter",
            config,
            address,
            extra_args=["--web.config.file", str(web_config)],
            scheme="https",
            client=client,
        )
    )

    password_file = tmp_path / "scrape-password"
    password_file.write_text(PASSWORD)
    wrong_file = tmp_path / "wrong-password"
    wrong_file.write_text("not-the-password")

    def job(password: Path) -> dict[str, Any]:
        # The client certificate file holds key and certificate; Go reads each block it needs.
        return {
            "scheme": "https",
            "tls_config": {
                "ca_file": str(pki.ca_file),
                "cert_file": str(pki.client_cert_file),
                "key_file": str(pki.client_cert_file),
            },
            "basic_auth": {"username": "prometheus", "password_file": str(password)},
        }

    prom = start_prometheus(
        [exp.address],
        scrape_options=job(password_file),
        extra_scrape_configs=[
            {"job_name": WRONG_JOB, "static_configs": [{"targets": [exp.address]}], **job(wrong_file)}
        ],
    )
    target = prom.wait_for_target_up(exp.address)
    assert target["scrapeUrl"].startswith("https://")
    prom.wait_for_query(f'up{{job="{harness.JOB_NAME}"}} == 1')
    prom.wait_for_query(
        f'azure_update_exporter_source_up{{job="{harness.JOB_NAME}", source="subscriptions"}} == 1'
    )

    [wrong] = prom.wait_for_query(f'up{{job="{WRONG_JOB}"}} == 0')
    assert wrong["metric"]["instance"] == exp.address
    wrong_targets = [
        t for t in prom.api("targets", state="active")["activeTargets"] if t["labels"]["job"] == WRONG_JOB
    ]
    assert "401" in wrong_targets[0]["lastError"]
    assert not prom.query(f'azure_update_exporter_source_up{{job="{WRONG_JOB}"}}')

    # Renew the server certificate on disk: new connections get it, Prometheus keeps scraping.
    pid = exp.process.pid if exp.process else None
    before = served_serial(exp.address, pki)
    time.sleep(0.01)
    pki.reissue_server()
    renewed_at = time.time()
    assert served_serial(exp.address, pki) != before

    def scraped_after_renewal(_: list[dict[str, Any]]) -> bool:
        [t] = [t for t in prom.api("targets")["activeTargets"] if t["labels"]["job"] == harness.JOB_NAME]
        last = t["lastScrape"]
        return t["health"] == "up" and _iso_seconds(last) > renewed_at + 1

    prom.wait_for_query(f'up{{job="{harness.JOB_NAME}"}}', scraped_after_renewal)
    assert exp.process is not None
    assert exp.process.pid == pid
    exp.process.check_running()


def served_serial(address: str, pki: Pki) -> int:
    host, _, port = address.rpartition(":")
    context = ssl.create_default_context(cafile=str(pki.ca_file))
    context.load_cert_chain(str(pki.client_cert_file))
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        cert = tls.getpeercert()
        assert cert is not None
        return int(str(cert["serialNumber"]), 16)


def _iso_seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
