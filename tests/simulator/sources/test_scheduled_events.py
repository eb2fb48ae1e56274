"""IMDS Scheduled Events: the simulator route on the wire, and the exporter's fetch through real sockets.

The route follows reference §3 (headers, api-versions, 400/405/429 bodies, event lifecycle on the
virtual clock); the source's fetch is driven against it, with every fault kind the issue lists.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client import CollectorRegistry

from exporter.azure.policies import AzureStats
from exporter.core.collector import ExporterCollector
from exporter.core.errors import PayloadError, Reason, SourceError
from exporter.core.scheduler import SourceRunner
from exporter.core.source import FetchContext
from exporter.core.state import SourceState
from exporter.simulator import FaultRule, Simulator, start
from exporter.simulator.scenario import ScenarioError, load_scenario
from exporter.simulator.sources import scheduled_events as imds
from exporter.sources.scheduled_events import SPEC, Options
from exporter.sources.scheduled_events.fetch import fetch
from exporter.sources.scheduled_events.model import Snapshot

PAYLOADS = Path(__file__).resolve().parents[2] / "payloads" / "scheduled_events"
START = "2026-11-21T10:00:00Z"
FREEZE_ID = "C7061BAC-AFDC-4513-B24B-AA5F13A16123"
DESCRIPTION = "Virtual machine is being paused because of a memory-preserving Live Migration operation."
EVENTS: list[dict[str, Any]] = [
    {
        "id": FREEZE_ID,
        "type": "Freeze",
        "resources": ["WestNO_0", "WestNO_1"],
        "appear_after": 60,
        "not_before_after": 960,
        "started_for": 600,
        "description": DESCRIPTION,
        "duration": 5,
    },
    {
        "id": "D2A1E7F0-3C4B-4E5D-9F60-718293A4B5C6",
        "type": "Reboot",
        "resources": ["web-vm-01"],
        "appear_after": 0,
        "not_before_after": 0,
        "started_for": 300,
    },
    {
        "id": "0B6F3E21-7C9D-4A55-B1E8-6D2C4F8A9E10",
        "type": "Preempt",
        "resources": ["spot-0"],
        "appear_after": 2000,
    },
]


@contextmanager
def running(events: list[dict[str, Any]] | None = None, **section: Any) -> Iterator[Simulator]:
    section.setdefault("rate_limit_per_second", 0)  # most tests poll faster than 5 rps
    with start(
        {"start_time": START, "imds": {"events": EVENTS if events is None else events, **section}}
    ) as sim:
        yield sim


@pytest.fixture
def imds_sim() -> Iterator[Simulator]:
    # Not named `sim`: that is the shared session simulator of tests/simulator/conftest.py.
    with running() as simulator:
        yield simulator


def get(imds_sim: Simulator, *, api_version: str | None = "2020-07-01", **headers: str) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False
        params = {"api-version": api_version} if api_version else {}
        return session.get(
            f"{imds_sim.imds_url}/metadata/scheduledevents",
            params=params,
            headers={"Metadata": "true", **headers},
            timeout=5,
        )


def events_by_id(response: requests.Response) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text
    return {e["EventId"]: e for e in response.json()["Events"]}


def context(
    sim: Simulator | None,
    *,
    previous: Snapshot | None = None,
    endpoint: str | None = None,
    stats: AzureStats | None = None,
    **options: Any,
) -> FetchContext[Options, Snapshot]:
    opts = Options(
        endpoint=endpoint or (sim.imds_url if sim else ""),
        **{"request_timeout": 0.5, "first_request_timeout": 3.0, **options},
    )
    return FetchContext(
        source="scheduled_events",
        options=opts,
        previous=previous,
        now=lambda: datetime.now(UTC),
        stats=stats or AzureStats(),
        timeout=10.0,
    )


# --- the route --------------------------------------------------------------------------------------


def test_event_lifecycle_on_the_virtual_clock(imds_sim: Simulator) -> None:
    first = get(imds_sim)
    assert list(events_by_id(first)) == ["D2A1E7F0-3C4B-4E5D-9F60-718293A4B5C6"]  # Started from t=0
    assert events_by_id(first)["D2A1E7F0-3C4B-4E5D-9F60-718293A4B5C6"]["NotBefore"] == ""
    incarnation = first.json()["DocumentIncarnation"]
    assert get(imds_sim).json()["DocumentIncarnation"] == incarnation  # unchanged list, same incarnation

    imds_sim.clock.advance(60)  # the Freeze appears with its 15 minutes of notice
    scheduled = get(imds_sim)
    freeze = events_by_id(scheduled)[FREEZE_ID]
    assert freeze == {
        "EventId": FREEZE_ID,
        "EventStatus": "Scheduled",
        "EventType": "Freeze",
        "ResourceType": "VirtualMachine",
        "Resources": ["WestNO_0", "WestNO_1"],
        "NotBefore": "Sat, 21 Nov 2026 10:16:00 GMT",
        "Description": DESCRIPTION,
        "EventSource": "Platform",
        "DurationInSeconds": 5,
    }
    assert scheduled.json()["DocumentIncarnation"] == incarnation + 1

    imds_sim.clock.advance(300)  # the host-failure Reboot is removed 300 s after it started
    assert list(events_by_id(get(imds_sim))) == [FREEZE_ID]

    imds_sim.clock.advance(600)  # NotBefore reached: Started, NotBefore emptied
    started = get(imds_sim)
    assert events_by_id(started)[FREEZE_ID]["EventStatus"] == "Started"
    assert events_by_id(started)[FREEZE_ID]["NotBefore"] == ""
    assert started.json()["DocumentIncarnation"] == incarnation + 3

    imds_sim.clock.advance(600)  # removed ~10 minutes after starting; the Preempt (t=2000) is not there yet
    assert events_by_id(get(imds_sim)) == {}
    imds_sim.clock.advance(440)
    preempt = events_by_id(get(imds_sim))["0B6F3E21-7C9D-4A55-B1E8-6D2C4F8A9E10"]
    assert preempt["NotBefore"] == "Sat, 21 Nov 2026 10:33:50 GMT"  # default notice for Preempt: 30 s


def test_repeating_event_gets_a_new_id_per_cycle() -> None:
    spec = {"id": FREEZE_ID, "type": "Freeze", "appear_after": 0, "started_for": 60, "repeat_every": 1000}
    with running([spec]) as sim:
        assert list(events_by_id(get(sim))) == [FREEZE_ID]
        sim.clock.advance(990)  # between cycles (Scheduled 900 s + Started 60 s)
        assert events_by_id(get(sim)) == {}
        sim.clock.advance(10)
        (second,) = events_by_id(get(sim)).values()
        assert second["EventId"] != FREEZE_ID
        assert second["NotBefore"] == "Sat, 21 Nov 2026 10:31:40 GMT"


def test_iso_8601_not_before_like_the_azure_samples_mock() -> None:
    with running([EVENTS[0]], not_before_format="iso8601") as sim:
        sim.clock.advance(60)
        assert events_by_id(get(sim))[FREEZE_ID]["NotBefore"] == "2026-11-21T10:16:00Z"


def test_missing_metadata_header_gets_the_imds_400() -> None:
    expected = json.loads((PAYLOADS / "imds-error-missing-metadata-header.json").read_text())
    with running() as sim, requests.Session() as session:
        session.trust_env = False
        response = session.get(
            f"{sim.imds_url}/metadata/scheduledevents", params={"api-version": "2020-07-01"}, timeout=5
        )
    assert (response.status_code, response.json()) == (400, expected)


@pytest.mark.parametrize("api_version", [None, "", "2021-01-01", "latest"])
def test_bad_api_version_gets_the_imds_400(imds_sim: Simulator, api_version: str | None) -> None:
    expected = json.loads((PAYLOADS / "imds-error-missing-api-version.json").read_text())
    response = get(imds_sim, api_version=api_version)
    assert (response.status_code, response.json()) == (400, expected)


def test_x_forwarded_for_is_rejected(imds_sim: Simulator) -> None:
    assert get(imds_sim, **{"X-Forwarded-For": "10.0.0.1"}).status_code == 400


def test_older_api_version_omits_later_fields_and_types(imds_sim: Simulator) -> None:
    imds_sim.clock.advance(2000)
    assert "0B6F3E21-7C9D-4A55-B1E8-6D2C4F8A9E10" in events_by_id(get(imds_sim))
    old = events_by_id(get(imds_sim, api_version="2017-08-01"))
    assert old == {}  # the Freeze is gone by now and Preempt did not exist before 2017-11-01
    middle = events_by_id(get(imds_sim, api_version="2019-01-01"))["0B6F3E21-7C9D-4A55-B1E8-6D2C4F8A9E10"]
    assert set(middle) == {"EventId", "EventStatus", "EventType", "ResourceType", "Resources", "NotBefore"}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_verbs_get_405(imds_sim: Simulator, method: str) -> None:
    with requests.Session() as session:
        session.trust_env = False
        response = session.request(
            method, f"{imds_sim.imds_url}/metadata/scheduledevents?api-version=2020-07-01", timeout=5
        )
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"


def test_approval_is_recorded_and_starts_the_event(imds_sim: Simulator) -> None:
    imds_sim.clock.advance(60)
    request = json.loads((PAYLOADS / "imds-scheduledevents-approve-request.json").read_text())
    assert request == {"StartRequests": [{"EventId": FREEZE_ID}]}
    with requests.Session() as session:
        session.trust_env = False
        url = f"{imds_sim.imds_url}/metadata/scheduledevents?api-version=2020-07-01"
        bad = session.post(url, json={"StartRequests": []}, headers={"Metadata": "true"}, timeout=5)
        ok = session.post(url, json=request, headers={"Metadata": "true"}, timeout=5)
    assert bad.status_code == 400
    assert ok.status_code == 200
    assert imds.approvals(imds_sim.state) == [FREEZE_ID]
    freeze = events_by_id(get(imds_sim))[FREEZE_ID]
    assert (freeze["EventStatus"], freeze["NotBefore"]) == ("Started", "")


def test_rate_limit_of_5_requests_per_second() -> None:
    with running(rate_limit_per_second=5) as sim:
        codes = [get(sim).status_code for _ in range(7)]
        assert codes[:5] == [200] * 5
        assert 429 in codes[5:]
        time.sleep(1.05)
        assert get(sim).status_code == 200


def test_scenario_section_is_validated() -> None:
    with pytest.raises(ScenarioError) as excinfo:
        imds.parse_config(
            {
                "rate_limit_per_second": -1,
                "bogus": 1,
                "events": [
                    {"resources": ["vm"]},
                    {"type": "Freeze", "appear_after": 100, "not_before_after": 50},
                    {"type": "Freeze", "duration": "5"},
                    "nope",
                ],
            }
        )
    text = "\n".join(excinfo.value.problems)
    for fragment in (
        "imds.rate_limit_per_second",
        "imds.bogus",
        "imds.events[0].type: required",
        "imds.events[1]",
        "imds.events[2].duration",
        "imds.events[3]",
    ):
        assert fragment in text


def test_demo_scenario_has_a_valid_imds_section() -> None:
    config = imds.parse_config(load_scenario("demo").sections.get("imds"))
    types = {e.type for e in config.events}
    assert {"Freeze", "Reboot", "Preempt"} <= types
    assert config.rate_limit_per_second == 5
    # Never empty: at every moment of a long run some event is present, and some event with a
    # known DurationInSeconds (so every dashboard panel has data).
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for elapsed in range(0, 3 * 22200, 30):
        present = [e for e in config.events if imds._instances(e, float(elapsed), {}, start)]
        assert any(e.duration >= 0 for e in present), elapsed


# --- the exporter's fetch over real sockets ---------------------------------------------------------


def test_fetch_parses_the_document_and_counts_the_request(imds_sim: Simulator) -> None:
    imds_sim.clock.advance(60)
    stats = AzureStats()
    snapshot = fetch(context(imds_sim, stats=stats, node="aks-nodepool1-0"))
    assert {e.event_id: (e.event_type, e.event_status) for e in snapshot.events} == {
        "D2A1E7F0-3C4B-4E5D-9F60-718293A4B5C6": ("Reboot", "Started"),
        FREEZE_ID: ("Freeze", "Scheduled"),
    }
    freeze = next(e for e in snapshot.events if e.event_id == FREEZE_ID)
    assert freeze.not_before == datetime(2026, 11, 21, 10, 16, tzinfo=UTC)
    assert freeze.resources == ("WestNO_0", "WestNO_1")
    assert (snapshot.node, snapshot.incarnation, snapshot.issues) == ("aks-nodepool1-0", 1, ())
    assert stats.requests() == {("imds", "200"): 1}
    # The exporter only ever reads: no approval was sent.
    assert imds.approvals(imds_sim.state) == []
    assert {e.method for e in imds_sim.requests.entries} == {"GET"}


def test_fetch_bypasses_proxies(imds_sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert fetch(context(imds_sim)).incarnation == 1


@pytest.mark.parametrize(
    ("rule", "reason", "code"),
    [
        (FaultRule("imds.*", "status", status=429), Reason.THROTTLED, "429"),
        (FaultRule("imds.*", "status", status=500), Reason.SERVER_ERROR, "500"),
        (FaultRule("imds.*", "status", status=410), Reason.SERVER_ERROR, "410"),
        (FaultRule("imds.*", "status", status=404), Reason.NOT_FOUND, "404"),
        (FaultRule("imds.*", "timeout", seconds=5), Reason.TIMEOUT, "error"),
        (FaultRule("imds.*", "reset"), Reason.CONNECTION, "error"),
        (FaultRule("imds.*", "malformed"), Reason.MALFORMED_PAYLOAD, "200"),
        (FaultRule("imds.*", "empty"), Reason.MALFORMED_PAYLOAD, "200"),
    ],
    ids=["429", "500", "410", "404", "timeout", "reset", "malformed", "empty"],
)
def test_fetch_faults_are_classified(imds_sim: Simulator, rule: FaultRule, reason: Reason, code: str) -> None:
    previous = fetch(context(imds_sim))  # a good answer first: later polls use the short read timeout
    imds_sim.faults.add(rule)
    stats = AzureStats()
    started = time.monotonic()
    with pytest.raises(SourceError) as excinfo:
        fetch(context(imds_sim, previous=previous, stats=stats))
    assert excinfo.value.reason is reason
    assert isinstance(excinfo.value, PayloadError) == (reason is Reason.MALFORMED_PAYLOAD)
    assert stats.requests() == {("imds", code): 1}
    assert stats.throttled() == ({"imds": 1} if code == "429" else {})
    assert time.monotonic() - started < 3  # the 0.5 s request timeout, not the fault's 5 s


def test_error_message_carries_the_imds_text(imds_sim: Simulator) -> None:
    with pytest.raises(SourceError) as excinfo:
        fetch(context(imds_sim, api_version="2099-01-01"))
    assert excinfo.value.reason is Reason.BAD_REQUEST
    assert "api-version is invalid" in str(excinfo.value)


def test_first_request_may_be_slow_later_ones_may_not(imds_sim: Simulator) -> None:
    # The call that enables Scheduled Events can take ~2 minutes: until one answer came, the
    # read timeout is first_request_timeout (3 s here), afterwards request_timeout (0.5 s).
    imds_sim.faults.add(FaultRule("imds.*", "latency", seconds=1.0))
    first = fetch(context(imds_sim))
    assert first.incarnation == 1
    with pytest.raises(SourceError) as excinfo:
        fetch(context(imds_sim, previous=first))
    assert excinfo.value.reason is Reason.TIMEOUT


# --- scheduler and collector on top ----------------------------------------------------------------


def runner_for(endpoint: str, **options: Any) -> SourceRunner:
    opts = Options(endpoint=endpoint, **{"request_timeout": 0.5, "first_request_timeout": 2.0, **options})
    state = SourceState(spec=SPEC, interval=SPEC.default_interval, timeout=5.0, options=opts)
    return SourceRunner(state, AzureStats(), None)


def test_off_azure_is_one_log_line_and_source_down(caplog: pytest.LogCaptureFixture) -> None:
    with running() as sim:
        url = sim.imds_url  # a port that is certainly closed once the simulator stopped
    runner = runner_for(url)
    caplog.set_level(logging.DEBUG, logger="exporter")
    for _ in range(5):
        assert runner.refresh_once() is False
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "reason=connection" in warnings[0].getMessage()
    assert "IMDS unreachable" in warnings[0].getMessage()
    reg = CollectorRegistry(auto_describe=False)
    reg.register(ExporterCollector([runner.state], AzureStats()))
    assert reg.get_sample_value("azure_update_exporter_source_up", {"source": "scheduled_events"}) == 0.0
    errors = {"source": "scheduled_events", "reason": "connection"}
    assert reg.get_sample_value("azure_update_exporter_source_errors_total", errors) == 5.0


def test_new_event_reaches_metrics_within_5_seconds() -> None:
    spec = {"id": FREEZE_ID, "type": "Freeze", "resources": ["WestNO_0"], "appear_after": 3600}
    with running([spec], rate_limit_per_second=5) as sim:
        runner = runner_for(sim.imds_url, node="aks-nodepool1-0")
        reg = CollectorRegistry(auto_describe=False)
        reg.register(ExporterCollector([runner.state], runner._stats))
        labels = {
            "event_id": FREEZE_ID,
            "event_type": "Freeze",
            "resource": "WestNO_0",
            "node": "aks-nodepool1-0",
        }
        runner.start()
        try:
            deadline = time.monotonic() + 5
            while (
                reg.get_sample_value("azure_update_exporter_source_up", {"source": "scheduled_events"}) != 1.0
            ):
                assert time.monotonic() < deadline, "source never came up"
                time.sleep(0.05)
            assert reg.get_sample_value("azure_scheduled_event_not_before_timestamp_seconds", labels) is None
            sim.clock.advance(3600)
            appeared = time.monotonic()
            while reg.get_sample_value("azure_scheduled_event_not_before_timestamp_seconds", labels) is None:
                assert time.monotonic() - appeared < 5, "the new event did not reach /metrics within 5 s"
                time.sleep(0.05)
            expected = datetime(2026, 11, 21, 11, 15, tzinfo=UTC).timestamp()
            assert (
                reg.get_sample_value("azure_scheduled_event_not_before_timestamp_seconds", labels) == expected
            )
            counts = {"event_type": "Freeze", "event_status": "Scheduled", "node": "aks-nodepool1-0"}
            assert reg.get_sample_value("azure_scheduled_events", counts) == 1.0
        finally:
            runner.stop()
        # Polling once a second stays under the 5 rps limit.
        assert sim.requests.count("imds.scheduledevents", status=429) == 0
