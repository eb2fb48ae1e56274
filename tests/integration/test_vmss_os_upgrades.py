"""The vmss_os_upgrades source end to end against the HTTPS simulator: real azure-identity, real
azure-mgmt-resourcegraph client and the ARM pipeline for Compute, real scheduler and collector, no mocks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from exporter.app import Exporter
from exporter.core.errors import Reason
from exporter.simulator import FaultRule, Simulator, start
from tests.integration.conftest import ConnectionRecorder

SOURCE = "vmss_os_upgrades"
SUB_A = "6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10"
SUB_B = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
WEB = {"subscription_id": SUB_A, "resource_group": "rg-web-prod", "vmss": "vmss-web-prod"}
API = {"subscription_id": SUB_A, "resource_group": "rg-api-prod", "vmss": "vmss-api-prod"}
STAGING = {"subscription_id": SUB_B, "resource_group": "rg-batch-staging", "vmss": "vmss-batch-staging"}
SCENARIO: dict[str, Any] = {
    "start_time": "2026-11-21T06:00:00+00:00",
    "subscriptions": [{"id": SUB_A}, {"id": SUB_B}],
    "resource_graph": {"quota_per_5s": 0},
    "arm": {"read_bucket_size": 0},
    "vmss": {
        "scale_sets": [
            {
                "subscription": SUB_A,
                "resource_group": "rg-web-prod",
                "name": "vmss-web-prod",
                "capacity": 10,
                "tags": {"automatic-os-upgrade": "true"},
                "upgrade": {"start_after": 0, "batch_seconds": 60, "outcome": "completed"},
            },
            {
                "subscription": SUB_A,
                "resource_group": "rg-api-prod",
                "name": "vmss-api-prod",
                "capacity": 10,
                "history": [{"code": "Completed", "started_ago": 86400}],
                "upgrade": {
                    "batch_seconds": 60,
                    "outcome": "faulted",
                    "fail_batch": 0,
                    "failed_instances": 1,
                    "recover_after": 600,
                },
            },
            {
                "subscription": SUB_B,
                "resource_group": "rg-batch-staging",
                "name": "vmss-batch-staging",
                "capacity": 5,
                "upgrade": {"batch_seconds": 60, "outcome": "rolled_back", "fail_batch": 0},
            },
            {"subscription": SUB_A, "resource_group": "rg-gone", "name": "vmss-gone", "deleted": True},
            {
                "subscription": SUB_B,
                "resource_group": "rg-never",
                "name": "vmss-never",
                "mode": "Rolling",
                "automatic_os_upgrade": False,
            },
            {
                "subscription": SUB_A,
                "resource_group": "rg-legacy",
                "name": "vmss-legacy",
                "mode": "Manual",
                "automatic_os_upgrade": None,
                "tags": {"automatic-os-upgrade": "true"},
            },
        ]
    },
}
ELIGIBLE = 5  # web, api, staging, gone (404) and never (Rolling mode); not legacy


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with start(SCENARIO) as simulator:
        yield simulator


@pytest.fixture
def vmss_exporter(make_exporter: Callable[..., Exporter]) -> Callable[..., Exporter]:
    def make(**overrides: Any) -> Exporter:
        return make_exporter(only=(SOURCE,), **overrides)

    return make


def sample(exporter: Exporter, name: str, **labels: str) -> float | None:
    return exporter.registry.get_sample_value(name, labels)


def errors(exporter: Exporter, reason: Reason) -> float | None:
    return sample(exporter, "azure_update_exporter_source_errors_total", source=SOURCE, reason=reason.value)


def test_estate_through_the_real_sdk(sim: Simulator, vmss_exporter: Callable[..., Exporter]) -> None:
    exporter = vmss_exporter()
    sim.clock.advance(90)  # web: second batch; api: faulted in batch 0; staging: rolling back
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sample(exporter, "azure_vmss_os_upgrade_instances", **WEB, state="successful") == 2
    assert sample(exporter, "azure_vmss_os_upgrade_instances", **WEB, state="in_progress") == 2
    assert sample(exporter, "azure_vmss_os_upgrade_status", **WEB, code="RollingForward") == 1
    assert sample(exporter, "azure_vmss_rolling_upgrade_instances", **WEB, state="pending") == 6
    assert sample(exporter, "azure_vmss_os_upgrade_instances", **API, state="failed") == 1
    assert sample(exporter, "azure_vmss_os_upgrade_status", **API, code="Faulted") == 1
    assert sample(exporter, "azure_vmss_os_upgrades", **API, code="Completed") == 1
    assert sample(exporter, "azure_vmss_os_upgrade_status", **STAGING, code="RollingBack") == 1
    never = {"subscription_id": SUB_B, "resource_group": "rg-never", "vmss": "vmss-never"}
    assert sample(exporter, "azure_vmss_os_upgrades", **never, code="Completed") == 0
    assert (
        sample(exporter, "azure_vmss_rolling_upgrade_status", **never, code="Completed") is None
    )  # 404: none
    legacy = {"subscription_id": SUB_A, "resource_group": "rg-legacy", "vmss": "vmss-legacy"}
    assert sample(exporter, "azure_vmss_automatic_os_upgrade_expected", **legacy) == 1
    assert sample(exporter, "azure_vmss_automatic_os_upgrade_enabled", **legacy) == 0
    # The deleted set answered 404 and is dropped: no series, counted as listed-but-not-found.
    gone = {"subscription_id": SUB_A, "resource_group": "rg-gone", "vmss": "vmss-gone"}
    assert sample(exporter, "azure_vmss_capacity", **gone) is None
    assert errors(exporter, Reason.NOT_FOUND) == 1
    assert all(errors(exporter, reason) == 0 for reason in Reason if reason is not Reason.NOT_FOUND)
    # Requests: one Resource Graph page + 2 per eligible set (the deleted one stops after its 404).
    assert sim.requests.count("resource_graph") == 1
    assert sim.requests.count("arm.vmss.os_upgrade_history") == ELIGIBLE
    assert sim.requests.count("arm.vmss.rolling_upgrade_latest") == ELIGIBLE - 1
    assert (
        sample(exporter, "azure_update_exporter_vmss_requests_last_refresh", api="compute")
        == 2 * ELIGIBLE - 1
    )

    sim.clock.advance(600)  # web completes, api's retry starts
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sample(exporter, "azure_vmss_os_upgrade_status", **WEB, code="Completed") == 1
    assert sample(exporter, "azure_vmss_os_upgrade_instances", **API, state="failed") == 0
    assert sample(exporter, "azure_vmss_os_upgrades", **API, code="Faulted") == 1
    assert sample(exporter, "azure_vmss_os_upgrade_rollback_instances", **STAGING, result="succeeded") == 1


def test_request_count_for_a_1000_scale_set_estate(vmss_exporter: Callable[..., Exporter]) -> None:
    estate = {**SCENARIO, "vmss": {"generate": {"count": 1000, "eligible_ratio": 0.5}}}
    with start(estate) as big:
        from exporter.config import from_dict, merge
        from exporter.demo import simulator_config

        raw = simulator_config(big.info(), "127.0.0.1:0")
        raw["sources"] = {
            # Every other source off, whatever sources exist (they default to enabled).
            **{name: {"enabled": False} for name in raw["sources"]},
            SOURCE: {**raw["sources"][SOURCE], "enabled": True},
        }
        exporter = Exporter(from_dict(merge(raw, {"azure": {"retry_total": 0}})))
        try:
            started = time.monotonic()
            assert exporter.refresh_all_once() == {SOURCE: True}
            elapsed = time.monotonic() - started
        finally:
            exporter.stop()
        eligible, pages = 500, 1
        # requests per refresh = Resource Graph pages + 2 per eligible scale set, nothing per instance
        assert big.requests.count("resource_graph") == pages
        assert big.requests.count("arm.vmss.os_upgrade_history") == eligible
        assert big.requests.count("arm.vmss.rolling_upgrade_latest") == eligible
        assert big.requests.count("arm.vmss.get") == 0
        total = big.requests.count("resource_graph") + big.requests.count("arm.*")
        assert total == pages + 2 * eligible
        assert (
            sample(exporter, "azure_update_exporter_vmss_requests_last_refresh", api="compute")
            == 2 * eligible
        )
        assert (
            sample(exporter, "azure_update_exporter_vmss_requests_last_refresh", api="resource_graph")
            == pages
        )
        policies = [
            s for f in exporter.registry.collect() for s in f.samples if s.name == "azure_vmss_capacity"
        ]
        assert len(policies) == 1000
        assert elapsed < 120, f"refresh of 1,000 scale sets took {elapsed:.1f}s"


def test_forbidden_subscription_keeps_its_previous_data(
    sim: Simulator, vmss_exporter: Callable[..., Exporter]
) -> None:
    exporter = vmss_exporter()
    sim.clock.advance(90)
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sample(exporter, "azure_vmss_os_upgrade_status", **STAGING, code="RollingBack") == 1
    sim.state.section("vmss")["forbidden_subscriptions"] = [SUB_B]
    sim.clock.advance(60)  # staging would now be Faulted, web moves on a batch
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sample(exporter, "azure_update_exporter_source_up", source=SOURCE) == 1
    assert sample(exporter, "azure_vmss_os_upgrade_status", **STAGING, code="RollingBack") == 1  # kept
    assert sample(exporter, "azure_vmss_rolling_upgrade_status", **STAGING, code="RollingBack") == 1
    assert sample(exporter, "azure_vmss_os_upgrade_instances", **WEB, state="successful") == 4  # fresh
    assert errors(exporter, Reason.FORBIDDEN) == 1  # once for the subscription, not per call
    sim.state.section("vmss")["forbidden_subscriptions"] = []
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sample(exporter, "azure_vmss_os_upgrade_status", **STAGING, code="Faulted") == 1


def test_throttling_is_retried_after_retry_after_and_then_counted(
    sim: Simulator, vmss_exporter: Callable[..., Exporter]
) -> None:
    exporter = vmss_exporter(azure={"retry_total": 2})
    sim.faults.add(FaultRule("arm.vmss.os_upgrade_history", "status", status=429, retry_after=0.2, count=1))
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sim.requests.count("arm.vmss.os_upgrade_history", status=429) == 1
    assert errors(exporter, Reason.THROTTLED) == 0  # the SDK retried after Retry-After
    assert sample(exporter, "azure_update_exporter_azure_throttled_total", api="compute") == 1
    assert sample(exporter, "azure_vmss_os_upgrade_status", **WEB, code="RollingForward") == 1

    no_retry = vmss_exporter(azure={"retry_total": 0})
    assert no_retry.refresh_all_once() == {SOURCE: True}
    sim.clock.advance(400)  # web would be Completed now
    sim.faults.add(FaultRule("arm.vmss.*", "status", status=429, retry_after=0, count=2))
    assert no_retry.refresh_all_once() == {SOURCE: True}
    assert errors(no_retry, Reason.THROTTLED) >= 1
    # The one or two throttled scale sets kept their previous data; nothing vanished.
    assert (
        len(
            [
                s
                for f in no_retry.registry.collect()
                for s in f.samples
                if s.name == "azure_vmss_os_upgrade_status" and s.value == 1
            ]
        )
        == 3  # web, api and staging have a latest upgrade; vmss-never has none
    )


ROUTE_FAULTS = [
    (FaultRule("resource_graph", "status", status=500), False, Reason.SERVER_ERROR),
    (FaultRule("resource_graph", "malformed"), False, Reason.MALFORMED_PAYLOAD),
    (FaultRule("arm.vmss.os_upgrade_history", "status", status=503), False, Reason.SERVER_ERROR),
    (FaultRule("arm.vmss.os_upgrade_history", "reset"), False, Reason.CONNECTION),
    (FaultRule("arm.vmss.rolling_upgrade_latest", "malformed"), True, Reason.MALFORMED_PAYLOAD),
    (FaultRule("arm.vmss.rolling_upgrade_latest", "timeout", seconds=3), True, Reason.TIMEOUT),
    (FaultRule("arm.vmss.rolling_upgrade_latest", "status", status=403), True, Reason.FORBIDDEN),
]


@pytest.mark.parametrize(
    ("fault", "still_up", "reason"),
    ROUTE_FAULTS,
    ids=[f"{f.route}-{f.kind}{f.status if f.kind == 'status' else ''}" for f, _, _ in ROUTE_FAULTS],
)
def test_faults_on_every_route_keep_last_good_data(
    sim: Simulator, vmss_exporter: Callable[..., Exporter], fault: FaultRule, still_up: bool, reason: Reason
) -> None:
    exporter = vmss_exporter(azure={"retry_total": 0, "request_timeout": "1s"})
    sim.clock.advance(90)
    assert exporter.refresh_all_once() == {SOURCE: True}
    before = sample(exporter, "azure_vmss_rolling_upgrade_instances", **WEB, state="successful")
    assert before == 2
    sim.faults.add(fault)
    sim.clock.advance(120)
    assert exporter.refresh_all_once() == {SOURCE: still_up}
    assert errors(exporter, reason) >= 1
    # Either the whole snapshot (a failed refresh) or the affected calls' data is kept.
    assert sample(exporter, "azure_vmss_rolling_upgrade_instances", **WEB, state="successful") == before
    assert sample(exporter, "azure_vmss_capacity", **WEB) == 10
    sim.faults.clear()
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sample(exporter, "azure_vmss_rolling_upgrade_instances", **WEB, state="successful") == 6


def test_scale_set_deleted_from_the_estate_disappears(
    sim: Simulator, vmss_exporter: Callable[..., Exporter]
) -> None:
    exporter = vmss_exporter()
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sample(exporter, "azure_vmss_capacity", **API) == 10
    from exporter.simulator.sources import vmss_os_upgrades as vmss

    with sim.state.lock:
        del vmss.scale_sets(sim.state)[(SUB_A, "rg-api-prod", "vmss-api-prod")]
    assert exporter.refresh_all_once() == {SOURCE: True}
    names = {s.labels.get("vmss") for f in exporter.registry.collect() for s in f.samples}
    assert "vmss-api-prod" not in names
    assert "vmss-web-prod" in names


@pytest.mark.parametrize("retry_after", [120, 1200])
def test_a_long_retry_after_fails_that_scale_set_only_and_the_refresh_stays_in_time(
    sim: Simulator, vmss_exporter: Callable[..., Exporter], retry_after: int
) -> None:
    """Compute's throttling samples answer Retry-After: 120 and 1200; waiting for either would
    outlive the 6 s timeout and publish nothing. Not waiting makes that scale set `throttled`."""
    exporter = vmss_exporter(azure={"retry_total": 3}, sources={SOURCE: {"timeout": "6s"}})
    sim.clock.advance(90)
    assert exporter.refresh_all_once() == {SOURCE: True}
    web_before = sample(exporter, "azure_vmss_os_upgrade_instances", **WEB, state="successful")
    sim.faults.add(
        FaultRule(
            "arm.vmss.os_upgrade_history",
            "status",
            status=429,
            retry_after=retry_after,
            path="*/virtualmachinescalesets/vmss-web-prod/*",
        )
    )
    sim.clock.advance(120)
    answered = sim.requests.count("arm.vmss.os_upgrade_history", status=200)
    started = time.monotonic()
    assert exporter.refresh_all_once() == {SOURCE: True}
    elapsed = time.monotonic() - started
    assert elapsed < 3, f"the refresh waited {elapsed:.1f}s: Retry-After was slept on"
    assert sim.requests.count("arm.vmss.os_upgrade_history", status=429) == 1  # not retried
    assert sim.requests.count("arm.vmss.os_upgrade_history", status=200) == answered + 3  # the others
    assert errors(exporter, Reason.THROTTLED) == 1
    # web keeps its previous history (it moved on two batches meanwhile); its rolling-upgrade call
    # and the other scale sets are fresh.
    assert sample(exporter, "azure_vmss_os_upgrade_instances", **WEB, state="successful") == web_before
    assert sample(exporter, "azure_vmss_rolling_upgrade_instances", **WEB, state="successful") == 6
    assert sample(exporter, "azure_update_exporter_source_up", source=SOURCE) == 1


def test_a_persistent_oddity_is_counted_once_not_on_every_refresh(
    make_exporter: Callable[..., Exporter], sim: Simulator
) -> None:
    """An upgrade code the exporter does not know, in every refresh: one episode, one count
    (this source re-counted it on every refresh, the others once)."""
    from dataclasses import replace

    from exporter.simulator.sources import vmss_os_upgrades as vmss

    key = (SUB_A, "rg-api-prod", "vmss-api-prod")
    with sim.state.lock:
        spec = vmss.scale_sets(sim.state)[key]
        odd = replace(spec.history[0], code="ComingSoon")
        vmss.scale_sets(sim.state)[key] = replace(spec, history=(odd, *spec.history[1:]))
    exporter = make_exporter(only=(SOURCE,))
    for _ in range(3):
        assert exporter.refresh_all_once() == {SOURCE: True}
    assert errors(exporter, Reason.UNKNOWN_ENUM) == 1


# --------------------------------------------------------------------------- issue 9: silent loss, links


def health(exporter: Exporter, name: str, sub: str) -> float | None:
    return sample(exporter, f"azure_update_exporter_subscription_{name}", source=SOURCE, subscription_id=sub)


def test_per_subscription_freshness_shows_partial_staleness(
    sim: Simulator, vmss_exporter: Callable[..., Exporter]
) -> None:
    exporter = vmss_exporter()
    assert exporter.refresh_all_once() == {SOURCE: True}
    first = health(exporter, "last_success_timestamp_seconds", SUB_B)
    assert first is not None
    assert (health(exporter, "up", SUB_A), health(exporter, "up", SUB_B)) == (1, 1)
    sim.state.section("vmss")["forbidden_subscriptions"] = [SUB_B]
    time.sleep(0.01)
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert (health(exporter, "up", SUB_A), health(exporter, "up", SUB_B)) == (1, 0)
    assert health(exporter, "last_success_timestamp_seconds", SUB_B) == first
    assert health(exporter, "last_success_timestamp_seconds", SUB_A) > first  # type: ignore[operator]


def test_listed_but_404_for_every_scale_set_is_a_failure_that_keeps_the_data(
    sim: Simulator, vmss_exporter: Callable[..., Exporter]
) -> None:
    exporter = vmss_exporter(azure={"retry_total": 0})
    sim.clock.advance(90)
    assert exporter.refresh_all_once() == {SOURCE: True}
    sim.faults.add(FaultRule("arm.vmss.os_upgrade_history", "status", status=404))
    assert exporter.refresh_all_once() == {SOURCE: False}
    assert sample(exporter, "azure_update_exporter_source_up", source=SOURCE) == 0
    assert errors(exporter, Reason.NOT_FOUND) >= 2  # the first refresh's vmss-gone, then the mass 404
    assert sample(exporter, "azure_vmss_os_upgrade_status", **WEB, code="RollingForward") == 1  # kept
    assert sample(exporter, "azure_vmss_capacity", **STAGING) == 5
    sim.faults.clear()
    assert exporter.refresh_all_once() == {SOURCE: True}


HISTORY_SCENARIO: dict[str, Any] = {
    **SCENARIO,
    "arm": {"read_bucket_size": 0, "page_size": 1},
    "vmss": {"scale_sets": [SCENARIO["vmss"]["scale_sets"][1]]},  # api: a Completed, then a Faulted run
}


def test_failed_later_history_page_keeps_what_was_read_and_is_counted() -> None:
    with start(HISTORY_SCENARIO) as paged_sim:
        exporter = exporter_for(paged_sim)
        paged_sim.clock.advance(90)
        paged_sim.faults.add(FaultRule("arm.vmss.os_upgrade_history", "status", status=404, after=1))
        assert exporter.refresh_all_once() == {SOURCE: True}
        assert paged_sim.requests.count("arm.vmss.os_upgrade_history") == 2
        # Page 1 (the running, faulted upgrade) is exposed; the scale set was not taken as deleted.
        assert sample(exporter, "azure_vmss_os_upgrade_status", **API, code="Faulted") == 1
        assert sample(exporter, "azure_vmss_capacity", **API) == 10
        assert errors(exporter, Reason.NOT_FOUND) == 1
        assert health(exporter, "up", SUB_A) == 0


def test_next_link_to_another_host_is_never_followed(foreign_host: ConnectionRecorder) -> None:
    with start(HISTORY_SCENARIO) as paged_sim:
        paged_sim.state.section("arm")["next_link_base"] = foreign_host.base_url
        exporter = exporter_for(paged_sim)
        paged_sim.clock.advance(90)
        assert exporter.refresh_all_once() == {SOURCE: True}
        assert foreign_host.connections == 0  # not even a connection, let alone a token
        assert paged_sim.requests.count("arm.vmss.os_upgrade_history") == 1
        assert sample(exporter, "azure_vmss_os_upgrade_status", **API, code="Faulted") == 1  # page 1 kept
        assert errors(exporter, Reason.MALFORMED_PAYLOAD) == 1


def exporter_for(simulator: Simulator) -> Exporter:
    from exporter.config import from_dict, merge
    from exporter.demo import simulator_config

    raw = simulator_config(simulator.info(), "127.0.0.1:0")
    raw["sources"] = {name: {"enabled": name == SOURCE} for name in raw["sources"]}
    raw["sources"][SOURCE] = {"enabled": True, "timeout": "60s"}
    exporter = Exporter(from_dict(merge(raw, {"azure": {"retry_total": 0}})))
    made.append(exporter)
    return exporter


made: list[Exporter] = []


@pytest.fixture(autouse=True)
def _stop_made() -> Iterator[None]:
    yield
    while made:
        made.pop().stop()
