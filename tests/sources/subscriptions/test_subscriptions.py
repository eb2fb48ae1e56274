"""The `subscriptions` source's parse and translate on ARM subscriptions-list payloads.

The list call itself (paging, api-version, 401/403) runs against the simulator in
tests/simulator/sources/test_subscriptions.py and tests/integration/test_foundation.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

from exporter.core.errors import Reason
from exporter.core.source import Issue
from exporter.sources.subscriptions.model import STATES, Snapshot, Subscription
from exporter.sources.subscriptions.parse import parse
from exporter.sources.subscriptions.translate import translate

PAYLOADS = Path(__file__).resolve().parents[2] / "payloads" / "subscriptions"
NOW = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)
PROD = "6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10"
SANDBOX = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"


def items(name: str) -> list[dict[str, Any]]:
    value: list[dict[str, Any]] = json.loads((PAYLOADS / name).read_text())["value"]
    return value


def registry(snapshot: Snapshot) -> CollectorRegistry:
    class Scraped(Collector):
        def collect(self):  # type: ignore[no-untyped-def]
            return translate(snapshot, NOW)

    reg = CollectorRegistry(auto_describe=False)
    reg.register(Scraped())
    return reg


def test_documented_list_example() -> None:
    issues: list[Issue] = []
    snapshot = parse(items("arm-subscriptions-list.json"), issues)
    assert issues == []
    assert snapshot.subscriptions == (
        Subscription(
            "291bba3f-e0a5-47bc-a099-3bdcb2a50a05",
            "Example Subscription",
            "Enabled",
            "31c75423-32d6-4322-88b7-c478bdde4858",
        ),
    )
    reg = registry(snapshot)
    sub = "291bba3f-e0a5-47bc-a099-3bdcb2a50a05"
    info = {
        "subscription_id": sub,
        "resource_id": f"/subscriptions/{sub}",
        "display_name": "Example Subscription",
    }
    assert reg.get_sample_value(
        "azure_subscription_info", {**info, "tenant_id": "31c75423-32d6-4322-88b7-c478bdde4858"}
    ) == (1.0)
    for state in STATES:
        expected = 1.0 if state == "Enabled" else 0.0
        assert reg.get_sample_value("azure_subscription_state", {"subscription_id": sub, "state": state}) == (
            expected
        )
        assert reg.get_sample_value("azure_subscriptions", {"state": state}) == expected


def test_ids_are_lowercased_and_odd_items_reported_not_fatal() -> None:
    issues: list[Issue] = []
    snapshot = parse(items("arm-subscriptions-edge.json"), issues)
    assert [s.subscription_id for s in snapshot.subscriptions] == [SANDBOX, PROD]
    prod = snapshot.subscriptions[1]
    assert (prod.state, prod.tenant_id) == ("PastDue", "72f988bf-86f1-41af-91ab-2d7cd011db47")
    assert snapshot.subscriptions[0].tenant_id == ""
    assert sorted((i.reason, i.key) for i in issues) == [
        (Reason.MISSING_FIELD, f"missing:{SANDBOX}:tenantId"),
        (Reason.MISSING_FIELD, "missing:subscriptionId"),
        (Reason.UNKNOWN_ENUM, "state:Expired"),
    ]


def test_unknown_state_passes_through_as_a_label_value() -> None:
    reg = registry(parse(items("arm-subscriptions-edge.json"), []))
    assert (
        reg.get_sample_value("azure_subscription_state", {"subscription_id": SANDBOX, "state": "Expired"})
        == 1
    )
    assert reg.get_sample_value("azure_subscriptions", {"state": "Expired"}) == 1
    assert reg.get_sample_value("azure_subscriptions", {"state": "PastDue"}) == 1
    assert reg.get_sample_value("azure_subscriptions", {"state": "Enabled"}) == 0
