"""The subscriptions source against the simulator over real sockets (issue 9: odd data, paging trust).

Listing, paging and credentials in general are covered by tests/integration/test_foundation.py.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from exporter.app import Exporter
from exporter.core.errors import Reason
from exporter.simulator import Simulator, start
from tests.integration.conftest import ConnectionRecorder

SOURCE = "subscriptions"
PROD = "6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10"
ODD = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
GONE = "99999999-9999-4999-8999-999999999999"
SCENARIO: dict[str, Any] = {
    "arm": {"read_bucket_size": 0, "page_size": 1},
    "subscriptions": [
        {"id": PROD, "display_name": "prod \udcff eu"},  # a lone surrogate, as ARM's JSON can escape it
        {"id": ODD, "state": "Suspended", "omit": ["displayName", "tenantId"]},
    ],
}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with start(SCENARIO) as simulator:
        yield simulator


def sample(exporter: Exporter, name: str, **labels: str) -> float | None:
    return exporter.registry.get_sample_value(name, labels)


def errors(exporter: Exporter, reason: Reason) -> float | None:
    return sample(exporter, "azure_update_exporter_source_errors_total", source=SOURCE, reason=reason.value)


def test_lone_surrogate_in_a_display_name_never_fails_the_endpoint(
    make_exporter: Callable[..., Exporter],
) -> None:
    exporter = make_exporter()
    assert exporter.refresh_all_once() == {SOURCE: True}
    exporter.start(schedule=False)
    for accept in ("", "application/openmetrics-text;version=1.0.0"):
        url = f"http://127.0.0.1:{exporter.port}/metrics"
        request = urllib.request.Request(url, headers={"Accept": accept})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            body = response.read().decode()
        assert 'display_name="prod \ufffd eu"' in body
        assert 'azure_update_exporter_source_encode_failures_total{source="subscriptions"} 0' in body


def test_unknown_state_and_missing_fields_are_counted_and_exposed(
    make_exporter: Callable[..., Exporter],
) -> None:
    exporter = make_exporter()
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sample(exporter, "azure_subscription_state", subscription_id=ODD, state="Suspended") == 1
    info = {
        "subscription_id": ODD,
        "resource_id": f"/subscriptions/{ODD}",
        "display_name": "",
        "tenant_id": "",
    }
    assert sample(exporter, "azure_subscription_info", **info) == 1
    assert errors(exporter, Reason.UNKNOWN_ENUM) == 1
    assert errors(exporter, Reason.MISSING_FIELD) == 2  # displayName and tenantId


def test_next_link_to_another_host_fails_the_refresh_without_a_request(
    sim: Simulator, make_exporter: Callable[..., Exporter], foreign_host: ConnectionRecorder
) -> None:
    exporter = make_exporter()
    assert exporter.refresh_all_once() == {SOURCE: True}
    sim.state.section("arm")["next_link_base"] = foreign_host.base_url
    assert exporter.refresh_all_once() == {SOURCE: False}
    assert foreign_host.connections == 0
    assert errors(exporter, Reason.MALFORMED_PAYLOAD) == 1
    assert sample(exporter, "azure_subscription_state", subscription_id=ODD, state="Suspended") == 1  # kept


def test_configured_subscription_that_disappears_is_down_with_its_last_success(
    sim: Simulator, make_exporter: Callable[..., Exporter]
) -> None:
    exporter = make_exporter(azure={"subscriptions": [PROD, GONE]})
    assert exporter.refresh_all_once() == {SOURCE: True}

    def health(name: str, sub: str) -> float | None:
        metric = f"azure_update_exporter_subscription_{name}"
        return sample(exporter, metric, source=SOURCE, subscription_id=sub)

    assert (health("up", PROD), health("up", GONE)) == (1, 0)
    assert health("last_success_timestamp_seconds", GONE) is None  # never seen
    assert health("last_success_timestamp_seconds", PROD) is not None
    assert errors(exporter, Reason.FORBIDDEN) == 1
