"""TLS is verified for real, and the control API drives the simulator from outside."""

from __future__ import annotations

import statistics
import time

import pytest
import requests

from exporter.simulator import Simulator


def test_certificate_is_verified_against_the_generated_ca(sim: Simulator) -> None:
    with requests.Session() as plain:
        plain.trust_env = False  # system CA bundle only: our CA is unknown to it
        with pytest.raises(requests.exceptions.SSLError):
            plain.get(f"{sim.base_url}/_sim/health", timeout=5)
        trusted = plain.get(f"{sim.base_url}/_sim/health", verify=str(sim.ca_path), timeout=5)
    assert trusted.json() == {"ok": True}
    assert sim.ca_path.read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_listeners_are_separate(sim: Simulator, http: requests.Session) -> None:
    assert sim.imds_url.startswith("http://")
    assert requests.get(f"{sim.imds_url}/_sim/health", timeout=5).status_code == 404
    assert http.get(f"{sim.base_url}/metadata/identity/oauth2/token").status_code == 404


def test_info(sim: Simulator, http: requests.Session) -> None:
    info = http.get(f"{sim.base_url}/_sim/info").json()
    assert info["base_url"] == sim.base_url
    assert info["imds_url"] == sim.imds_url
    assert info["ca_path"] == str(sim.ca_path)
    assert (info["tenant_id"], info["client_id"]) == (sim.tenant_id, sim.client_id)
    assert info["subscription_ids"] == sim.subscription_ids


def test_faults_over_http(sim: Simulator, http: requests.Session) -> None:
    added = http.post(f"{sim.base_url}/_sim/faults", json={"route": "arm.*", "kind": "status", "status": 503})
    assert added.status_code == 201
    assert http.get(f"{sim.base_url}/subscriptions").status_code == 503
    assert http.get(f"{sim.base_url}/_sim/faults").json()["faults"][0]["status"] == 503
    assert http.delete(f"{sim.base_url}/_sim/faults").status_code == 204
    assert sim.faults.rules() == []
    refused = http.post(f"{sim.base_url}/_sim/faults", json={"route": "arm.*", "kind": "nope"})
    assert refused.status_code == 400


def test_clock_and_request_counts_over_http(sim: Simulator, http: requests.Session) -> None:
    before = sim.clock.elapsed()
    moved = http.post(f"{sim.base_url}/_sim/clock", json={"advance": 120}).json()
    assert moved["elapsed"] >= before + 120
    assert http.post(f"{sim.base_url}/_sim/clock", json={"advance": -1}).status_code == 400
    http.get(f"{sim.base_url}/subscriptions")  # 401: no token
    counts = http.get(f"{sim.base_url}/_sim/requests").json()
    assert counts == {"total": 1, "by_route": {"arm.subscriptions": {"401": 1}}}
    assert http.delete(f"{sim.base_url}/_sim/requests").status_code == 204
    assert sim.requests.count() == 0


def test_replies_do_not_stall_on_a_kept_alive_connection(sim: Simulator, http: requests.Session) -> None:
    # Headers and body in two writes with Nagle's algorithm on used to hold every reply back by
    # the client's delayed ACK (~40 ms); a loopback reply takes about a millisecond.
    url = f"{sim.base_url}/subscriptions?api-version=2022-12-01"
    token = sim.credential().get_token("https://management.azure.com/.default").token
    headers = {"Authorization": f"Bearer {token}"}
    timings = []
    for _ in range(15):
        started = time.perf_counter()
        assert http.get(url, headers=headers, timeout=10).status_code == 200
        timings.append(time.perf_counter() - started)
    assert statistics.median(timings) < 0.025, timings
