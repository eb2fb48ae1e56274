"""The azure_stack_updates source end to end against the HTTPS simulator: real credential, real
azure-core pipelines, real sockets, the exporter's scheduler and collector; no mocks."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from exporter.app import Exporter
from exporter.config import ConfigError, from_dict
from exporter.core.errors import Reason, SourceError
from exporter.core.registry import all_specs
from exporter.demo import simulator_config
from exporter.simulator import FaultRule, Simulator, start

SOURCE = "azure_stack_updates"
SUB_LOCAL = "9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4"
CLUSTER = (
    f"/subscriptions/{SUB_LOCAL}/resourcegroups/rg-azl/providers/microsoft.azurestackhci/clusters/azl-01"
)
LOCAL = {"platform": "local", "subscription_id": SUB_LOCAL, "resource_group": "rg-azl", "stamp": "azl-01"}
SCENARIO: dict[str, Any] = {
    "start_time": "2026-11-21T10:00:00Z",
    "identity": {"token_lifetime_seconds": 10_000_000},
    "subscriptions": [{"id": SUB_LOCAL, "display_name": "Edge"}],
    "resource_graph": {"quota_per_5s": 0},
    "azure_stack": {
        "hub": [
            {
                "region": "north",
                "current_version": "1.2406.1.23",
                "last_updated": -86400,
                "updates": [
                    {"name": "Microsoft1.2406.1.23", "runs": [{"start": -90000, "seconds": 3600}]},
                    # Runs from t=-600 to t=600, 1200 s over 10 steps.
                    {"name": "Microsoft1.2408.0.19", "runs": [{"start": -600, "seconds": 1200}]},
                ],
                "outages": [{"start": 10000, "seconds": 1000}],
            },
            {
                "region": "south",
                "api_versions": ["2016-05-01"],
                "updates": [
                    {
                        "name": "Microsoft1.2408.0.19",
                        "runs": [
                            # Fails 800 s in, at t=-200.
                            {"start": -1000, "seconds": 1200, "fail_at": "Restart Storage Hosts"},
                            {"start": 3000, "seconds": 1200},  # resumed
                        ],
                    }
                ],
                "outages": [{"start": 20000, "seconds": 1000}],
            },
        ],
        "local": [
            {
                "subscription_id": SUB_LOCAL,
                "resource_group": "rg-azl",
                "name": "azl-01",
                "current_version": "10.2408.2.7",
                "updates": [
                    {"name": "Solution10.2408.2.7", "runs": [{"start": -500000, "seconds": 7200}]},
                    {"name": "Solution10.2411.0.24", "runs": [{"start": -100, "seconds": 1000}]},
                ],
            }
        ],
    },
}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with start(SCENARIO) as simulator:
        yield simulator


@pytest.fixture
def make(sim: Simulator) -> Iterator[Callable[..., Exporter]]:
    made: list[Exporter] = []

    def build(regions: tuple[str, ...] = ("north", "south"), **options: Any) -> Exporter:
        raw = simulator_config(sim.info(), "127.0.0.1:0")
        raw["azure"]["retry_total"] = 0
        hub = [f"{sim.base_url}/azurestack/{r}" for r in regions]
        raw["sources"] = {name: {"enabled": False} for name in all_specs()}
        raw["sources"][SOURCE] = {
            "enabled": True,
            "hub_admin_endpoints": hub,
            "local_enabled": True,
            **options,
        }
        exporter = Exporter(from_dict(raw))
        made.append(exporter)
        return exporter

    yield build
    for exporter in made:
        exporter.stop()


def value(exporter: Exporter, name: str, **labels: str) -> float | None:
    return exporter.registry.get_sample_value(name, labels)


def hub(stamp: str) -> dict[str, str]:
    # The simulator's Default Provider Subscription of a region (scenario.py) and System.{region}.
    subscription = str(uuid.uuid5(uuid.NAMESPACE_URL, f"azurestack:{stamp}"))
    group = f"system.{stamp}"
    return {"platform": "hub", "subscription_id": subscription, "resource_group": group, "stamp": stamp}


def source_value(exporter: Exporter, name: str, **labels: str) -> float | None:
    return value(exporter, f"azure_update_exporter_source_{name}", source=SOURCE, **labels)


def test_discovery_tokens_fallback_and_metrics(sim: Simulator, make: Callable[..., Exporter]) -> None:
    exporter = make()
    assert exporter.refresh_all_once() == {SOURCE: True}
    # Per stamp: metadata/endpoints once, one token per audience (the simulator checks it), the
    # Default Provider Subscription and System.{region} once.
    assert sim.requests.count("azurestack.metadata") == 2
    assert sim.requests.count("azurestack.subscriptions") == 2
    assert sim.requests.count("azurestack.resource_groups") == 2
    # The legacy stamp rejected 2021-07-01 once and was read with 2016-05-01.
    assert sim.requests.count("azurestack.update_locations", status=400) == 1
    assert value(exporter, "azure_stack_update_api_info", **hub("south"), api_version="2016-05-01",
                 endpoint=f"{sim.base_url}/azurestack/south") == 1.0  # fmt: skip
    assert value(exporter, "azure_stack_update_current_version", **hub("north"), version="1.2406.1.23",
                 oem_version="") == 1.0  # fmt: skip
    assert (
        value(exporter, "azure_stack_update_location_state", **hub("north"), state="UpdateInProgress") == 1.0
    )
    assert value(exporter, "azure_stack_update_in_progress", **hub("north")) == 1.0
    # south's first run failed at "Restart Storage Hosts"; the resume is in the future.
    assert value(exporter, "azure_stack_update_in_progress", **hub("south")) == 0.0
    [failed] = [
        s.labels
        for f in exporter.registry.collect()
        for s in f.samples
        if s.name == "azure_stack_update_run_current_step_start_timestamp_seconds"
        and s.labels["stamp"] == "south"
    ]
    assert (failed["phase"], failed["step"]) == ("Cloud Update", "Restart Storage Hosts")
    local = LOCAL
    assert value(exporter, "azure_stack_update_stamp_info", **local, resource_id=CLUSTER) == 1.0
    assert value(exporter, "azure_stack_update_state", **local, update="Solution10.2411.0.24",
                 state="Installing") == 1.0  # fmt: skip
    assert value(exporter, "azure_update_exporter_azure_requests_total", api="azurestack", code="200") >= 10
    assert source_value(exporter, "errors_total", reason="bad_request") == 0.0

    requests_before = sim.requests.count("azurestack.*")
    assert exporter.refresh_all_once() == {SOURCE: True}
    # Discovery and the api-version choice are remembered; the runs of the installed update are
    # not read again: locations + updates + runs of the one update that is running, per stamp.
    assert sim.requests.count("azurestack.update_locations", status=400) == 1
    assert sim.requests.count("azurestack.*") - requests_before == 3 + 3


def test_a_run_progresses_succeeds_and_sets_last_success(
    sim: Simulator, make: Callable[..., Exporter]
) -> None:
    exporter = make(("north",))
    exporter.refresh_all_once()
    steps_before = value(exporter, "azure_stack_update_run_steps", **_north_run(exporter), status="Success")
    sim.clock.advance(300)
    exporter.refresh_all_once()
    steps_after = value(exporter, "azure_stack_update_run_steps", **_north_run(exporter), status="Success")
    assert steps_before is not None
    assert steps_after is not None
    assert steps_after > steps_before
    sim.clock.advance(400)  # t≈700: the run ended at 600
    exporter.refresh_all_once()
    run = _north_run(exporter)
    assert value(exporter, "azure_stack_update_run_state", **run, state="Succeeded") == 1.0
    assert value(exporter, "azure_stack_update_in_progress", **hub("north")) == 0.0
    ended = value(exporter, "azure_stack_update_run_end_timestamp_seconds", **run)
    assert value(exporter, "azure_stack_update_last_success_timestamp_seconds", **hub("north")) == ended
    assert value(exporter, "azure_stack_update_run_duration_seconds", **run) == 1200.0
    assert value(exporter, "azure_stack_update_current_version", **hub("north"), version="1.2408.0.19",
                 oem_version="") == 1.0  # fmt: skip


def _north_run(exporter: Exporter) -> dict[str, str]:
    [labels] = [
        s.labels
        for f in exporter.registry.collect()
        for s in f.samples
        if s.name == "azure_stack_update_run_start_timestamp_seconds"
        and s.labels["stamp"] == "north"
        and s.labels["update"] == "Microsoft1.2408.0.19"
    ]
    return dict(labels)


def test_a_resumed_run_supersedes_the_failed_one(sim: Simulator, make: Callable[..., Exporter]) -> None:
    exporter = make(("south",), local_enabled=False)
    exporter.refresh_all_once()
    assert _states(exporter, "south") == {"Failed"}
    sim.clock.advance(3100)  # the resumed run started at 3000
    exporter.refresh_all_once()
    assert _states(exporter, "south") == {"InProgress"}
    assert value(exporter, "azure_stack_update_in_progress", **hub("south")) == 1.0


def _states(exporter: Exporter, stamp: str) -> set[str]:
    return {
        s.labels["state"]
        for f in exporter.registry.collect()
        for s in f.samples
        if s.name == "azure_stack_update_run_state" and s.labels["stamp"] == stamp and s.value == 1.0
    }


def test_one_dark_stamp_keeps_its_data_and_counts_failures(
    sim: Simulator, make: Callable[..., Exporter]
) -> None:
    exporter = make(local_enabled=False)
    exporter.refresh_all_once()
    read_at = value(exporter, "azure_stack_update_api_last_success_timestamp_seconds", **hub("north"))
    assert read_at is not None
    sim.clock.advance(10000)  # north's admin API goes dark (503) for 1000 s
    for attempt in (1, 2, 3):
        time.sleep(0.01)
        assert exporter.refresh_all_once() == {SOURCE: True}  # south still answers
        assert value(exporter, "azure_stack_update_api_up", **hub("north")) == 0.0
        assert value(exporter, "azure_stack_update_api_consecutive_failures", **hub("north")) == attempt
        # Partial staleness is visible per stamp: north's last success stays, south's moves on.
        last = "azure_stack_update_api_last_success_timestamp_seconds"
        assert value(exporter, last, **hub("north")) == read_at
        assert value(exporter, last, **hub("south")) > read_at  # type: ignore[operator]
    # The last known state is kept: still in progress as far as anyone knows.
    assert value(exporter, "azure_stack_update_in_progress", **hub("north")) == 1.0
    assert value(exporter, "azure_stack_update_api_up", **hub("south")) == 1.0
    # One outage, one count (the per-stamp series show it lasting); see the episode test below.
    assert source_value(exporter, "errors_total", reason="server_error") == 1.0
    assert source_value(exporter, "up") == 1.0
    sim.clock.advance(1000)
    exporter.refresh_all_once()
    assert value(exporter, "azure_stack_update_api_up", **hub("north")) == 1.0
    assert value(exporter, "azure_stack_update_api_consecutive_failures", **hub("north")) == 0.0
    assert value(exporter, "azure_stack_update_in_progress", **hub("north")) == 0.0  # it ended meanwhile


def test_a_second_outage_of_the_same_stamp_is_counted_and_logged_again(
    sim: Simulator, make: Callable[..., Exporter], caplog: pytest.LogCaptureFixture
) -> None:
    """Episode dedup: a problem counts and logs when it appears, not once per process."""
    exporter = make(local_enabled=False)
    assert exporter.refresh_all_once() == {SOURCE: True}
    outage = FaultRule("azurestack.*", "status", status=503, path="/azurestack/north/*")
    with caplog.at_level("INFO", logger="exporter"):
        for _episode in (1, 2):
            sim.faults.add(outage)
            for _ in range(3):
                assert exporter.refresh_all_once() == {SOURCE: True}
            sim.faults.clear()
            assert exporter.refresh_all_once() == {SOURCE: True}
            assert value(exporter, "azure_stack_update_api_up", **hub("north")) == 1.0
    assert source_value(exporter, "errors_total", reason="server_error") == 2.0
    lines = [r.getMessage() for r in caplog.records]
    assert len([m for m in lines if m.startswith("update API unreachable") and "stamp=north" in m]) == 2
    assert len([m for m in lines if m.startswith("problem cleared")]) == 2


def test_every_hub_stamp_dark_fails_the_refresh(sim: Simulator, make: Callable[..., Exporter]) -> None:
    exporter = make(("north",))
    exporter.refresh_all_once()
    sim.clock.advance(10000)
    for attempt in (1, 2, 3):
        assert exporter.refresh_all_once() == {SOURCE: False}
        assert source_value(exporter, "consecutive_failures") == attempt
    assert source_value(exporter, "up") == 0.0
    assert source_value(exporter, "errors_total", reason="server_error") == 3.0
    # The last good snapshot is served: the update was in progress when the API went dark.
    assert value(exporter, "azure_stack_update_in_progress", **hub("north")) == 1.0
    sim.clock.advance(1000)
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert source_value(exporter, "consecutive_failures") == 0.0


def test_unreachable_endpoint_from_the_start(sim: Simulator, make: Callable[..., Exporter]) -> None:
    exporter = make(("north", "nowhere"), local_enabled=False)
    assert exporter.refresh_all_once() == {SOURCE: True}
    # Never reached: named after its host; its Default Provider Subscription is not known yet.
    dark = {"platform": "hub", "subscription_id": "", "resource_group": "", "stamp": "127.0.0.1"}
    assert value(exporter, "azure_stack_update_api_up", **dark) == 0.0
    assert value(exporter, "azure_stack_update_in_progress", **dark) is None
    assert source_value(exporter, "errors_total", reason="not_found") == 1.0


def test_malformed_body_is_a_per_stamp_failure(sim: Simulator, make: Callable[..., Exporter]) -> None:
    exporter = make(local_enabled=False)
    exporter.refresh_all_once()
    sim.faults.add(FaultRule("azurestack.updates", "malformed", count=1))
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert source_value(exporter, "errors_total", reason="malformed_payload") == 1.0
    down = [s for s in ("north", "south") if value(exporter, "azure_stack_update_api_up", **hub(s)) == 0.0]
    assert len(down) == 1


def test_wrong_audience_is_unauthorized(sim: Simulator, make: Callable[..., Exporter]) -> None:
    exporter = make(("north",), hub_audience="https://management.azure.com", local_enabled=False)
    assert exporter.refresh_all_once() == {SOURCE: False}
    assert source_value(exporter, "errors_total", reason="unauthorized") == 1.0


def test_local_through_resource_graph_only(sim: Simulator, make: Callable[..., Exporter]) -> None:
    exporter = make((), local_source="resource_graph")
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert sim.requests.count("arm.azurestackhci.*") == 0
    local = LOCAL
    assert value(exporter, "azure_stack_update_in_progress", **local) == 1.0
    assert (
        value(exporter, "azure_stack_update_api_info", **local, endpoint="resource_graph", api_version="")
        == 1.0
    )
    steps = value(exporter, "azure_stack_update_run_steps", **local, update="Solution10.2411.0.24",
                  run_id=_local_run(exporter), status="Success")  # fmt: skip
    assert steps is not None


def _local_run(exporter: Exporter) -> str:
    [run_id] = {
        s.labels["run_id"]
        for f in exporter.registry.collect()
        for s in f.samples
        if s.name == "azure_stack_update_run_state" and s.labels.get("update") == "Solution10.2411.0.24"
    }
    return run_id


def test_local_listing_failure_without_hub_fails_the_refresh(
    sim: Simulator, make: Callable[..., Exporter]
) -> None:
    exporter = make(())
    sim.faults.add(FaultRule("resource_graph", "status", status=403))
    assert exporter.refresh_all_once() == {SOURCE: False}
    assert source_value(exporter, "errors_total", reason="forbidden") == 1.0


def test_nothing_configured_is_a_configuration_error(make: Callable[..., Exporter]) -> None:
    """Rejected before it can fail at run time (it used to start and count `bad_request`)."""
    with pytest.raises(ConfigError) as info:
        make((), local_enabled=False)
    assert any(
        e.startswith("sources.azure_stack_updates.hub_admin_endpoints: nothing to watch")
        for e in info.value.errors
    )


def test_nothing_to_watch_at_run_time_is_a_config_failure(sim: Simulator) -> None:
    """Should a configuration bypass check-config (built in code), the failure says `config`."""
    from datetime import UTC, datetime

    from exporter.azure.policies import AzureStats
    from exporter.core.source import FetchContext
    from exporter.sources.azure_stack_updates import Options
    from exporter.sources.azure_stack_updates.fetch import fetch

    ctx = FetchContext(SOURCE, Options(), None, lambda: datetime.now(UTC), AzureStats(), 5.0)
    with pytest.raises(SourceError) as info:
        fetch(ctx)
    assert info.value.reason is Reason.CONFIG


def test_a_stamp_that_never_answers_does_not_hold_the_healthy_ones(
    sim: Simulator, make: Callable[..., Exporter]
) -> None:
    """north accepts connections and stalls (30 s, bounded); the 4 s refresh publishes south."""
    exporter = make(local_enabled=False, timeout="4s")
    assert exporter.refresh_all_once() == {SOURCE: True}
    south_runs = sim.requests.count("azurestack.update_runs")
    sim.faults.add(FaultRule("azurestack.*", "timeout", seconds=30, path="/azurestack/north/*"))
    started = time.monotonic()
    assert exporter.refresh_all_once() == {SOURCE: True}
    assert time.monotonic() - started < 4
    assert value(exporter, "azure_stack_update_api_up", **hub("north")) == 0.0
    assert value(exporter, "azure_stack_update_api_up", **hub("south")) == 1.0
    assert sim.requests.count("azurestack.update_runs") > south_runs  # south was read afresh
    assert source_value(exporter, "errors_total", reason="timeout") == 1.0
    assert value(exporter, "azure_stack_update_in_progress", **hub("north")) == 1.0  # kept
