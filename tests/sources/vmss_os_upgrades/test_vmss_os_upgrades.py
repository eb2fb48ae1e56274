"""VMSS OS image upgrades: parse every example payload and edge variant, the real SDK on canned
bodies, keep-previous semantics, and translate.

Payloads live in tests/payloads/vmss_os_upgrades/: the reference examples for these APIs (copied
unchanged; a test checks they still match ../shared/reference/examples when it is there) plus
`*-edge-*` (odd but parseable) and `*-malformed-*` variants. Fetch over real sockets is tested in
tests/integration/test_vmss_os_upgrades.py.
"""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline.policies import BearerTokenCredentialPolicy
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest._requests_basic import RestRequestsTransportResponse
from azure.mgmt.core import ARMPipelineClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.registry import Collector

from exporter.azure.policies import AzureStats
from exporter.core.errors import PayloadError, Reason, SourceError
from exporter.core.source import FetchContext, Issue
from exporter.sources.vmss_os_upgrades import Options, fetch_merge
from exporter.sources.vmss_os_upgrades.fetch import eligible
from exporter.sources.vmss_os_upgrades.fetch_calls import (
    GONE,
    QUERY,
    Calls,
    Failure,
    Outcome,
    history_call,
    rolling_call,
)
from exporter.sources.vmss_os_upgrades.fetch_merge import report
from exporter.sources.vmss_os_upgrades.model import History, Progress, RollingUpgrade, ScaleSet, Snapshot
from exporter.sources.vmss_os_upgrades.parse import (
    parse_history,
    parse_rolling,
    parse_scale_set,
    parse_scale_sets,
)
from exporter.sources.vmss_os_upgrades.translate import translate
from tests.e2e.harness import require_binary

PAYLOADS = Path(__file__).resolve().parents[2] / "payloads" / "vmss_os_upgrades"
REFERENCE = Path(__file__).resolve().parents[4] / "shared" / "reference" / "examples"
NOW = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)
SUB = "6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10"
START = datetime(2026, 11, 21, 6, 2, 11, 432198, tzinfo=UTC).timestamp()
WEB = {"subscription_id": SUB, "resource_group": "rg-web-prod", "vmss": "vmss-web-prod"}
# The reference examples for the APIs this source reads (or could read), copied unchanged.
EXAMPLES = (
    "vmss-os-upgrade-history.json",
    "vmss-rolling-upgrade-latest.json",
    "vmss-rolling-upgrade-latest-doc-sample.json",
    "vmss-rolling-upgrade-latest-404.json",
    "vmss-get-upgradepolicy.json",
    "resourcegraph-vmss.json",
    "compute-error-429-throttled.json",
    "arm-error-403-authorization.json",
    "arm-error-404-resource-not-found.json",
    "arm-error-429-subscription-throttled.json",
)


def load(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


def history(name: str) -> tuple[History, list[Issue]]:
    issues: list[Issue] = []
    return parse_history(load(name)["value"], issues, "ref"), issues


def rolling(name: str) -> tuple[RollingUpgrade, list[Issue]]:
    issues: list[Issue] = []
    return parse_rolling(load(name), issues, "ref"), issues


def scale_sets(name: str, tag: str | None = None) -> tuple[tuple[ScaleSet, ...], list[Issue]]:
    issues: list[Issue] = []
    return parse_scale_sets(load(name)["data"], issues, tag), issues


def render(snapshot: Snapshot) -> CollectorRegistry:
    class Scraped(Collector):
        def collect(self):  # type: ignore[no-untyped-def]
            yield from translate(snapshot, NOW)

    reg = CollectorRegistry(auto_describe=False)
    reg.register(Scraped())
    return reg


def value(reg: CollectorRegistry, name: str, **labels: str) -> float | None:
    return reg.get_sample_value(name, labels)


def series(reg: CollectorRegistry, name: str) -> list[dict[str, str]]:
    return [s.labels for f in reg.collect() for s in f.samples if s.name == name]


def web_set(**overrides: Any) -> ScaleSet:
    [first, _], _ = scale_sets("resourcegraph-vmss.json")
    base = first if first.name == "vmss-web-prod" else _
    return ScaleSet(**{**{f: getattr(base, f) for f in ScaleSet.__dataclass_fields__}, **overrides})


# --------------------------------------------------------------------------- the examples


def test_examples_are_unchanged_copies_of_the_reference() -> None:
    for name in EXAMPLES:
        assert (PAYLOADS / name).is_file(), name
        if REFERENCE.is_dir():
            assert (PAYLOADS / name).read_bytes() == (REFERENCE / name).read_bytes(), name


def test_every_reference_example_for_these_apis_is_covered() -> None:
    if not REFERENCE.is_dir():
        pytest.skip("shared/reference not beside the checkout")
    ours = {p.name for p in REFERENCE.glob("vmss-*.json")} | {"resourcegraph-vmss.json"}
    assert ours <= set(EXAMPLES)


def test_history_example_latest_and_window_summary() -> None:
    parsed, issues = history("vmss-os-upgrade-history.json")
    assert issues == []
    latest = parsed.latest
    assert latest is not None
    assert latest.code == "RollingForward"
    assert latest.started_at == datetime(2026, 11, 21, 6, 2, 11, 432198, tzinfo=UTC)
    assert latest.ended_at is None
    assert latest.progress == Progress(successful=4, failed=0, in_progress=2, pending=6)
    assert latest.started_by == "Platform"
    assert latest.target_image == "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:22.04.202611140"
    assert latest.error_code == ""
    assert (latest.rolled_back, latest.rollback_failed) == (0, 0)
    assert dict(parsed.codes) == {"RollingForward": 1, "Faulted": 1, "Completed": 1}


def test_history_latest_is_newest_start_not_first_item() -> None:
    items = load("vmss-os-upgrade-history.json")["value"]
    parsed = parse_history(list(reversed(items)), [], "ref")
    assert parsed.latest is not None
    assert parsed.latest.code == "RollingForward"
    faulted = parse_history(items[1:], [], "ref").latest
    assert faulted is not None
    assert faulted.code == "Faulted"
    assert faulted.error_code == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"
    assert faulted.ended_at == datetime(2026, 10, 17, 6, 31, 45, 902100, tzinfo=UTC)
    assert faulted.progress.failed == 3
    assert faulted.rolled_back == 3


def test_rolling_latest_examples() -> None:
    parsed, issues = rolling("vmss-rolling-upgrade-latest.json")
    assert issues == []
    assert parsed.code == "RollingForward"
    assert parsed.progress == Progress(4, 0, 2, 6)
    # The Learn sample's misspelled inprogressInstanceCount is accepted.
    doc, issues = rolling("vmss-rolling-upgrade-latest-doc-sample.json")
    assert issues == []
    assert doc.code == "Completed"
    assert doc.progress == Progress(3, 0, 0, 0)
    assert doc.started_at == datetime(2017, 6, 16, 3, 40, 14, 92476, tzinfo=UTC)


def test_resource_graph_example() -> None:
    sets, issues = scale_sets("resourcegraph-vmss.json")
    assert issues == []
    by_name = {s.name: s for s in sets}
    web, batch = by_name["vmss-web-prod"], by_name["vmss-batch"]
    assert (web.subscription_id, web.resource_group, web.location) == (SUB, "rg-web-prod", "westeurope")
    assert (web.mode, web.automatic_os_upgrade, web.capacity) == ("Rolling", True, 12)
    assert (batch.mode, batch.automatic_os_upgrade, batch.disable_automatic_rollback) == (
        "Manual",
        False,
        False,
    )
    assert web.automatic_os_upgrade_expected is None  # no expectation tag configured
    opts = Options()
    assert eligible(web, opts)
    assert not eligible(batch, opts)


def project_model(model: dict[str, Any]) -> dict[str, Any]:
    """What the source's KQL projection makes of a scale-set model (reference §4.5)."""
    props, policy = model["properties"], model["properties"].get("upgradePolicy", {})
    auto = policy.get("automaticOSUpgradePolicy", {})
    return {
        "id": model["id"],
        "name": model["name"],
        "location": model["location"],
        "tags": model.get("tags"),
        "capacity": model["sku"]["capacity"],
        "orchestrationMode": props.get("orchestrationMode"),
        "upgradeMode": policy.get("mode"),
        "enableAutomaticOSUpgrade": auto.get("enableAutomaticOSUpgrade"),
        "disableAutomaticRollback": auto.get("disableAutomaticRollback"),
        "rollingUpgradePolicy": policy.get("rollingUpgradePolicy"),
    }


def test_scale_set_model_example_matches_the_query_fields() -> None:
    issues: list[Issue] = []
    parsed = parse_scale_set(project_model(load("vmss-get-upgradepolicy.json")), issues)
    assert issues == []
    assert parsed is not None
    assert parsed.key == (SUB, "rg-web-prod", "vmss-web-prod")
    assert (parsed.mode, parsed.automatic_os_upgrade, parsed.capacity) == ("Rolling", True, 12)
    assert parsed.max_batch_instance_percent == 20
    assert parsed.max_unhealthy_upgraded_instance_percent == 20
    for column in ("enableAutomaticOSUpgrade", "disableAutomaticRollback", "upgradeMode", "capacity"):
        assert column in QUERY
    assert "project id," in QUERY
    assert "order by id asc" in QUERY


# --------------------------------------------------------------------------- edge and malformed


def test_history_edge_fields() -> None:
    parsed, issues = history("vmss-edge-history-odd-fields.json")
    assert parsed.latest is not None
    latest = parsed.latest
    # An unknown code and invoker pass through; each is reported once.
    assert (latest.code, latest.started_by) == ("Paused", "Scheduler")
    assert latest.progress == Progress(3, 1, 2, 6)  # InProgressInstanceCount, any case
    assert latest.target_image.endswith(":22.04.202611140")  # exactVersion over "latest"
    assert latest.rollback_failed == 1
    assert dict(parsed.codes) == {"Completed": 1, "Paused": 1, "Cancelled": 1}
    assert {(i.reason, i.key) for i in issues} == {
        (Reason.UNKNOWN_ENUM, "code:Paused"),
        (Reason.UNKNOWN_ENUM, "started_by:Scheduler"),
    }
    completed = parse_history(load("vmss-edge-history-odd-fields.json")["value"][:1], [], "r").latest
    assert completed is not None
    assert completed.ended_at == datetime(2026, 9, 12, 7, 2, 13, tzinfo=UTC)  # completedTime
    assert completed.target_image.startswith("/subscriptions/6f1c0b0e-")  # gallery id, lowercased


def test_empty_history() -> None:
    parsed, issues = history("vmss-edge-history-empty.json")
    assert (parsed.latest, parsed.codes, issues) == (None, (), [])


def test_malformed_history_values_are_reported_not_fatal() -> None:
    parsed, issues = history("vmss-malformed-history-bad-values.json")
    latest = parsed.latest
    assert latest is not None
    assert latest.code == "Unknown"
    assert (latest.started_at, latest.ended_at) == (None, None)
    assert latest.progress == Progress(successful=0, failed=0, in_progress=0, pending=3)
    assert latest.target_image == ""
    reasons = {i.reason for i in issues}
    assert reasons == {Reason.MALFORMED_PAYLOAD, Reason.MISSING_FIELD}
    assert len([i for i in issues if i.key.startswith("count:")]) == 3


def test_rolling_edge_and_malformed() -> None:
    minimal, issues = rolling("vmss-edge-rolling-latest-minimal.json")
    assert minimal.code == "RollingForward"  # canonical casing
    assert minimal.progress == Progress()
    assert minimal.started_at is None
    assert issues == []
    with pytest.raises(PayloadError):
        parse_rolling(load("vmss-malformed-rolling-latest-array.json"), [], "r")


def test_resource_graph_edge_rows() -> None:
    sets, issues = scale_sets("resourcegraph-vmss-edge.json", tag="automatic-os-upgrade")
    by_name = {s.name: s for s in sets}
    assert sorted(by_name) == ["vmss-flex", "vmss-future", "vmss-web-canary"]
    canary = by_name["vmss-web-canary"]
    assert canary.key == (SUB, "rg-web-prod", "vmss-web-canary")  # lowercased, duplicate dropped
    assert (canary.mode, canary.automatic_os_upgrade, canary.disable_automatic_rollback) == (
        "Rolling",
        True,
        True,
    )
    assert (canary.capacity, canary.location, canary.max_batch_instance_percent) == (3, "westeurope", 33)
    assert canary.automatic_os_upgrade_expected is True  # tag name and value in any case
    flex = by_name["vmss-flex"]
    assert (flex.mode, flex.orchestration_mode, flex.capacity, flex.automatic_os_upgrade) == (
        "Manual",
        "Flexible",
        None,
        False,
    )
    assert flex.automatic_os_upgrade_expected is False
    assert by_name["vmss-future"].mode == "Canary"
    assert by_name["vmss-future"].automatic_os_upgrade_expected is False
    assert {(i.reason, i.key) for i in issues} == {
        (Reason.UNKNOWN_ENUM, "mode:Canary"),
        (Reason.MISSING_FIELD, "row:id"),
        (Reason.MALFORMED_PAYLOAD, "row"),
    }


# ---------------------------------------------------------------- the real ARM pipeline on canned bodies


class _Cred:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("token", int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo("token", int(time.time()) + 3600)


class Canned(HttpTransport):
    """Answers every request with one status and body (no sockets): the SDK's own deserialization
    and error mapping run on the example payloads."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body, self.requests = status, body, 0

    def __enter__(self) -> Canned:
        return self

    def __exit__(self, *args: object) -> None:
        pass

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def send(self, request: Any, **kwargs: Any) -> Any:
        self.requests += 1
        raw = requests.Response()
        raw.status_code, raw.raw, raw.url, raw.reason = self.status, io.BytesIO(self.body), request.url, "x"
        raw.headers["Content-Type"] = "application/json"
        response = RestRequestsTransportResponse(request=request, internal_response=raw)
        response._content = self.body  # as if read off the socket
        return response


def sdk(status: int, name: str) -> tuple[Any, Canned]:
    """The ARM pipeline fetch_calls uses (azure-core's, as built by AzureContext.arm) on canned bodies."""
    transport = Canned(status, (PAYLOADS / name).read_bytes())
    policies = [BearerTokenCredentialPolicy(_Cred(), "https://management.azure.com/.default")]
    return ARMPipelineClient(
        base_url="https://management.azure.com", policies=policies, transport=transport
    ), transport


ARM = "https://management.azure.com"
WEB_SET = ScaleSet(SUB, "rg-web-prod", "vmss-web-prod", "westeurope", 12, "Uniform", "Rolling", True, False)


def test_sdk_history_and_rolling_examples_round_trip_to_wire_format() -> None:
    calls = Calls()
    client, _ = sdk(200, "vmss-os-upgrade-history.json")
    items = history_call(client, WEB_SET, calls, ARM)
    assert items == load("vmss-os-upgrade-history.json")["value"]
    for name in ("vmss-rolling-upgrade-latest.json", "vmss-rolling-upgrade-latest-doc-sample.json"):
        client, _ = sdk(200, name)
        assert rolling_call(client, WEB_SET, calls) == load(name)
    assert dict(calls.items()) == {"compute": 3, "resource_graph": 0}


@pytest.mark.parametrize(
    ("status", "name", "history_result", "rolling_result"),
    [
        (404, "vmss-rolling-upgrade-latest-404.json", GONE, None),
        (404, "arm-error-404-resource-not-found.json", GONE, None),
        (403, "arm-error-403-authorization.json", Reason.FORBIDDEN, Reason.FORBIDDEN),
        (429, "compute-error-429-throttled.json", Reason.THROTTLED, Reason.THROTTLED),
        (429, "arm-error-429-subscription-throttled.json", Reason.THROTTLED, Reason.THROTTLED),
    ],
)
def test_sdk_error_examples(status: int, name: str, history_result: Any, rolling_result: Any) -> None:
    calls = Calls()
    client, transport = sdk(status, name)
    got = history_call(client, WEB_SET, calls, ARM)
    if isinstance(history_result, Reason):
        assert isinstance(got, Failure)
        assert got.reason is history_result
        assert json.loads((PAYLOADS / name).read_text())["error"]["code"] in got.message
    else:
        assert got is history_result
    got_rolling = rolling_call(client, WEB_SET, calls)
    if isinstance(rolling_result, Reason):
        assert isinstance(got_rolling, Failure)
        assert got_rolling.reason is rolling_result
    else:
        assert got_rolling is rolling_result
    assert transport.requests == 2
    assert dict(calls.items())["compute"] == 2


def test_sdk_malformed_body_is_a_malformed_payload() -> None:
    client, _ = sdk(200, "vmss-malformed-rolling-latest-array.json")
    got = history_call(client, WEB_SET, Calls(), ARM)
    assert isinstance(got, Failure)
    assert got.reason is Reason.MALFORMED_PAYLOAD


# --------------------------------------------------------------------------- combining refreshes


def ok(history_file: str = "vmss-os-upgrade-history.json", rolling_file: str | None = None) -> Outcome:
    return Outcome(
        history=load(history_file)["value"],
        rolling=load(rolling_file or "vmss-rolling-upgrade-latest.json"),
    )


def combine(
    sets: tuple[ScaleSet, ...], outcomes: dict[Any, Outcome], previous: Snapshot | None = None
) -> Snapshot:
    return fetch_merge.combine(sets, outcomes, previous, Options(), NOW, (("compute", 4),), [])


API_SET = ScaleSet(
    "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "rg-api",
    "vmss-api",
    "northeurope",
    4,
    "Uniform",
    "Rolling",
    True,
    False,
)


def test_failed_calls_keep_previous_data_per_scale_set() -> None:
    first = combine((WEB_SET, API_SET), {WEB_SET.key: ok(), API_SET.key: ok()})
    forbidden = Failure(Reason.FORBIDDEN, "AuthorizationFailed")
    second = combine(
        (WEB_SET, API_SET),
        {
            WEB_SET.key: ok("vmss-edge-history-empty.json", "vmss-rolling-upgrade-latest-doc-sample.json"),
            API_SET.key: Outcome(history=forbidden, rolling=forbidden),
        },
        previous=first,
    )
    by_name = {e.scale_set.name: e for e in second.scale_sets}
    assert by_name["vmss-api"].history == first.scale_sets[1].history  # kept from the last refresh
    assert by_name["vmss-api"].rolling == first.scale_sets[1].rolling
    assert by_name["vmss-web-prod"].history == History(None, ())  # fresh
    assert by_name["vmss-web-prod"].rolling is not None
    assert by_name["vmss-web-prod"].rolling.code == "Completed"


def test_gone_scale_set_is_dropped_and_rolling_404_means_none() -> None:
    snap = combine(
        (WEB_SET, API_SET),
        {WEB_SET.key: Outcome(history=[], rolling=None), API_SET.key: Outcome(gone=True)},
    )
    assert [e.scale_set.name for e in snap.scale_sets] == ["vmss-web-prod"]
    assert snap.scale_sets[0].rolling is None
    reg = render(snap)
    assert series(reg, "azure_vmss_rolling_upgrade_status") == []
    assert value(reg, "azure_vmss_os_upgrades", **WEB, code="Completed") == 0  # zeros, predictable


def test_every_history_failing_fails_the_refresh() -> None:
    throttled = Failure(Reason.THROTTLED, "HttpResponseError: (OperationNotAllowed)")
    with pytest.raises(SourceError) as info:
        combine(
            (WEB_SET, API_SET),
            {s.key: Outcome(history=throttled, rolling=None) for s in (WEB_SET, API_SET)},
        )
    assert info.value.reason is Reason.THROTTLED
    # A deleted set does not count as a success: one gone + one failing still fails.
    with pytest.raises(SourceError):
        combine(
            (WEB_SET, API_SET),
            {WEB_SET.key: Outcome(gone=True), API_SET.key: Outcome(history=throttled)},
        )


def test_problems_are_reported_once_per_key_and_subscription() -> None:
    ctx: FetchContext[Options, Snapshot] = FetchContext(
        source="vmss_os_upgrades",
        options=Options(),
        previous=None,
        now=lambda: NOW,
        stats=AzureStats(),
        timeout=5.0,
    )
    throttled = Failure(Reason.THROTTLED, "429")
    other = ScaleSet(SUB, "rg-x", "vmss-x", "westeurope", 1, "Uniform", "Rolling", True, False)
    outcomes = {
        WEB_SET.key: Outcome(history=throttled, rolling=throttled),
        other.key: Outcome(history=throttled, rolling=None),
        API_SET.key: Outcome(history=[], rolling=Failure(Reason.SERVER_ERROR, "503")),
    }
    issues = [Issue("code:X", Reason.UNKNOWN_ENUM, "unknown code")] * 3
    report(ctx, issues, outcomes, (WEB_SET, other, API_SET))
    assert sorted(p.reason for p in ctx.problems) == [
        Reason.SERVER_ERROR,
        Reason.THROTTLED,
        Reason.UNKNOWN_ENUM,
    ]


# --------------------------------------------------------------------------- translate


def full_snapshot(tag: bool = False) -> Snapshot:
    sets, _ = scale_sets("resourcegraph-vmss.json", "automatic-os-upgrade" if tag else None)
    web = next(s for s in sets if s.name == "vmss-web-prod")
    return fetch_merge.combine(
        sets,
        {web.key: ok()},
        None,
        Options(expect_automatic_os_upgrade_tag="x" if tag else None),
        NOW,
        (("compute", 2), ("resource_graph", 1)),
        [],
    )


def test_translate_latest_upgrade_families() -> None:
    reg = render(full_snapshot())
    assert value(reg, "azure_vmss_os_upgrade_instances", **WEB, state="successful") == 4
    assert value(reg, "azure_vmss_os_upgrade_instances", **WEB, state="in_progress") == 2
    assert value(reg, "azure_vmss_os_upgrade_instances", **WEB, state="pending") == 6
    assert value(reg, "azure_vmss_os_upgrade_instances", **WEB, state="failed") == 0
    assert {
        s["code"]: value(reg, "azure_vmss_os_upgrade_status", **s)
        for s in series(reg, "azure_vmss_os_upgrade_status")
    } == {
        "RollingForward": 1,
        "RollingBack": 0,
        "Cancelled": 0,
        "Completed": 0,
        "Faulted": 0,
    }
    assert value(reg, "azure_vmss_os_upgrade_start_timestamp_seconds", **WEB) == START
    assert value(reg, "azure_vmss_os_upgrade_end_timestamp_seconds", **WEB) is None  # still running
    assert (
        value(
            reg,
            "azure_vmss_os_upgrade_info",
            **WEB,
            started_by="Platform",
            target_image="Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:22.04.202611140",
        )
        == 1
    )
    assert series(reg, "azure_vmss_os_upgrade_error") == []  # no error yet: no series
    assert value(reg, "azure_vmss_os_upgrade_rollback_instances", **WEB, result="succeeded") == 0
    assert value(reg, "azure_vmss_os_upgrades", **WEB, code="Faulted") == 1
    assert value(reg, "azure_vmss_os_upgrades", **WEB, code="RollingBack") == 0
    assert value(reg, "azure_vmss_rolling_upgrade_instances", **WEB, state="in_progress") == 2
    assert value(reg, "azure_vmss_rolling_upgrade_status", **WEB, code="RollingForward") == 1
    assert value(reg, "azure_vmss_rolling_upgrade_start_timestamp_seconds", **WEB) == START
    assert value(reg, "azure_update_exporter_vmss_requests_last_refresh", api="compute") == 2
    assert value(reg, "azure_update_exporter_vmss_requests_last_refresh", api="resource_graph") == 1


def test_translate_policy_families_for_every_scale_set() -> None:
    reg = render(full_snapshot())
    batch = {**WEB, "resource_group": "rg-batch", "vmss": "vmss-batch"}
    web_id = (
        "/subscriptions/6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10/resourcegroups/rg-web-prod"
        "/providers/microsoft.compute/virtualmachinescalesets/vmss-web-prod"
    )
    info = {"location": "westeurope", "orchestration_mode": "Uniform"}
    assert value(reg, "azure_vmss_info", **WEB, resource_id=web_id, **info) == 1
    assert len(series(reg, "azure_vmss_info")) == 2
    assert value(reg, "azure_vmss_upgrade_policy_mode", **WEB, mode="Rolling") == 1
    assert value(reg, "azure_vmss_upgrade_policy_mode", **WEB, mode="Manual") == 0
    assert value(reg, "azure_vmss_upgrade_policy_mode", **batch, mode="Manual") == 1
    assert len(series(reg, "azure_vmss_upgrade_policy_mode")) == 6
    assert value(reg, "azure_vmss_automatic_os_upgrade_enabled", **WEB) == 1
    assert value(reg, "azure_vmss_automatic_os_upgrade_enabled", **batch) == 0
    assert value(reg, "azure_vmss_automatic_rollback_disabled", **WEB) == 0
    assert value(reg, "azure_vmss_capacity", **batch) == 40
    # Not eligible: no upgrade series at all.
    assert value(reg, "azure_vmss_os_upgrades", **batch, code="Completed") is None
    assert series(reg, "azure_vmss_automatic_os_upgrade_expected") == []  # not configured


def test_expectation_family_only_when_configured() -> None:
    reg = render(full_snapshot(tag=True))
    assert value(reg, "azure_vmss_automatic_os_upgrade_expected", **WEB) == 0
    assert len(series(reg, "azure_vmss_automatic_os_upgrade_expected")) == 2


def test_deleted_scale_set_series_disappear_on_next_refresh() -> None:
    before = render(full_snapshot())
    assert value(before, "azure_vmss_capacity", **WEB) == 12
    sets, _ = scale_sets("resourcegraph-vmss.json")
    after = render(
        fetch_merge.combine(
            tuple(s for s in sets if s.name != "vmss-web-prod"),
            {},
            full_snapshot(),
            Options(),
            NOW,
            (),
            [],
        )
    )
    text = generate_latest(after).decode()
    assert "vmss-web-prod" not in text
    assert "vmss-batch" in text


def test_exposition_passes_promtool() -> None:
    promtool = require_binary("promtool")
    import subprocess

    text = generate_latest(render(full_snapshot(tag=True))).decode()
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
