"""Shared simulator fixtures: one running simulator per session, faults/log reset per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from azure.identity import ClientSecretCredential

from exporter.simulator import Simulator, start

ARM_SCOPE = "https://management.azure.com/.default"
SUBS = [f"00000000-0000-4000-8000-0000000000{i:02d}" for i in range(1, 6)]
RG_ROWS = 2500
MACHINE_TYPE = "Microsoft.HybridCompute/machines"


def machine_rows(n: int = RG_ROWS) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        sub = SUBS[i % 2]
        rows.append(
            {
                "id": f"/subscriptions/{sub}/resourceGroups/rg-arc/providers/{MACHINE_TYPE}/m{i:05d}",
                "name": f"m{i:05d}",
                "subscriptionId": sub,
                "agentVersion": "1.60.03293.2680",
            }
        )
    return rows


SCENARIO: dict[str, Any] = {
    "start_time": "2026-11-21T10:00:00Z",
    "subscriptions": [{"id": s, "display_name": f"Sub {i}"} for i, s in enumerate(SUBS)],
    "arm": {"page_size": 2},
    "resource_graph": {
        "quota_per_5s": 0,
        "datasets": [
            {"match": "microsoft.hybridcompute/machines", "rows": machine_rows()},
            {"match": "| let ", "error": "InvalidQuery"},
        ],
    },
}


@pytest.fixture(scope="session")
def sim() -> Iterator[Simulator]:
    with start(SCENARIO) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sim" in request.fixturenames:
        simulator: Simulator = request.getfixturevalue("sim")
        simulator.faults.clear()
        simulator.requests.clear()


@pytest.fixture(scope="session")
def credential(sim: Simulator) -> ClientSecretCredential:
    return sim.credential()


@pytest.fixture
def bearer(credential: ClientSecretCredential) -> str:
    return credential.get_token(ARM_SCOPE).token


@pytest.fixture
def http(sim: Simulator) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment overrides .verify
        session.verify = str(sim.ca_path)
        yield session
